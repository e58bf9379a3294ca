import { Graph, Node, Value, attr, toposort } from '../../src/ir';

/**
 * The order toposort gave before it walked inputs in place: a DFS over
 * `dependencies` arrays, one frame object per node. The faster toposort must
 * give exactly this order (outputs are compared byte for byte).
 */
function referenceOrder(graph: Graph): string[] {
  const deps = (node: Node): Node[] => {
    const out: Node[] = [];
    const add = (v: Value | null): void => {
      const p = v?.producer;
      if (p && !p.removed && p.graph === graph) out.push(p);
    };
    node.inputs.forEach(add);
    for (const sub of node.subgraphs) for (const g of sub.walkGraphs()) for (const n of g.nodes) n.inputs.forEach(add);
    return out;
  };
  const order: Node[] = [];
  const state = new Map<Node, 'open' | 'done'>();
  for (const root of graph.nodes) {
    if (state.has(root)) continue;
    const stack: { node: Node; deps: Node[]; next: number }[] = [{ node: root, deps: deps(root), next: 0 }];
    state.set(root, 'open');
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next < top.deps.length) {
        const dep = top.deps[top.next++]!;
        const s = state.get(dep);
        if (s === 'done') continue;
        if (s === 'open') throw new Error(`graph '${graph.name}' has a cycle through node '${dep.name}' (${dep.op})`);
        state.set(dep, 'open');
        stack.push({ node: dep, deps: deps(dep), next: 0 });
      } else {
        state.set(top.node, 'done');
        order.push(top.node);
        stack.pop();
      }
    }
  }
  return order.map((n) => n.name);
}

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random DAG, shuffled, with repeated inputs, omitted inputs, removed nodes and (sometimes) a node with a subgraph reading outer values. */
function randomGraph(seed: number): Graph {
  const r = rng(seed);
  const g = new Graph(`g${seed}`);
  const x = g.addValue('x');
  g.inputs = [x];
  const values: Value[] = [x];
  const nodes: Node[] = [];
  const count = 5 + Math.floor(r() * 40);
  for (let i = 0; i < count; i++) {
    const inputs: (Value | null)[] = [];
    const arity = Math.floor(r() * 4);
    for (let k = 0; k < arity; k++) inputs.push(r() < 0.1 ? null : values[Math.floor(r() * values.length)]!);
    const outs = 1 + Math.floor(r() * 2);
    const n = g.addNode({ op: 'Op', name: `n${i}`, inputs, outputs: Array.from({ length: outs }, (_, k) => `v${i}_${k}`) });
    if (r() < 0.1) {
      const body = new Graph(`body${i}`, g);
      const outer = values[Math.floor(r() * values.length)]!;
      body.addNode({ op: 'Identity', name: `b${i}`, inputs: [outer], outputs: [`bv${i}`] });
      n.attrs.set('body', attr.graph(body));
    }
    nodes.push(n);
    values.push(...n.outputs);
  }
  for (const n of nodes) if (r() < 0.1) g.removeNode(n);
  const live = g.nodes.slice();
  for (let i = live.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [live[i], live[j]] = [live[j]!, live[i]!];
  }
  g.setNodeOrder(live);
  return g;
}

describe('toposort without a frame object per node', () => {
  test('gives the order of the DFS over dependency arrays, on 300 random graphs', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const g = randomGraph(seed);
      const want = referenceOrder(g);
      toposort(g);
      expect(g.nodes.map((n) => n.name)).toEqual(want);
    }
  });

  test('still reports a cycle through the same node', () => {
    const g = new Graph('cyclic');
    const x = g.addValue('x');
    g.inputs = [x];
    const a = g.addValue('a');
    const b = g.addValue('b');
    g.addNode({ op: 'Neg', name: 'n1', inputs: [x, b], outputs: [a] });
    g.addNode({ op: 'Neg', name: 'n2', inputs: [a], outputs: [b] });
    let want = '';
    try {
      referenceOrder(g);
    } catch (e) {
      want = (e as Error).message;
    }
    expect(want).toMatch(/cycle/);
    expect(() => toposort(g)).toThrow(want);
  });
});
