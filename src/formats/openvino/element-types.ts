import type { DType } from '../../ir/dtype';

/**
 * OpenVINO element types (`element_type` of Parameter/Const `<data>`) and port
 * precisions (`precision` of `<port>`), mapped to the IR's dtypes. Types the IR
 * has no name for (u1, u3, u6, nf4, dynamic) map to `undefined`; the codec keeps
 * their original spelling, so they are still written back as read.
 */
const ELEMENT_TYPES: Readonly<Record<string, DType>> = {
  f64: 'float64',
  f32: 'float32',
  f16: 'float16',
  bf16: 'bfloat16',
  f8e4m3: 'float8e4m3fn',
  f8e5m2: 'float8e5m2',
  f8e8m0: 'float8e8m0',
  f4e2m1: 'float4e2m1',
  i4: 'int4',
  i8: 'int8',
  i16: 'int16',
  i32: 'int32',
  i64: 'int64',
  u2: 'uint2',
  u4: 'uint4',
  u8: 'uint8',
  u16: 'uint16',
  u32: 'uint32',
  u64: 'uint64',
  boolean: 'bool',
  string: 'string',
};

const PRECISIONS: Readonly<Record<string, DType>> = {
  FP64: 'float64',
  FP32: 'float32',
  FP16: 'float16',
  BF16: 'bfloat16',
  F8E4M3: 'float8e4m3fn',
  F8E5M2: 'float8e5m2',
  F8E8M0: 'float8e8m0',
  F4E2M1: 'float4e2m1',
  I4: 'int4',
  I8: 'int8',
  I16: 'int16',
  I32: 'int32',
  I64: 'int64',
  U2: 'uint2',
  U4: 'uint4',
  U8: 'uint8',
  U16: 'uint16',
  U32: 'uint32',
  U64: 'uint64',
  BOOL: 'bool',
  BOOLEAN: 'bool',
  STRING: 'string',
};

function invert(table: Readonly<Record<string, DType>>): Map<DType, string> {
  const m = new Map<DType, string>();
  for (const [k, v] of Object.entries(table)) if (!m.has(v)) m.set(v, k);
  return m;
}

const TO_ELEMENT_TYPE = invert(ELEMENT_TYPES);
const TO_PRECISION = invert(PRECISIONS);

/** The IR dtype of an `element_type` spelling, or undefined when the IR has none. */
export function dtypeOfElementType(elementType: string): DType | undefined {
  return ELEMENT_TYPES[elementType.toLowerCase()];
}

/** The IR dtype of a port `precision`, or undefined. */
export function dtypeOfPrecision(precision: string): DType | undefined {
  return PRECISIONS[precision.toUpperCase()];
}

/** The `element_type` spelling of a dtype, or undefined when OpenVINO has none. */
export function elementTypeOf(dtype: DType): string | undefined {
  return TO_ELEMENT_TYPE.get(dtype);
}

/** The port `precision` spelling of a dtype, or undefined. */
export function precisionOf(dtype: DType): string | undefined {
  return TO_PRECISION.get(dtype);
}

/** Bits per element of an OpenVINO element type, including the ones the IR does not name. */
export function elementTypeBits(elementType: string): number | undefined {
  const t = elementType.toLowerCase();
  const extra: Record<string, number> = { u1: 1, u3: 3, u6: 6, nf4: 4 };
  if (t in extra) return extra[t];
  const d = ELEMENT_TYPES[t];
  if (!d) return undefined;
  const bits: Partial<Record<DType, number>> = {
    float64: 64, float32: 32, float16: 16, bfloat16: 16, float8e4m3fn: 8, float8e5m2: 8, float8e8m0: 8,
    float4e2m1: 4, int4: 4, int8: 8, int16: 16, int32: 32, int64: 64, uint2: 2, uint4: 4, uint8: 8,
    uint16: 16, uint32: 32, uint64: 64, bool: 8,
  };
  return bits[d];
}

/**
 * Bytes that `count` elements of an element type take in a .bin. Types under
 * 8 bits are packed; u3 and u6 are split into bit planes stored in groups of
 * 3 bytes (8 or 4 elements), and a partial group takes a whole one.
 */
export function elementTypeBytes(elementType: string, count: number): number | undefined {
  const bits = elementTypeBits(elementType);
  if (bits === undefined) return undefined;
  if (bits === 3 || bits === 6) return Math.ceil(count / (24 / bits)) * 3;
  return Math.ceil((bits * count) / 8);
}
