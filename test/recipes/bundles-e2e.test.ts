/**
 * The target bundles on real models: what fires, that the result is written,
 * read back and runs, and how far its outputs move.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import '../../src/actions';
import { readModel, writeModel } from '../../src/formats';
import { loadBundle, PACKS_DIR } from '../../src/recipe/bundle';
import { applyBundle } from '../../src/recipe/run';
import { compareOutputs, diffLines, onnxBackend, randomInputs } from '../../src/ruletest';
import { printModel } from '../../src/ir/text/print';
import { corpusOnnxModels, SHARED, tempDir } from '../helpers/corpus';

const work = tempDir('bundles-e2e-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const rewrites = (report: ReturnType<typeof applyBundle>, id: string): number => report.rules.find((r) => r.id === id)?.rewrites ?? 0;

test('tensorrt bundle on PaddleOCR cls (ONNX opset 9): BatchNorms folded, batch fixed, outputs within 1e-4 in onnxruntime', async () => {
  const file = corpusOnnxModels().find((f) => f.endsWith('ch_ppocr_mobile_v2.0_cls_infer.onnx'));
  expect(file).toBeDefined();
  const before = readModel(file!);
  const model = readModel(file!);
  const report = applyBundle(model, loadBundle([path.join(PACKS_DIR, 'tensorrt.yaml')]));
  expect(rewrites(report, 'batchnorm-to-mul-add')).toBe(35);
  expect(rewrites(report, 'fix-batch')).toBeGreaterThan(0);
  expect(report.rules.flatMap((r) => r.refused)).toEqual([]);
  expect(model.graph.nodes.filter((n) => n.op === 'BatchNormalization')).toHaveLength(0);
  expect(model.graph.inputs[0]!.shape?.[0]).toBe(1);
  const spec = { seed: 21, range: [0, 1] as [number, number], inputs: {}, dims: { 'p2o.DynamicDimension.1': 48, 'p2o.DynamicDimension.2': 192 }, shapes: {}, tolerance: 1e-4, rtol: 1e-4, mismatch: 0, expect: 'same' as const };
  const run = await onnxBackend.run(before, model, randomInputs(before.graph, spec), work);
  const cmp = compareOutputs(run, spec);
  console.log(`tensorrt bundle on PaddleOCR cls: max |diff| ${cmp.maxAbsDiff}`);
  expect(cmp.problem).toBeUndefined();
});

test('tensorrt bundle on Silero VAD v5 (ONNX opset 16, If subgraphs): constants folded, outputs unchanged in onnxruntime', async () => {
  const file = corpusOnnxModels().find((f) => f.endsWith('silero_vad_v5.onnx'));
  expect(file).toBeDefined();
  const before = readModel(file!);
  const model = readModel(file!);
  const report = applyBundle(model, loadBundle([path.join(PACKS_DIR, 'tensorrt.yaml')]));
  expect(rewrites(report, 'fold-unsqueeze-onnx')).toBeGreaterThan(0);
  // Identities that name graph outputs (of the model and of If branches) are not matches: nothing is refused.
  const refused = report.rules.flatMap((r) => r.refused.map((x) => ({ rule: r.id, ...x })));
  expect(refused).toEqual([]);
  const spec = {
    seed: 22, range: [-1, 1] as [number, number], inputs: { sr: [16000, 16000] as [number, number] }, dims: {},
    shapes: { input: [1, 512], state: [2, 1, 128] }, tolerance: 1e-5, rtol: 1e-4, mismatch: 0, expect: 'same' as const,
  };
  const run = await onnxBackend.run(before, model, randomInputs(before.graph, spec), work);
  const cmp = compareOutputs(run, spec);
  console.log(`tensorrt bundle on Silero VAD v5: ${rewrites(report, 'fold-unsqueeze-onnx')} Unsqueeze folded, max |diff| ${cmp.maxAbsDiff}`);
  expect(cmp.problem).toBeUndefined();
});

const DEEPLAB = path.join(SHARED, 'corpus/google-coral/test_data/deeplabv3_mnv2_dm05_pascal_quant.tflite');

(fs.existsSync(DEEPLAB) ? test : test.skip)('edgetpu bundle on DeepLab v3 (TFLite, quantized): align_corners turned off, nothing else changes', () => {
  const model = readModel(DEEPLAB);
  const report = applyBundle(model, loadBundle([path.join(PACKS_DIR, 'edgetpu.yaml')]));
  const changed = rewrites(report, 'resize-bilinear-align-corners-off');
  expect(changed).toBeGreaterThan(0);
  const out = path.join(work, 'deeplab-edgetpu.tflite');
  writeModel(model, out);
  const back = readModel(out);
  const resizes = back.graph.nodes.filter((n) => n.op === 'RESIZE_BILINEAR');
  expect(resizes.filter((n) => n.attr('align_corners')?.value === true)).toHaveLength(0);
  expect(resizes.filter((n) => n.attr('align_corners')?.value === false).length).toBeGreaterThanOrEqual(changed);
  // Only the changed resize lines differ in the graph text: nothing else moved.
  const diff = diffLines(printModel(readModel(DEEPLAB)), printModel(back), 0).split('\n').filter((l) => l.startsWith('-') || l.startsWith('+'));
  expect(diff).toHaveLength(2 * changed);
  expect(diff.every((l) => l.includes('RESIZE_BILINEAR'))).toBe(true);
  // No runtime here runs this model (int64 ArgMax output: LiteRT.js cannot return it, ArmNN has no ARG_MAX),
  // so its outputs are not compared; the numeric effect of the flag is in recipes/resize/align-corners.test.yaml.
});
