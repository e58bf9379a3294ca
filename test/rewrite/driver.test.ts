import { Graph, Model, Tensor, attr, parseModel, printModel, validate, type Node, type Value } from '../../src/ir';
import { ModelError } from '../../src/errors';
import { applyRules } from '../../src/rewrite/driver';
import type { ActionRule, PatternRule, RuleContext, RuleHit, RuleMiss } from '../../src/rewrite/rule';

/** x -> Relu -> Relu -> ... (n of them) -> output. */
function reluChain(n: number): Model {
  const g = new Graph('main');
  const x = g.addValue('x', { dtype: 'float32', shape: [1, 4] });
  g.inputs = [x];
  let v: Value = x;
  for (let i = 0; i < n; i++) v = g.addNode({ op: 'Relu', name: `relu${i}`, inputs: [v], outputs: [`r${i}`] }).output(0);
  g.outputs = [v];
  const m = new Model('onnx', g);
  m.opsets = [{ domain: '', version: 13 }];
  return m;
}

/** Relu(Relu($x)) -> Relu($x): a two-node pattern written by hand against the rule interface. */
function doubleRelu(opts: { build?: (graph: Graph, x: Value, out: readonly Value[]) => Node[]; shared?: boolean } = {}): PatternRule {
  return {
    kind: 'pattern',
    id: 'double-relu',
    rootOps: ['Relu'],
    sharedIntermediates: opts.shared,
    match(node): RuleHit | RuleMiss {
      const inner = node.input(0)?.producer;
      if (!inner || inner.op !== 'Relu') return { ok: false, reason: `input 0 of Relu '${node.name}' is not produced by a Relu` };
      const x = inner.input(0)!;
      return {
        ok: true,
        matched: [inner, node],
        rewrite: (graph, out) => ({
          nodes: opts.build ? opts.build(graph, x, out) : [graph.addNode({ op: 'Relu', name: graph.uniqueName(`${node.name}_once`), inputs: [x], outputs: out })],
        }),
      };
    },
  };
}

const ops = (m: Model): string[] => m.graph.nodes.map((n) => n.op);

describe('fixpoint', () => {
  it('collapses a chain of Relus to one, keeping the output value and its name', () => {
    const m = reluChain(5);
    const out = m.graph.outputs[0]!;
    const report = applyRules(m, [doubleRelu()]);
    expect(ops(m)).toEqual(['Relu']);
    expect(m.graph.outputs[0]).toBe(out);
    expect(out.name).toBe('r4');
    expect(out.producer?.input(0)).toBe(m.graph.inputs[0]);
    expect(report.rules[0]!.rewrites).toBe(4);
    expect(report.boundHit).toBe(false);
    expect(validate(m.graph, { ordered: true, uniqueNames: true })).toEqual([]);
  });

  it('stops at the iteration bound and warns when a rule keeps rewriting its own output', () => {
    const m = reluChain(1);
    const forever: PatternRule = {
      kind: 'pattern',
      id: 'relu-again',
      rootOps: ['Relu'],
      match: (node) => ({
        ok: true,
        matched: [node],
        rewrite: (graph, out) => ({ nodes: [graph.addNode({ op: 'Relu', inputs: [node.input(0)], outputs: out })] }),
      }),
    };
    const report = applyRules(m, [forever], { maxIterations: 5 });
    expect(report.boundHit).toBe(true);
    expect(report.rounds).toBe(5);
    expect(report.rules[0]!.rewrites).toBe(5);
    expect(report.warnings[0]).toMatch(/relu-again still changed the graph after 5 rounds/);
    expect(ops(m)).toEqual(['Relu']);
  });
});

describe('scale', () => {
  it('runs over a graph of 150k nodes (no per-node recursion or argument spreading)', () => {
    const m = reluChain(150_000);
    const never: PatternRule = { kind: 'pattern', id: 'never', rootOps: '*', match: () => ({ ok: false, reason: 'no' }) };
    const report = applyRules(m, [never], { maxIterations: 1, skipCleanup: true });
    expect(report.rules[0]!.candidates).toBe(150_000);
    expect(report.rounds).toBe(1);
  });
});

describe('rollback of invalid replacements', () => {
  const cases: [string, (graph: Graph, x: Value, out: readonly Value[]) => Node[], RegExp][] = [
    [
      'reads a value nothing produces',
      (graph, _x, out) => [graph.addNode({ op: 'Relu', inputs: [graph.addValue('dangling')], outputs: out })],
      /reads 'dangling', which nothing produces/,
    ],
    [
      'has the wrong arity for the op',
      (graph, x, out) => [graph.addNode({ op: 'Add', inputs: [x], outputs: out })],
      /Add '.*' has 1 input\(s\), onnx Add takes 2/,
    ],
    [
      'does not produce the matched outputs',
      (graph, x) => [graph.addNode({ op: 'Relu', inputs: [x], outputs: ['elsewhere'] })],
      /nothing in the replacement produces output 'r1'/,
    ],
    [
      'has a cycle',
      (graph, x, out) => {
        const a = graph.addNode({ op: 'Add', inputs: [x, out[0]!], outputs: ['loop'] });
        return [a, graph.addNode({ op: 'Relu', inputs: [a.output(0)], outputs: out })];
      },
      /cycle through/,
    ],
    [
      'throws half way',
      (graph, x) => {
        graph.addNode({ op: 'Relu', inputs: [x], outputs: ['half'] });
        graph.addConstant('half_const', Tensor.scalar('float32', 1));
        throw new Error('no more');
      },
      /the replacement failed: no more/,
    ],
  ];
  it.each(cases)('refuses a replacement that %s and leaves the graph exactly as before', (_name, build, reason) => {
    const m = reluChain(2);
    const before = printModel(m);
    const valueCount = m.graph.valueCount;
    const report = applyRules(m, [doubleRelu({ build })], { skipCleanup: true });
    const stats = report.rules[0]!;
    expect(stats.rewrites).toBe(0);
    expect(stats.refused).toHaveLength(1);
    expect(stats.refused[0]!.node).toBe('relu1');
    expect(stats.refused[0]!.reason).toMatch(reason);
    expect(printModel(m)).toBe(before);
    expect(m.graph.valueCount).toBe(valueCount);
    expect(validate(m.graph, { ordered: true })).toEqual([]);
  });
});

describe('the cycle check of a replacement', () => {
  it('accepts nodes listed readers first when they have no cycle (the search runs when the quick order test fails)', () => {
    const m = reluChain(2);
    const report = applyRules(m, [doubleRelu({
      build: (graph, x, out) => {
        const neg = graph.addNode({ op: 'Neg', name: 'neg', inputs: [x], outputs: ['negated'] });
        const abs = graph.addNode({ op: 'Abs', name: 'abs', inputs: [neg.output(0)], outputs: out });
        // Readers first: the order the replacement lists them in is not a topological one.
        return [abs, neg];
      },
    })]);
    expect(report.rules[0]!.rewrites).toBe(1);
    expect(report.rules[0]!.refused).toEqual([]);
    expect(ops(m)).toEqual(['Neg', 'Abs']);
    expect(validate(m.graph, { ordered: true })).toEqual([]);
  });
});

describe('use counts of intermediate values', () => {
  function forked(): Model {
    const m = reluChain(2);
    const g = m.graph;
    const tap = g.addNode({ op: 'Neg', name: 'tap', inputs: [g.findValue('r0')!], outputs: ['tapped'] });
    g.outputs = [...g.outputs, tap.output(0)];
    return m;
  }

  it('does not match when an intermediate value has other readers, and says why', () => {
    const m = forked();
    const report = applyRules(m, [doubleRelu()], { explain: 'double-relu' });
    expect(ops(m).sort()).toEqual(['Neg', 'Relu', 'Relu']);
    expect(report.rules[0]!.matches).toBe(0);
    expect(report.explain).toContainEqual({
      node: 'relu1',
      op: 'Relu',
      graph: 'main',
      reason: "intermediate value 'r0' of Relu 'relu0' has 1 reader(s) outside the pattern",
    });
    expect(report.explain).toContainEqual(expect.objectContaining({ node: 'relu0', reason: expect.stringMatching(/not produced by a Relu/) }));
  });

  it('matches with shared intermediates allowed, keeping the node the other reader needs', () => {
    const m = forked();
    applyRules(m, [doubleRelu({ shared: true })]);
    expect(ops(m).sort()).toEqual(['Neg', 'Relu', 'Relu']);
    expect(m.graph.findValue('tapped')!.producer!.input(0)!.producer!.name).toBe('relu0');
    expect(m.graph.outputs[0]!.producer!.input(0)).toBe(m.graph.inputs[0]);
  });
});

describe('subgraphs', () => {
  it('rewrites inside If branches too', () => {
    const m = reluChain(1);
    const g = m.graph;
    const branch = new Graph('then_branch', g);
    let v: Value = g.findValue('r0')!;
    for (let i = 0; i < 3; i++) v = branch.addNode({ op: 'Relu', name: `inner${i}`, inputs: [v], outputs: [`inner_r${i}`] }).output(0);
    branch.outputs = [v];
    const cond = g.addConstant('cond', Tensor.scalar('bool', 1));
    const node = g.addNode({ op: 'If', name: 'if0', inputs: [cond], outputs: ['y'], attrs: { then_branch: attr.graph(branch), else_branch: attr.graph(branch) } });
    g.outputs = [node.output(0)];
    applyRules(m, [doubleRelu()]);
    expect(branch.nodes.map((n) => n.op)).toEqual(['Relu']);
    expect(branch.nodes[0]!.input(0)!.name).toBe('r0');
    expect(validate(g)).toEqual([]);
  });
});

describe('actions', () => {
  it('runs the cleanup action where it stands', () => {
    const m = reluChain(2);
    m.graph.addNode({ op: 'Neg', name: 'dead', inputs: [m.graph.inputs[0]!], outputs: ['unused'] });
    const { findAction } = jest.requireActual<typeof import('../../src/rewrite/actions')>('../../src/rewrite/actions');
    const cleanup = findAction('cleanup')!;
    const report = applyRules(m, [{ kind: 'action', id: 'tidy', action: 'cleanup', run: (model) => cleanup.run(model, {}) }], { skipCleanup: true });
    expect(ops(m)).toEqual(['Relu', 'Relu']);
    expect(report.rules[0]!.summary).toBe('removed 1 node(s) and 1 value(s)');
  });
});

describe('pattern rules after actions', () => {
  /** An action of `recipe` that turns every node of op `from` into op `to` in place, reporting each. */
  const retype = (id: string, recipe: string, from: string, to: string, log: string[]): ActionRule => ({
    kind: 'action',
    id,
    action: 'retype',
    recipe,
    run: (model) => {
      log.push(id);
      const hits = model.graph.nodes.filter((n) => n.op === from);
      for (const n of hits) n.op = to;
      return { changes: hits.length, summary: `${hits.length} retyped` };
    },
  });

  it("run again once a recipe's actions are done, where those made new matches; the actions run once", () => {
    const m = reluChain(2);
    const log: string[] = [];
    // Neg -> Abs comes before the actions that make the Negs; the two actions are one recipe's, then another recipe's action follows.
    const report = applyRules(m, [
      renameOp('neg-to-abs', 'Neg', 'Abs'),
      retype('make-neg', 'shape', 'Relu', 'Neg', log),
      retype('count', 'shape', 'Sigmoid', 'Tanh', log),
      retype('later', 'compress', 'Abs', 'Abs', log),
    ]);
    expect(log).toEqual(['make-neg', 'count', 'later']);
    expect(ops(m)).toEqual(['Abs', 'Abs']);
    expect(report.rules.find((r) => r.id === 'neg-to-abs')!.rewrites).toBe(2);
  });

  it('run again with the group that follows, in bundle order', () => {
    const m = reluChain(2);
    const order: string[] = [];
    const watch = (id: string): PatternRule => ({ kind: 'pattern', id, rootOps: '*', match: () => (order.push(id), { ok: false, reason: 'watching' }) });
    applyRules(m, [watch('first'), retype('make-neg', 'shape', 'Relu', 'Neg', []), watch('second')]);
    // Two nodes, one round (no rule changes anything): first alone, then first and second together after the action.
    expect(order).toEqual(['first', 'first', 'first', 'first', 'second', 'second']);
  });

  it('do not run again after an action that changed nothing, nor after cleanup', () => {
    const m = reluChain(2);
    m.graph.addNode({ op: 'Sigmoid', name: 'dead', inputs: [m.graph.inputs[0]!], outputs: ['unused'] });
    let tries = 0;
    const watch: PatternRule = { kind: 'pattern', id: 'watch', rootOps: '*', match: () => (tries++, { ok: false, reason: 'watching' }) };
    const { findAction } = jest.requireActual<typeof import('../../src/rewrite/actions')>('../../src/rewrite/actions');
    const cleanup = findAction('cleanup')!;
    applyRules(m, [watch, retype('nothing', 'shape', 'Erf', 'Neg', []), { kind: 'action', id: 'tidy', action: 'cleanup', recipe: 'range', run: (model) => cleanup.run(model, {}) }], { skipCleanup: true });
    expect(ops(m)).toEqual(['Relu', 'Relu']);
    // Three nodes, one round: the watcher ran once.
    expect(tries).toBe(3);
  });
});

/** `from` -> `to` at every node of op `from`, one node for one node. */
function renameOp(id: string, from: string, to: string): PatternRule {
  return {
    kind: 'pattern',
    id,
    rootOps: [from],
    match(node): RuleHit | RuleMiss {
      if (node.op !== from) return { ok: false, reason: `not ${from}` };
      return {
        ok: true,
        matched: [node],
        rewrite: (graph, out) => ({ nodes: [graph.addNode({ op: to, name: graph.uniqueName(`${node.name}_${to}`), inputs: [node.input(0)], outputs: out })] }),
      };
    },
  };
}

describe('candidates by op', () => {
  it('a rule of the group starts at the nodes another rule made, in the next round', () => {
    const m = reluChain(3);
    const report = applyRules(m, [renameOp('relu-to-neg', 'Relu', 'Neg'), renameOp('neg-to-abs', 'Neg', 'Abs')]);
    expect(ops(m)).toEqual(['Abs', 'Abs', 'Abs']);
    expect(report.rules.map((r) => r.rewrites)).toEqual([3, 3]);
    expect(validate(m.graph, { ordered: true })).toEqual([]);
  });

  it('a rule for any op sees every node, those made by the other rules included', () => {
    const m = reluChain(2);
    const seen: string[] = [];
    const anyOp: PatternRule = {
      kind: 'pattern',
      id: 'watch',
      rootOps: '*',
      match(node) {
        seen.push(node.op);
        return { ok: false, reason: 'only watching' };
      },
    };
    applyRules(m, [renameOp('relu-to-neg', 'Relu', 'Neg'), anyOp]);
    // Round 1: the Negs made before the watcher's turn; round 2 (nothing changes): the same two.
    expect(seen).toEqual(['Neg', 'Neg', 'Neg', 'Neg']);
  });
});

describe('the final check', () => {
  it('accepts a graph read out of order, sorts it, and reports nothing', () => {
    const m = reluChain(3);
    const g = m.graph;
    g.setNodeOrder([...g.nodes].reverse());
    expect(validate(g, { ordered: true })).not.toEqual([]);
    applyRules(m, [renameOp('relu-to-neg', 'Relu', 'Neg')]);
    expect(ops(m)).toEqual(['Neg', 'Neg', 'Neg']);
    expect(validate(g, { ordered: true })).toEqual([]);
  });

  it('lets problems the model had before stay, and still refuses a graph with a cycle', () => {
    const m = reluChain(2);
    const g = m.graph;
    g.addNode({ op: 'Neg', name: 'orphan-reader', inputs: [g.addValue('from-nowhere')], outputs: ['orphan'] });
    g.outputs = [...g.outputs, g.findValue('orphan')!];
    applyRules(m, [renameOp('relu-to-neg', 'Relu', 'Neg')]);
    expect(ops(m).filter((op) => op === 'Relu')).toEqual([]);

    const cyclic = reluChain(2);
    const c = cyclic.graph;
    const a = c.addNode({ op: 'Add', name: 'loop-a', inputs: [c.inputs[0]!, null], outputs: ['la'] });
    const b = c.addNode({ op: 'Relu', name: 'loop-b', inputs: [a.output(0)], outputs: ['lb'] });
    a.setInput(1, b.output(0));
    c.outputs = [...c.outputs, b.output(0)];
    expect(() => applyRules(cyclic, [renameOp('neg-to-abs', 'Neg', 'Abs')])).toThrow(/cycle/);
  });
});

describe("what the model brings is not the rules' fault", () => {
  it('a cycle in the model is a model error (exit 4) naming a node on it, before any rule runs', () => {
    const m = reluChain(2);
    // relu0 reads relu1's output: relu0 -> relu1 -> relu0.
    const [relu0, relu1] = m.graph.nodes;
    relu0!.setInput(0, relu1!.output(0));
    let tried = 0;
    const counting: PatternRule = { ...doubleRelu(), match: (node, ctx) => (tried++, doubleRelu().match(node, ctx)) };
    expect(() => applyRules(m, [counting])).toThrow(ModelError);
    expect(() => applyRules(m, [counting])).toThrow(/graph 'main' has a cycle through Relu 'relu[01]'.*not a valid model/);
    expect(tried).toBe(0);
  });

  it('a value nothing produces, read so in the model, may be read by a replacement and stays a quirk, not an error', () => {
    const m = reluChain(2);
    const nobody = m.graph.addValue('nobody');
    m.graph.nodes[0]!.setInput(0, nobody);
    const report = applyRules(m, [doubleRelu()]);
    expect(report.rules[0]!.rewrites).toBe(1);
    expect(report.rules[0]!.refused).toEqual([]);
    expect(ops(m)).toEqual(['Relu']);
    expect(m.graph.nodes[0]!.input(0)).toBe(nobody);
    // ...and the report says the model is not one a runtime loads.
    expect(report.warnings).toEqual(["the model reads 1 value(s) that nothing defines ('nobody'): no runtime loads it as it is; the rewrite leaves those reads as they are"]);
  });

  it('says so when constants that are also graph inputs (overridable ONNX initializers) were folded away', () => {
    const g = new Graph('main');
    const x = g.addValue('x', { dtype: 'float32', shape: [1, 4] });
    const k = g.addConstant('k', Tensor.from('float32', [4], [1, 2, 3, 4]));
    k.overridable = true;
    g.inputs = [x, k];
    const mul = g.addNode({ op: 'Mul', name: 'mul', inputs: [x, k], outputs: ['y'] });
    g.outputs = [mul.output(0)];
    const m = new Model('onnx', g);
    m.opsets = [{ domain: '', version: 13 }];
    const fold: PatternRule = {
      kind: 'pattern',
      id: 'fold-k',
      rootOps: ['Mul'],
      match: (node) => ({
        ok: true,
        matched: [node],
        rewrite: (graph, out) => {
          const k2 = graph.addConstant(graph.uniqueName('k2'), Tensor.from('float32', [4], [2, 4, 6, 8]));
          return { nodes: [graph.addNode({ op: 'Mul', name: graph.uniqueName('mul2'), inputs: [node.input(0)!, k2], outputs: out })] };
        },
      }),
    };
    const report = applyRules(m, [fold], { maxIterations: 1 });
    expect(report.warnings.some((w) => /1 constant\(s\) that are also graph inputs were folded .*: 'k'\. .*IR version 4 and later/.test(w))).toBe(true);
    // Nothing folded: nothing said.
    expect(applyRules(reluChain(2), [doubleRelu()]).warnings).toEqual([]);
    // An input constant no caller can override (an ONNX IR 3 initializer): nothing to say either.
    k.overridable = false;
    const again = new Model('onnx', g);
    m.graph.nodes[0]!.setInput(1, k);
    expect(applyRules(again, [fold], { maxIterations: 1 }).warnings.filter((w) => w.includes('graph inputs'))).toEqual([]);
  });
});

describe('growth bound', () => {
  it('stops a rule that rewrites its own output into copies of itself, with a warning, long before the round bound', () => {
    const m = reluChain(1);
    const tenfold: PatternRule = {
      kind: 'pattern',
      id: 'relu-tenfold',
      rootOps: ['Relu'],
      match: (node) => ({
        ok: true,
        matched: [node],
        rewrite: (graph, out) => {
          const nodes: Node[] = [];
          let v = node.input(0)!;
          for (let i = 0; i < 10; i++) {
            const n = graph.addNode({ op: 'Relu', name: graph.uniqueName(`${node.name}_x`), inputs: [v], outputs: i === 9 ? out : [graph.uniqueName('t')] });
            nodes.push(n);
            v = n.output(0);
          }
          return { nodes };
        },
      }),
    };
    const report = applyRules(m, [tenfold]);
    expect(report.boundHit).toBe(true);
    expect(report.warnings).toEqual([expect.stringMatching(/^graph 'main': rules relu-tenfold grew the graph from 1 to 2000\d\d nodes; stopped there/)]);
    expect(report.rounds).toBeLessThan(16);
    expect(validate(m.graph, { ordered: true })).toEqual([]);
  });
});

describe('function bodies', () => {
  /** Main calls local::Block twice; Block holds a double Relu, a dead Abs, and a LeakyRelu whose alpha is the caller's. */
  const text = `model onnx
opsets ai.onnx:13, local:1
graph main
  in x: float32[1, 4]
  c1: h = local::Block(x) {alpha: 0.5}
  c2: y = local::Block(h) {alpha: 0.5}
  r1: t = Relu(y)
  r2: z = Relu(t)
  out z
function local::Block
  opsets ai.onnx:17
  attr alpha
  in X
  a: dead = Abs(X)
  l: L = LeakyRelu(X) {alpha: @alpha}
  r1: R1 = Relu(L)
  r2: Y = Relu(R1)
  out Y
  out R1
`;

  it('rules run in the function bodies too, seeing the function\'s own opsets; cleanup keeps what produces their outputs', () => {
    const m = parseModel(text);
    const seen: RuleContext[] = [];
    const rule = doubleRelu({ shared: true });
    const watching: PatternRule = { ...rule, match: (node, ctx) => (seen.push(ctx), rule.match(node, ctx)) };
    const report = applyRules(m, [watching]);
    const body = m.functions[0]!.body;
    expect(report.rules[0]!.rewrites).toBe(2);
    expect(ops(m)).toEqual(['Block', 'Block', 'Relu']);
    // R1 is an output of the function: the Relu producing it stays although the rewrite no longer reads it; the dead Abs goes.
    expect(body.nodes.map((n) => n.op)).toEqual(['LeakyRelu', 'Relu', 'Relu']);
    expect(body.outputs.map((v) => [v.name, v.producer?.op])).toEqual([['Y', 'Relu'], ['R1', 'Relu']]);
    expect(body.outputs[0]!.producer!.input(0)!.name).toBe('L');
    expect(seen.filter((c) => c.graph === body).every((c) => c.function === m.functions[0] && c.opsets[0]!.version === 17)).toBe(true);
    expect(seen.filter((c) => c.graph === m.graph).every((c) => c.function === undefined && c.opsets[0]!.version === 13)).toBe(true);
    expect(validate(body, { ordered: true })).toEqual([]);
  });

  it("a match that takes in a node whose attribute is the caller's is a near miss that says so; the node stays", () => {
    const m = parseModel(text);
    // Relu(LeakyRelu($x)): the LeakyRelu is matched (not the root), its alpha is a reference.
    const reluOfLeaky: PatternRule = {
      kind: 'pattern',
      id: 'relu-of-leaky',
      rootOps: ['Relu'],
      match(node): RuleHit | RuleMiss {
        const inner = node.input(0)?.producer;
        if (!inner || inner.op !== 'LeakyRelu') return { ok: false, reason: 'not after a LeakyRelu' };
        return { ok: true, matched: [inner, node], rewrite: (graph, out) => ({ nodes: [graph.addNode({ op: 'Relu', inputs: [inner.input(0)], outputs: out })] }) };
      },
    };
    const report = applyRules(m, [reluOfLeaky], { explain: 'relu-of-leaky' });
    expect(report.rules[0]!.rewrites).toBe(0);
    expect(report.explain).toContainEqual({
      node: 'r1',
      op: 'Relu',
      graph: 'Block',
      reason: "attribute 'alpha' of LeakyRelu 'l' refers to attribute 'alpha' of function 'local::Block': its value is each caller's, not known here",
    });
    expect(m.functions[0]!.body.nodes.map((n) => n.op)).toContain('LeakyRelu');
  });
});
