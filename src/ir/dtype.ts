/**
 * Element types, named once for all formats. Each codec maps its own enum
 * (ONNX TensorProto.DataType, TFLite TensorType, OpenVINO element_type) to these.
 */

export type DType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'float8e4m3fn'
  | 'float8e4m3fnuz'
  | 'float8e5m2'
  | 'float8e5m2fnuz'
  | 'float8e8m0'
  | 'float4e2m1'
  | 'int4'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint2'
  | 'int2'
  | 'uint4'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool'
  | 'string'
  | 'complex64'
  | 'complex128'
  | 'resource'
  | 'variant'
  | 'undefined';

export type DTypeKind = 'float' | 'int' | 'uint' | 'bool' | 'string' | 'complex' | 'opaque';

export interface DTypeInfo {
  /** Bits per element; 0 for variable-size (string) or opaque types. */
  bits: number;
  kind: DTypeKind;
}

export const DTYPES: Readonly<Record<DType, DTypeInfo>> = {
  float32: { bits: 32, kind: 'float' },
  float64: { bits: 64, kind: 'float' },
  float16: { bits: 16, kind: 'float' },
  bfloat16: { bits: 16, kind: 'float' },
  float8e4m3fn: { bits: 8, kind: 'float' },
  float8e4m3fnuz: { bits: 8, kind: 'float' },
  float8e5m2: { bits: 8, kind: 'float' },
  float8e5m2fnuz: { bits: 8, kind: 'float' },
  float8e8m0: { bits: 8, kind: 'float' },
  float4e2m1: { bits: 4, kind: 'float' },
  int2: { bits: 2, kind: 'int' },
  int4: { bits: 4, kind: 'int' },
  int8: { bits: 8, kind: 'int' },
  int16: { bits: 16, kind: 'int' },
  int32: { bits: 32, kind: 'int' },
  int64: { bits: 64, kind: 'int' },
  uint2: { bits: 2, kind: 'uint' },
  uint4: { bits: 4, kind: 'uint' },
  uint8: { bits: 8, kind: 'uint' },
  uint16: { bits: 16, kind: 'uint' },
  uint32: { bits: 32, kind: 'uint' },
  uint64: { bits: 64, kind: 'uint' },
  bool: { bits: 8, kind: 'bool' },
  string: { bits: 0, kind: 'string' },
  complex64: { bits: 64, kind: 'complex' },
  complex128: { bits: 128, kind: 'complex' },
  resource: { bits: 0, kind: 'opaque' },
  variant: { bits: 0, kind: 'opaque' },
  undefined: { bits: 0, kind: 'opaque' },
};

export function isDType(name: string): name is DType {
  return Object.prototype.hasOwnProperty.call(DTYPES, name);
}

/** Bytes that `count` packed elements take (sub-byte types pack low nibble first). */
export function byteSize(dtype: DType, count: number): number {
  const bits = DTYPES[dtype].bits;
  return Math.ceil((bits * count) / 8);
}

export function isFloat(dtype: DType): boolean {
  return DTYPES[dtype].kind === 'float';
}

export function isInteger(dtype: DType): boolean {
  const kind = DTYPES[dtype].kind;
  return kind === 'int' || kind === 'uint';
}

/**
 * Whether every number is exactly a value of `dtype`: any number for a float
 * type, 0 or 1 for bool, a whole number in range for an integer type (64-bit
 * ones up to what a double holds exactly); false for other kinds.
 */
export function holdsExactly(dtype: DType, values: readonly number[]): boolean {
  if (isFloat(dtype)) return true;
  if (dtype === 'bool') return values.every((x) => x === 0 || x === 1);
  if (!isInteger(dtype)) return false;
  const { bits, kind } = DTYPES[dtype];
  const [lo, hi] = bits >= 53 ? [kind === 'uint' ? 0 : -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER] : kind === 'uint' ? [0, 2 ** bits - 1] : [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1];
  return values.every((x) => Number.isInteger(x) && x >= lo && x <= hi);
}
