import type { Graph } from './graph';
import type { Tensor } from './tensor';

/**
 * An integer attribute value. ONNX attributes are int64: a value beyond 2^53
 * (INT64_MAX as "until the end" in Slice, say) is kept as a bigint so that it
 * is written back exactly.
 */
export type Int = number | bigint;

/**
 * A typed node attribute. Each format maps its own attributes onto these kinds
 * (ONNX AttributeProto, TFLite builtin options fields, OpenVINO `<data>`).
 * `native` carries whatever the format stores beside the value (ONNX doc_string,
 * ref_attr_name, the original encoding) so that an unchanged attribute is written
 * back as it was read.
 */
export type Attr =
  | { kind: 'float'; value: number; native?: unknown }
  | { kind: 'int'; value: Int; native?: unknown }
  | { kind: 'bool'; value: boolean; native?: unknown }
  | { kind: 'string'; value: string; native?: unknown }
  | { kind: 'bytes'; value: Uint8Array; native?: unknown }
  | { kind: 'tensor'; value: Tensor; native?: unknown }
  | { kind: 'graph'; value: Graph; native?: unknown }
  | { kind: 'floats'; value: number[]; native?: unknown }
  | { kind: 'ints'; value: Int[]; native?: unknown }
  | { kind: 'strings'; value: string[]; native?: unknown }
  | { kind: 'tensors'; value: Tensor[]; native?: unknown }
  | { kind: 'graphs'; value: Graph[]; native?: unknown }
  /** A value the IR does not model (ONNX sparse tensors, type protos): kept verbatim. */
  | { kind: 'opaque'; value: unknown; native?: unknown }
  /**
   * Inside a function body (ONNX ref_attr_name): the value of the function's
   * formal attribute named `value`, which each call supplies. It has no value
   * here, so no rule may read one from it.
   */
  | { kind: 'ref'; value: string; native?: unknown };

export type AttrKind = Attr['kind'];

export const attr = {
  float: (value: number): Attr => ({ kind: 'float', value }),
  int: (value: Int): Attr => ({ kind: 'int', value }),
  bool: (value: boolean): Attr => ({ kind: 'bool', value }),
  string: (value: string): Attr => ({ kind: 'string', value }),
  floats: (value: number[]): Attr => ({ kind: 'floats', value }),
  ints: (value: Int[]): Attr => ({ kind: 'ints', value }),
  strings: (value: string[]): Attr => ({ kind: 'strings', value }),
  tensor: (value: Tensor): Attr => ({ kind: 'tensor', value }),
  graph: (value: Graph): Attr => ({ kind: 'graph', value }),
};

/** The subgraphs an attribute holds (If/Loop/Scan bodies, and lists of them). */
export function attrGraphs(a: Attr): Graph[] {
  if (a.kind === 'graph') return [a.value];
  if (a.kind === 'graphs') return a.value;
  return [];
}

/** Normalises an Int to a number when it is exactly representable. */
export function intValue(v: Int): number | bigint {
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) {
    return Number(v);
  }
  return v;
}
