/**
 * Graphs that compute a Reshape's target from the input's shape, as converters
 * of dynamic models write them (TFLite: SHAPE -> STRIDED_SLICE -> PACK; an
 * IR: ShapeOf -> Gather -> Concat): fix-shape carries a fixed batch through
 * them, fold-shapes turns them into constants.
 */
import { attr, type Attr } from '../../src/ir/attr';
import { Graph, type Value } from '../../src/ir/graph';
import { Model } from '../../src/ir/model';
import { Tensor } from '../../src/ir/tensor';
import { newOvModel, ovConst, ovOp, ovParam } from './openvino-build';

const act = (name: string): Record<string, Attr> => ({ fused_activation_function: attr.string(name) });

/**
 * TFLite, batch open: `flat` is x [N, 4, 6] reshaped to PACK(batch, -1), `flat2`
 * to CONCATENATION(batch, 4 x 6) (GATHER and MUL of the sliced shape). With
 * `exposeTargets`, the two targets are graph outputs too.
 */
export function tfliteComputedTargets(exposeTargets = true): { model: Model; flat: Value; flat2: Value } {
  const g = new Graph('main');
  const ints = (name: string, shape: number[], values: number[]): Value => g.addConstant(name, Tensor.from('int32', shape, values));
  const int = (name: string, shape: (number | null)[]): Value => g.addValue(name, { dtype: 'int32', shape });
  const x = g.addValue('x', { dtype: 'float32', shape: [null, 4, 6] });
  const shape = int('shape', [3]);
  const batch = int('batch', []);
  const target = int('target', [2]);
  const flat = g.addValue('flat', { dtype: 'float32', shape: [null, null] });
  const strided = (name: string, begin: number, end: number, shrink: number, out: Value): void => {
    g.addNode({
      op: 'STRIDED_SLICE',
      name,
      inputs: [shape, ints(`${name}_begin`, [1], [begin]), ints(`${name}_end`, [1], [end]), ints(`${name}_strides`, [1], [1])],
      outputs: [out],
      attrs: { begin_mask: attr.int(0), end_mask: attr.int(0), ellipsis_mask: attr.int(0), new_axis_mask: attr.int(0), shrink_axis_mask: attr.int(shrink), offset: attr.bool(false) },
    });
  };
  g.addNode({ op: 'SHAPE', name: 'shape', inputs: [x], outputs: [shape], attrs: { out_type: attr.int(2) } });
  strided('batch', 0, 1, 1, batch);
  g.addNode({ op: 'PACK', name: 'pack', inputs: [batch, ints('minus_one', [], [-1])], outputs: [target], attrs: { values_count: attr.int(2), axis: attr.int(0) } });
  g.addNode({ op: 'RESHAPE', name: 'flatten', inputs: [x, target], outputs: [flat] });
  // [batch, 4 x 6] as a MUL of the two other sizes, CONCATENATION'd after the batch.
  const tail = int('tail', [2]);
  const first = int('first', [1]);
  const second = int('second', [1]);
  const prod = int('prod', [1]);
  const batch1 = int('batch1', [1]);
  const target2 = int('target2', [2]);
  const flat2 = g.addValue('flat2', { dtype: 'float32', shape: [null, null] });
  strided('tail', 1, 3, 0, tail);
  g.addNode({ op: 'GATHER', name: 'first', inputs: [tail, ints('i0', [1], [0])], outputs: [first], attrs: { axis: attr.int(0), batch_dims: attr.int(0) } });
  g.addNode({ op: 'GATHER', name: 'second', inputs: [tail, ints('i1', [1], [1])], outputs: [second], attrs: { axis: attr.int(0), batch_dims: attr.int(0) } });
  g.addNode({ op: 'MUL', name: 'prod', inputs: [first, second], outputs: [prod], attrs: act('NONE') });
  strided('batch1', 0, 1, 0, batch1);
  g.addNode({ op: 'CONCATENATION', name: 'target2', inputs: [batch1, prod], outputs: [target2], attrs: { axis: attr.int(0), ...act('NONE') } });
  g.addNode({ op: 'RESHAPE', name: 'flatten2', inputs: [x, target2], outputs: [flat2] });
  g.inputs = [x];
  g.outputs = exposeTargets ? [flat, flat2, target, target2] : [flat, flat2];
  return { model: new Model('tflite', g), flat, flat2 };
}

/** The same in an IR (opset 1-8 layers): two Reshapes of x [N, 4, 6], to [N, -1] and to [N, 4 x 6]. */
export function openvinoComputedTargets(): Model {
  const model = newOvModel('computed-targets');
  const g = model.graph;
  const x = ovParam(g, 'x', [1, 4, 6]);
  x.shape = [null, 4, 6];
  const i64 = (name: string, values: number[], shape = [values.length]) => ovConst(g, name, 'int64', shape, values);
  const open = (rank: number): number[] => Array<number>(rank).fill(-1);
  const shape = ovOp(g, 'ShapeOf', 'opset3', [x], [[3]], { output_type: 'i64' }, 'shape').output(0);
  shape.dtype = 'int64';
  const int = (v: Value): void => {
    v.dtype = 'int64';
  };
  // The batch as a scalar, unsqueezed: Concat([batch], [-1]) flattens each sample.
  const batch = ovOp(g, 'Gather', 'opset8', [shape, ovConst(g, 'zero', 'int64', [], [0]), ovConst(g, 'axis0', 'int64', [], [0])], [[]], { batch_dims: '0' }, 'batch').output(0);
  int(batch);
  const batch1 = ovOp(g, 'Unsqueeze', 'opset1', [batch, i64('unsq_axis', [0])], [[1]], {}, 'batch1').output(0);
  int(batch1);
  const flatTarget = ovOp(g, 'Concat', 'opset1', [batch1, i64('rest', [-1])], [[2]], { axis: '0' }, 'flat_target').output(0);
  int(flatTarget);
  const flat = ovOp(g, 'Reshape', 'opset1', [x, flatTarget], [open(2)], { special_zero: 'false' }, 'flat');
  // [batch, 4 x 6] from a StridedSlice of the shape and a Multiply of its two entries.
  const tail = ovOp(g, 'StridedSlice', 'opset1', [shape, i64('tb', [1]), i64('te', [3]), i64('ts', [1])], [[2]], { begin_mask: '0', end_mask: '0', new_axis_mask: '', shrink_axis_mask: '', ellipsis_mask: '' }, 'tail').output(0);
  int(tail);
  const first = ovOp(g, 'Gather', 'opset8', [tail, i64('i0', [0]), ovConst(g, 'axis1', 'int64', [], [0])], [[1]], { batch_dims: '0' }, 'first').output(0);
  const second = ovOp(g, 'Gather', 'opset8', [tail, i64('i1', [1]), ovConst(g, 'axis2', 'int64', [], [0])], [[1]], { batch_dims: '0' }, 'second').output(0);
  int(first);
  int(second);
  const prod = ovOp(g, 'Multiply', 'opset1', [first, second], [[1]], { auto_broadcast: 'numpy' }, 'prod').output(0);
  int(prod);
  const prodTarget = ovOp(g, 'Concat', 'opset1', [batch1, prod], [[2]], { axis: '0' }, 'prod_target').output(0);
  int(prodTarget);
  const byProduct = ovOp(g, 'Reshape', 'opset1', [x, prodTarget], [open(2)], { special_zero: 'false' }, 'by_product');
  for (const n of [flat, byProduct]) n.outputs.forEach((v) => (v.shape = v.shape!.map((d) => (d === -1 ? null : d))));
  g.outputs = [flat.output(0), byProduct.output(0)];
  return model;
}
