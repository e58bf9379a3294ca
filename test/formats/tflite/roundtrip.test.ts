import * as fs from 'node:fs';
import * as path from 'node:path';
import { readModel, writeModel } from '../../../src/formats';
import { decodeTflite } from '../../../src/formats/tflite';
import { FlatbufferReader } from '../../../src/formats/tflite/flatbuf/reader';
import { TFLITE_SCHEMA } from '../../../src/formats/tflite/schema/schema.generated';
import type * as fb from '../../../src/formats/tflite/schema/schema.generated';
import { BytesData } from '../../../src/ir/tensor';
import { corpusTfliteModels, tempDir } from '../../helpers/corpus';
import { bigByteVectors, firstDifference, flatcJson, withEmptiedByteVectors } from '../../helpers/tflite-flatc';

const models = corpusTfliteModels();
const work = tempDir('recipe-tflite-rt-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('an untouched small model dumps to the same flatc JSON, weights included', () => {
  const file = models.find((m) => m.endsWith('hello_world_int8.tflite')) ?? models[0] ?? '';
  const out = path.join(work, 'whole.tflite');
  writeModel(readModel(file), out);
  expect(firstDifference(flatcJson(file, work), flatcJson(out, work))).toBeUndefined();
});

test('the corpus has TFLite models (npm corpus and shared corpus)', () => {
  expect(models.length).toBeGreaterThanOrEqual(30);
  expect(models.some((m) => m.includes('edgetpu'))).toBe(true);
  expect(models.some((m) => m.includes('vela'))).toBe(true);
});

describe.each(models.map((m) => [path.basename(m), m] as const))('%s', (_name, file) => {
  const out = path.join(work, `${path.basename(path.dirname(file))}-${path.basename(file)}`);

  test('written file decodes to the same tables (flatc JSON) and the same buffer and custom option bytes', () => {
    const model = readModel(file);
    writeModel(model, out);
    const tables = (f: string): string => flatcJson(withEmptiedByteVectors(f, work), work);
    expect(firstDifference(tables(file), tables(out))).toBeUndefined();
    const before = bigByteVectors(new Uint8Array(fs.readFileSync(file)), file);
    const after = bigByteVectors(new Uint8Array(fs.readFileSync(out)), out);
    expect(after.length).toBe(before.length);
    before.forEach((b, i) => {
      const a = after[i];
      expect(a?.where).toBe(b.where);
      expect(a && Buffer.compare(a.bytes, b.bytes)).toBe(0);
    });
  });

  test('buffer data is 16-byte aligned in the written file, and constants are views over the file', () => {
    const bytes = new Uint8Array(fs.readFileSync(out));
    const root = new FlatbufferReader(bytes, TFLITE_SCHEMA, out).readRoot() as unknown as fb.Model;
    for (const b of root.buffers ?? []) {
      if (b.data && b.data.byteLength > 0) expect((b.data.byteOffset - bytes.byteOffset) % 16).toBe(0);
    }
    const model = decodeTflite(bytes, out);
    const constants = model.graphs.flatMap((g) => g.constants);
    for (const v of constants) {
      if (v.const?.data instanceof BytesData) expect(v.const.data.view.buffer).toBe(bytes.buffer);
    }
  });
});
