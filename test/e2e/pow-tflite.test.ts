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
import { ROOT, tempDir } from '../helpers/corpus';
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
  // x*x*x rounds twice where pow rounds once: within a few float32 ulps of |x|^3.
  const scale = Math.max(...floats(a!.outputs[0]).map(Math.abs));
  expect(diff).toBeLessThanOrEqual(1e-6 * scale);
});

test('exponents the rule refuses (2.5, 9, a vector) leave the model as it was, and the run is still recorded', async () => {
  for (const [name, exponent] of [
    ['fractional', Tensor.scalar('float32', 2.5)],
    ['too-large', Tensor.scalar('float32', 9)],
    ['vector', Tensor.from('float32', [4], [3, 3, 3, 3])],
  ] as const) {
    const before = path.join(work, `keep-${name}.tflite`);
    const after = path.join(work, `keep-${name}.out.tflite`);
    writeModel(convPowAdd(exponent), before);
    const io = capturingIo();
    expect(await main(['apply', POW_PACK, before, '-o', after], io.io)).toBe(0);
    const model = readModel(after);
    expect(model.graph.nodes.map((n) => n.op)).toEqual(['CONV_2D', 'POW', 'ADD']);
    expect(model.getMetadata('recipe.applied')).toMatch(/"name":"pow"/);
  }
});
