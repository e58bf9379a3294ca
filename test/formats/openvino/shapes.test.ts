/**
 * fix-shape on OpenVINO IR: the fixed batch is carried through the layers, so
 * that no port after a fixed Parameter stays at -1. Oracle: the IR translated
 * to ONNX (recipe verify's translation) and run in onnxruntime, which gives
 * the shapes it computes, not the ones the file declares.
 */
import * as path from 'node:path';
import '../../../src/actions';
import { readModel, writeModel } from '../../../src/formats';
import type { Value } from '../../../src/ir/graph';
import { findAction } from '../../../src/rewrite/actions';
import { runOnnxRuntime } from '../../../src/verify/onnx-child';
import { openvinoToOnnx } from '../../../src/verify/openvino-onnx';
import { seededFloats } from '../../e2e/helpers';
import { SHARED, tempDir } from '../../helpers/corpus';
import { newOvModel, ovConst, ovOp, ovParam } from '../../helpers/openvino-build';
import { openvinoComputedTargets } from '../../helpers/computed-targets';

const work = tempDir('openvino-shapes-');
const fixShape = findAction('fix-shape')!;

test('a fixed batch of 2 reaches every port, with the shapes onnxruntime computes from the translated IR', () => {
  const model = newOvModel('chain');
  const g = model.graph;
  const x = ovParam(g, 'x', [1, 3, 10, 10]);
  x.shape = [null, 3, 10, 10];
  const open = (rank: number): number[] => [-1, ...Array<number>(rank - 1).fill(-1)];
  const window = { strides: '2,2', pads_begin: '1,1', pads_end: '1,1', dilations: '1,1', auto_pad: 'explicit' };
  const conv = ovOp(g, 'Convolution', 'opset1', [x, ovConst(g, 'w', 'float32', [4, 3, 3, 3], seededFloats(108, 1, -0.5, 0.5))], [open(4)], window, 'conv');
  const gconv = ovOp(g, 'GroupConvolution', 'opset1', [conv.output(0), ovConst(g, 'gw', 'float32', [2, 2, 2, 3, 3], seededFloats(72, 2, -0.5, 0.5))], [open(4)], { ...window, strides: '1,1' }, 'gconv');
  const pool = ovOp(g, 'MaxPool', 'opset1', [gconv.output(0)], [open(4)], { kernel: '2,2', strides: '2,2', pads_begin: '0,0', pads_end: '0,0', rounding_type: 'floor', auto_pad: 'explicit' }, 'pool');
  const flat = ovOp(g, 'Reshape', 'opset1', [pool.output(0), ovConst(g, 'to', 'int64', [2], [0, -1])], [open(2)], { special_zero: 'true' }, 'flat');
  const mm = ovOp(g, 'MatMul', 'opset1', [flat.output(0), ovConst(g, 'm', 'float32', [5, 16], seededFloats(80, 3, -0.2, 0.2))], [open(2)], { transpose_a: 'false', transpose_b: 'true' }, 'mm');
  const add = ovOp(g, 'Add', 'opset1', [mm.output(0), ovConst(g, 'b', 'float32', [1, 5], [0, 1, 2, 3, 4])], [open(2)], { auto_broadcast: 'numpy' }, 'add');
  for (const n of g.nodes) n.outputs.forEach((v) => (v.shape = v.shape!.map((d) => (d === -1 ? null : d))));
  g.outputs = [add.output(0), pool.output(0)];

  expect(fixShape.run(model, { batch: 2 }).summary).toBe('fixed 1 dimension(s); 6 tensor shape(s) follow');
  const file = path.join(work, 'chain.xml');
  writeModel(model, file);
  const back = readModel(file);
  const ours = back.graph.outputs.map((v) => v.shape);
  expect(ours).toEqual([[2, 5], [2, 4, 2, 2]]);
  expect(back.graph.nodes.flatMap((n) => n.outputs).every((v) => v.shape!.every((d) => typeof d === 'number'))).toBe(true);

  const onnx = path.join(work, 'chain.onnx');
  writeModel(openvinoToOnnx(back), onnx);
  const [run] = runOnnxRuntime([{ model: onnx, inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3, 10, 10], data: new Uint8Array(2 * 300 * 4) }] }]);
  expect(run!.error).toBeUndefined();
  expect(run!.outputs.map((t) => t.shape)).toEqual(ours);
});

test('a fixed batch follows where height and width stay open: the sizes that do not depend on them, as onnxruntime computes at two sizes', () => {
  const build = (spatial: number | null): ReturnType<typeof newOvModel> => {
    const model = newOvModel('open-image');
    const g = model.graph;
    const x = ovParam(g, 'x', [1, 3, 10, 10]);
    x.shape = [null, 3, spatial, spatial];
    const open = (rank: number): number[] => Array<number>(rank).fill(-1);
    const window = { strides: '2,2', pads_begin: '1,1', pads_end: '1,1', dilations: '1,1', auto_pad: 'explicit' };
    const conv = ovOp(g, 'Convolution', 'opset1', [x, ovConst(g, 'w', 'float32', [4, 3, 3, 3], seededFloats(108, 8, -0.5, 0.5))], [open(4)], window, 'conv');
    const pool = ovOp(g, 'MaxPool', 'opset1', [conv.output(0)], [open(4)], { kernel: '2,2', strides: '2,2', pads_begin: '0,0', pads_end: '0,0', rounding_type: 'floor', auto_pad: 'explicit' }, 'pool');
    const flat = ovOp(g, 'Reshape', 'opset1', [pool.output(0), ovConst(g, 'to', 'int64', [2], [0, -1])], [open(2)], { special_zero: 'true' }, 'flat');
    const mean = ovOp(g, 'ReduceMean', 'opset1', [pool.output(0), ovConst(g, 'axes', 'int64', [2], [2, 3])], [open(4)], { keep_dims: 'true' }, 'mean');
    for (const n of g.nodes) n.outputs.forEach((v) => (v.shape = v.shape!.map((d) => (d === -1 ? null : d))));
    g.outputs = [pool.output(0), flat.output(0), mean.output(0)];
    return model;
  };
  const model = build(null);
  expect(fixShape.run(model, { batch: 2 }).summary).toBe('fixed 1 dimension(s); 4 tensor shape(s) follow');
  const file = path.join(work, 'open-image.xml');
  writeModel(model, file);
  const ours = readModel(file).graph.outputs.map((v) => v.shape);
  expect(ours).toEqual([[2, 4, null, null], [2, null], [2, 4, 1, 1]]);

  const inferred = [10, 14].map((size) => {
    const fixed = build(size);
    fixShape.run(fixed, { batch: 2 });
    const onnx = path.join(work, `open-image-${size}.onnx`);
    writeModel(openvinoToOnnx(fixed), onnx);
    const [run] = runOnnxRuntime([{ model: onnx, inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3, size, size], data: new Uint8Array(2 * 3 * size * size * 4) }] }]);
    expect(run!.error).toBeUndefined();
    return run!.outputs.map((t) => t.shape);
  });
  const [small, large] = inferred as [number[][], number[][]];
  expect(ours).toEqual(small.map((shape, i) => shape.map((d, j) => (d === large[i]![j] ? d : null))));
});

test('a real IR (OpenVINO model server test data, f64, batch left open): the Add after the fixed Parameter follows', () => {
  const model = readModel(path.join(SHARED, 'corpus/openvinotoolkit/model_server/src/test/dummy_fp64/1/saved_model.xml'));
  expect(model.graph.inputs[0]!.shape).toEqual([null, 10]);
  expect(fixShape.run(model, { batch: 1 }).summary).toBe('fixed 1 dimension(s); 1 tensor shape(s) follow');
  expect(model.graph.outputs[0]!.shape).toEqual([1, 10]);
});

test('Pad, Tile, Gather, Broadcast, Interpolate-1, -4 (sizes and scales) and -11: the fixed batch follows, as onnxruntime computes', () => {
  const model = newOvModel('more');
  const g = model.graph;
  const x = ovParam(g, 'x', [1, 3, 6, 6]);
  x.shape = [null, 3, 6, 6];
  const i64 = (name: string, values: number[]) => ovConst(g, name, 'int64', [values.length], values);
  const open = (rank: number): number[] => Array<number>(rank).fill(-1);
  const padded = ovOp(g, 'Pad', 'opset1', [x, i64('pb', [0, 0, 1, 2]), i64('pe', [0, 0, 1, 0])], [open(4)], { pad_mode: 'constant' }, 'pad');
  const tiled = ovOp(g, 'Tile', 'opset1', [x, i64('reps', [1, 2, 1, 1])], [open(4)], {}, 'tile');
  const gathered = ovOp(g, 'Gather', 'opset8', [x, i64('idx', [0, 2]), ovConst(g, 'gaxis', 'int64', [], [1])], [open(4)], { batch_dims: '0' }, 'gather');
  const wide = ovOp(g, 'Broadcast', 'opset3', [gathered.output(0), i64('target', [2, 2, 6, 6])], [open(4)], { mode: 'numpy' }, 'broadcast');
  const interp = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor', antialias: 'false', pads_begin: '0,0,0,0', pads_end: '0,0,0,0', cube_coeff: '-0.75' };
  const bySizes = ovOp(g, 'Interpolate', 'opset4', [x, i64('sizes', [12, 9]), ovConst(g, 'unused_scales', 'float32', [2], [2, 1.5]), i64('axes', [2, 3])], [open(4)], { ...interp, shape_calculation_mode: 'sizes' }, 'by_sizes');
  const byScales = ovOp(g, 'Interpolate', 'opset4', [x, i64('unused_sizes', [4, 4]), ovConst(g, 'scales', 'float32', [2], [0.6666667, 2]), i64('axes2', [2, 3])], [open(4)], { ...interp, shape_calculation_mode: 'scales' }, 'by_scales');
  const v11 = ovOp(g, 'Interpolate', 'opset11', [x, ovConst(g, 'scales11', 'float32', [2], [2, 0.5]), i64('axes11', [2, 3])], [open(4)], { ...interp, shape_calculation_mode: 'scales' }, 'v11');
  const v1 = ovOp(g, 'Interpolate', 'opset1', [x, i64('target1', [12, 18])], [open(4)], { axes: '2,3', mode: 'linear', align_corners: '0', antialias: '0', pads_begin: '0', pads_end: '0' }, 'v1');
  for (const n of g.nodes) n.outputs.forEach((v) => (v.shape = v.shape!.map((d) => (d === -1 ? null : d))));
  g.outputs = [padded.output(0), tiled.output(0), wide.output(0), bySizes.output(0), byScales.output(0), v11.output(0), v1.output(0)];

  expect(fixShape.run(model, { batch: 2 }).summary).toBe('fixed 1 dimension(s); 8 tensor shape(s) follow');
  const ours = g.outputs.map((v) => v.shape);
  expect(ours).toEqual([[2, 3, 8, 8], [2, 6, 6, 6], [2, 2, 6, 6], [2, 3, 12, 9], [2, 3, 4, 12], [2, 3, 12, 3], [2, 3, 12, 18]]);
  const file = path.join(work, 'more.xml');
  writeModel(model, file);
  const onnx = path.join(work, 'more.onnx');
  writeModel(openvinoToOnnx(readModel(file)), onnx);
  const [run] = runOnnxRuntime([{ model: onnx, inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3, 6, 6], data: new Uint8Array(2 * 108 * 4) }] }]);
  expect(run!.error).toBeUndefined();
  expect(run!.outputs.map((t) => t.shape)).toEqual(ours);
});

test('rounding_type ceil pools: the fixed batch follows where the ceil sizes are unambiguous, as onnxruntime computes', () => {
  const model = newOvModel('ceil');
  const g = model.graph;
  const x = ovParam(g, 'x', [1, 2, 8, 8]);
  x.shape = [null, 2, 8, 8];
  const pool = (input: typeof x, name: string, pads: string, kernel = '3,3'): typeof x =>
    ovOp(g, 'MaxPool', 'opset1', [input], [[-1, -1, -1, -1]], { kernel, strides: '2,2', pads_begin: '0,0', pads_end: pads, rounding_type: 'ceil', auto_pad: 'explicit' }, name).output(0);
  const a = pool(x, 'a', '0,0');
  // 2x2 windows of stride 2 over 4 sizes padded by 1 at the end: the third window would start in the padding.
  const b = pool(a, 'b', '1,1', '2,2');
  for (const v of [a, b]) v.shape = [null, null, null, null];
  g.outputs = [a, b];
  fixShape.run(model, { batch: 1 });
  expect([a.shape, b.shape]).toEqual([[1, 2, 4, 4], [null, null, null, null]]);

  const single = newOvModel('ceil-one');
  const y = ovParam(single.graph, 'x', [1, 2, 8, 8]);
  const p = ovOp(single.graph, 'MaxPool', 'opset1', [y], [[1, 2, 4, 4]], { kernel: '3,3', strides: '2,2', pads_begin: '0,0', pads_end: '0,0', rounding_type: 'ceil', auto_pad: 'explicit' }, 'a');
  single.graph.outputs = [p.output(0)];
  const onnx = path.join(work, 'ceil.onnx');
  writeModel(openvinoToOnnx(single), onnx);
  const [run] = runOnnxRuntime([{ model: onnx, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 2, 8, 8], data: new Uint8Array(512) }] }]);
  expect(run!.error).toBeUndefined();
  expect(run!.outputs[0]!.shape).toEqual(a.shape);
});

test('ceil_torch pools (MaxPool-14) and AdaptiveAvgPool/AdaptiveMaxPool-8, as PyTorch-converted IRs hold them: the fixed batch follows, as onnxruntime computes', () => {
  const build = () => {
    const model = newOvModel('torch-pools');
    const g = model.graph;
    const x = ovParam(g, 'x', [1, 2, 8, 8]);
    x.shape = [null, 2, 8, 8];
    const open = [-1, -1, -1, -1];
    // 2x2 windows of stride 2 over 4 sizes padded by 1 at the end: ceil_torch drops the third window, which ceil leaves ambiguous.
    const a = ovOp(g, 'MaxPool', 'opset14', [x], [open, open], { kernel: '3,3', strides: '2,2', pads_begin: '0,0', pads_end: '0,0', rounding_type: 'ceil_torch', auto_pad: 'explicit' }, 'a');
    a.outputs[1]!.dtype = 'int64';
    const b = ovOp(g, 'MaxPool', 'opset14', [a.output(0)], [open, open], { kernel: '2,2', strides: '2,2', pads_begin: '1,1', pads_end: '1,1', rounding_type: 'ceil_torch', auto_pad: 'explicit' }, 'b');
    b.outputs[1]!.dtype = 'int64';
    const avg = ovOp(g, 'AdaptiveAvgPool', 'opset8', [b.output(0), ovConst(g, 'sizes', 'int64', [2], [2, 1])], [open], {}, 'avg');
    const max = ovOp(g, 'AdaptiveMaxPool', 'opset8', [a.output(0), ovConst(g, 'sizes3', 'int32', [2], [3, 3])], [open, open], {}, 'max');
    max.outputs[1]!.dtype = 'int64';
    const outs = [a.output(0), b.output(0), avg.output(0), max.output(0)];
    for (const v of outs) v.shape = [null, null, null, null];
    g.outputs = outs;
    return { model, outs };
  };
  const open = build();
  fixShape.run(open.model, { batch: 1 });
  expect(open.outs.map((v) => v.shape)).toEqual([[1, 2, 4, 4], [1, 2, 3, 3], [1, 2, 2, 1], [1, 2, 3, 3]]);

  // The translation pools over the sizes fix-shape gave each port; onnxruntime computes its own.
  const onnx = path.join(work, 'torch-pools.onnx');
  writeModel(openvinoToOnnx(open.model), onnx);
  const [run] = runOnnxRuntime([{ model: onnx, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 2, 8, 8], data: new Uint8Array(512) }] }]);
  expect(run!.error).toBeUndefined();
  expect(run!.outputs.map((o) => o.shape)).toEqual(open.outs.map((v) => v.shape));
});

test('ROIAlign: a map of pooled_h x pooled_w per box follows a fixed batch, as onnxruntime computes', () => {
  const model = newOvModel('roi');
  const g = model.graph;
  const x = ovParam(g, 'x', [1, 3, 7, 9]);
  x.shape = [null, 3, 7, 9];
  const rois = ovConst(g, 'rois', 'float32', [4, 4], [1, 1, 6, 5, 0, 0, 8, 6, 2, 2, 4, 4, 3, 1, 5, 6]);
  const batch = ovConst(g, 'batch', 'int32', [4], [0, 0, 0, 0]);
  const roi = ovOp(g, 'ROIAlign', 'opset9', [x, rois, batch], [[-1, -1, -1, -1]], { pooled_h: '3', pooled_w: '2', sampling_ratio: '2', spatial_scale: '1', mode: 'avg' }, 'roi');
  roi.output(0).shape = [null, null, null, null];
  g.outputs = [roi.output(0)];
  fixShape.run(model, { batch: 1 });
  expect(roi.output(0).shape).toEqual([4, 3, 3, 2]);
  const onnx = path.join(work, 'roi.onnx');
  writeModel(openvinoToOnnx(model), onnx);
  const [run] = runOnnxRuntime([{ model: onnx, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3, 7, 9], data: new Uint8Array(4 * 189) }] }]);
  expect(run!.error).toBeUndefined();
  expect(run!.outputs[0]!.shape).toEqual([4, 3, 3, 2]);
});

test('Proposal-1 and -4: post_nms_topn boxes per image (and their scores) follow a fixed batch, as the specification sizes them', () => {
  for (const opset of ['opset1', 'opset4']) {
    const model = newOvModel('proposal');
    const g = model.graph;
    const scores = ovParam(g, 'scores', [1, 6, 4, 5]);
    scores.shape = [null, 6, 4, 5];
    const deltas = ovParam(g, 'deltas', [1, 12, 4, 5]);
    deltas.shape = [null, 12, 4, 5];
    const info = ovConst(g, 'info', 'float32', [3], [64, 80, 1]);
    const outs = opset === 'opset4' ? [[-1, 5], [-1]] : [[-1, 5]];
    const p = ovOp(g, 'Proposal', opset, [scores, deltas, info], outs, { base_size: '16', pre_nms_topn: '100', post_nms_topn: '30', nms_thresh: '0.7', feat_stride: '16', min_size: '1', ratio: '1', scale: '1,2,4' }, 'proposal');
    p.outputs.forEach((v) => (v.shape = v.shape!.map(() => null)));
    g.outputs = [...p.outputs];
    fixShape.run(model, { batch: 2 });
    expect(p.outputs.map((v) => v.shape)).toEqual(opset === 'opset4' ? [[60, 5], [60]] : [[60, 5]]);
  }
});

test('StridedSlice (masks, new axis, ellipsis, shrink), Slice-8, (Group)ConvolutionBackpropData, DepthToSpace, SpaceToDepth, TopK, Select, GatherElements, Range, LSTMSequence and shape-keeping layers: the fixed batch follows, as onnxruntime computes', () => {
  const model = newOvModel('more2');
  const g = model.graph;
  const x = ovParam(g, 'x', [1, 4, 6, 6]);
  x.shape = [null, 4, 6, 6];
  const i64 = (name: string, values: number[], shape = [values.length]) => ovConst(g, name, 'int64', shape, values);
  const f32 = (name: string, shape: number[], seed: number) => ovConst(g, name, 'float32', shape, seededFloats(shape.reduce((a, b) => a * b, 1), seed, -0.5, 0.5));
  const open = (rank: number): number[] => Array<number>(rank).fill(-1);
  const layers = [
    ovOp(g, 'StridedSlice', 'opset1', [x, i64('b1', [0, 1, -1, 0]), i64('e1', [0, 3, 0, 6]), i64('s1', [1, 1, -1, 2])], [open(4)], { begin_mask: '1,0,0,0', end_mask: '1,0,1,0', new_axis_mask: '', shrink_axis_mask: '', ellipsis_mask: '' }, 'strided'),
    ovOp(g, 'StridedSlice', 'opset1', [x, i64('b2', [0, 0, 1]), i64('e2', [0, 0, 2]), i64('s2', [1, 1, 1])], [open(4)], { begin_mask: '0,0,0', end_mask: '0,0,0', new_axis_mask: '1,0,0', shrink_axis_mask: '0,0,1', ellipsis_mask: '0,1,0' }, 'strided_axes'),
    ovOp(g, 'Slice', 'opset8', [x, i64('start', [1]), i64('stop', [100]), i64('step', [2]), i64('axes', [-1])], [open(4)], {}, 'slice8'),
    ovOp(g, 'ConvolutionBackpropData', 'opset1', [x, f32('dw', [4, 3, 3, 3], 11)], [open(4)], { strides: '2,2', pads_begin: '1,1', pads_end: '1,1', dilations: '1,1', output_padding: '1,1', auto_pad: 'explicit' }, 'deconv'),
    ovOp(g, 'GroupConvolutionBackpropData', 'opset1', [x, f32('gdw', [2, 2, 3, 2, 2], 12)], [open(4)], { strides: '2,2', pads_begin: '0,0', pads_end: '0,0', dilations: '1,1', auto_pad: 'explicit' }, 'group_deconv'),
    ovOp(g, 'DepthToSpace', 'opset1', [x], [open(4)], { mode: 'blocks_first', block_size: '2' }, 'd2s'),
    ovOp(g, 'SpaceToDepth', 'opset1', [x], [open(4)], { mode: 'blocks_first', block_size: '2' }, 's2d'),
    ovOp(g, 'TopK', 'opset3', [x, ovConst(g, 'k', 'int64', [], [3])], [open(4), open(4)], { axis: '3', mode: 'max', sort: 'value', index_element_type: 'i32' }, 'topk'),
    ovOp(g, 'Select', 'opset1', [ovConst(g, 'cond', 'bool', [6], [1, 0, 1, 0, 1, 0]), x, ovConst(g, 'zero', 'float32', [], [0])], [open(4)], { auto_broadcast: 'numpy' }, 'select'),
    ovOp(g, 'GatherElements', 'opset6', [x, ovConst(g, 'gidx', 'int64', [2, 4, 6, 2], Array.from({ length: 96 }, (_, i) => i % 6))], [open(4)], { axis: '3' }, 'gather_elements'),
    ovOp(g, 'Range', 'opset4', [ovConst(g, 'r0', 'float32', [], [0]), ovConst(g, 'r1', 'float32', [], [10]), ovConst(g, 'r2', 'float32', [], [3])], [open(1)], { output_type: 'f32' }, 'range'),
    ovOp(g, 'CumSum', 'opset3', [x, ovConst(g, 'cum_axis', 'int64', [], [2])], [open(4)], { exclusive: 'false', reverse: 'false' }, 'cumsum'),
    ovOp(g, 'Roll', 'opset7', [x, i64('shift', [1]), i64('roll_axes', [2])], [open(4)], {}, 'roll'),
    ovOp(g, 'ShuffleChannels', 'opset1', [x], [open(4)], { axis: '1', group: '2' }, 'shuffle'),
    ovOp(g, 'HardSigmoid', 'opset1', [x, ovConst(g, 'alpha', 'float32', [], [0.2]), ovConst(g, 'beta', 'float32', [], [0.5])], [open(4)], {}, 'hard_sigmoid'),
  ];
  // LSTMSequence-5: X [batch, seq, input] with the initial states and sequence lengths of a batch of 2.
  const seq = ovParam(g, 'seq', [1, 5, 6]);
  seq.shape = [null, 5, 6];
  const lstm = ovOp(
    g,
    'LSTMSequence',
    'opset5',
    [seq, f32('h0', [2, 1, 3], 13), f32('c0', [2, 1, 3], 14), ovConst(g, 'lengths', 'int32', [2], [5, 5]), f32('lw', [1, 12, 6], 15), f32('lr', [1, 12, 3], 16), f32('lb', [1, 12], 17)],
    [open(4), open(3), open(3)],
    { hidden_size: '3', direction: 'forward', activations: 'sigmoid,tanh,tanh', clip: '0' },
    'lstm',
  );
  for (const n of g.nodes) n.outputs.forEach((v) => (v.shape = v.shape!.map((d) => (d === -1 ? null : d))));
  // ovOp types each output as its first input: Select picks floats, TopK's indices are i32.
  g.nodes.find((n) => n.op === 'Select')!.output(0).dtype = 'float32';
  g.nodes.find((n) => n.op === 'TopK')!.output(1).dtype = 'int32';
  g.outputs = [...layers.flatMap((n) => n.outputs), ...lstm.outputs];

  fixShape.run(model, { batch: 2 });
  const ours = g.outputs.map((v) => v.shape);
  expect(ours).toEqual([
    [2, 2, 6, 3], [1, 2, 4, 6], [2, 4, 6, 3], [2, 3, 12, 12], [2, 6, 12, 12], [2, 1, 12, 12], [2, 16, 3, 3], [2, 4, 6, 3], [2, 4, 6, 3],
    [2, 4, 6, 6], [2, 4, 6, 2], [4], [2, 4, 6, 6], [2, 4, 6, 6], [2, 4, 6, 6], [2, 4, 6, 6], [2, 1, 5, 3], [2, 1, 3], [2, 1, 3],
  ]);
  const file = path.join(work, 'more2.xml');
  writeModel(model, file);
  const onnx = path.join(work, 'more2.onnx');
  writeModel(openvinoToOnnx(readModel(file)), onnx);
  const [run] = runOnnxRuntime([{ model: onnx, inputs: [
    { name: 'x', dtype: 'float32', shape: [2, 4, 6, 6], data: new Uint8Array(2 * 144 * 4) },
    { name: 'seq', dtype: 'float32', shape: [2, 5, 6], data: new Uint8Array(2 * 30 * 4) },
  ] }]);
  expect(run!.error).toBeUndefined();
  expect(run!.outputs.map((t) => t.shape)).toEqual(ours);
});

test('RegionYolo (YOLOv2 flattening, YOLOv3 keeping its shape) and ReorgYolo: the fixed batch follows, as onnxruntime computes', () => {
  const model = newOvModel('yolo');
  const g = model.graph;
  const x = ovParam(g, 'x', [1, 2 * 7, 4, 4]);
  x.shape = [null, 14, 4, 4];
  const open = (rank: number): number[] => Array<number>(rank).fill(-1);
  const v2 = ovOp(g, 'RegionYolo', 'opset1', [x], [open(2)], { coords: '4', classes: '2', num: '2', do_softmax: 'true', axis: '1', end_axis: '3', mask: '' }, 'region_v2');
  const v3 = ovOp(g, 'RegionYolo', 'opset1', [x], [open(4)], { coords: '4', classes: '2', num: '3', do_softmax: 'false', axis: '1', end_axis: '3', mask: '0,1' }, 'region_v3');
  const reorg = ovOp(g, 'ReorgYolo', 'opset2', [ovOp(g, 'Concat', 'opset1', [x, x], [open(4)], { axis: '1' }, 'twice').output(0)], [open(4)], { stride: '2' }, 'reorg');
  for (const n of g.nodes) n.outputs.forEach((v) => (v.shape = v.shape!.map((d) => (d === -1 ? null : d))));
  g.outputs = [v2.output(0), v3.output(0), reorg.output(0)];
  fixShape.run(model, { batch: 2 });
  const ours = g.outputs.map((v) => v.shape);
  expect(ours).toEqual([[2, 224], [2, 14, 4, 4], [2, 112, 2, 2]]);
  const onnx = path.join(work, 'yolo.onnx');
  writeModel(openvinoToOnnx(model), onnx);
  const [run] = runOnnxRuntime([{ model: onnx, inputs: [{ name: 'x', dtype: 'float32', shape: [2, 14, 4, 4], data: new Uint8Array(2 * 224 * 4) }] }]);
  expect(run!.error).toBeUndefined();
  expect(run!.outputs.map((t) => t.shape)).toEqual(ours);
});

test('Reshape targets computed from shapes (ShapeOf, Gather, StridedSlice, Multiply, Concat, Unsqueeze), as IRs of dynamic models compute them: the fixed batch follows, as onnxruntime computes', () => {
  const model = openvinoComputedTargets();
  const g = model.graph;

  expect(fixShape.run(model, { batch: 2 }).summary).toMatch(/^fixed 1 dimension\(s\); \d+ tensor shape\(s\) follow$/);
  const ours = g.outputs.map((v) => v.shape);
  expect(ours).toEqual([[2, 24], [2, 24]]);
  const onnx = path.join(work, 'computed-targets.onnx');
  writeModel(openvinoToOnnx(model), onnx);
  const [run] = runOnnxRuntime([{ model: onnx, inputs: [{ name: 'x', dtype: 'float32', shape: [2, 4, 6], data: new Uint8Array(2 * 24 * 4) }] }]);
  expect(run!.error).toBeUndefined();
  expect(run!.outputs.map((t) => t.shape)).toEqual(ours);
});

test('PriorBox, PriorBoxClustered (sizes from the feature map\'s ShapeOf) and DetectionOutput, an SSD head: fixed input sizes follow, as onnxruntime computes', () => {
  const model = newOvModel('ssd-head');
  const g = model.graph;
  const param = (name: string, shape: (number | null)[]): Value => {
    const v = ovParam(g, name, shape.map((d) => d ?? 1));
    v.shape = shape;
    return v;
  };
  const feature = param('feature', [1, 8, null, null]);
  const image = param('image', [1, 3, null, null]);
  const locations = param('locations', [null, 256]);
  const confidences = param('confidences', [null, 192]);
  const i64 = (name: string, values: number[]) => ovConst(g, name, 'int64', [values.length], values);
  const sizeOf = (name: string, x: Value): Value => {
    const shape = ovOp(g, 'ShapeOf', 'opset3', [x], [[4]], { output_type: 'i64' }, `${name}_shape`).output(0);
    shape.dtype = 'int64';
    const hw = ovOp(g, 'StridedSlice', 'opset1', [shape, i64(`${name}_b`, [2]), i64(`${name}_e`, [4]), i64(`${name}_s`, [1])], [[2]], { begin_mask: '0', end_mask: '0', new_axis_mask: '', shrink_axis_mask: '', ellipsis_mask: '' }, `${name}_hw`).output(0);
    hw.dtype = 'int64';
    return hw;
  };
  const [featureSize, imageSize] = [sizeOf('feature', feature), sizeOf('image', image)];
  const priors = ovOp(g, 'PriorBox', 'opset1', [featureSize, imageSize], [[2, -1]], {
    min_size: '16', max_size: '32', aspect_ratio: '2', flip: 'true', clip: 'false', step: '0', offset: '0.5', variance: '0.1,0.1,0.2,0.2', scale_all_sizes: 'true',
  }, 'priors').output(0);
  const clustered = ovOp(g, 'PriorBoxClustered', 'opset1', [featureSize, imageSize], [[2, -1]], {
    width: '4,8', height: '4,8', clip: 'true', step: '0', step_w: '0', step_h: '0', offset: '0.5', variance: '0.1,0.1,0.2,0.2',
  }, 'clustered').output(0);
  const proposals = ovOp(g, 'Unsqueeze', 'opset1', [priors, i64('batch_axis', [0])], [[1, 2, -1]], {}, 'proposals').output(0);
  const detections = ovOp(g, 'DetectionOutput', 'opset1', [locations, confidences, proposals], [[1, 1, -1, 7]], {
    num_classes: '3', background_label_id: '0', top_k: '20', keep_top_k: '10', nms_threshold: '0.45', confidence_threshold: '0.01',
    code_type: 'caffe.PriorBoxParameter.CENTER_SIZE', share_location: 'true', variance_encoded_in_target: 'false', normalized: 'true',
  }, 'detections').output(0);
  for (const v of [priors, clustered, proposals, detections]) v.shape = v.shape!.map((d) => (d === -1 ? null : d));
  // ovOp types each output as its first input; the priors are f32, as the Model Optimizer writes them.
  for (const v of [priors, clustered, proposals]) v.dtype = 'float32';
  g.outputs = [priors, clustered, detections];

  fixShape.run(model, { inputs: { feature: [1, 8, 4, 4], image: [1, 3, 32, 32], locations: [2, 256], confidences: [2, 192] } });
  const ours = g.outputs.map((v) => v.shape);
  // 4 x 4 cells; PriorBox: ratios 1, 2 and 1/2 on one min_size, and one max_size box: 4 per cell.
  expect(ours).toEqual([[2, 256], [2, 128], [1, 1, 20, 7]]);
  const onnx = path.join(work, 'ssd-head.onnx');
  writeModel(openvinoToOnnx(model), onnx);
  const zeros = (name: string, shape: number[]) => ({ name, dtype: 'float32' as const, shape, data: new Uint8Array(shape.reduce((a, b) => a * b, 4)) });
  const [run] = runOnnxRuntime([{ model: onnx, inputs: [zeros('feature', [1, 8, 4, 4]), zeros('image', [1, 3, 32, 32]), zeros('locations', [2, 256]), zeros('confidences', [2, 192])] }]);
  expect(run!.error).toBeUndefined();
  expect(run!.outputs.map((t) => t.shape)).toEqual(ours);
});

test('GatherND-5 and -8 (batch_dims), GridSample and Einsum: the fixed batch follows, as onnxruntime computes', () => {
  const model = newOvModel('gather-grid-einsum');
  const g = model.graph;
  const x = ovParam(g, 'x', [1, 3, 4, 5]);
  x.shape = [null, 3, 4, 5];
  const open = (rank: number): number[] => Array<number>(rank).fill(-1);
  const indices = ovConst(g, 'nd_idx', 'int64', [2, 3, 2, 1], Array.from({ length: 12 }, (_, i) => i % 4));
  const nd8 = ovOp(g, 'GatherND', 'opset8', [x, indices], [open(4)], { batch_dims: '2' }, 'nd8');
  const nd5 = ovOp(g, 'GatherND', 'opset5', [x, indices], [open(3)], { batch_dims: '2' }, 'nd5');
  const grid = ovConst(g, 'grid', 'float32', [2, 6, 7, 2], seededFloats(168, 30, -1, 1));
  const sampled = ovOp(g, 'GridSample', 'opset9', [x, grid], [open(4)], { align_corners: 'false', mode: 'bilinear', padding_mode: 'zeros' }, 'sampled');
  const mixed = ovOp(g, 'Einsum', 'opset7', [x, ovConst(g, 'proj', 'float32', [5, 6], seededFloats(30, 31, -1, 1))], [open(4)], { equation: 'bchw,wk->bhck' }, 'mixed');
  for (const n of [nd8, nd5, sampled, mixed]) {
    n.outputs.forEach((v) => {
      v.shape = v.shape!.map((d) => (d === -1 ? null : d));
      v.dtype = 'float32';
    });
  }
  g.outputs = [nd8.output(0), nd5.output(0), sampled.output(0), mixed.output(0)];
  fixShape.run(model, { batch: 2 });
  const ours = g.outputs.map((v) => v.shape);
  // GatherND: indices [2, 3, 2, 1] over batch axes [2, 3] pick 2 rows of 5: [2, 3, 2, 5], -5 flattens to [6, 2, 5].
  expect(ours).toEqual([[2, 3, 2, 5], [6, 2, 5], [2, 3, 6, 7], [2, 4, 3, 6]]);
  const onnx = path.join(work, 'gather-grid-einsum.onnx');
  writeModel(openvinoToOnnx(model), onnx);
  const [run] = runOnnxRuntime([{ model: onnx, inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3, 4, 5], data: new Uint8Array(2 * 60 * 4) }] }]);
  expect(run!.error).toBeUndefined();
  expect(run!.outputs.map((t) => t.shape)).toEqual(ours);
});
