/**
 * OpenVINO HardSigmoid, ScatterNDUpdate, ScatterElementsUpdate, NonZero,
 * IsNaN/IsInf/IsFinite, ReduceLogicalAnd/Or, GroupNormalization, OneHot,
 * SpaceToBatch, BatchToSpace, ScaledDotProductAttention, the Bitwise ops and Unique translated to
 * ONNX, checked in onnxruntime against values computed here from the
 * OpenVINO specification.
 */
import type { DType } from '../../src/ir/dtype';
import { openvinoToOnnx } from '../../src/verify/openvino-onnx';
import { newOvModel, ovConst, ovOp, ovParam } from '../helpers/openvino-build';
import { TranslatedRunner, testValues } from '../helpers/openvino-translate';

let runner: TranslatedRunner;
beforeAll(() => {
  runner = new TranslatedRunner();
});
afterAll(() => runner.close());

const f = Math.fround;

test('HardSigmoid-1: max(0, min(1, alpha * x + beta)), alpha and beta as inputs', async () => {
  const m = newOvModel('net');
  const g = m.graph;
  const x = ovParam(g, 'x', [2, 5]);
  const alpha = ovConst(g, 'alpha', 'float32', [], [0.2]);
  const beta = ovConst(g, 'beta', 'float32', [], [0.5]);
  g.outputs = [ovOp(g, 'HardSigmoid', 'opset1', [x, alpha, beta], [[2, 5]], {}, 'hs').output(0)];
  const xs = [-4, -2.5, -1, 0, 0.3, 1, 2.5, 3, 4, 10];
  const out = (await runner.run(m, { x: { shape: [2, 5], values: xs } })).hs_out!;
  expect(out.values).toEqual(xs.map((v) => f(Math.max(0, Math.min(1, f(f(f(0.2) * v) + 0.5))))));
});

test('ScatterNDUpdate-3: rows of data replaced at the given index tuples', async () => {
  const m = newOvModel('net');
  const g = m.graph;
  const data = ovParam(g, 'data', [4, 3]);
  const indices = ovConst(g, 'idx', 'int32', [2, 1], [3, 1]);
  const updates = ovParam(g, 'upd', [2, 3]);
  g.outputs = [ovOp(g, 'ScatterNDUpdate', 'opset3', [data, indices, updates], [[4, 3]], {}, 'sc').output(0)];
  const d = testValues(12, 5).map(f);
  const u = [10, 11, 12, 20, 21, 22];
  const out = (await runner.run(m, { data: { shape: [4, 3], values: d }, upd: { shape: [2, 3], values: u } })).sc_out!;
  const expected = [...d];
  [3, 1].forEach((row, k) => expected.splice(row * 3, 3, ...u.slice(k * 3, k * 3 + 3)));
  expect(out.values).toEqual(expected);
});

test.each([
  [0, 'opset3'],
  [-1, 'opset3'],
  [1, 'opset12'],
])('ScatterElementsUpdate (axis %i, %s): out[i][idx[i][j]] = upd[i][j] along the axis', async (axis, opset) => {
  const m = newOvModel('net');
  const g = m.graph;
  const data = ovParam(g, 'data', [3, 4]);
  // No two updates land on the same element along either axis (their order would be unspecified).
  const idxValues = [0, 2, 1, 1, 0, 2];
  const indices = ovConst(g, 'idx', 'int64', [2, 3], idxValues);
  const updates = ovParam(g, 'upd', [2, 3]);
  const ax = ovConst(g, 'axis', 'int64', [], [axis]);
  const attrs: Record<string, string> = opset === 'opset12' ? { reduction: 'none' } : {};
  g.outputs = [ovOp(g, 'ScatterElementsUpdate', opset, [data, indices, updates, ax], [[3, 4]], attrs, 'sc').output(0)];
  const d = testValues(12, 9).map(f);
  const u = [100, 101, 102, 103, 104, 105];
  const out = (await runner.run(m, { data: { shape: [3, 4], values: d }, upd: { shape: [2, 3], values: u } })).sc_out!;
  const expected = [...d];
  const a = axis < 0 ? axis + 2 : axis;
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 3; j++) {
      const target = idxValues[i * 3 + j]!;
      const [r, c] = a === 0 ? [target, j] : [i, target];
      expected[r * 4 + c] = u[i * 3 + j]!;
    }
  }
  expect(out.values).toEqual(expected);
});

test('ScatterElementsUpdate-12 with a reduction is refused by name', () => {
  const m = newOvModel('net');
  const g = m.graph;
  const data = ovParam(g, 'data', [3]);
  const idx = ovConst(g, 'idx', 'int64', [1], [0]);
  const upd = ovParam(g, 'upd', [1]);
  const ax = ovConst(g, 'axis', 'int64', [], [0]);
  g.outputs = [ovOp(g, 'ScatterElementsUpdate', 'opset12', [data, idx, upd, ax], [[3]], { reduction: 'sum' }, 'sc').output(0)];
  expect(() => openvinoToOnnx(m)).toThrow("cannot translate OpenVINO layer 'sc' (ScatterElementsUpdate, opset12) to ONNX: reduction=\"sum\" is not translated (none is)");
});

test.each([
  ['i64', 'int64'],
  ['i32', 'int32'],
])('NonZero-3 (output_type %s): the indices of non-zero elements, one row per dimension, in row-major order', async (outputType, dtype) => {
  const m = newOvModel('net');
  const g = m.graph;
  const x = ovParam(g, 'x', [2, 3]);
  const nz = ovOp(g, 'NonZero', 'opset3', [x], [[2, 3]], { output_type: outputType }, 'nz');
  nz.outputs[0]!.dtype = dtype as DType;
  nz.outputs[0]!.shape = [2, null];
  g.outputs = [nz.output(0)];
  const xs = [0, 1.5, 0, -2, 0, 3];
  const out = (await runner.run(m, { x: { shape: [2, 3], values: xs } })).nz_out!;
  expect(out.dtype).toBe(dtype);
  expect(out.shape).toEqual([2, 3]);
  // (0,1), (1,0), (1,2): rows of the row indices, then of the column indices.
  expect(out.values).toEqual([0, 1, 1, 1, 0, 2]);
});

describe('IsNaN, IsInf and IsFinite-10', () => {
  const xs = [NaN, Infinity, -Infinity, 0, -1.5, 3e38];
  const layer = async (op: string, attrs: Record<string, string> = {}) => {
    const m = newOvModel('net');
    const g = m.graph;
    const node = ovOp(g, op, 'opset10', [ovParam(g, 'x', [6])], [[6]], attrs, 'is');
    node.outputs[0]!.dtype = 'bool';
    g.outputs = [node.output(0)];
    return (await runner.run(m, { x: { shape: [6], values: xs } })).is_out!.values;
  };
  test('IsNaN: true for NaN only', async () => expect(await layer('IsNaN')).toEqual([1, 0, 0, 0, 0, 0]));
  test('IsInf: both infinities by default, one side when the other is not detected', async () => {
    expect(await layer('IsInf')).toEqual([0, 1, 1, 0, 0, 0]);
    expect(await layer('IsInf', { detect_negative: 'false' })).toEqual([0, 1, 0, 0, 0, 0]);
    expect(await layer('IsInf', { detect_positive: 'false' })).toEqual([0, 0, 1, 0, 0, 0]);
  });
  test('IsFinite: neither NaN nor an infinity', async () => expect(await layer('IsFinite')).toEqual([0, 0, 0, 1, 1, 1]));
});

test.each([
  ['ReduceLogicalAnd', 'false', [0, 1, 0], [3]],
  ['ReduceLogicalOr', 'false', [1, 1, 0], [3]],
  ['ReduceLogicalAnd', 'true', [0, 1, 0], [1, 3]],
])('%s-1 over axis 0 (keep_dims %s)', async (op, keepDims, expected, outShape) => {
  const m = newOvModel('net');
  const g = m.graph;
  const x = ovParam(g, 'x', [2, 3], 'bool');
  const node = ovOp(g, op, 'opset1', [x, ovConst(g, 'axes', 'int64', [1], [0])], [outShape], { keep_dims: keepDims }, 'r');
  node.outputs[0]!.dtype = 'bool';
  g.outputs = [node.output(0)];
  // Columns: (1, 0), (1, 1), (0, 0).
  const out = (await runner.run(m, { x: { dtype: 'bool', shape: [2, 3], values: [1, 1, 0, 0, 1, 0] } })).r_out!;
  expect(out.shape).toEqual(outShape);
  expect(out.values).toEqual(expected);
});

test('GroupNormalization-12: mean and variance per batch and group of channels, then scale and bias per channel', async () => {
  const [n, c, h, w, groups, eps] = [2, 4, 2, 3, 2, 1e-3];
  const m = newOvModel('net');
  const g = m.graph;
  const scale = [0.5, 1, 2, -1];
  const bias = [0, 0.25, -1, 3];
  const node = ovOp(
    g, 'GroupNormalization', 'opset12',
    [ovParam(g, 'x', [n, c, h, w]), ovConst(g, 'scale', 'float32', [c], scale), ovConst(g, 'bias', 'float32', [c], bias)],
    [[n, c, h, w]], { num_groups: String(groups), epsilon: String(eps) }, 'gn',
  );
  g.outputs = [node.output(0)];
  const xs = testValues(n * c * h * w, 11).map(f);
  const out = (await runner.run(m, { x: { shape: [n, c, h, w], values: xs } })).gn_out!;
  // The spec's formula, in float64, group by group.
  const per = (c / groups) * h * w;
  const expected = xs.map((v, i) => {
    const start = Math.floor(i / per) * per;
    const group = xs.slice(start, start + per);
    const mean = group.reduce((a, b) => a + b, 0) / per;
    const variance = group.reduce((a, b) => a + (b - mean) ** 2, 0) / per;
    const channel = Math.floor(i / (h * w)) % c;
    return scale[channel]! * ((v - mean) / Math.sqrt(variance + eps)) + bias[channel]!;
  });
  out.values.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(1e-5 * (1 + Math.abs(expected[i]!))));
});

describe('ScaledDotProductAttention-13', () => {
  const [heads, L, S, E, Ev] = [2, 3, 4, 4, 2];
  const qs = testValues(heads * L * E, 21).map(f);
  const ks = testValues(heads * S * E, 22).map(f);
  const vs = testValues(heads * S * Ev, 23).map(f);

  /** The specification's pseudo-code in float64: bias(h, i, j) is added to the scaled scores. */
  function reference(scale: number, bias: (h: number, i: number, j: number) => number): number[] {
    const out: number[] = [];
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < L; i++) {
        const scores = Array.from({ length: S }, (_, j) => {
          let dot = 0;
          for (let e = 0; e < E; e++) dot += qs[(h * L + i) * E + e]! * ks[(h * S + j) * E + e]!;
          return dot * scale + bias(h, i, j);
        });
        const top = Math.max(...scores);
        const weights = scores.map((x) => Math.exp(x - top));
        const total = weights.reduce((a, b) => a + b, 0);
        for (let c = 0; c < Ev; c++) out.push(weights.reduce((a, w, j) => a + (w / total) * vs[(h * S + j) * Ev + c]!, 0));
      }
    }
    return out;
  }

  async function attention(causal: boolean, extra: { mask?: { dtype: DType; values: number[] }; scale?: number } = {}) {
    const m = newOvModel('net');
    const g = m.graph;
    const inputs = [ovParam(g, 'q', [1, heads, L, E]), ovParam(g, 'k', [1, heads, S, E]), ovParam(g, 'v', [1, heads, S, Ev])];
    if (extra.mask) inputs.push(ovConst(g, 'mask', extra.mask.dtype, [L, S], extra.mask.values));
    if (extra.scale !== undefined) inputs.push(ovConst(g, 'scale', 'float32', [], [extra.scale]));
    g.outputs = [ovOp(g, 'ScaledDotProductAttention', 'opset13', inputs, [[1, heads, L, Ev]], { causal: String(causal) }, 'sdpa').output(0)];
    const out = (await runner.run(m, { q: { shape: [1, heads, L, E], values: qs }, k: { shape: [1, heads, S, E], values: ks }, v: { shape: [1, heads, S, Ev], values: vs } })).sdpa_out!;
    expect(out.shape).toEqual([1, heads, L, Ev]);
    return out.values;
  }

  const close = (actual: number[], expected: number[]) => actual.forEach((x, i) => expect(Math.abs(x - expected[i]!)).toBeLessThan(1e-5));

  test('no mask: the scale is 1 / sqrt(E)', async () => close(await attention(false), reference(1 / Math.sqrt(E), () => 0)));
  test('causal: -inf above the diagonal (a mask given beside it is ignored)', async () => {
    const expected = reference(1 / Math.sqrt(E), (_h, i, j) => (j > i ? -Infinity : 0));
    close(await attention(true), expected);
    close(await attention(true, { mask: { dtype: 'float32', values: new Array<number>(L * S).fill(5) } }), expected);
  });
  test('a boolean mask: -inf where it is false; a float mask and a scale given: added as they are', async () => {
    const keep = [1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0];
    close(await attention(false, { mask: { dtype: 'bool', values: keep } }), reference(1 / Math.sqrt(E), (_h, i, j) => (keep[i * S + j] ? 0 : -Infinity)));
    const add = testValues(L * S, 24).map(f);
    close(await attention(false, { mask: { dtype: 'float32', values: add }, scale: 0.3 }), reference(f(0.3), (_h, i, j) => add[i * S + j]!));
  });
});

test.each([
  ['opset1', {}, [[0, 2], [-1, 3], [1, -3]]],
  ['opset16', { negative_indices_mode: 'normalize' }, [[0, 2], [2, 3], [1, 0]]],
] as const)('OneHot (%s %j): on_value at each index along the last axis; out of range all off_value', async (opset, attrs, hot) => {
  const m = newOvModel('net');
  const g = m.graph;
  const indices = ovParam(g, 'i', [3, 2], 'int64');
  const node = ovOp(
    g, 'OneHot', opset,
    [indices, ovConst(g, 'depth', 'int64', [], [3]), ovConst(g, 'on', 'float32', [], [5]), ovConst(g, 'off', 'float32', [], [-1])],
    [[3, 2, 3]], { axis: '-1', ...attrs }, 'oh',
  );
  node.outputs[0]!.dtype = 'float32';
  g.outputs = [node.output(0)];
  const out = (await runner.run(m, { i: { dtype: 'int64', shape: [3, 2], values: [0, 2, -1, 3, 1, -3] } })).oh_out!;
  // An index the mode leaves negative, or 3 (past the depth), lights nothing.
  const expected = hot.flat().flatMap((h) => [0, 1, 2].map((c) => (c === h ? 5 : -1)));
  expect(out.values).toEqual(expected);
});

describe('SpaceToBatch-2 and BatchToSpace-2', () => {
  function layer(op: string, shape: number[], outShape: number[], block: number[], begin: number[], end: number[]) {
    const m = newOvModel('net');
    const g = m.graph;
    const consts = [block, begin, end].map((v, i) => ovConst(g, `c${i}`, 'int64', [v.length], v));
    g.outputs = [ovOp(g, op, 'opset2', [ovParam(g, 'x', shape), ...consts], [outShape], {}, 'sb').output(0)];
    return m;
  }
  const run = async (op: string, shape: number[], outShape: number[], block: number[], begin: number[], end: number[], xs: number[]) => {
    const out = (await runner.run(layer(op, shape, outShape, block, begin, end), { x: { shape, values: xs } })).sb_out!;
    expect(out.shape).toEqual(outShape);
    return out.values;
  };

  test('one spatial dimension: [a, b, c, d] in blocks of 2 is [[a, c], [b, d]]', async () => {
    expect(await run('SpaceToBatch', [1, 4], [2, 2], [1, 2], [0, 0], [0, 0], [1, 2, 3, 4])).toEqual([1, 3, 2, 4]);
    expect(await run('BatchToSpace', [2, 2], [1, 4], [1, 2], [0, 0], [0, 0], [1, 3, 2, 4])).toEqual([1, 2, 3, 4]);
  });

  test('a 2x2 image in 2x2 blocks: each pixel its own batch, row by row', async () => {
    expect(await run('SpaceToBatch', [1, 1, 2, 2], [4, 1, 1, 1], [1, 1, 2, 2], [0, 0, 0, 0], [0, 0, 0, 0], [1, 2, 3, 4])).toEqual([1, 2, 3, 4]);
  });

  test('zero padding in, the same crops out: BatchToSpace undoes SpaceToBatch', async () => {
    const xs = testValues(2 * 3 * 3 * 5, 31).map(f);
    const padded = await run('SpaceToBatch', [2, 3, 3, 5], [2 * 6, 3, 2, 3], [1, 1, 2, 3], [0, 0, 1, 0], [0, 0, 0, 4], xs);
    // The pads are zeros, and every input value lands somewhere exactly once.
    expect(padded.filter((v) => v === 0).length).toBe(2 * 3 * 4 * 9 - xs.length);
    expect([...padded].filter((v) => v !== 0).sort((a, b) => a - b)).toEqual([...xs].sort((a, b) => a - b));
    expect(await run('BatchToSpace', [12, 3, 2, 3], [2, 3, 3, 5], [1, 1, 2, 3], [0, 0, 1, 0], [0, 0, 0, 4], padded)).toEqual(xs);
  });
});

test.each([
  ['BitwiseAnd', (a: number, b: number) => a & b],
  ['BitwiseOr', (a: number, b: number) => a | b],
  ['BitwiseXor', (a: number, b: number) => a ^ b],
])('%s-13 of booleans (masks), broadcast', async (op, expected) => {
  const m = newOvModel('net');
  const g = m.graph;
  const a = ovParam(g, 'a', [2, 3], 'bool');
  const b = ovParam(g, 'b', [3], 'bool');
  g.outputs = [ovOp(g, op, 'opset13', [a, b], [[2, 3]], { auto_broadcast: 'numpy' }, 'bw').output(0)];
  const av = [1, 0, 1, 0, 1, 0];
  const bv = [1, 1, 0];
  const out = (await runner.run(m, { a: { dtype: 'bool', shape: [2, 3], values: av }, b: { dtype: 'bool', shape: [3], values: bv } })).bw_out!;
  expect(out.dtype).toBe('bool');
  expect(out.values).toEqual(av.map((x, i) => expected(x, bv[i % 3]!)));
});

test.each([
  ['bool', [1, 0], (x: number) => (x ? 0 : 1)],
  ['int8', [0, 1, -1, 127, -128], (x: number) => ~x],
  ['int32', [0, 5, -6, 2147483647, -2147483648], (x: number) => ~x],
  ['uint8', [0, 1, 200, 255], (x: number) => 255 - x],
  ['int64', [0, 7, -8], (x: number) => ~x],
] as const)('BitwiseNot-13 of %s', async (dtype, values, expected) => {
  const m = newOvModel('net');
  const g = m.graph;
  const x = ovParam(g, 'x', [values.length], dtype as DType);
  g.outputs = [ovOp(g, 'BitwiseNot', 'opset13', [x], [[values.length]], {}, 'bn').output(0)];
  const out = (await runner.run(m, { x: { dtype: dtype as DType, shape: [values.length], values } })).bn_out!;
  expect(out.dtype).toBe(dtype);
  expect(out.values).toEqual(values.map(expected));
});

test('BitwiseAnd of integers is refused by name (ONNX has it only from opset 18)', async () => {
  const m = newOvModel('net');
  const g = m.graph;
  const a = ovParam(g, 'a', [2], 'int32');
  g.outputs = [ovOp(g, 'BitwiseAnd', 'opset13', [a, a], [[2]], {}, 'bw').output(0)];
  expect(() => openvinoToOnnx(m)).toThrow(/'bw' \(BitwiseAnd, opset13\).*int32: BitwiseAnd is translated for booleans only/);
});

/** Unique by its definition: the unique items (rows along the axis, or elements), their first indices, each item's unique index, the counts. */
function uniqueOf(items: string[], sorted: boolean, compare: (a: string, b: string) => number) {
  const firsts = new Map<string, number>();
  items.forEach((k, i) => firsts.has(k) || firsts.set(k, i));
  const keys = [...firsts.keys()];
  if (sorted) keys.sort(compare);
  return {
    keys,
    indices: keys.map((k) => firsts.get(k)!),
    inverse: items.map((k) => keys.indexOf(k)),
    counts: keys.map((k) => items.filter((x) => x === k).length),
  };
}

test.each([
  ['sorted, whole tensor', 'true', undefined, 'i64'],
  ['in order of first occurrence, i32 indices and counts', 'false', undefined, 'i32'],
  ['sorted rows along axis 0', 'true', 0, 'i64'],
] as const)('Unique-10, %s', async (_name, sorted, axis, type) => {
  const m = newOvModel('net');
  const g = m.graph;
  const x = ovParam(g, 'x', [4, 2]);
  const ins = axis === undefined ? [x] : [x, ovConst(g, 'axis', 'int64', [], [axis])];
  const u = ovOp(g, 'Unique', 'opset10', ins, [[-1], [-1], [-1], [-1]], { sorted, index_element_type: type, count_element_type: type }, 'u');
  u.outputs.forEach((v, i) => {
    v.shape = i === 0 && axis !== undefined ? [null, 2] : [null];
    if (i > 0) v.dtype = type === 'i32' ? 'int32' : 'int64';
  });
  g.outputs = [...u.outputs];
  const xs = [3, 1, 2, 5, 3, 1, -1, 2];
  const out = await runner.run(m, { x: { shape: [4, 2], values: xs } });
  const items = axis === undefined ? xs.map(String) : [0, 1, 2, 3].map((r) => `${xs[2 * r]},${xs[2 * r + 1]}`);
  const byValue = (a: string, b: string): number => {
    const [p, q] = [a.split(',').map(Number), b.split(',').map(Number)];
    return p[0]! - q[0]! || (p[1] ?? 0) - (q[1] ?? 0);
  };
  const want = uniqueOf(items, sorted === 'true', byValue);
  expect(out.u_out0!.values).toEqual(want.keys.flatMap((k) => k.split(',').map(Number)));
  expect(out.u_out1!.values).toEqual(want.indices);
  expect(out.u_out2!.values).toEqual(want.inverse);
  expect(out.u_out3!.values).toEqual(want.counts);
  expect(out.u_out3!.dtype).toBe(type === 'i32' ? 'int32' : 'int64');
});
