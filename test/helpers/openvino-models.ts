/** Models the OpenVINO tests build with the IR API. */
import type { Model } from '../../src/ir/model';
import { newOvModel, ovConst, ovOp, ovParam, pseudoRandomFloats } from './openvino-build';

/**
 * x[1,4,8,8] -> GroupConvolution(2 groups, 3x3, pad 1) -> Add(bias) -> Relu
 * -> Convolution(1x1, stride 2) -> Multiply -> Split(2) -> Concat(swapped)
 * -> VariadicSplit(axis 2, [1,-1]) -> Reshape -> out; plus a ReadValue/Assign
 * pair (opset6), a duplicate constant and an unused one.
 */
export function buildMixedModel(): Model {
  const model = newOvModel('mixed');
  const g = model.graph;
  const x = ovParam(g, 'x', [1, 4, 8, 8]);
  const gw = ovConst(g, 'gconv_w', 'float32', [2, 3, 2, 3, 3], pseudoRandomFloats(108, 1));
  const gc = ovOp(g, 'GroupConvolution', 'opset1', [x, gw], [[1, 6, 8, 8]], { strides: '1,1', pads_begin: '1,1', pads_end: '1,1', dilations: '1,1', auto_pad: 'explicit' }, 'gconv');
  const bias = ovConst(g, 'bias', 'float32', [1, 6, 1, 1], pseudoRandomFloats(6, 2));
  const add = ovOp(g, 'Add', 'opset1', [gc.output(0), bias], [[1, 6, 8, 8]], { auto_broadcast: 'numpy' });
  const relu = ovOp(g, 'Relu', 'opset1', [add.output(0)], [[1, 6, 8, 8]]);
  const cw = ovConst(g, 'conv_w', 'float32', [4, 6, 1, 1], pseudoRandomFloats(24, 3));
  const conv = ovOp(g, 'Convolution', 'opset1', [relu.output(0), cw], [[1, 4, 4, 4]], { strides: '2,2', pads_begin: '0,0', pads_end: '0,0', dilations: '1,1', auto_pad: 'explicit' }, 'conv');
  const scale = ovConst(g, 'scale', 'float32', [1, 4, 1, 1], [0.5, -1, 2, 0.25]);
  const mul = ovOp(g, 'Multiply', 'opset1', [conv.output(0), scale], [[1, 4, 4, 4]], { auto_broadcast: 'numpy' });
  const axis1 = ovConst(g, 'axis1', 'int64', [], [1]);
  const split = ovOp(g, 'Split', 'opset1', [mul.output(0), axis1], [[1, 2, 4, 4], [1, 2, 4, 4]], { num_splits: '2' }, 'split');
  const cat = ovOp(g, 'Concat', 'opset1', [split.output(1), split.output(0)], [[1, 4, 4, 4]], { axis: '1' }, 'concat');
  const axis2 = ovConst(g, 'axis2', 'int64', [], [2]);
  const lengths = ovConst(g, 'lengths', 'int64', [2], [1, -1]);
  const vs = ovOp(g, 'VariadicSplit', 'opset1', [cat.output(0), axis2, lengths], [[1, 4, 1, 4], [1, 4, 3, 4]], {}, 'vsplit');
  const target = ovConst(g, 'target', 'int64', [2], [1, 48]);
  const reshape = ovOp(g, 'Reshape', 'opset1', [vs.output(1), target], [[1, 48]], { special_zero: 'false' }, 'reshape');
  // Same bytes as `scale`: stored once in the .bin.
  const scale2 = ovConst(g, 'scale_copy', 'float32', [1, 4, 1, 1], [0.5, -1, 2, 0.25]);
  const init = ovConst(g, 'state_init', 'float32', [1, 4, 1, 4], new Array(16).fill(0));
  const rv = ovOp(g, 'ReadValue', 'opset6', [init], [[1, 4, 1, 4]], { variable_id: 'state' }, 'read_state');
  const mul2 = ovOp(g, 'Multiply', 'opset1', [vs.output(0), scale2], [[1, 4, 1, 4]], { auto_broadcast: 'numpy' }, 'mul2');
  const acc = ovOp(g, 'Add', 'opset1', [rv.output(0), mul2.output(0)], [[1, 4, 1, 4]], { auto_broadcast: 'numpy' }, 'accumulate');
  ovOp(g, 'Assign', 'opset6', [acc.output(0)], [], { variable_id: 'state' }, 'save_state');
  ovConst(g, 'unused', 'float32', [3], [7, 8, 9]);
  g.outputs = [reshape.output(0), acc.output(0)];
  model.metadata = [{ key: 'framework', value: 'recipe-test' }];
  return model;
}

