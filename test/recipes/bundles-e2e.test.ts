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
import { compareOutputs, diffLines, onnxBackend, randomInputs, tfliteBackend } from '../../src/ruletest';
import { printModel } from '../../src/ir/text/print';
import { parseModel } from '../../src/ir/text/parse';
import type { Graph, Value } from '../../src/ir/graph';
import { constantOf } from '../../src/formats/onnx/shapes';
import { corpusOnnxModels, corpusTfliteModels, SHARED, tempDir } from '../helpers/corpus';

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

/** The scalar a value holds (an initializer or a Constant node's output), if it is one. */
function scalarOf(v: Value | null): number | undefined {
  const t = constantOf(v);
  return t && t.size === 1 ? t.toFloat64()[0] : undefined;
}

/**
 * The HardSwish products x * Clip(x + 3, 0, 6) / 6 that OpenVINO's
 * HSwishFusionWithClamp takes (Clip's max exactly 6), by their Div node, and
 * their divisors. Counted here from the graph, independently of the rules.
 */
function divHardSwishes(graph: Graph): { clipMax: number; divisor: number }[] {
  const found: { clipMax: number; divisor: number }[] = [];
  for (const div of graph.nodes) {
    if (div.op !== 'Div') continue;
    const mul = div.input(0)?.producer;
    if (mul?.op !== 'Mul') continue;
    for (const [xi, ci] of [[0, 1], [1, 0]] as const) {
      const clip = mul.input(ci)?.producer;
      const add = clip?.op === 'Clip' ? clip.input(0)?.producer : undefined;
      if (add?.op !== 'Add') continue;
      const x = mul.input(xi);
      const three = add.input(0) === x ? add.input(1) : add.input(1) === x ? add.input(0) : undefined;
      if (!three || scalarOf(three) !== 3) continue;
      // A float attribute is float32 in the file.
      const clipMax = clip!.inputs.length > 2 ? scalarOf(clip!.input(2)) : Math.fround(Number(clip!.attr('max')?.value));
      found.push({ clipMax: clipMax ?? NaN, divisor: scalarOf(div.input(1)) ?? NaN });
    }
  }
  return found;
}

const F32_ABOVE_6 = Math.fround(6.0000005);
const F32_BELOW_6 = Math.fround(5.9999995);

describe.each([
  ['PaddleOCR cls, opset 9 (Clip bounds as attributes)', 'ch_ppocr_mobile_v2.0_cls_infer.onnx', 18, { 'p2o.DynamicDimension.1': 48, 'p2o.DynamicDimension.2': 192 }],
  ['PaddleOCR v4 det, opset 11 (Clip bounds as inputs)', 'ch_PP-OCRv4_det_infer.onnx', 24, { 'p2o.DynamicDimension.1': 64, 'p2o.DynamicDimension.2': 64 }],
])('hardswish pack on %s: paddle2onnx writes x * Clip(x + 3, 0, 6) / 6', (_label, name, count, dims) => {
  test.each([
    ['default', { divisor: F32_ABOVE_6, clipMax: 6 }],
    ['myriad', { divisor: 6, clipMax: F32_BELOW_6 }],
  ] as const)('target %s: every one nudged, outputs unchanged in onnxruntime', async (target, nudged) => {
    const file = corpusOnnxModels().find((f) => f.endsWith(name));
    expect(file).toBeDefined();
    const before = readModel(file!);
    expect(divHardSwishes(before.graph)).toEqual(Array.from({ length: count }, () => ({ clipMax: 6, divisor: 6 })));
    const model = readModel(file!);
    applyBundle(model, loadBundle([path.join(PACKS_DIR, 'hardswish')]), { target });
    expect(divHardSwishes(model.graph)).toEqual(Array.from({ length: count }, () => nudged));
    const spec = { seed: 23, range: [0, 1] as [number, number], inputs: {}, dims: { 'p2o.DynamicDimension.0': 1, ...dims }, shapes: {}, tolerance: 1e-5, rtol: 1e-5, mismatch: 0, expect: 'same' as const };
    const cmp = compareOutputs(await onnxBackend.run(before, model, randomInputs(before.graph, spec), work), spec);
    console.log(`hardswish pack (${target}) on ${name}: ${count} nudged, max |diff| ${cmp.maxAbsDiff}`);
    expect(cmp.problem).toBeUndefined();
  });
});

test('edgetpu bundle on MediaPipe selfie segmentation (TFLite, float32): every HARD_SWISH written out nudged, output unchanged in LiteRT.js', async () => {
  const file = corpusTfliteModels().find((f) => f.endsWith('/selfie_segmentation.tflite'));
  expect(file).toBeDefined();
  const before = readModel(file!);
  const model = readModel(file!);
  const hardSwishes = before.graph.nodes.filter((n) => n.op === 'HARD_SWISH').length;
  expect(hardSwishes).toBe(11);
  const report = applyBundle(model, loadBundle([path.join(PACKS_DIR, 'edgetpu.yaml')]));
  expect(rewrites(report, 'hardswish-decompose-tflite')).toBe(hardSwishes);
  expect(model.graph.nodes.filter((n) => n.op === 'HARD_SWISH')).toHaveLength(0);
  // Each became ADD, RELU6 and two MULs, the last by the nudged 0.16666666, which the nudge rule leaves alone.
  const scales = model.graph.nodes.filter((n) => n.op === 'MUL').map((n) => scalarOf(n.input(1))).filter((k) => k !== undefined && k < 0.2);
  expect(scales).toEqual(Array.from({ length: hardSwishes }, () => Math.fround(0.16666666)));
  expect(rewrites(report, 'hardswish-nudge-tflite')).toBe(0);
  const spec = { seed: 24, range: [-1, 1] as [number, number], inputs: {}, dims: {}, shapes: {}, tolerance: 1e-5, rtol: 1e-4, mismatch: 0, expect: 'same' as const };
  const cmp = compareOutputs(await tfliteBackend.run(before, model, randomInputs(before.graph, spec), work), spec);
  console.log(`edgetpu bundle on selfie segmentation: ${hardSwishes} HARD_SWISH written out, max |diff| ${cmp.maxAbsDiff}`);
  expect(cmp.problem).toBeUndefined();
});

// A detection head's grid, as PyTorch exports it for an open height and width:
// Range over the width read from Shape, expanded to [h, w], cast to float.
const GRID_FROM_SHAPE = `
model onnx
opsets ai.onnx:17
graph main
  in x: float32[1, 1, h, w]
  const i2: int64[] = [2]
  const i3: int64[] = [3]
  const zero: int64[] = [0]
  const one: int64[] = [1]
  const ax: int64[1] = [0]
  shape: s: int64[4] = Shape(x)
  gh: ht: int64[] = Gather(s, i2) {axis: 0}
  gw: wd: int64[] = Gather(s, i3) {axis: 0}
  range: cols: int64[w] = Range(zero, wd, one)
  uh: ht1: int64[1] = Unsqueeze(ht, ax)
  uw: wd1: int64[1] = Unsqueeze(wd, ax)
  hw: hw: int64[2] = Concat(ht1, wd1) {axis: 0}
  expand: grid: int64[h, w] = Expand(cols, hw)
  cast: gridf: float32[h, w] = Cast(grid) {to: 1}
  add: y: float32[1, 1, h, w] = Add(x, gridf)
  out y
`;

test.each(['tensorrt', 'myriad'])("%s bundle: what the shape pack's fixed sizes make constant is folded by the range passes before it (a grid from Shape)", async (bundle) => {
  const before = parseModel(GRID_FROM_SHAPE);
  const model = parseModel(GRID_FROM_SHAPE);
  const report = applyBundle(model, loadBundle([path.join(PACKS_DIR, `${bundle}.yaml`)], { overrides: ['fix-height-width={enabled: true, options: {dims: {h: 4, w: 6}}}'] }));
  expect(rewrites(report, 'fold-shapes')).toBeGreaterThan(0);
  expect(rewrites(report, 'fold-expand-onnx')).toBe(1);
  // Shape, Gather, Range, Unsqueeze, Concat, Expand and Cast are one constant now.
  expect(model.graph.nodes.map((n) => n.op)).toEqual(['Add']);
  const spec = { seed: 25, range: [-1, 1] as [number, number], inputs: {}, dims: { h: 4, w: 6 }, shapes: {}, tolerance: 0, rtol: 0, mismatch: 0, expect: 'same' as const };
  const cmp = compareOutputs(await onnxBackend.run(before, model, randomInputs(before.graph, spec), work), spec);
  expect(cmp.problem).toBeUndefined();
});
