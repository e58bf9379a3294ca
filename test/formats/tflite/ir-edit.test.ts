import * as fs from 'node:fs';
import * as path from 'node:path';
import { readModel, writeModel } from '../../../src/formats';
import { tfliteQuantization } from '../../../src/formats/tflite';
import { attr } from '../../../src/ir/attr';
import { Tensor } from '../../../src/ir/tensor';
import { runLiteRt } from '../../../src/verify/litert';
import { corpusTfliteModels, tempDir } from '../../helpers/corpus';
import { bigByteVectors, flatcJson, jsonDifferences, withEmptiedByteVectors } from '../../helpers/tflite-flatc';

const models = corpusTfliteModels();
const pick = (name: string): string => models.find((m) => path.basename(m) === name) ?? '';
const FACE = pick('face_detection_short_range.tflite');
const work = tempDir('recipe-tflite-edit-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const tables = (f: string): unknown => JSON.parse(flatcJson(withEmptiedByteVectors(f, work), work));

test('changing fused_activation_function through the IR changes exactly that field in the file', () => {
  const model = readModel(FACE);
  const nodes = model.graph.nodes;
  const k = nodes.findIndex((n) => n.op === 'CONV_2D');
  const node = nodes[k];
  if (!node) throw new Error('no CONV_2D');
  expect(node.attr('padding')).toMatchObject({ kind: 'string' });
  const before = node.attr('fused_activation_function');
  expect(before?.kind).toBe('string');
  const next = before?.value === 'RELU6' ? 'RELU' : 'RELU6';
  node.attrs.set('fused_activation_function', attr.string(next));
  const out = path.join(work, 'fused.tflite');
  writeModel(model, out);

  expect(jsonDifferences(tables(FACE), tables(out))).toEqual([`$.subgraphs[0].operators[${k}].builtin_options.fused_activation_function`]);
  expect(readModel(out).graph.nodes[k]?.attr('fused_activation_function')).toEqual({ kind: 'string', value: next });
});

test('an unknown enum name or a field the options table lacks is refused with the node named', () => {
  const model = readModel(FACE);
  const conv = model.graph.nodes.find((n) => n.op === 'CONV_2D');
  if (!conv) throw new Error('no CONV_2D');
  conv.attrs.set('padding', attr.string('HALF'));
  expect(() => writeModel(model, path.join(work, 'bad1.tflite'))).toThrow(/node 'CONV_2D.*'HALF' is not a Padding \(one of SAME, VALID\)/);
  conv.attrs.set('padding', attr.string('SAME'));
  conv.attrs.set('groups', attr.int(2));
  expect(() => writeModel(model, path.join(work, 'bad2.tflite'))).toThrow(/attribute 'groups' is not a field of Conv2DOptions/);
});

test("changing a constant's data writes exactly those bytes in its buffer and leaves everything else alone", () => {
  const model = readModel(FACE);
  const values = [...model.graph.values];
  const t = values.findIndex((v) => v.name === 'conv2d/Bias');
  const bias = values[t];
  if (!bias?.const) throw new Error('no conv2d/Bias constant');
  const doubled = Tensor.from(bias.const.dtype, bias.const.shape, Array.from(bias.const.toFloat64(), (x) => 2 * x));
  bias.const = doubled;
  const out = path.join(work, 'const.tflite');
  writeModel(model, out);

  // The tensor had a buffer of its own: that buffer takes the new bytes, nothing else moves.
  expect(jsonDifferences(tables(FACE), tables(out))).toEqual([]);
  const before = bigByteVectors(new Uint8Array(fs.readFileSync(FACE)), FACE);
  const after = bigByteVectors(new Uint8Array(fs.readFileSync(out)), out);
  const index = (bias.native as { tensor: { buffer: number } }).tensor.buffer;
  expect(after.length).toBe(before.length);
  before.forEach((v, i) => {
    const expected = i === index ? doubled.data.bytes() : v.bytes;
    expect(Buffer.compare(Buffer.from(after[i]?.bytes ?? []), Buffer.from(expected))).toBe(0);
  });
  expect(Buffer.compare(Buffer.from(before[index]?.bytes ?? []), Buffer.from(doubled.data.bytes()))).not.toBe(0);
  const reread = [...readModel(out).graph.values][t];
  expect(Array.from(reread?.const?.toFloat64() ?? [])).toEqual(Array.from(doubled.toFloat64()));
});

test('a node added through the IR (new op code, new constant, new tensor, options) runs as written', () => {
  const model = readModel(FACE);
  const g = model.graph;
  const regressors = g.outputs[0];
  if (!regressors) throw new Error('no output');
  expect(model.graph.nodes.some((n) => n.op === 'MUL')).toBe(false);
  const two = g.addConstant('two', Tensor.from('float32', [1], [2]));
  const scaled = g.addValue('regressors_x2_relu', { dtype: 'float32', shape: regressors.shape ? [...regressors.shape] : undefined });
  g.addNode({ op: 'MUL', inputs: [regressors, two], outputs: [scaled], attrs: { fused_activation_function: attr.string('RELU') } });
  g.outputs = [scaled, ...g.outputs.slice(1)];
  const out = path.join(work, 'added.tflite');
  writeModel(model, out);

  const back = readModel(out);
  const mul = back.graph.nodes.find((n) => n.op === 'MUL');
  expect(mul?.attr('fused_activation_function')).toEqual({ kind: 'string', value: 'RELU' });
  expect(back.graph.outputs[0]?.name).toBe('regressors_x2_relu');

  const [original, edited] = runLiteRt([{ model: FACE, seed: 3 }, { model: out, inputsFrom: 0 }]);
  expect(original?.ok).toBe(true);
  expect(edited?.ok).toBe(true);
  const f32 = (d: Uint8Array | undefined): Float32Array => new Float32Array(new Uint8Array(d ?? []).buffer);
  const x = f32(original?.outputs[0]?.data);
  const y = f32(edited?.outputs[0]?.data);
  expect(y.length).toBe(x.length);
  expect(x.some((v) => v < 0) && x.some((v) => v > 0)).toBe(true);
  expect(Array.from(y)).toEqual(Array.from(x, (v) => Math.max(0, Math.fround(2 * v))));
  expect(Buffer.compare(Buffer.from(edited?.outputs[1]?.data ?? []), Buffer.from(original?.outputs[1]?.data ?? []))).toBe(0);
});

test('quantization parameters are readable from values (per-tensor and per-channel)', () => {
  const model = readModel(pick('person_detect.tflite'));
  const quantized = [...model.graph.values].map((v) => [v, tfliteQuantization(v)] as const).filter(([, q]) => q);
  expect(quantized.length).toBeGreaterThan(0);
  const perChannel = quantized.find(([, q]) => (q?.scale.length ?? 0) > 1);
  expect(perChannel).toBeDefined();
  const [value, q] = perChannel ?? [];
  expect(q?.zeroPoint.length).toBe(q?.scale.length);
  expect(value?.shape?.[q?.quantizedDimension ?? -1]).toBe(q?.scale.length);
  expect(value?.dtype).toBe('int8');
});

test('subgraphs are model graphs, and ops that name subgraphs by index keep working', () => {
  const model = readModel(pick('hey_jarvis_v0.1.tflite'));
  expect(model.graphs.length).toBe(3);
  const refs = model.graphs.flatMap((g) => g.nodes).flatMap((n) =>
    [...n.attrs].filter(([k]) => /subgraph/.test(k)).map(([, a]) => (a.kind === 'int' ? Number(a.value) : -1)),
  );
  expect(refs.length).toBeGreaterThan(0);
  for (const r of refs) expect(model.graphs[r]).toBeDefined();
});

test('constants that share their data are written as one buffer; the freed buffer is emptied, indices stay', () => {
  const model = readModel(FACE);
  const values = [...model.graph.values];
  const a = values.find((v) => v.name === 'depthwise_conv2d/Bias');
  const b = values.find((v) => v.name === 'depthwise_conv2d_1/Bias');
  if (!a?.const || !b?.const) throw new Error('expected two float16[24] biases');
  b.const = new Tensor(a.const.dtype, a.const.shape, a.const.data);
  const out = path.join(work, 'shared.tflite');
  writeModel(model, out);

  const ia = values.indexOf(a);
  const ib = values.indexOf(b);
  const oldB = (b.native as { tensor: { buffer: number } }).tensor.buffer;
  const json = tables(out) as { subgraphs: { tensors: { buffer: number }[] }[] };
  const ta = json.subgraphs[0]?.tensors[ia];
  const tb = json.subgraphs[0]?.tensors[ib];
  expect(tb?.buffer).toBe(ta?.buffer);
  const before = bigByteVectors(new Uint8Array(fs.readFileSync(FACE)), FACE);
  const after = bigByteVectors(new Uint8Array(fs.readFileSync(out)), out);
  expect(after.length).toBe(before.length);
  expect(after[oldB]?.bytes.byteLength).toBe(0);
  expect(jsonDifferences(tables(FACE), json)).toEqual([`$.subgraphs[0].tensors[${ib}].buffer`, `$.buffers[${oldB}].data`]);
});

test('a signature follows the graph output a rewrite replaced, and the runtime sees the new output', () => {
  const file = pick('alexa_v0.1.tflite');
  const model = readModel(file);
  const g = model.graph;
  const output = g.outputs[0];
  if (!output) throw new Error('no output');
  const two = g.addConstant('two', Tensor.from('float32', [1], [2]));
  const doubled = g.addValue('doubled', { dtype: 'float32', shape: output.shape ? [...output.shape] : undefined });
  g.addNode({ op: 'MUL', inputs: [output, two], outputs: [doubled] });
  g.outputs = [doubled];
  const out = path.join(work, 'signature.tflite');
  writeModel(model, out);

  const json = tables(out) as { signature_defs: { outputs: { name: string; tensor_index: number }[] }[] };
  const entry = json.signature_defs[0]?.outputs[0];
  expect(entry?.tensor_index).toBe([...g.values].indexOf(doubled));
  const [a, b] = runLiteRt([{ model: file, seed: 9 }, { model: out, inputsFrom: 0 }]);
  expect(a?.ok && b?.ok).toBe(true);
  const f32 = (d: Uint8Array | undefined): number[] => Array.from(new Float32Array(new Uint8Array(d ?? []).buffer));
  expect(f32(b?.outputs[0]?.data)).toEqual(f32(a?.outputs[0]?.data).map((v) => Math.fround(2 * v)));
});

test('attributes set on an op that was read without options get its options table', () => {
  const file = pick('face_detection_full_range_sparse.tflite');
  const model = readModel(file);
  const k = model.graph.nodes.findIndex((n) => n.op === 'RESHAPE' && n.attrs.size === 0);
  const reshape = model.graph.nodes[k];
  const shape = reshape?.outputs[0]?.shape;
  if (!reshape || !shape) throw new Error('expected a RESHAPE read without options');
  reshape.attrs.set('new_shape', attr.ints(shape.map(Number)));
  const out = path.join(work, 'no-options.tflite');
  writeModel(model, out);
  expect(jsonDifferences(tables(file), tables(out))).toEqual([
    `$.subgraphs[0].operators[${k}].builtin_options_type`,
    `$.subgraphs[0].operators[${k}].builtin_options`,
  ]);
  expect(readModel(out).graph.nodes[k]?.attr('new_shape')).toEqual({ kind: 'ints', value: shape });
});
