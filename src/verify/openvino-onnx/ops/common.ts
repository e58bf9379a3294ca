import { dtypeOfElementType } from '../../../formats/openvino/element-types';
import { codeOfDtype } from '../../../formats/onnx/schema';
import type { DType } from '../../../ir/dtype';
import type { Node, Value } from '../../../ir/graph';
import type { Translation } from '../translation';

/**
 * OpenVINO's `auto_broadcast` of elementwise ops: `numpy` (the default) is
 * ONNX's multidirectional broadcasting; `none` needs equal shapes, which
 * broadcasting also computes; `pdpd` (PaddlePaddle's, aligned at `axis`) has
 * no ONNX equivalent here.
 */
export function checkNumpyBroadcast(node: Node, t: Translation): void {
  const mode = (t.str(node, 'auto_broadcast') ?? 'numpy').trim().toLowerCase();
  if (mode !== 'numpy' && mode !== 'none') t.fail(node, `auto_broadcast="${mode}" is not translated (numpy and none are)`);
}

/** The ONNX TensorProto.DataType code of an OpenVINO element type name (`f32`, `i64`, ...). */
export function onnxTypeOfElementType(node: Node, t: Translation, elementType: string): number {
  const dtype = dtypeOfElementType(elementType.trim());
  const code = dtype === undefined ? undefined : codeOfDtype(dtype);
  if (code === undefined || code === 0) t.fail(node, `element type '${elementType}' has no ONNX equivalent`);
  return code;
}

/** The ONNX TensorProto.DataType code of an IR dtype. */
export function onnxTypeOf(node: Node, t: Translation, dtype: DType): number {
  const code = codeOfDtype(dtype);
  if (code === undefined || code === 0) t.fail(node, `element type ${dtype} has no ONNX equivalent`);
  return code;
}

/** Casts `v` to int64 (ONNX wants int64 shapes, axes and indices where OpenVINO takes i32 too). */
export function toInt64(t: Translation, v: Value, dtype: DType | undefined): Value {
  return dtype === 'int64' ? v : t.add1('Cast', [v], { to: 7 });
}

/** An axis of a rank-`rank` tensor, negative ones counted from the end. */
export function normalizeAxis(node: Node, t: Translation, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) t.fail(node, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** auto_pad, lower-cased (`explicit` when absent). */
export function autoPadMode(node: Node, t: Translation): string {
  const mode = (t.str(node, 'auto_pad') ?? 'explicit').trim().toLowerCase();
  if (mode === 'notset') return 'explicit';
  if (mode !== 'explicit' && mode !== 'valid' && mode !== 'same_upper' && mode !== 'same_lower') t.fail(node, `auto_pad="${mode}" is not translated (explicit, valid, same_upper and same_lower are)`);
  return mode;
}

/**
 * SAME padding of one spatial axis: output ceil(H / stride), the total
 * padding that needs (never negative), the odd one at the end
 * (`same_upper`) or at the beginning (`same_lower`).
 */
export function samePads(mode: string, size: number, stride: number, dilatedKernel: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max(0, (out - 1) * stride + dilatedKernel - size);
  const begin = mode === 'same_upper' ? Math.floor(total / 2) : Math.ceil(total / 2);
  return [begin, total - begin];
}
