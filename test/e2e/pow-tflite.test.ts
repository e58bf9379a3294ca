/**
 * Issue 4, "How it is checked": the seed rewrite Pow(x, 3) -> chain of MULs
 * (slide 36, EdgeTPU has no POW) applied with `recipe apply` and the built-in
 * pack `recipes/pow/pow.yaml` to a TFLite model, outputs compared in LiteRT.js.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import { readModel, writeModel } from '../../src/formats';
import { attr } from '../../src/ir/attr';
import { Graph } from '../../src/ir/graph';
import { Model } from '../../src/ir/model';
import { Tensor } from '../../src/ir/tensor';
import { runLiteRt, type HostTensor } from '../../src/verify/litert';
import { FlatbufferReader } from '../../src/formats/tflite/flatbuf/reader';
import { TFLITE_SCHEMA } from '../../src/formats/tflite/schema/schema.generated';
import type * as fb from '../../src/formats/tflite/schema/schema.generated';
import { corpusTfliteModels, ROOT, tempDir } from '../helpers/corpus';
import { capturingIo, seededFloats } from './helpers';

const POW_PACK = path.join(ROOT, 'recipes/pow/pow.yaml');
const work = tempDir('e2e-pow-tflite-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/**
 * input [1, 6, 6, 3] -> CONV_2D 3x3 SAME (4 filters, bias) -> POW(h, n) -> ADD(per-channel constant) -> output,
 * with a second output reading the convolution, so that its value keeps another reader.
 */
function convPowAdd(exponent: Tensor): Model {
  const g = new Graph('main');
  const x = g.addValue('input', { dtype: 'float32', shape: [1, 6, 6, 3] });
  const w = g.addConstant('conv/filter', Tensor.from('float32', [4, 3, 3, 3], seededFloats(4 * 27, 7, -0.5, 0.5)));
  const b = g.addConstant('conv/bias', Tensor.from('float32', [4], [0.1, -0.2, 0.05, 0]));
  const n = g.addConstant('pow/exponent', exponent);
  const c = g.addConstant('add/offset', Tensor.from('float32', [4], [1, -1, 0.5, 2]));
  const h = g.addValue('conv', { dtype: 'float32', shape: [1, 6, 6, 4] });
  const p = g.addValue('cube', { dtype: 'float32', shape: [1, 6, 6, 4] });
  const y = g.addValue('output', { dtype: 'float32', shape: [1, 6, 6, 4] });
  g.addNode({
    op: 'CONV_2D',
    name: 'conv',
    inputs: [x, w, b],
    outputs: [h],
    attrs: {
      padding: attr.string('SAME'),
      stride_h: attr.int(1),
      stride_w: attr.int(1),
      dilation_h_factor: attr.int(1),
      dilation_w_factor: attr.int(1),
      fused_activation_function: attr.string('NONE'),
    },
  });
  g.addNode({ op: 'POW', name: 'pow', inputs: [h, n], outputs: [p] });
  g.addNode({ op: 'ADD', name: 'add', inputs: [p, c], outputs: [y], attrs: { fused_activation_function: attr.string('NONE') } });
  g.inputs = [x];
  g.outputs = [y, h];
  return new Model('tflite', g);
}

const floats = (t: HostTensor | undefined): Float32Array => {
  if (!t) throw new Error('missing output');
  return new Float32Array(Uint8Array.from(t.data).buffer);
};

/** Largest |a - b| over two runs' outputs, all outputs, after checking shapes and that the reference is not all zero. */
function maxAbsDiff(a: HostTensor[], b: HostTensor[]): number {
  expect(b.map((t) => t.shape)).toEqual(a.map((t) => t.shape));
  let worst = 0;
  a.forEach((t, k) => {
    const x = floats(t);
    const y = floats(b[k]);
    expect(x.some((v) => v !== 0)).toBe(true);
    x.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - y[i]!))));
  });
  return worst;
}

test('recipe apply recipes/pow/pow.yaml: POW(x, 3) becomes two MULs, LiteRT.js outputs agree, recipe.applied recorded', async () => {
  const before = path.join(work, 'conv-pow-add.tflite');
  const after = path.join(work, 'conv-pow-add.mul.tflite');
  writeModel(convPowAdd(Tensor.scalar('float32', 3)), before);

  const io = capturingIo();
  const code = await main(['apply', POW_PACK, before, '-o', after], io.io);
  expect(io.stderr()).toBe('');
  expect(code).toBe(0);
  expect(io.stdout()).toMatch(/pow-to-mul-tflite/);

  const model = readModel(after);
  const ops = model.graph.nodes.map((n) => n.op);
  expect(ops).toEqual(['CONV_2D', 'MUL', 'MUL', 'ADD']);
  const [conv, mul1, mul2, add] = model.graph.nodes;
  // conv * conv, then (conv * conv) * conv, read by the ADD as the POW's output was, under the same name.
  expect(mul1!.inputs).toEqual([conv!.output(0), conv!.output(0)]);
  expect(mul2!.inputs).toEqual([mul1!.output(0), conv!.output(0)]);
  expect(mul2!.output(0).name).toBe('cube');
  expect(add!.input(0)).toBe(mul2!.output(0));
  // The exponent constant is gone with the POW.
  expect(model.graph.constants.map((v) => v.name).sort()).toEqual(['add/offset', 'conv/bias', 'conv/filter']);
  expect(model.graph.outputs.map((v) => v.name)).toEqual(['output', 'conv']);

  const applied = JSON.parse(model.getMetadata('recipe.applied') ?? 'null') as unknown;
  expect(applied).toEqual([{ name: 'pow', version: '1.0.0', sha256: createHash('sha256').update(fs.readFileSync(POW_PACK)).digest('hex') }]);

  const [a, b] = runLiteRt([{ model: before, seed: 5 }, { model: after, inputsFrom: 0 }]);
  expect(a!.error).toBeUndefined();
  expect(b!.error).toBeUndefined();
  const diff = maxAbsDiff(a!.outputs, b!.outputs);
  console.log(`pow(x, 3) -> MUL chain in LiteRT.js: max |diff| ${diff}`);
  // Both compute what the graph says: output = conv^3 + offset (per channel, last axis), from the conv output.
  const [y, h] = [floats(a!.outputs[0]), floats(a!.outputs[1])];
  const offset = [1, -1, 0.5, 2];
  let cubeError = 0;
  h.forEach((v, i) => (cubeError = Math.max(cubeError, Math.abs(y[i]! - (v ** 3 + offset[i % 4]!)))));
  expect(cubeError).toBeLessThanOrEqual(1e-5);
  // x*x*x rounds twice where pow rounds once: within a few float32 ulps of |x|^3.
  const scale = Math.max(...floats(a!.outputs[0]).map(Math.abs));
  expect(diff).toBeLessThanOrEqual(1e-6 * scale);
});

test('exponents the rule refuses (2.5, 9, a vector) leave the model as it was, --explain says why, the run is still recorded', async () => {
  for (const [name, exponent, failed] of [
    ['fractional', Tensor.scalar('float32', 2.5), 'is_integer($n)'],
    ['too-large', Tensor.scalar('float32', 9), 'item($n) <= 8'],
    ['vector', Tensor.from('float32', [4], [3, 3, 3, 3]), 'is_scalar($n)'],
  ] as const) {
    const before = path.join(work, `keep-${name}.tflite`);
    const after = path.join(work, `keep-${name}.out.tflite`);
    writeModel(convPowAdd(exponent), before);
    const io = capturingIo();
    expect(await main(['apply', POW_PACK, before, '-o', after, '--explain', 'pow-to-mul-tflite'], io.io)).toBe(0);
    // --explain names the first condition that failed at the POW.
    expect(io.stdout()).toContain(`near miss at POW 'POW' in graph 'main': condition '${failed}' is false`);
    const model = readModel(after);
    expect(model.graph.nodes.map((n) => n.op)).toEqual(['CONV_2D', 'POW', 'ADD']);
    expect(model.getMetadata('recipe.applied')).toMatch(/"name":"pow"/);
  }
});

/** tflite-micro's hello_world_float (shared corpus): three FULLY_CONNECTED, metadata min_runtime_version and the binary CONVERSION_METADATA. */
const HELLO = corpusTfliteModels().find((m) => path.basename(m) === 'hello_world_float.tflite');

(HELLO ? test : test.skip)('a real converter-made model with a POW(x, 3) put after its first FULLY_CONNECTED: rewritten, same outputs in LiteRT.js, metadata kept', async () => {
  // No model of the corpora has a POW, so one is inserted into a real file (its other tables, options,
  // buffers and metadata come from the TensorFlow Lite converter).
  const model = readModel(HELLO!);
  const g = model.graph;
  const fc = g.nodes.find((n) => n.op === 'FULLY_CONNECTED');
  if (!fc) throw new Error('no FULLY_CONNECTED');
  const h = fc.output(0);
  const readers = h.consumers;
  expect(readers.length).toBeGreaterThan(0);
  const cube = g.addValue('cubed', { dtype: h.dtype, shape: h.shape ? [...h.shape] : undefined });
  h.replaceAllUsesWith(cube);
  const pow = g.addNode({ op: 'POW', name: 'cube', inputs: [h, g.addConstant('three', Tensor.scalar('float32', 3))], outputs: [cube] });
  g.moveBefore(pow, readers[0]!);
  // The batch dimension is left open (-1) in the file; with a POW that XNNPACK does not take, LiteRT.js
  // then refuses the [1, 1] input ("does not match expected Float32[-1, 1]"), so batch 1 is fixed.
  for (const v of g.values) if (v.shape?.includes(null)) v.shape = v.shape.map((d) => d ?? 1);
  const before = path.join(work, 'hello-pow.tflite');
  const after = path.join(work, 'hello-pow.mul.tflite');
  writeModel(model, before);
  expect(readModel(before).graph.nodes.filter((n) => n.op === 'POW')).toHaveLength(1);

  const io = capturingIo();
  const code = await main(['apply', POW_PACK, before, '-o', after], io.io);
  expect(io.stderr()).toBe('');
  expect(code).toBe(0);
  const out = readModel(after);
  expect(out.graph.nodes.map((n) => n.op)).toEqual(['FULLY_CONNECTED', 'MUL', 'MUL', 'FULLY_CONNECTED', 'FULLY_CONNECTED']);
  expect(out.metadata.map((m) => m.key)).toEqual(['min_runtime_version', 'recipe.applied']);
  expect(out.getMetadata('min_runtime_version')).toBe(readModel(HELLO!).getMetadata('min_runtime_version'));
  const rootOf = (file: string): fb.Model => new FlatbufferReader(new Uint8Array(fs.readFileSync(file)), TFLITE_SCHEMA, file).readRoot() as unknown as fb.Model;
  const conversion = (root: fb.Model): Buffer => Buffer.from(root.buffers![root.metadata!.find((m) => m.name === 'CONVERSION_METADATA')!.buffer]!.data!);
  expect(conversion(rootOf(after)).equals(conversion(rootOf(HELLO!)))).toBe(true);

  const [a, b] = runLiteRt([{ model: before, seed: 9 }, { model: after, inputsFrom: 0 }]);
  expect(a!.error).toBeUndefined();
  expect(b!.error).toBeUndefined();
  const diff = maxAbsDiff(a!.outputs, b!.outputs);
  console.log(`hello_world_float + POW(x, 3) -> MUL chain in LiteRT.js: max |diff| ${diff}`);
  expect(diff).toBeLessThanOrEqual(1e-5 * Math.max(1, ...floats(a!.outputs[0]).map(Math.abs)));
});
