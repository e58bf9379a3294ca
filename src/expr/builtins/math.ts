/**
 * Elementwise math: the operators' specs (shared with the evaluator), the
 * scalar/tensor dispatch, and the math functions of the table.
 */
import { roundHalfEven } from '../../ir/static-shapes';
import { Tensor } from '../../ir/tensor';
import { ExprError, Span } from '../errors';
import type { FunctionSpec } from '../functions';
import { ElementwiseSpec, Operand, elementwise } from '../tensor-math';
import { ExprValue, normalizeInt } from '../values';
import { NUM, numericResult, operandOf, optional, p } from './args';

/** Python/NumPy modulo: the result has the divisor's sign. */
function floorMod(a: number, b: number): number {
  const r = a % b;
  return r !== 0 && r < 0 !== b < 0 ? r + b : r;
}

function floorModBig(a: bigint, b: bigint): bigint {
  if (b === 0n) return 0n;
  const r = a % b;
  return r !== 0n && r < 0n !== b < 0n ? r + b : r;
}

function floorDivBig(a: bigint, b: bigint): bigint {
  if (b === 0n) return 0n;
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** int64 power, wrapping like NumPy's int64 (square and multiply, so huge exponents stay cheap). */
function powBig(a: bigint, b: bigint): bigint {
  if (b < 0n) {
    // NumPy refuses integers to negative powers; truncating 1/a^|b| toward zero is the closest integer answer.
    if (a === 1n) return 1n;
    if (a === -1n) return b % 2n === 0n ? 1n : -1n;
    return 0n;
  }
  let result = 1n;
  let base = BigInt.asIntN(64, a);
  for (let e = b; e > 0n; e >>= 1n) {
    if (e & 1n) result = BigInt.asIntN(64, result * base);
    base = BigInt.asIntN(64, base * base);
  }
  return result;
}

const bool = (x: boolean): number => (x ? 1 : 0);
const bigBool = (x: boolean): bigint => (x ? 1n : 0n);

/** The elementwise specs of the binary operators, shared with the evaluator. */
export const BINARY_OPS: Readonly<Record<string, ElementwiseSpec>> = {
  '+': { name: "'+'", result: 'common', num: (a, b) => a + b, big: (a, b) => a + b },
  '-': { name: "'-'", result: 'common', num: (a, b) => a - b, big: (a, b) => a - b },
  '*': { name: "'*'", result: 'common', num: (a, b) => a * b, big: (a, b) => a * b },
  '/': { name: "'/'", result: 'float', num: (a, b) => a / b },
  '//': { name: "'//'", result: 'common', num: (a, b) => Math.floor(a / b), big: floorDivBig, divides: true },
  '%': { name: "'%'", result: 'common', num: floorMod, big: floorModBig, divides: true },
  '**': { name: "'**'", result: 'common', num: (a, b) => a ** b, big: powBig },
  '==': { name: "'=='", result: 'bool', num: (a, b) => bool(a === b), big: (a, b) => bigBool(a === b) },
  '!=': { name: "'!='", result: 'bool', num: (a, b) => bool(a !== b), big: (a, b) => bigBool(a !== b) },
  '<': { name: "'<'", result: 'bool', num: (a, b) => bool(a < b), big: (a, b) => bigBool(a < b) },
  '<=': { name: "'<='", result: 'bool', num: (a, b) => bool(a <= b), big: (a, b) => bigBool(a <= b) },
  '>': { name: "'>'", result: 'bool', num: (a, b) => bool(a > b), big: (a, b) => bigBool(a > b) },
  '>=': { name: "'>='", result: 'bool', num: (a, b) => bool(a >= b), big: (a, b) => bigBool(a >= b) },
};

/** Unary minus, shared with the evaluator. */
export const NEGATE: ElementwiseSpec = { name: "unary '-'", result: 'common', num: (a) => -a, big: (a) => -a };

/**
 * Applies an elementwise spec to operands that may all be scalars: then the
 * result is a scalar (a JS number, a bigint beyond 2^53, a boolean for
 * comparisons), computed exactly for integers.
 */
export function applyElementwise(spec: ElementwiseSpec, operands: readonly Operand[], at: Span): ExprValue {
  let numbers = true;
  for (const o of operands) {
    if (o instanceof Tensor) return elementwise(spec, operands, at);
    if (typeof o !== 'number') numbers = false;
  }
  if (numbers) {
    // Plain numbers (ranks, axes, epsilons): what the paths below give, without
    // their bigints where the double result is already exact.
    const approx = spec.num(operands[0] as number ?? 0, (operands[1] as number | undefined) ?? 0, (operands[2] as number | undefined) ?? 0);
    if (spec.result === 'bool') return approx !== 0;
    const integral = operands.every((x) => Number.isInteger(x));
    if (!(spec.big && spec.result !== 'float' && integral)) return approx;
    if (!spec.divides && Number.isSafeInteger(approx)) return approx;
  }
  const scalars = operands as readonly (number | bigint | boolean)[];
  const integral = scalars.every((x) => typeof x !== 'number' || Number.isInteger(x));
  const anyBig = scalars.some((x) => typeof x === 'bigint');
  if (spec.big && spec.result !== 'float' && integral) {
    const [a = 0n, b = 0n, c = 0n] = scalars.map((x) => (typeof x === 'bigint' ? x : BigInt(Number(x))));
    if (spec.divides && b === 0n) throw new ExprError(at.start, at.end, `${spec.name}: integer division by zero`);
    const approx = spec.num(Number(scalars[0] ?? 0), Number(scalars[1] ?? 0), Number(scalars[2] ?? 0));
    if (spec.result === 'bool') return anyBig ? spec.big(a, b, c) !== 0n : approx !== 0;
    if (!anyBig && Number.isSafeInteger(approx)) return approx;
    // 2 ** -1 is 0.5, and results far beyond int64 are floats (as they would overflow an int64 tensor).
    if (!Number.isInteger(approx) || Math.abs(approx) > 2 ** 64) return approx;
    // A negative exponent gives a float even when it underflows to an integral 0 (3 ** -2 ** 63); a bigint power would throw.
    if (spec === BINARY_OPS['**'] && b < 0n) return approx;
    // Exact integers beyond 2^53: 2 ** 62 + 1, INT64_MAX - 1, products of large dims.
    return normalizeInt(spec === BINARY_OPS['**'] ? a ** b : spec.big(a, b, c));
  }
  const r = spec.num(Number(scalars[0] ?? 0), Number(scalars[1] ?? 0), Number(scalars[2] ?? 0));
  return spec.result === 'bool' ? r !== 0 : r;
}

/** The elementwise spec of each one-operand math function (sqrt, exp, ...), by name: what the evaluator fuses. */
export const UNARY_MATH_SPECS = new Map<string, ElementwiseSpec>();

function unaryMath(name: string, doc: string, num: (x: number) => number, keepsInts: boolean, big?: (x: bigint) => bigint): FunctionSpec {
  const spec: ElementwiseSpec = { name: `${name}()`, result: keepsInts ? 'common' : 'float', num, big };
  UNARY_MATH_SPECS.set(name, spec);
  return {
    name,
    doc,
    category: 'math',
    params: [p('x', NUM)],
    result: numericResult(keepsInts ? 'int' : 'number'),
    impl: ([x], ctx) => applyElementwise(spec, [operandOf(x ?? null, ctx.span(0), `${name}()`)], ctx.span()),
  };
}

function variadicMath(name: string, doc: string, num: (a: number, b: number) => number, big: (a: bigint, b: bigint) => bigint): FunctionSpec {
  const spec: ElementwiseSpec = { name: `${name}()`, result: 'common', num, big };
  return {
    name,
    doc,
    category: 'math',
    params: [p('a', NUM), p('b', NUM, { rest: true })],
    result: numericResult('int'),
    impl: (args, ctx) => {
      let acc: ExprValue = operandOf(args[0] ?? null, ctx.span(0), `${name}()`) as ExprValue;
      for (let i = 1; i < args.length; i++) {
        const next = operandOf(args[i] ?? null, ctx.span(i), `${name}()`);
        acc = applyElementwise(spec, [acc as Operand, next], ctx.span());
      }
      return acc;
    },
  };
}

const nanMin = (a: number, b: number): number => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b));
const nanMax = (a: number, b: number): number => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b));

/** sqrt, abs, ..., min, max, pow, clip, where. */
export const MATH_FUNCTIONS: readonly FunctionSpec[] = [
  unaryMath('sqrt', 'square root', Math.sqrt, false),
  unaryMath('abs', 'absolute value', Math.abs, true, (x) => (x < 0n ? -x : x)),
  unaryMath('exp', 'e to the power x', Math.exp, false),
  unaryMath('log', 'natural logarithm', Math.log, false),
  unaryMath('sin', 'sine', Math.sin, false),
  unaryMath('cos', 'cosine', Math.cos, false),
  unaryMath('tan', 'tangent', Math.tan, false),
  unaryMath('asin', 'arc sine', Math.asin, false),
  unaryMath('acos', 'arc cosine', Math.acos, false),
  unaryMath('atan', 'arc tangent', Math.atan, false),
  unaryMath('tanh', 'hyperbolic tangent', Math.tanh, false),
  unaryMath('sigmoid', '1 / (1 + exp(-x))', (x) => 1 / (1 + Math.exp(-x)), false),
  unaryMath('reciprocal', '1 / x', (x) => 1 / x, false),
  unaryMath('floor', 'round down (integers stay integers)', Math.floor, true, (x) => x),
  unaryMath('ceil', 'round up', Math.ceil, true, (x) => x),
  unaryMath('round', 'round half to even, as NumPy', roundHalfEven, true, (x) => x),
  unaryMath('sign', '-1, 0 or 1', Math.sign, true, (x) => (x > 0n ? 1n : x < 0n ? -1n : 0n)),
  variadicMath('min', 'elementwise minimum of two or more operands (NumPy minimum)', nanMin, (a, b) => (a < b ? a : b)),
  variadicMath('max', 'elementwise maximum of two or more operands (NumPy maximum)', nanMax, (a, b) => (a > b ? a : b)),
  {
    name: 'pow',
    doc: 'x ** y',
    category: 'math',
    params: [p('x', NUM), p('y', NUM)],
    result: numericResult('number'),
    impl: ([x, y], ctx) => applyElementwise(BINARY_OPS['**']!, [operandOf(x ?? null, ctx.span(0), 'pow()'), operandOf(y ?? null, ctx.span(1), 'pow()')], ctx.span()),
  },
  {
    name: 'clip',
    doc: 'x limited to [lo, hi]; none leaves a side open',
    category: 'math',
    params: [p('x', NUM), p('lo', NUM, { optional: true }), p('hi', NUM, { optional: true })],
    result: (args) => numericResult('number')(args.slice(0, 1)),
    impl: ([x, lo, hi], ctx) => {
      const first = operandOf(x ?? null, ctx.span(0), 'clip()');
      let r: ExprValue = typeof first === 'boolean' ? Number(first) : first;
      if (optional(lo) !== undefined) {
        r = applyElementwise({ name: 'clip()', result: 'common', num: nanMax, typed: [0] }, [r as Operand, operandOf(lo ?? null, ctx.span(1), 'clip()')], ctx.span());
      }
      if (optional(hi) !== undefined) {
        r = applyElementwise({ name: 'clip()', result: 'common', num: nanMin, typed: [0] }, [r as Operand, operandOf(hi ?? null, ctx.span(2), 'clip()')], ctx.span());
      }
      return r;
    },
  },
  {
    name: 'where',
    doc: 'elementwise: a where cond is true, else b (broadcast)',
    category: 'math',
    params: [p('cond', NUM), p('a', NUM), p('b', NUM)],
    result: numericResult('number'),
    impl: ([c, a, b], ctx) => {
      const spec: ElementwiseSpec = { name: 'where()', result: 'common', num: (x, y, z) => (x ? y : z), big: (x, y, z) => (x ? y : z), typed: [1, 2] };
      return applyElementwise(spec, [0, 1, 2].map((i) => operandOf([c, a, b][i] ?? null, ctx.span(i), 'where()')), ctx.span());
    },
  },

];
