import { BytesData, Graph, Tensor, attr } from '../../src/ir';
import { ExprError, castTensor, fromAttr, kindOf, tensorElements, toAttr, toTensor } from '../../src/expr';

describe('fromAttr: IR attributes as expression values', () => {
  test.each([
    ['float', attr.float(1e-5), 1e-5],
    ['int 3', attr.int(3), 3],
    ['int64 max', attr.int(9223372036854775807n), 9223372036854775807n],
    ['small bigint', attr.int(5n), 5],
    ['bool', attr.bool(true), true],
    ['string', attr.string('NCHW'), 'NCHW'],
    ['ints', attr.ints([1, 2n, 9223372036854775807n]), [1, 2, 9223372036854775807n]],
    ['floats', attr.floats([0.5, 2]), [0.5, 2]],
    ['strings', attr.strings(['a', 'b']), ['a', 'b']],
  ])('%s', (_name, a, expected) => {
    expect(fromAttr(a)).toEqual(expected);
  });

  test('tensors stay tensors; graphs and bytes cannot be read', () => {
    const t = Tensor.from('float32', [2], [1, 2]);
    expect(fromAttr(attr.tensor(t))).toBe(t);
    expect(fromAttr(attr.graph(new Graph('body')))).toBeUndefined();
    expect(fromAttr({ kind: 'bytes', value: new Uint8Array(2) })).toBeUndefined();
  });
});

describe('toAttr: expression values as IR attributes', () => {
  test('without a wanted kind, the value decides', () => {
    expect(toAttr(3)).toEqual({ kind: 'int', value: 3 });
    expect(toAttr(2.5)).toEqual({ kind: 'float', value: 2.5 });
    expect(toAttr(true)).toEqual({ kind: 'bool', value: true });
    expect(toAttr('NHWC')).toEqual({ kind: 'string', value: 'NHWC' });
    expect(toAttr([1, 2n])).toEqual({ kind: 'ints', value: [1, 2n] });
    expect(toAttr([1, 2.5])).toEqual({ kind: 'floats', value: [1, 2.5] });
    expect(toAttr(['a'])).toEqual({ kind: 'strings', value: ['a'] });
    const t = Tensor.from('float32', [1], [1]);
    expect(toAttr(t)).toEqual({ kind: 'tensor', value: t });
  });

  test('a wanted kind converts: 1 as a float, a tensor as ints, a one-element tensor as a scalar', () => {
    expect(toAttr(1, 'float')).toEqual({ kind: 'float', value: 1 });
    expect(toAttr(true, 'int')).toEqual({ kind: 'int', value: 1 });
    expect(toAttr(1, 'bool')).toEqual({ kind: 'bool', value: true });
    expect(toAttr([1, 2], 'floats')).toEqual({ kind: 'floats', value: [1, 2] });
    expect(toAttr(Tensor.from('int64', [3], [1n, 2n, 9223372036854775807n]), 'ints')).toEqual({ kind: 'ints', value: [1n, 2n, 9223372036854775807n] });
    expect(toAttr(Tensor.from('float32', [1], [0.5]), 'float')).toEqual({ kind: 'float', value: 0.5 });
    expect(toAttr(4, 'ints')).toEqual({ kind: 'ints', value: [4] });
    const t = toAttr([1, 2], 'tensor');
    expect(t.kind).toBe('tensor');
    expect(t.kind === 'tensor' && [t.value.dtype, [...tensorElements(t.value)]]).toEqual(['int64', [1n, 2n]]);
  });

  test('a constant graph value converts as its tensor', () => {
    const g = new Graph('g');
    const c = g.addConstant('axes', Tensor.from('int64', [2], [1n, 2n]));
    expect(toAttr(c, 'ints')).toEqual({ kind: 'ints', value: [1n, 2n] });
  });

  test('what cannot be the wanted kind is an ExprError at the given range', () => {
    const at = { start: 4, end: 9 };
    const cases: [unknown, Parameters<typeof toAttr>[1]][] = [[2.5, 'int'], ['a', 'int'], [[1.5], 'ints'], [[1, 'a'], undefined], [null, undefined], [1, 'strings']];
    for (const [v, like] of cases) {
      let err: unknown;
      try {
        toAttr(v as Parameters<typeof toAttr>[0], like, at);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ExprError);
      expect(err).toMatchObject({ start: 4, end: 9 });
    }
    expect(() => toAttr(2.5, 'int')).toThrow("a number cannot be a 'int' attribute");
  });
});

describe('toTensor and castTensor', () => {
  test('scalars and nested lists: int64 for integers, float32 otherwise, bool for booleans', () => {
    const a = toTensor([[1, 2], [3, 4]]);
    expect([a.dtype, a.shape, [...tensorElements(a)]]).toEqual(['int64', [2, 2], [1n, 2n, 3n, 4n]]);
    const b = toTensor(0.5);
    expect([b.dtype, b.shape, [...tensorElements(b)]]).toEqual(['float32', [], [0.5]]);
    const c = toTensor([true, false]);
    expect([c.dtype, [...tensorElements(c)]]).toEqual(['bool', [1, 0]]);
    const d = toTensor([1, 2], 'float16');
    expect([d.dtype, [...tensorElements(d)]]).toEqual(['float16', [1, 2]]);
    expect(toTensor([]).shape).toEqual([0]);
  });

  test('tensors in a list are stacked and keep their dtype (as np.array([a, b]))', () => {
    const a = Tensor.from('float32', [1], [2]);
    const b = Tensor.from('float32', [1], [3]);
    const g = new Graph('g');
    const c = g.addConstant('c', Tensor.from('float32', [], [4]));
    const s = toTensor([a, b]);
    expect([s.dtype, s.shape, [...tensorElements(s)]]).toEqual(['float32', [2, 1], [2, 3]]);
    const t = toTensor([c, c]);
    expect([t.dtype, t.shape, [...tensorElements(t)]]).toEqual(['float32', [2], [4, 4]]);
    // A bare number among them: the values decide, as for a plain list.
    const u = toTensor([c, 1]);
    expect([u.dtype, [...tensorElements(u)]]).toEqual(['int64', [4n, 1n]]);
    expect(() => toTensor([a, Tensor.from('float32', [2], [1, 2])])).toThrow('a nested list is ragged');
  });

  test('a non-constant graph value is an error', () => {
    const g = new Graph('g');
    expect(() => toTensor(g.addValue('x'), undefined, { start: 1, end: 2 })).toThrow("graph value 'x' is not a constant");
  });

  test('cast truncates floats toward zero and keeps int64 exact', () => {
    const f = Tensor.from('float32', [4], [1.9, -1.9, 300.5, -0.5]);
    expect([...tensorElements(castTensor(f, 'int64'))]).toEqual([1n, -1n, 300n, 0n]);
    expect([...tensorElements(castTensor(f, 'int16'))]).toEqual([1, -1, 300, 0]);
    const big = Tensor.from('int64', [1], [9007199254740993n]);
    expect([...tensorElements(castTensor(big, 'uint64'))]).toEqual([9007199254740993n]);
    expect(castTensor(big, 'int64')).toBe(big);
  });

  test('tensors whose bytes sit at unaligned offsets of a file buffer are read correctly', () => {
    // A Node Buffer, as a model file is read: its slice() is a view, not a copy.
    const file = Buffer.alloc(1 + 8 * 3);
    const f32 = new Float32Array([1.5, -2, 3]);
    file.set(new Uint8Array(f32.buffer), 1);
    const t = new Tensor('float32', [3], new BytesData(file.subarray(1, 13)));
    expect([...tensorElements(t)]).toEqual([1.5, -2, 3]);
    const i64 = new BigInt64Array([9007199254740993n, -1n]);
    file.set(new Uint8Array(i64.buffer), 3);
    const big = new Tensor('int64', [2], new BytesData(file.subarray(3, 19)));
    expect([...tensorElements(big)]).toEqual([9007199254740993n, -1n]);
  });

  test('kindOf names runtime values', () => {
    expect([3, 2.5, 3n, true, 'a', null, [1], Tensor.from('bool', [], [1])].map((v) => kindOf(v))).toEqual([
      'int', 'number', 'int', 'bool', 'string', 'none', 'list', 'tensor',
    ]);
  });
});
