/**
 * End to end on real ONNX models: the core BatchNorm -> Mul+Add recipe applied
 * through `recipe apply`, the result read back, and both models run in
 * onnxruntime-node on the same seeded inputs.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import type { Io } from '../../src/cli/command';
import { readModel } from '../../src/formats';
import type { Model } from '../../src/ir';
import { corpusOnnxModels, ONNX_TESTDATA, ROOT, tempDir } from '../helpers/corpus';

const out = tempDir('recipe-e2e-');
const BN_RECIPE = path.join(ROOT, 'recipes/core/batchnorm.yaml');

function captureIo(): Io & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', interactive: false, out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
  return io;
}

function countOps(model: Model, op: string): number {
  let n = 0;
  for (const g of model.allGraphs()) for (const node of g.nodes) if (node.op === op) n++;
  return n;
}

interface Comparison {
  name: string;
  shape: number[];
  maxAbsDiff: number;
  maxAbsRef: number;
  mismatchedShape: boolean;
}

/** Runs both models in onnxruntime-node (child process) on seeded inputs of the given shapes. */
function compareInOrt(before: string, after: string, feeds: Record<string, number[]>): Comparison[] {
  const input = JSON.stringify({
    before,
    after,
    feeds: Object.fromEntries(Object.entries(feeds).map(([name, shape], i) => [name, { shape, seed: 7 + i, range: [-2, 2] }])),
  });
  const stdout = execFileSync(process.execPath, [path.join(__dirname, 'helpers/ort-compare.js')], { input, cwd: ROOT, maxBuffer: 1 << 26 });
  return JSON.parse(stdout.toString('utf8')) as Comparison[];
}

/** Input shapes from the model's declaration, dynamic dimensions replaced in order by `dynamic`. */
function feedShapes(model: Model, dynamic: number[]): Record<string, number[]> {
  const feeds: Record<string, number[]> = {};
  let next = 0;
  for (const v of model.graph.inputs) {
    if (v.const) continue;
    feeds[v.name] = (v.shape ?? []).map((d) => (typeof d === 'number' && d > 0 ? d : dynamic[next++] ?? 1));
  }
  return feeds;
}

const results: string[] = [];
afterAll(() => {
  if (results.length) console.log(`BatchNorm -> Mul+Add, onnxruntime before/after:\n${results.join('\n')}`);
});

/** Applies the recipe with the CLI, checks the counts, and compares the outputs in onnxruntime. */
function applyAndCompare(file: string, dynamic: number[], expectRewrites: number | 'all'): void {
  const before = readModel(file);
  const bnBefore = countOps(before, 'BatchNormalization');
  const target = path.join(out, path.basename(path.dirname(file)) + '-' + path.basename(file));
  const io = captureIo();
  return void main(['apply', BN_RECIPE, file, '-o', target, '--report', 'json'], io).then((code) => {
    expect(io.stderr).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(io.stdout) as { rules: { id: string; rewrites: number; refused: unknown[] }[] };
    const wanted = expectRewrites === 'all' ? bnBefore : expectRewrites;
    expect(report.rules.reduce((n, r) => n + r.rewrites, 0)).toBe(wanted);
    expect(report.rules.flatMap((r) => r.refused)).toEqual([]);
    const after = readModel(target);
    expect(countOps(after, 'BatchNormalization')).toBe(bnBefore - wanted);
    expect(countOps(after, 'Mul') - countOps(before, 'Mul')).toBe(wanted);
    expect(after.graph.outputs.map((v) => v.name)).toEqual(before.graph.outputs.map((v) => v.name));
    expect(JSON.parse(after.getMetadata('recipe.applied')!)).toEqual([{ name: 'core/batchnorm', version: '1.2.0', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    const comparisons = compareInOrt(file, target, feedShapes(before, dynamic));
    for (const c of comparisons) {
      expect(c.mismatchedShape).toBe(false);
      expect(c.maxAbsDiff).toBeLessThanOrEqual(1e-5 * Math.max(1, c.maxAbsRef));
      results.push(`  ${path.basename(file)} [${c.name} ${c.shape.join('x')}]: ${wanted}/${bnBefore} BatchNormalization rewritten, max abs diff ${c.maxAbsDiff.toExponential(2)} (max |ref| ${c.maxAbsRef.toPrecision(3)})`);
    }
  });
}

describe('PaddleOCR models (statistics in Constant nodes)', () => {
  const models = corpusOnnxModels().filter((f) => /ppocr|PP-OCR/i.test(f));
  it('finds the three models', () => {
    expect(models.map((f) => path.basename(f)).sort()).toEqual(['ch_PP-OCRv4_det_infer.onnx', 'ch_PP-OCRv4_rec_infer.onnx', 'ch_ppocr_mobile_v2.0_cls_infer.onnx']);
  });
  const by = (part: string): string => models.find((f) => f.includes(part))!;
  it('cls: every BatchNormalization becomes Mul + Add, outputs unchanged', async () => {
    await applyAndCompare(by('cls'), [1, 48, 192], 'all');
  });
  it('rec: every BatchNormalization becomes Mul + Add, outputs unchanged', async () => {
    await applyAndCompare(by('rec'), [1, 320], 'all');
  });
  it('det: every BatchNormalization becomes Mul + Add (the one after ConvTranspose + bias has its rank from upstream), outputs unchanged', async () => {
    await applyAndCompare(by('det'), [1, 64, 64], 'all');
  });
});

describe('libonnx-testdata models', () => {
  const dir = path.join(ONNX_TESTDATA, 'pytorch-converted');
  const cases = ['test_BatchNorm1d_3d_input_eval', 'test_BatchNorm2d_eval', 'test_BatchNorm2d_momentum_eval', 'test_BatchNorm3d_eval', 'test_BatchNorm3d_momentum_eval'];

  // onnxruntime runs no opset 6, and onnx's version converter misplaces an
  // `axis` broadcast: legacy-broadcast-eval.py evaluates the rewritten Mul and
  // Add as opset 6 defines them, on the case's input, against the output
  // PyTorch recorded.
  it.each(cases)('%s (opset 6): rewritten with broadcast Mul + Add, checked by onnx, the expected outputs', async (name) => {
    const original = path.join(dir, name, 'model.onnx');
    const rewritten = path.join(out, `${name}-opset6.onnx`);
    const io = captureIo();
    expect(await main(['apply', BN_RECIPE, original, '-o', rewritten], io)).toBe(0);
    expect(io.stdout).toMatch(/batchnorm-to-mul-add-opset6 +1 +1 +1 +0/);
    const model = readModel(rewritten);
    expect(model.opsets.map((o) => [o.domain, o.version])).toEqual([['', 6]]);
    expect(model.graph.nodes.map((n) => n.op)).toEqual(['Mul', 'Add']);
    execFileSync('/usr/bin/python3', ['-c', 'import sys, onnx; onnx.checker.check_model(onnx.load(sys.argv[1]))', rewritten]);
    const diff = Number(execFileSync('/usr/bin/python3', [path.join(__dirname, 'legacy-broadcast-eval.py'), rewritten, path.join(dir, name, 'test_data_set_0')]).toString());
    expect(diff).toBeLessThanOrEqual(1e-5);
    results.push(`  ${name} (opset 6, against the recorded output): max abs diff ${diff.toExponential(2)}`);
  });

  // onnxruntime runs no opset-6 BatchNormalization: the same models, moved to
  // opset 13 by onnx's version converter, are what gets compared.
  it.each(cases)('%s (converted to opset 13): rewritten, outputs unchanged', async (name) => {
    const converted = path.join(out, `${name}-opset13.onnx`);
    execFileSync('/usr/bin/python3', ['-c', CONVERT, path.join(dir, name, 'model.onnx'), converted]);
    await applyAndCompare(converted, [], 'all');
  });

  it('test_batchnorm_example: statistics are graph inputs, so nothing changes, and --explain says why', async () => {
    const file = path.join(ONNX_TESTDATA, 'node/test_batchnorm_example/model.onnx');
    const io = captureIo();
    const code = await main(['apply', BN_RECIPE, file, '--dry-run', '--explain', 'batchnorm-to-mul-add'], io);
    expect(code).toBe(0);
    expect(io.stdout).toMatch(/batchnorm-to-mul-add +1 +0 +0 +0/);
    expect(io.stdout).toMatch(/near miss at BatchNormalization '.*': .*const/);
    expect(io.stdout).toMatch(/dry run: nothing written/);
  });
});

const CONVERT = [
  'import sys, onnx',
  'from onnx import version_converter',
  'onnx.save(version_converter.convert_version(onnx.load(sys.argv[1]), 13), sys.argv[2])',
].join('\n');

