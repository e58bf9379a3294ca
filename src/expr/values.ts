import { Attr, AttrKind, intValue } from '../ir/attr';
import { DTYPES, DType, isDType } from '../ir/dtype';
import { Node, Value as GraphValue } from '../ir/graph';
import { BytesData, Tensor, TensorData } from '../ir/tensor';
import { ExprError, Span, closest } from './errors';

export { GraphValue };

/**
 * A runtime value of an expression.
 * - `number`: any scalar; integers beyond 2^53 are `bigint` (int64 attributes, Slice ends).
 * - `boolean`, `string`, `null` (`none`: an unknown dimension or rank).
 * - a dtype is its name as a string (`"float16"`), so `dtype($x) == "float32"` reads naturally.
 * - `Tensor`: an IR constant tensor; math on tensors keeps their dtype.
 * - `GraphValue` / `Node`: what a pattern captured. A graph value with a constant
 *   behaves as its tensor in math; its declared shape/dtype answer shape()/dtype().
 * - a list of values (`[1, 2]`, `shape(t)`, `split(...)`).
 */
export type ExprValue =
  | number
  | bigint
  | boolean
  | string
  | null
  | Tensor
  | GraphValue
  | Node
  | readonly ExprValue[];

/**
 * What the checker knows about a value before any model is loaded:
 * - `value`: a graph value captured by a pattern (constant or not);
 * - `tensor`: a constant tensor; `number` (any scalar) and `int` (an integral scalar);
 * - `string`, `bool`, `none`, `dtype` (a dtype name), `node` (a captured node), `list`;
 * - `unknown`: anything; no check is made.
 */
export type Kind = 'value' | 'tensor' | 'number' | 'int' | 'string' | 'bool' | 'node' | 'list' | 'dtype' | 'none' | 'unknown';

/** Every kind, for schemas and docs. */
export const KINDS: readonly Kind[] = ['value', 'tensor', 'number', 'int', 'string', 'bool', 'node', 'list', 'dtype', 'none', 'unknown'];

/** The kind of a runtime value (a dtype name is a `string` at runtime). */
export function kindOf(v: ExprValue): Kind {
  if (v === null) return 'none';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'number';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'string';
  if (v instanceof Tensor) return 'tensor';
  if (v instanceof GraphValue) return 'value';
  if (v instanceof Node) return 'node';
  return 'list';
}

/** Words for a kind in messages: "a tensor", "an int". */
export function kindName(k: Kind): string {
  switch (k) {
    case 'value': return 'a graph value';
    case 'tensor': return 'a tensor';
    case 'number': return 'a number';
    case 'int': return 'an int';
    case 'string': return 'a string';
    case 'bool': return 'a bool';
    case 'node': return 'a node';
    case 'list': return 'a list';
    case 'dtype': return 'a dtype';
    case 'none': return 'none';
    case 'unknown': return 'anything';
  }
}

/** A short description of a runtime value for error messages. */
export function describeValue(v: ExprValue): string {
  if (v instanceof Tensor) return `${v.dtype.startsWith('int') ? 'an' : 'a'} ${v.dtype} tensor of shape [${v.shape.join(', ')}]`;
  if (v instanceof GraphValue) return `graph value '${v.name}'${v.const ? ' (constant)' : ''}`;
  if (v instanceof Node) return `node '${v.name}' (${v.op})`;
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'string') return `string "${v}"`;
  return kindName(kindOf(v));
}

/** A scalar bigint when it does not fit a double exactly, else a number. */
export function normalizeInt(v: bigint): number | bigint {
  return intValue(v);
}

/**
 * An IR attribute as an expression value: float/int/bool/string as scalars,
 * ints/floats/strings as lists, tensor(s) as tensors. Returns undefined for
 * attributes an expression cannot hold (graphs, bytes, opaque values).
 */
export function fromAttr(a: Attr): ExprValue | undefined {
  switch (a.kind) {
    case 'float':
    case 'bool':
    case 'string':
      return a.value;
    case 'int':
      return intValue(a.value);
    case 'floats':
    case 'strings':
      return [...a.value];
    case 'ints':
      return a.value.map(intValue);
    case 'tensor':
      return a.value;
    case 'tensors':
      return [...a.value];
    default:
      return undefined;
  }
}

const NO_SPAN: Span = { start: 0, end: 0 };

/**
 * An expression value as an IR attribute. `like` is the kind the attribute
 * must have (the existing attribute's kind, or the op schema's), when known:
 * `2` becomes a float for `like: 'float'`, `[1, 2]` floats for `like: 'floats'`.
 * Throws ExprError (covering `at`) when the value cannot be that attribute.
 */
export function toAttr(v: ExprValue, like?: AttrKind, at: Span = NO_SPAN): Attr {
  const fail = (): never => {
    throw new ExprError(at.start, at.end, `${describeValue(v)} cannot be ${like ? `a '${like}' attribute` : 'an attribute'}`);
  };
  // Formats store int attributes as int64: a wider value would be written wrapped (2 ** 70 as 0).
  const tooWide = (x: number | bigint): never => {
    throw new ExprError(at.start, at.end, `${typeof x === 'bigint' ? x : BigInt(x)} does not fit in a 64-bit integer attribute`);
  };
  const item = (x: ExprValue): number | bigint | undefined => {
    if (typeof x === 'number' || typeof x === 'bigint') return x;
    if (typeof x === 'boolean') return x ? 1 : 0;
    if (x instanceof Tensor && x.size === 1) {
      const e = tensorItem(x);
      return typeof e === 'boolean' ? (e ? 1 : 0) : e;
    }
    return undefined;
  };
  if (v instanceof GraphValue && v.const) return toAttr(v.const, like, at);
  if (like === 'tensor') return { kind: 'tensor', value: toTensor(v, undefined, at) };
  if (typeof v === 'string') {
    if (like && like !== 'string') fail();
    return { kind: 'string', value: v };
  }
  if (like === 'floats' || like === 'ints') {
    const list = v instanceof Tensor ? [...tensorElements(v)] : Array.isArray(v) ? v : [v];
    const items = list.map(item);
    if (items.some((x) => x === undefined)) fail();
    if (like === 'floats') return { kind: 'floats', value: items.map((x) => Number(x)) };
    if (items.some((x) => typeof x === 'number' && !Number.isInteger(x))) fail();
    const wide = items.find((x) => !fitsInt64(x!));
    if (wide !== undefined) tooWide(wide);
    return { kind: 'ints', value: items as (number | bigint)[] };
  }
  if (like === 'strings') {
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) fail();
    return { kind: 'strings', value: [...(v as string[])] };
  }
  if (Array.isArray(v)) {
    if (like !== undefined) fail();
    if (v.length > 0 && v.every((x) => typeof x === 'string')) return { kind: 'strings', value: [...(v as string[])] };
    const items = v.map(item);
    if (items.some((x) => x === undefined)) fail();
    if (items.every((x) => typeof x === 'bigint' || Number.isInteger(x))) {
      const wide = items.find((x) => !fitsInt64(x!));
      if (wide !== undefined) tooWide(wide);
      return { kind: 'ints', value: items as (number | bigint)[] };
    }
    return { kind: 'floats', value: items.map((x) => Number(x)) };
  }
  if (v instanceof Tensor && like === undefined) return { kind: 'tensor', value: v };
  const x = item(v);
  if (x === undefined) return fail();
  if (like === 'float') return { kind: 'float', value: Number(x) };
  if (like === 'bool') return { kind: 'bool', value: x !== 0 && x !== 0n };
  if (like === 'int' || (like === undefined && (typeof x === 'bigint' || (Number.isInteger(x) && typeof v !== 'boolean')))) {
    if (typeof x === 'number' && !Number.isInteger(x)) fail();
    if (!fitsInt64(x)) tooWide(x);
    return { kind: 'int', value: x };
  }
  if (like === undefined && typeof v === 'boolean') return { kind: 'bool', value: v };
  if (like !== undefined) fail();
  return { kind: 'float', value: Number(x) };
}

/** True for an integer an int64 holds. */
function fitsInt64(x: number | bigint): boolean {
  if (typeof x === 'bigint') return x >= -(2n ** 63n) && x < 2n ** 63n;
  return !Number.isInteger(x) || (x >= -(2 ** 63) && x < 2 ** 63);
}

/** The dtype a tensor gets from a float literal when nothing else decides it. */
export const DEFAULT_FLOAT: DType = 'float32';
/** The dtype a tensor gets from an integer literal when nothing else decides it. */
export const DEFAULT_INT: DType = 'int64';

/**
 * An expression value as a constant tensor: a scalar becomes a 0-d tensor, a
 * (nested) list a tensor of its shape, a constant graph value its tensor. With
 * `dtype`, the result is cast to it; without, integers become int64, other
 * numbers float32, booleans bool.
 */
export function toTensor(v: ExprValue, dtype?: DType, at: Span = NO_SPAN): Tensor {
  if (v instanceof GraphValue) {
    if (!v.const) throw new ExprError(at.start, at.end, `graph value '${v.name}' is not a constant`);
    return dtype && dtype !== v.const.dtype ? castTensor(v.const, dtype) : v.const;
  }
  if (v instanceof Tensor) return dtype && dtype !== v.dtype ? castTensor(v, dtype) : v;
  const nested: Nested = { shape: [], flat: [], dtypes: new Set(), bare: false };
  collectNested(v, 0, nested, at);
  const { shape, flat } = nested;
  // Tensors stacked in a list keep their dtype, when they agree and no bare number is mixed in.
  const [only] = nested.dtypes;
  const target = dtype ?? (nested.dtypes.size === 1 && !nested.bare && only ? only : inferDType(flat));
  if (target === 'int64' || target === 'uint64') {
    return fromElements(target, shape, BigInt64Array.from(flat, toBigInt));
  }
  return fromElements(target, shape, Float64Array.from(flat, (x) => Number(x)));
}

function toBigInt(x: number | bigint | boolean): bigint {
  if (typeof x === 'bigint') return x;
  return BigInt(Math.trunc(Number(x)));
}

function inferDType(flat: readonly (number | bigint | boolean)[]): DType {
  if (flat.length > 0 && flat.every((x) => typeof x === 'boolean')) return 'bool';
  if (flat.every((x) => typeof x !== 'number' || Number.isInteger(x))) return DEFAULT_INT;
  return DEFAULT_FLOAT;
}

/** What collecting a nested list found: its shape, its leaves, the dtypes of tensors in it. */
interface Nested {
  shape: number[];
  flat: (number | bigint | boolean)[];
  dtypes: Set<DType>;
  /** A bare number or boolean was among the leaves. */
  bare: boolean;
}

function collectNested(v: ExprValue, depth: number, into: Nested, at: Span): void {
  const { shape, flat } = into;
  const item = v instanceof GraphValue && v.const ? v.const : v;
  if (item instanceof Tensor && item.rank > 0) {
    into.dtypes.add(item.dtype);
    collectNested(tensorToList(item), depth, { ...into, dtypes: new Set() }, at);
    return;
  }
  if (Array.isArray(item)) {
    if (shape.length <= depth) {
      if (flat.length > 0) throw new ExprError(at.start, at.end, 'a nested list is ragged: its items must all have the same shape');
      shape.push(item.length);
    } else if (shape[depth] !== item.length) {
      throw new ExprError(at.start, at.end, `a nested list is ragged: lists of ${shape[depth]} and ${item.length} items at depth ${depth}`);
    }
    for (const x of item) collectNested(x, depth + 1, into, at);
    return;
  }
  if (depth < shape.length) throw new ExprError(at.start, at.end, 'a nested list is ragged: its items must all have the same shape');
  if (item instanceof Tensor) {
    into.dtypes.add(item.dtype);
    flat.push(tensorItem(item));
    return;
  }
  if (typeof item === 'number' || typeof item === 'bigint' || typeof item === 'boolean') {
    into.bare = true;
    flat.push(item);
    return;
  }
  throw new ExprError(at.start, at.end, `${describeValue(v)} cannot be an element of a tensor`);
}

/** The elements of a tensor as a nested list (bigints only beyond 2^53, booleans for bool). */
export function tensorToList(t: Tensor): ExprValue {
  const flat = [...tensorElements(t)].map((e): ExprValue => (typeof e === 'bigint' ? normalizeInt(e) : t.dtype === 'bool' ? e !== 0 : e));
  const nest = (from: number, dims: readonly number[]): ExprValue => {
    if (dims.length === 0) return flat[from] ?? null;
    const [first = 0, ...rest] = dims;
    const inner = rest.reduce((a, b) => a * b, 1);
    return Array.from({ length: first }, (_, i) => nest(from + i * inner, rest));
  };
  return nest(0, t.shape);
}

/** True for the 64-bit integer dtypes, whose elements are computed as bigints. */
export function isWideInt(dtype: DType): boolean {
  return dtype === 'int64' || dtype === 'uint64';
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type NumberView = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

/** Bytes per element of the dtypes a typed array reads as they are (made once: this runs for every tiny tensor of every match). */
const VIEW_WIDTH: Partial<Record<DType, number>> = { float32: 4, float64: 8, int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8 };

/**
 * A typed-array view of `n` elements of a byte-addressable dtype, or undefined
 * for the dtypes that need decoding (float16, bool, int4, ...). Tensor bytes
 * are little-endian like the host (checked), so the view reads them as they are.
 */
function nativeView(dtype: DType, bytes: Uint8Array, n: number): NumberView | BigInt64Array | undefined {
  if (!LITTLE_ENDIAN) return undefined;
  const width = VIEW_WIDTH[dtype];
  if (width === undefined || bytes.byteLength < n * width) return undefined;
  // Typed arrays need aligned offsets; a model file's tensors are not always aligned.
  // (Copy with the Uint8Array constructor: Buffer#slice would return a view at the same offset.)
  const b = bytes.byteOffset % width === 0 ? bytes : new Uint8Array(bytes.subarray(0, n * width));
  switch (dtype) {
    case 'float32': return new Float32Array(b.buffer, b.byteOffset, n);
    case 'float64': return new Float64Array(b.buffer, b.byteOffset, n);
    case 'int8': return new Int8Array(b.buffer, b.byteOffset, n);
    case 'uint8': return new Uint8Array(b.buffer, b.byteOffset, n);
    case 'int16': return new Int16Array(b.buffer, b.byteOffset, n);
    case 'uint16': return new Uint16Array(b.buffer, b.byteOffset, n);
    case 'int32': return new Int32Array(b.buffer, b.byteOffset, n);
    case 'uint32': return new Uint32Array(b.buffer, b.byteOffset, n);
    default: return new BigInt64Array(b.buffer, b.byteOffset, n);
  }
}

/**
 * Float tensors of at most this many bytes are read and written element by
 * element through a scratch buffer rather than through a typed-array view of
 * their bytes: V8 keeps typed arrays this small inside its heap, and taking
 * their `.buffer` (which a view needs) moves them out, which costs several
 * times the arithmetic on a per-channel vector of a rule. Larger ones get views.
 */
const SMALL_FLOAT_BYTES = 64;
const SCRATCH64 = new Float64Array(1);
const SCRATCH32 = new Float32Array(SCRATCH64.buffer, 0, 1);
const SCRATCH_BYTES = new Uint8Array(SCRATCH64.buffer);

/** Element `i` of little-endian float32 (`width` 4) or float64 (8) bytes. */
function readFloat(bytes: Uint8Array, width: 4 | 8, i: number): number {
  const at = i * width;
  for (let k = 0; k < width; k++) SCRATCH_BYTES[k] = bytes[at + k]!;
  return width === 4 ? SCRATCH32[0]! : SCRATCH64[0]!;
}

/** Stores `x` as element `i` of little-endian float32 or float64 bytes (float32 rounds to nearest even). */
function writeFloat(bytes: Uint8Array, width: 4 | 8, i: number, x: number): void {
  if (width === 4) SCRATCH32[0] = x;
  else SCRATCH64[0] = x;
  const at = i * width;
  for (let k = 0; k < width; k++) bytes[at + k] = SCRATCH_BYTES[k]!;
}

function floatWidth(dtype: DType): 4 | 8 | undefined {
  return dtype === 'float32' ? 4 : dtype === 'float64' ? 8 : undefined;
}

/**
 * The elements of a small float32/float64 tensor as doubles, read without a
 * view (see SMALL_FLOAT_BYTES), into `into` when given (it must hold them);
 * undefined for any other tensor.
 */
function smallFloatElements(t: Tensor, into?: Float64Array, data: TensorData = t.data): Float64Array | undefined {
  const width = floatWidth(t.dtype);
  if (width === undefined || !LITTLE_ENDIAN) return undefined;
  const n = t.size;
  if (n * width > SMALL_FLOAT_BYTES) return undefined;
  const bytes = data.bytes();
  if (bytes.byteLength < n * width) return undefined;
  const out = into ?? new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = readFloat(bytes, width, i);
  return out;
}

/** Elements `scratchElements` can hold: as many as the largest small float tensor has (float32). */
export const SCRATCH_ELEMENTS = SMALL_FLOAT_BYTES / 4;

/**
 * The elements of a tensor as numbers, for a caller that reads them at once
 * and keeps nothing: computed elements as they are, a small float tensor's
 * bytes decoded into `scratch` (SCRATCH_ELEMENTS long; overwritten by the next
 * call that passes it), anything else as `numberElements` gives it. Rule
 * arithmetic reads each per-channel constant of the model once per match, and
 * a fresh array for each read is most of what that arithmetic allocates.
 */
export function numbersFor(t: Tensor, scratch: Float64Array): NumberArray {
  // The data asked for once: a codec's tensor may look for it in its file's bytes at every ask.
  const data = t.data;
  const computed = computedData(t, data);
  if (computed) return computed.read(scratch);
  return smallFloatElements(t, scratch, data) ?? numberElements(t, data);
}

/**
 * The data of a float32 or float64 tensor computed by an expression: its
 * elements as doubles (already rounded to the dtype), encoded to bytes only
 * when a writer or another byte reader asks. A rule computes a few
 * per-channel vectors at every match, and most of them are intermediates
 * (`sqrt($var + $eps)`) that the next operation reads as numbers again.
 */
export class ComputedFloats implements TensorData {
  private encoded: Uint8Array | undefined;
  /**
   * The elements, never changed: a plain array when they are few (at most
   * SMALL_FLOAT_BYTES in the dtype), else a Float64Array. The model keeps the
   * per-channel constants a rule computes at every match, and a small typed
   * array with its buffer takes about three times the heap of a plain array
   * of the same doubles.
   */
  private readonly elements: Float64Array | number[];

  /** Takes `values` over (the large ones are kept as they are): the caller must not change them afterwards. */
  constructor(
    readonly dtype: 'float32' | 'float64',
    values: Float64Array,
  ) {
    this.elements = values.length * (dtype === 'float32' ? 4 : 8) > SMALL_FLOAT_BYTES ? values : plainUnlessNaN(values);
  }

  get length(): number {
    return this.elements.length;
  }

  /** The elements as doubles: the kept array when large, a fresh copy when small. */
  get values(): Float64Array {
    const e = this.elements;
    return e instanceof Float64Array ? e : Float64Array.from(e);
  }

  /**
   * The elements as doubles without a new array: the kept array when large,
   * else copied into `scratch` (at least SCRATCH_ELEMENTS long; overwritten
   * by the next call that passes it).
   */
  read(scratch: Float64Array): Float64Array {
    const e = this.elements;
    if (e instanceof Float64Array) return e;
    for (let i = 0; i < e.length; i++) scratch[i] = e[i]!;
    return scratch;
  }

  get byteLength(): number {
    return this.elements.length * (this.dtype === 'float32' ? 4 : 8);
  }

  /**
   * Encoded on every call when small (as a lazy source may: see TensorData):
   * a writer asks each of a model's 60k computed constants once, and kept
   * encodings would all survive into the old generation for nothing. A large
   * one keeps its encoding.
   */
  bytes(): Uint8Array {
    if (this.elements instanceof Float64Array) return (this.encoded ??= encodeFloats(this.dtype, this.elements));
    return encodeFloats(this.dtype, this.elements);
  }
}

/**
 * The elements in a plain array of exactly their number (doubles unboxed),
 * or `values` itself when one is a NaN: a plain array stores every NaN as
 * the one canonical NaN, and the sign and payload bits of a computed NaN
 * must reach the written bytes as a typed array keeps them.
 */
function plainUnlessNaN(values: Float64Array): Float64Array | number[] {
  const n = values.length;
  const plain = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const x = values[i]!;
    if (x !== x) return values;
    plain[i] = x;
  }
  return plain;
}

function encodeFloats(dtype: 'float32' | 'float64', values: Float64Array | readonly number[]): Uint8Array {
  const width = dtype === 'float32' ? 4 : 8;
  const n = values.length;
  if (!LITTLE_ENDIAN) return Tensor.from(dtype, [n], values).data.bytes();
  if (n * width <= SMALL_FLOAT_BYTES) {
    const bytes = new Uint8Array(n * width);
    for (let i = 0; i < n; i++) writeFloat(bytes, width, i, values[i]!);
    return bytes;
  }
  const a = dtype === 'float32' ? new Float32Array(values) : new Float64Array(values);
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * A float32 or float64 tensor of `shape` holding `values`, each rounded to the
 * dtype (to nearest even, as a Float32Array store rounds). The tensor takes
 * `values` over: the caller must not change them afterwards.
 */
export function floatTensor(dtype: 'float32' | 'float64', shape: readonly number[], values: Float64Array): Tensor {
  if (dtype === 'float32') for (let i = 0; i < values.length; i++) values[i] = Math.fround(values[i]!);
  // A frozen shape (the decoders share one per distinct shape) cannot change under the tensor: no copy.
  return new Tensor(dtype, Object.isFrozen(shape) ? shape : [...shape], new ComputedFloats(dtype, values));
}

/** The data of a tensor whose elements an expression computed (and that still fits the tensor). */
function computedData(t: Tensor, data: TensorData = t.data): ComputedFloats | undefined {
  return data instanceof ComputedFloats && data.dtype === t.dtype && data.length === t.size ? data : undefined;
}

/** The elements of a tensor whose data an expression computed, without decoding (a copy when they are few). */
function computedElements(t: Tensor): Float64Array | undefined {
  return computedData(t)?.values;
}

/**
 * The elements of a tensor: bigints for int64/uint64 (exact), doubles
 * otherwise. Callers must not modify the result (it may share the tensor's bytes).
 */
export function tensorElements(t: Tensor): Float64Array | BigInt64Array {
  const small = computedElements(t) ?? smallFloatElements(t);
  if (small) return small;
  // uint64 elements beyond 2^63 come back wrapped into the signed range; they
  // are written back bit-exact, only ordering comparisons on them are off.
  const view = nativeView(t.dtype, t.data.bytes(), t.size);
  if (view instanceof BigInt64Array) return view;
  if (view instanceof Float64Array) return view;
  if (view) return new Float64Array(view);
  return isWideInt(t.dtype) ? t.toBigInt64() : t.toFloat64();
}

/** A typed array of numbers: what elementwise math reads and writes. */
export type NumberArray = NumberView;

/**
 * The elements of a tensor as numbers, as a view over its bytes when the dtype
 * allows (no copy: read only), decoded to doubles otherwise.
 */
export function numberElements(t: Tensor, data: TensorData = t.data): NumberArray {
  const small = computedData(t, data)?.values ?? smallFloatElements(t, undefined, data);
  if (small) return small;
  const view = nativeView(t.dtype, data.bytes(), t.size);
  if (view instanceof BigInt64Array) return Float64Array.from(view, (x) => Number(x));
  return view ?? t.toFloat64();
}

/**
 * An array that stores numbers exactly as `dtype` does (floats rounded to
 * nearest even, integers truncated and wrapped), so results can be written
 * straight into it; undefined for dtypes that need encoding (float16, bool, int64).
 */
export function nativeArray(dtype: DType, n: number): NumberArray | undefined {
  if (!LITTLE_ENDIAN) return undefined;
  switch (dtype) {
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    case 'int8': return new Int8Array(n);
    case 'uint8': return new Uint8Array(n);
    case 'int16': return new Int16Array(n);
    case 'uint16': return new Uint16Array(n);
    case 'int32': return new Int32Array(n);
    case 'uint32': return new Uint32Array(n);
    default: return undefined;
  }
}

/** A tensor over an array from nativeArray (its bytes, not a copy). */
export function wrapNative(dtype: DType, shape: readonly number[], a: NumberArray): Tensor {
  return new Tensor(dtype, [...shape], new BytesData(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)));
}

/**
 * A tensor from computed elements (doubles, or bigints for int64/uint64), stored
 * as `dtype` stores them: floats rounded to nearest even, integers truncated and
 * wrapped, as Tensor.from does, but with typed-array conversions for speed.
 */
export function fromElements(dtype: DType, shape: readonly number[], data: Float64Array | BigInt64Array): Tensor {
  let n = 1;
  for (const d of shape) n *= d;
  if (data.length !== n) throw new RangeError(`shape [${shape.join(', ')}] holds ${n} elements, got ${data.length}`);
  const wrap = (a: NumberView | BigInt64Array): Tensor => new Tensor(dtype, [...shape], new BytesData(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)));
  if (!LITTLE_ENDIAN) return Tensor.from(dtype, shape, data);
  if (data instanceof BigInt64Array) return isWideInt(dtype) ? wrap(data) : Tensor.from(dtype, shape, data);
  switch (dtype) {
    case 'float64':
    case 'float32':
      return floatTensor(dtype, shape, data);
    // Typed-array conversion truncates and wraps (NaN to 0), as DataView.setInt32 and friends do.
    case 'int8': return wrap(new Int8Array(data));
    case 'uint8': return wrap(new Uint8Array(data));
    case 'int16': return wrap(new Int16Array(data));
    case 'uint16': return wrap(new Uint16Array(data));
    case 'int32': return wrap(new Int32Array(data));
    case 'uint32': return wrap(new Uint32Array(data));
    default: return Tensor.from(dtype, shape, data);
  }
}


/** The single element of a one-element tensor, as a scalar. */
export function tensorItem(t: Tensor): number | bigint | boolean {
  const data = tensorElements(t);
  const x = data[0];
  if (x === undefined) throw new RangeError('empty tensor has no item');
  if (typeof x === 'bigint') return normalizeInt(t.dtype === 'uint64' ? BigInt.asUintN(64, x) : x);
  return t.dtype === 'bool' ? x !== 0 : x;
}

/** A tensor of `dtype` with the values of `t` (floats to ints truncate toward zero). */
export function castTensor(t: Tensor, dtype: DType): Tensor {
  if (t.dtype === dtype) return t;
  if (isWideInt(dtype)) {
    const src = tensorElements(t);
    const out = new BigInt64Array(src.length);
    for (let i = 0; i < src.length; i++) {
      const x = src[i]!;
      out[i] = typeof x === 'bigint' ? x : Number.isFinite(x) ? BigInt(Math.trunc(x)) : 0n;
    }
    return fromElements(dtype, t.shape, out);
  }
  const src = tensorElements(t);
  const out = new Float64Array(src.length);
  const toBool = dtype === 'bool';
  const toInt = !toBool && !isDTypeFloat(dtype);
  for (let i = 0; i < src.length; i++) {
    const x = Number(src[i]!);
    out[i] = toBool ? (x !== 0 ? 1 : 0) : toInt ? (Number.isFinite(x) ? Math.trunc(x) : 0) : x;
  }
  return fromElements(dtype, t.shape, out);
}

function isDTypeFloat(dtype: DType): boolean {
  return dtype.startsWith('float') || dtype === 'bfloat16';
}

/** Checks a dtype name given as a string, for cast()/tensor()/full(). */
export function asDType(v: ExprValue, at: Span): DType {
  if (typeof v === 'string' && isDType(v)) return v;
  throw new ExprError(at.start, at.end, `expected a dtype name, got ${describeValue(v)}`, typeof v === 'string' ? dtypeHint(v) : undefined);
}

/** "did you mean" for a misspelt dtype name, or the common names. */
export function dtypeHint(name: string): string {
  const aliases: Readonly<Record<string, DType>> = { half: 'float16', float: 'float32', double: 'float64', int: 'int32', long: 'int64', fp16: 'float16', fp32: 'float32', bf16: 'bfloat16' };
  const guess = aliases[name.toLowerCase()] ?? closest(name, Object.keys(DTYPES));
  return guess ? `did you mean '${guess}'?` : 'dtypes: float32, float16, bfloat16, float64, int8, int16, int32, int64, uint8, bool, ...';
}

/** What an expression may ask about the model being rewritten: `format()`, `opset()`. */
export interface EvalContext {
  /** `onnx`, `tflite` or `openvino`. */
  readonly format?: string;
  /** Opset versions by domain (`''` is ai.onnx). */
  readonly opsets?: Readonly<Record<string, number>>;
  /** The target the bundle is applied for (`--target`), if any. */
  readonly target?: string;
}
