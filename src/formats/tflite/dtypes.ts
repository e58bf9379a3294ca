import type { DType } from '../../ir/dtype';
import { TensorType } from './schema/schema.generated';

const BY_CODE = new Map<number, DType>([
  [TensorType.FLOAT32, 'float32'],
  [TensorType.FLOAT16, 'float16'],
  [TensorType.INT32, 'int32'],
  [TensorType.UINT8, 'uint8'],
  [TensorType.INT64, 'int64'],
  [TensorType.STRING, 'string'],
  [TensorType.BOOL, 'bool'],
  [TensorType.INT16, 'int16'],
  [TensorType.COMPLEX64, 'complex64'],
  [TensorType.INT8, 'int8'],
  [TensorType.FLOAT64, 'float64'],
  [TensorType.COMPLEX128, 'complex128'],
  [TensorType.UINT64, 'uint64'],
  [TensorType.RESOURCE, 'resource'],
  [TensorType.VARIANT, 'variant'],
  [TensorType.UINT32, 'uint32'],
  [TensorType.UINT16, 'uint16'],
  [TensorType.INT4, 'int4'],
  [TensorType.BFLOAT16, 'bfloat16'],
]);

const BY_DTYPE = new Map<DType, number>([...BY_CODE].map(([code, dtype]) => [dtype, code]));

/** The IR dtype of a TFLite TensorType code; undefined for a code this schema does not know. */
export function dtypeOfTensorType(code: number): DType | undefined {
  return BY_CODE.get(code);
}

/** The TensorType code of an IR dtype; undefined when TFLite has no such type. */
export function tensorTypeOfDtype(dtype: DType): number | undefined {
  return BY_DTYPE.get(dtype);
}
