/**
 * How a TensorIterator, Loop or If layer connects its bodies: the port maps
 * (`<port_map>`, `<then_port_map>`, `<else_port_map>`) and the back edges, as
 * the IR writes them. Port maps name the layer's inputs and outputs by
 * `external_port_id` (an input's id is its index; outputs are numbered in the
 * order of their ids, as OpenVINO's IR reader numbers them) and the body's
 * Parameters and Results by layer id.
 */
import type { Node } from '../../ir/graph';
import { isOvNodeNative, ovBody, type BodyTag, type OvBody } from './native';
import { childElement, childElements } from './xml';

/** One `<input>` or `<output>` of a port map: the layer's port, the body layer, and the slicing if any. */
export interface PortMapEntry {
  readonly port: string;
  readonly layer: string;
  readonly axis?: number;
  readonly start: number;
  readonly end: number;
  readonly stride: number;
  readonly partSize: number;
  /** Loop's special entries: "current_iteration", "execution_condition". */
  readonly purpose?: string;
}

/** Reports a malformed port map or back edge of the node (never returns). */
export type BodyFail = (reason: string) => never;

/** The port map element of a body: `port_map` for `body`, `then_port_map` for `then_body`... */
export function portMapTag(tag: BodyTag): string {
  return tag === 'body' ? 'port_map' : tag.replace('body', 'port_map');
}

/** The `<input>` or `<output>` entries of the port map of body `tag` of the node. */
export function portMapEntries(node: Node, tag: BodyTag, kind: 'input' | 'output', fail: BodyFail): PortMapEntry[] {
  const native = node.native;
  const map = isOvNodeNative(native) ? childElement(native.layer, portMapTag(tag)) : undefined;
  if (!map) return fail(`the layer has no <${portMapTag(tag)}>`);
  return childElements(map, kind).map((e) => {
    const int = (name: string, fallback: number | undefined): number | undefined => {
      const text = e.attrs[name];
      if (text === undefined) return fallback;
      if (!/^\s*-?\d+\s*$/.test(text)) fail(`port_map ${kind} ${name}="${text}" is not an integer`);
      return Number(text);
    };
    const port = e.attrs.external_port_id;
    const layer = e.attrs.internal_layer_id;
    if (port === undefined || layer === undefined) fail(`a port_map ${kind} needs external_port_id and internal_layer_id`);
    const purpose = e.attrs.purpose?.trim();
    return { port: port.trim(), layer: layer.trim(), axis: int('axis', undefined), start: int('start', 0)!, end: int('end', -1)!, stride: int('stride', 1)!, partSize: int('part_size', 1)!, ...(purpose ? { purpose } : {}) };
  });
}

/** Output entries in the order of their external_port_id, which is the order of the layer's outputs; special ones (-1) left out. */
export function outputEntries(entries: readonly PortMapEntry[]): PortMapEntry[] {
  return entries.filter((e) => Number(e.port) >= 0).sort((a, b) => Number(a.port) - Number(b.port));
}

/** The input an entry names (its external_port_id is the input's index). */
export function inputIndex(node: Node, e: PortMapEntry, fail: BodyFail): number {
  const i = Number(e.port);
  if (!Number.isInteger(i) || i < 0 || i >= node.inputs.length) fail(`the port_map names input ${e.port}, which the layer does not have`);
  return i;
}

/** body Parameter id -> body Result id, for each back edge of the node. */
export function backEdges(node: Node, fail: BodyFail): Map<string, string> {
  const edges = new Map<string, string>();
  const native = node.native;
  const el = isOvNodeNative(native) ? childElement(native.layer, 'back_edges') : undefined;
  for (const e of el ? childElements(el, 'edge') : []) {
    const from = e.attrs['from-layer']?.trim();
    const to = e.attrs['to-layer']?.trim();
    if (from === undefined || to === undefined) fail('a back edge needs from-layer and to-layer');
    edges.set(to, from);
  }
  return edges;
}

/** Body `tag` of the node, or undefined when it has none or its bodies could not be read (they are then written as read). */
export function bodyIfReadable(node: Node, tag: BodyTag): OvBody | undefined {
  try {
    return ovBody(node, tag);
  } catch {
    return undefined;
  }
}

/** Port map entries, or undefined when the port map is malformed (what would use it then leaves the layer as it is). */
export function entriesOf(node: Node, tag: BodyTag, kind: 'input' | 'output'): PortMapEntry[] | undefined {
  try {
    return portMapEntries(node, tag, kind, (reason) => {
      throw new Error(reason);
    });
  } catch {
    return undefined;
  }
}
