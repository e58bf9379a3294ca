/**
 * OpenVINO's embedding bags (recommendation models): rows of an embedding
 * table gathered by index, optionally weighted per index, and summed (or
 * averaged, with `reduction="mean"` in opset 15) per bag.
 *
 * - EmbeddingBagPackedSum-3 / EmbeddingBagPacked-15: bags of equal size, the
 *   rows of a [batch, per_bag] index tensor: Gather, then a reduction over
 *   axis 1.
 * - EmbeddingBagOffsetsSum-3 / EmbeddingBagOffsets-15: one flat index list,
 *   bag b from offsets[b] to the next offset; EmbeddingSegmentsSum-3: bag b
 *   holds the indices whose segment id is b. Both become a [bags, indices]
 *   membership matrix times the gathered rows; an empty bag takes the row of
 *   `default_index` (zeros without one, or for -1).
 */
import type { Node, Value } from '../../../ir/graph';
import { registerTranslators, type Translation, type Translator } from '../translation';
import { onnxTypeOf, toInt64 } from './common';

/** The reduction of an opset-15 layer (`sum` or `mean`); the opset-3 ones sum. */
function reductionOf(node: Node, t: Translation): 'sum' | 'mean' {
  const r = (t.str(node, 'reduction') ?? 'sum').trim().toLowerCase();
  if (r !== 'sum' && r !== 'mean') t.fail(node, `reduction="${r}" is not translated (sum and mean are)`);
  return r;
}

/** The table's element type, which must be floating point here. */
function tableType(node: Node, t: Translation): 'float32' | 'float64' | 'float16' {
  const d = t.inputDType(node, 0);
  if (d !== 'float32' && d !== 'float64' && d !== 'float16') t.fail(node, `the embedding table is ${d ?? 'of an undeclared type'}: floating-point tables are translated`);
  return d;
}

/** Input `i` when the layer has it connected. */
function optionalInput(node: Node, t: Translation, i: number): Value | undefined {
  return node.inputs.length > i && node.inputs[i] ? t.input(node, i) : undefined;
}

const packed: Translator = (node, t) => {
  tableType(node, t);
  const reduction = reductionOf(node, t);
  const table = t.staticShape(node, 0);
  let rows = t.add1('Gather', [t.input(node, 0), toInt64(t, t.input(node, 1), t.inputDType(node, 1))], { axis: 0 });
  const weights = optionalInput(node, t, 2);
  if (weights) {
    if (reduction === 'mean') t.fail(node, 'per_sample_weights with reduction="mean" is not defined');
    const trailing = table.slice(1).map((_, k) => k + 2);
    rows = t.add1('Mul', [rows, trailing.length > 0 ? t.add1('Unsqueeze', [weights, t.int64s(trailing)]) : weights]);
  }
  return [t.add1(reduction === 'mean' ? 'ReduceMean' : 'ReduceSum', reduction === 'mean' ? [rows] : [rows, t.int64s([1])], reduction === 'mean' ? { axes: [1], keepdims: 0 } : { keepdims: 0 })];
};

/**
 * The bags of a flat index list, given the bag of each index position
 * ([indices], int64) and the number of bags (a scalar int64 value).
 */
function bagged(node: Node, t: Translation, bagOf: Value, bags: Value, defaultAt: number, weightsAt: number, reduction: 'sum' | 'mean'): Value {
  const d = tableType(node, t);
  const table = t.staticShape(node, 0);
  const width = table.slice(1).reduce((a, b) => a * b, 1);
  const rows = t.add1('Gather', [t.input(node, 0), toInt64(t, t.input(node, 1), t.inputDType(node, 1))], { axis: 0 });
  let flat = t.add1('Reshape', [rows, t.int64s([-1, width])]);
  const weights = optionalInput(node, t, weightsAt);
  if (weights) {
    if (reduction === 'mean') t.fail(node, 'per_sample_weights with reduction="mean" is not defined');
    flat = t.add1('Mul', [flat, t.add1('Unsqueeze', [weights, t.int64s([1])])]);
  }
  // member[b][j] = 1 where index position j is in bag b.
  const bagIds = t.add1('Unsqueeze', [t.add1('Range', [t.scalar('int64', 0), bags, t.scalar('int64', 1)]), t.int64s([1])]);
  const member = t.add1('Cast', [t.add1('Equal', [bagIds, t.add1('Unsqueeze', [bagOf, t.int64s([0])])])], { to: onnxTypeOf(node, t, d) });
  let sums = t.add1('MatMul', [member, flat]);
  const counts = t.add1('ReduceSum', [member, t.int64s([1])], { keepdims: 1 });
  if (reduction === 'mean') sums = t.add1('Div', [sums, t.add1('Max', [counts, t.scalar(d, 1)])]);
  // An empty bag: the default row, or zeros (no default_index, or -1).
  const defaultIndex = optionalInput(node, t, defaultAt);
  if (defaultIndex) {
    const at = t.add1('Reshape', [toInt64(t, defaultIndex, t.inputDType(node, defaultAt)), t.int64s([1])]);
    const valid = t.add1('GreaterOrEqual', [at, t.int64s([0])]);
    const row = t.add1('Reshape', [t.add1('Gather', [t.input(node, 0), t.add1('Max', [at, t.int64s([0])])], { axis: 0 }), t.int64s([1, width])]);
    const defaultRow = t.add1('Mul', [row, t.add1('Cast', [t.add1('Unsqueeze', [valid, t.int64s([1])])], { to: onnxTypeOf(node, t, d) })]);
    sums = t.add1('Where', [t.add1('Equal', [counts, t.scalar(d, 0)]), defaultRow, sums]);
  }
  return t.add1('Reshape', [sums, t.add1('Concat', [t.add1('Reshape', [bags, t.int64s([1])]), t.int64s(table.slice(1))], { axis: 0 })]);
}

/** Offsets: the bag of index position j is the number of offsets at or before j, minus 1 (an empty bag repeats its offset). */
const offsets: Translator = (node, t) => {
  const starts = toInt64(t, t.input(node, 2), t.inputDType(node, 2));
  const positions = t.add1('Range', [t.scalar('int64', 0), t.add1('Gather', [t.add1('Shape', [t.input(node, 1)]), t.scalar('int64', 0)], { axis: 0 }), t.scalar('int64', 1)]);
  const started = t.add1('Cast', [t.add1('LessOrEqual', [t.add1('Unsqueeze', [starts, t.int64s([0])]), t.add1('Unsqueeze', [positions, t.int64s([1])])])], { to: onnxTypeOf(node, t, 'int64') });
  const bagOf = t.add1('Sub', [t.add1('ReduceSum', [started, t.int64s([1])], { keepdims: 0 }), t.scalar('int64', 1)]);
  const bags = t.add1('Gather', [t.add1('Shape', [starts]), t.scalar('int64', 0)], { axis: 0 });
  return [bagged(node, t, bagOf, bags, 3, 4, reductionOf(node, t))];
};

const segments: Translator = (node, t) => {
  const bagOf = toInt64(t, t.input(node, 2), t.inputDType(node, 2));
  const bags = t.add1('Reshape', [toInt64(t, t.input(node, 3), t.inputDType(node, 3)), t.int64s([])]);
  return [bagged(node, t, bagOf, bags, 4, 5, 'sum')];
};

registerTranslators({
  EmbeddingBagPackedSum: packed,
  EmbeddingBagPacked: packed,
  EmbeddingBagOffsetsSum: offsets,
  EmbeddingBagOffsets: offsets,
  EmbeddingSegmentsSum: segments,
});
