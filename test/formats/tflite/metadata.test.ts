import * as fs from 'node:fs';
import * as path from 'node:path';
import { readModel, writeModel } from '../../../src/formats';
import { FlatbufferReader } from '../../../src/formats/tflite/flatbuf/reader';
import { MAX_TEXT_METADATA_BYTES, metadataText } from '../../../src/formats/tflite/metadata';
import { TFLITE_SCHEMA } from '../../../src/formats/tflite/schema/schema.generated';
import type * as fb from '../../../src/formats/tflite/schema/schema.generated';
import { main } from '../../../src/cli/main';
import { parseModel } from '../../../src/ir';
import { corpusTfliteModels, tempDir } from '../../helpers/corpus';
import { flatcJson, jsonDifferences, withEmptiedByteVectors } from '../../helpers/tflite-flatc';

const models = corpusTfliteModels();
const pick = (name: string): string | undefined => models.find((m) => path.basename(m) === name);
/** npm corpus: two text entries, min_runtime_version (NUL-padded to 16 bytes) and reduced_precision_support. */
const HAND = pick('hand_landmark_lite.tflite');
/** Shared corpus: min_runtime_version and the binary TFLite Metadata flatbuffer TFLITE_METADATA. */
const MOBILENET = pick('mobilenet_v1_0.25_128_quant.tflite');
/** Shared corpus: the binary CONVERSION_METADATA flatbuffer, which happens to be valid UTF-8. */
const HELLO = pick('hello_world_float.tflite');

const work = tempDir('recipe-tflite-md-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const rootOf = (file: string): fb.Model => new FlatbufferReader(new Uint8Array(fs.readFileSync(file)), TFLITE_SCHEMA, file).readRoot() as unknown as fb.Model;
const bufferBytes = (root: fb.Model, index: number): Buffer => Buffer.from(root.buffers?.[index]?.data ?? new Uint8Array(0));
const entry = (root: fb.Model, name: string): fb.Metadata | undefined => root.metadata?.find((m) => m.name === name);
const tables = (f: string): unknown => JSON.parse(flatcJson(withEmptiedByteVectors(f, work), work));

describe('which metadata buffers are text', () => {
  const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
  test('text, UTF-8 text, and text padded with NUL bytes (as the converter stores min_runtime_version)', () => {
    expect(metadataText(bytes('1.14.0'))).toBe('1.14.0');
    expect(metadataText(bytes('{"a": "Größe"}\n'))).toBe('{"a": "Größe"}\n');
    expect(metadataText(Uint8Array.from([...bytes('2.2.0'), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBe('2.2.0');
    expect(metadataText(new Uint8Array(0))).toBe('');
  });
  test('invalid UTF-8, NUL or other control bytes inside, or more than 64 KiB: binary', () => {
    expect(metadataText(Uint8Array.from([0x31, 0xff, 0x32]))).toBeUndefined();
    expect(metadataText(Uint8Array.from([0x0c, 0, 0, 0, 0x08, 0]))).toBeUndefined();
    expect(metadataText(Uint8Array.from([0x61, 0, 0x62]))).toBeUndefined();
    expect(metadataText(new Uint8Array(MAX_TEXT_METADATA_BYTES).fill(0x61))).toHaveLength(MAX_TEXT_METADATA_BYTES);
    expect(metadataText(new Uint8Array(MAX_TEXT_METADATA_BYTES + 1).fill(0x61))).toBeUndefined();
  });
});

(HAND ? describe : describe.skip)('hand_landmark_lite (two text entries)', () => {
  const file = HAND ?? '';

  test('text entries are read into Model.metadata, padding dropped', () => {
    expect(readModel(file).metadata).toEqual([
      { key: 'min_runtime_version', value: '1.14.0' },
      { key: 'reduced_precision_support', value: 'fp16accfp32' },
    ]);
  });

  test('recipe show lists them', async () => {
    let out = '';
    const code = await main(['show', file], { out: (t) => void (out += t), err: (t) => void (out += t), interactive: false });
    expect(code).toBe(0);
    expect(out).toContain('metadata:\n  min_runtime_version: 1.14.0\n  reduced_precision_support: fp16accfp32\n');
  });

  test('a new entry is appended with a buffer of its UTF-8 bytes; the rest of the file is unchanged', () => {
    const model = readModel(file);
    const applied = JSON.stringify([{ name: 'pow', version: '1.0.0', sha256: 'ab'.repeat(32) }]);
    model.setMetadata('recipe.applied', applied);
    const out = path.join(work, 'hand-applied.tflite');
    writeModel(model, out);

    const before = rootOf(file);
    const after = rootOf(out);
    const n = before.buffers?.length ?? 0;
    expect(after.buffers).toHaveLength(n + 1);
    expect(after.metadata).toEqual([...(before.metadata ?? []), { name: 'recipe.applied', buffer: n }]);
    expect(bufferBytes(after, n).toString('utf8')).toBe(applied);
    expect(jsonDifferences(tables(file), tables(out))).toEqual(['$.buffers.length', '$.metadata.length']);
    expect(readModel(out).getMetadata('recipe.applied')).toBe(applied);
  });

  test('a changed value takes the bytes of its own buffer slot; a removed entry goes and its buffer is emptied', () => {
    const model = readModel(file);
    model.setMetadata('min_runtime_version', '2.3.0');
    model.metadata = model.metadata.filter((m) => m.key !== 'reduced_precision_support');
    const out = path.join(work, 'hand-changed.tflite');
    writeModel(model, out);

    const before = rootOf(file);
    const after = rootOf(out);
    const version = entry(before, 'min_runtime_version')!;
    const precision = entry(before, 'reduced_precision_support')!;
    expect(after.buffers).toHaveLength(before.buffers!.length);
    expect(after.metadata).toEqual([version]);
    expect(bufferBytes(after, version.buffer).toString('utf8')).toBe('2.3.0');
    expect(bufferBytes(after, precision.buffer).byteLength).toBe(0);
    expect(readModel(out).metadata).toEqual([{ key: 'min_runtime_version', value: '2.3.0' }]);
  });

  test('an unchanged value keeps its original bytes, padding included', () => {
    const model = readModel(file);
    model.setMetadata('min_runtime_version', '1.14.0');
    const out = path.join(work, 'hand-same.tflite');
    writeModel(model, out);
    const before = rootOf(file);
    const index = entry(before, 'min_runtime_version')!.buffer;
    expect(bufferBytes(rootOf(out), index)).toEqual(bufferBytes(before, index));
    expect(bufferBytes(before, index).byteLength).toBe(16);
  });
});

(MOBILENET ? test : test.skip)('mobilenet (quantized): the binary TFLITE_METADATA stays out of Model.metadata and keeps its bytes through an edit', () => {
  const file = MOBILENET ?? '';
  const model = readModel(file);
  expect(model.metadata).toEqual([{ key: 'min_runtime_version', value: '1.5.0' }]);
  model.setMetadata('recipe.applied', '[]');
  model.setMetadata('min_runtime_version', '1.6.0');
  const out = path.join(work, 'mobilenet.tflite');
  writeModel(model, out);
  const before = rootOf(file);
  const after = rootOf(out);
  const binary = entry(before, 'TFLITE_METADATA')!;
  expect(entry(after, 'TFLITE_METADATA')).toEqual(binary);
  expect(bufferBytes(after, binary.buffer)).toEqual(bufferBytes(before, binary.buffer));
  expect(bufferBytes(after, binary.buffer).byteLength).toBe(696);
  expect(readModel(out).metadata).toEqual([
    { key: 'min_runtime_version', value: '1.6.0' },
    { key: 'recipe.applied', value: '[]' },
  ]);
});

(HELLO ? test : test.skip)('hello_world_float: CONVERSION_METADATA decodes as UTF-8 but holds control bytes, so it is binary', () => {
  const model = readModel(HELLO ?? '');
  expect(model.metadata.map((m) => m.key)).toEqual(['min_runtime_version']);
  const root = rootOf(HELLO ?? '');
  const conversion = entry(root, 'CONVERSION_METADATA')!;
  expect(() => new TextDecoder('utf-8', { fatal: true }).decode(root.buffers![conversion.buffer]!.data)).not.toThrow();
});

test('a model built in the IR writes its metadata entries and reads them back', () => {
  const model = parseModel(`model tflite
graph main
  in x: float32[1, 4]
  r: y: float32[1, 4] = RELU(x)
  out y
`);
  model.setMetadata('recipe.applied', '[{"name":"core"}]');
  model.setMetadata('note', 'héllo\nworld');
  const out = path.join(work, 'built.tflite');
  writeModel(model, out);
  const root = rootOf(out);
  expect(root.metadata?.map((m) => m.name)).toEqual(['recipe.applied', 'note']);
  expect(root.metadata?.every((m) => m.buffer > 0)).toBe(true);
  expect(readModel(out).metadata).toEqual(model.metadata);
});

test('a key present twice is matched occurrence by occurrence: changing the second leaves the first buffer as it was', () => {
  const model = parseModel(`model tflite
graph main
  in x: float32[2]
  r: y: float32[2] = RELU(x)
  out y
`);
  model.metadata = [{ key: 'note', value: 'first' }, { key: 'other', value: 'x' }, { key: 'note', value: 'second' }];
  const once = path.join(work, 'twice.tflite');
  writeModel(model, once);
  const read = readModel(once);
  expect(read.metadata).toEqual(model.metadata);
  read.metadata[2]!.value = 'changed';
  const twice = path.join(work, 'twice-changed.tflite');
  writeModel(read, twice);
  const [a, b] = [rootOf(once), rootOf(twice)];
  expect(b.metadata).toEqual(a.metadata);
  expect(bufferBytes(b, a.metadata![0]!.buffer).toString('utf8')).toBe('first');
  expect(bufferBytes(b, a.metadata![2]!.buffer).toString('utf8')).toBe('changed');
  expect(readModel(twice).metadata.map((m) => m.value)).toEqual(['first', 'x', 'changed']);
});
