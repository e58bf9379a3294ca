import { Graph, Tensor, attr, cleanup, toposort, validate, printGraph } from '../../src/ir';
import { BytesData } from '../../src/ir/tensor';

function chain(): { g: Graph; x: ReturnType<Graph['addValue']> } {
  const g = new Graph('main');
  const x = g.addValue('x', { dtype: 'float32', shape: ['N', 4] });
  g.inputs = [x];
  const w = g.addConstant('w', Tensor.from('float32', [4], [1, 2, 3, 4]));
  const a = g.addNode({ op: 'Mul', name: 'mul0', inputs: [x, w], outputs: ['a'] });
  const b = g.addNode({ op: 'Relu', name: 'relu0', inputs: [a.output(0)], outputs: ['b'] });
  g.outputs = [b.output(0)];
  return { g, x };
}

describe('producer/consumer links', () => {
  test('are kept by setInput and removeNode', () => {
    const { g, x } = chain();
    const mul = g.nodes[0]!;
    expect(x.consumers).toEqual([mul]);
    expect(mul.output(0).producer).toBe(mul);
    mul.setInput(0, null);
    expect(x.uses).toHaveLength(0);
    mul.setInput(0, x);
    g.removeNode(mul);
    expect(x.uses).toHaveLength(0);
    expect(g.nodes.map((n) => n.name)).toEqual(['relu0']);
  });

  test('replaceAllUsesWith moves node readers and graph outputs', () => {
    const { g, x } = chain();
    const b = g.outputs[0]!;
    b.replaceAllUsesWith(x);
    expect(g.outputs[0]).toBe(x);
    expect(b.useCount).toBe(0);
    expect(x.isGraphOutput).toBe(true);
  });

  test('a value cannot get a second producer', () => {
    const { g } = chain();
    const a = g.findValue('a')!;
    expect(() => g.addNode({ op: 'Neg', inputs: [], outputs: [a] })).toThrow(/already produced/);
  });
});

describe('cleanup, toposort, validate', () => {
  test('cleanup removes dead chains and unused constants, keeps sinks', () => {
    const { g, x } = chain();
    const dead1 = g.addNode({ op: 'Neg', inputs: [x], outputs: ['d1'] });
    g.addNode({ op: 'Abs', inputs: [dead1.output(0)], outputs: ['d2'] });
    g.addConstant('unused', Tensor.scalar('float32', 1));
    g.addNode({ op: 'Assign', inputs: [x], outputs: [] });
    const removed = cleanup(g);
    expect(removed.nodes).toBe(2);
    expect(g.nodes.map((n) => n.op)).toEqual(['Mul', 'Relu', 'Assign']);
    expect(g.findValue('unused')).toBeUndefined();
    expect(validate(g, { uniqueNames: true, ordered: true })).toEqual([]);
  });

  test('toposort orders new nodes before readers and keeps an ordered graph as is', () => {
    const { g } = chain();
    const relu = g.nodes[1]!;
    const extra = g.addNode({ op: 'Neg', name: 'neg', inputs: [g.findValue('a')!], outputs: ['n'] });
    relu.setInput(0, extra.output(0));
    expect(validate(g, { ordered: true })[0]).toMatch(/before its producer/);
    toposort(g);
    expect(g.nodes.map((n) => n.name)).toEqual(['mul0', 'neg', 'relu0']);
    expect(validate(g, { ordered: true })).toEqual([]);
  });

  test('toposort handles a 100k-node chain without overflowing the stack', () => {
    const g = new Graph('long');
    let v = g.addValue('x');
    g.inputs = [v];
    const nodes = [];
    for (let i = 0; i < 100_000; i++) {
      const n = g.addNode({ op: 'Relu', inputs: [v], outputs: [`v${i}`] });
      nodes.push(n);
      v = n.output(0);
    }
    g.outputs = [v];
    g.setNodeOrder([...nodes].reverse());
    toposort(g);
    expect(g.nodes[0]).toBe(nodes[0]);
    expect(g.nodes[99_999]).toBe(nodes[99_999]);
  });

  test('a variable (state) value is a source, like an input', () => {
    const g = new Graph('state');
    const x = g.addValue('x');
    g.inputs = [x];
    const state = g.addValue('cell_state');
    const n = g.addNode({ op: 'LSTM', inputs: [x, state], outputs: ['y'] });
    g.outputs = [n.output(0)];
    expect(validate(g)[0]).toMatch(/cell_state.*nothing produces/);
    state.variable = true;
    expect(validate(g)).toEqual([]);
  });

  test('validate reports cycles, dangling inputs and duplicate names', () => {
    const g = new Graph('bad');
    const a = g.addValue('a');
    const b = g.addValue('a');
    g.addNode({ op: 'Neg', name: 'n1', inputs: [a], outputs: [b] });
    g.addNode({ op: 'Neg', name: 'n2', inputs: [b], outputs: [a] });
    const dangling = g.addValue('ghost');
    g.addNode({ op: 'Abs', name: 'n3', inputs: [dangling], outputs: ['z'] });
    const problems = validate(g, { uniqueNames: true });
    expect(problems.some((p) => /cycle/.test(p))).toBe(true);
    expect(problems.some((p) => /n3.*ghost.*nothing produces/.test(p))).toBe(true);
    expect(problems.some((p) => /'a' is used 2 times/.test(p))).toBe(true);
  });
});

describe('tensor', () => {
  test('float16 and bfloat16 round trip', () => {
    const t = Tensor.from('float16', [4], [1, -2.5, 65504, 0.0001]);
    const back = [...t.toFloat64()];
    expect(back.slice(0, 3)).toEqual([1, -2.5, 65504]);
    expect(back[3]).toBeCloseTo(0.0001, 7);
    const b = Tensor.from('bfloat16', [2], [1.5, -3]);
    expect([...b.toFloat64()]).toEqual([1.5, -3]);
  });

  test('every float16 bit pattern decodes to its value: zeros, subnormals, the largest, infinities, NaNs', () => {
    const bits = Uint16Array.from({ length: 65536 }, (_, h) => h);
    const values = new Tensor('float16', [65536], new BytesData(new Uint8Array(bits.buffer))).toFloat64();
    const expected = (h: number): number => {
      const sign = h & 0x8000 ? -1 : 1;
      const exp = (h >> 10) & 0x1f;
      const frac = h & 0x3ff;
      if (exp === 0x1f) return frac ? NaN : sign * Infinity;
      return exp === 0 ? sign * frac * 2 ** -24 : sign * (1 + frac / 1024) * 2 ** (exp - 15);
    };
    for (let h = 0; h < 65536; h++) if (!Object.is(values[h], expected(h))) throw new Error(`float16 0x${h.toString(16)}: ${values[h]}, expected ${expected(h)}`);
    expect([values[0x0001], values[0x7bff], values[0x8000], values[0xfc00]]).toEqual([2 ** -24, 65504, -0, -Infinity]);
  });

  test('float32 elements given as numbers or bigints', () => {
    expect([...Tensor.from('float32', [3], [0.1, -3, 1e30]).toFloat64()]).toEqual([Math.fround(0.1), -3, Math.fround(1e30)]);
    expect([...Tensor.from('float32', [2], [7n, -2n] as unknown as ArrayLike<bigint>).toFloat64()]).toEqual([7, -2]);
  });

  test('int64 keeps values beyond 2^53 exactly', () => {
    const big = 9223372036854775807n;
    const t = Tensor.from('int64', [1], [big] as unknown as ArrayLike<bigint>);
    expect(t.toBigInt64()[0]).toBe(big);
  });

  test('int4 packs two elements a byte', () => {
    const t = Tensor.from('int4', [3], [-8, 7, -1]);
    expect(t.data.byteLength).toBe(2);
    expect([...t.toFloat64()]).toEqual([-8, 7, -1]);
  });
});

describe('canonical text', () => {
  test('prints inputs, constants, nodes and outputs deterministically', () => {
    const { g } = chain();
    g.nodes[0]!.attrs.set('axis', attr.int(1));
    g.nodes[0]!.attrs.set('alpha', attr.float(0.1));
    expect(printGraph(g)).toBe(
      [
        'graph main',
        '  in x: float32[N, 4]',
        '  const w: float32[4] = [1.0, 2.0, 3.0, 4.0]',
        '  mul0: a = Mul(x, w) {alpha: 0.1, axis: 1}',
        '  relu0: b = Relu(a)',
        '  out b',
        '',
      ].join('\n'),
    );
  });
});
