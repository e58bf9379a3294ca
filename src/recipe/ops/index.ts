import type { Attr } from '../../ir/attr';
import type { FormatId } from '../../ir/model';
import onnxAttrs from './onnx-attrs.json';
import onnxOps from './onnx.json';
import openvinoOps from './openvino.json';
import tfliteOps from './tflite.json';

/** Inputs an op takes: the least and the most (null: no upper bound). */
export interface Arity {
  min: number;
  max: number | null;
}

const ONNX_ARITY = new Map<string, Arity>(
  Object.entries(onnxOps.ops as unknown as Record<string, [number, number | null]>).map(([op, [min, max]]) => [op, { min, max }]),
);
const TFLITE = new Set<string>(tfliteOps.ops);
const OPENVINO = new Set<string>(openvinoOps.ops);

/** Domains whose ops the lists know; ops of any other domain are custom and accepted as they are. */
const ONNX_STANDARD_DOMAINS = new Set(['', 'ai.onnx', 'ai.onnx.ml']);

/** Every op name this tool knows for `format`, for "did you mean" hints. */
export function knownOps(format: FormatId): string[] {
  if (format === 'onnx') return [...ONNX_ARITY.keys()];
  return [...(format === 'tflite' ? TFLITE : OPENVINO)];
}

/**
 * True when `op` (with its `domain`, '' for the default) exists in `format`.
 * Custom domains (ONNX `com.microsoft`, TFLite `custom`, OpenVINO extensions)
 * are not listed, so any op name is accepted there.
 */
export function isKnownOp(format: FormatId, op: string, domain = ''): boolean {
  switch (format) {
    case 'onnx':
      if (!ONNX_STANDARD_DOMAINS.has(domain)) return true;
      return ONNX_ARITY.has(domain === 'ai.onnx.ml' ? `ai.onnx.ml::${op}` : op);
    case 'tflite':
      return domain !== '' || TFLITE.has(op);
    case 'openvino':
      // OpenVINO domains are opset names (opset8): the op type decides.
      return /^opset\d+$/.test(domain) || domain === '' ? OPENVINO.has(op) : true;
  }
}

/** How many inputs an op takes, when the lists know (ONNX standard ops only). */
export function opArity(format: FormatId, op: string, domain = ''): Arity | undefined {
  if (format !== 'onnx' || !ONNX_STANDARD_DOMAINS.has(domain)) return undefined;
  return ONNX_ARITY.get(domain === 'ai.onnx.ml' ? `ai.onnx.ml::${op}` : op);
}

/** The kinds an attribute may have (a list where versions of the op differ: Cast's `to` was a string in opset 1). */
const ONNX_ATTRS = new Map<string, ReadonlyMap<string, readonly Attr['kind'][]>>(
  Object.entries(onnxAttrs.ops as unknown as Record<string, Record<string, Attr['kind'] | Attr['kind'][]>>).map(([op, attrs]) => [
    op,
    new Map(Object.entries(attrs).map(([name, kinds]) => [name, Array.isArray(kinds) ? kinds : [kinds]])),
  ]),
);

/**
 * The attributes an op of `format` takes, by name, with the kinds each may
 * have; undefined when this tool does not know them (TFLite and OpenVINO,
 * whose attributes the codecs check, custom domains, and ONNX ops newer than
 * the schemas in onnx-attrs.json).
 */
export function knownAttributes(format: FormatId, op: string, domain = ''): ReadonlyMap<string, readonly Attr['kind'][]> | undefined {
  if (format !== 'onnx' || (domain !== '' && domain !== 'ai.onnx')) return undefined;
  return ONNX_ATTRS.get(op);
}
