/**
 * OpenVINO ops that move data without computing on it: Concat, Split,
 * Reshape, Transpose, Squeeze/Unsqueeze, Gather, slices, pads, ShapeOf...
 */
import { registerTranslators } from '../translation';
import { normalizeAxis, toInt64 } from './common';

registerTranslators({
  Concat: (node, t) => {
    const rank = t.requireRank(node, 0);
    const axis = normalizeAxis(node, t, t.int(node, 'axis') ?? 0, rank);
    return [t.add1('Concat', node.inputs.map((_, i) => t.input(node, i)), { axis })];
  },
  // Input 1 is the axis; `num_splits` equal parts.
  Split: (node, t) => {
    const rank = t.requireRank(node, 0);
    const axis = normalizeAxis(node, t, t.constInts(node, 1)[0]!, rank);
    const parts = t.int(node, 'num_splits') ?? t.fail(node, 'no num_splits');
    return t.add('Split', [t.input(node, 0)], { axis, num_outputs: parts }, parts);
  },
  // Input 1 the axis, input 2 the lengths (one may be -1: the rest).
  VariadicSplit: (node, t) => {
    const rank = t.requireRank(node, 0);
    const axis = normalizeAxis(node, t, t.constInts(node, 1)[0]!, rank);
    const lengths = t.constInts(node, 2);
    const shape = t.inputShape(node, 0);
    if (lengths.includes(-1)) {
      const dim = shape?.[axis];
      const total = typeof dim === 'number' ? dim : t.fail(node, 'a -1 length needs a static split axis');
      const known = lengths.filter((l) => l !== -1).reduce((a, b) => a + b, 0);
      lengths[lengths.indexOf(-1)] = total - known;
    }
    return t.add('Split', [t.input(node, 0), t.int64s(lengths)], { axis }, lengths.length);
  },
  // special_zero: a 0 in the target shape copies the input's dimension (ONNX's allowzero=0); otherwise it is a 0.
  Reshape: (node, t) => {
    const specialZero = t.bool(node, 'special_zero') ?? false;
    const target = toInt64(t, t.input(node, 1), t.inputDType(node, 1));
    return [t.add1('Reshape', [t.input(node, 0), target], { allowzero: specialZero ? 0 : 1 })];
  },
  Transpose: (node, t) => {
    const order = t.constInput(node, 1);
    // An empty order reverses the dimensions, as ONNX's default perm does.
    if (order && order.size === 0) return [t.add1('Transpose', [t.input(node, 0)])];
    return [t.add1('Transpose', [t.input(node, 0)], { perm: t.constInts(node, 1) })];
  },
});
