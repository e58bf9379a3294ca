/**
 * The evaluator against NumPy (the oracle users already trust): the same
 * inputs, the same computation, compared bit for bit where IEEE rounding makes
 * the result unique (+ - * / sqrt, layout ops, integer math) and within a few
 * ulps where NumPy's own kernels are not correctly rounded (exp, tanh, sums).
 */
import { spawnSync } from 'child_process';
import { Tensor } from '../../src/ir';
import { DType } from '../../src/ir/dtype';
import { ExprValue, evaluate, parseExpr } from '../../src/expr';

const PYTHON = '/usr/bin/python3';
const hasNumpy = spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

/** Deterministic inputs: a small LCG, so every run sees the same numbers. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Input {
  dtype: DType;
  shape: number[];
  data: number[];
}

function input(dtype: DType, shape: number[], seed: number, lo: number, hi: number, integer = false): Input {
  const next = random(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Array.from({ length: n }, () => {
    const x = lo + (hi - lo) * next();
    return integer ? Math.floor(x) : x;
  });
  // Round once through the dtype so both sides start from identical elements.
  const t = Tensor.from(dtype, shape, data);
  return { dtype, shape, data: [...t.toFloat64()] };
}

/** One comparison: our expression and NumPy code computing the same from the same inputs. */
interface Case {
  name: string;
  expr: string;
  /** Python: a function body over the arrays (by capture name) and numpy as np, returning an array. */
  numpy: string;
  inputs: Record<string, Input>;
  /** Max distance in units in the last place; 0 means bit-identical. */
  ulps: number;
}

const C = 64;
const bn = (dtype: DType): Record<string, Input> => ({
  scale: input(dtype, [C], 1, 0.1, 2),
  bias: input(dtype, [C], 2, -1, 1),
  mean: input(dtype, [C], 3, -1, 1),
  var: input(dtype, [C], 4, 0, 3),
});

const CASES: Case[] = [
  {
    name: 'BatchNorm folding factor in float32',
    expr: '$scale / sqrt($var + 1e-5)',
    numpy: 'return scale / np.sqrt(var + 1e-5)',
    inputs: bn('float32'),
    ulps: 0,
  },
  {
    name: 'BatchNorm folding bias in float32',
    expr: '$bias - $mean * ($scale / sqrt($var + 0.001))',
    numpy: 'return bias - mean * (scale / np.sqrt(var + 0.001))',
    inputs: bn('float32'),
    ulps: 0,
  },
  {
    name: 'BatchNorm folding in float16',
    expr: '$bias - $mean * ($scale / sqrt($var + 1e-3))',
    numpy: 'return bias - mean * (scale / np.sqrt(var + 1e-3))',
    inputs: bn('float16'),
    ulps: 0,
  },
  {
    name: 'BatchNorm folding in float64',
    expr: '$scale / sqrt($var + 1e-5)',
    numpy: 'return scale / np.sqrt(var + 1e-5)',
    inputs: bn('float64'),
    ulps: 0,
  },
  {
    name: 'broadcast [3,1,4] * [5,1] + [4] - scalar',
    expr: '$a * $b + $c - 0.25',
    numpy: 'return a * b + c - 0.25',
    inputs: { a: input('float32', [3, 1, 4], 5, -2, 2), b: input('float32', [5, 1], 6, -2, 2), c: input('float32', [4], 7, -2, 2) },
    ulps: 0,
  },
  {
    name: 'power, division and modulo with broadcasting',
    expr: '($a ** 2) / ($b + 3) + $a % 0.75',
    numpy: 'return (a ** 2) / (b + 3) + np.mod(a, np.float32(0.75))',
    inputs: { a: input('float32', [2, 6], 8, -4, 4), b: input('float32', [6], 9, 0, 1) },
    ulps: 0,
  },
  ...(
    [
      ['exp', 'np.exp(a)'], ['log', 'np.log(b)'], ['sin', 'np.sin(a)'], ['cos', 'np.cos(a)'], ['tan', 'np.tan(a)'],
      ['tanh', 'np.tanh(a)'], ['atan', 'np.arctan(a)'], ['asin', 'np.arcsin(c)'], ['acos', 'np.arccos(c)'],
      ['sigmoid', '1 / (1 + np.exp(-a))'],
    ] as const
  ).flatMap(([fn, numpy]): Case[] => {
    const arg = numpy.includes('(b)') ? 'b' : numpy.includes('(c)') ? 'c' : 'a';
    // log needs positive inputs, asin/acos inputs within [-1, 1].
    const [lo, hi] = arg === 'b' ? [0.1, 5] : arg === 'c' ? [-1, 1] : [-3, 3];
    const inputs = { [arg]: input('float32', [64], 10 + fn.length, lo, hi) };
    const in64 = numpy.replace(/\b([abc])\b/g, '$1.astype(np.float64)');
    return [
      {
        // Ours computes in float64 and rounds once: the correctly rounded float32 result.
        name: `${fn}() in float32 is NumPy's float64 result rounded to float32`,
        expr: `${fn}($${arg})`,
        numpy: `return (${in64}).astype(np.float32)`,
        inputs,
        ulps: 0,
      },
      {
        // NumPy's own float32 kernels are not all correctly rounded (arcsin is 2 ulps off at places).
        name: `${fn}() in float32 is within 2 ulps of NumPy's float32 kernel`,
        expr: `${fn}($${arg})`,
        numpy: `return ${numpy.replace('1 / (1 + ', 'np.float32(1) / (np.float32(1) + ')}`,
        inputs,
        ulps: 2,
      },
    ];
  }),
  {
    name: 'round (half to even), floor, ceil, sign, abs, clip',
    expr: 'round($a) + floor($a) * 10 + ceil($a) * 100 + sign($a) * 1000 + abs($a) + clip($a, -1, 1.5)',
    numpy: 'return np.round(a) + np.floor(a) * 10 + np.ceil(a) * 100 + np.sign(a) * 1000 + np.abs(a) + np.clip(a, -1, 1.5)',
    inputs: { a: { dtype: 'float32', shape: [8], data: [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.7, -3.2] } },
    ulps: 0,
  },
  {
    name: 'min, max and where',
    expr: 'where($a > $b, min($a, $b), max($a, 0.5))',
    numpy: 'return np.where(a > b, np.minimum(a, b), np.maximum(a, np.float32(0.5)))',
    inputs: { a: input('float32', [4, 5], 12, -1, 1), b: input('float32', [5], 13, -1, 1) },
    ulps: 0,
  },
  {
    // Sums accumulate in float64 and round once: the float64 sum rounded to float32.
    name: 'sum and mean over axes are the float64 results rounded to float32',
    expr: 'sum($a, 1) * 1000 + mean($a, [1])',
    numpy: 'a64 = a.astype(np.float64)\n  return (a64.sum(axis=1).astype(np.float32) * np.float32(1000)) + a64.mean(axis=1).astype(np.float32)',
    inputs: { a: input('float32', [3, 200, 2], 14, -1, 1) },
    ulps: 0,
  },
  {
    name: 'reduce_max / reduce_min with keepdims',
    expr: 'reduce_max($a, 0, true) - reduce_min($a, -1, true)',
    numpy: 'return a.max(axis=0, keepdims=True) - a.min(axis=-1, keepdims=True)',
    inputs: { a: input('float32', [3, 4], 15, -5, 5) },
    ulps: 0,
  },
  {
    name: 'transpose, slice with steps, concat',
    expr: 'concat([transpose($a, [2, 0, 1]), slice(transpose($a, [2, 0, 1]), [0, -1], [9223372036854775807, -100], [1, 2], [2, -1])], 1)',
    numpy: 't = np.transpose(a, (2, 0, 1))\n  return np.concatenate([t, t[:, 0::2, ::-1]], axis=1)',
    inputs: { a: input('float32', [4, 3, 2], 16, -1, 1) },
    ulps: 0,
  },
  {
    name: 'gather along an inner axis with 2-d and negative indices (ONNX Gather, np.take)',
    expr: 'concat([gather($a, $i, 1), gather($a, [[-1, 0, -4], [2, 2, 0]], 1)], 2)',
    numpy: 'return np.concatenate([np.take(a, i, axis=1), np.take(a, [[-1, 0, -4], [2, 2, 0]], axis=1)], axis=2)',
    inputs: { a: input('float32', [3, 4, 2], 23, -1, 1), i: { dtype: 'int64', shape: [2, 3], data: [0, 3, -2, 1, 1, -1] } },
    ulps: 0,
  },
  {
    name: 'grouped conv weight split into groups and re-joined',
    expr: 'concat(split($w, 4, 0), 1)',
    numpy: 'return np.concatenate(np.split(w, 4, axis=0), axis=1)',
    inputs: { w: input('float32', [8, 2, 3, 3], 17, -1, 1) },
    ulps: 0,
  },
  {
    name: 'int64 floor division and modulo with negative operands',
    expr: '$a // $b * 1000 + $a % $b',
    numpy: 'return a // b * 1000 + a % b',
    inputs: { a: input('int64', [20], 18, -1000, 1000, true), b: { dtype: 'int64', shape: [20], data: [3, -3, 7, -7, 5, 2, -2, 9, 11, -13, 3, -3, 7, -7, 5, 2, -2, 9, 11, -13] } },
    ulps: 0,
  },
  {
    name: 'int64 powers wrap like NumPy',
    expr: '$a ** 41 + $a ** 3',
    numpy: 'return a ** 41 + a ** 3',
    inputs: { a: input('int64', [16], 22, -9, 9, true) },
    ulps: 0,
  },
  {
    name: 'int32 arithmetic stays int32',
    expr: '$a * 3 - $a // 4',
    numpy: 'return a * 3 - a // 4',
    inputs: { a: input('int32', [10], 19, -100, 100, true) },
    ulps: 0,
  },
  {
    name: 'cast float32 -> int32 -> float16',
    expr: 'cast(cast($a * 10, "int32"), "float16")',
    numpy: 'return (a * 10).astype(np.int32).astype(np.float16)',
    inputs: { a: input('float32', [12], 20, -50, 50) },
    ulps: 0,
  },
];

/** The raw bytes of each case's result, as NumPy computes them. */
function numpyResults(cases: readonly Case[]): { dtype: string; shape: number[]; hex: string }[] {
  const program = [
    'import json, sys',
    'import numpy as np',
    'cases = json.load(sys.stdin)',
    'out = []',
    'for c in cases:',
    '    arrays = {k: np.array(v["data"], dtype=np.dtype(v["dtype"])).reshape(v["shape"]) for k, v in c["inputs"].items()}',
    '    scope = {"np": np}',
    '    body = "def f(" + ", ".join(arrays) + "):\\n  " + c["numpy"]',
    '    exec(body, scope)',
    '    r = np.asarray(scope["f"](**arrays))',
    '    out.append({"dtype": str(r.dtype), "shape": list(r.shape), "hex": np.ascontiguousarray(r).tobytes().hex()})',
    'print(json.dumps(out))',
  ].join('\n');
  const run = spawnSync(PYTHON, ['-c', program], { input: JSON.stringify(cases), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`numpy failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as { dtype: string; shape: number[]; hex: string }[];
}

/** Distance in ulps between two floats of the same dtype, from their bit patterns. */
function ulpDistance(a: number, b: number, dtype: DType): number {
  if (Number.isNaN(a) && Number.isNaN(b)) return 0;
  if (dtype === 'float32') {
    const bits = new Int32Array(new Float32Array([a, b]).buffer);
    const ord = (x: number): number => (x < 0 ? -0x80000000 - x : x);
    return Math.abs(ord(bits[0]!) - ord(bits[1]!));
  }
  if (dtype === 'float16') {
    const ha = Tensor.from('float16', [1], [a]).data.bytes();
    const hb = Tensor.from('float16', [1], [b]).data.bytes();
    const ord = (x: number): number => (x & 0x8000 ? -(x & 0x7fff) : x);
    return Math.abs(ord(ha[0]! | (ha[1]! << 8)) - ord(hb[0]! | (hb[1]! << 8)));
  }
  return a === b ? 0 : Math.abs(a - b) / (Math.abs(b) * Number.EPSILON);
}

(hasNumpy ? describe : describe.skip)('results agree with NumPy', () => {
  const expected = hasNumpy ? numpyResults(CASES) : [];

  test.each(CASES.map((c, i) => [c.name, i] as const))('%s', (_name, i) => {
    const c = CASES[i]!;
    const want = expected[i]!;
    const captures: Record<string, ExprValue> = {};
    for (const [k, v] of Object.entries(c.inputs)) captures[k] = Tensor.from(v.dtype, v.shape, v.dtype === 'int64' ? v.data.map(BigInt) : v.data);
    const got = evaluate(parseExpr(c.expr), { captures });
    if (!(got instanceof Tensor)) throw new Error('expected a tensor');
    expect(got.dtype).toBe(want.dtype);
    expect(got.shape).toEqual(want.shape);
    const gotHex = Buffer.from(got.data.bytes()).toString('hex');
    if (c.ulps === 0) {
      expect(gotHex).toBe(want.hex);
      return;
    }
    const wantTensor = new Tensor(got.dtype, got.shape, { byteLength: want.hex.length / 2, bytes: () => Buffer.from(want.hex, 'hex') });
    const a = got.toFloat64();
    const b = wantTensor.toFloat64();
    let worst = 0;
    for (let k = 0; k < a.length; k++) worst = Math.max(worst, ulpDistance(a[k]!, b[k]!, got.dtype));
    expect(worst).toBeLessThanOrEqual(c.ulps);
  });
});

if (!hasNumpy) {
  test('NumPy is needed for the oracle comparisons', () => {
    console.warn(`${PYTHON} has no numpy: the NumPy comparisons were skipped (apt-get install python3-numpy)`);
  });
}
