import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelError } from '../../../src/errors';
import { decodeTflite, encodeTflite } from '../../../src/formats/tflite';
import { corpusTfliteModels } from '../../helpers/corpus';
import { bigByteVectors } from '../../helpers/tflite-flatc';

/** Small real models of different shapes: several subgraphs, custom ops, quantization, sparsity, strings of names. */
const PICKS = ['hello_world_int8.tflite', 'split_concat_edgetpu.tflite', 'hey_jarvis_v0.1.tflite', 'face_detection_full_range_sparse.tflite', 'person_detect_vela.tflite'];
const models = corpusTfliteModels().filter((m) => PICKS.includes(path.basename(m)));

/** xorshift32: the same flips on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** Decoding (and, when that works, encoding again) either succeeds or throws ModelError, quickly. */
function survives(bytes: Uint8Array, label: string): { ok: boolean; ms: number } {
  const t0 = Date.now();
  let ok = true;
  try {
    const model = decodeTflite(bytes, label);
    encodeTflite(model, `${label}.out`);
  } catch (e) {
    if (!(e instanceof ModelError)) throw new Error(`${label}: threw ${(e as Error).name}: ${(e as Error).message}`);
    expect(e.message).toContain(label);
    ok = false;
  }
  return { ok, ms: Date.now() - t0 };
}

test('the fuzz picks are in the corpus', () => {
  expect(models.map((m) => path.basename(m)).sort()).toEqual([...PICKS].sort());
});

describe.each(models.map((m) => [path.basename(m), m] as const))('%s', (name, file) => {
  const original = new Uint8Array(fs.readFileSync(file));

  test('truncated anywhere: decodes or throws ModelError naming table and offset, never hangs', () => {
    const cuts = new Set<number>([0, 1, 4, 7, 8, 12, 16, 64]);
    const step = Math.max(1, Math.floor(original.byteLength / 150));
    for (let n = 0; n < original.byteLength; n += step) cuts.add(n);
    let failures = 0;
    let slowest = 0;
    for (const n of cuts) {
      const { ok, ms } = survives(original.slice(0, n), `${name}[0..${n}]`);
      if (!ok) failures++;
      slowest = Math.max(slowest, ms);
    }
    expect(failures).toBeGreaterThan(0);
    expect(slowest).toBeLessThan(5000);
  });

  test('seeded bit flips: decode or throw ModelError, within bounded time', () => {
    const random = rng(0x7f1 + original.byteLength);
    // Most flips go to the bytes outside weights and custom options: the
    // tables, vtables, offsets and strings, where a flip can mislead a reader.
    const data = new Uint8Array(original.byteLength);
    for (const v of bigByteVectors(original, file)) data.fill(1, v.bytes.byteOffset, v.bytes.byteOffset + v.bytes.byteLength);
    const tablePositions: number[] = [];
    data.forEach((d, i) => d === 0 && tablePositions.push(i));
    let slowest = 0;
    let rejected = 0;
    const rounds = original.byteLength > 200_000 ? 60 : 150;
    for (let round = 0; round < rounds; round++) {
      const bytes = original.slice();
      const flips = 1 + Math.floor(random() * 4);
      for (let k = 0; k < flips; k++) {
        const at = random() < 0.8 ? tablePositions[Math.floor(random() * tablePositions.length)] ?? 0 : Math.floor(random() * bytes.byteLength);
        bytes[at] = (bytes[at] ?? 0) ^ (1 << Math.floor(random() * 8));
      }
      const { ok, ms } = survives(bytes, `${name}#${round}`);
      if (!ok) rejected++;
      slowest = Math.max(slowest, ms);
    }
    expect(slowest).toBeLessThan(5000);
    expect(rejected).toBeGreaterThan(0);
  });
});

test('a corrupt offset is reported with the table path and byte offset', () => {
  const file = models.find((m) => m.endsWith('hello_world_int8.tflite')) ?? '';
  const bytes = new Uint8Array(fs.readFileSync(file));
  new DataView(bytes.buffer).setUint32(0, bytes.byteLength + 100, true); // root offset past the end
  expect(() => decodeTflite(bytes, 'bad.tflite')).toThrow(ModelError);
  try {
    decodeTflite(bytes, 'bad.tflite');
  } catch (e) {
    const err = e as ModelError;
    expect(err.location.path).toBe('Model');
    expect(err.location.offset).toBe(bytes.byteLength + 100);
    expect(err.message).toMatch(/^bad\.tflite: Model, byte \d+: .*outside the file/);
  }
});

test('a wrong file identifier is refused', () => {
  const file = models.find((m) => m.endsWith('hello_world_int8.tflite')) ?? '';
  const bytes = new Uint8Array(fs.readFileSync(file));
  bytes[4] = 0x58;
  expect(() => decodeTflite(bytes, 'x.tflite')).toThrow(/file identifier is 'XFL3', expected 'TFL3'/);
});
