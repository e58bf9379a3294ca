import { dtypeOfCode } from '../formats/onnx/schema';
import type { DType } from '../ir/dtype';
import type { Model } from '../ir/model';
import type { Node } from '../ir/graph';

/** A float type narrower than float32 that a model can compute in. */
export type NarrowFloat = 'float16' | 'bfloat16';

/**
 * Ops that only convert a value to another type (per format): a narrow float
 * they read is storage, as float16 weights dequantized to float32 are, not
 * arithmetic in that type.
 */
const CONVERSIONS = new Set(['Cast', 'CastLike', 'DequantizeLinear', 'CAST', 'DEQUANTIZE', 'Convert', 'ConvertLike']);

/** Ops that lay stored values out without arithmetic: TFLite's DENSIFY of sparse float16 weights before their DEQUANTIZE. */
const STORAGE = new Set(['DENSIFY']);

/**
 * The narrowest float type any node of the models computes in, when narrower
 * than float32: a node that reads or gives a float16 or bfloat16 value, other
 * than a conversion reading one. An ONNX model without value_info says its
 * types through its Casts, so a Cast to a narrow float counts too.
 */
export function narrowestComputeFloat(...models: Model[]): NarrowFloat | undefined {
  let narrowest: NarrowFloat | undefined;
  for (const model of models) {
    for (const node of model.allGraphs().flatMap((g) => g.nodes)) {
      for (const dtype of computedDtypes(node, model.format === 'onnx')) {
        if (dtype === 'bfloat16') return 'bfloat16';
        if (dtype === 'float16') narrowest = 'float16';
      }
    }
  }
  return narrowest;
}

function* computedDtypes(node: Node, onnx: boolean): Generator<DType | undefined> {
  if (STORAGE.has(node.op)) return;
  if (!CONVERSIONS.has(node.op)) for (const v of node.inputs) yield v?.dtype;
  for (const v of node.outputs) yield v.dtype;
  if (onnx && node.op === 'Cast') {
    const to = node.attr('to');
    if (to?.kind === 'int') yield dtypeOfCode(Number(to.value));
  }
}

/**
 * Default tolerances for models that compute in a narrow float. Runtimes on a
 * CPU compute most float16 nodes in float32 and round back to float16 only
 * where the graph makes them keep a float16 value (onnxruntime: where another
 * node reads it), so two equivalent graphs can differ by a few units in the
 * last place of float16 (machine epsilon 2^-10 ~ 1e-3; bfloat16's 2^-7 ~ 8e-3).
 * Ten units relative and one absolute stay far below what a wrong rewrite gives.
 */
export const NARROW_FLOAT_TOLERANCE: Readonly<Record<NarrowFloat, { rtol: number; atol: number }>> = {
  float16: { rtol: 1e-2, atol: 1e-3 },
  bfloat16: { rtol: 8e-2, atol: 8e-3 },
};
