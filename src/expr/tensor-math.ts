/**
 * Tensor math for the expression language: dtype promotion, NumPy-style
 * broadcasting, elementwise maps, reductions and layout (reshape, transpose,
 * slice, concat, split). Elements are computed as doubles, or as bigints for
 * int64/uint64 so those stay exact; each result is stored in its dtype, so a
 * float32 computation rounds after every operation, as NumPy's float32 does.
 */
import { DType, DTYPES, isFloat } from '../ir/dtype';
import { Tensor } from '../ir/tensor';
import { ExprError, Span } from './errors';
import { MAX_TENSOR_ELEMENTS } from './limits';
import {
  DEFAULT_FLOAT, DEFAULT_INT, NumberArray, SCRATCH_ELEMENTS, castTensor, floatTensor, fromElements, isWideInt, nativeArray, numberElements, numbersFor, tensorElements, wrapNative,
} from './values';

/** An operand of elementwise math: a tensor, or a bare scalar that adopts the tensors' dtype. */
export type Operand = Tensor | number | bigint | boolean;

type Elements = Float64Array | BigInt64Array;

const INT_BY_BITS: Readonly<Record<number, DType>> = { 8: 'int8', 16: 'int16', 32: 'int32', 64: 'int64' };

/**
 * The dtype two tensors' elements are combined in. Like NumPy, except that an
 * integer never widens a float (float32 with int32 stays float32: constants of
 * a float32 model should stay float32).
 */
export function promoteTypes(a: DType, b: DType, at: Span): DType {
  if (a === b) return a;
  const ka = DTYPES[a].kind;
  const kb = DTYPES[b].kind;
  if (ka === 'bool') return b;
  if (kb === 'bool') return a;
  const numeric = (k: string): boolean => k === 'float' || k === 'int' || k === 'uint';
  if (!numeric(ka) || !numeric(kb)) {
    throw new ExprError(at.start, at.end, `cannot combine ${a} and ${b} elements`);
  }
  const bitsA = DTYPES[a].bits;
  const bitsB = DTYPES[b].bits;
  if (ka === 'float' && kb === 'float') return bitsA === bitsB ? 'float32' : bitsA > bitsB ? a : b;
  if (ka === 'float') return a;
  if (kb === 'float') return b;
  if (ka === kb) return bitsA >= bitsB ? a : b;
  // One signed, one unsigned: a signed type that holds both.
  const [signedBits, unsignedBits] = ka === 'int' ? [bitsA, bitsB] : [bitsB, bitsA];
  const need = Math.max(signedBits, unsignedBits * 2, 8);
  return INT_BY_BITS[Math.min(need, 64)] ?? 'int64';
}

/**
 * The dtype elementwise math on these operands computes in. Bare scalars are
 * "weak" (NumPy 2 rules): `float32 tensor * 2.5` stays float32, `int32 tensor + 1`
 * stays int32; a non-integral scalar with an integer tensor gives float32.
 */
export function commonDType(operands: readonly Operand[], at: Span): DType {
  let strong: DType | undefined;
  let weakFloat = false;
  let weakInt = false;
  for (const op of operands) {
    if (op instanceof Tensor) strong = strong ? promoteTypes(strong, op.dtype, at) : op.dtype;
    else if (typeof op === 'bigint') weakInt = true;
    else if (typeof op === 'number') {
      if (Number.isInteger(op)) weakInt = true;
      else weakFloat = true;
    }
  }
  if (!strong) return weakFloat ? DEFAULT_FLOAT : weakInt ? DEFAULT_INT : 'bool';
  if (weakFloat && !isFloat(strong)) return DEFAULT_FLOAT;
  if (weakInt && strong === 'bool') return DEFAULT_INT;
  return strong;
}

/** The shape operands broadcast to, NumPy rules; throws naming the shapes. */
export function broadcastShapes(shapes: readonly (readonly number[])[], what: string, at: Span): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let dim = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + i] ?? 1;
      if (d === 1) continue;
      if (dim !== 1 && d !== dim) {
        const list = shapes.map((x) => `[${x.join(', ')}]`).join(' and ');
        throw new ExprError(at.start, at.end, `${what}: cannot broadcast shapes ${list}`, `dimension ${i - rank} differs (${dim} vs ${d}); sizes must be equal or 1`);
      }
      dim = d;
    }
    out.push(dim);
  }
  const n = sizeOf(out);
  if (n > MAX_TENSOR_ELEMENTS) {
    throw new ExprError(at.start, at.end, `${what}: the result of shape [${out.join(', ')}] (${n} elements) is too large (limit ${MAX_TENSOR_ELEMENTS})`);
  }
  return out;
}

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** For each element of `outShape`, the flat index of the broadcast element of `inShape`. */
function broadcastIndex(inShape: readonly number[], outShape: readonly number[]): Uint32Array | null {
  if (inShape.length === outShape.length && inShape.every((d, i) => d === outShape[i])) return null;
  const rank = outShape.length;
  const strides = new Array<number>(rank).fill(0);
  let stride = 1;
  for (let i = inShape.length - 1; i >= 0; i--) {
    const d = inShape[i] ?? 1;
    strides[rank - inShape.length + i] = d === 1 ? 0 : stride;
    stride *= d;
  }
  return gatherIndex(outShape, (idx) => {
    let flat = 0;
    for (let i = 0; i < rank; i++) flat += (idx[i] ?? 0) * (strides[i] ?? 0);
    return flat;
  });
}

/** Calls `source` with the multi-index of each element of `shape` (row-major) and collects the results. */
function gatherIndex(shape: readonly number[], source: (idx: readonly number[]) => number): Uint32Array {
  const n = sizeOf(shape);
  const out = new Uint32Array(n);
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < n; flat++) {
    out[flat] = source(idx);
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      const next = (idx[axis] ?? 0) + 1;
      if (next < (shape[axis] ?? 1)) {
        idx[axis] = next;
        break;
      }
      idx[axis] = 0;
    }
  }
  return out;
}

/** A scalar rounded as an element of `dtype` would be (1e-5 as float32 is 9.99999974e-6). */
function roundTo(dtype: DType, x: number): number {
  if (dtype === 'float64') return x;
  if (dtype === 'float32') return Math.fround(x);
  return Tensor.from(dtype, [], [x]).toFloat64()[0] ?? NaN;
}

/** How an elementwise function computes, and which dtype its result has. */
export interface ElementwiseSpec {
  /** Name for messages: `'+'`, `sqrt()`. */
  readonly name: string;
  readonly num: (a: number, b: number, c: number) => number;
  /** Exact version for int64/uint64 elements; without it they are computed as doubles. */
  readonly big?: (a: bigint, b: bigint, c: bigint) => bigint;
  /**
   * `common`: the operands' common dtype; `float`: that dtype if it is a float,
   * else float32 (true division, sqrt of ints); `bool`: comparisons.
   */
  readonly result: 'common' | 'float' | 'bool';
  /** Which operands decide the dtype (default: all); `where()`'s condition does not. */
  readonly typed?: readonly number[];
  /** Integer division or modulo: a scalar integer divisor of 0 is an error, not 0 or NaN. */
  readonly divides?: boolean;
}

/** Applies `spec` elementwise to broadcast operands (at least one of them a tensor). */
export function elementwise(spec: ElementwiseSpec, operands: readonly Operand[], at: Span): Tensor {
  return sameShapeFloat(spec, operands) ?? broadcastElementwise(spec, operands, at);
}

/**
 * The common case of rule arithmetic, without the bookkeeping of broadcasting:
 * float32 or float64 tensors of one dtype and one shape, and plain numbers.
 * The result is what the general path computes (the numbers are weak, so the
 * dtype stays; each is rounded to it first, each result is stored in it), and
 * undefined when the operands are anything else.
 */
function sameShapeFloat(spec: ElementwiseSpec, operands: readonly Operand[]): Tensor | undefined {
  if (spec.result === 'bool' || spec.typed) return undefined;
  let like: Tensor | undefined;
  for (const o of operands) {
    if (typeof o === 'number') continue;
    if (!(o instanceof Tensor) || (o.dtype !== 'float32' && o.dtype !== 'float64')) return undefined;
    if (!like) like = o;
    else if (o.dtype !== like.dtype || !sameDims(o.shape, like.shape)) return undefined;
  }
  if (!like) return undefined;
  const dtype = like.dtype as 'float32' | 'float64';
  const n = like.size;
  // Each operand as n elements, or one number that every element sees.
  const e0 = tensorOperand(operands[0], SCRATCH[0]!);
  const e1 = tensorOperand(operands[1], SCRATCH[1]!);
  const e2 = tensorOperand(operands[2], SCRATCH[2]!);
  const x0 = numberOperand(operands[0], dtype);
  const x1 = numberOperand(operands[1], dtype);
  const x2 = numberOperand(operands[2], dtype);
  const out = new Float64Array(n);
  const num = spec.num;
  for (let i = 0; i < n; i++) out[i] = num(e0 ? e0[i]! : x0, e1 ? e1[i]! : x1, e2 ? e2[i]! : x2);
  // Rounded to float32 by floatTensor, as a Float32Array store would round them.
  return floatTensor(dtype, like.shape, out);
}

/** Where sameShapeFloat decodes the elements of its (at most three) small operands: read at once, never kept. */
const SCRATCH = [new Float64Array(SCRATCH_ELEMENTS), new Float64Array(SCRATCH_ELEMENTS), new Float64Array(SCRATCH_ELEMENTS)];

function tensorOperand(o: Operand | undefined, scratch: Float64Array): NumberArray | undefined {
  return o instanceof Tensor ? numbersFor(o, scratch) : undefined;
}

function numberOperand(o: Operand | undefined, dtype: DType): number {
  return typeof o === 'number' ? roundTo(dtype, o) : 0;
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The general elementwise path: any dtypes, NumPy broadcasting, bigints for
 * int64. `elementwise` takes a shortcut for same-shape floats; this is what
 * the shortcut must agree with (exported for that test).
 */
export function broadcastElementwise(spec: ElementwiseSpec, operands: readonly Operand[], at: Span): Tensor {
  const typedOps = spec.typed ? spec.typed.map((i) => operands[i]!).filter((x) => x !== undefined) : operands;
  const common = commonDType(typedOps, at);
  checkNumeric(common, spec.name, at);
  const shapes = operands.map((o) => (o instanceof Tensor ? o.shape : []));
  const outShape = broadcastShapes(shapes, spec.name, at);
  const n = sizeOf(outShape);
  const resultDType = spec.result === 'bool' ? 'bool' : spec.result === 'float' && !isFloat(common) ? DEFAULT_FLOAT : common;
  const typed = new Set(spec.typed ?? operands.map((_, i) => i));
  const indexes = operands.map((o) => (o instanceof Tensor && o.size !== 1 ? broadcastIndex(o.shape, outShape) : null));
  const single = operands.map((o) => !(o instanceof Tensor) || o.size === 1);

  if (isWideInt(common) && spec.big && spec.result !== 'float') {
    const big = spec.big;
    const data = operands.map((o) => bigElements(o));
    const out = spec.result === 'bool' ? new Float64Array(n) : new BigInt64Array(n);
    const pick = (k: number, i: number): bigint => {
      const d = data[k];
      if (!d) return 0n;
      return d[single[k] ? 0 : (indexes[k]?.[i] ?? i)] ?? 0n;
    };
    for (let i = 0; i < n; i++) {
      const r = big(pick(0, i), pick(1, i), pick(2, i));
      if (out instanceof Float64Array) out[i] = r ? 1 : 0;
      else out[i] = r;
    }
    return fromElements(resultDType, outShape, out);
  }

  const data = operands.map((o, k) => floatElements(o, typed.has(k) ? common : undefined));
  // Results go straight into an array of the result dtype when there is one (it rounds as the dtype does).
  const native = nativeArray(resultDType, n);
  const out = native ?? new Float64Array(n);
  const done = (): Tensor => (native ? wrapNative(resultDType, outShape, native) : finish(resultDType, outShape, out as Float64Array));
  const num = spec.num;
  const [d0, d1, d2] = data;
  const [i0, i1, i2] = indexes;
  const [s0, s1, s2] = single;
  if (d0 && d1 && !d2 && !i0 && !i1 && !(s0 && s1)) {
    // The common case (same shapes, or a tensor and a scalar) without index lookups.
    if (s1) {
      const y = d1[0]!;
      for (let i = 0; i < n; i++) out[i] = num(d0[i]!, y, 0);
    } else if (s0) {
      const x = d0[0]!;
      for (let i = 0; i < n; i++) out[i] = num(x, d1[i]!, 0);
    } else {
      for (let i = 0; i < n; i++) out[i] = num(d0[i]!, d1[i]!, 0);
    }
    return done();
  }
  if (d0 && !d1 && !i0 && !s0) {
    for (let i = 0; i < n; i++) out[i] = num(d0[i]!, 0, 0);
    return done();
  }
  for (let i = 0; i < n; i++) {
    const a = d0 ? d0[s0 ? 0 : (i0 ? i0[i]! : i)]! : 0;
    const b = d1 ? d1[s1 ? 0 : (i1 ? i1[i]! : i)]! : 0;
    const c = d2 ? d2[s2 ? 0 : (i2 ? i2[i]! : i)]! : 0;
    out[i] = num(a, b, c);
  }
  return done();
}

/** Stores computed doubles as `dtype` (int64 by truncation, non-finite values as 0). */
function finish(dtype: DType, shape: readonly number[], out: Float64Array): Tensor {
  if (isWideInt(dtype)) {
    return fromElements(dtype, shape, BigInt64Array.from(out, (x) => (Number.isFinite(x) ? BigInt(Math.trunc(x)) : 0n)));
  }
  return fromElements(dtype, shape, out);
}

function checkNumeric(dtype: DType, what: string, at: Span): void {
  const kind = DTYPES[dtype].kind;
  if (kind === 'string' || kind === 'complex' || kind === 'opaque') {
    throw new ExprError(at.start, at.end, `${what}: ${dtype} elements are not supported`);
  }
}

function bigElements(o: Operand): BigInt64Array {
  if (o instanceof Tensor) {
    const e = tensorElements(o);
    if (e instanceof BigInt64Array) return e;
    return BigInt64Array.from(e, (x) => (Number.isFinite(x) ? BigInt(Math.trunc(x)) : 0n));
  }
  if (typeof o === 'bigint') return BigInt64Array.of(o);
  if (typeof o === 'boolean') return BigInt64Array.of(o ? 1n : 0n);
  return BigInt64Array.of(BigInt(Math.trunc(o)));
}

/** Elements as doubles; cast first to `dtype` (rounding) when given and different. */
function floatElements(o: Operand, dtype: DType | undefined): NumberArray {
  if (o instanceof Tensor) return numberElements(dtype && dtype !== o.dtype ? castTensor(o, dtype) : o);
  const x = Number(o);
  return Float64Array.of(dtype ? roundTo(dtype, x) : x);
}

/** Reductions: which elements are folded, and how. */
export type Reduction = 'sum' | 'mean' | 'max' | 'min' | 'prod';

/** Normalizes an axis (negative counts from the end) against a rank; throws when out of range. */
export function normalizeAxis(axis: number, rank: number, at: Span, what: string): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new ExprError(at.start, at.end, `${what}: axis ${axis} is out of range for rank ${rank}`, rank > 0 ? `axes go from ${-rank} to ${rank - 1}` : 'a scalar has no axes');
  }
  return axis < 0 ? axis + rank : axis;
}

/**
 * Folds `t` over `axes` (all axes when null). sum/prod/max/min keep the dtype
 * (bool sums to int64); mean gives a float. Float sums accumulate in float64
 * and round once, so they may differ from NumPy's pairwise float32 sums by an ulp.
 */
export function reduce(t: Tensor, how: Reduction, axes: readonly number[] | null, keepdims: boolean, at: Span): Tensor {
  const rank = t.rank;
  const reduced = new Set((axes ?? t.shape.map((_, i) => i)).map((a) => normalizeAxis(a, rank, at, `${how}()`)));
  const outShapeKeep = t.shape.map((d, i) => (reduced.has(i) ? 1 : d));
  const outShape = keepdims ? outShapeKeep : t.shape.filter((_, i) => !reduced.has(i));
  const outSize = sizeOf(outShapeKeep);
  const count = t.size / Math.max(1, outSize);
  if (count === 0 && (how === 'max' || how === 'min')) {
    throw new ExprError(at.start, at.end, `reduce_${how}() of an empty tensor (shape [${t.shape.join(', ')}])`);
  }
  // Output flat index of each input element.
  const strides = new Array<number>(rank).fill(0);
  let stride = 1;
  for (let i = rank - 1; i >= 0; i--) {
    strides[i] = reduced.has(i) ? 0 : stride;
    stride *= outShapeKeep[i] ?? 1;
  }
  const target = gatherIndex(t.shape, (idx) => {
    let flat = 0;
    for (let i = 0; i < rank; i++) flat += (idx[i] ?? 0) * (strides[i] ?? 0);
    return flat;
  });
  const dtype: DType = how === 'mean' ? (isFloat(t.dtype) ? t.dtype : DEFAULT_FLOAT) : t.dtype === 'bool' && (how === 'sum' || how === 'prod') ? DEFAULT_INT : t.dtype;
  checkNumeric(t.dtype, `${how}()`, at);
  const src = tensorElements(t);
  if (src instanceof BigInt64Array && how !== 'mean') {
    const out = new BigInt64Array(outSize);
    const seen = new Uint8Array(outSize);
    if (how === 'prod') out.fill(1n);
    for (let i = 0; i < src.length; i++) {
      const o = target[i]!;
      const x = src[i]!;
      const cur = out[o]!;
      if (how === 'sum') out[o] = cur + x;
      else if (how === 'prod') out[o] = cur * x;
      else if (!seen[o] || (how === 'max' ? x > cur : x < cur)) out[o] = x;
      seen[o] = 1;
    }
    return fromElements(dtype, outShape, out);
  }
  const out = new Float64Array(outSize);
  if (how === 'prod') out.fill(1);
  if (how === 'max') out.fill(-Infinity);
  if (how === 'min') out.fill(Infinity);
  for (let i = 0; i < src.length; i++) {
    const o = target[i]!;
    const x = Number(src[i]!);
    const cur = out[o]!;
    if (how === 'sum' || how === 'mean') out[o] = cur + x;
    else if (how === 'prod') out[o] = cur * x;
    else if (Number.isNaN(x) || (how === 'max' ? x > cur : x < cur)) out[o] = x;
    else if (Number.isNaN(cur)) out[o] = cur;
  }
  if (how === 'mean') for (let i = 0; i < outSize; i++) out[i] = out[i]! / count;
  if (isWideInt(dtype)) return fromElements(dtype, outShape, BigInt64Array.from(out, (x) => BigInt(Math.trunc(x))));
  return fromElements(dtype, outShape, out);
}

/** A tensor of `t`'s dtype whose element i is `t`'s element `source[i]`. */
function take(t: Tensor, shape: readonly number[], source: Uint32Array | null): Tensor {
  if (!source) return new Tensor(t.dtype, [...shape], t.data);
  const src = tensorElements(t);
  if (src instanceof BigInt64Array) {
    const out = new BigInt64Array(source.length);
    for (let i = 0; i < source.length; i++) out[i] = src[source[i]!]!;
    return fromElements(t.dtype, shape, out);
  }
  const out = new Float64Array(source.length);
  for (let i = 0; i < source.length; i++) out[i] = src[source[i]!]!;
  return fromElements(t.dtype, shape, out);
}

/** Row-major strides of a shape. */
function stridesOf(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) out[i] = (out[i + 1] ?? 1) * (shape[i + 1] ?? 1);
  return out;
}

/** NumPy reshape: one dimension may be -1 (inferred). The data is shared, not copied. */
export function reshape(t: Tensor, shape: readonly number[], at: Span): Tensor {
  const known = shape.filter((d) => d !== -1);
  const inferred = shape.length - known.length;
  if (inferred > 1 || known.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ExprError(at.start, at.end, `reshape(): invalid shape [${shape.join(', ')}]`, 'sizes must be integers >= 0, with at most one -1');
  }
  const knownSize = sizeOf(known);
  const out = [...shape];
  if (inferred === 1) {
    if (knownSize === 0 || t.size % knownSize !== 0) {
      throw new ExprError(at.start, at.end, `reshape(): cannot reshape shape [${t.shape.join(', ')}] (${t.size} elements) into [${shape.join(', ')}]`);
    }
    out[out.indexOf(-1)] = t.size / knownSize;
  } else if (knownSize !== t.size) {
    throw new ExprError(at.start, at.end, `reshape(): cannot reshape shape [${t.shape.join(', ')}] (${t.size} elements) into [${shape.join(', ')}] (${knownSize} elements)`);
  }
  return new Tensor(t.dtype, out, t.data);
}

/**
 * ONNX Expand (NumPy broadcast_to, both ways): `t` repeated to the shape it
 * and `shape` broadcast to, element by element as transpose() moves them.
 */
export function expand(t: Tensor, shape: readonly number[], at: Span): Tensor {
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new ExprError(at.start, at.end, `expand(): invalid shape [${shape.join(', ')}]`, 'sizes must be integers >= 0');
  const outShape = broadcastShapes([t.shape, shape], 'expand()', at);
  const source = broadcastIndex(t.shape, outShape);
  return source ? take(t, outShape, source) : t;
}

/** ONNX Tile: `t` repeated `repeats[i]` times along each axis i. */
export function tile(t: Tensor, repeats: readonly number[], at: Span): Tensor {
  if (repeats.length !== t.rank) throw new ExprError(at.start, at.end, `tile(): ${repeats.length} repeats for a tensor of rank ${t.rank}`, 'give one repeat count per axis');
  if (repeats.some((r) => !Number.isInteger(r) || r < 0)) throw new ExprError(at.start, at.end, `tile(): invalid repeats [${repeats.join(', ')}]`, 'counts must be integers >= 0');
  const outShape = t.shape.map((d, i) => d * repeats[i]!);
  const n = sizeOf(outShape);
  if (n > MAX_TENSOR_ELEMENTS) throw new ExprError(at.start, at.end, `tile(): the result of shape [${outShape.join(', ')}] (${n} elements) is too large (limit ${MAX_TENSOR_ELEMENTS})`);
  const inStrides = stridesOf(t.shape);
  const source = gatherIndex(outShape, (idx) => {
    let flat = 0;
    for (let i = 0; i < t.rank; i++) flat += ((idx[i] ?? 0) % (t.shape[i] ?? 1)) * (inStrides[i] ?? 0);
    return flat;
  });
  return take(t, outShape, source);
}

/** Permutes axes; `perm` defaults to reversing them. */
export function transpose(t: Tensor, perm: readonly number[] | null, at: Span): Tensor {
  const rank = t.rank;
  const p = perm ? perm.map((a) => normalizeAxis(a, rank, at, 'transpose()')) : t.shape.map((_, i) => rank - 1 - i);
  if (p.length !== rank || new Set(p).size !== rank) {
    throw new ExprError(at.start, at.end, `transpose(): [${(perm ?? []).join(', ')}] is not a permutation of the ${rank} axes of shape [${t.shape.join(', ')}]`);
  }
  const outShape = p.map((a) => t.shape[a] ?? 1);
  const inStrides = stridesOf(t.shape);
  const source = gatherIndex(outShape, (idx) => {
    let flat = 0;
    for (let i = 0; i < rank; i++) flat += (idx[i] ?? 0) * (inStrides[p[i]!] ?? 0);
    return flat;
  });
  return take(t, outShape, source);
}

/**
 * ONNX Slice: for each of `axes` (default 0..n-1), elements from `starts` up
 * to `ends` (exclusive) by `steps` (default 1); negative positions count from
 * the end and out-of-range positions are clamped.
 */
export function slice(
  t: Tensor,
  starts: readonly number[],
  ends: readonly number[],
  axes: readonly number[] | null,
  steps: readonly number[] | null,
  at: Span,
): Tensor {
  const rank = t.rank;
  const axisList = axes ? axes.map((a) => normalizeAxis(a, rank, at, 'slice()')) : starts.map((_, i) => i);
  if (starts.length !== ends.length || axisList.length !== starts.length || (steps && steps.length !== starts.length)) {
    throw new ExprError(at.start, at.end, `slice(): starts, ends, axes and steps must have the same length (${starts.length}, ${ends.length}, ${axisList.length}${steps ? `, ${steps.length}` : ''})`);
  }
  if (new Set(axisList).size !== axisList.length) throw new ExprError(at.start, at.end, 'slice(): an axis is repeated');
  const first = t.shape.map(() => 0);
  const step = t.shape.map(() => 1);
  const outShape = [...t.shape];
  axisList.forEach((axis, k) => {
    const dim = t.shape[axis] ?? 1;
    const s = steps?.[k] ?? 1;
    if (s === 0 || !Number.isInteger(s)) throw new ExprError(at.start, at.end, 'slice(): steps must be non-zero integers');
    const clamp = (x: number, lo: number, hi: number): number => Math.min(Math.max(x, lo), hi);
    let b = starts[k] ?? 0;
    let e = ends[k] ?? dim;
    if (b < 0) b += dim;
    if (e < 0) e += dim;
    if (s > 0) {
      b = clamp(b, 0, dim);
      e = clamp(e, 0, dim);
    } else {
      b = clamp(b, 0, dim - 1);
      e = clamp(e, -1, dim - 1);
    }
    first[axis] = b;
    step[axis] = s;
    outShape[axis] = Math.max(0, Math.ceil((e - b) / s));
  });
  const inStrides = stridesOf(t.shape);
  const source = gatherIndex(outShape, (idx) => {
    let flat = 0;
    for (let i = 0; i < rank; i++) flat += ((first[i] ?? 0) + (idx[i] ?? 0) * (step[i] ?? 1)) * (inStrides[i] ?? 0);
    return flat;
  });
  return take(t, outShape, source);
}

/**
 * ONNX Gather (NumPy take): the entries of `t` along `axis` at `indices`
 * (negative ones count from the end); the result's shape is t's with that
 * axis replaced by the indices' shape.
 */
export function gather(t: Tensor, indices: readonly number[], indicesShape: readonly number[], axis: number, at: Span): Tensor {
  const a = normalizeAxis(axis, t.rank, at, 'gather()');
  const dim = t.shape[a] ?? 1;
  const picked = indices.map((i) => {
    if (!Number.isInteger(i) || i < -dim || i >= dim) throw new ExprError(at.start, at.end, `gather(): index ${i} is out of range for a dimension of ${dim}`);
    return i < 0 ? i + dim : i;
  });
  const outShape = [...t.shape.slice(0, a), ...indicesShape, ...t.shape.slice(a + 1)];
  const inStrides = stridesOf(t.shape);
  const k = indicesShape.length;
  const indexStrides = stridesOf(indicesShape);
  const source = gatherIndex(outShape, (idx) => {
    let flat = 0;
    for (let i = 0; i < a; i++) flat += (idx[i] ?? 0) * (inStrides[i] ?? 0);
    let which = 0;
    for (let j = 0; j < k; j++) which += (idx[a + j] ?? 0) * (indexStrides[j] ?? 0);
    flat += (picked[which] ?? 0) * (inStrides[a] ?? 0);
    for (let i = a + 1; i < t.rank; i++) flat += (idx[i + k - 1] ?? 0) * (inStrides[i] ?? 0);
    return flat;
  });
  return take(t, outShape, source);
}

/** Joins tensors along `axis`; their other dimensions must agree, dtypes are promoted. */
export function concat(tensors: readonly Tensor[], axis: number, at: Span): Tensor {
  const first = tensors[0];
  if (!first) throw new ExprError(at.start, at.end, 'concat() needs at least one tensor');
  const rank = first.rank;
  const a = normalizeAxis(axis, rank, at, 'concat()');
  let dtype = first.dtype;
  for (const t of tensors) {
    if (t.rank !== rank || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new ExprError(at.start, at.end, `concat(): shapes ${tensors.map((x) => `[${x.shape.join(', ')}]`).join(', ')} differ outside axis ${a}`);
    }
    dtype = promoteTypes(dtype, t.dtype, at);
  }
  const outer = sizeOf(first.shape.slice(0, a));
  const inner = sizeOf(first.shape.slice(a + 1));
  const outShape = [...first.shape];
  outShape[a] = tensors.reduce((n, t) => n + (t.shape[a] ?? 0), 0);
  if (sizeOf(outShape) > MAX_TENSOR_ELEMENTS) {
    throw new ExprError(at.start, at.end, `concat(): the result of shape [${outShape.join(', ')}] (${sizeOf(outShape)} elements) is too large (limit ${MAX_TENSOR_ELEMENTS})`);
  }
  const parts = tensors.map((t) => tensorElements(castTensor(t, dtype)));
  const wide = isWideInt(dtype);
  const out: Elements = wide ? new BigInt64Array(sizeOf(outShape)) : new Float64Array(sizeOf(outShape));
  let o = 0;
  for (let i = 0; i < outer; i++) {
    parts.forEach((p, k) => {
      const block = (tensors[k]!.shape[a] ?? 0) * inner;
      // Both arrays hold the same element type (bigint for wide ints, double otherwise).
      (out as Float64Array).set((p as Float64Array).subarray(i * block, (i + 1) * block), o);
      o += block;
    });
  }
  return fromElements(dtype, outShape, out);
}

/** Splits along `axis` into the given sizes. */
export function split(t: Tensor, sizes: readonly number[], axis: number, at: Span): Tensor[] {
  const a = normalizeAxis(axis, t.rank, at, 'split()');
  const dim = t.shape[a] ?? 1;
  const total = sizes.reduce((x, y) => x + y, 0);
  if (total !== dim || sizes.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new ExprError(at.start, at.end, `split(): sizes [${sizes.join(', ')}] do not add up to dimension ${a} of shape [${t.shape.join(', ')}] (${dim})`);
  }
  const out: Tensor[] = [];
  let begin = 0;
  for (const s of sizes) {
    out.push(slice(t, [begin], [begin + s], [a], null, at));
    begin += s;
  }
  return out;
}
