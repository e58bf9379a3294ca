import { Graph, Node, Value } from './graph';
import type { Tensor } from './tensor';

// The passes of this file index their loops over nodes, values, inputs and
// subgraphs rather than use for-of: they visit every node of graphs of 100k+
// nodes, and a for-of makes an iterator per loop and, until the JIT has
// optimized the pass (each runs once or twice per apply), an object per step:
// 60 MB of garbage per apply of a 100k-node model.

/**
 * Removes what no graph output needs: nodes whose outputs nobody reads (a node
 * without outputs, such as OpenVINO's Assign, is a side effect and stays), then
 * constants and values left unread. Runs inside subgraphs too. Returns how many
 * nodes and values were removed.
 */
export function cleanup(graph: Graph): { nodes: number; values: number } {
  let nodes = 0;
  let values = 0;
  const withSubgraphs = graph.nodes;
  for (let i = 0; i < withSubgraphs.length; i++) {
    const subs = withSubgraphs[i]!.subgraphs;
    for (let j = 0; j < subs.length; j++) {
      const r = cleanup(subs[j]!);
      nodes += r.nodes;
      values += r.values;
    }
  }
  // Walk backwards so a chain of dead nodes goes in one sweep (a second sweep
  // finds the rest when the order is not topological).
  let changed = true;
  while (changed) {
    changed = false;
    const order = graph.nodes;
    for (let i = order.length - 1; i >= 0; i--) {
      const node = order[i]!;
      if (node.removed || node.outputCount === 0 || !allUnread(node)) continue;
      graph.removeNode(node);
      nodes++;
      changed = true;
    }
  }
  const inputs = new Set(graph.inputs);
  // removeValue only marks a value: iterating the values while removing is safe.
  const all = graph.values;
  for (let i = 0; i < all.length; i++) {
    const v = all[i]!;
    if (v.removed || v.useCount > 0 || v.pinned || inputs.has(v)) continue;
    if (v.producer && !v.producer.removed) continue;
    graph.removeValue(v);
    values++;
  }
  return { nodes, values };
}

function allUnread(node: Node): boolean {
  for (let i = 0; i < node.outputCount; i++) if (node.output(i).useCount > 0) return false;
  return true;
}

/** The live node of `graph` that produces `v`, if any. */
function localProducer(v: Value | null, graph: Graph): Node | undefined {
  const p = v?.producer;
  return p && !p.removed && p.graph === graph ? p : undefined;
}

/** Nodes of `graph` (or of a subgraph inside it) that read values produced in `graph`. */
function dependencies(node: Node, graph: Graph): Node[] {
  const deps: Node[] = [];
  const add = (v: Value | null): void => {
    const p = localProducer(v, graph);
    if (p) deps.push(p);
  };
  node.inputs.forEach(add);
  // A subgraph may read this graph's values by name (ONNX outer scope).
  for (const sub of node.subgraphs) for (const g of sub.walkGraphs()) for (const n of g.nodes) n.inputs.forEach(add);
  return deps;
}

/**
 * Passes mark visited nodes in `Node._mark` rather than in a Set or Map: a
 * graph of 100k nodes would otherwise build hash tables of 100k entries per
 * pass. Each pass takes fresh mark numbers, so marks left by an earlier pass
 * never count; passes that nest (a subgraph's toposort inside a validate)
 * touch disjoint sets of nodes.
 */
let lastMark = 0;
function freshMark(): number {
  return ++lastMark;
}

/**
 * Orders nodes so that every producer comes before its readers. Stable: a graph
 * already in order keeps its order, and new nodes land right before their first
 * reader's dependencies allow. Throws on a cycle.
 */
export function toposort(graph: Graph): void {
  const nodes = graph.nodes;
  for (let i = 0; i < nodes.length; i++) {
    const subs = nodes[i]!.subgraphs;
    for (let j = 0; j < subs.length; j++) toposort(subs[j]!);
  }
  // A graph already in order would come out of the search below unchanged:
  // one pass finds that for half the work (a model as read usually is).
  if (alreadyOrdered(graph)) return;
  const order = sortedNodes(graph);
  if (order instanceof Node) throw new CycleError(graph, order);
  graph.setNodeOrder(order);
}

/** A graph whose nodes read each other in a circle: no order puts every producer first. */
export class CycleError extends Error {
  constructor(
    readonly graph: Graph,
    /** A node on the cycle. */
    readonly node: Node,
  ) {
    super(`graph '${graph.name}' has a cycle through node '${node.name}' (${node.op})`);
  }
}

/**
 * A node on a cycle of `graph` or of one of its subgraphs, or undefined when
 * there is none. As cheap as one pass over the nodes for a graph in order.
 */
export function nodeOnCycle(graph: Graph): { graph: Graph; node: Node } | undefined {
  const nodes = graph.nodes;
  for (let i = 0; i < nodes.length; i++) {
    const subs = nodes[i]!.subgraphs;
    for (let j = 0; j < subs.length; j++) {
      const found = nodeOnCycle(subs[j]!);
      if (found) return found;
    }
  }
  if (alreadyOrdered(graph)) return undefined;
  const order = sortedNodes(graph);
  return order instanceof Node ? { graph, node: order } : undefined;
}

/**
 * The nodes of `graph` (not its subgraphs) in an order where each comes after
 * the nodes it reads from, without reordering the graph: the graph's own
 * list when it is in order (a rewrite appends its new nodes at the end), and
 * that list as it is when the graph has a cycle.
 */
export function nodesInOrder(graph: Graph): readonly Node[] {
  if (alreadyOrdered(graph)) return graph.nodes;
  const order = sortedNodes(graph);
  return order instanceof Node ? graph.nodes : order;
}

/** The nodes of `graph` (not its subgraphs) in a stable topological order, or a node on a cycle. */
function sortedNodes(graph: Graph): Node[] | Node {
  const order: Node[] = [];
  const onStack = freshMark();
  const emitted = freshMark();
  // Iterative DFS (chains of 100k nodes would overflow the call stack) over
  // parallel arrays: a frame is a node and how far its dependencies are done.
  // A node without subgraphs walks its inputs in place (the dependencies of
  // `dependencies`, in its order), so most frames allocate nothing.
  const stackNodes: Node[] = [];
  const stackNext: number[] = [];
  const stackDeps: (Node[] | undefined)[] = [];
  const push = (node: Node): void => {
    node._mark = onStack;
    stackNodes.push(node);
    stackNext.push(0);
    stackDeps.push(node.subgraphs.length > 0 ? dependencies(node, graph) : undefined);
  };
  const nodes = graph.nodes;
  for (let r = 0; r < nodes.length; r++) {
    const root = nodes[r]!;
    if (root._mark === onStack || root._mark === emitted) continue;
    push(root);
    while (stackNodes.length > 0) {
      const top = stackNodes.length - 1;
      const node = stackNodes[top]!;
      const deps = stackDeps[top];
      let dep: Node | undefined;
      let next = stackNext[top]!;
      if (deps) {
        if (next < deps.length) dep = deps[next++];
      } else {
        const inputs = node.inputs;
        while (next < inputs.length && dep === undefined) dep = localProducer(inputs[next++] ?? null, graph);
      }
      stackNext[top] = next;
      if (dep === undefined) {
        node._mark = emitted;
        order.push(node);
        stackNodes.pop();
        stackNext.pop();
        stackDeps.pop();
        continue;
      }
      if (dep._mark === emitted) continue;
      if (dep._mark === onStack) return dep;
      push(dep);
    }
  }
  return order;
}

/** Whether every node's dependencies come before it in the current order. */
function alreadyOrdered(graph: Graph): boolean {
  const seen = freshMark();
  const nodes = graph.nodes;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    if (node.subgraphs.length === 0) {
      // The common case without the dependency list.
      const inputs = node.inputs;
      for (let k = 0; k < inputs.length; k++) {
        const p = localProducer(inputs[k]!, graph);
        if (p && p._mark !== seen) return false;
      }
    } else {
      for (const dep of dependencies(node, graph)) if (dep._mark !== seen) return false;
    }
    node._mark = seen;
  }
  return true;
}

export interface ValidateOptions {
  /** Require distinct value names (ONNX and OpenVINO do; TFLite tolerates repeats). */
  uniqueNames?: boolean;
  /** Require nodes to be in topological order already. */
  ordered?: boolean;
  /** Values to take as having a source although nothing produces them (those the model read so, see `sourcelessValues`). */
  sourceless?: ReadonlySet<Value>;
}

/** Whether something gives `v` its content: a producer, a constant, a graph input, a variable's state. */
export function hasSource(v: Value): boolean {
  return v.const !== undefined || v.variable === true || (v.producer !== null && !v.producer.removed) || v.graph.inputs.includes(v);
}

/**
 * The values that nodes or graph outputs of `graph` (subgraphs included) read
 * although nothing gives them content: real models hold some (a name nothing
 * defines). Taken before a rewrite, they tell its problems from the model's.
 */
export function sourcelessValues(graph: Graph, into = new Set<Value>()): Set<Value> {
  const nodes = graph.nodes;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    const inputs = node.inputs;
    for (let k = 0; k < inputs.length; k++) {
      const v = inputs[k];
      if (v && !hasSource(v)) into.add(v);
    }
    const subs = node.subgraphs;
    for (let j = 0; j < subs.length; j++) sourcelessValues(subs[j]!, into);
  }
  for (const v of graph.outputs) if (!hasSource(v)) into.add(v);
  return into;
}

/**
 * Checks the graph's invariants and returns every problem found, as one line
 * each naming the node or value: an input nobody produces, a value from a graph
 * out of scope, a cycle, a repeated name, an output with no source.
 */
export function validate(graph: Graph, options: ValidateOptions = {}): string[] {
  const problems: string[] = [];
  const inScope = (v: Value): boolean => {
    for (let g: Graph | undefined = graph; g; g = g.parent) if (g === v.graph) return true;
    return false;
  };
  const sourced = (v: Value): boolean => hasSource(v) || options.sourceless?.has(v) === true;
  const seen = freshMark();
  const nodes = graph.nodes;
  for (let n = 0; n < nodes.length; n++) {
    const node = nodes[n]!;
    const inputs = node.inputs;
    for (let i = 0; i < inputs.length; i++) {
      const v = inputs[i];
      if (!v) continue;
      const producer = v.producer;
      // The usual input: made by a live node of this graph that came before.
      if (producer !== null && producer.graph === graph && v.graph === graph && !producer.removed && producer._mark === seen) continue;
      if (!inScope(v)) problems.push(`node '${node.name}' (${node.op}) input ${i} reads '${v.name}' from a graph out of scope`);
      else if (!sourced(v)) problems.push(`node '${node.name}' (${node.op}) input ${i} reads '${v.name}', which nothing produces`);
      else if (options.ordered && producer && producer.graph === graph && producer._mark !== seen) {
        problems.push(`node '${node.name}' (${node.op}) reads '${v.name}' before its producer '${producer.name}'`);
      }
    }
    node._mark = seen;
    const subs = node.subgraphs;
    for (let j = 0; j < subs.length; j++) {
      const sub = subs[j]!;
      if (sub.parent !== graph) problems.push(`subgraph '${sub.name}' of node '${node.name}' does not name its parent graph`);
      problems.push(...validate(sub, options).map((p) => `in subgraph '${sub.name}' of '${node.name}': ${p}`));
    }
  }
  for (const v of graph.outputs) {
    if (!inScope(v) || !sourced(v)) problems.push(`graph output '${v.name}' has no producer`);
  }
  if (!options.ordered) {
    try {
      const copy = [...graph.nodes];
      toposort(graph);
      graph.setNodeOrder(copy);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  if (options.uniqueNames) {
    const names = new Map<string, number>();
    for (const v of graph.values) names.set(v.name, (names.get(v.name) ?? 0) + 1);
    for (const [name, count] of names) if (count > 1) problems.push(`value name '${name}' is used ${count} times`);
  }
  return problems;
}

/**
 * Puts a constant holding `tensor` where `v` was, under `v`'s name, for every
 * reader (graph outputs too); `v` keeps a name of its own (`<name>/<suffix>`)
 * until cleanup takes it with its producer.
 */
export function replaceWithConstant(v: Value, tensor: Tensor, suffix: string): Value {
  const graph = v.graph;
  const name = v.name;
  graph.renameValue(v, graph.uniqueName(`${name}/${suffix}`));
  const constant = graph.addConstant(name, tensor);
  v.replaceAllUsesWith(constant);
  return constant;
}
