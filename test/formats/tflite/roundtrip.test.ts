import * as fs from 'node:fs';
import * as path from 'node:path';
import { readModel, writeModel } from '../../../src/formats';
import { decodeTflite } from '../../../src/formats/tflite';
import { FlatbufferReader } from '../../../src/formats/tflite/flatbuf/reader';
import { TFLITE_SCHEMA } from '../../../src/formats/tflite/schema/schema.generated';
import type * as fb from '../../../src/formats/tflite/schema/schema.generated';
import type { Model } from '../../../src/ir/model';
import { BytesData, Tensor } from '../../../src/ir/tensor';
import { corpusTfliteModels, tempDir } from '../../helpers/corpus';
import { bigByteVectors, firstDifference, flatcJson, withEmptiedByteVectors, writeEncoded } from '../../helpers/tflite-flatc';

const models = corpusTfliteModels();
const work = tempDir('recipe-tflite-rt-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('an untouched small model, encoded again, dumps to the same flatc JSON, weights included', () => {
  const file = models.find((m) => m.endsWith('hello_world_int8.tflite')) ?? models[0] ?? '';
  const out = path.join(work, 'whole.tflite');
  writeEncoded(readModel(file), out);
  expect(firstDifference(flatcJson(file, work), flatcJson(out, work))).toBeUndefined();
});

test('the corpus has TFLite models (npm corpus and shared corpus)', () => {
  expect(models.length).toBeGreaterThanOrEqual(30);
  expect(models.some((m) => m.includes('edgetpu'))).toBe(true);
  expect(models.some((m) => m.includes('vela'))).toBe(true);
});

describe.each(models.map((m) => [path.basename(m), m] as const))('%s', (_name, file) => {
  const out = path.join(work, `${path.basename(path.dirname(file))}-${path.basename(file)}`);

  test('written untouched, it is the file read, byte for byte', () => {
    const copy = `${out}.copy`;
    writeModel(readModel(file), copy);
    expect(Buffer.compare(fs.readFileSync(copy), fs.readFileSync(file))).toBe(0);
  });

  test('encoded again, it decodes to the same tables (flatc JSON) and the same buffer and custom option bytes', () => {
    const model = readModel(file);
    writeEncoded(model, out);
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

  test('buffer data is 16-byte aligned in the encoded file, and constants are views over the file', () => {
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

test('a model changed in any one way is encoded anew with the change, never copied as read', () => {
  const file = models.find((m) => m.endsWith('hello_world_float.tflite'))!;
  const changes: [string, (m: Model) => void, (m: Model) => unknown][] = [
    ['a tensor renamed', (m) => m.graph.renameValue(m.graph.nodes[0]!.outputs[0]!, 'renamed'), (m) => m.graph.nodes[0]!.outputs[0]!.name],
    ['an attribute set to its default', (m) => m.graph.nodes[0]!.attrs.set('fused_activation_function', { kind: 'string', value: 'NONE' }), (m) => m.graph.nodes[0]!.attr('fused_activation_function')],
    ['constant bytes, same size', (m) => {
      const c = m.graph.nodes[0]!.inputs[1]!;
      c.const = new Tensor(c.const!.dtype, c.const!.shape, new BytesData(new Uint8Array(c.const!.data.bytes()).fill(0)));
    }, (m) => [...m.graph.nodes[0]!.inputs[1]!.const!.data.bytes()].every((b) => b === 0)],
    ['a graph output dropped', (m) => (m.graph.outputs = []), (m) => m.graph.outputs.length],
  ];
  for (const [what, change, probe] of changes) {
    const model = readModel(file);
    change(model);
    const out = path.join(work, 'changed.tflite');
    writeModel(model, out);
    expect({ what, same: Buffer.compare(fs.readFileSync(out), fs.readFileSync(file)) === 0 }).toEqual({ what, same: false });
    expect({ what, read: probe(readModel(out)) }).toEqual({ what, read: probe(model) });
  }
});
