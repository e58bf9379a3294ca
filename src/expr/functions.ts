/**
 * The one table of functions an expression can call. The checker reads the
 * parameter and result kinds; the evaluator calls `impl`; `listFunctions()`
 * feeds the docs. Adding a function is adding one entry here.
 */
import micromatch from 'micromatch';
import { DType, isDType, isFloat, isInteger } from '../ir/dtype';
import { Node, Value as GraphValue } from '../ir/graph';
import { Tensor } from '../ir/tensor';
import type { CallExpr } from './ast';
import { ExprError, Span, closest } from './errors';
import {
  ElementwiseSpec, Operand, Reduction, concat, elementwise, normalizeAxis, reduce, reshape, slice,
  split, transpose,
} from './tensor-math';
import {
  DEFAULT_FLOAT, EvalContext, ExprValue, Kind, asDType, castTensor, describeValue, fromAttr, fromElements, normalizeInt,
  tensorElements, tensorItem, tensorToList, toTensor,
} from './values';

/** One parameter of a function, as the checker sees it. */
export interface ParamSpec {
  readonly name: string;
  /** Kinds accepted (`int` is also a `number`; `dtype` and `string` are interchangeable); `any` accepts all. */
  readonly kinds: readonly Kind[] | 'any';
  /** May be left out (or passed as `none`). */
  readonly optional?: boolean;
  /** Takes this and every further argument (at least one). */
  readonly rest?: boolean;
}

/** What a function implementation gets besides its arguments. */
export interface CallContext {
  /** The call being evaluated. */
  readonly call: CallExpr;
  /** The model context (format, opsets), when the caller gave one. */
  readonly context: EvalContext;
  /** The offsets of argument `arg`, or of the whole call. */
  span(arg?: number): Span;
  /** Throws an ExprError at argument `arg` (or the whole call), prefixed with the function name. */
  fail(message: string, arg?: number, hint?: string): never;
}

/** A function of the expression language. */
export interface FunctionSpec {
  readonly name: string;
  /** One line for the docs. */
  readonly doc: string;
  /** For grouping in the docs. */
  readonly category: 'math' | 'tensor' | 'shape' | 'reduce' | 'test' | 'convert' | 'list' | 'graph';
  readonly params: readonly ParamSpec[];
  /** The result kind, or how it follows from the argument kinds. */
  readonly result: Kind | ((args: readonly Kind[]) => Kind);
  readonly impl: (args: readonly ExprValue[], ctx: CallContext) => ExprValue;
}

const NUM: readonly Kind[] = ['number', 'int', 'bool', 'tensor', 'value', 'list'];
const TENSOR: readonly Kind[] = ['tensor', 'value', 'list', 'number', 'int', 'bool'];
const INTS: readonly Kind[] = ['list', 'int', 'tensor', 'value'];
const INT: readonly Kind[] = ['int'];
const DTYPE: readonly Kind[] = ['dtype', 'string'];
const SHAPED: readonly Kind[] = ['tensor', 'value', 'list', 'number', 'int', 'bool'];

const p = (name: string, kinds: readonly Kind[] | 'any', more: { optional?: boolean; rest?: boolean } = {}): ParamSpec => ({
  name,
  kinds,
  ...more,
});

/** `tensor` when any argument is tensor-like, `unknown` when any is unknown, else `scalar`. */
function numericResult(scalar: Kind): (args: readonly Kind[]) => Kind {
  return (args) => {
    if (args.some((k) => k === 'tensor' || k === 'value' || k === 'list')) return 'tensor';
    if (args.some((k) => k === 'unknown')) return 'unknown';
    if (scalar === 'int' && args.some((k) => k === 'number')) return 'number';
    return scalar;
  };
}

// Arguments -----------------------------------------------------------------

/** A math operand: a scalar, or a tensor (a constant graph value or a list becomes one). */
export function operandOf(v: ExprValue, at: Span, what: string): Operand {
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return v;
  if (v instanceof Tensor) return v;
  if (v instanceof GraphValue) {
    if (v.const) return v.const;
    throw new ExprError(at.start, at.end, `${what}: graph value '${v.name}' is not a constant`, 'math needs constant values: capture it with :const in the pattern');
  }
  if (Array.isArray(v)) return toTensor(v, undefined, at);
  throw new ExprError(at.start, at.end, `${what}: expected a number or a tensor, got ${describeValue(v)}`);
}

function tensorOf(v: ExprValue, at: Span, what: string): Tensor {
  const o = operandOf(v, at, what);
  return o instanceof Tensor ? o : toTensor(o, undefined, at);
}

/** An integral scalar (a one-element tensor is fine). */
function intOf(v: ExprValue, at: Span, what: string): number {
  let x: ExprValue = v;
  if (x instanceof GraphValue && x.const) x = x.const;
  if (x instanceof Tensor && x.size === 1) x = tensorItem(x);
  if (typeof x === 'bigint') x = Number(x);
  if (typeof x === 'number' && Number.isInteger(x)) return x;
  throw new ExprError(at.start, at.end, `${what}: expected an integer, got ${describeValue(v)}`);
}

/** A list of integers: a list, a 1-D tensor, or a single integer. */
function intsOf(v: ExprValue, at: Span, what: string): number[] {
  let x: ExprValue = v;
  if (x instanceof GraphValue && x.const) x = x.const;
  if (x instanceof Tensor) {
    if (x.rank > 1) throw new ExprError(at.start, at.end, `${what}: expected a list of integers, got ${describeValue(x)}`);
    return [...tensorElements(x)].map((e) => intOf(typeof e === 'bigint' ? normalizeInt(e) : e, at, what));
  }
  if (Array.isArray(x)) return x.map((e) => intOf(e, at, what));
  return [intOf(x, at, what)];
}

function optional(v: ExprValue | undefined): ExprValue | undefined {
  return v === null ? undefined : v;
}

// Elementwise math -------------------------------------------------------------

/** Python/NumPy modulo: the result has the divisor's sign. */
function floorMod(a: number, b: number): number {
  const r = a % b;
  return r !== 0 && r < 0 !== b < 0 ? r + b : r;
}

function floorModBig(a: bigint, b: bigint): bigint {
  if (b === 0n) return 0n;
  const r = a % b;
  return r !== 0n && r < 0n !== b < 0n ? r + b : r;
}

function floorDivBig(a: bigint, b: bigint): bigint {
  if (b === 0n) return 0n;
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** int64 power, wrapping like NumPy's int64 (square and multiply, so huge exponents stay cheap). */
function powBig(a: bigint, b: bigint): bigint {
  if (b < 0n) {
    // NumPy refuses integers to negative powers; truncating 1/a^|b| toward zero is the closest integer answer.
    if (a === 1n) return 1n;
    if (a === -1n) return b % 2n === 0n ? 1n : -1n;
    return 0n;
  }
  let result = 1n;
  let base = BigInt.asIntN(64, a);
  for (let e = b; e > 0n; e >>= 1n) {
    if (e & 1n) result = BigInt.asIntN(64, result * base);
    base = BigInt.asIntN(64, base * base);
  }
  return result;
}

/** Round half to even, as NumPy does. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const bool = (x: boolean): number => (x ? 1 : 0);
const bigBool = (x: boolean): bigint => (x ? 1n : 0n);

/** The elementwise specs of the binary operators, shared with the evaluator. */
export const BINARY_OPS: Readonly<Record<string, ElementwiseSpec>> = {
  '+': { name: "'+'", result: 'common', num: (a, b) => a + b, big: (a, b) => a + b },
  '-': { name: "'-'", result: 'common', num: (a, b) => a - b, big: (a, b) => a - b },
  '*': { name: "'*'", result: 'common', num: (a, b) => a * b, big: (a, b) => a * b },
  '/': { name: "'/'", result: 'float', num: (a, b) => a / b },
  '//': { name: "'//'", result: 'common', num: (a, b) => Math.floor(a / b), big: floorDivBig, divides: true },
  '%': { name: "'%'", result: 'common', num: floorMod, big: floorModBig, divides: true },
  '**': { name: "'**'", result: 'common', num: (a, b) => a ** b, big: powBig },
  '==': { name: "'=='", result: 'bool', num: (a, b) => bool(a === b), big: (a, b) => bigBool(a === b) },
  '!=': { name: "'!='", result: 'bool', num: (a, b) => bool(a !== b), big: (a, b) => bigBool(a !== b) },
  '<': { name: "'<'", result: 'bool', num: (a, b) => bool(a < b), big: (a, b) => bigBool(a < b) },
  '<=': { name: "'<='", result: 'bool', num: (a, b) => bool(a <= b), big: (a, b) => bigBool(a <= b) },
  '>': { name: "'>'", result: 'bool', num: (a, b) => bool(a > b), big: (a, b) => bigBool(a > b) },
  '>=': { name: "'>='", result: 'bool', num: (a, b) => bool(a >= b), big: (a, b) => bigBool(a >= b) },
};

/** Unary minus, shared with the evaluator. */
export const NEGATE: ElementwiseSpec = { name: "unary '-'", result: 'common', num: (a) => -a, big: (a) => -a };

/**
 * Applies an elementwise spec to operands that may all be scalars: then the
 * result is a scalar (a JS number, a bigint beyond 2^53, a boolean for
 * comparisons), computed exactly for integers.
 */
export function applyElementwise(spec: ElementwiseSpec, operands: readonly Operand[], at: Span): ExprValue {
  if (operands.some((o) => o instanceof Tensor)) return elementwise(spec, operands, at);
  const scalars = operands as readonly (number | bigint | boolean)[];
  const integral = scalars.every((x) => typeof x !== 'number' || Number.isInteger(x));
  const anyBig = scalars.some((x) => typeof x === 'bigint');
  if (spec.big && spec.result !== 'float' && integral) {
    const [a = 0n, b = 0n, c = 0n] = scalars.map((x) => (typeof x === 'bigint' ? x : BigInt(Number(x))));
    if (spec.divides && b === 0n) throw new ExprError(at.start, at.end, `${spec.name}: integer division by zero`);
    const approx = spec.num(Number(scalars[0] ?? 0), Number(scalars[1] ?? 0), Number(scalars[2] ?? 0));
    if (spec.result === 'bool') return anyBig ? spec.big(a, b, c) !== 0n : approx !== 0;
    if (!anyBig && Number.isSafeInteger(approx)) return approx;
    // 2 ** -1 is 0.5, and results far beyond int64 are floats (as they would overflow an int64 tensor).
    if (!Number.isInteger(approx) || Math.abs(approx) > 2 ** 64) return approx;
    // Exact integers beyond 2^53: 2 ** 62 + 1, INT64_MAX - 1, products of large dims.
    return normalizeInt(spec === BINARY_OPS['**'] ? a ** b : spec.big(a, b, c));
  }
  const r = spec.num(Number(scalars[0] ?? 0), Number(scalars[1] ?? 0), Number(scalars[2] ?? 0));
  return spec.result === 'bool' ? r !== 0 : r;
}

function unaryMath(name: string, doc: string, num: (x: number) => number, keepsInts: boolean, big?: (x: bigint) => bigint): FunctionSpec {
  const spec: ElementwiseSpec = { name: `${name}()`, result: keepsInts ? 'common' : 'float', num, big };
  return {
    name,
    doc,
    category: 'math',
    params: [p('x', NUM)],
    result: numericResult(keepsInts ? 'int' : 'number'),
    impl: ([x], ctx) => applyElementwise(spec, [operandOf(x ?? null, ctx.span(0), `${name}()`)], ctx.span()),
  };
}

function variadicMath(name: string, doc: string, num: (a: number, b: number) => number, big: (a: bigint, b: bigint) => bigint): FunctionSpec {
  const spec: ElementwiseSpec = { name: `${name}()`, result: 'common', num, big };
  return {
    name,
    doc,
    category: 'math',
    params: [p('a', NUM), p('b', NUM, { rest: true })],
    result: numericResult('int'),
    impl: (args, ctx) => {
      let acc: ExprValue = operandOf(args[0] ?? null, ctx.span(0), `${name}()`) as ExprValue;
      for (let i = 1; i < args.length; i++) {
        const next = operandOf(args[i] ?? null, ctx.span(i), `${name}()`);
        acc = applyElementwise(spec, [acc as Operand, next], ctx.span());
      }
      return acc;
    },
  };
}

const nanMin = (a: number, b: number): number => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b));
const nanMax = (a: number, b: number): number => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b));

// Shape questions -------------------------------------------------------------

/** The shape of anything shaped: a graph value's declared shape (dims may be names or none). */
function shapeOf(v: ExprValue, ctx: CallContext, arg: number): ExprValue {
  if (v instanceof GraphValue) {
    const s = v.shape ?? v.const?.shape;
    return s ? [...s] : null;
  }
  if (v instanceof Tensor) return [...v.shape];
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return [];
  if (Array.isArray(v)) return [...toTensor(v, undefined, ctx.span(arg)).shape];
  return ctx.fail(`expected a tensor or a graph value, got ${describeValue(v)}`, arg);
}

function elementCount(shape: ExprValue): number | null {
  if (!Array.isArray(shape)) return null;
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number') return null;
    n *= d;
  }
  return n;
}

/** Elementwise truth of anything: every element as a boolean. */
function truths(v: ExprValue, ctx: CallContext, arg: number): boolean[] {
  if (typeof v === 'boolean') return [v];
  if (typeof v === 'number' || typeof v === 'bigint') return [v !== 0 && v !== 0n];
  const t = tensorOf(v, ctx.span(arg), `${ctx.call.callee}()`);
  return [...tensorElements(t)].map((e) => e !== 0 && e !== 0n);
}

function numbersOf(v: ExprValue, ctx: CallContext, arg: number): { shape: readonly number[]; data: Float64Array } {
  const o = operandOf(v, ctx.span(arg), `${ctx.call.callee}()`);
  if (o instanceof Tensor) {
    const e = tensorElements(o);
    return { shape: o.shape, data: e instanceof Float64Array ? e : Float64Array.from(e, (x) => Number(x)) };
  }
  return { shape: [], data: Float64Array.of(Number(o)) };
}

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

function dtypeArg(v: ExprValue | undefined, ctx: CallContext, arg: number): DType | undefined {
  return optional(v) === undefined ? undefined : asDType(v ?? null, ctx.span(arg));
}

function graphValueOf(v: ExprValue, ctx: CallContext, arg: number): GraphValue {
  if (v instanceof GraphValue) return v;
  return ctx.fail(`expected a captured graph value, got ${describeValue(v)}`, arg);
}

function nodeOf(v: ExprValue, ctx: CallContext, arg: number): Node {
  if (v instanceof Node) return v;
  if (v instanceof GraphValue && v.producer) return v.producer;
  return ctx.fail(`expected a captured node, got ${describeValue(v)}`, arg);
}

// The table ------------------------------------------------------------------

const FUNCTIONS: readonly FunctionSpec[] = [
  unaryMath('sqrt', 'square root', Math.sqrt, false),
  unaryMath('abs', 'absolute value', Math.abs, true, (x) => (x < 0n ? -x : x)),
  unaryMath('exp', 'e to the power x', Math.exp, false),
  unaryMath('log', 'natural logarithm', Math.log, false),
  unaryMath('sin', 'sine', Math.sin, false),
  unaryMath('cos', 'cosine', Math.cos, false),
  unaryMath('tan', 'tangent', Math.tan, false),
  unaryMath('asin', 'arc sine', Math.asin, false),
  unaryMath('acos', 'arc cosine', Math.acos, false),
  unaryMath('atan', 'arc tangent', Math.atan, false),
  unaryMath('tanh', 'hyperbolic tangent', Math.tanh, false),
  unaryMath('sigmoid', '1 / (1 + exp(-x))', (x) => 1 / (1 + Math.exp(-x)), false),
  unaryMath('reciprocal', '1 / x', (x) => 1 / x, false),
  unaryMath('floor', 'round down (integers stay integers)', Math.floor, true, (x) => x),
  unaryMath('ceil', 'round up', Math.ceil, true, (x) => x),
  unaryMath('round', 'round half to even, as NumPy', roundHalfEven, true, (x) => x),
  unaryMath('sign', '-1, 0 or 1', Math.sign, true, (x) => (x > 0n ? 1n : x < 0n ? -1n : 0n)),
  variadicMath('min', 'elementwise minimum of two or more operands (NumPy minimum)', nanMin, (a, b) => (a < b ? a : b)),
  variadicMath('max', 'elementwise maximum of two or more operands (NumPy maximum)', nanMax, (a, b) => (a > b ? a : b)),
  {
    name: 'pow',
    doc: 'x ** y',
    category: 'math',
    params: [p('x', NUM), p('y', NUM)],
    result: numericResult('number'),
    impl: ([x, y], ctx) => applyElementwise(BINARY_OPS['**']!, [operandOf(x ?? null, ctx.span(0), 'pow()'), operandOf(y ?? null, ctx.span(1), 'pow()')], ctx.span()),
  },
  {
    name: 'clip',
    doc: 'x limited to [lo, hi]; none leaves a side open',
    category: 'math',
    params: [p('x', NUM), p('lo', NUM, { optional: true }), p('hi', NUM, { optional: true })],
    result: (args) => numericResult('number')(args.slice(0, 1)),
    impl: ([x, lo, hi], ctx) => {
      const first = operandOf(x ?? null, ctx.span(0), 'clip()');
      let r: ExprValue = typeof first === 'boolean' ? Number(first) : first;
      if (optional(lo) !== undefined) {
        r = applyElementwise({ name: 'clip()', result: 'common', num: nanMax, typed: [0] }, [r as Operand, operandOf(lo ?? null, ctx.span(1), 'clip()')], ctx.span());
      }
      if (optional(hi) !== undefined) {
        r = applyElementwise({ name: 'clip()', result: 'common', num: nanMin, typed: [0] }, [r as Operand, operandOf(hi ?? null, ctx.span(2), 'clip()')], ctx.span());
      }
      return r;
    },
  },
  {
    name: 'where',
    doc: 'elementwise: a where cond is true, else b (broadcast)',
    category: 'math',
    params: [p('cond', NUM), p('a', NUM), p('b', NUM)],
    result: numericResult('number'),
    impl: ([c, a, b], ctx) => {
      const spec: ElementwiseSpec = { name: 'where()', result: 'common', num: (x, y, z) => (x ? y : z), big: (x, y, z) => (x ? y : z), typed: [1, 2] };
      return applyElementwise(spec, [0, 1, 2].map((i) => operandOf([c, a, b][i] ?? null, ctx.span(i), 'where()')), ctx.span());
    },
  },

  // Shape questions
  {
    name: 'shape',
    doc: "dimensions as a list; a graph value's declared shape (a dim may be a name or none); none if unknown",
    category: 'shape',
    params: [p('t', SHAPED)],
    result: 'list',
    impl: ([t], ctx) => shapeOf(t ?? null, ctx, 0),
  },
  {
    name: 'rank',
    doc: 'number of dimensions; none if unknown',
    category: 'shape',
    params: [p('t', SHAPED)],
    result: 'int',
    impl: ([t], ctx) => {
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
    doc: 'element type name ("float32"); none if unknown',
    category: 'shape',
    params: [p('t', SHAPED)],
    result: 'dtype',
    impl: ([t], ctx) => {
      const v = t ?? null;
      if (v instanceof GraphValue) return v.dtype ?? v.const?.dtype ?? null;
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
      if (new Set(at).size !== at.length) ctx.fail(`axis repeated in [${list.join(', ')}]`, 1);
      const dims = [...tensor.shape];
      const shape: number[] = [];
      for (let i = 0; i < rank; i++) shape.push(at.includes(i) ? 1 : (dims.shift() ?? 1));
      return reshape(tensor, shape, ctx.span());
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
      if (count > 1_000_000) ctx.fail(`range of ${count} items is too long (limit 1000000)`);
      return Array.from({ length: count }, (_, i) => from + i * by);
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

  // Tests (all give one bool)
  {
    name: 'all',
    doc: 'true when every element is true (non-zero)',
    category: 'test',
    params: [p('t', NUM)],
    result: 'bool',
    impl: ([t], ctx) => truths(t ?? null, ctx, 0).every((x) => x),
  },
  {
    name: 'any',
    doc: 'true when some element is true (non-zero)',
    category: 'test',
    params: [p('t', NUM)],
    result: 'bool',
    impl: ([t], ctx) => truths(t ?? null, ctx, 0).some((x) => x),
  },
  {
    name: 'is_close',
    doc: 'true when every |a - b| <= tol (broadcast; tol defaults to 1e-6)',
    category: 'test',
    params: [p('a', NUM), p('b', NUM), p('tol', ['number', 'int'], { optional: true })],
    result: 'bool',
    impl: ([a, b, tol], ctx) => {
      const x = numbersOf(a ?? null, ctx, 0);
      const y = numbersOf(b ?? null, ctx, 1);
      const t = optional(tol) === undefined ? 1e-6 : Number(scalarOf(tol ?? null, ctx, 2));
      const diff = elementwise({ name: 'is_close()', result: 'common', num: (u, v) => Math.abs(u - v) }, [fromElements('float64', x.shape, x.data), fromElements('float64', y.shape, y.data)], ctx.span());
      return tensorElements(diff).every((d) => d <= t);
    },
  },
  {
    name: 'in_range',
    doc: 'true when every element is within [lo, hi]',
    category: 'test',
    params: [p('x', NUM), p('lo', ['number', 'int']), p('hi', ['number', 'int'])],
    result: 'bool',
    impl: ([x, lo, hi], ctx) => {
      const { data } = numbersOf(x ?? null, ctx, 0);
      const l = Number(scalarOf(lo ?? null, ctx, 1));
      const h = Number(scalarOf(hi ?? null, ctx, 2));
      return data.every((e) => e >= l && e <= h);
    },
  },
  {
    name: 'is_scalar',
    doc: 'true for a number, or a tensor / graph value with exactly one element (shape [] or [1], [1, 1], ...)',
    category: 'test',
    params: [p('x', 'any')],
    result: 'bool',
    impl: ([x], ctx) => {
      const v = x ?? null;
      if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return true;
      if (v instanceof Tensor || v instanceof GraphValue) return elementCount(shapeOf(v, ctx, 0)) === 1;
      return false;
    },
  },
  {
    name: 'is_integer',
    doc: 'true when every element has an integral value (any integer dtype does)',
    category: 'test',
    params: [p('x', 'any')],
    result: 'bool',
    impl: ([x]) => {
      let v = x ?? null;
      if (typeof v === 'bigint') return true;
      if (typeof v === 'number') return Number.isInteger(v);
      if (v instanceof GraphValue) {
        if (!v.const) return false;
        v = v.const;
      }
      if (v instanceof Tensor) {
        if (isInteger(v.dtype)) return true;
        if (!isFloat(v.dtype)) return false;
        return tensorElements(v).every((e) => Number.isInteger(e));
      }
      return false;
    },
  },
  {
    name: 'is_const',
    doc: 'true for a constant: a graph value with constant data, a tensor, a number',
    category: 'test',
    params: [p('x', 'any')],
    result: 'bool',
    impl: ([x]) => {
      const v = x ?? null;
      if (v instanceof GraphValue) return v.isConstant;
      return !(v instanceof Node) && v !== null;
    },
  },
  {
    name: 'is_dtype',
    doc: 'true when the value is a dtype name',
    category: 'test',
    params: [p('name', 'any')],
    result: 'bool',
    impl: ([x]) => typeof x === 'string' && isDType(x),
  },
  {
    name: 'matches',
    doc: 'true when the text (or the name of a node / graph value) matches a glob (micromatch)',
    category: 'test',
    params: [p('text', ['string', 'node', 'value']), p('glob', ['string'])],
    result: 'bool',
    impl: ([x, glob], ctx) => {
      const v = x ?? null;
      const text = v instanceof GraphValue || v instanceof Node ? v.name : v;
      if (typeof text !== 'string') return ctx.fail(`expected a string, got ${describeValue(v)}`, 0);
      if (typeof glob !== 'string') return ctx.fail(`expected a glob string, got ${describeValue(glob ?? null)}`, 1);
      return micromatch.isMatch(text, glob);
    },
  },

  // The graph around a capture
  {
    name: 'uses',
    doc: 'how many readers a graph value has (node inputs and graph outputs)',
    category: 'graph',
    params: [p('v', ['value'])],
    result: 'int',
    impl: ([v], ctx) => graphValueOf(v ?? null, ctx, 0).useCount,
  },
  {
    name: 'is_output',
    doc: 'true when the graph value is a graph output',
    category: 'graph',
    params: [p('v', ['value'])],
    result: 'bool',
    impl: ([v], ctx) => graphValueOf(v ?? null, ctx, 0).isGraphOutput,
  },
  {
    name: 'is_input',
    doc: 'true when the graph value is a graph input',
    category: 'graph',
    params: [p('v', ['value'])],
    result: 'bool',
    impl: ([v], ctx) => graphValueOf(v ?? null, ctx, 0).isGraphInput,
  },
  {
    name: 'name',
    doc: 'the name of a node or graph value',
    category: 'graph',
    params: [p('x', ['node', 'value'])],
    result: 'string',
    impl: ([x], ctx) => {
      const v = x ?? null;
      if (v instanceof GraphValue || v instanceof Node) return v.name;
      return ctx.fail(`expected a node or a graph value, got ${describeValue(v)}`, 0);
    },
  },
  {
    name: 'op',
    doc: "a node's op type (of the producer, for a graph value); none for a graph input or constant",
    category: 'graph',
    params: [p('x', ['node', 'value'])],
    result: 'string',
    impl: ([x], ctx) => {
      const v = x ?? null;
      if (v instanceof GraphValue) return v.producer?.op ?? null;
      return nodeOf(v, ctx, 0).op;
    },
  },
  {
    name: 'attr',
    doc: "a node's attribute by name (ints as lists, tensors as tensors); none when absent",
    category: 'graph',
    params: [p('node', ['node', 'value']), p('name', ['string'])],
    result: 'unknown',
    impl: ([n, key], ctx) => {
      const node = nodeOf(n ?? null, ctx, 0);
      if (typeof key !== 'string') return ctx.fail(`expected an attribute name, got ${describeValue(key ?? null)}`, 1);
      const a = node.attrs.get(key);
      if (!a) return null;
      const v = fromAttr(a);
      if (v === undefined) return ctx.fail(`attribute '${key}' of node '${node.name}' is a ${a.kind}, which expressions cannot read`, 1);
      return v;
    },
  },
  {
    name: 'has_attr',
    doc: 'true when the node has the attribute',
    category: 'graph',
    params: [p('node', ['node', 'value']), p('name', ['string'])],
    result: 'bool',
    impl: ([n, key], ctx) => typeof key === 'string' && nodeOf(n ?? null, ctx, 0).attrs.has(key),
  },
  {
    name: 'format',
    doc: 'the format of the model being rewritten: "onnx", "tflite" or "openvino"; none without a model',
    category: 'graph',
    params: [],
    result: 'string',
    impl: (_args, ctx) => ctx.context.format ?? null,
  },
  {
    name: 'opset',
    doc: 'the opset version the model imports for a domain (default "": ai.onnx); none if it imports none',
    category: 'graph',
    params: [p('domain', ['string'], { optional: true })],
    result: 'int',
    impl: ([d], ctx) => {
      const domain = optional(d) === undefined ? '' : d;
      if (typeof domain !== 'string') return ctx.fail(`expected a domain name, got ${describeValue(domain ?? null)}`, 0);
      return ctx.context.opsets?.[domain] ?? null;
    },
  },
  {
    name: 'target',
    doc: 'the target the bundle is applied for (--target); none when not given',
    category: 'graph',
    params: [],
    result: 'string',
    impl: (_args, ctx) => ctx.context.target ?? null,
  },
];

function constOf(v: ExprValue): ExprValue {
  return v instanceof GraphValue && v.const ? v.const : v;
}

/** Bigints (INT64_MAX as "to the end") as doubles; values that large clamp anyway. */
function clampBig(v: ExprValue): ExprValue {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(clampBig);
  if (v instanceof Tensor && (v.dtype === 'int64' || v.dtype === 'uint64')) return [...tensorElements(v)].map((e) => Number(e));
  return v;
}

function scalarOf(v: ExprValue, ctx: CallContext, arg: number): number | bigint | boolean {
  const x = constOf(v);
  if (typeof x === 'number' || typeof x === 'bigint' || typeof x === 'boolean') return x;
  if (x instanceof Tensor && x.size === 1) return tensorItem(x);
  return ctx.fail(`expected a scalar, got ${describeValue(v)}`, arg);
}

/** The largest tensor full()/zeros()/ones() make: a recipe's constants are never this big. */
const MAX_ELEMENTS = 2 ** 28;

function fill(shape: readonly number[], value: ExprValue, dtype: DType | undefined, ctx: CallContext): Tensor {
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) ctx.fail(`invalid shape [${shape.join(', ')}]`, 0);
  const x = scalarOf(value, ctx, 1);
  const n = shape.reduce((a, b) => a * b, 1);
  if (n > MAX_ELEMENTS) ctx.fail(`a tensor of shape [${shape.join(', ')}] (${n} elements) is too large (limit ${MAX_ELEMENTS})`, 0);
  const target = dtype ?? toTensor(x).dtype;
  if (target === 'int64' || target === 'uint64') {
    return fromElements(target, shape, new BigInt64Array(n).fill(typeof x === 'bigint' ? x : BigInt(Math.trunc(Number(x)))));
  }
  return fromElements(target, shape, new Float64Array(n).fill(Number(x)));
}

const BY_NAME: ReadonlyMap<string, FunctionSpec> = new Map(FUNCTIONS.map((f) => [f.name, f]));

/** The function named `name`, if the language has one. */
export function lookupFunction(name: string): FunctionSpec | undefined {
  return BY_NAME.get(name);
}

/** Every function, sorted by category then name, for docs and `--help`. */
export function listFunctions(): readonly FunctionSpec[] {
  const order = ['math', 'reduce', 'shape', 'tensor', 'convert', 'list', 'test', 'graph'];
  return [...FUNCTIONS].sort((a, b) => order.indexOf(a.category) - order.indexOf(b.category) || a.name.localeCompare(b.name));
}

/** `slice(t, starts, ends, axes?, steps?)`: how a function is called. */
export function signatureOf(f: FunctionSpec): string {
  const params = f.params.map((q) => (q.rest ? `${q.name}...` : q.optional ? `${q.name}?` : q.name));
  return `${f.name}(${params.join(', ')})`;
}

/** Fewest and most arguments a function takes (most is Infinity for variadic ones). */
export function arityOf(f: FunctionSpec): { min: number; max: number } {
  const min = f.params.filter((q) => !q.optional).length;
  return { min, max: f.params.some((q) => q.rest) ? Infinity : f.params.length };
}

/** The parameter argument `i` binds to. */
export function paramFor(f: FunctionSpec, i: number): ParamSpec | undefined {
  const last = f.params[f.params.length - 1];
  return f.params[i] ?? (last?.rest ? last : undefined);
}

/** The error for a call of a function the table does not have, with a "did you mean". */
export function unknownFunction(e: CallExpr): ExprError {
  const guess = closest(e.callee, BY_NAME.keys());
  return new ExprError(e.calleeStart, e.calleeEnd, `unknown function '${e.callee}'`, guess ? `did you mean '${guess}'?` : 'see docs/expressions.md for the functions');
}

/** The error for a call with too few or too many arguments; it covers the extra arguments when there are some. */
export function arityError(e: CallExpr, f: FunctionSpec, min: number, max: number): ExprError {
  const expected = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
  const extra = e.args[max];
  const at = e.args.length > max && extra ? { start: extra.start, end: e.args[e.args.length - 1]!.end } : e;
  return new ExprError(at.start, at.end, `${e.callee}() takes ${expected} argument${expected === '1' ? '' : 's'}, got ${e.args.length}`, `call it as ${signatureOf(f)}`);
}
