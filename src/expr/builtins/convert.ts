/** Making tensors, converting between kinds, and lists: tensor(), cast(), item(), range(), len(), ... */
import { DType } from '../../ir/dtype';
import { Node, Value as GraphValue } from '../../ir/graph';
import { Tensor } from '../../ir/tensor';
import type { CallContext, FunctionSpec } from '../functions';
import { MAX_LIST_ITEMS, MAX_TENSOR_ELEMENTS } from '../limits';
import { reshape } from '../tensor-math';
import { DEFAULT_FLOAT, ExprValue, asDType, castTensor, describeValue, fromElements, tensorItem, tensorToList, toTensor } from '../values';
import { DTYPE, INT, INTS, NUM, TENSOR, constOf, dtypeArg, intOf, intsOf, optional, p, scalarOf, shapeOf, tensorOf } from './args';


function fill(shape: readonly number[], value: ExprValue, dtype: DType | undefined, ctx: CallContext): Tensor {
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) ctx.fail(`invalid shape [${shape.join(', ')}]`, 0);
  const x = scalarOf(value, ctx, 1);
  const n = shape.reduce((a, b) => a * b, 1);
  if (n > MAX_TENSOR_ELEMENTS) ctx.fail(`a tensor of shape [${shape.join(', ')}] (${n} elements) is too large (limit ${MAX_TENSOR_ELEMENTS})`, 0);
  const target = dtype ?? toTensor(x).dtype;
  if (target === 'int64' || target === 'uint64') {
    return fromElements(target, shape, new BigInt64Array(n).fill(typeof x === 'bigint' ? x : BigInt(Math.trunc(Number(x)))));
  }
  return fromElements(target, shape, new Float64Array(n).fill(Number(x)));
}

/** The functions that make and convert values. */
export const CONVERT_FUNCTIONS: readonly FunctionSpec[] = [
  // Making tensors and converting
  {
    name: 'tensor',
    doc: 'a tensor from a (nested) list or scalar; dtype defaults to int64 for integers, float32 otherwise',
    category: 'convert',
    params: [p('values', TENSOR), p('dtype', DTYPE, { optional: true })],
    result: 'tensor',
    impl: ([v, d], ctx) => toTensor(constOf(v ?? null), dtypeArg(d, ctx, 1), ctx.span(0)),
  },
  {
    name: 'scalar',
    doc: 'a 0-d tensor holding x (x may be a one-element tensor)',
    category: 'convert',
    params: [p('x', NUM), p('dtype', DTYPE, { optional: true })],
    result: 'tensor',
    impl: ([x, d], ctx) => {
      const t = tensorOf(x ?? null, ctx.span(0), 'scalar()');
      if (t.size !== 1) ctx.fail(`expected one element, got ${describeValue(t)}`, 0);
      return toTensor(reshape(t, [], ctx.span()), dtypeArg(d, ctx, 1), ctx.span());
    },
  },
  {
    name: 'full',
    doc: 'a tensor of the given shape filled with value (dtype as tensor())',
    category: 'convert',
    params: [p('shape', INTS), p('value', NUM), p('dtype', DTYPE, { optional: true })],
    result: 'tensor',
    impl: ([shape, value, d], ctx) => fill(intsOf(shape ?? null, ctx.span(0), 'full()'), value ?? null, dtypeArg(d, ctx, 2), ctx),
  },
  {
    name: 'zeros',
    doc: 'a tensor of zeros (dtype default float32)',
    category: 'convert',
    params: [p('shape', INTS), p('dtype', DTYPE, { optional: true })],
    result: 'tensor',
    impl: ([shape, d], ctx) => fill(intsOf(shape ?? null, ctx.span(0), 'zeros()'), 0, dtypeArg(d, ctx, 1) ?? DEFAULT_FLOAT, ctx),
  },
  {
    name: 'ones',
    doc: 'a tensor of ones (dtype default float32)',
    category: 'convert',
    params: [p('shape', INTS), p('dtype', DTYPE, { optional: true })],
    result: 'tensor',
    impl: ([shape, d], ctx) => fill(intsOf(shape ?? null, ctx.span(0), 'ones()'), 1, dtypeArg(d, ctx, 1) ?? DEFAULT_FLOAT, ctx),
  },
  {
    name: 'cast',
    doc: 'the tensor with another dtype (floats to integers truncate toward zero)',
    category: 'convert',
    params: [p('t', TENSOR), p('dtype', DTYPE)],
    result: 'tensor',
    impl: ([t, d], ctx) => castTensor(tensorOf(t ?? null, ctx.span(0), 'cast()'), asDType(d ?? null, ctx.span(1))),
  },
  {
    name: 'astype',
    doc: 'same as cast',
    category: 'convert',
    params: [p('t', TENSOR), p('dtype', DTYPE)],
    result: 'tensor',
    impl: ([t, d], ctx) => castTensor(tensorOf(t ?? null, ctx.span(0), 'astype()'), asDType(d ?? null, ctx.span(1))),
  },
  {
    name: 'item',
    doc: 'the single element of a one-element tensor, as a number (a bool for a bool tensor)',
    category: 'convert',
    params: [p('t', NUM)],
    // A tensor's dtype is not known before a model is: its item may be a bool.
    result: ([k]) => (k === 'int' || k === 'number' || k === 'bool' ? k : 'unknown'),
    impl: ([t], ctx) => {
      const v = t ?? null;
      if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return v;
      const tensor = tensorOf(v, ctx.span(0), 'item()');
      if (tensor.size !== 1) ctx.fail(`expected one element, got ${describeValue(tensor)}`, 0);
      return tensorItem(tensor);
    },
  },
  {
    name: 'tolist',
    doc: 'the elements of a tensor as a (nested) list of numbers; a 0-d tensor gives a list of one',
    category: 'convert',
    params: [p('t', TENSOR)],
    result: 'list',
    impl: ([t], ctx) => {
      const tensor = tensorOf(t ?? null, ctx.span(0), 'tolist()');
      if (tensor.size > MAX_LIST_ITEMS) ctx.fail(`a tensor of ${tensor.size} elements is too large for a list (limit ${MAX_LIST_ITEMS})`, 0);
      const list = tensorToList(tensor);
      return tensor.rank === 0 ? [list] : list;
    },
  },
  {
    name: 'int',
    doc: 'a scalar as an integer (truncated toward zero)',
    category: 'convert',
    params: [p('x', NUM)],
    result: 'int',
    impl: ([x], ctx) => {
      const v = scalarOf(x ?? null, ctx, 0);
      if (typeof v === 'bigint') return v;
      const n = Number(v);
      if (!Number.isFinite(n)) ctx.fail(`${n} has no integer value`, 0);
      return Math.trunc(n);
    },
  },
  {
    name: 'float',
    doc: 'a scalar as a float',
    category: 'convert',
    params: [p('x', NUM)],
    result: 'number',
    impl: ([x], ctx) => Number(scalarOf(x ?? null, ctx, 0)),
  },
  {
    name: 'bool',
    doc: 'a scalar as a bool (non-zero is true)',
    category: 'convert',
    params: [p('x', NUM)],
    result: 'bool',
    impl: ([x], ctx) => {
      const v = scalarOf(x ?? null, ctx, 0);
      return v !== 0 && v !== 0n && v !== false;
    },
  },
  {
    name: 'str',
    doc: 'text of a scalar, a string, or a name (for naming new nodes)',
    category: 'convert',
    params: [p('x', 'any')],
    result: 'string',
    impl: ([x]) => {
      const v = x ?? null;
      if (v instanceof GraphValue || v instanceof Node) return v.name;
      if (v === null) return 'none';
      if (v instanceof Tensor || Array.isArray(v)) return describeValue(v);
      return String(v);
    },
  },

  // Lists
  {
    name: 'range',
    doc: 'range(n): [0, 1, ..., n-1]; range(a, b[, step]): a up to b (exclusive), for generated repetition',
    category: 'list',
    params: [p('a', INT), p('b', INT, { optional: true }), p('step', INT, { optional: true })],
    result: 'list',
    impl: ([a, b, step], ctx) => {
      const hasB = optional(b) !== undefined;
      const from = hasB ? intOf(a ?? null, ctx.span(0), 'range()') : 0;
      const to = hasB ? intOf(b ?? null, ctx.span(1), 'range()') : intOf(a ?? null, ctx.span(0), 'range()');
      const by = optional(step) === undefined ? 1 : intOf(step ?? null, ctx.span(2), 'range()');
      if (by === 0) ctx.fail('step must not be 0', 2);
      const count = Math.max(0, Math.ceil((to - from) / by));
      if (count > MAX_LIST_ITEMS) ctx.fail(`range of ${count} items is too long (limit ${MAX_LIST_ITEMS})`);
      const out: number[] = [];
      for (let i = 0; i < count; i++) out.push(from + i * by);
      return out;
    },
  },
  {
    name: 'len',
    doc: 'items of a list, characters of a string, or the first dimension of a tensor',
    category: 'list',
    params: [p('x', ['list', 'string', 'dtype', 'tensor', 'value'])],
    result: 'int',
    impl: ([x], ctx) => {
      const v = x ?? null;
      if (Array.isArray(v) || typeof v === 'string') return v.length;
      const s = shapeOf(v, ctx, 0);
      if (!Array.isArray(s) || s.length === 0) return ctx.fail(`len() of ${describeValue(v)}: it has no first dimension`, 0);
      return s[0] ?? null;
    },
  },

];
