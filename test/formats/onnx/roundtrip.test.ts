import * as fs from 'node:fs';
import * as path from 'node:path';
import { readOnnx } from '../../../src/formats/onnx';
import { Encoder } from '../../../src/formats/onnx/encode';
import { ModelRec } from '../../../src/formats/onnx/records';
import { tempDir } from '../../helpers/corpus';
import { allOnnxModels, pythonCheck, writeOnnxFile } from '../../helpers/onnx-files';

// Every libonnx-testdata model and every corpus model, read and written back:
// once as the CLI does (unchanged elements copied) and once with every graph,
// node, attribute, tensor and value info encoded again from the IR, which
// must reproduce the reference serializer's bytes exactly.
const MODELS = allOnnxModels();
const dir = tempDir('onnx-roundtrip-');
const reencoded: [string, string][] = [];

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the model set is there (libonnx-testdata and the npm corpus)', () => {
  expect(MODELS.filter((m) => m.includes('libonnx-testdata')).length).toBeGreaterThan(1000);
  expect(MODELS.filter((m) => m.includes('.corpus')).length).toBeGreaterThanOrEqual(20);
});

test('every model is written back byte for byte: untouched, decoded, and re-encoded from the IR', () => {
  const differ: string[] = [];
  MODELS.forEach((file, i) => {
    const original = fs.readFileSync(file);
    const copied = path.join(dir, `${i}.copy.onnx`);
    // Untouched: the graph is never decoded, the input bytes go out as they are.
    const untouched = readOnnx(file);
    writeOnnxFile(untouched, copied);
    expect((untouched.native as ModelRec).graphDecoded).toBe(false);
    if (!original.equals(fs.readFileSync(copied))) differ.push(`copy ${file}`);
    // Decoded into the IR but not changed: every element is found unchanged and copied.
    const looked = readOnnx(file);
    const encoder = new Encoder({ mode: 'keep', threshold: 1024, dataLocation: 'x.data', file: copied });
    if (![...looked.allGraphs()].every((g) => encoder.graphSame(g))) differ.push(`seen as changed ${file}`);
    writeOnnxFile(looked, copied);
    if (!original.equals(fs.readFileSync(copied))) differ.push(`decoded ${file}`);
    fs.rmSync(copied);
    const again = path.join(dir, `${i}.onnx`);
    const model = readOnnx(file);
    void model.graph; // decode the whole graph, so nothing is copied as an undecoded block
    writeOnnxFile(model, again, {}, { reencode: true });
    if (!original.equals(fs.readFileSync(again))) differ.push(`re-encode ${file}`);
    reencoded.push([file, again]);
  });
  expect(differ).toEqual([]);
});

test('python onnx decodes each re-encoded file to a message equal to the original, and its checker agrees', () => {
  expect(reencoded.length).toBe(MODELS.length);
  const results = pythonCheck(reencoded, dir);
  expect(results.length).toBe(reencoded.length);
  const notEqual = reencoded.filter((_, i) => !results[i]!.equal).map(([f]) => f);
  expect(notEqual).toEqual([]);
  // The checker must accept every written file it accepts as the original; list the ones it rejects both ways.
  const regressions = reencoded.filter((_, i) => results[i]!.checker_written !== results[i]!.checker_original).map(([f]) => f);
  expect(regressions).toEqual([]);
  const rejected = results.filter((r) => r.checker_original !== null).length;
  expect(rejected).toBeLessThan(MODELS.length / 20);
});
