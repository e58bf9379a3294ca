import type { Attr } from './attr';
import { Graph, type Node, type Value } from './graph';

/** How a GraphCopier names and carries what it copies. */
export interface CopyOptions {
  /** The name of a copied value or node in the graph it lands in, from the original's name. */
  name(base: string, into: Graph): string;
  /**
   * An attribute as the copy carries it, or undefined to leave it out.
   * Graph attributes are copied by the copier itself, after this.
   */
  attr?(a: Attr, key: string): Attr | undefined;
}

/**
 * Copies nodes, with the subgraphs their attributes hold, from graphs of one
 * model into graphs of another (or the same) model. Each source graph is
 * mapped to a target graph first; a value is copied into the target of the
 * graph it belongs to when first read, so that a subgraph reading a value of
 * an enclosing graph reads that value's copy. Values can be mapped in advance
 * (a function's formal inputs to a call's inputs; null for an input left out).
 */
export class GraphCopier {
  private readonly graphs = new Map<Graph, Graph>();
  private readonly values = new Map<Value, Value | null>();

  constructor(private readonly options: CopyOptions) {}

  /** Values of `source` are copied into `target` from now on. */
  mapGraph(source: Graph, target: Graph): void {
    this.graphs.set(source, target);
  }

  /** `source` reads as `target` (or as a missing input, null) in every copy. */
  mapValue(source: Value, target: Value | null): void {
    this.values.set(source, target);
  }

  /** The copy of `v`, made in the target of its graph when it has none yet. */
  value(v: Value): Value | null {
    const known = this.values.get(v);
    if (known !== undefined) return known;
    const target = this.graphs.get(v.graph);
    if (!target) throw new Error(`graph copy: value '${v.name}' belongs to no graph being copied`);
    const name = this.options.name(v.name, target);
    const c = v.const ? target.addConstant(name, v.const) : target.addValue(name, { dtype: v.dtype, shape: v.shape ? [...v.shape] : undefined });
    this.values.set(v, c);
    return c;
  }

  /** Copies the nodes of `source` into `target` (mapped to each other here), in order; returns the copies. */
  nodes(source: Graph, target: Graph): Node[] {
    this.mapGraph(source, target);
    const copies: Node[] = [];
    for (const node of source.nodes) {
      const attrs = new Map<string, Attr>();
      for (const [key, a] of node.attrs) {
        const carried = this.options.attr ? this.options.attr(a, key) : a;
        if (carried === undefined) continue;
        if (carried.kind === 'graph') attrs.set(key, { kind: 'graph', value: this.subgraph(carried.value, target) });
        else if (carried.kind === 'graphs') attrs.set(key, { kind: 'graphs', value: carried.value.map((g) => this.subgraph(g, target)) });
        else attrs.set(key, carried);
      }
      copies.push(
        target.addNode({
          op: node.op,
          domain: node.domain,
          name: this.options.name(node.name || node.op, target),
          inputs: node.inputs.map((v) => (v ? this.value(v) : null)),
          outputs: node.outputs.map((v) => this.value(v) ?? target.addValue(this.options.name(v.name, target))),
          attrs,
        }),
      );
    }
    return copies;
  }

  /** A copy of a subgraph (an If branch, a Loop body) as a new graph inside `parent`. */
  private subgraph(source: Graph, parent: Graph): Graph {
    const target = new Graph(this.options.name(source.name, parent), parent);
    this.mapGraph(source, target);
    target.inputs = source.inputs.map((v) => this.value(v)!);
    this.nodes(source, target);
    target.outputs = source.outputs.map((v) => this.value(v)!);
    return target;
  }
}

/**
 * Puts the nodes of `body` (an ONNX function's body, an If branch) in `graph`
 * in place of `node`, copied by `copier` (which maps `body` to `graph` and
 * whatever the body reads from outside it). `node`'s outputs keep their names
 * and readers: the node that makes a body output makes the output instead,
 * and an output the body passes through (an input, a value from outside, a
 * constant, one value returned twice) comes out of an Identity named by
 * `identityName`.
 */
export function spliceBody(graph: Graph, node: Node, body: Graph, copier: GraphCopier, identityName: (output: Value) => string): void {
  const outputs = node.outputs;
  const byBody = new Set<number>();
  body.outputs.forEach((formal, k) => {
    const actual = outputs[k];
    if (actual && formal.graph === body && formal.producer && body.outputs.indexOf(formal) === k) {
      copier.mapValue(formal, actual);
      byBody.add(k);
    }
  });
  graph.removeNode(node);
  copier.nodes(body, graph);
  body.outputs.forEach((formal, k) => {
    const actual = outputs[k];
    if (!actual || byBody.has(k)) return;
    graph.addNode({ op: 'Identity', domain: '', name: graph.uniqueName(identityName(actual)), inputs: [copier.value(formal)], outputs: [actual], attrs: new Map() });
  });
}
