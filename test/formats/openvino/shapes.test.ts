/**
 * fix-shape on OpenVINO IR: the fixed batch is carried through the layers, so
 * that no port after a fixed Parameter stays at -1. Oracle: the IR translated
 * to ONNX (recipe verify's translation) and run in onnxruntime, which gives
 * the shapes it computes, not the ones the file declares.
 */
import * as path from 'node:path';
import '../../../src/actions';
import { readModel, writeModel } from '../../../src/formats';
import { findAction } from '../../../src/rewrite/actions';
import { runOnnxRuntime } from '../../../src/verify/onnx-child';
import { openvinoToOnnx } from '../../../src/verify/openvino-onnx';
import { seededFloats } from '../../e2e/helpers';
import { SHARED, tempDir } from '../../helpers/corpus';
import { newOvModel, ovConst, ovOp, ovParam } from '../../helpers/openvino-build';

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

test('a real IR (OpenVINO model server test data, f64, batch left open): the Add after the fixed Parameter follows', () => {
  const model = readModel(path.join(SHARED, 'corpus/openvinotoolkit/model_server/src/test/dummy_fp64/1/saved_model.xml'));
  expect(model.graph.inputs[0]!.shape).toEqual([null, 10]);
  expect(fixShape.run(model, { batch: 1 }).summary).toBe('fixed 1 dimension(s); 1 tensor shape(s) follow');
  expect(model.graph.outputs[0]!.shape).toEqual([1, 10]);
});
