/**
 * TensorIterator-1 translated to an ONNX Loop: the body is translated layer
 * by layer into the Loop's body graph, sliced inputs are sliced there at the
 * iteration number, back edges become loop-carried values, and outputs are
 * the Loop's scan outputs (concatenated along their axis, or the last
 * iteration's).
 */
import { attr } from '../../../ir/attr';
import { Graph, type Node, type Value } from '../../../ir/graph';
import type { OvBody } from '../../../formats/openvino/native';
import { isOvNodeNative } from '../../../formats/openvino/native';
import { childElement, childElements, type XmlElement } from '../../../formats/openvino/xml';
import { inOrder, registerTranslators, translateLayer, Translation } from '../translation';

/** One `<input>` or `<output>` of a port_map: the layer's port, the body layer, and the slicing if any. */
interface PortMapEntry {
  readonly port: string;
  readonly layer: string;
  readonly axis?: number;
  readonly start: number;
  readonly end: number;
  readonly stride: number;
  readonly partSize: number;
}

function portMapEntries(node: Node, t: Translation, map: XmlElement, kind: 'input' | 'output'): PortMapEntry[] {
  return childElements(map, kind).map((e) => {
    const int = (name: string, fallback: number | undefined): number | undefined => {
      const text = e.attrs[name];
      if (text === undefined) return fallback;
      if (!/^\s*-?\d+\s*$/.test(text)) t.fail(node, `port_map ${kind} ${name}="${text}" is not an integer`);
      return Number(text);
    };
    const port = e.attrs.external_port_id;
    const layer = e.attrs.internal_layer_id;
    if (port === undefined || layer === undefined) t.fail(node, `a port_map ${kind} needs external_port_id and internal_layer_id`);
    return { port: port.trim(), layer: layer.trim(), axis: int('axis', undefined), start: int('start', 0)!, end: int('end', -1)!, stride: int('stride', 1)!, partSize: int('part_size', 1)! };
  });
}

/**
 * Whether a sliced entry walks the whole axis one element at a time, forward
 * (start 0, end the last) or backward (start the last, end 0), the slicing
 * Model Optimizer writes; true for backward. Anything else is refused.
 */
function walksWholeAxis(node: Node, t: Translation, e: PortMapEntry, size: number): boolean {
  const at = (i: number): number => (i < 0 ? i + size : i);
  if (e.partSize === 1 && e.stride === 1 && at(e.start) === 0 && at(e.end) === size - 1) return false;
  if (e.partSize === 1 && e.stride === -1 && at(e.start) === size - 1 && at(e.end) === 0) return true;
  return t.fail(node, `port_map slicing start=${e.start} end=${e.end} stride=${e.stride} part_size=${e.partSize} over ${size} elements is not translated (the whole axis, one element at a time, either way, is)`);
}

function tensorIterator(node: Node, t: Translation): Value[] {
  const native = node.native;
  if (!isOvNodeNative(native) || !native.body) return t.fail(node, 'the layer has no <body>');
  const body: OvBody = native.body();
  const map = childElement(native.layer, 'port_map') ?? t.fail(node, 'the layer has no <port_map>');
  const ins = portMapEntries(node, t, map, 'input');
  const outs = portMapEntries(node, t, map, 'output');
  const backEdges = new Map<string, string>(); // body Parameter id -> body Result id
  for (const e of childElements(childElement(native.layer, 'back_edges') ?? map, 'edge')) {
    const from = e.attrs['from-layer']?.trim();
    const to = e.attrs['to-layer']?.trim();
    if (from === undefined || to === undefined) t.fail(node, 'a back edge needs from-layer and to-layer');
    backEdges.set(to, from);
  }
  // Ports are numbered across the layer's <input> and <output>; values follow their order.
  const inputIndex = new Map((childElements(childElement(native.layer, 'input') ?? map, 'port')).map((p, i) => [p.attrs.id ?? '', i]));
  const outputIndex = new Map((childElements(childElement(native.layer, 'output') ?? map, 'port')).map((p, i) => [p.attrs.id ?? '', i]));
  const parameter = (id: string): Value => body.parameters.get(id) ?? t.fail(node, `the port_map names body layer ${id}, which is no Parameter`);
  const result = (id: string): Value => body.results.get(id) ?? t.fail(node, `body layer ${id} is no Result`);

  // The iteration count: the length of the sliced axis, the same for every sliced input.
  let iterations: number | undefined;
  for (const e of ins.filter((x) => x.axis !== undefined)) {
    const i = inputIndex.get(e.port) ?? t.fail(node, `the port_map names input port ${e.port}, which the layer does not have`);
    const shape = t.staticShape(node, i);
    const axis = e.axis! < 0 ? e.axis! + shape.length : e.axis!;
    const size = shape[axis] ?? t.fail(node, `axis ${e.axis} is out of range for input ${i}`);
    if (iterations !== undefined && iterations !== size) t.fail(node, `sliced inputs of ${iterations} and ${size} elements`);
    iterations = size;
  }
  if (iterations === undefined) t.fail(node, 'no input is sliced, so the number of iterations is not known');

  const loopBody = new Graph(t.freshName('body'), t.onnx);
  const tb = new Translation(loopBody);
  const iter = loopBody.addValue(tb.freshName('iter'), { dtype: 'int64', shape: [] });
  const condIn = loopBody.addValue(tb.freshName('cond'), { dtype: 'bool', shape: [] });
  loopBody.inputs.push(iter, condIn);
  const carriedInitial: Value[] = [];
  const carriedNext: string[] = []; // body Result ids, in the order of the carried values
  for (const e of ins) {
    const i = inputIndex.get(e.port) ?? t.fail(node, `the port_map names input port ${e.port}, which the layer does not have`);
    const p = parameter(e.layer);
    const outer = t.input(node, i);
    if (e.axis !== undefined) {
      const shape = t.staticShape(node, i);
      const axis = e.axis < 0 ? e.axis + shape.length : e.axis;
      const backward = walksWholeAxis(node, t, e, shape[axis]!);
      const at = backward ? tb.add1('Sub', [tb.scalar('int64', iterations - 1), iter]) : iter;
      const start = tb.add1('Unsqueeze', [at, tb.int64s([0])]);
      const end = tb.add1('Add', [start, tb.int64s([1])]);
      tb.bind(p, tb.add1('Slice', [outer, start, end, tb.int64s([axis])]));
    } else if (backEdges.has(e.layer)) {
      const v = loopBody.addValue(tb.freshName(p.name || 'carried'), { dtype: p.dtype, shape: p.shape ? [...p.shape] : undefined });
      loopBody.inputs.push(v);
      tb.bind(p, v);
      carriedInitial.push(outer);
      carriedNext.push(backEdges.get(e.layer)!);
    } else {
      // The same value at every iteration: the body reads it from the graph around it.
      tb.bind(p, outer);
    }
  }
  for (const layer of inOrder(body.graph)) translateLayer(layer, tb);

  const bodyOutput = (v: Value): Value => {
    const computed = tb.valueOf(v) ?? t.fail(node, `body value '${v.name}' is not computed`);
    const out = loopBody.addValue(tb.freshName(v.name || 'out'), { dtype: v.dtype, shape: v.shape ? [...v.shape] : undefined });
    loopBody.addNode({ op: 'Identity', name: tb.freshName('Identity'), inputs: [computed], outputs: [out] });
    return out;
  };
  const condOut = loopBody.addValue(tb.freshName('cond_out'), { dtype: 'bool', shape: [] });
  loopBody.addNode({ op: 'Identity', name: tb.freshName('Identity'), inputs: [condIn], outputs: [condOut] });
  // Every output is a scan output: stacked per iteration along a new axis 0.
  loopBody.outputs = [condOut, ...carriedNext.map((id) => bodyOutput(result(id))), ...outs.map((e) => bodyOutput(result(e.layer)))];

  const loopOuts = t.add('Loop', [t.scalar('int64', iterations), null, ...carriedInitial], { body: attr.graph(loopBody) }, carriedInitial.length + outs.length);
  const stacked = loopOuts.slice(carriedInitial.length);
  const values: Value[] = [];
  outs.forEach((e, k) => {
    const index = outputIndex.get(e.port) ?? t.fail(node, `the port_map names output port ${e.port}, which the layer does not have`);
    const scan = stacked[k]!;
    const resultRank = result(e.layer).shape?.length ?? t.fail(node, `body Result ${e.layer} has no declared shape`);
    let value: Value;
    if (e.axis === undefined) {
      // The last iteration's value.
      value = t.add1('Gather', [scan, t.scalar('int64', iterations - 1)], { axis: 0 });
    } else {
      const axis = e.axis < 0 ? e.axis + resultRank : e.axis;
      const backward = walksWholeAxis(node, t, e, iterations);
      const ordered = backward ? t.add1('Slice', [scan, t.int64s([-1]), t.int64s([-(2 ** 63)]), t.int64s([0]), t.int64s([-1])]) : scan;
      // [N, d0 .. 1 (at axis) ..] -> swap N into the axis -> [1, d0 .. N ..] -> drop the leading 1.
      const perm = Array.from({ length: resultRank + 1 }, (_, i) => i);
      perm[0] = axis + 1;
      perm[axis + 1] = 0;
      value = t.add1('Squeeze', [t.add1('Transpose', [ordered], { perm }), t.int64s([0])]);
    }
    values[index] = value;
  });
  return values;
}

registerTranslators({ TensorIterator: tensorIterator });
