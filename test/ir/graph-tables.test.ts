/**
 * The graph's bookkeeping that a large model leans on: the name table with
 * tombstones for removed values, reader lists kept inline, attribute maps made
 * on demand, values dropped lazily. Each behaviour is checked through the
 * public API only.
 */
import { Graph, Tensor, attr } from '../../src/ir';

function chain(): { g: Graph; x: ReturnType<Graph['addValue']> } {
  const g = new Graph('g');
  const x = g.addValue('x');
  g.inputs = [x];
  return { g, x };
}

describe('names', () => {
  test('a removed value keeps its name taken, and a new value of that name is found', () => {
    const { g } = chain();
    const c = g.addConstant('c', Tensor.from('float32', [1], [1]));
    g.removeValue(c);
    expect(g.findValue('c')).toBeUndefined();
    expect(g.uniqueName('c')).toBe('c_1');
    const again = g.addValue('c');
    expect(g.findValue('c')).toBe(again);
    expect(g.valueCount).toBe(2); // x and the new c
  });

  test('a node name is taken for new values too, and a value may still have it', () => {
    const { g, x } = chain();
    const n = g.addNode({ op: 'Relu', name: 'y', inputs: [x], outputs: ['y'] });
    expect(g.findValue('y')).toBe(n.output(0));
    expect(g.uniqueName('y')).toBe('y_1');
  });

  test('node names stay taken: before and after the first new name, and after the node is removed', () => {
    const { g, x } = chain();
    const a = g.addNode({ op: 'Relu', name: 'a', inputs: [x], outputs: ['a_out'] });
    g.addNode({ op: 'Relu', name: 'b', inputs: [a.output(0)], outputs: ['b_out'] });
    expect(g.findValue('a')).toBeUndefined();
    expect(g.uniqueName('a')).toBe('a_1');
    const c = g.addNode({ op: 'Relu', name: 'c', inputs: [x], outputs: ['c_out'] });
    expect(g.uniqueName('c')).toBe('c_1');
    g.removeNode(c);
    expect(g.nodes).not.toContain(c);
    expect(g.uniqueName('c')).toBe('c_2');
    // Removed before any name was asked for: still taken.
    const fresh = chain();
    const d = fresh.g.addNode({ op: 'Relu', name: 'd', inputs: [fresh.x], outputs: ['d_out'] });
    fresh.g.removeNode(d);
    expect(fresh.g.nodes.length).toBe(0);
    expect(fresh.g.uniqueName('d')).toBe('d_1');
  });

  test('a renamed value frees nothing: its old name stays taken and finds no value', () => {
    const { g } = chain();
    const v = g.addValue('old');
    g.renameValue(v, 'new');
    expect(g.findValue('new')).toBe(v);
    expect(g.findValue('old')).toBeUndefined();
    expect(g.uniqueName('old')).toBe('old_1');
  });

  test('100,000 nodes without a name (common in ONNX) and values of one repeated name are indexed without walking each other', () => {
    const { g, x } = chain();
    let last = x;
    for (let i = 0; i < 100_000; i++) last = g.addNode({ op: 'Relu', name: '', inputs: [last], outputs: [i % 2 ? `v${i}` : 'same'] }).output(0);
    expect(g.uniqueName('')).toBe('_1');
    expect(g.findValue('same')?.producer?.inputs[0]).toBe(x);
    expect(g.findValue('v99999')).toBe(last);
    expect(g.sharedNameCount).toBe(49_999);
  });

  test('a value of a subgraph hides one of the parent only while it is live', () => {
    const { g } = chain();
    const outer = g.addValue('t');
    const sub = new Graph('body', g);
    const inner = sub.addValue('t');
    expect(sub.findValue('t')).toBe(inner);
    sub.removeValue(inner);
    expect(sub.findValue('t')).toBe(outer);
  });
});

describe('readers', () => {
  test('uses come in the order they were made, also after the first is removed', () => {
    const { g, x } = chain();
    const a = g.addNode({ op: 'Relu', inputs: [x], outputs: ['a'] });
    const b = g.addNode({ op: 'Neg', inputs: [x], outputs: ['b'] });
    const c = g.addNode({ op: 'Add', inputs: [x, x], outputs: ['c'] });
    expect(x.uses.map((u) => [u.node.op, u.index])).toEqual([['Relu', 0], ['Neg', 0], ['Add', 0], ['Add', 1]]);
    expect(x.useCount).toBe(4);
    g.removeNode(a);
    expect(x.uses.map((u) => [u.node.op, u.index])).toEqual([['Neg', 0], ['Add', 0], ['Add', 1]]);
    c.setInput(0, null);
    expect(x.uses.map((u) => [u.node.op, u.index])).toEqual([['Neg', 0], ['Add', 1]]);
    g.removeNode(b);
    g.removeNode(c);
    expect(x.uses).toEqual([]);
    expect(x.useCount).toBe(0);
    expect(() => g.removeValue(x)).not.toThrow();
  });

  test('replaceAllUsesWith moves every reader, the first included', () => {
    const { g, x } = chain();
    const y = g.addValue('y');
    g.inputs = [x, y];
    g.addNode({ op: 'Add', inputs: [x, x], outputs: ['s'] });
    x.replaceAllUsesWith(y);
    expect(x.useCount).toBe(0);
    expect(y.uses.map((u) => u.index)).toEqual([0, 1]);
  });

  test('a reader at a very high input index (past what a value keeps inline) is counted, listed and removed like any other', () => {
    const { g, x } = chain();
    const inputs: (typeof x | null)[] = new Array(300_000).fill(null);
    inputs[299_999] = x;
    const wide = g.addNode({ op: 'Concat', inputs, outputs: ['w'] });
    expect(x.uses.map((u) => [u.node, u.index])).toEqual([[wide, 299_999]]);
    const r = g.addNode({ op: 'Relu', inputs: [x], outputs: ['r'] });
    expect(x.uses.map((u) => [u.node, u.index])).toEqual([[wide, 299_999], [r, 0]]);
    wide.setInput(299_999, null);
    expect(x.uses.map((u) => [u.node, u.index])).toEqual([[r, 0]]);
    r.setInput(0, null);
    expect([x.uses, x.useCount, x.consumers]).toEqual([[], 0, []]);
  });

  test('graph outputs count as readers, also when hundreds of them name one value', () => {
    const { g, x } = chain();
    const r = g.addNode({ op: 'Relu', inputs: [x], outputs: ['r'] });
    const y = r.output(0);
    g.outputs = new Array(300).fill(y);
    expect([y.isGraphOutput, y.useCount]).toEqual([true, 300]);
    g.outputs = [...new Array(256).fill(y), x];
    expect([y.useCount, x.useCount, x.isGraphOutput]).toEqual([256, 2, true]);
    g.outputs = [y];
    expect([y.useCount, x.useCount, x.isGraphOutput]).toEqual([1, 1, false]);
    g.outputs = [];
    expect([y.useCount, y.isGraphOutput]).toEqual([0, false]);
    expect(() => g.removeNode(r)).not.toThrow();
    expect(() => g.removeValue(y)).not.toThrow();
  });

  test('flags, readers and graph-output counts of a value do not disturb each other', () => {
    const { g, x } = chain();
    const n = g.addNode({ op: 'Add', inputs: [x, x], outputs: ['s'] });
    x.pinned = true;
    x.variable = true;
    g.outputs = [x, x];
    expect([x.pinned, x.variable, x.overridable, x.useCount]).toEqual([true, true, undefined, 4]);
    n.setInput(0, null);
    x.variable = false;
    expect([x.pinned, x.variable, x.uses.map((u) => u.index), x.useCount]).toEqual([true, undefined, [1], 3]);
    g.outputs = [];
    x.overridable = true;
    expect([x.pinned, x.overridable, x.useCount, x.removed]).toEqual([true, true, 1, false]);
  });

  test('native data of a value is kept per value, and cleared by setting undefined', () => {
    const { g, x } = chain();
    const y = g.addValue('y', { native: { port: 3 } });
    expect([x.native, y.native]).toEqual([undefined, { port: 3 }]);
    x.native = 'x';
    y.native = undefined;
    expect([x.native, y.native]).toEqual(['x', undefined]);
  });
});

describe('attributes and values', () => {
  test('a node without attributes gets a map on first use, and keeps what is set in it', () => {
    const { g, x } = chain();
    const n = g.addNode({ op: 'Relu', inputs: [x], outputs: ['y'] });
    expect(n.attrCount).toBe(0);
    expect(n.attr('alpha')).toBeUndefined();
    expect(n.subgraphs).toEqual([]);
    n.attrs.set('alpha', attr.float(0.5));
    expect(n.attrCount).toBe(1);
    expect(n.attr('alpha')).toEqual(attr.float(0.5));
  });

  test('a map handed to addNode is the node\'s map, even when it is filled later', () => {
    const { g, x } = chain();
    const attrs = new Map();
    const n = g.addNode({ op: 'LeakyRelu', inputs: [x], outputs: ['y'], attrs });
    attrs.set('alpha', attr.float(0.1));
    expect(n.attr('alpha')).toEqual(attr.float(0.1));
  });

  test('removed values leave `values`, `constants` and `valueCount` at once', () => {
    const { g } = chain();
    const c1 = g.addConstant('c1', Tensor.from('float32', [1], [1]));
    const c2 = g.addConstant('c2', Tensor.from('float32', [2], [1, 2]));
    g.removeValue(c1);
    g.removeValue(c1); // twice: no effect
    expect([...g.values].map((v) => v.name)).toEqual(['x', 'c2']);
    expect(g.constants).toEqual([c2]);
    expect(g.valueCount).toBe(2);
    expect(c2.shape).toEqual([2]);
  });
});

describe('attributes decoded on first use', () => {
  function lazyNode(): { node: ReturnType<Graph['addNode']>; decoded: () => number } {
    const { g, x } = chain();
    let calls = 0;
    const node = g.addNode({ op: 'LeakyRelu', inputs: [x], outputs: ['y'] });
    node.setAttrSource({
      attrCount: () => 1,
      decodeAttrs: (n) => {
        expect(n).toBe(node);
        calls++;
        return new Map([['alpha', attr.float(0.1)]]);
      },
    });
    return { node, decoded: () => calls };
  }

  test('counting and listing subgraphs do not decode; the first look decodes once', () => {
    const { node, decoded } = lazyNode();
    expect(node.attrCount).toBe(1);
    expect(node.subgraphs).toEqual([]);
    expect(node.pendingAttrs).toBeDefined();
    expect(decoded()).toBe(0);
    expect(node.attr('alpha')).toEqual(attr.float(0.1));
    expect(node.attr('beta')).toBeUndefined();
    expect(node.attrs.size).toBe(1);
    expect(decoded()).toBe(1);
    expect(node.pendingAttrs).toBeUndefined();
  });

  test('a source that decodes one attribute answers attr() without decoding them all', () => {
    const { g, x } = chain();
    let all = 0;
    const node = g.addNode({ op: 'LeakyRelu', inputs: [x], outputs: ['y'] });
    node.setAttrSource({
      attrCount: () => 1,
      decodeAttrs: () => {
        all++;
        return new Map([['alpha', attr.float(0.1)]]);
      },
      decodeAttr: (n, name) => (n === node && name === 'alpha' ? Object.freeze(attr.float(0.1)) : undefined),
    });
    expect(node.attr('alpha')).toEqual(attr.float(0.1));
    expect(node.attr('beta')).toBeUndefined();
    expect([all, node.pendingAttrs !== undefined]).toEqual([0, true]);
    expect(node.attrs.get('alpha')).toEqual(attr.float(0.1));
    expect(all).toBe(1);
  });

  test('one source serves several nodes: each asks for its own attributes', () => {
    const { g, x } = chain();
    const a = g.addNode({ op: 'LeakyRelu', inputs: [x], outputs: ['a'] });
    const b = g.addNode({ op: 'Elu', inputs: [x], outputs: ['b'] });
    const alpha = new Map([[a, 0.1], [b, 0.5]]);
    const source = {
      attrCount: () => 1,
      decodeAttrs: (n: typeof a) => new Map([['alpha', attr.float(alpha.get(n)!)]]),
    };
    a.setAttrSource(source);
    b.setAttrSource(source);
    expect([a.attr('alpha'), b.attr('alpha')]).toEqual([attr.float(0.1), attr.float(0.5)]);
    expect([a.pendingAttrs, b.pendingAttrs]).toEqual([undefined, undefined]);
  });

  test('a map set before any look replaces the source without decoding it', () => {
    const { node, decoded } = lazyNode();
    node.attrs = new Map();
    expect(node.attrCount).toBe(0);
    expect(node.pendingAttrs).toBeUndefined();
    expect(decoded()).toBe(0);
  });
});

describe('outputs', () => {
  test('a node with one output holds no array for it: outputs, outputCount and output(i) agree through changes', () => {
    const { g, x } = chain();
    const n = g.addNode({ op: 'Split', inputs: [x], outputs: ['a'] });
    const a = n.output(0);
    expect(n.outputs).toEqual([a]);
    expect(n.outputCount).toBe(1);
    expect(() => n.output(1)).toThrow(RangeError);
    const b = g.addValue('b');
    n.setOutputs([a, b]);
    expect(n.outputs).toEqual([a, b]);
    expect([n.outputCount, b.producer]).toEqual([2, n]);
    n.setOutputs([b]);
    expect([n.outputs, n.outputCount, a.producer, b.producer]).toEqual([[b], 1, null, n]);
    n.setOutputs([]);
    expect([n.outputs, n.outputCount, b.producer]).toEqual([[], 0, null]);
    g.removeNode(g.addNode({ op: 'Relu', inputs: [x], outputs: [a] }));
    expect(a.producer).toBeNull();
  });
});
