import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Builder } from 'flatbuffers';
import { main } from '../../../src/cli/main';
import { readModel, writeModel } from '../../../src/formats';
import { decodeTflite, encodeTflite, tfliteAdapter, tfliteUnknownFields } from '../../../src/formats/tflite';
import { FlatbufferReader } from '../../../src/formats/tflite/flatbuf/reader';
import type { SchemaDef } from '../../../src/formats/tflite/flatbuf/schema-def';
import { FlatbufferWriter } from '../../../src/formats/tflite/flatbuf/writer';
import { modelNative, operatorNative } from '../../../src/formats/tflite/native';
import { TFLITE_SCHEMA } from '../../../src/formats/tflite/schema/schema.generated';
import type * as fb from '../../../src/formats/tflite/schema/schema.generated';
import { attr } from '../../../src/ir/attr';
import { Graph } from '../../../src/ir/graph';
import { Model } from '../../../src/ir/model';
import { StringData, Tensor } from '../../../src/ir/tensor';
import { runLiteRt } from '../../../src/verify/litert';
import { ROOT, corpusTfliteModels, tempDir } from '../../helpers/corpus';
import { bigByteVectors } from '../../helpers/tflite-flatc';

const models = corpusTfliteModels();
const pick = (name: string): string => models.find((m) => path.basename(m) === name) ?? '';
const work = tempDir('recipe-tflite-codec-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('the generated schema module is up to date with tflite.fbs', () => {
  expect(() => execFileSync(process.execPath, [path.join(ROOT, 'scripts/gen-tflite-schema.js'), '--check'], { stdio: 'pipe' })).not.toThrow();
});

test('the schema knows the format facts the codec relies on', () => {
  const op = TFLITE_SCHEMA.tables.Operator?.fields.map((f) => `${f.id}:${f.name}`);
  expect(op).toEqual([
    '0:opcode_index', '1:inputs', '2:outputs', '3:builtin_options_type', '4:builtin_options', '5:custom_options',
    '6:custom_options_format', '7:mutating_variable_inputs', '8:intermediates', '9:large_custom_options_offset',
    '10:large_custom_options_size', '11:builtin_options_2_type', '12:builtin_options_2',
  ]);
  expect(TFLITE_SCHEMA.unions.BuiltinOptions?.members[0]).toBe('Conv2DOptions');
  expect(TFLITE_SCHEMA.unions.BuiltinOptions?.members.length).toBe(126);
  expect(TFLITE_SCHEMA.enums.BuiltinOperator?.values.BATCH_MATMUL).toBe(126);
  expect(TFLITE_SCHEMA.enums.BuiltinOperator?.values.CUMSUM).toBe(128);
});

test('sniff looks at the file identifier, not the extension', () => {
  const head = new Uint8Array(fs.readFileSync(pick('hello_world_int8.tflite')).subarray(0, 64));
  expect(tfliteAdapter.sniff(head, 'model.bin')).toBe(true);
  const other = head.slice();
  other[7] = 0x34;
  expect(tfliteAdapter.sniff(other, 'model.tflite')).toBe(false);
});

test('extended builtin codes (> 127) keep both code fields', () => {
  const model = readModel(pick('hello_world_int8.tflite'));
  const node = model.graph.nodes[0];
  if (!node) throw new Error('no node');
  node.op = 'CUMSUM';
  node.attrs = new Map();
  const bytes = writeTo(model, 'cumsum.tflite');
  const root = new FlatbufferReader(bytes, TFLITE_SCHEMA, 'cumsum').readRoot() as unknown as fb.Model;
  const code = root.operator_codes?.find((c) => c.builtin_code === 128);
  expect(code).toMatchObject({ deprecated_builtin_code: 127, builtin_code: 128, version: 1 });
  expect(decodeTflite(bytes, 'cumsum').graph.nodes[0]?.op).toBe('CUMSUM');
});

function writeTo(model: ReturnType<typeof readModel>, name: string): Uint8Array {
  const out = path.join(work, name);
  writeModel(model, out);
  return new Uint8Array(fs.readFileSync(out));
}

test('buffers stored after the flatbuffer (offset/size, models over 2 GB) are read and written that way, and run', () => {
  const file = pick('hand_landmark_lite.tflite');
  const model = readModel(file);
  const native = modelNative(model);
  if (!native) throw new Error('no native');
  for (const b of native.buffers) if (b.data) b.external = true;
  const external = path.join(work, 'external.tflite');
  writeModel(model, external);

  const bytes = new Uint8Array(fs.readFileSync(external));
  const root = new FlatbufferReader(bytes, TFLITE_SCHEMA, external).readRoot() as unknown as fb.Model;
  const stored = (root.buffers ?? []).filter((b) => b.offset > 1n);
  expect(stored.length).toBeGreaterThan(10);
  for (const b of stored) {
    expect(b.data).toBeUndefined();
    expect(Number(b.offset) % 16).toBe(0);
  }
  const before = bigByteVectors(new Uint8Array(fs.readFileSync(file)), file);
  const after = bigByteVectors(bytes, external);
  before.forEach((v, i) => expect(Buffer.compare(Buffer.from(after[i]?.bytes ?? []), Buffer.from(v.bytes))).toBe(0));

  // Read back and written again, they stay after the flatbuffer.
  const again = path.join(work, 'external-again.tflite');
  writeModel(readModel(external), again);
  expect(Buffer.compare(fs.readFileSync(again), Buffer.from(bytes))).toBe(0);

  const [a, b] = runLiteRt([{ model: file, seed: 5 }, { model: external, inputsFrom: 0 }]);
  expect(a?.ok).toBe(true);
  expect(b?.error).toBeUndefined();
  a?.outputs.forEach((o, k) => expect(Buffer.compare(Buffer.from(b?.outputs[k]?.data ?? []), Buffer.from(o.data))).toBe(0));
});

test('custom options stored after the flatbuffer (large_custom_options_offset) keep their bytes', () => {
  const file = pick('split_concat_edgetpu.tflite');
  const model = readModel(file);
  const node = model.graph.nodes.find((n) => n.domain === 'custom');
  const nat = node && operatorNative(node);
  if (!nat) throw new Error('no custom op');
  const payload = node.attr('custom_options');
  expect(node.op).toBe('edgetpu-custom-op');
  expect(payload?.kind).toBe('bytes');
  nat.operator = { ...nat.operator, large_custom_options_offset: 2n };
  const bytes = writeTo(model, 'large-custom.tflite');
  const root = new FlatbufferReader(bytes, TFLITE_SCHEMA, 'large').readRoot() as unknown as fb.Model;
  const op = root.subgraphs?.[0]?.operators?.find((o) => o.large_custom_options_offset > 1n);
  expect(op?.custom_options).toBeUndefined();
  const back = decodeTflite(bytes, 'large').graph.nodes.find((n) => n.domain === 'custom');
  const backPayload = back?.attr('custom_options');
  expect(backPayload?.kind === 'bytes' && payload?.kind === 'bytes' && Buffer.compare(Buffer.from(backPayload.value), Buffer.from(payload.value))).toBe(0);
});

/** A .tflite written with a schema that has one more Tensor field (a newer converter's), as bytes. */
function futureTflite(): Uint8Array {
  const future: SchemaDef = JSON.parse(JSON.stringify(TFLITE_SCHEMA)) as SchemaDef;
  const tensor = future.tables.Tensor!;
  tensor.fields.push({ name: 'future_field', id: tensor.slotCount, type: { kind: 'scalar', scalar: 'int' }, default: 0 });
  tensor.slotCount++;
  const builder = new Builder(1024);
  const root = new FlatbufferWriter(builder, future).writeTable('Model', {
    version: 3,
    operator_codes: [],
    subgraphs: [{ tensors: [{ shape: [1], type: 0, buffer: 0, name: 't', future_field: 7 }], inputs: [0], outputs: [0], operators: [] }],
    buffers: [{}],
  });
  builder.finish(root, 'TFL3');
  return builder.asUint8Array();
}

test('a changed model with fields the schema does not know is not written unless dropping them is asked for; an unchanged one is copied whole', async () => {
  const file = path.join(work, 'future.tflite');
  fs.writeFileSync(file, futureTflite());
  const out = path.join(work, 'future-out.tflite');
  const err: string[] = [];
  const io = { out: () => undefined, err: (t: string) => void err.push(t), interactive: false };
  // Untouched, nothing is lost: the file is written as read, the unknown field included.
  expect(await main(['copy', file, '-o', out], io)).toBe(0);
  expect(Buffer.compare(fs.readFileSync(out), fs.readFileSync(file))).toBe(0);
  fs.rmSync(out);
  // Recording the applied recipe changes the model: writing it would drop the field.
  const recipe = path.join(work, 'nothing.yaml');
  fs.writeFileSync(recipe, 'recipe: nothing\nversion: 1.0.0\nrules: []\n');
  expect(await main(['apply', recipe, file, '-o', out], io)).toBe(6);
  expect(err.join('')).toMatch(/future\.tflite: 1 field\(s\) unknown to recipe's TFLite schema would be lost on writing: Model\.subgraphs\[0\]\.tensors\[0\] \(Tensor field \d+, byte \d+\)\n  hint: .*--drop-unknown-fields/);
  expect(fs.existsSync(out)).toBe(false);
  err.length = 0;
  expect(await main(['apply', recipe, file, '-o', out, '--drop-unknown-fields'], io)).toBe(0);
  expect(err.join('')).not.toMatch(/unknown|error/);
  expect(tfliteUnknownFields(readModel(out))).toEqual([]);
  expect(readModel(out).graph.inputs.map((v) => v.name)).toEqual(['t']);
});

test('fields the schema does not know are found and reported', () => {
  // Write a model with a schema that has one more Tensor field, read it with ours.
  const future: SchemaDef = JSON.parse(JSON.stringify(TFLITE_SCHEMA)) as SchemaDef;
  const tensor = future.tables.Tensor;
  if (!tensor) throw new Error('no Tensor table');
  tensor.fields.push({ name: 'future_field', id: tensor.slotCount, type: { kind: 'scalar', scalar: 'int' }, default: 0 });
  tensor.slotCount++;
  const builder = new Builder(1024);
  const writer = new FlatbufferWriter(builder, future);
  const root = writer.writeTable('Model', {
    version: 3,
    operator_codes: [],
    subgraphs: [{ tensors: [{ shape: [1], type: 0, buffer: 0, name: 't', future_field: 7 }], inputs: [0], outputs: [0], operators: [] }],
    buffers: [{}],
  });
  builder.finish(root, 'TFL3');
  const bytes = builder.asUint8Array();
  const model = decodeTflite(bytes, 'future.tflite');
  const unknown = tfliteUnknownFields(model);
  expect(unknown).toHaveLength(1);
  expect(unknown[0]).toMatchObject({ path: 'Model.subgraphs[0].tensors[0]', table: 'Tensor', slot: tensor.slotCount - 1 });
  // What the schema knows still round-trips.
  const { head } = encodeTflite(model, 'future-out.tflite');
  expect(decodeTflite(head, 'x').graph.values[0]?.name).toBe('t');
});

test('a file whose offsets share one subtree many times is refused, not expanded', () => {
  // One tensor table referenced by a vector of 200k offsets: small file, huge decoded size.
  const builder = new Builder(1 << 20);
  const writer = new FlatbufferWriter(builder, TFLITE_SCHEMA);
  const tensor = writer.writeTable('Tensor', { shape: new Array(2000).fill(1), type: 0, buffer: 0, name: 'x' });
  builder.startVector(4, 200_000, 4);
  for (let i = 0; i < 200_000; i++) builder.addOffset(tensor);
  const tensors = builder.endVector();
  builder.startObject(6);
  builder.addFieldOffset(0, tensors, 0);
  const subgraph = builder.endObject();
  builder.startVector(4, 1, 4);
  builder.addOffset(subgraph);
  const subgraphs = builder.endVector();
  builder.startObject(8);
  builder.addFieldOffset(2, subgraphs, 0);
  const root = builder.endObject();
  builder.finish(root, 'TFL3');
  const t0 = Date.now();
  expect(() => decodeTflite(builder.asUint8Array(), 'bomb.tflite')).toThrow(/too many objects/);
  expect(Date.now() - t0).toBeLessThan(5000);
});

test('string tensors: TFLite string buffers become StringData and are written back in the same layout', () => {
  const model = readModel(pick('hello_world_int8.tflite'));
  const utf8 = new TextEncoder();
  const words = ['', 'relu', 'ünïcödé', 'a longer string of text'].map((w) => utf8.encode(w));
  model.graph.addConstant('labels', new Tensor('string', [words.length], new StringData(words)));
  const bytes = writeTo(model, 'strings.tflite');
  const back = [...decodeTflite(bytes, 'strings').graph.values].find((v) => v.name === 'labels');
  expect(back?.dtype).toBe('string');
  expect(back?.const?.data).toBeInstanceOf(StringData);
  const strings = (back?.const?.data as StringData).strings.map((s) => new TextDecoder().decode(s));
  expect(strings).toEqual(['', 'relu', 'ünïcödé', 'a longer string of text']);
  // The buffer: count, count + 1 offsets from the buffer start, then the bytes.
  const buffer = back?.const?.data.bytes() ?? new Uint8Array();
  const raw = bigByteVectors(bytes, 'strings').at(-1)?.bytes ?? new Uint8Array();
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  expect(dv.getInt32(0, true)).toBe(4);
  expect(dv.getInt32(4, true)).toBe(24);
  expect(dv.getInt32(20, true)).toBe(raw.byteLength);
  expect(Buffer.compare(Buffer.from(buffer), Buffer.from(raw.subarray(24)))).toBe(0);
  // Read and written again, our own output comes back byte for byte.
  const again = encodeTflite(decodeTflite(bytes, 'strings'), 'again');
  const parts: Uint8Array[] = [again.head];
  again.tail.writeTo((b) => parts.push(Buffer.from(b)));
  expect(Buffer.compare(Buffer.concat(parts), Buffer.from(bytes))).toBe(0);
});

test('a model built in the IR from nothing is written as a valid .tflite that runs', () => {
  // y = relu6(x * w + b) over [1, 4]: MUL and ADD with options, new codes, buffers and tensors.
  const g = new Graph('main');
  const x = g.addValue('x', { dtype: 'float32', shape: [1, 4] });
  const w = g.addConstant('w', Tensor.from('float32', [4], [1, -2, 3, 0.5]));
  const b = g.addConstant('b', Tensor.from('float32', [4], [0.5, 0.5, -1, 10]));
  const xw = g.addValue('xw', { dtype: 'float32', shape: [1, 4] });
  const y = g.addValue('y', { dtype: 'float32', shape: [1, 4] });
  g.addNode({ op: 'MUL', inputs: [x, w], outputs: [xw] });
  g.addNode({ op: 'ADD', inputs: [xw, b], outputs: [y], attrs: { fused_activation_function: attr.string('RELU6') } });
  g.inputs = [x];
  g.outputs = [y];
  const out = path.join(work, 'scratch.tflite');
  writeModel(new Model('tflite', g), out);

  const input = new Float32Array([1, 2, 3, 4]);
  const [r] = runLiteRt([{ model: out, inputs: [{ dtype: 'float32', shape: [1, 4], data: new Uint8Array(input.buffer) }] }]);
  expect(r?.error).toBeUndefined();
  const result = Array.from(new Float32Array(new Uint8Array(r?.outputs[0]?.data ?? []).buffer));
  expect(result).toEqual([1.5, 0, 6, 6]);
  const back = readModel(out);
  expect(back.graph.nodes.map((n) => n.op)).toEqual(['MUL', 'ADD']);
  expect(back.graph.nodes[0]?.attr('fused_activation_function')).toEqual({ kind: 'string', value: 'NONE' });
});
