/**
 * Fused elementwise arithmetic (src/expr/fused.ts) against the same
 * expression evaluated one operation at a time: the same dtype, shape and
 * bytes on random inputs, and the same result or error where the fused pass
 * must step aside (other dtypes, broadcasting, integers, numbers alone,
 * non-constant values).
 */
import { Graph, Tensor } from '../../src/ir';
import { BytesData } from '../../src/ir/tensor';
import type { DType } from '../../src/ir/dtype';
import { ExprError, evaluate, parseExpr, type ExprValue } from '../../src/expr';
import { fuseElementwise } from '../../src/expr/fused';
import { BINARY_OPS, applyElementwise } from '../../src/expr/functions';

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Tensor bytes at an odd offset of a larger buffer, as a model file's initializers often are. */
function unaligned(t: Tensor): Tensor {
  const bytes = t.data.bytes();
  const file = new Uint8Array(bytes.byteLength + 3);
  file.set(bytes, 3);
  return new Tensor(t.dtype, [...t.shape], new BytesData(file.subarray(3)));
}

function tensor(next: () => number, dtype: DType, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const special = [0, -0, 1, -1, NaN, Infinity, -Infinity, 1e-5, 3.4e38, 1e-45];
  const data = Array.from({ length: n }, () => (next() < 0.1 ? special[Math.floor(next() * special.length)]! : (next() - 0.5) * 20));
  const t = dtype === 'int64' ? Tensor.from(dtype, shape, data.map((x) => BigInt(Number.isFinite(x) ? Math.trunc(x) : 0))) : Tensor.from(dtype, shape, dtype.startsWith('float') ? data : data.map((x) => (Number.isFinite(x) ? Math.trunc(x) : 0)));
  return next() < 0.5 ? unaligned(t) : t;
}

/** The value, one operation at a time: every operation's operands are evaluated first and bound as captures. */
function stepwise(expr: string, captures: Map<string, ExprValue>): ExprValue {
  const e = parseExpr(expr);
  let counter = 0;
  const env = new Map(captures);
  // Rewrites the tree bottom-up into `$tN` captures, so that each evaluate() runs one operation.
  const reduce = (x: ReturnType<typeof parseExpr>): string => {
    if (x.type === 'binary') {
      const l = reduce(x.left);
      const r = reduce(x.right);
      const name = `t${counter++}`;
      env.set(name, evaluate(parseExpr(`${l} ${x.op} ${r}`), { captures: env }));
      return `$${name}`;
    }
    if (x.type === 'call') {
      const args = x.args.map(reduce);
      const name = `t${counter++}`;
      env.set(name, evaluate(parseExpr(`${x.callee}(${args.join(', ')})`), { captures: env }));
      return `$${name}`;
    }
    const name = `t${counter++}`;
    env.set(name, evaluate(x, { captures: env }));
    return `$${name}`;
  };
  return env.get(reduce(e).slice(1)) ?? null;
}

function same(a: ExprValue, b: ExprValue): void {
  expect(a).toBeInstanceOf(Tensor);
  expect(b).toBeInstanceOf(Tensor);
  const x = a as Tensor;
  const y = b as Tensor;
  expect(x.dtype).toBe(y.dtype);
  expect(x.shape).toEqual(y.shape);
  expect([...x.data.bytes()]).toEqual([...y.data.bytes()]);
}

const EXPRESSIONS = [
  '$scale / sqrt($var + $eps)',
  '$bias - $mean * ($scale / sqrt($var + $eps))',
  '($a + $b) * ($a - $b) / 3',
  'exp(-1 * $a) + tanh($b)',
  '2 * $a * $a - $b',
  // A fused chain inside a call that is not fused.
  'unsqueeze($scale / sqrt($var + $eps), [0])',
];

describe('fused elementwise arithmetic', () => {
  it('fuses chains of two or more operations, and only those', () => {
    const leaves = (x: string): number | undefined => fuseElementwise(parseExpr(x), () => () => null)?.leaves;
    expect(leaves('$scale / sqrt($var + $eps)')).toBe(3);
    expect(leaves('$a + $b')).toBeUndefined();
    expect(leaves('sqrt($a)')).toBeUndefined();
    // Comparisons and integer division keep their own paths.
    expect(leaves('$a + $b == $c')).toBeUndefined();
    expect(leaves('($a + $b) // $c')).toBeUndefined();
    expect(leaves('unsqueeze($a + $b * $c, 0)')).toBeUndefined();
  });

  for (const dtype of ['float32', 'float64'] as const) {
    it(`gives the bytes of step-by-step evaluation on random ${dtype} tensors`, () => {
      const next = random(dtype === 'float32' ? 7 : 11);
      for (let round = 0; round < 60; round++) {
        // Scalars, per-channel vectors, tensors beyond the small-tensor reads (70), and beyond the kept working vectors (5000).
        const shape = round === 0 ? [5000] : round % 4 === 0 ? [] : round % 4 === 1 ? [4] : round % 4 === 2 ? [3, 5] : [70];
        const captures = new Map<string, ExprValue>();
        for (const name of ['scale', 'bias', 'mean', 'var', 'a', 'b']) captures.set(name, tensor(next, dtype, shape));
        captures.set('eps', round % 5 === 0 ? 1e-5 : (next() - 0.5) * 4);
        for (const expr of EXPRESSIONS) {
          same(evaluate(parseExpr(expr), { captures }), stepwise(expr, captures));
        }
      }
    });
  }

  it('takes a constant graph value as its tensor', () => {
    const g = new Graph('g');
    const next = random(3);
    const v = g.addConstant('v', tensor(next, 'float32', [4]));
    const captures = new Map<string, ExprValue>([['v', v], ['w', tensor(next, 'float32', [4])], ['eps', 1e-3]]);
    same(evaluate(parseExpr('$w / sqrt($v + $eps)'), { captures }), stepwise('$w / sqrt($v + $eps)', captures));
  });

  it('steps aside for mixed dtypes, broadcasting, integers and numbers alone, with the same results', () => {
    const next = random(5);
    const cases: [string, [string, ExprValue][]][] = [
      ['$a * $b + $c', [['a', tensor(next, 'float32', [4])], ['b', tensor(next, 'float64', [4])], ['c', tensor(next, 'float32', [4])]]],
      ['$a * $b + $c', [['a', tensor(next, 'float32', [2, 4])], ['b', tensor(next, 'float32', [4])], ['c', tensor(next, 'float32', [1])]]],
      ['$a * $b + $c', [['a', tensor(next, 'int32', [4])], ['b', tensor(next, 'int32', [4])], ['c', 3]]],
      ['$a * $b + $c', [['a', tensor(next, 'int64', [4])], ['b', tensor(next, 'int64', [4])], ['c', 3]]],
      ['$a * (2 + $c) / 7', [['a', tensor(next, 'float32', [4])], ['c', 0.1]]],
      ['$a * $b - $c', [['a', tensor(next, 'float32', [4])], ['b', [1, 2, 3, 4]], ['c', 1]]],
      ['sqrt($a) * $b', [['a', tensor(next, 'float16', [4])], ['b', tensor(next, 'float16', [4])]]],
    ];
    for (const [expr, bound] of cases) {
      const captures = new Map(bound);
      same(evaluate(parseExpr(expr), { captures }), stepwise(expr, captures));
    }
  });

  it('leaves errors to the usual evaluation: the same error at the same place', () => {
    const g = new Graph('g');
    const x = g.addValue('x');
    const t = Tensor.from('float32', [4], [1, 2, 3, 4]);
    const errorOf = (expr: string, captures: Map<string, ExprValue>): ExprError => {
      try {
        evaluate(parseExpr(expr), { captures });
      } catch (e) {
        if (e instanceof ExprError) return e;
        throw e;
      }
      throw new Error(`${expr} did not fail`);
    };
    // A value that is not constant, none, a shape mismatch, an unbound capture.
    const a = errorOf('$t * $x + 1', new Map<string, ExprValue>([['t', t], ['x', x]]));
    expect(a.reason).toMatch(/graph value 'x' is not a constant/);
    expect([a.start, a.end]).toEqual([5, 7]);
    const b = errorOf('$t * $n + 1', new Map<string, ExprValue>([['t', t], ['n', null]]));
    expect(b.reason).toMatch(/none/);
    const c = errorOf('$t * $u + 1', new Map<string, ExprValue>([['t', t], ['u', Tensor.from('float32', [3], [1, 2, 3])]]));
    expect(c.reason).toMatch(/\[4\].*\[3\]|\[3\].*\[4\]/);
    const d = errorOf('$t * $missing + 1', new Map<string, ExprValue>([['t', t]]));
    expect(d.reason).toMatch(/unbound capture '\$missing'/);
  });
});

describe('arithmetic on plain numbers', () => {
  // The exact path for integers is the one bigint operands take: plain
  // integers must give the same answers (a bigint result in the safe range
  // comes back as a number), and the same errors.
  const outcome = (f: () => ExprValue): ExprValue | string => {
    try {
      const v = f();
      return typeof v === 'bigint' && v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v;
    } catch (e) {
      return `error: ${(e as Error).message}`;
    }
  };
  it('gives for small integers what bigint operands give, for every operator', () => {
    const values = [-7, -2, -1, 0, 1, 2, 3, 5, 64, 2 ** 31, 2 ** 52];
    const at = { start: 0, end: 1 };
    for (const [op, spec] of Object.entries(BINARY_OPS)) {
      for (const a of values) {
        for (const b of values) {
          // A bigint to a negative power is a RangeError of JS itself: no oracle there.
          if (op === '**' && b < 0) continue;
          const plain = outcome(() => applyElementwise(spec, [a, b], at));
          const exact = outcome(() => applyElementwise(spec, [BigInt(a), BigInt(b)], at));
          // NaN is NaN; -0 (a double product) is 0 (an integer one).
          if (!Object.is(plain, exact) && plain !== exact) throw new Error(`${a} ${op} ${b}: ${String(plain)} vs ${String(exact)}`);
        }
      }
    }
  });
  it('gives the double result for numbers that are not integers', () => {
    const at = { start: 0, end: 1 };
    expect(applyElementwise(BINARY_OPS['+']!, [0.5, 2], at)).toBe(2.5);
    expect(applyElementwise(BINARY_OPS['//']!, [7.5, 2], at)).toBe(3);
    expect(applyElementwise(BINARY_OPS['<']!, [0.5, NaN], at)).toBe(false);
    expect(applyElementwise(BINARY_OPS['**']!, [2, -1], at)).toBe(0.5);
    expect(() => applyElementwise(BINARY_OPS['//']!, [7, 0], at)).toThrow(/integer division by zero/);
  });
});
