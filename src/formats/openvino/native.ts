import type { MetadataEntry } from '../../ir/model';
import type { Graph, Node, Value } from '../../ir/graph';
import type { Tensor, TensorData } from '../../ir/tensor';
import type { XmlDocument, XmlElement, XmlNode, XmlStyle } from './xml';

/**
 * What the OpenVINO codec keeps beside the IR so that a model read and written
 * unchanged is the same XML tree. Every `layer` element is the one read from
 * the file; the writer copies it and changes only what the IR changed.
 */

/** `Node.native` of a layer that became a node. */
export interface OvNodeNative {
  readonly kind: 'ov-node';
  readonly layer: XmlElement;
  /** Position of the layer in `<layers>`, so unchanged layers keep their order. */
  readonly order: number;
  /** The values each input port read, and their dtype/shape then (see signature()). */
  readonly inputsAtRead: readonly (Value | null)[];
  readonly inputSigs: readonly string[];
  /**
   * Const layers nested in bodies that stay opaque (see `opaqueBodies`):
   * child-index path to their `<data>` and their bytes. Empty when the
   * bodies were read into graphs, which hold their Consts themselves.
   */
  readonly nestedConsts: readonly { path: readonly number[]; data: TensorData }[];
  /**
   * Why the layer's bodies could not be read into graphs (the layer is then
   * written as read, and rules do not reach inside). Bodies that read are the
   * node's graph attributes, by tag (`body`, `then_body`, `else_body`).
   */
  readonly opaqueBodies?: Error;
}

/** The element tags of the bodies a layer may hold, which are also the names of their graph attributes. */
export const BODY_TAGS = ['body', 'then_body', 'else_body'] as const;
export type BodyTag = (typeof BODY_TAGS)[number];

/** A body of a TensorIterator, Loop or If: its graph, and its Parameters and Results by layer id (what port_map and back_edges name). */
export interface OvBody {
  readonly graph: Graph;
  readonly parameters: ReadonlyMap<string, Value>;
  readonly results: ReadonlyMap<string, Value>;
}

/**
 * Body `tag` of a TensorIterator, Loop or If node as it is now (rules may
 * have rewritten it): undefined when the node has no such body; throws the
 * reader's error when its bodies could not be read.
 */
export function ovBody(node: Node, tag: BodyTag): OvBody | undefined {
  const native = node.native;
  if (isOvNodeNative(native) && native.opaqueBodies) throw native.opaqueBodies;
  const attr = node.attrs.get(tag);
  if (attr?.kind !== 'graph') return undefined;
  const graph = attr.value;
  const parameters = new Map<string, Value>();
  for (const v of graph.inputs) {
    const id = isOvValueNative(v.native) ? v.native.layer?.attrs.id : undefined;
    if (id !== undefined) parameters.set(id, v);
  }
  // Results are graph outputs in document order (the reader's order), which rules keep.
  const results = new Map<string, Value>();
  const read = isOvGraphNative(graph.native) ? graph.native.results : [];
  graph.outputs.forEach((v, i) => {
    const id = read[i]?.layer.attrs.id;
    if (id !== undefined) results.set(id, v);
  });
  return { graph, parameters, results };
}

/** `Value.native` of a value: the port that produces it, and how it looked when read. */
export interface OvValueNative {
  readonly kind: 'ov-port' | 'ov-const' | 'ov-parameter';
  /** The producing `<port>` element. */
  readonly port: XmlElement;
  /** The name the value had when read: a change of name is written to the port's `names`. */
  readonly readName: string;
  /** True when `readName` came from the port's `names` attribute. */
  readonly fromNames: boolean;
  /** dtype and shape when read (see signature()). */
  readonly sig: string;
  /** Const and Parameter: the whole layer, its position, and (Const) the tensor read. */
  readonly layer?: XmlElement;
  readonly order?: number;
  readonly tensor?: Tensor;
  /** Const: the bytes as stored in the .bin (string tensors are packed there). */
  readonly stored?: TensorData;
}

/** A `Result` layer, kept in `Graph.native.results` in the order of `Graph.outputs`. */
export interface OvResultNative {
  readonly layer: XmlElement;
  readonly order: number;
  readonly inputAtRead: Value;
  readonly inputSig: string;
}

/** `Graph.native` of the main graph and of a body. */
export interface OvGraphNative {
  readonly kind: 'ov-graph';
  results: OvResultNative[];
  /** A body's element as read, its largest layer id and its edge order (the main graph's are in OvModelNative). */
  readonly body?: { readonly element: XmlElement; readonly maxLayerId: number; readonly edgeOrder: ReadonlyMap<string, number> };
}

/** `Model.native`: the document as read. */
export interface OvModelNative {
  readonly kind: 'ov-model';
  readonly doc: XmlDocument;
  /** The XML text as read: written back verbatim when the regenerated tree is the same. */
  readonly text: string;
  readonly style: XmlStyle;
  readonly irVersion: number;
  /** Largest numeric layer id of the file: new layers get ids above it. */
  readonly maxLayerId: number;
  /** Original edge order, keyed `from:port->to:port`. */
  readonly edgeOrder: ReadonlyMap<string, number>;
  /** `Model.metadata` as read from `<rt_info>`; a change is written back into the tree. */
  readonly metadataAtRead: readonly MetadataEntry[];
  /**
   * The .bin as read, whole, and the byte ranges the XML referred to in it:
   * while a model still uses every one of them, the writer keeps the file as
   * it was (see IrWriter.layoutBin).
   */
  readonly bin?: { readonly whole: TensorData; readonly ranges: readonly TensorData[] };
}

/**
 * The bounds an IR Parameter declares for its dimensions (`shape="?,3,1..100,..64"`):
 * per dimension [lowest, highest] (a missing end is 0 or Infinity), or undefined
 * for a dimension without bounds; undefined when the value is no Parameter.
 */
export function declaredBounds(v: Value): ([number, number] | undefined)[] | undefined {
  const n = v.native;
  if (!isOvValueNative(n) || n.kind !== 'ov-parameter' || !n.layer) return undefined;
  const data = n.layer.children.find((c: XmlNode): c is XmlElement => 'name' in c && c.name === 'data');
  const text = data?.attrs.shape;
  if (text === undefined) return undefined;
  return text.split(',').map((d) => {
    const m = /^\s*(\d*)\.\.(\d*)\s*$/.exec(d);
    return m ? [m[1] ? Number(m[1]) : 0, m[2] ? Number(m[2]) : Infinity] : undefined;
  });
}

/** A compact description of a value's dtype and shape, to tell whether a rewrite changed them. */
export function signature(v: Pick<Value, 'dtype' | 'shape'> | null): string {
  if (!v) return 'none';
  return `${v.dtype ?? '?'}|${v.shape ? JSON.stringify(v.shape) : '?'}`;
}

export function isOvNodeNative(x: unknown): x is OvNodeNative {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'ov-node';
}

export function isOvValueNative(x: unknown): x is OvValueNative {
  const k = typeof x === 'object' && x !== null ? (x as { kind?: unknown }).kind : undefined;
  return k === 'ov-port' || k === 'ov-const' || k === 'ov-parameter';
}

export function isOvGraphNative(x: unknown): x is OvGraphNative {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'ov-graph';
}

export function isOvModelNative(x: unknown): x is OvModelNative {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'ov-model';
}

/**
 * The layout a Parameter declares in its rt_info (`<attribute name="layout"
 * layout="[N,C,H,W]"/>`, on its port or its layer), one letter or `?` per
 * dimension; undefined when it declares none.
 */
export function declaredLayout(v: Value): string[] | undefined {
  const n = v.native;
  if (!isOvValueNative(n) || n.kind !== 'ov-parameter') return undefined;
  // (xml.ts's helpers are not imported: this module is loaded by fix-shape for every format, without the XML parser.)
  const child = (el: XmlElement | undefined, name: string, attrName?: string): XmlElement | undefined =>
    el?.children.find((c: XmlNode): c is XmlElement => 'name' in c && c.name === name && (attrName === undefined || c.attrs.name === attrName));
  for (const el of [n.port, n.layer]) {
    const text = child(child(el, 'rt_info'), 'attribute', 'layout')?.attrs.layout?.trim();
    if (!text) continue;
    const inner = text.replace(/^\[|\]$/g, '');
    return (inner.includes(',') ? inner.split(',') : [...inner]).map((d) => d.trim().toUpperCase());
  }
  return undefined;
}
