/**
 * Issue 4, "How it is checked": GroupConvolution -> N Convolutions on OpenVINO
 * IR (slides 37-38), applied with `recipe apply` and the built-in pack
 * `recipes/groupconv/groupconv-split.yaml`, "checked by the same rewrite on
 * the equivalent ONNX graph in onnxruntime-node": the same pack's ONNX rule is
 * applied to the ONNX form of the graph (written by python3-onnx from the same
 * constants) and run in onnxruntime before and after. There is no OpenVINO
 * runtime here, so the IR models are evaluated before and after with the
 * reference evaluator of test/helpers/openvino-eval.ts, and must agree with
 * onnxruntime too.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import { readModel, writeModel } from '../../src/formats';
import type { Model } from '../../src/ir/model';
import { ROOT, tempDir } from '../helpers/corpus';
import { newOvModel, ovConst, ovOp, ovParam } from '../helpers/openvino-build';
import { evaluateOv, type Dense } from '../helpers/openvino-eval';
import { capturingIo, seededFloats } from './helpers';

const PACK = path.join(ROOT, 'recipes/groupconv/groupconv-split.yaml');
const work = tempDir('e2e-groupconv-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

// A ResNeXt-style block: 1x1 Convolution 4 -> 8 channels, grouped 3x3 convolution
// (4 groups, 2 -> 3 channels each, stride 2, padding 1), bias, Relu.
const X_SHAPE = [1, 4, 8, 8];
const GROUPS = 4;
const weights = {
  conv: { shape: [8, 4, 1, 1], values: seededFloats(32, 1, -0.5, 0.5) },
  /** OpenVINO GroupConvolution filter: [G, C_out/G, C_in/G, kH, kW]. */
  gconv: { shape: [GROUPS, 3, 2, 3, 3], values: seededFloats(GROUPS * 3 * 2 * 9, 2, -0.5, 0.5) },
  bias: { shape: [1, 12, 1, 1], values: seededFloats(12, 3, -0.2, 0.2) },
};
const Y_SHAPE = [1, 12, 4, 4];

function openvinoModel(): Model {
  const model = newOvModel('resnext_block');
  const g = model.graph;
  const x = ovParam(g, 'x', X_SHAPE);
  const w1 = ovConst(g, 'conv_w', 'float32', weights.conv.shape, weights.conv.values);
  const conv = ovOp(g, 'Convolution', 'opset1', [x, w1], [[1, 8, 8, 8]], { strides: '1,1', pads_begin: '0,0', pads_end: '0,0', dilations: '1,1', auto_pad: 'explicit' }, 'conv');
  const w2 = ovConst(g, 'gconv_w', 'float32', weights.gconv.shape, weights.gconv.values);
  const gconv = ovOp(g, 'GroupConvolution', 'opset1', [conv.output(0), w2], [Y_SHAPE], { strides: '2,2', pads_begin: '1,1', pads_end: '1,1', dilations: '1,1', auto_pad: 'explicit' }, 'gconv');
  const b = ovConst(g, 'bias', 'float32', weights.bias.shape, weights.bias.values);
  const add = ovOp(g, 'Add', 'opset1', [gconv.output(0), b], [Y_SHAPE], { auto_broadcast: 'numpy' }, 'add');
  const relu = ovOp(g, 'Relu', 'opset1', [add.output(0)], [Y_SHAPE], {}, 'relu');
  g.outputs = [relu.output(0)];
  return model;
}

/** The same block as ONNX (opset 13), written by python3-onnx: grouped Conv weights are [G * C_out/G, C_in/G, kH, kW], the same numbers. */
function writeOnnxModel(file: string): void {
  const f32 = (name: string, w: { shape: number[]; values: Float32Array }, shape = w.shape): object => ({ name, dtype: 'float32', shape, values: Array.from(w.values) });
  const spec = {
    opset: 13,
    inputs: [{ name: 'x', shape: X_SHAPE }],
    outputs: [{ name: 'y', shape: Y_SHAPE }],
    initializers: [f32('conv_w', weights.conv), f32('gconv_w', weights.gconv, [12, 2, 3, 3]), f32('bias', weights.bias)],
    nodes: [
      { op: 'Conv', name: 'conv', inputs: ['x', 'conv_w'], outputs: ['h'], attrs: { kernel_shape: [1, 1] } },
      { op: 'Conv', name: 'gconv', inputs: ['h', 'gconv_w'], outputs: ['g'], attrs: { group: GROUPS, kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } },
      { op: 'Add', name: 'add', inputs: ['g', 'bias'], outputs: ['a'] },
      { op: 'Relu', name: 'relu', inputs: ['a'], outputs: ['y'] },
    ],
  };
  const specFile = `${file}.json`;
  fs.writeFileSync(specFile, JSON.stringify(spec));
  execFileSync('/usr/bin/python3', [path.join(ROOT, 'test/helpers/openvino-onnx.py'), specFile, file]);
}

/**
 * Runs an ONNX model in onnxruntime-node in a child process (test/helpers/openvino-ort-run.js): in jest's
 * realm onnxruntime-node refuses the Float32Arrays it makes for its own outputs, so
 * src/verify/onnxruntime.ts cannot run here in-process.
 */
function runOnnxInChild(file: string, feeds: Record<string, Dense>): Dense[] {
  const request = JSON.stringify({
    model: file,
    runs: [Object.fromEntries(Object.entries(feeds).map(([k, d]) => [k, { shape: d.shape, data: Array.from(d.data) }]))],
  });
  const out = execFileSync(process.execPath, [path.join(ROOT, 'test/helpers/openvino-ort-run.js')], { input: request, cwd: ROOT });
  const [run] = JSON.parse(out.toString('utf8')) as { shape: number[]; data: number[] }[][];
  return (run ?? []).map((o) => ({ shape: o.shape, data: Float32Array.from(o.data) }));
}

async function recipeApply(input: string, output: string): Promise<string> {
  const io = capturingIo();
  const code = await main(['apply', PACK, input, '-o', output], io.io);
  expect(io.stderr()).toBe('');
  expect(code).toBe(0);
  return io.stdout();
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(b.length).toBe(a.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
};

const input: Dense = { shape: X_SHAPE, data: seededFloats(X_SHAPE.reduce((a, b) => a * b, 1), 42) };
const expectedApplied = (): unknown => [{ name: 'groupconv-split', version: '1.1.0', sha256: createHash('sha256').update(fs.readFileSync(PACK)).digest('hex') }];

describe('GroupConvolution -> Split + N Convolution + Concat', () => {
  const ovBefore = path.join(work, 'block.xml');
  const ovAfter = path.join(work, 'block.split.xml');
  const onnxBefore = path.join(work, 'block.onnx');
  const onnxAfter = path.join(work, 'block.split.onnx');
  const results: Partial<Record<'ovBefore' | 'ovAfter' | 'onnxBefore' | 'onnxAfter', Float32Array>> = {};

  beforeAll(async () => {
    writeModel(openvinoModel(), ovBefore);
    writeOnnxModel(onnxBefore);
  });

  test('OpenVINO IR: recipe apply splits the GroupConvolution, records recipe.applied in rt_info, outputs unchanged (reference evaluator)', async () => {
    expect(await recipeApply(ovBefore, ovAfter)).toMatch(/groupconv-split-openvino/);
    const before = readModel(ovBefore);
    const after = readModel(ovAfter);
    const ops = after.graph.nodes.map((n) => n.op);
    expect(ops).toEqual(['Convolution', 'Split', 'Convolution', 'Convolution', 'Convolution', 'Convolution', 'Concat', 'Add', 'Relu']);
    const split = after.graph.nodes[1]!;
    expect(split.input(0)).toBe(after.graph.nodes[0]!.output(0));
    expect(split.outputs).toHaveLength(GROUPS);
    // The Concat takes over the GroupConvolution's output with its type; the values the replacement
    // creates get theirs from the layers' shape rules, as every port of an IR declares one.
    expect(after.graph.nodes[2 + GROUPS]!.output(0).shape).toEqual(Y_SHAPE);
    expect(split.outputs.map((v) => [v.dtype, v.shape])).toEqual(Array(GROUPS).fill(['float32', [1, 2, 8, 8]]));
    const convs = after.graph.nodes.slice(2, 2 + GROUPS);
    expect(convs.map((c) => [c.output(0).dtype, c.output(0).shape])).toEqual(Array(GROUPS).fill(['float32', [1, 3, 4, 4]]));
    // In the XML: every port has a precision and its dims (none only for the Split's scalar axis, at
    // its Const and at the Split), and each layer comes after the layers it reads.
    const xml = fs.readFileSync(ovAfter, 'utf8');
    const ports = [...xml.matchAll(/<port id="\d+"(?: precision="(\w+)")?[^>]*?(\/?)>/g)];
    expect(ports.filter((p) => p[2] === '/').map((p) => p[1])).toEqual(['I64', 'I64']);
    expect(ports.filter((p) => p[2] === '').map((p) => p[1])).not.toContain('UNSPECIFIED');
    const layerIds = [...xml.matchAll(/<layer id="(\d+)"/g)].map((m) => m[1]!);
    for (const [, from, to] of xml.matchAll(/<edge from-layer="(\d+)" from-port="\d+" to-layer="(\d+)"/g)) {
      expect(layerIds.indexOf(from!)).toBeLessThan(layerIds.indexOf(to!));
    }
    // Group i convolves split output i with filter slice i, keeping stride and padding.
    convs.forEach((c, i) => {
      expect(c.input(0)).toBe(split.output(i));
      expect(c.input(1)!.const!.shape).toEqual([3, 2, 3, 3]);
      expect([...c.input(1)!.const!.toFloat64()]).toEqual([...weights.gconv.values.subarray(i * 54, (i + 1) * 54)].map((v) => Math.fround(v)));
      expect(['strides', 'pads_begin', 'pads_end'].map((k) => c.attr(k)?.value)).toEqual(['2,2', '1,1', '1,1']);
    });
    const concat = after.graph.nodes[2 + GROUPS]!;
    expect(concat.inputs).toEqual(convs.map((c) => c.output(0)));
    // The Concat produces the GroupConvolution's output value, under its name.
    expect(concat.output(0).name).toBe(before.graph.nodes[1]!.output(0).name);
    expect(JSON.parse(after.getMetadata('recipe.applied') ?? 'null')).toEqual(expectedApplied());

    const [y0] = evaluateOv(before.graph, new Map([['x', input]]));
    const [y1] = evaluateOv(after.graph, new Map([['x', input]]));
    expect(y1!.shape).toEqual(Y_SHAPE);
    expect(y0!.data.some((v) => v > 0)).toBe(true);
    results.ovBefore = y0!.data;
    results.ovAfter = y1!.data;
    const diff = maxAbsDiff(y0!.data, y1!.data);
    console.log(`OpenVINO GroupConvolution split (reference evaluator): max |diff| ${diff}`);
    expect(diff).toBeLessThan(1e-5);
  });

  test('ONNX: the same pack splits the grouped Conv; onnxruntime outputs before and after agree', async () => {
    expect(await recipeApply(onnxBefore, onnxAfter)).toMatch(/groupconv-split-onnx/);
    const after = readModel(onnxAfter);
    expect(after.graph.nodes.map((n) => n.op)).toEqual(['Conv', 'Split', 'Conv', 'Conv', 'Conv', 'Conv', 'Concat', 'Add', 'Relu']);
    expect(after.graph.nodes.filter((n) => n.op === 'Conv').map((n) => n.attr('group')?.value ?? 1)).toEqual([1, 1, 1, 1, 1]);
    expect(JSON.parse(after.getMetadata('recipe.applied') ?? 'null')).toEqual(expectedApplied());

    const [y0] = runOnnxInChild(onnxBefore, { x: input });
    const [y1] = runOnnxInChild(onnxAfter, { x: input });
    expect(y0?.shape).toEqual(Y_SHAPE);
    expect(y1?.shape).toEqual(Y_SHAPE);
    results.onnxBefore = y0!.data;
    results.onnxAfter = y1!.data;
    const diff = maxAbsDiff(results.onnxBefore, results.onnxAfter);
    console.log(`ONNX grouped Conv split (onnxruntime): max |diff| ${diff}`);
    expect(diff).toBeLessThan(1e-5);
  });

  test('the OpenVINO graphs, before and after, compute what onnxruntime computes for the ONNX graph', () => {
    const { ovBefore: a, ovAfter: b, onnxBefore: c, onnxAfter: d } = results;
    if (!a || !b || !c || !d) throw new Error('an earlier test failed');
    const diffs = [maxAbsDiff(a, c), maxAbsDiff(b, d), maxAbsDiff(b, c)];
    console.log(`OpenVINO (evaluator) vs ONNX (onnxruntime): before ${diffs[0]}, after ${diffs[1]}, OpenVINO after vs ONNX before ${diffs[2]}`);
    for (const diff of diffs) expect(diff).toBeLessThan(1e-5);
  });
});
