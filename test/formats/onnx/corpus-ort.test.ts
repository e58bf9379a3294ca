import * as fs from 'node:fs';
import * as path from 'node:path';
import { readOnnx } from '../../../src/formats/onnx';
import type { Value } from '../../../src/ir/graph';
import { Tensor } from '../../../src/ir/tensor';
import type { NamedTensors } from '../../../src/verify/onnxruntime';
import { NPM_CORPUS, corpusOnnxModels, tempDir } from '../../helpers/corpus';
import { writeOnnxFile } from '../../helpers/onnx-files';
import { OrtChild } from '../../helpers/onnx-ort';

// Every ONNX model of the npm corpus runs in onnxruntime before and after the
// round trip (copied as the CLI does, and re-encoded from the IR) and gives
// the same outputs bit for bit.
const dir = tempDir('onnx-corpus-');
const ort = new OrtChild();
afterAll(() => {
  ort.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Deterministic values in [-1, 1) (a linear congruential generator, seeded per input). */
function noise(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/**
 * The size given to a dimension the model leaves open: a batch is 1, an audio
 * sequence 512 samples (what silero_vad_v5 wants), an image side 64 pixels.
 * Unnamed open dimensions are batches, except the samples of a rank-2 input.
 */
function dimSize(d: number | string | null, i: number, rank: number): number {
  if (typeof d === 'number' && d > 0) return d;
  if (typeof d === 'string') return /batch|unk__|DynamicDimension\.0$/.test(d) ? 1 : /sequence|samples/.test(d) ? 512 : 64;
  return rank === 2 && i === 1 ? 512 : 1;
}

/** An input built from the model's declared shape; `sr` is a 16 kHz sample rate. */
function feedFor(v: Value, seed: number): Tensor {
  const shape = (v.shape ?? []).map((d, i) => dimSize(d, i, v.shape!.length));
  const count = shape.reduce((a, b) => a * b, 1);
  if (v.dtype === 'int64') return Tensor.from('int64', shape, new Array<bigint>(count).fill(v.name === 'sr' ? 16000n : 1n));
  if (v.dtype !== 'float32') throw new Error(`no feed for ${v.dtype} input '${v.name}'`);
  return Tensor.from('float32', shape, noise(count, seed));
}

function sameBits(a: NamedTensors, b: NamedTensors): string[] {
  const diffs: string[] = [];
  for (const [name, t] of Object.entries(a)) {
    const u = b[name];
    if (!u || t.dtype !== u.dtype || t.shape.join() !== u.shape.join() || Buffer.compare(t.data.bytes(), u.data.bytes()) !== 0) diffs.push(name);
  }
  return diffs;
}

const MODELS = corpusOnnxModels();

test('the npm corpus has its ONNX models', () => {
  expect(MODELS.length).toBeGreaterThanOrEqual(20);
});

test.each(MODELS.map((m) => [path.relative(NPM_CORPUS, m), m]))('%s runs the same before and after the round trip', async (_, file) => {
  const model = readOnnx(file);
  const feeds: NamedTensors = {};
  model.graph.inputs.filter((v) => v.const === undefined).forEach((v, i) => (feeds[v.name] = feedFor(v, i + 1)));
  const copied = path.join(dir, 'copied.onnx');
  writeOnnxFile(readOnnx(file), copied);
  const reencoded = path.join(dir, 'reencoded.onnx');
  writeOnnxFile(model, reencoded, {}, { reencode: true });
  const before = await ort.run(file, feeds);
  expect(Object.keys(before).length).toBeGreaterThan(0);
  expect(sameBits(before, await ort.run(copied, feeds))).toEqual([]);
  expect(sameBits(before, await ort.run(reencoded, feeds))).toEqual([]);
});
