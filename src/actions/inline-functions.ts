import { ActionError } from '../errors';
import type { Attr } from '../ir/attr';
import { GraphCopier, spliceBody } from '../ir/copy';
import type { Graph, Node } from '../ir/graph';
import { functionLabel, type Model, type ModelFunction } from '../ir/model';
import { sourcelessValues, toposort } from '../ir/passes';
import type { ActionDefinition } from '../rewrite/actions';

/** An inline-functions parameter that does not fit the model (a function it does not define). */
export class InlineFunctionsError extends ActionError {}

/** Calls nested deeper than this are left as calls: ONNX forbids recursion, so only a corrupt model gets there. */
const MAX_ROUNDS = 64;

/**
 * `inline-functions`: replaces each call of a model-local ONNX function with
 * the nodes of its body, as onnx's inliner does. Many compilers (TensorRT
 * before 8.6, most vendor converters) read no local functions, and a rule sees
 * no constant that reaches a body as a formal input (a BatchNorm's statistics
 * passed in by the caller): once inlined, it does. Parameters:
 * - `functions`: the functions to inline, by name or `domain::name` (default:
 *   all of them).
 * The body's values and nodes are named `<call>/<name>`; the call's outputs
 * keep their names (an Identity passes a formal input through when the body
 * returns one); an attribute that refers to a formal attribute takes the
 * call's value, else the function's default, else is left out. A function
 * whose operator sets clash with the model's (another version of a domain),
 * that has overloads, or whose body reads a name nothing defines is left
 * called. Functions no longer called are dropped, and the import of their
 * domain when nothing else uses it.
 */
export const inlineFunctionsAction: ActionDefinition = {
  name: 'inline-functions',
  description: "Replaces calls of the model's own ONNX functions with the nodes of their bodies.",
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      functions: { type: 'array', items: { type: 'string' }, description: 'Functions to inline, by name or domain::name (default: all).' },
    },
  },
  run(model, params) {
    const wanted = params.functions === undefined ? undefined : new Set(params.functions as string[]);
    for (const name of wanted ?? []) {
      if (!model.functions.some((f) => f.name === name || functionLabel({ ...f, overload: '' }) === name)) {
        throw new InlineFunctionsError(`inline-functions: the model defines no function '${name}' (functions: ${model.functions.map((f) => functionLabel(f)).join(', ') || 'none'})`);
      }
    }
    const skipped = new Map<ModelFunction, string>();
    const inlinable = (f: ModelFunction): boolean => {
      if (wanted && !wanted.has(f.name) && !wanted.has(functionLabel({ ...f, overload: '' }))) return false;
      const why = whyNotInlinable(model, f);
      if (why) skipped.set(f, why);
      return why === undefined;
    };
    let inlined = 0;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      let calls = 0;
      for (const g of [...model.allGraphs()]) {
        for (const node of [...g.nodes]) {
          const f = calledFunction(model, node);
          if (f && inlinable(f)) {
            inlineCall(model, g, node, f);
            calls++;
          }
        }
      }
      if (calls === 0) break;
      inlined += calls;
    }
    for (const g of model.allGraphs()) toposort(g);
    const called = calledFunctions(model);
    const dropped = model.functions.filter((f) => !called.has(f));
    model.functions = model.functions.filter((f) => !dropped.includes(f));
    // The domain of dropped functions is imported for their calls alone, unless a node or a function still has it.
    const used = new Set([...model.functions.map((f) => f.domain), ...[...model.allGraphs(), ...model.functions.flatMap((f) => [...f.body.walkGraphs()])].flatMap((g) => g.nodes.map((n) => n.domain))]);
    const unused = new Set(dropped.map((f) => f.domain).filter((d) => d !== '' && !used.has(d)));
    model.opsets = model.opsets.filter((o) => !unused.has(o.domain));
    let summary = `inlined ${inlined} call(s)`;
    if (dropped.length) summary += `; dropped ${dropped.map((f) => functionLabel(f)).join(', ')}`;
    for (const [f, why] of skipped) summary += `; left ${functionLabel(f)} called: ${why}`;
    return { changes: inlined, summary };
  },
};

/** The function a node calls: the model's (first) function of its domain and op. */
function calledFunction(model: Model, node: Node): ModelFunction | undefined {
  return model.functions.find((f) => f.domain === node.domain && f.name === node.op);
}

/** The functions the model's graphs call, and those these call in turn. */
function calledFunctions(model: Model): Set<ModelFunction> {
  const called = new Set<ModelFunction>();
  const visit = (graphs: Iterable<Graph>): void => {
    for (const g of graphs) {
      for (const n of g.nodes) {
        for (const f of model.functions) {
          if (f.domain !== n.domain || f.name !== n.op || called.has(f)) continue;
          called.add(f);
          visit(f.body.walkGraphs());
        }
      }
    }
  };
  visit(model.allGraphs());
  return called;
}

/** Why `f`'s body cannot stand in the model's graphs, or undefined when it can. */
function whyNotInlinable(model: Model, f: ModelFunction): string | undefined {
  if (model.functions.some((g) => g !== f && g.domain === f.domain && g.name === f.name)) return 'it has overloads';
  for (const o of f.opsets) {
    const mine = model.opsets.find((x) => x.domain === o.domain);
    if (mine && mine.version !== o.version) return `its body uses ${o.domain || 'ai.onnx'} version ${o.version}, the model version ${mine.version}`;
  }
  // Tolerated in a function as read, a read of nothing would be a new fault of the graph it lands in.
  const [undefinedRead] = sourcelessValues(f.body);
  if (undefinedRead) return `its body reads '${undefinedRead.name}', which nothing defines`;
  return undefined;
}

/** Puts the nodes of `f`'s body in `graph` in place of `call`. */
function inlineCall(model: Model, graph: Graph, call: Node, f: ModelFunction): void {
  for (const o of f.opsets) if (!model.opsets.some((x) => x.domain === o.domain)) model.opsets.push({ ...o });
  const prefix = `${call.name || call.op}/`;
  const copier = new GraphCopier({
    name: (base, into) => into.uniqueName(prefix + base),
    attr: (a: Attr): Attr | undefined => {
      if (a.kind !== 'ref') return a;
      return call.attr(a.value) ?? f.attributes.find((x) => x.name === a.value)?.default;
    },
  });
  const body = f.body;
  copier.mapGraph(body, graph);
  body.inputs.forEach((formal, i) => copier.mapValue(formal, call.inputs[i] ?? null));
  // The node that makes a formal output makes the call's output, so that its name and readers stay.
  spliceBody(graph, call, body, copier, (output) => `${prefix}${output.name}`);
}
