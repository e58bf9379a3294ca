import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeTensorProto, readOnnx } from '../../../src/formats/onnx';
import type { Tensor } from '../../../src/ir/tensor';
import { compareTensors, type NamedTensors } from '../../../src/verify/onnxruntime';
import { ONNX_TESTDATA, tempDir } from '../../helpers/corpus';
import { testdataModels, writeOnnxFile } from '../../helpers/onnx-files';
import { OrtChild } from '../../helpers/onnx-ort';

// Each libonnx-testdata model runs with its test_data_set_* in onnxruntime-node
// before the round trip (the original file) and after it (the model encoded
// again from the IR). What onnxruntime itself cannot run, or runs to other
// numbers than the expected outputs, is listed with the reason in
// ort-skips.txt; the test fails when that list changes (rewrite it with
// RECIPE_UPDATE_ORT_SKIPS=1 after checking why). Outputs after the round trip
// must equal the outputs before it bit for bit.
const SKIPS_FILE = path.join(__dirname, 'ort-skips.txt');
const TOLERANCE = { rtol: 1e-3, atol: 1e-5 };
const dir = tempDir('onnx-ort-');
const ort = new OrtChild();
afterAll(() => {
  ort.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function readPb(file: string): { name: string; tensor: Tensor } {
  return decodeTensorProto(fs.readFileSync(file), { file, dir: path.dirname(file) });
}

function dataSets(modelDir: string): string[] {
  return fs.readdirSync(modelDir).filter((d) => d.startsWith('test_data_set_')).sort().map((d) => path.join(modelDir, d));
}

function numbered(setDir: string, prefix: string): string[] {
  return fs.readdirSync(setDir).filter((f) => f.startsWith(prefix) && f.endsWith('.pb'))
    .sort((a, b) => Number(a.slice(prefix.length, -3)) - Number(b.slice(prefix.length, -3))).map((f) => path.join(setDir, f));
}

function sameBits(a: NamedTensors, b: NamedTensors): string | undefined {
  for (const [name, t] of Object.entries(a)) {
    const u = b[name];
    if (!u) return `output '${name}' missing after`;
    if (t.dtype !== u.dtype || t.shape.join() !== u.shape.join() || Buffer.compare(t.data.bytes(), u.data.bytes()) !== 0) return `output '${name}' differs`;
  }
  return undefined;
}

test('libonnx-testdata models give their expected outputs in onnxruntime, the same before and after the round trip', async () => {
  const skips = new Map<string, string>();
  const failures: string[] = [];
  let ran = 0;
  for (const [i, file] of testdataModels().entries()) {
    const id = path.relative(ONNX_TESTDATA, path.dirname(file));
    const model = readOnnx(file);
    const g = model.graph;
    const fed = g.inputs.filter((v) => v.const === undefined);
    if ([...fed, ...g.outputs].some((v) => v.dtype === undefined)) {
      skips.set(id, 'an input or output is a sequence, map or optional, not a tensor');
      continue;
    }
    const after = path.join(dir, `${i}.onnx`);
    writeOnnxFile(model, after, {}, { reencode: true });
    for (const set of dataSets(path.dirname(file))) {
      const feeds: NamedTensors = {};
      numbered(set, 'input_').forEach((pb, k) => {
        const { name, tensor } = readPb(pb);
        feeds[name || fed[k]!.name] = tensor;
      });
      const expected: NamedTensors = {};
      numbered(set, 'output_').forEach((pb, k) => {
        const { name, tensor } = readPb(pb);
        expected[name || g.outputs[k]!.name] = tensor;
      });
      let before: NamedTensors;
      try {
        before = await ort.run(file, feeds);
      } catch (e) {
        skips.set(id, `onnxruntime: ${String((e as Error).message).split('\n')[0]!.slice(0, 160)}`);
        break;
      }
      const mismatch = Object.entries(expected)
        .map(([name, t]) => (before[name] ? compareTensors(before[name]!, t, TOLERANCE) : { ok: false, reason: `no output '${name}'` }))
        .find((c) => !c.ok);
      if (mismatch) {
        skips.set(id, `onnxruntime's output differs from the expected one: ${mismatch.reason}`);
        break;
      }
      const again = await ort.run(after, feeds);
      const diff = sameBits(before, again);
      if (diff) failures.push(`${id}: ${diff}`);
      ran++;
    }
    fs.rmSync(after);
  }
  expect(failures).toEqual([]);
  const lines = [...skips].sort(([a], [b]) => a.localeCompare(b)).map(([id, why]) => `${id}\t${why}`);
  if (process.env.RECIPE_UPDATE_ORT_SKIPS) fs.writeFileSync(SKIPS_FILE, lines.join('\n') + '\n');
  const listed = fs.readFileSync(SKIPS_FILE, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\t')[0]);
  expect([...skips.keys()].sort()).toEqual(listed.sort());
  expect(ran).toBeGreaterThan(800);
}, 900_000);
