/**
 * The ONNX translation of OpenVINO's elementwise ops, checked in onnxruntime
 * against values computed here from the OpenVINO specification.
 */
import type { DType } from '../../src/ir/dtype';
import type { Node } from '../../src/ir/graph';
import { openvinoToOnnx } from '../../src/verify/openvino-onnx';
import { newOvModel, ovConst, ovOp, ovParam } from '../helpers/openvino-build';
import { expectClose as closeWithin, TranslatedRunner, testValues } from '../helpers/openvino-translate';

/** Elementwise ops are checked to 2e-6 relative unless a case says otherwise. */
const expectClose = (actual: number[], expected: number[], tol = 2e-6): void => closeWithin(actual, expected, tol);

let runner: TranslatedRunner;
beforeAll(() => {
  runner = new TranslatedRunner();
});
afterAll(() => runner.close());

/** An input of the layer under test: a Parameter, or a Const with `isConst`. */
interface In {
  shape: number[];
  values: number[];
  dtype?: DType;
  isConst?: boolean;
}

interface Options {
  opset?: string;
  outDType?: DType;
  /** Changes the layer after it is built (to drop a declared shape or type). */
  mutate?: (node: Node) => void;
}

const f = Math.fround;

/** One layer `op` on `ins`, as an OpenVINO model whose output is `op_out`. */
function oneLayer(op: string, ins: In[], outShape: number[], attrs: Record<string, string> = {}, opts: Options = {}) {
  const m = newOvModel('net');
  const g = m.graph;
  const values = ins.map((i, k) => (i.isConst ? ovConst(g, `c${k}`, i.dtype ?? 'float32', i.shape, i.values) : ovParam(g, `x${k}`, i.shape, i.dtype ?? 'float32')));
  const node = ovOp(g, op, opts.opset ?? 'opset1', values, [outShape], attrs, 'op');
  if (opts.outDType) node.outputs[0]!.dtype = opts.outDType;
  opts.mutate?.(node);
  g.outputs = [node.output(0)];
  return m;
}

async function run(op: string, ins: In[], outShape: number[], attrs: Record<string, string> = {}, opts: Options = {}) {
  const m = oneLayer(op, ins, outShape, attrs, opts);
  const feeds: Record<string, { dtype?: DType; shape: number[]; values: number[] }> = {};
  ins.forEach((i, k) => {
    if (!i.isConst) feeds[`x${k}`] = { dtype: i.dtype ?? 'float32', shape: i.shape, values: i.values };
  });
  const out = (await runner.run(m, feeds)).op_out!;
  expect(out.shape).toEqual(outShape);
  return out;
}

function refusal(op: string, ins: In[], outShape: number[], attrs: Record<string, string> = {}, opts: Options = {}): string {
  try {
    openvinoToOnnx(oneLayer(op, ins, outShape, attrs, opts));
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}


/** Index of element `i` of an output of shape `out` in an input of shape `inp`, numpy-broadcast. */
function bcastIndex(i: number, out: number[], inp: number[]): number {
  const coords: number[] = [];
  let rest = i;
  for (let d = out.length - 1; d >= 0; d--) {
    coords.unshift(rest % out[d]!);
    rest = Math.floor(rest / out[d]!);
  }
  let idx = 0;
  const off = out.length - inp.length;
  inp.forEach((n, d) => {
    idx = idx * n + (n === 1 ? 0 : coords[d + off]!);
  });
  return idx;
}

function bcast2(a: In, b: In, out: number[], fn: (x: number, y: number) => number): number[] {
  const n = out.reduce((p, q) => p * q, 1);
  return Array.from({ length: n }, (_, i) => fn(a.values[bcastIndex(i, out, a.shape)]!, b.values[bcastIndex(i, out, b.shape)]!));
}

/** erf by its Taylor series (exact to double precision for |x| <= 3). */
function erf(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 120; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

const X6 = { shape: [2, 3], values: testValues(6, 7, -3, 3).map(f) };

describe('OpenVINO elementwise ops translated to ONNX', () => {
  describe('binary arithmetic', () => {
    const a: In = { shape: [2, 3], values: testValues(6, 11, -4, 4).map(f) };
    const b: In = { shape: [3], values: [1.5, -0.75, 2.25] };
    const cases: [string, (x: number, y: number) => number][] = [
      ['Add', (x, y) => f(x + y)],
      ['Multiply', (x, y) => f(x * y)],
      ['Subtract', (x, y) => f(x - y)],
      ['Divide', (x, y) => f(x / y)],
      ['Maximum', Math.max],
      ['Minimum', Math.min],
      ['SquaredDifference', (x, y) => f(f(x - y) * f(x - y))],
    ];
    it.each(cases)('%s broadcasts numpy-style (default auto_broadcast)', async (op, fn) => {
      const out = await run(op, [a, b], [2, 3]);
      expect(out.values).toEqual(bcast2(a, b, [2, 3], fn));
    });

    it('Power of floats, broadcast from the left', async () => {
      const base: In = { shape: [1, 3], values: [0.5, 2, 3] };
      const exp: In = { shape: [2, 1], values: [2, -1.5] };
      const out = await run('Power', [base, exp], [2, 3], { auto_broadcast: 'numpy' });
      expectClose(out.values, bcast2(base, exp, [2, 3], (x, y) => f(x ** y)));
    });

    it('auto_broadcast none with equal shapes', async () => {
      const c: In = { shape: [2, 3], values: testValues(6, 5) };
      const out = await run('Add', [a, c], [2, 3], { auto_broadcast: 'none' });
      expect(out.values).toEqual(a.values.map((x, i) => f(x + f(c.values[i]!))));
    });

    it('refuses auto_broadcast pdpd', () => {
      expect(refusal('Multiply', [a, b], [2, 3], { auto_broadcast: 'pdpd' })).toBe(
        'cannot translate OpenVINO layer \'op\' (Multiply, opset1) to ONNX: auto_broadcast="pdpd" is not translated (numpy and none are)',
      );
    });
  });

  describe('Divide of integers', () => {
    const a: In = { shape: [8], values: [7, -7, 7, -7, 6, -6, 0, 5], dtype: 'int32' };
    const b: In = { shape: [8], values: [2, 2, -2, -2, 3, -3, 4, -1], dtype: 'int32' };
    it('floors by default (m_pythondiv true)', async () => {
      expect((await run('Divide', [a, b], [8])).values).toEqual(a.values.map((x, i) => Math.floor(x / b.values[i]!)));
      expect((await run('Divide', [a, b], [8], { m_pythondiv: 'true' })).values).toEqual(a.values.map((x, i) => Math.floor(x / b.values[i]!)));
    });
    it('truncates with m_pythondiv false', async () => {
      expect((await run('Divide', [a, b], [8], { m_pythondiv: 'false' })).values).toEqual(a.values.map((x, i) => Math.trunc(x / b.values[i]!)));
    });
    it('floors int64 with a broadcast scalar divisor', async () => {
      const d: In = { shape: [], values: [-3], dtype: 'int64', isConst: true };
      const out = await run('Divide', [{ ...a, dtype: 'int64' }, d], [8]);
      expect(out.values).toEqual(a.values.map((x) => Math.floor(x / -3) + 0));
    });
  });

  describe('Clamp', () => {
    it('clips floats to [min, max]', async () => {
      const out = await run('Clamp', [X6], [2, 3], { min: '-1.25', max: '0.5' });
      expect(out.values).toEqual(X6.values.map((x) => Math.min(Math.max(x, f(-1.25)), 0.5)));
    });
    it('rounds min up and max down for integers', async () => {
      const x: In = { shape: [6], values: [-5, -2, -1, 0, 2, 3], dtype: 'int32' };
      const out = await run('Clamp', [x], [6], { min: '-1.5', max: '2.5' });
      expect(out.values).toEqual([-1, -1, -1, 0, 2, 2]);
    });
    it('leaves out bounds beyond the integer type', async () => {
      const x: In = { shape: [4], values: [0, 100, 200, 255], dtype: 'uint8' };
      const out = await run('Clamp', [x], [4], { min: '-1e30', max: '150' });
      expect(out.values).toEqual([0, 100, 150, 150]);
    });
    it('refuses bounds that exclude the whole integer type', () => {
      const x: In = { shape: [4], values: [0, 1, 2, 3], dtype: 'uint8' };
      expect(refusal('Clamp', [x], [4], { min: '300', max: '400' })).toBe("cannot translate OpenVINO layer 'op' (Clamp, opset1) to ONNX: min=300 max=400 lie outside the range of uint8");
    });
  });

  describe('unary math', () => {
    const x: In = { shape: [2, 3], values: testValues(6, 3, -0.9, 0.9).map(f) };
    const pos: In = { shape: [2, 3], values: testValues(6, 4, 1.1, 4).map(f) };
    const cases: [string, In, (v: number) => number][] = [
      ['Relu', x, (v) => Math.max(0, v)],
      ['Abs', x, Math.abs],
      ['Negative', x, (v) => -v],
      ['Sign', { shape: [4], values: [-2, 0, 0.5, -0.25] }, Math.sign],
      ['Sqrt', pos, Math.sqrt],
      ['Sigmoid', X6, (v) => 1 / (1 + Math.exp(-v))],
      ['Tanh', X6, Math.tanh],
      ['Exp', X6, Math.exp],
      ['Log', pos, Math.log],
      ['Erf', X6, erf],
      ['Sin', X6, Math.sin],
      ['Cos', X6, Math.cos],
      ['Tan', x, Math.tan],
      ['Asin', x, Math.asin],
      ['Acos', x, Math.acos],
      ['Atan', X6, Math.atan],
      ['Sinh', X6, Math.sinh],
      ['Cosh', X6, Math.cosh],
      ['Asinh', X6, Math.asinh],
      ['Acosh', pos, Math.acosh],
      ['Atanh', x, Math.atanh],
      ['SoftPlus', X6, (v) => Math.log1p(Math.exp(v))],
      ['SoftSign', X6, (v) => v / (1 + Math.abs(v))],
      ['Floor', X6, Math.floor],
      ['Ceiling', X6, Math.ceil],
      ['HSwish', { shape: [8], values: [-4, -3, -2.5, -1, 0, 1.5, 3, 4] }, (v) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6],
      ['HSigmoid', { shape: [8], values: [-4, -3, -2.5, -1, 0, 1.5, 3, 4] }, (v) => Math.min(Math.max(v + 3, 0), 6) / 6],
      ['Swish', X6, (v) => v / (1 + Math.exp(-v))],
      ['Mish', X6, (v) => v * Math.tanh(Math.log1p(Math.exp(v)))],
    ];
    it.each(cases)('%s', async (op, input, fn) => {
      const out = await run(op, [input], input.shape, {}, { opset: op === 'SoftPlus' || op === 'Swish' || op === 'Mish' || op === 'HSwish' ? 'opset4' : 'opset1' });
      expectClose(out.values, input.values.map(fn));
    });

    it('Floor and Ceiling copy integers', async () => {
      const i: In = { shape: [3], values: [-2, 0, 5], dtype: 'int32' };
      expect((await run('Floor', [i], [3])).values).toEqual([-2, 0, 5]);
      expect((await run('Ceiling', [i], [3])).values).toEqual([-2, 0, 5]);
    });

    it('refuses integer inputs to ops ONNX defines for floats only', () => {
      const i: In = { shape: [3], values: [1, 2, 3], dtype: 'int32' };
      expect(refusal('Exp', [i], [3])).toBe("cannot translate OpenVINO layer 'op' (Exp, opset1) to ONNX: input 0 is int32: only floating-point inputs are translated for Exp");
    });
  });

  describe('float16', () => {
    const h: In = { shape: [6], values: [-4, -1.5, -0.25, 0.5, 2, 5], dtype: 'float16' };
    it('Clamp, HSwish, Gelu tanh and FakeQuantize make their constants in the input type', async () => {
      expect((await run('Clamp', [h], [6], { min: '-1', max: '1.5' })).values).toEqual([-1, -1, -0.25, 0.5, 1.5, 1.5]);
      expectClose((await run('HSwish', [h], [6], {}, { opset: 'opset4' })).values, h.values.map((v) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6), 2e-3);
      expectClose((await run('Gelu', [h], [6], { approximation_mode: 'tanh' }, { opset: 'opset7' })).values, h.values.map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))), 2e-3);
      const c = (v: number): In => ({ shape: [], values: [v], isConst: true, dtype: 'float16' });
      expect((await run('FakeQuantize', [h, c(-2), c(2), c(-1), c(1)], [6], { levels: '3' })).values).toEqual([-1, -1, 0, 0, 1, 1]);
    });
  });

  describe('Round-5', () => {
    const x: In = { shape: [12], values: [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, f(0.49999997), f(-0.49999997), 2.4, -2.6, 0, 3.5].map(f) };
    it('half_to_even (the default)', async () => {
      const even = (v: number) => {
        const r = Math.round(v);
        return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
      };
      expect((await run('Round', [x], [12], {}, { opset: 'opset5' })).values.map((v) => v + 0)).toEqual(x.values.map(even).map((v) => v + 0));
      expect((await run('Round', [x], [12], { mode: 'half_to_even' }, { opset: 'opset5' })).values.map((v) => v + 0)).toEqual(x.values.map(even).map((v) => v + 0));
    });
    it('half_away_from_zero, exact just below a half', async () => {
      const away = (v: number) => Math.sign(v) * Math.floor(Math.abs(v) + (Math.abs(v) % 1 >= 0.5 ? 1 : 0));
      const out = await run('Round', [x], [12], { mode: 'half_away_from_zero' }, { opset: 'opset5' });
      expect(out.values.map((v) => v + 0)).toEqual(x.values.map(away).map((v) => v + 0));
      expect(out.values.slice(0, 8).map((v) => v + 0)).toEqual([-3, -2, -1, 1, 2, 3, 0, 0]);
    });
    it('copies integers', async () => {
      expect((await run('Round', [{ shape: [2], values: [-3, 4], dtype: 'int64' }], [2], { mode: 'half_away_from_zero' }, { opset: 'opset5' })).values).toEqual([-3, 4]);
    });
    it('refuses an unknown mode', () => {
      expect(refusal('Round', [x], [12], { mode: 'up' }, { opset: 'opset5' })).toBe(
        'cannot translate OpenVINO layer \'op\' (Round, opset5) to ONNX: mode="up" is not translated (half_to_even and half_away_from_zero are)',
      );
    });
  });

  describe('PRelu', () => {
    const prelu = (v: number, s: number) => (v >= 0 ? v : f(v * s));
    it('applies a 1-D slope as long as dimension 1 per channel', async () => {
      const x: In = { shape: [1, 3, 2, 2], values: testValues(12, 9).map(f) };
      const s: In = { shape: [3], values: [0.5, 0.25, 2], isConst: true };
      const out = await run('PRelu', [x, s], [1, 3, 2, 2]);
      expect(out.values).toEqual(x.values.map((v, i) => prelu(v, s.values[Math.floor(i / 4)]!)));
    });
    it('broadcasts any other 1-D slope numpy-style (along the last axis)', async () => {
      const x: In = { shape: [2, 3, 4], values: testValues(24, 10).map(f) };
      const s: In = { shape: [4], values: [0.5, 0.25, 2, -1] };
      const out = await run('PRelu', [x, s], [2, 3, 4]);
      expect(out.values).toEqual(x.values.map((v, i) => prelu(v, s.values[i % 4]!)));
    });
    it('takes a rank-2 data with a per-channel slope, and a one-element slope', async () => {
      const x: In = { shape: [2, 3], values: testValues(6, 12).map(f) };
      const s: In = { shape: [3], values: [0.5, 0.25, 2] };
      expect((await run('PRelu', [x, s], [2, 3])).values).toEqual(x.values.map((v, i) => prelu(v, s.values[i % 3]!)));
      const one: In = { shape: [1], values: [0.125] };
      expect((await run('PRelu', [x, one], [2, 3])).values).toEqual(x.values.map((v) => prelu(v, 0.125)));
    });
    it('takes a slope of rank > 1 numpy-style', async () => {
      const x: In = { shape: [2, 2, 2], values: testValues(8, 13).map(f) };
      const s: In = { shape: [2, 1], values: [0.5, 3] };
      expect((await run('PRelu', [x, s], [2, 2, 2])).values).toEqual(x.values.map((v, i) => prelu(v, s.values[Math.floor(i / 2) % 2]!)));
    });
  });

  describe('activations with attributes or extra inputs', () => {
    it('Swish-4 with a beta input', async () => {
      const beta: In = { shape: [], values: [1.5], isConst: true };
      const out = await run('Swish', [X6, beta], [2, 3], {}, { opset: 'opset4' });
      expectClose(out.values, X6.values.map((v) => v / (1 + Math.exp(-1.5 * v))));
    });
    it('Elu with alpha', async () => {
      const out = await run('Elu', [X6], [2, 3], { alpha: '0.7' });
      expectClose(out.values, X6.values.map((v) => (v > 0 ? v : 0.7 * (Math.exp(v) - 1))));
    });
    it('Selu with alpha and lambda inputs', async () => {
      const alpha: In = { shape: [1], values: [1.6732632], isConst: true };
      const lambda: In = { shape: [1], values: [1.050701], isConst: true };
      const out = await run('Selu', [X6, alpha, lambda], [2, 3]);
      expectClose(out.values, X6.values.map((v) => 1.050701 * (v > 0 ? v : 1.6732632 * (Math.exp(v) - 1))));
    });
    const geluErf = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));
    const geluTanh = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    it('Gelu-2 (erf) and Gelu-7 erf (the default) and tanh', async () => {
      expectClose((await run('Gelu', [X6], [2, 3], {}, { opset: 'opset2' })).values, X6.values.map(geluErf));
      expectClose((await run('Gelu', [X6], [2, 3], {}, { opset: 'opset7' })).values, X6.values.map(geluErf));
      expectClose((await run('Gelu', [X6], [2, 3], { approximation_mode: 'ERF' }, { opset: 'opset7' })).values, X6.values.map(geluErf));
      expectClose((await run('Gelu', [X6], [2, 3], { approximation_mode: 'tanh' }, { opset: 'opset7' })).values, X6.values.map(geluTanh));
      // the two modes differ by more than the tolerance here, so the test tells them apart
      expect(Math.max(...X6.values.map((v) => Math.abs(geluErf(v) - geluTanh(v))))).toBeGreaterThan(1e-4);
    });
    it('refuses an unknown Gelu approximation_mode', () => {
      expect(refusal('Gelu', [X6], [2, 3], { approximation_mode: 'sigmoid' }, { opset: 'opset7' })).toBe(
        'cannot translate OpenVINO layer \'op\' (Gelu, opset7) to ONNX: approximation_mode="sigmoid" is not translated (erf and tanh are)',
      );
    });
  });

  describe('conversions', () => {
    it('Convert f32 to i32 and to boolean', async () => {
      const x: In = { shape: [4], values: [-3, 0, 2, 7] };
      expect((await run('Convert', [x], [4], { destination_type: 'i32' }, { outDType: 'int32' })).values).toEqual([-3, 0, 2, 7]);
      expect((await run('Convert', [x], [4], { destination_type: 'boolean' }, { outDType: 'bool' })).values).toEqual([1, 0, 1, 1]);
    });
    it('ConvertLike takes the element type of input 1', async () => {
      const x: In = { shape: [3], values: [1, 2, 300], dtype: 'int32' };
      const like: In = { shape: [1], values: [0], isConst: true };
      const out = await run('ConvertLike', [x, like], [3], {}, { outDType: 'float32' });
      expect(out).toEqual({ shape: [3], values: [1, 2, 300], dtype: 'float32' });
    });
  });

  describe('comparisons and logic', () => {
    const a: In = { shape: [2, 3], values: [1, 2, 3, -1, 0, 5] };
    const b: In = { shape: [3], values: [1, 0, 4] };
    const cases: [string, (x: number, y: number) => boolean][] = [
      ['Equal', (x, y) => x === y],
      ['NotEqual', (x, y) => x !== y],
      ['Less', (x, y) => x < y],
      ['LessEqual', (x, y) => x <= y],
      ['Greater', (x, y) => x > y],
      ['GreaterEqual', (x, y) => x >= y],
    ];
    it.each(cases)('%s, broadcast', async (op, fn) => {
      const out = await run(op, [a, b], [2, 3], {}, { outDType: 'bool' });
      expect(out.dtype).toBe('bool');
      expect(out.values).toEqual(bcast2(a, b, [2, 3], (x, y) => Number(fn(x, y))));
    });
    const p: In = { shape: [2, 2], values: [0, 0, 1, 1], dtype: 'bool' };
    const q: In = { shape: [2], values: [0, 1], dtype: 'bool' };
    const logic: [string, (x: number, y: number) => number][] = [
      ['LogicalAnd', (x, y) => x & y],
      ['LogicalOr', (x, y) => x | y],
      ['LogicalXor', (x, y) => x ^ y],
    ];
    it.each(logic)('%s, broadcast', async (op, fn) => {
      expect((await run(op, [p, q], [2, 2])).values).toEqual(bcast2(p, q, [2, 2], fn));
    });
    it('LogicalNot', async () => {
      expect((await run('LogicalNot', [p], [2, 2])).values).toEqual([1, 1, 0, 0]);
    });
    it('Select broadcasts condition, then and else', async () => {
      const cond: In = { shape: [2, 1], values: [1, 0], dtype: 'bool' };
      const then: In = { shape: [2, 3], values: [1, 2, 3, 4, 5, 6] };
      const other: In = { shape: [3], values: [-1, -2, -3] };
      const out = await run('Select', [cond, then, other], [2, 3], { auto_broadcast: 'numpy' }, { outDType: 'float32' });
      expect(out.values).toEqual([1, 2, 3, -1, -2, -3]);
    });
  });

  describe('remainders', () => {
    const fa: In = { shape: [8], values: [5.5, -5.5, 5.5, -5.5, 3, -3, 0, 7.25] };
    const fb: In = { shape: [8], values: [2, 2, -2, -2, 1.5, 1.5, 2, -0.5] };
    const ia: In = { shape: [6], values: [7, -7, 7, -7, 6, 0], dtype: 'int32' };
    const ib: In = { shape: [6], values: [3, 3, -3, -3, 4, -5], dtype: 'int32' };
    const floorMod = (x: number, y: number) => {
      const r = x % y;
      return r !== 0 && r < 0 !== y < 0 ? r + y : r;
    };
    it('FloorMod takes the sign of the divisor (floats and integers)', async () => {
      expect((await run('FloorMod', [fa, fb], [8])).values.map((v) => v + 0)).toEqual(fa.values.map((x, i) => floorMod(x, fb.values[i]!) + 0));
      expect((await run('FloorMod', [ia, ib], [6])).values).toEqual([1, 2, -2, -1, 2, 0]);
    });
    it('Mod takes the sign of the dividend (floats and integers)', async () => {
      expect((await run('Mod', [fa, fb], [8])).values.map((v) => v + 0)).toEqual(fa.values.map((x, i) => (x % fb.values[i]!) + 0));
      expect((await run('Mod', [ia, ib], [6])).values.map((v) => v + 0)).toEqual([1, -1, 1, -1, 2, 0]);
    });
  });

  describe('FakeQuantize', () => {
    /** The spec's formula, in float32 step by step as the translation computes it. */
    function fq(x: number, il: number, ih: number, ol: number, oh: number, levels: number): number {
      if (x <= Math.min(il, ih)) return ol;
      if (x > Math.max(il, ih)) return oh;
      const scaled = f(f(f(x - il) / f(ih - il)) * (levels - 1));
      const r = Math.round(scaled);
      const even = Math.abs(scaled % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
      return f(f(f(even / (levels - 1)) * f(oh - ol)) + ol);
    }
    it('quantizes per channel, clips outside the input range', async () => {
      const x: In = { shape: [1, 2, 5], values: testValues(10, 21, -2, 2).map(f) };
      const il: In = { shape: [1, 2, 1], values: [-1, 0], isConst: true };
      const ih: In = { shape: [1, 2, 1], values: [1, 1.5], isConst: true };
      const ol: In = { shape: [], values: [-4], isConst: true };
      const oh: In = { shape: [1, 2, 1], values: [4, 8], isConst: true };
      const out = await run('FakeQuantize', [x, il, ih, ol, oh], [1, 2, 5], { levels: '5', auto_broadcast: 'numpy' });
      const expected = x.values.map((v, i) => {
        const c = Math.floor(i / 5);
        return fq(v, il.values[c]!, ih.values[c]!, -4, oh.values[c]!, 5);
      });
      expect(out.values).toEqual(expected);
    });
    it('rounds a scaled value of exactly half a level to even', async () => {
      // (x - 0) / 4 * 4 = x: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, and x <= 0 -> output_low, x > 4 -> output_high
      const x: In = { shape: [6], values: [0.5, 1.5, 2.5, -1, 0, 5] };
      const c = (v: number): In => ({ shape: [], values: [v], isConst: true });
      const out = await run('FakeQuantize', [x, c(0), c(4), c(0), c(40)], [6], { levels: '5' });
      expect(out.values).toEqual([0, 20, 20, 0, 0, 40]);
    });
    it('refuses levels below 2', () => {
      const c = (v: number): In => ({ shape: [], values: [v], isConst: true });
      expect(refusal('FakeQuantize', [X6, c(0), c(1), c(0), c(1)], [2, 3], { levels: '1' })).toBe(
        "cannot translate OpenVINO layer 'op' (FakeQuantize, opset1) to ONNX: levels=1 is below 2",
      );
    });
  });

  describe('refusals', () => {
    const msg = (op: string, why: string, opset = 'opset1') => `cannot translate OpenVINO layer 'op' (${op}, ${opset}) to ONNX: ${why}`;
    const b: In = { shape: [2], values: [1, 0], dtype: 'bool' };
    const c = (v: number): In => ({ shape: [], values: [v], isConst: true });
    it('an input whose element type is not declared (nor implied by a type-keeping layer upstream)', () => {
      const m = newOvModel('net');
      const g = m.graph;
      const shapeOf = ovOp(g, 'ShapeOf', 'opset3', [ovParam(g, 'x', [2])], [[1]], { output_type: 'i64' }, 'shape');
      shapeOf.outputs[0]!.dtype = undefined;
      const floor = ovOp(g, 'Floor', 'opset1', [shapeOf.output(0)], [[1]], {}, 'op');
      floor.outputs[0]!.dtype = 'float32';
      g.outputs = [floor.output(0)];
      expect(() => openvinoToOnnx(m)).toThrow(msg('Floor', 'the element type of input 0 is not declared'));
    });
    it('Sqrt of integers', () => {
      expect(refusal('Sqrt', [{ shape: [1], values: [4], dtype: 'int64' }], [1])).toBe(msg('Sqrt', 'input 0 is int64: only floating-point inputs are translated for Sqrt'));
    });
    it('Clamp without a bound, or of booleans', () => {
      expect(refusal('Clamp', [X6], [2, 3], { min: '0' })).toBe(msg('Clamp', 'no max attribute'));
      expect(refusal('Clamp', [X6], [2, 3], { max: '0' })).toBe(msg('Clamp', 'no min attribute'));
      expect(refusal('Clamp', [b], [2], { min: '0', max: '1' })).toBe(msg('Clamp', 'input 0 is bool: Clamp is translated for numeric types only'));
    });
    it('Negative of unsigned integers', () => {
      expect(refusal('Negative', [{ shape: [1], values: [4], dtype: 'uint8' }], [1])).toBe(msg('Negative', 'input 0 is uint8: Negative is translated for signed types only (ONNX Neg has no unsigned form)'));
    });
    it('Round, FloorMod and Mod of booleans', () => {
      expect(refusal('Round', [b], [2], {}, { opset: 'opset5' })).toBe(msg('Round', 'input 0 is bool: Round is translated for numeric types only', 'opset5'));
      expect(refusal('FloorMod', [b, b], [2])).toBe(msg('FloorMod', 'input 0 is bool: FloorMod is translated for numeric types only'));
      expect(refusal('Mod', [b, b], [2])).toBe(msg('Mod', 'input 0 is bool: Mod is translated for numeric types only'));
    });
    it('Elu without alpha, FakeQuantize without levels', () => {
      expect(refusal('Elu', [X6], [2, 3])).toBe(msg('Elu', 'no alpha attribute'));
      expect(refusal('FakeQuantize', [X6, c(0), c(1), c(0), c(1)], [2, 3])).toBe(msg('FakeQuantize', 'no levels attribute'));
    });
    it('PRelu without declared shapes, or with a 1-D slope and a dynamic channel dimension', () => {
      const x: In = { shape: [1, 3, 2], values: testValues(6, 2) };
      const s: In = { shape: [3], values: [1, 2, 3], isConst: true };
      expect(refusal('PRelu', [x, s], [1, 3, 2], {}, { mutate: (n) => (n.inputs[0]!.shape = undefined) })).toBe(msg('PRelu', 'PRelu needs the declared shapes of data and slope'));
      expect(refusal('PRelu', [x, s], [1, 3, 2], {}, { mutate: (n) => (n.inputs[0]!.shape = [1, 'C', 2]) })).toBe(
        msg('PRelu', 'a 1-D slope needs static lengths of the slope and of data dimension 1 to choose per-channel or numpy broadcasting'),
      );
    });
  });
});
