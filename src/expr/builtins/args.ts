/**
 * How functions read their arguments: the kinds a parameter accepts, and the
 * conversions from any expression value to what an implementation needs
 * (a tensor, an integer, a list of axes), each failing with the argument's offsets.
 */
import { DType } from '../../ir/dtype';
import { Node, Value as GraphValue } from '../../ir/graph';
import { Tensor } from '../../ir/tensor';
import { constantOf } from '../../formats/onnx/shapes';
import { ExprError, Span } from '../errors';
import type { CallContext, ParamSpec } from '../functions';
import { Operand } from '../tensor-math';
import { ExprValue, Kind, asDType, describeValue, normalizeInt, tensorElements, tensorItem, toTensor } from '../values';

/** Parameter kinds: a number or anything that becomes a tensor. */
export const NUM: readonly Kind[] = ['number', 'int', 'bool', 'tensor', 'value', 'list'];
/** Parameter kinds: anything that becomes a tensor. */
export const TENSOR: readonly Kind[] = ['tensor', 'value', 'list', 'number', 'int', 'bool'];
/** Parameter kinds: a list of integers (axes, a shape), or one. */
export const INTS: readonly Kind[] = ['list', 'int', 'tensor', 'value'];
/** Parameter kinds: one integer. */
export const INT: readonly Kind[] = ['int'];
/** Parameter kinds: a dtype name. */
export const DTYPE: readonly Kind[] = ['dtype', 'string'];
/** Parameter kinds: anything with a shape, graph values included. */
export const SHAPED: readonly Kind[] = ['tensor', 'value', 'list', 'number', 'int', 'bool'];

/** A parameter spec, briefly. */
export const p = (name: string, kinds: readonly Kind[] | 'any', more: { optional?: boolean; rest?: boolean } = {}): ParamSpec => ({
  name,
  kinds,
  ...more,
});

/** `tensor` when any argument is tensor-like, `unknown` when any is unknown, else `scalar`. */
export function numericResult(scalar: Kind): (args: readonly Kind[]) => Kind {
  return (args) => {
    if (args.some((k) => k === 'tensor' || k === 'value' || k === 'list')) return 'tensor';
    if (args.some((k) => k === 'unknown')) return 'unknown';
    if (scalar === 'int' && args.some((k) => k === 'number')) return 'number';
    return scalar;
  };
}


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

/** An argument as a tensor (a scalar becomes a 0-d tensor). */
export function tensorOf(v: ExprValue, at: Span, what: string): Tensor {
  const o = operandOf(v, at, what);
  return o instanceof Tensor ? o : toTensor(o, undefined, at);
}

/** An integral scalar (a one-element tensor is fine). */
export function intOf(v: ExprValue, at: Span, what: string): number {
  let x: ExprValue = v;
  if (x instanceof GraphValue && x.const) x = x.const;
  if (x instanceof Tensor && x.size === 1) x = tensorItem(x);
  if (typeof x === 'bigint') x = Number(x);
  if (typeof x === 'number' && Number.isInteger(x)) return x;
  throw new ExprError(at.start, at.end, `${what}: expected an integer, got ${describeValue(v)}`);
}

/** A list of integers: a list, a 1-D tensor, or a single integer. */
export function intsOf(v: ExprValue, at: Span, what: string): number[] {
  let x: ExprValue = v;
  if (x instanceof GraphValue && x.const) x = x.const;
  if (x instanceof Tensor) {
    if (x.rank > 1) throw new ExprError(at.start, at.end, `${what}: expected a list of integers, got ${describeValue(x)}`);
    return [...tensorElements(x)].map((e) => intOf(typeof e === 'bigint' ? normalizeInt(e) : e, at, what));
  }
  if (Array.isArray(x)) return x.map((e) => intOf(e, at, what));
  return [intOf(x, at, what)];
}

/** An argument left out or passed as `none`. */
export function optional(v: ExprValue | undefined): ExprValue | undefined {
  return v === null ? undefined : v;
}

/** The shape of anything shaped: a graph value's declared shape (dims may be names or none). */
export function shapeOf(v: ExprValue, ctx: CallContext, arg: number): ExprValue {
  if (v instanceof GraphValue) {
    // An ONNX Constant node's output declares no shape; its tensor fixes it (PyTorch writes small constants so).
    const s = v.shape ?? v.const?.shape ?? constantOf(v)?.shape;
    return s ? [...s] : null;
  }
  if (v instanceof Tensor) return [...v.shape];
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return [];
  if (Array.isArray(v)) return [...toTensor(v, undefined, ctx.span(arg)).shape];
  return ctx.fail(`expected a tensor or a graph value, got ${describeValue(v)}`, arg);
}

/** The number of elements of a shape; null when a dimension is not a number. */
export function elementCount(shape: ExprValue): number | null {
  if (!Array.isArray(shape)) return null;
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number') return null;
    n *= d;
  }
  return n;
}

/** Elementwise truth of anything: every element as a boolean. */
export function truths(v: ExprValue, ctx: CallContext, arg: number): boolean[] {
  if (typeof v === 'boolean') return [v];
  if (typeof v === 'number' || typeof v === 'bigint') return [v !== 0 && v !== 0n];
  const t = tensorOf(v, ctx.span(arg), `${ctx.call.callee}()`);
  return [...tensorElements(t)].map((e) => e !== 0 && e !== 0n);
}

/** An argument's elements as doubles, with its shape. */
export function numbersOf(v: ExprValue, ctx: CallContext, arg: number): { shape: readonly number[]; data: Float64Array } {
  const o = operandOf(v, ctx.span(arg), `${ctx.call.callee}()`);
  if (o instanceof Tensor) {
    const e = tensorElements(o);
    return { shape: o.shape, data: e instanceof Float64Array ? e : Float64Array.from(e, (x) => Number(x)) };
  }
  return { shape: [], data: Float64Array.of(Number(o)) };
}

/** An optional dtype argument. */
export function dtypeArg(v: ExprValue | undefined, ctx: CallContext, arg: number): DType | undefined {
  return optional(v) === undefined ? undefined : asDType(v ?? null, ctx.span(arg));
}

/** A captured graph value, or the argument's error. */
export function graphValueOf(v: ExprValue, ctx: CallContext, arg: number): GraphValue {
  if (v instanceof GraphValue) return v;
  return ctx.fail(`expected a captured graph value, got ${describeValue(v)}`, arg);
}

/** A captured node (a graph value stands for its producer), or the argument's error. */
export function nodeOf(v: ExprValue, ctx: CallContext, arg: number): Node {
  if (v instanceof Node) return v;
  if (v instanceof GraphValue && v.producer) return v.producer;
  return ctx.fail(`expected a captured node, got ${describeValue(v)}`, arg);
}

/** A constant graph value as its tensor; anything else as it is. */
export function constOf(v: ExprValue): ExprValue {
  return v instanceof GraphValue && v.const ? v.const : v;
}

/** Bigints (INT64_MAX as "to the end") as doubles; values that large clamp anyway. */
export function clampBig(v: ExprValue): ExprValue {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(clampBig);
  if (v instanceof Tensor && (v.dtype === 'int64' || v.dtype === 'uint64')) return [...tensorElements(v)].map((e) => Number(e));
  return v;
}

/** A scalar argument (a one-element tensor is fine). */
/** A number argument (a tolerance, a bound): a bool is none, as the checker says before a model is there. */
export function numberArg(v: ExprValue, ctx: CallContext, arg: number): number {
  const x = scalarOf(v, ctx, arg);
  return typeof x === 'boolean' ? ctx.fail(`expected a number, got ${describeValue(v)}`, arg) : Number(x);
}

export function scalarOf(v: ExprValue, ctx: CallContext, arg: number): number | bigint | boolean {
  const x = constOf(v);
  if (typeof x === 'number' || typeof x === 'bigint' || typeof x === 'boolean') return x;
  if (x instanceof Tensor && x.size === 1) return tensorItem(x);
  return ctx.fail(`expected a scalar, got ${describeValue(v)}`, arg);
}
