import type { DType } from '../../ir/dtype';

/** TensorProto.DataType codes and the IR dtype each one maps to. */
const DTYPE_BY_CODE: readonly (DType | undefined)[] = [
  'undefined', // 0 UNDEFINED
  'float32', // 1 FLOAT
  'uint8', // 2
  'int8', // 3
  'uint16', // 4
  'int16', // 5
  'int32', // 6
  'int64', // 7
  'string', // 8
  'bool', // 9
  'float16', // 10
  'float64', // 11 DOUBLE
  'uint32', // 12
  'uint64', // 13
  'complex64', // 14
  'complex128', // 15
  'bfloat16', // 16
  'float8e4m3fn', // 17
  'float8e4m3fnuz', // 18
  'float8e5m2', // 19
  'float8e5m2fnuz', // 20
  'uint4', // 21
  'int4', // 22
  'float4e2m1', // 23
  'float8e8m0', // 24
  'uint2', // 25
  'int2', // 26
];

const CODE_BY_DTYPE = new Map<DType, number>();
DTYPE_BY_CODE.forEach((d, code) => d && CODE_BY_DTYPE.set(d, code));

/** The IR dtype of an ONNX data_type code; undefined for a code this codec does not know. */
export function dtypeOfCode(code: number): DType | undefined {
  return DTYPE_BY_CODE[code];
}

/** The ONNX data_type code of an IR dtype; undefined for TFLite-only types (resource, variant). */
export function codeOfDtype(dtype: DType): number | undefined {
  return CODE_BY_DTYPE.get(dtype);
}

/** AttributeProto.AttributeType. */
export const ATTR_TYPE = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;

/** Protobuf wire types. */
export const WIRE = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;

/**
 * Field numbers this codec knows, per message (see onnx.proto in this folder).
 * A field not listed is unknown: kept as bytes and written after the known ones.
 */
export const KNOWN_FIELDS = {
  model: new Set([1, 2, 3, 4, 5, 6, 7, 8, 14, 20, 25, 26]),
  graph: new Set([1, 2, 5, 10, 11, 12, 13, 14, 15, 16]),
  node: new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
  attribute: new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 20, 21, 22, 23]),
  valueInfo: new Set([1, 2, 3, 4]),
  function: new Set([1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]),
  tensor: new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16]),
} as const;

/** A known field of ModelProto with the wire type it must have (used by sniff). */
export const MODEL_FIELD_WIRE: ReadonlyMap<number, number> = new Map([
  [1, WIRE.VARINT],
  [2, WIRE.LEN],
  [3, WIRE.LEN],
  [4, WIRE.LEN],
  [5, WIRE.VARINT],
  [6, WIRE.LEN],
  [7, WIRE.LEN],
  [8, WIRE.LEN],
  [14, WIRE.LEN],
  [20, WIRE.LEN],
  [25, WIRE.LEN],
  [26, WIRE.LEN],
]);
