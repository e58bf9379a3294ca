import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../../src/cli/main';
import { readModel, writeModel } from '../../../src/formats';
import { runLiteRt } from '../../../src/verify/litert';
import { corpusTfliteModels, tempDir } from '../../helpers/corpus';
import { PYTHON } from '../../helpers/onnx-files';

// TFLite's metadata writer packs a model's associated files (a label map, a
// vocabulary) into a zip appended to the .tflite; zip readers find it from
// the end of the file, wherever it starts.

const work = tempDir('recipe-tflite-appended-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const model = corpusTfliteModels().find((f) => f.endsWith('selfie_segmentation.tflite'))!;

/** The model with a zip holding labels.txt appended, as Python's zipfile appends one to a file. */
function withAppendedZip(name: string): string {
  const file = path.join(work, name);
  fs.copyFileSync(model, file);
  execFileSync(PYTHON, ['-c', "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'a') as z: z.writestr('labels.txt', 'background\\nperson\\n')", file]);
  return file;
}

/** What Python's zipfile reads as `name` in `file`. */
function zipped(file: string, name = 'labels.txt'): string {
  return execFileSync(PYTHON, ['-c', "import sys, zipfile\nprint(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode(), end='')", file, name]).toString();
}

const io = { out: () => undefined, err: () => undefined, interactive: false };

test('an untouched model with an appended zip is copied byte for byte', async () => {
  const file = withAppendedZip('copied.tflite');
  expect(fs.statSync(file).size).toBeGreaterThan(fs.statSync(model).size);
  const out = path.join(work, 'copied-out.tflite');
  expect(await main(['copy', file, '-o', out], io)).toBe(0);
  expect(Buffer.compare(fs.readFileSync(out), fs.readFileSync(file))).toBe(0);
});

test('a rewritten model keeps the appended zip at its end: the labels still read, and the model still runs', async () => {
  const file = withAppendedZip('applied.tflite');
  const zip = fs.readFileSync(file).subarray(fs.statSync(model).size);
  const out = path.join(work, 'applied-out.tflite');
  // The applied recipe is recorded in the model's metadata: its tables change and it is encoded anew.
  expect(await main(['apply', 'recipes/edgetpu.yaml', file, '-o', out], io)).toBe(0);
  const written = fs.readFileSync(out);
  expect(Buffer.compare(written, fs.readFileSync(file))).not.toBe(0);
  expect(Buffer.compare(written.subarray(written.byteLength - zip.byteLength), zip)).toBe(0);
  expect(zipped(out)).toBe('background\nperson\n');
  expect(readModel(out).getMetadata('recipe.applied')).toContain('edgetpu');
  const [a, b] = runLiteRt([{ model, seed: 3 }, { model: out, inputsFrom: 0 }]);
  expect(a?.error).toBeUndefined();
  expect(b?.error).toBeUndefined();
  // The bundle writes the model's HARD_SWISH out as ADD, RELU6 and two MULs (hardswish-decompose-tflite): float32 rounding apart, the same outputs.
  a?.outputs.forEach((o, k) => {
    const before = new Float32Array(o.data.buffer, o.data.byteOffset, o.data.byteLength / 4);
    const after = b!.outputs[k]!.data;
    const afterF = new Float32Array(after.buffer, after.byteOffset, after.byteLength / 4);
    expect(afterF.length).toBe(before.length);
    expect(before.reduce((worst, x, i) => Math.max(worst, Math.abs(x - afterF[i]!)), 0)).toBeLessThan(1e-5);
  });
});

test('zero bytes after the tables are padding, not kept when the model is encoded anew', () => {
  const padded = path.join(work, 'padded.tflite');
  fs.writeFileSync(padded, Buffer.concat([fs.readFileSync(model), Buffer.alloc(64)]));
  const plain = readModel(model);
  const withPadding = readModel(padded);
  for (const m of [plain, withPadding]) m.setMetadata('note', 'changed');
  const a = path.join(work, 'plain-out.tflite');
  const b = path.join(work, 'padded-out.tflite');
  writeModel(plain, a);
  writeModel(withPadding, b);
  expect(Buffer.compare(fs.readFileSync(b), fs.readFileSync(a))).toBe(0);
});

test("Coral's MobileNet v2 with its ImageNet labels appended: rewritten for the EdgeTPU, the labels are still there", async () => {
  const file = corpusTfliteModels().find((f) => f.endsWith('tf2_mobilenet_v2_1.0_224_ptq.tflite'))!;
  const labels = zipped(file, 'imagenet_labels.txt');
  expect(labels.split('\n').length).toBeGreaterThan(1000);
  const out = path.join(work, 'mobilenet-edgetpu.tflite');
  expect(await main(['apply', 'edgetpu', file, '-o', out], io)).toBe(0);
  expect(Buffer.compare(fs.readFileSync(out), fs.readFileSync(file))).not.toBe(0);
  expect(zipped(out, 'imagenet_labels.txt')).toBe(labels);
});
