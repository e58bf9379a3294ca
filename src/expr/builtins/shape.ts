/** Shape questions, reductions and layout: shape(), sum(), reshape(), slice(), split(), ... */
import { Node, Value as GraphValue } from '../../ir/graph';
import type { FormatId } from '../../ir/model';
import { rankOf } from '../../ir/rank';
import { likelyDType } from '../../formats/onnx/shapes';
import { Tensor } from '../../ir/tensor';
import type { FunctionSpec } from '../functions';
import { Reduction, concat, expand, gather, normalizeAxis, reduce, reshape, slice, split, tile, transpose } from '../tensor-math';
import { ExprValue, describeValue, tensorElements } from '../values';
import { INT, INTS, SHAPED, TENSOR, clampBig, elementCount, intOf, intsOf, optional, p, shapeOf, tensorOf } from './args';

/** The tensor reduced by sum/mean/..., with its optional axis (int or list) and keepdims. */
function reduction(how: Reduction, name: string, doc: string): FunctionSpec {
  return {
    name,
    doc,
    category: 'reduce',
    params: [p('t', TENSOR), p('axis', INTS, { optional: true }), p('keepdims', ['bool'], { optional: true })],
    result: 'tensor',
    impl: ([t, axis, keep], ctx) => {
      const tensor = tensorOf(t ?? null, ctx.span(0), `${name}()`);
      const axes = optional(axis) === undefined ? null : intsOf(axis ?? null, ctx.span(1), `${name}()`);
      return reduce(tensor, how, axes, keep === true, ctx.span());
    },
  };
}

/** The shape the last unsqueeze() made, frozen, for the next one of the same dims to share. */
let lastUnsqueezed: readonly number[] = Object.freeze([]);

/**
 * `from` with size-1 dimensions at the positions `at` of a result of `rank`.
 * A rule unsqueezes its per-channel constants at every match, to the same
 * shape each time, and the constants keep their shapes: one frozen array
 * shared by all of them (shapes are replaced, never changed in place; the
 * decoders share theirs too) instead of an array each, which a push-grown
 * array made several times larger than its dims.
 */
function unsqueezedShape(from: readonly number[], at: readonly number[], rank: number): readonly number[] {
  const last = lastUnsqueezed;
  // A few axes are searched in the list; many (unsqueeze(t, range(100000))) in a set, not in rank x axes steps.
  const inserted: { includes(i: number): boolean } = at.length > 16 ? { includes: Set.prototype.has.bind(new Set(at)) } : at;
  let same = last.length === rank;
  for (let i = 0, next = 0; same && i < rank; i++) same = last[i] === (inserted.includes(i) ? 1 : (from[next++] ?? 1));
  if (same) return last;
  const shape = new Array<number>(rank);
  for (let i = 0, next = 0; i < rank; i++) shape[i] = inserted.includes(i) ? 1 : (from[next++] ?? 1);
  return (lastUnsqueezed = Object.freeze(shape));
}

/** The shape, reduction and layout functions. */
export const SHAPE_FUNCTIONS: readonly FunctionSpec[] = [
  // Shape questions
  {
    name: 'shape',
    doc: "dimensions as a list; a graph value's declared shape (a dim may be a name or none), an ONNX Constant node's output the shape of its tensor; none if unknown",
    category: 'shape',
    params: [p('t', SHAPED)],
    result: 'list',
    impl: ([t], ctx) => shapeOf(t ?? null, ctx, 0),
  },
  {
    name: 'rank',
    doc: 'number of dimensions (of an ONNX value without a declared shape, the rank its producers fix); none if unknown',
    category: 'shape',
    params: [p('t', SHAPED)],
    result: 'int',
    impl: ([t], ctx) => {
      // Asked in the conditions of most rules: the declared shape's length, without copying it.
      if (t instanceof GraphValue) return rankOf(t, (ctx.context.format ?? '') as FormatId) ?? null;
      const s = shapeOf(t ?? null, ctx, 0);
      return Array.isArray(s) ? s.length : null;
    },
  },
  {
    name: 'size',
    doc: 'number of elements; none if a dimension is unknown',
    category: 'shape',
    params: [p('t', SHAPED)],
    result: 'int',
    impl: ([t], ctx) => elementCount(shapeOf(t ?? null, ctx, 0)),
  },
  {
    name: 'dtype',
    doc: 'element type name ("float32"); of a node, its first output\'s (a Cast\'s target: ask in let or where, as the replacement takes the outputs over); none if unknown',
    category: 'shape',
    params: [p('t', [...SHAPED, 'node'])],
    result: 'dtype',
    impl: ([t], ctx) => {
      let v = t ?? null;
      if (v instanceof Node) v = v.outputs[0] ?? null;
      if (v === null) return null;
      // An ONNX intermediate without value_info: what its producer makes (a Cast's `to`, a Shape's int64, a Conv its input's).
      if (v instanceof GraphValue) return v.dtype ?? v.const?.dtype ?? (ctx.context.format === 'onnx' ? likelyDType(v) : undefined) ?? null;
      return tensorOf(v, ctx.span(0), 'dtype()').dtype;
    },
  },

  // Reductions
  reduction('sum', 'sum', 'sum over all elements, or over axis (int or list); keepdims keeps reduced axes as 1'),
  reduction('mean', 'mean', 'mean (a float); axis and keepdims as sum'),
  reduction('prod', 'prod', 'product; axis and keepdims as sum'),
  reduction('max', 'reduce_max', 'largest element; axis and keepdims as sum'),
  reduction('min', 'reduce_min', 'smallest element; axis and keepdims as sum'),

  // Layout
  {
    name: 'reshape',
    doc: 'same elements in a new shape; one dimension may be -1',
    category: 'tensor',
    params: [p('t', TENSOR), p('shape', INTS)],
    result: 'tensor',
    impl: ([t, shape], ctx) => reshape(tensorOf(t ?? null, ctx.span(0), 'reshape()'), intsOf(shape ?? null, ctx.span(1), 'reshape()'), ctx.span()),
  },
  {
    name: 'expand',
    doc: 'ONNX Expand: t repeated to the shape t and shape broadcast to (NumPy broadcast_to, both ways)',
    category: 'tensor',
    params: [p('t', TENSOR), p('shape', INTS)],
    result: 'tensor',
    impl: ([t, shape], ctx) => expand(tensorOf(t ?? null, ctx.span(0), 'expand()'), intsOf(shape ?? null, ctx.span(1), 'expand()'), ctx.span()),
  },
  {
    name: 'tile',
    doc: 'ONNX Tile: t repeated repeats[i] times along each axis i',
    category: 'tensor',
    params: [p('t', TENSOR), p('repeats', INTS)],
    result: 'tensor',
    impl: ([t, repeats], ctx) => tile(tensorOf(t ?? null, ctx.span(0), 'tile()'), intsOf(repeats ?? null, ctx.span(1), 'tile()'), ctx.span()),
  },
  {
    name: 'unsqueeze',
    doc: 'inserts size-1 dimensions at axes (int or list, positions in the result, as ONNX)',
    category: 'tensor',
    params: [p('t', TENSOR), p('axes', INTS)],
    result: 'tensor',
    impl: ([t, axes], ctx) => {
      const tensor = tensorOf(t ?? null, ctx.span(0), 'unsqueeze()');
      const list = intsOf(axes ?? null, ctx.span(1), 'unsqueeze()');
      const rank = tensor.rank + list.length;
      const at = list.map((a) => normalizeAxis(a, rank, ctx.span(1), 'unsqueeze()'));
      // Plain loops: a rule unsqueezes its per-channel constants at every match.
      if (at.length > 16 ? new Set(at).size < at.length : at.some((a, i) => at.indexOf(a) < i)) ctx.fail(`axis repeated in [${list.length > 16 ? `${list.slice(0, 16).join(', ')}, ...` : list.join(', ')}]`, 1);
      // The same elements with size-1 axes added: the data is shared, as reshape() shares it.
      return new Tensor(tensor.dtype, unsqueezedShape(tensor.shape, at, rank), tensor.data);
    },
  },
  {
    name: 'squeeze',
    doc: 'removes size-1 dimensions: the given axes, or all of them',
    category: 'tensor',
    params: [p('t', TENSOR), p('axes', INTS, { optional: true })],
    result: 'tensor',
    impl: ([t, axes], ctx) => {
      const tensor = tensorOf(t ?? null, ctx.span(0), 'squeeze()');
      const list = optional(axes) === undefined ? null : intsOf(axes ?? null, ctx.span(1), 'squeeze()').map((a) => normalizeAxis(a, tensor.rank, ctx.span(1), 'squeeze()'));
      if (list) {
        const bad = list.find((a) => tensor.shape[a] !== 1);
        if (bad !== undefined) ctx.fail(`dimension ${bad} of shape [${tensor.shape.join(', ')}] is ${tensor.shape[bad]}, not 1`, 1);
      }
      const shape = tensor.shape.filter((d, i) => (list ? !list.includes(i) : d !== 1));
      return reshape(tensor, shape, ctx.span());
    },
  },
  {
    name: 'flatten',
    doc: 'flatten(t): all elements in 1-D; flatten(t, axis): 2-D [dims before axis, dims from axis], as ONNX Flatten',
    category: 'tensor',
    params: [p('t', TENSOR), p('axis', INT, { optional: true })],
    result: 'tensor',
    impl: ([t, axis], ctx) => {
      const tensor = tensorOf(t ?? null, ctx.span(0), 'flatten()');
      if (optional(axis) === undefined) return reshape(tensor, [tensor.size], ctx.span());
      let a = intOf(axis ?? null, ctx.span(1), 'flatten()');
      if (a < 0) a += tensor.rank;
      if (a < 0 || a > tensor.rank) ctx.fail(`axis ${intOf(axis ?? null, ctx.span(1), 'flatten()')} is out of range for rank ${tensor.rank}`, 1);
      const outer = tensor.shape.slice(0, a).reduce((x, y) => x * y, 1);
      return reshape(tensor, [outer, tensor.size / Math.max(outer, 1)], ctx.span());
    },
  },
  {
    name: 'transpose',
    doc: 'permutes axes by perm (default: reversed)',
    category: 'tensor',
    params: [p('t', TENSOR), p('perm', INTS, { optional: true })],
    result: 'tensor',
    impl: ([t, perm], ctx) =>
      transpose(tensorOf(t ?? null, ctx.span(0), 'transpose()'), optional(perm) === undefined ? null : intsOf(perm ?? null, ctx.span(1), 'transpose()'), ctx.span()),
  },
  {
    name: 'slice',
    doc: 'ONNX Slice: starts/ends (exclusive) per axis, optional axes and steps; negatives count from the end',
    category: 'tensor',
    params: [p('t', TENSOR), p('starts', INTS), p('ends', INTS), p('axes', INTS, { optional: true }), p('steps', INTS, { optional: true })],
    result: 'tensor',
    impl: ([t, starts, ends, axes, steps], ctx) => {
      // Ends such as INT64_MAX ("to the end") arrive as bigints: clamp them to doubles.
      const ints = (v: ExprValue | undefined, i: number): number[] | null =>
        optional(v) === undefined ? null : intsOf(clampBig(v ?? null), ctx.span(i), 'slice()');
      return slice(tensorOf(t ?? null, ctx.span(0), 'slice()'), ints(starts, 1) ?? [], ints(ends, 2) ?? [], ints(axes, 3), ints(steps, 4), ctx.span());
    },
  },
  {
    name: 'gather',
    doc: 'ONNX Gather: the entries at indices (an int, a list or a tensor; negatives count from the end) along axis (default 0); the axis is replaced by the indices\' shape',
    category: 'tensor',
    params: [p('t', TENSOR), p('indices', TENSOR), p('axis', INT, { optional: true })],
    result: 'tensor',
    impl: ([t, indices, axis], ctx) => {
      const index = tensorOf(indices ?? null, ctx.span(1), 'gather()');
      if (index.dtype.startsWith('float') || index.dtype === 'bool') return ctx.fail(`gather(): indices must be integers, got ${index.dtype}`, 1);
      const flat = [...tensorElements(index)].map((e) => Number(e));
      const a = optional(axis) === undefined ? 0 : intOf(axis ?? null, ctx.span(2), 'gather()');
      return gather(tensorOf(t ?? null, ctx.span(0), 'gather()'), flat, index.shape, a, ctx.span());
    },
  },
  {
    name: 'concat',
    doc: 'joins a list of tensors along axis',
    category: 'tensor',
    params: [p('tensors', ['list']), p('axis', INT)],
    result: 'tensor',
    impl: ([ts, axis], ctx) => {
      if (!Array.isArray(ts)) return ctx.fail(`expected a list of tensors, got ${describeValue(ts ?? null)}`, 0);
      const tensors = ts.map((x) => tensorOf(x, ctx.span(0), 'concat()'));
      return concat(tensors, intOf(axis ?? null, ctx.span(1), 'concat()'), ctx.span());
    },
  },
  {
    name: 'split',
    doc: 'a list of tensors: n equal parts, or parts of the given sizes, along axis (default 0)',
    category: 'tensor',
    params: [p('t', TENSOR), p('parts', INTS), p('axis', INT, { optional: true })],
    result: 'list',
    impl: ([t, parts, axis], ctx) => {
      const tensor = tensorOf(t ?? null, ctx.span(0), 'split()');
      const a = optional(axis) === undefined ? 0 : intOf(axis ?? null, ctx.span(2), 'split()');
      const na = normalizeAxis(a, tensor.rank, optional(axis) === undefined ? ctx.span() : ctx.span(2), 'split()');
      const dim = tensor.shape[na] ?? 1;
      let sizes: number[];
      if (Array.isArray(parts) || parts instanceof Tensor) {
        sizes = intsOf(parts, ctx.span(1), 'split()');
      } else {
        const n = intOf(parts ?? null, ctx.span(1), 'split()');
        if (n <= 0 || dim % n !== 0) ctx.fail(`dimension ${na} of shape [${tensor.shape.join(', ')}] (${dim}) cannot be split into ${n} equal parts`, 1);
        sizes = new Array<number>(n).fill(dim / n);
      }
      return split(tensor, sizes, na, ctx.span());
    },
  },

];
