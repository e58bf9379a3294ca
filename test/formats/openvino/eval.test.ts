import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readModel, writeModel } from '../../../src/formats';
import type { Graph } from '../../../src/ir/graph';
import { ROOT, tempDir } from '../../helpers/corpus';
import { newOvModel, ovConst, ovOp, ovParam, pseudoRandomFloats } from '../../helpers/openvino-build';
import { evaluateOv, type Dense } from '../../helpers/openvino-eval';
import { buildMixedModel } from '../../helpers/openvino-models';

/**
 * The reference evaluator is only worth something if it computes what a real
 * runtime computes. There is no OpenVINO runtime here, so the same graph is
 * written as ONNX (by python3-onnx, from the constants of the IR graph) and run
 * in onnxruntime-node.
 */

const work = tempDir('recipe-ov-eval-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

interface OnnxSpec {
  opset: number;
  inputs: { name: string; shape: number[] }[];
  outputs: { name: string; shape: number[] }[];
  initializers: { name: string; dtype: 'float32' | 'int64'; shape: number[]; values: number[] }[];
  nodes: { op: string; inputs: string[]; outputs: string[]; attrs?: Record<string, unknown> }[];
}

function buildOnnx(spec: OnnxSpec, name: string): string {
  const specFile = path.join(work, `${name}.json`);
  const out = path.join(work, `${name}.onnx`);
  fs.writeFileSync(specFile, JSON.stringify(spec));
  execFileSync('/usr/bin/python3', [path.join(__dirname, '../../helpers/openvino-onnx.py'), specFile, out]);
  return out;
}

/** Runs the ONNX model once per feed set in onnxruntime-node (in a child process, see openvino-ort-run.js). */
function runOnnx(file: string, runs: Record<string, Dense>[]): Dense[][] {
  const input = JSON.stringify({
    model: file,
    runs: runs.map((feeds) => Object.fromEntries(Object.entries(feeds).map(([k, d]) => [k, { shape: d.shape, data: Array.from(d.data) }]))),
  });
  const out = execFileSync(process.execPath, [path.join(__dirname, '../../helpers/openvino-ort-run.js')], { input, cwd: ROOT });
  return (JSON.parse(out.toString('utf8')) as { shape: number[]; data: number[] }[][]).map((run) =>
    run.map((o) => ({ shape: o.shape, data: Float32Array.from(o.data) })),
  );
}

function expectClose(got: Dense[], want: Dense[], tol = 1e-4): void {
  expect(got.map((d) => d.shape)).toEqual(want.map((d) => d.shape));
  got.forEach((d, i) => {
    let worst = 0;
    d.data.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - want[i]!.data[j]!))));
    expect(worst).toBeLessThan(tol);
  });
}

/** The constants of an IR graph, by name, as flat arrays (for the ONNX initializers). */
function constants(g: Graph): Map<string, { shape: number[]; values: number[] }> {
  return new Map(g.constants.map((v) => [v.name, { shape: [...v.const!.shape], values: [...v.const!.toFloat64()] }]));
}

test('the mixed model (GroupConvolution, Add, Relu, Convolution, Multiply, Split, Concat, VariadicSplit, Reshape) matches onnxruntime', async () => {
  const file = path.join(work, 'mixed.xml');
  writeModel(buildMixedModel(), file);
  const g = readModel(file).graph;
  const c = constants(g);
  const f32 = (name: string, shape?: number[]): OnnxSpec['initializers'][number] => ({
    name, dtype: 'float32', shape: shape ?? c.get(name)!.shape, values: c.get(name)!.values,
  });
  const gw = c.get('gconv_w')!;
  const [groups, cout, cin, kh, kw] = gw.shape as [number, number, number, number, number];
  const spec: OnnxSpec = {
    opset: 13,
    inputs: [{ name: 'x', shape: [1, 4, 8, 8] }],
    outputs: [{ name: 'reshape_out', shape: [1, 48] }, { name: 'acc', shape: [1, 4, 1, 4] }],
    initializers: [
      // ONNX grouped Conv weights are [G*Cout/G, Cin/G, kh, kw]: the same bytes, another shape.
      f32('gconv_w', [groups * cout, cin, kh, kw]),
      f32('bias'), f32('conv_w'), f32('scale'), f32('scale_copy'), f32('state_init'),
      { name: 'split_sizes', dtype: 'int64', shape: [2], values: [2, 2] },
      { name: 'vsplit_sizes', dtype: 'int64', shape: [2], values: [1, 3] },
      { name: 'target', dtype: 'int64', shape: [2], values: c.get('target')!.values },
    ],
    nodes: [
      { op: 'Conv', inputs: ['x', 'gconv_w'], outputs: ['g'], attrs: { group: groups, pads: [1, 1, 1, 1], strides: [1, 1] } },
      { op: 'Add', inputs: ['g', 'bias'], outputs: ['a'] },
      { op: 'Relu', inputs: ['a'], outputs: ['r'] },
      { op: 'Conv', inputs: ['r', 'conv_w'], outputs: ['cv'], attrs: { strides: [2, 2] } },
      { op: 'Mul', inputs: ['cv', 'scale'], outputs: ['m'] },
      { op: 'Split', inputs: ['m', 'split_sizes'], outputs: ['s0', 's1'], attrs: { axis: 1 } },
      { op: 'Concat', inputs: ['s1', 's0'], outputs: ['cat'], attrs: { axis: 1 } },
      { op: 'Split', inputs: ['cat', 'vsplit_sizes'], outputs: ['v0', 'v1'], attrs: { axis: 2 } },
      { op: 'Reshape', inputs: ['v1', 'target'], outputs: ['reshape_out'] },
      // ReadValue on a fresh state yields its initial value.
      { op: 'Mul', inputs: ['v0', 'scale_copy'], outputs: ['m2'] },
      { op: 'Add', inputs: ['state_init', 'm2'], outputs: ['acc'] },
    ],
  };
  const onnxFile = buildOnnx(spec, 'mixed');
  const xs: Dense[] = [1, 2, 3].map((seed) => ({ shape: [1, 4, 8, 8], data: pseudoRandomFloats(256, seed) }));
  const ref = runOnnx(onnxFile, xs.map((x) => ({ x })));
  xs.forEach((x, i) => expectClose(evaluateOv(g, new Map([['x', x]])), ref[i]!));
});

test('Convolution padding modes, strides and dilations match onnxruntime', () => {
  const cases = [
    { autoPad: 'explicit', onnx: { pads: [1, 0, 2, 1] }, strides: [1, 2], dilations: [1, 1], pb: '1,0', pe: '2,1', outShape: [1, 3, 8, 3] },
    { autoPad: 'same_upper', onnx: { auto_pad: 'SAME_UPPER' }, strides: [2, 2], dilations: [1, 1], pb: '0,0', pe: '0,0', outShape: [1, 3, 4, 3] },
    { autoPad: 'same_lower', onnx: { auto_pad: 'SAME_LOWER' }, strides: [2, 2], dilations: [1, 1], pb: '0,0', pe: '0,0', outShape: [1, 3, 4, 3] },
    { autoPad: 'valid', onnx: { auto_pad: 'VALID' }, strides: [1, 1], dilations: [2, 2], pb: '0,0', pe: '0,0', outShape: [1, 3, 3, 2] },
  ];
  const model = newOvModel('convs');
  const g = model.graph;
  const x = ovParam(g, 'x', [1, 2, 7, 6]);
  const spec: OnnxSpec = { opset: 13, inputs: [{ name: 'x', shape: [1, 2, 7, 6] }], outputs: [], initializers: [], nodes: [] };
  cases.forEach((k, i) => {
    const w = ovConst(g, `w${i}`, 'float32', [3, 2, 3, 3], pseudoRandomFloats(54, 10 + i));
    const conv = ovOp(g, 'Convolution', 'opset1', [x, w], [k.outShape], {
      strides: k.strides.join(','), dilations: k.dilations.join(','), pads_begin: k.pb, pads_end: k.pe, auto_pad: k.autoPad,
    }, `conv${i}`);
    g.outputs = [...g.outputs, conv.output(0)];
    spec.initializers.push({ name: `w${i}`, dtype: 'float32', shape: [3, 2, 3, 3], values: [...w.const!.toFloat64()] });
    spec.nodes.push({ op: 'Conv', inputs: ['x', `w${i}`], outputs: [`y${i}`], attrs: { ...k.onnx, strides: k.strides, dilations: k.dilations } });
    spec.outputs.push({ name: `y${i}`, shape: k.outShape });
  });
  const xd: Dense = { shape: [1, 2, 7, 6], data: pseudoRandomFloats(84, 20) };
  const [ref] = runOnnx(buildOnnx(spec, 'convs'), [{ x: xd }]);
  expectClose(evaluateOv(g, new Map([['x', xd]])), ref!);
});
