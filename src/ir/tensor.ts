import { DType, DTYPES, byteSize } from './dtype';

/**
 * The bytes of a tensor, little-endian and packed, as ONNX raw_data and TFLite
 * buffers store them. A source may be a view over the model file, a slice of an
 * external data file read on demand, or bytes computed by a rewrite.
 */
export interface TensorData {
  readonly byteLength: number;
  /** The bytes; a lazy source reads them now (and may not keep them). */
  bytes(): Uint8Array;
}

/**
 * Bytes already in memory, often a range of the model file's buffer (no copy).
 * The view over a range is made on first use: a large model has 100k+
 * constants, most of which nobody reads before they are written back.
 */
export class BytesData implements TensorData {
  readonly byteLength: number;
  private _view: Uint8Array | undefined;

  /** The bytes `byteLength` long from `offset` of `source` (by default all of it). */
  constructor(
    private readonly source: Uint8Array,
    private readonly offset = 0,
    byteLength = source.byteLength - offset,
  ) {
    if (offset < 0 || byteLength < 0 || offset + byteLength > source.byteLength) {
      throw new RangeError(`BytesData: range ${offset}+${byteLength} lies outside ${source.byteLength} bytes`);
    }
    this.byteLength = byteLength;
    if (offset === 0 && byteLength === source.byteLength) this._view = source;
  }

  /** The bytes as a view (a new view each time for a range: a cached one would outlive most reads). */
  get view(): Uint8Array {
    return this._view ?? new Uint8Array(this.source.buffer, this.source.byteOffset + this.offset, this.byteLength);
  }

  bytes(): Uint8Array {
    return this.view;
  }
}

/** Bytes read only when asked for, e.g. from an external data file. */
export class LazyData implements TensorData {
  constructor(
    readonly byteLength: number,
    private readonly load: () => Uint8Array,
    /** Where the bytes come from, for writers that can copy file ranges directly. */
    readonly source?: { file: string; offset: number },
  ) {}
  bytes(): Uint8Array {
    const bytes = this.load();
    if (bytes.byteLength !== this.byteLength) {
      throw new RangeError(`lazy tensor data: expected ${this.byteLength} bytes, got ${bytes.byteLength}`);
    }
    return bytes;
  }
}

/** Elements of a string tensor: each one a byte string (not necessarily UTF-8). */
export class StringData implements TensorData {
  constructor(readonly strings: readonly Uint8Array[]) {}
  get byteLength(): number {
    let n = 0;
    for (const s of this.strings) n += s.byteLength;
    return n;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.byteLength);
    let at = 0;
    for (const s of this.strings) {
      out.set(s, at);
      at += s.byteLength;
    }
    return out;
  }
}

/** A constant tensor: element type, static shape and its data. */
export class Tensor {
  /** The data; a subclass may leave it unset and make it on first use (see `data`). */
  protected _data: TensorData | undefined;

  constructor(
    readonly dtype: DType,
    readonly shape: readonly number[],
    data: TensorData,
  ) {
    this._data = data;
  }

  get data(): TensorData {
    return this._data as TensorData;
  }

  /** Number of elements. */
  get size(): number {
    const shape = this.shape;
    let n = 1;
    for (let i = 0; i < shape.length; i++) n *= shape[i]!;
    return n;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Builds a tensor from a typed array (copied into little-endian bytes). */
  static from(dtype: DType, shape: readonly number[], values: ArrayLike<number> | ArrayLike<bigint>): Tensor {
    const count = shape.reduce((a, b) => a * b, 1);
    if (values.length !== count) {
      throw new RangeError(`Tensor.from: shape [${shape.join(', ')}] holds ${count} elements, got ${values.length}`);
    }
    return new Tensor(dtype, shape, new BytesData(encodeElements(dtype, values)));
  }

  static scalar(dtype: DType, value: number | bigint): Tensor {
    return Tensor.from(dtype, [], [value] as ArrayLike<number>);
  }

  /** Every element as a double (int64 beyond 2^53 loses precision; strings throw). */
  toFloat64(): Float64Array {
    return decodeElements(this.dtype, this.data.bytes(), this.size);
  }

  /** Every element of an integer tensor as a bigint, exact. */
  toBigInt64(): BigInt64Array {
    const bytes = this.data.bytes();
    const out = new BigInt64Array(this.size);
    if (this.dtype === 'int64' || this.dtype === 'uint64') {
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < out.length; i++) {
        out[i] = this.dtype === 'int64' ? dv.getBigInt64(i * 8, true) : BigInt.asIntN(64, dv.getBigUint64(i * 8, true));
      }
      return out;
    }
    const f = decodeElements(this.dtype, bytes, this.size);
    for (let i = 0; i < out.length; i++) out[i] = BigInt(Math.trunc(f[i] ?? 0));
    return out;
  }
}

/** Packs numbers into the little-endian bytes of `dtype`. */
export function encodeElements(dtype: DType, values: ArrayLike<number> | ArrayLike<bigint>): Uint8Array {
  const n = values.length;
  const out = new Uint8Array(byteSize(dtype, n));
  const dv = new DataView(out.buffer);
  const num = (i: number): number => Number(values[i]);
  const big = (i: number): bigint => {
    const v = values[i];
    return typeof v === 'bigint' ? v : BigInt(Math.trunc(v as number));
  };
  if (dtype === 'float32') {
    for (let i = 0; i < n; i++) dv.setFloat32(i * 4, Number(values[i]), true);
    return out;
  }
  for (let i = 0; i < n; i++) {
    switch (dtype) {
      case 'float64': dv.setFloat64(i * 8, num(i), true); break;
      case 'float16': dv.setUint16(i * 2, toFloat16Bits(num(i)), true); break;
      case 'bfloat16': dv.setUint16(i * 2, toBFloat16Bits(num(i)), true); break;
      case 'int8': dv.setInt8(i, num(i)); break;
      case 'uint8': dv.setUint8(i, num(i)); break;
      case 'bool': dv.setUint8(i, num(i) ? 1 : 0); break;
      case 'int16': dv.setInt16(i * 2, num(i), true); break;
      case 'uint16': dv.setUint16(i * 2, num(i), true); break;
      case 'int32': dv.setInt32(i * 4, num(i), true); break;
      case 'uint32': dv.setUint32(i * 4, num(i), true); break;
      case 'int64': dv.setBigInt64(i * 8, big(i), true); break;
      case 'uint64': dv.setBigUint64(i * 8, BigInt.asUintN(64, big(i)), true); break;
      case 'int4':
      case 'uint4': {
        const nibble = num(i) & 0x0f;
        out[i >> 1] = (out[i >> 1] ?? 0) | (i & 1 ? nibble << 4 : nibble);
        break;
      }
      default:
        throw new RangeError(`cannot encode elements of dtype ${dtype}`);
    }
  }
  return out;
}

/** Unpacks `count` elements of `dtype` from little-endian bytes into doubles. */
export function decodeElements(dtype: DType, bytes: Uint8Array, count: number): Float64Array {
  const need = byteSize(dtype, count);
  if (DTYPES[dtype].bits === 0 || bytes.byteLength < need) {
    throw new RangeError(`cannot decode ${count} elements of ${dtype} from ${bytes.byteLength} bytes`);
  }
  const out = new Float64Array(count);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Weights are float32 or float16 and run to millions of elements: a loop of their own each.
  if (dtype === 'float32') {
    for (let i = 0; i < count; i++) out[i] = dv.getFloat32(i * 4, true);
    return out;
  }
  if (dtype === 'float16') {
    const table = float16Values();
    for (let i = 0; i < count; i++) out[i] = table[dv.getUint16(i * 2, true)]!;
    return out;
  }
  for (let i = 0; i < count; i++) {
    switch (dtype) {
      case 'float64': out[i] = dv.getFloat64(i * 8, true); break;
      case 'bfloat16': out[i] = fromBFloat16Bits(dv.getUint16(i * 2, true)); break;
      case 'int8': out[i] = dv.getInt8(i); break;
      case 'uint8':
      case 'bool': out[i] = dv.getUint8(i); break;
      case 'int16': out[i] = dv.getInt16(i * 2, true); break;
      case 'uint16': out[i] = dv.getUint16(i * 2, true); break;
      case 'int32': out[i] = dv.getInt32(i * 4, true); break;
      case 'uint32': out[i] = dv.getUint32(i * 4, true); break;
      case 'int64': out[i] = Number(dv.getBigInt64(i * 8, true)); break;
      case 'uint64': out[i] = Number(dv.getBigUint64(i * 8, true)); break;
      case 'int4': {
        const b = dv.getUint8(i >> 1);
        const nib = i & 1 ? b >> 4 : b & 0x0f;
        out[i] = nib >= 8 ? nib - 16 : nib;
        break;
      }
      case 'uint4': {
        const b = dv.getUint8(i >> 1);
        out[i] = i & 1 ? b >> 4 : b & 0x0f;
        break;
      }
      default:
        throw new RangeError(`cannot decode elements of dtype ${dtype}`);
    }
  }
  return out;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function fromFloat16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

let FLOAT16_VALUES: Float32Array | undefined;

/** The value of each of the 65,536 float16 bit patterns (256 KB, made on first use). */
function float16Values(): Float32Array {
  if (!FLOAT16_VALUES) {
    FLOAT16_VALUES = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) FLOAT16_VALUES[h] = fromFloat16Bits(h);
  }
  return FLOAT16_VALUES;
}

/** Round-to-nearest-even conversion of a double to IEEE half bits. */
export function toFloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0] ?? 0;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  e = half;
  return sign | e;
}

export function fromBFloat16Bits(b: number): number {
  u32[0] = b << 16;
  return f32[0] ?? 0;
}

export function toBFloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0] ?? 0;
  if (Number.isNaN(x)) return 0x7fc0;
  const rounding = 0x7fff + ((bits >>> 16) & 1);
  return ((bits + rounding) >>> 16) & 0xffff;
}
