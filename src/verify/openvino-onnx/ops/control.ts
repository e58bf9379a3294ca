/**
 * OpenVINO's layers with bodies: TensorIterator-1 and Loop-5 as an ONNX
 * Loop, If-8 as an ONNX If. A body is translated layer by layer into the ONNX
 * subgraph, which reads the layer's invariant inputs from the graph around
 * it. In a loop, TensorIterator's sliced inputs are sliced at the
 * iteration number, back edges become loop-carried values, and outputs are
 * the Loop's scan outputs (concatenated along their axis, or the last
 * iteration's).
 * (How port maps name ports and body layers: formats/openvino/bodies.ts.)
 */
import { attr } from '../../../ir/attr';
import { Graph, type Node, type Value } from '../../../ir/graph';
import { backEdges, inputIndex, outputEntries, portMapEntries, type PortMapEntry } from '../../../formats/openvino/bodies';
import { ovBody, type BodyTag, type OvBody } from '../../../formats/openvino/native';
import { codeOfDtype } from '../../../formats/onnx/schema';
import { inOrder, registerTranslators, translateLayer, Translation } from '../translation';

const INT64 = codeOfDtype('int64')!;

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

/** The layer's body (or `then_body`/`else_body`) as it is now. */
function bodyOf(node: Node, t: Translation, tag: BodyTag): OvBody {
  // A body that did not read throws the reader's error: the model is malformed there.
  return ovBody(node, tag) ?? t.fail(node, `the layer has no <${tag}>`);
}

/** The port map entries of body `tag`, malformed ones refused naming the layer. */
function entries(node: Node, t: Translation, tag: BodyTag, kind: 'input' | 'output'): PortMapEntry[] {
  return portMapEntries(node, tag, kind, (reason) => t.fail(node, reason));
}

function inputOf(node: Node, t: Translation, e: PortMapEntry): number {
  return inputIndex(node, e, (reason) => t.fail(node, reason));
}

function parameterOf(node: Node, t: Translation, body: OvBody, id: string): Value {
  return body.parameters.get(id) ?? t.fail(node, `the port_map names body layer ${id}, which is no Parameter`);
}

function resultOf(node: Node, t: Translation, body: OvBody, id: string): Value {
  return body.results.get(id) ?? t.fail(node, `body layer ${id} is no Result`);
}

/** What body value `v` became in the subgraph of `tb`, as a new output of it (an Identity, typed as OpenVINO declares `v`). */
function subgraphOutput(tb: Translation, v: Value, node: Node, t: Translation): Value {
  const computed = tb.valueOf(v) ?? t.fail(node, `body value '${v.name}' is not computed`);
  const out = tb.onnx.addValue(tb.freshName(v.name || 'out'), { dtype: v.dtype, shape: v.shape ? [...v.shape] : undefined });
  tb.onnx.addNode({ op: 'Identity', name: tb.freshName('Identity'), inputs: [computed], outputs: [out] });
  return out;
}

/** Translates every layer of `body` into the ONNX subgraph of `tb` (its Parameters already bound). */
function translateBody(body: OvBody, tb: Translation): void {
  for (const layer of inOrder(body.graph)) translateLayer(layer, tb);
}

/**
 * The layer's outputs from the ONNX Loop's: the final value of a loop-carried
 * one (its initial value when the loop never ran, as OpenVINO gives it), the
 * value of the last iteration, or each iteration's concatenated along the
 * entry's axis (in reverse for a negative stride).
 */
function loopOutputs(node: Node, t: Translation, body: OvBody, outs: readonly PortMapEntry[], stacked: readonly Value[], iterations: Value, carriedFinal: ReadonlyMap<string, Value>): Value[] {
  return outs.map((e, k) => {
    const scan = stacked[k]!;
    const carried = carriedFinal.get(e.layer);
    if (e.axis === undefined && carried) return carried;
    if (e.axis === undefined) return t.add1('Gather', [scan, t.add1('Sub', [iterations, t.scalar('int64', 1)])], { axis: 0 });
    const shape = resultOf(node, t, body, e.layer).shape ?? t.fail(node, `body Result ${e.layer} has no declared shape`);
    const axis = e.axis < 0 ? e.axis + shape.length : e.axis;
    if (e.partSize !== 1 || Math.abs(e.stride) !== 1) t.fail(node, `output concatenation with stride=${e.stride} part_size=${e.partSize} is not translated (stride 1 or -1, part_size 1 are)`);
    const ordered = e.stride < 0 ? t.add1('Slice', [scan, t.int64s([-1]), t.int64s([-(2 ** 63)]), t.int64s([0]), t.int64s([-1])]) : scan;
    // [N, d0 .. k (at axis) ..]: N moves next to the axis, then the two merge.
    const perm = Array.from({ length: shape.length + 1 }, (_, i) => i);
    perm.splice(0, 1);
    perm.splice(axis, 0, 0);
    const moved = t.add1('Transpose', [ordered], { perm });
    if (shape[axis] === 1) return t.add1('Squeeze', [moved, t.int64s([axis + 1])]);
    if (shape.some((d) => typeof d !== 'number')) t.fail(node, `body Result ${e.layer} needs a static shape to concatenate along axis ${e.axis}`);
    const merged = (shape as number[]).map((d, i) => (i === axis ? -1 : d));
    return t.add1('Reshape', [moved, t.int64s(merged)]);
  });
}

/**
 * An ONNX Loop around a translated body: its subgraph takes the iteration
 * number and the condition, then the loop-carried values; `carry` adds one,
 * `finish` translates the body and adds the Loop.
 */
class OnnxLoop {
  readonly graph: Graph;
  readonly tb: Translation;
  readonly iter: Value;
  readonly condIn: Value;
  private readonly initial: Value[] = [];
  /** The body Result that gives each carried value its next value, in their order. */
  private readonly next: string[] = [];

  constructor(t: Translation) {
    this.graph = new Graph(t.freshName('body'), t.onnx);
    this.tb = t.nested(this.graph);
    this.iter = this.graph.addValue(this.tb.freshName('iter'), { dtype: 'int64', shape: [] });
    this.condIn = this.graph.addValue(this.tb.freshName('cond'), { dtype: 'bool', shape: [] });
    this.graph.inputs.push(this.iter, this.condIn);
  }

  /** Body Parameter `p` carried from one iteration to the next: `outer` at first, then what body Result `resultId` computed. */
  carry(p: Value, outer: Value, resultId: string): void {
    const v = this.graph.addValue(this.tb.freshName(p.name || 'carried'), { dtype: p.dtype, shape: p.shape ? [...p.shape] : undefined });
    this.graph.inputs.push(v);
    this.tb.bind(p, v);
    this.initial.push(outer);
    this.next.push(resultId);
  }

  /**
   * Translates `body` (its Parameters bound), gives the body's condition
   * (`condition`, else the one it was given) and adds the Loop. Returns each
   * output entry's per-iteration values stacked along a new axis 0, and the
   * final value of each carried one by its Result id.
   */
  finish(node: Node, t: Translation, body: OvBody, outs: readonly PortMapEntry[], trips: Value | null, cond: Value | null, condition?: string): { stacked: Value[]; carriedFinal: Map<string, Value> } {
    const { graph, tb } = this;
    translateBody(body, tb);
    const condOut = graph.addValue(tb.freshName('cond_out'), { dtype: 'bool', shape: [] });
    const condSource = condition ? tb.add1('Reshape', [tb.valueOf(resultOf(node, t, body, condition)) ?? t.fail(node, 'the execution condition is not computed'), tb.int64s([])]) : this.condIn;
    graph.addNode({ op: 'Identity', name: tb.freshName('Identity'), inputs: [condSource], outputs: [condOut] });
    const output = (id: string): Value => subgraphOutput(tb, resultOf(node, t, body, id), node, t);
    graph.outputs = [condOut, ...this.next.map(output), ...outs.map((e) => output(e.layer))];
    const loopOuts = t.add('Loop', [trips, cond, ...this.initial], { body: attr.graph(graph) }, this.initial.length + outs.length);
    return { stacked: loopOuts.slice(this.initial.length), carriedFinal: new Map(this.next.map((id, i) => [id, loopOuts[i]!])) };
  }
}

function tensorIterator(node: Node, t: Translation): Value[] {
  const body = bodyOf(node, t, 'body');
  const ins = entries(node, t, 'body', 'input');
  const outs = outputEntries(entries(node, t, 'body', 'output'));
  const carried = backEdges(node, (reason) => t.fail(node, reason));

  // The iteration count: the length of the sliced axis, the same for every sliced input.
  let iterations: number | undefined;
  for (const e of ins.filter((x) => x.axis !== undefined)) {
    const i = inputOf(node, t, e);
    const shape = t.staticShape(node, i);
    const axis = e.axis! < 0 ? e.axis! + shape.length : e.axis!;
    const size = shape[axis] ?? t.fail(node, `axis ${e.axis} is out of range for input ${i}`);
    if (iterations !== undefined && iterations !== size) t.fail(node, `sliced inputs of ${iterations} and ${size} elements`);
    iterations = size;
  }
  if (iterations === undefined) t.fail(node, 'no input is sliced, so the number of iterations is not known');

  const loop = new OnnxLoop(t);
  const { tb, iter } = loop;
  for (const e of ins) {
    const i = inputOf(node, t, e);
    const p = parameterOf(node, t, body, e.layer);
    const outer = t.input(node, i);
    if (e.axis !== undefined) {
      const shape = t.staticShape(node, i);
      const axis = e.axis < 0 ? e.axis + shape.length : e.axis;
      const backward = walksWholeAxis(node, t, e, shape[axis]!);
      const at = backward ? tb.add1('Sub', [tb.scalar('int64', iterations - 1), iter]) : iter;
      const start = tb.add1('Unsqueeze', [at, tb.int64s([0])]);
      const end = tb.add1('Add', [start, tb.int64s([1])]);
      tb.bind(p, tb.add1('Slice', [outer, start, end, tb.int64s([axis])]));
    } else if (carried.has(e.layer)) {
      loop.carry(p, outer, carried.get(e.layer)!);
    } else {
      // The same value at every iteration: the body reads it from the graph around it.
      tb.bind(p, outer);
    }
  }
  // Every output is a scan output: stacked per iteration along a new axis 0.
  const trips = t.scalar('int64', iterations);
  const { stacked, carriedFinal } = loop.finish(node, t, body, outs, trips, null);
  return loopOutputs(node, t, body, outs, stacked, trips, carriedFinal);
}

/**
 * Loop-5: inputs trip count and execution condition, then the data; a body
 * Parameter may take the iteration number (purpose "current_iteration") and
 * a body Result the condition of the next iteration (purpose
 * "execution_condition"). A trip count of -1 (any negative one) runs until
 * the condition is false.
 */
function loop(node: Node, t: Translation): Value[] {
  const body = bodyOf(node, t, 'body');
  const ins = entries(node, t, 'body', 'input');
  const allOuts = entries(node, t, 'body', 'output');
  const outs = outputEntries(allOuts.filter((e) => e.purpose === undefined));
  const conditionOut = allOuts.find((e) => e.purpose === 'execution_condition');
  const carried = backEdges(node, (reason) => t.fail(node, reason));
  for (const e of [...ins, ...allOuts]) {
    if (e.purpose && e.purpose !== 'current_iteration' && e.purpose !== 'execution_condition') t.fail(node, `port_map purpose="${e.purpose}" is not translated`);
  }
  if (ins.some((e) => e.axis !== undefined)) t.fail(node, 'a Loop input with an axis is not translated');

  const onnxLoop = new OnnxLoop(t);
  const { tb, iter } = onnxLoop;
  for (const e of ins) {
    const p = parameterOf(node, t, body, e.layer);
    if (e.purpose === 'current_iteration') {
      const typed = p.dtype && p.dtype !== 'int64' ? tb.add1('Cast', [iter], { to: codeOf(node, t, p) }) : iter;
      tb.bind(p, p.shape && p.shape.length === 1 ? tb.add1('Reshape', [typed, tb.int64s([1])]) : typed);
      continue;
    }
    const outer = t.input(node, inputOf(node, t, e));
    if (carried.has(e.layer)) onnxLoop.carry(p, outer, carried.get(e.layer)!);
    else tb.bind(p, outer);
  }
  const trips = tripCountOf(node, t);
  const cond = t.add1('Reshape', [t.input(node, 1), t.int64s([])]);
  const { stacked, carriedFinal } = onnxLoop.finish(node, t, body, outs, trips, cond, conditionOut?.layer);
  // The number of iterations run: the length of any scan output (the loop may stop early on its condition).
  const ran = stacked.length > 0 ? t.add1('Gather', [t.add1('Shape', [stacked[0]!]), t.scalar('int64', 0)], { axis: 0 }) : t.scalar('int64', 0);
  return loopOutputs(node, t, body, outs, stacked, ran, carriedFinal);
}

/** ONNX Loop's M: a constant trip count as it is (none when negative), a computed one as int64 with a negative one made unbounded. */
function tripCountOf(node: Node, t: Translation): Value | null {
  const constant = t.constInput(node, 0);
  if (constant) {
    if (constant.size !== 1) t.fail(node, `the trip count has ${constant.size} elements, not 1`);
    const n = constant.toFloat64()[0]!;
    return n < 0 ? null : t.scalar('int64', n);
  }
  const m = t.add1('Reshape', [t.add1('Cast', [t.input(node, 0)], { to: INT64 }), t.int64s([])]);
  // 2^62 iterations: no loop ends by its count there, only by its condition.
  return t.add1('Where', [t.add1('Less', [m, t.scalar('int64', 0)]), t.scalar('int64', 2 ** 62), m]);
}

/** If-8: an ONNX If whose branches read the layer's inputs from the graph around them. */
function ifLayer(node: Node, t: Translation): Value[] {
  const branch = (tag: 'then_body' | 'else_body'): { graph: Graph; outs: PortMapEntry[] } => {
    const body = bodyOf(node, t, tag);
    const graph = new Graph(t.freshName(tag), t.onnx);
    const tb = t.nested(graph);
    for (const e of entries(node, t, tag, 'input')) tb.bind(parameterOf(node, t, body, e.layer), t.input(node, inputOf(node, t, e)));
    translateBody(body, tb);
    const outs = outputEntries(entries(node, t, tag, 'output'));
    graph.outputs = outs.map((e) => subgraphOutput(tb, resultOf(node, t, body, e.layer), node, t));
    return { graph, outs };
  };
  const thenBranch = branch('then_body');
  const elseBranch = branch('else_body');
  if (thenBranch.outs.length !== node.outputs.length || elseBranch.outs.length !== node.outputs.length) {
    t.fail(node, `the branches give ${thenBranch.outs.length} and ${elseBranch.outs.length} outputs for the layer's ${node.outputs.length}`);
  }
  const cond = t.add1('Reshape', [t.input(node, 0), t.int64s([])]);
  return t.add('If', [cond], { then_branch: attr.graph(thenBranch.graph), else_branch: attr.graph(elseBranch.graph) }, node.outputs.length);
}

/** The ONNX TensorProto data type code of a body Parameter's element type. */
function codeOf(node: Node, t: Translation, p: Value): number {
  const code = p.dtype ? codeOfDtype(p.dtype) : undefined;
  return code ?? t.fail(node, `body Parameter '${p.name}' has an element type ONNX cannot cast to`);
}

registerTranslators({ TensorIterator: tensorIterator, Loop: loop, If: ifLayer });
