import { GraphCopier, spliceBody } from '../ir/copy';
import type { Graph, Node, Value } from '../ir/graph';
import { cleanup, replaceWithConstant, toposort } from '../ir/passes';
import { Tensor } from '../ir/tensor';
import { inferStaticShapes, valueDType, type StaticShapes } from '../formats/onnx/shapes';
import { SHAPE_VALUE_OPS as OPENVINO_SHAPE_VALUE_OPS, shapeValuesOf as openvinoShapeValues } from '../formats/openvino/shapes';
import { bodyIfReadable, entriesOf, outputEntries } from '../formats/openvino/bodies';
import { SHAPE_VALUE_OPS as TFLITE_SHAPE_VALUE_OPS, shapeValuesOf as tfliteShapeValues } from '../formats/tflite/shapes';
import { holdsExactly, isInteger, type DType } from '../ir/dtype';
import type { ActionDefinition } from '../rewrite/actions';

/** Folding one If can make another's condition known: a few rounds reach the end of any real chain. */
const MAX_ROUNDS = 16;

/**
 * `fold-shapes`: once the shapes are fixed, what an exporter computes
 * from them at run time is known when the recipe runs (seed slides 41-47:
 * re-initialise the dimensions after export; onnx-simplifier's constant
 * folding after shape inference).
 * - A small integer tensor computed from static shapes (Shape -> Gather ->
 *   Unsqueeze -> Concat -> Reshape, as PyTorch and paddle2onnx write a
 *   reshape to the batch size) becomes a constant of the same name, dtype
 *   and shape: the last value of each chain that something else reads.
 * - An If whose condition is then known (Silero VAD picks its branch by
 *   the input length) is replaced with the nodes of the branch it takes: the
 *   other branch, which no longer fits the fixed shapes, could make a
 *   runtime refuse the model. The If's outputs keep their names.
 * In TFLite and OpenVINO IR the same holds for their shape operators (SHAPE
 * -> STRIDED_SLICE -> PACK, ShapeOf -> Gather -> Concat), which compilers
 * for fixed shapes refuse (ArmNN has no SHAPE). An OpenVINO If whose
 * condition is a constant (folded, or an input freeze-inputs froze) is
 * replaced with its branch too; TFLite's IF stays.
 * Graph outputs are not folded, so that the model's interface stays. The
 * nodes left unread are removed, in subgraphs too.
 */
export const foldShapesAction: ActionDefinition = {
  name: 'fold-shapes',
  description: 'Replaces values computed from static shapes with constants, and (ONNX, OpenVINO IR) an If whose condition is then known with its branch.',
  params: { type: 'object', additionalProperties: false, properties: {} },
  run(model) {
    if (model.format !== 'onnx') {
      const format = FORMAT_VALUES[model.format];
      let folded = 0;
      let branches = 0;
      for (let round = 0; round < MAX_ROUNDS; round++) {
        let changed = 0;
        for (const g of model.allGraphs()) changed += foldByStep(g, format.ops, format.sources, format.valuesOf);
        folded += changed;
        if (model.format === 'openvino') {
          for (const g of model.allGraphs()) {
            for (const node of [...g.nodes]) {
              if (node.removed || node.op !== 'If' || !inlineOpenvinoIf(g, node, format.valuesOf)) continue;
              branches++;
              changed++;
            }
          }
        }
        if (changed === 0) break;
        for (const g of model.graphs) cleanup(g);
      }
      if (folded + branches === 0) return { changes: 0, summary: 'no value computed from static shapes to fold' };
      for (const g of model.allGraphs()) toposort(g);
      const inlined = branches > 0 ? `; replaced ${branches} If layer(s) with the branch taken` : '';
      return { changes: folded + branches, summary: `folded ${folded} value(s) computed from shapes into constants${inlined}` };
    }
    const opset = model.opsetVersion('') ?? 1;
    let folded = 0;
    let branches = 0;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      let changed = 0;
      const visit = (graph: Graph, outer?: StaticShapes): void => {
        const inferred = inferStaticShapes(graph, opset, outer);
        const n = foldValues(graph, inferred);
        folded += n;
        changed += n;
        for (const node of [...graph.nodes]) {
          if (node.removed) continue;
          const branch = node.op === 'If' && isDefaultDomain(node) ? takenBranch(node, inferred) : undefined;
          if (branch) {
            inlineBranch(graph, node, branch);
            branches++;
            changed++;
            continue;
          }
          for (const sub of node.subgraphs) visit(sub, inferred);
        }
      };
      visit(model.graph);
      if (changed === 0) break;
      for (const g of model.graphs) cleanup(g);
    }
    if (folded + branches === 0) return { changes: 0, summary: 'no value computed from static shapes to fold' };
    for (const g of model.allGraphs()) toposort(g);
    return { changes: folded + branches, summary: `folded ${folded} value(s) computed from shapes into constants; replaced ${branches} If node(s) with the branch taken` };
  },
};

function isDefaultDomain(node: Node): boolean {
  return node.domain === '' || node.domain === 'ai.onnx';
}

/**
 * Replaces the values the inference worked out with constants: those read by
 * a node that is itself not folded away (the end of each chain), so that a
 * chain of ten nodes leaves one constant, not ten.
 */
function foldValues(graph: Graph, inferred: StaticShapes): number {
  const foldable = new Map<Value, Tensor>();
  const fromShapes = reachesShapeOf(ONNX_SHAPE_SOURCES, (v) => valueDType(v));
  for (const [v, elements] of inferred.values) {
    if (v.graph !== graph || v.removed || v.isGraphOutput || !fromShapes(v)) continue;
    const producer = v.producer;
    if (!producer || producer.op === 'Constant') continue;
    const shape = inferred.shapeOf(v);
    const dtype = valueDType(v);
    if (!shape || !dtype || shape.reduce((a, b) => a * b, 1) !== elements.length || !holdsExactly(dtype, elements)) continue;
    foldable.set(v, Tensor.from(dtype, shape, elements));
  }
  return replaceFrontier(foldable);
}

/** TFLite and OpenVINO IR: the operators each evaluates on shape values, and the evaluator. */
const FORMAT_VALUES: Readonly<Record<'tflite' | 'openvino', { ops: ReadonlySet<string>; sources: ReadonlySet<string>; valuesOf: (v: Value) => number[] | undefined }>> = {
  tflite: { ops: TFLITE_SHAPE_VALUE_OPS, sources: new Set(['SHAPE']), valuesOf: tfliteShapeValues },
  openvino: { ops: OPENVINO_SHAPE_VALUE_OPS, sources: new Set(['ShapeOf']), valuesOf: openvinoShapeValues },
};

/** The ONNX ops that read a shape. */
const ONNX_SHAPE_SOURCES: ReadonlySet<string> = new Set(['Shape', 'Size']);

/**
 * Whether a value is shape arithmetic: computed from a shape (some producer on
 * its way back is one of `sources`), or from integer constants alone (an
 * exporter's Mul of two sizes it wrote as constants). What float constants
 * make (a float16 weight widened by a Cast or Convert) is data, which the
 * constant-folding rules and keep-fp16-compression decide about, not this
 * action.
 */
function reachesShapeOf(sources: ReadonlySet<string>, dtypeOf: (v: Value) => DType | undefined = (v) => v.dtype ?? v.const?.dtype): (v: Value) => boolean {
  const known = new Map<Value, 'shape' | 'integers' | 'data'>();
  const integral = (v: Value): boolean => {
    const dtype = dtypeOf(v);
    return dtype !== undefined && (isInteger(dtype) || dtype === 'bool');
  };
  const kind = (v: Value, depth: number): 'shape' | 'integers' | 'data' => {
    const cached = known.get(v);
    if (cached) return cached;
    const node = v.producer;
    let found: 'shape' | 'integers' | 'data' = 'data';
    if (!node) found = v.const && integral(v) ? 'integers' : 'data';
    else if (sources.has(node.op)) found = 'shape';
    else if (depth < 64) {
      const inputs = node.inputs.filter((x): x is Value => x !== null).map((x) => kind(x, depth + 1));
      if (inputs.includes('shape')) found = 'shape';
      else if (integral(v) && inputs.every((k) => k === 'integers')) found = 'integers';
    }
    known.set(v, found);
    return found;
  };
  return (v) => kind(v, 0) !== 'data';
}

/** Values are folded only when small: shapes, not data. */
const MAX_FOLDED_ELEMENTS = 64;

/**
 * TFLite and OpenVINO IR, whose files declare every tensor's dtype and shape:
 * the outputs of the shape-value operators whose values the format's
 * evaluator works out become constants, the last of each chain (as
 * foldValues). A value its dtype cannot hold exactly (a size cast to int8, a
 * fraction in an integer) is left.
 */
function foldByStep(graph: Graph, ops: ReadonlySet<string>, sources: ReadonlySet<string>, valuesOf: (v: Value) => number[] | undefined): number {
  const foldable = new Map<Value, Tensor>();
  const fromShapes = reachesShapeOf(sources);
  for (const node of graph.nodes) {
    if (node.removed || !ops.has(node.op) || node.outputs.length !== 1) continue;
    const v = node.outputs[0]!;
    const shape = v.shape;
    if (v.isGraphOutput || !v.dtype || !shape || !shape.every((d): d is number => typeof d === 'number' && d >= 0)) continue;
    const count = shape.reduce((a, b) => a * b, 1);
    if (count > MAX_FOLDED_ELEMENTS || !fromShapes(v)) continue;
    const elements = valuesOf(v);
    if (!elements || elements.length !== count || !holdsExactly(v.dtype, elements)) continue;
    foldable.set(v, Tensor.from(v.dtype, shape, elements));
  }
  return replaceFrontier(foldable);
}

/** Replaces the foldable values that something not folded reads with constants of the same name; returns how many. */
function replaceFrontier(foldable: ReadonlyMap<Value, Tensor>): number {
  let count = 0;
  for (const [v, tensor] of foldable) {
    const readByTheRest = v.uses.some(({ node }) => node.outputs.some((o) => !foldable.has(o)));
    if (!readByTheRest) continue;
    replaceWithConstant(v, tensor, 'computed');
    count++;
  }
  return count;
}

/** The branch an If takes when its condition is known (a constant, or computed from shapes). */
function takenBranch(node: Node, inferred: StaticShapes): Graph | undefined {
  const cond = node.input(0);
  if (!cond) return undefined;
  let elements = inferred.valueOf(cond);
  if (!elements && cond.const) elements = Array.from(cond.const.toFloat64());
  if (!elements || elements.length !== 1) return undefined;
  const name = elements[0] !== 0 ? 'then_branch' : 'else_branch';
  const attr = node.attr(name);
  return attr?.kind === 'graph' ? attr.value : undefined;
}

/** Puts the nodes of `branch` in `graph` in place of the If node `node`, whose outputs keep their names and readers. */
function inlineBranch(graph: Graph, node: Node, branch: Graph): void {
  const copier = new GraphCopier({ name: (base, into) => into.uniqueName(base) });
  copier.mapGraph(branch, graph);
  // What the branch reads from the graphs around it stays what it is.
  const inside = new Set(branch.walkGraphs());
  for (const g of inside) {
    for (const n of g.nodes) for (const v of n.inputs) if (v && !inside.has(v.graph)) copier.mapValue(v, v);
    for (const v of g.outputs) if (!inside.has(v.graph)) copier.mapValue(v, v);
  }
  spliceBody(graph, node, branch, copier, (output) => `${node.name || 'If'}/${output.name}`);
}

/**
 * OpenVINO IR: puts the layers of the body an If layer takes, now that its
 * condition is a constant, in the graph in place of the If, whose outputs
 * keep their names and readers. The port maps say which input each body
 * Parameter reads and which Result gives each output. An If is left as it is
 * when a branch gives out a value it did not compute (a Parameter or a
 * constant passed through: the IR has no Identity to carry the output's
 * name), when the branch holds a body of its own, or when its port map
 * does not fit the layer.
 */
function inlineOpenvinoIf(graph: Graph, node: Node, valuesOf: (v: Value) => number[] | undefined): boolean {
  const cond = node.input(0);
  const known = cond?.const ? Array.from(cond.const.toFloat64()) : cond ? valuesOf(cond) : undefined;
  if (!known || known.length !== 1) return false;
  const tag = known[0] !== 0 ? 'then_body' : 'else_body';
  const body = bodyIfReadable(node, tag);
  const inputs = entriesOf(node, tag, 'input');
  const outputs = entriesOf(node, tag, 'output');
  if (!body || !inputs || !outputs || body.graph.nodes.some((n) => n.subgraphs.length > 0)) return false;
  const copier = new GraphCopier({ name: (base, into) => into.uniqueName(base) });
  copier.mapGraph(body.graph, graph);
  const fed = new Set<Value>();
  for (const entry of inputs) {
    const parameter = body.parameters.get(entry.layer);
    const k = Number(entry.port);
    if (!parameter || !Number.isInteger(k) || k < 0 || k >= node.inputs.length) return false;
    copier.mapValue(parameter, node.inputs[k] ?? null);
    fed.add(parameter);
  }
  // A Parameter the port map feeds nothing would be read as nothing in the graph.
  if (body.graph.inputs.some((p) => !fed.has(p) && p.useCount > 0)) return false;
  const given = new Set<Value>();
  const entries = outputEntries(outputs);
  for (const [k, output] of node.outputs.entries()) {
    const entry = entries.find((e) => Number(e.port) === k);
    const formal = entry ? body.results.get(entry.layer) : undefined;
    if (!formal || formal.graph !== body.graph || !formal.producer || given.has(formal)) return false;
    given.add(formal);
    copier.mapValue(formal, output);
  }
  graph.removeNode(node);
  copier.nodes(body.graph, graph);
  return true;
}
