/**
 * Random token soup and random well-formed expressions: whatever a recipe
 * holds, parsing, checking and evaluating either succeed or throw an ExprError
 * whose range lies inside the text. Never a TypeError, never a hang.
 */
import { Tensor } from '../../src/ir';
import { ExprError, checkExpr, evaluate, listFunctions, parseExpr } from '../../src/expr';

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const TOKENS = [
  '1', '0', '-', '+', '*', '/', '//', '%', '**', '(', ')', '[', ']', ',', '==', '<', '>=', '!=', 'and', 'or', 'not',
  'if', 'else', 'true', 'none', 'inf', 'nan', '2.5', '1e-5', '9223372036854775807', '"s"', "'float16'", '$w', '$s',
  '$v', '$n', 'k', 'float32', 'sqrt', 'shape', 'range', 'slice', 'sum', 'concat', 'split', 'x', '$', '@', '"', ' ',
];

const captures = {
  w: Tensor.from('float32', [2, 3], [1, -2, 3, 4, 0, 6]),
  s: 3,
  v: Tensor.from('int64', [3], [1n, 2n, 9223372036854775807n]),
  n: [1, 2, 3],
};
const kinds = { w: 'tensor', s: 'int', v: 'tensor', n: 'list' } as const;

function expectContained(e: unknown, text: string): void {
  if (!(e instanceof ExprError)) throw e;
  expect(e.start).toBeGreaterThanOrEqual(0);
  expect(e.end).toBeGreaterThanOrEqual(e.start);
  expect(e.end).toBeLessThanOrEqual(text.length);
}

function tryAll(text: string): void {
  let expr;
  try {
    expr = parseExpr(text);
  } catch (e) {
    expectContained(e, text);
    return;
  }
  for (const err of checkExpr(expr, { captures: kinds, lets: { k: 'number' } }).errors) expectContained(err, text);
  try {
    evaluate(expr, { captures, lets: { k: 0.5 } });
  } catch (e) {
    expectContained(e, text);
  }
}

test('token soup: only ExprErrors, inside the text', () => {
  const next = random(7);
  for (let i = 0; i < 1500; i++) {
    const n = 1 + Math.floor(next() * 12);
    const text = Array.from({ length: n }, () => TOKENS[Math.floor(next() * TOKENS.length)]!).join(next() < 0.5 ? ' ' : '');
    tryAll(text);
  }
});

test('random well-formed calls of every function: only ExprErrors', () => {
  const next = random(11);
  const atoms = ['$w', '$s', '$v', '$n', 'k', '1', '-1', '0', '2.5', '[0, 1]', '[1, 2, 3]', '"float16"', 'none', 'true', '[$w, $w]', 'shape($w)'];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const fns = listFunctions();
  const gen = (depth: number): string => {
    if (depth <= 0 || next() < 0.3) return pick(atoms);
    if (next() < 0.3) return `${gen(depth - 1)} ${pick(['+', '-', '*', '/', '//', '%', '**', '==', '<', 'and', 'or'])} ${gen(depth - 1)}`;
    const f = pick(fns);
    const count = Math.floor(next() * 4);
    return `${f.name}(${Array.from({ length: count }, () => gen(depth - 1)).join(', ')})`;
  };
  for (let i = 0; i < 1500; i++) tryAll(gen(3));
});

/** Whether a runtime value fits the kind the checker inferred (none stands for "unknown" at runtime). */
function fits(kind: string, v: unknown): boolean {
  if (kind === 'unknown' || v === null) return true;
  switch (kind) {
    case 'int':
      return typeof v === 'bigint' || (typeof v === 'number' && (Number.isInteger(v) || !Number.isFinite(v)));
    case 'number':
      return typeof v === 'number' || typeof v === 'bigint';
    case 'bool':
      return typeof v === 'boolean';
    case 'string':
    case 'dtype':
      return typeof v === 'string';
    case 'list':
      return Array.isArray(v);
    case 'tensor':
      return v instanceof Tensor;
    default:
      return false;
  }
}

test('the checker and the evaluator agree: inferred kinds fit the results, reported errors do fail', () => {
  const next = random(23);
  const atoms = ['$w', '$s', '$v', '$n', 'k', '1', '-1', '0', '2.5', '[0, 1]', '[1, 2, 3]', '"float16"', 'true', '[$w, $w]', 'shape($w)', 'float32'];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const fns = listFunctions().filter((f) => f.category !== 'graph');
  const gen = (depth: number): string => {
    if (depth <= 0 || next() < 0.25) return pick(atoms);
    const r = next();
    if (r < 0.3) return `(${gen(depth - 1)} ${pick(['+', '-', '*', '/', '//', '%', '**', '==', '<', '>=', 'and', 'or'])} ${gen(depth - 1)})`;
    if (r < 0.35) return `(-${gen(depth - 1)})`;
    if (r < 0.4) return `(${gen(depth - 1)} if ${gen(depth - 1)} else ${gen(depth - 1)})`;
    if (r < 0.45) return `${gen(depth - 1)}[0]`;
    const f = pick(fns);
    const count = f.params.filter((q) => !q.optional).length + Math.floor(next() * 2);
    return `${f.name}(${Array.from({ length: count }, () => gen(depth - 1)).join(', ')})`;
  };
  const mismatches: string[] = [];
  const falseAlarms: string[] = [];
  let evaluated = 0;
  for (let i = 0; i < 4000; i++) {
    const text = gen(3);
    const expr = parseExpr(text);
    const { kind, errors } = checkExpr(expr, { captures: kinds, lets: { k: 'number' } });
    let value: unknown;
    try {
      value = evaluate(expr, { captures, lets: { k: 0.5 } });
    } catch (e) {
      expectContained(e, text);
      continue;
    }
    // The checker only reports what must fail: an expression that evaluates was wrongly refused
    // (unless the error sits in a branch that and/or/if skipped: the checker reads every branch).
    if (errors.length > 0) {
      if (!/\b(and|or|if)\b/.test(text)) falseAlarms.push(`${text}: ${errors[0]!.reason}`);
      continue;
    }
    evaluated++;
    if (!fits(kind, value)) mismatches.push(`${text}: checked ${kind}, got ${typeof value === 'object' ? value?.constructor.name : typeof value}`);
  }
  expect(mismatches.slice(0, 10)).toEqual([]);
  expect(falseAlarms.slice(0, 10)).toEqual([]);
  // Enough of them must get through checking and evaluation for this to mean something.
  expect(evaluated).toBeGreaterThan(800);
});
