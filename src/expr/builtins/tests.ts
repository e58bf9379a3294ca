/** Tests that give one bool: all(), any(), is_close(), in_range(), is_scalar(), matches(), ... */
import type micromatch from 'micromatch';
import { isDType, isFloat, isInteger } from '../../ir/dtype';
import { Node, Value as GraphValue } from '../../ir/graph';
import { Tensor } from '../../ir/tensor';
import type { FunctionSpec } from '../functions';
import { elementwise } from '../tensor-math';
import { describeValue, fromElements, tensorElements } from '../values';
import { NUM, elementCount, numbersOf, numberArg, optional, p, shapeOf, truths } from './args';

let globs: typeof micromatch | undefined;

/** The test functions. */
export const TEST_FUNCTIONS: readonly FunctionSpec[] = [
  // Tests (all give one bool)
  {
    name: 'all',
    doc: 'true when every element is true (non-zero)',
    category: 'test',
    params: [p('t', NUM)],
    result: 'bool',
    impl: ([t], ctx) => truths(t ?? null, ctx, 0).every((x) => x),
  },
  {
    name: 'any',
    doc: 'true when some element is true (non-zero)',
    category: 'test',
    params: [p('t', NUM)],
    result: 'bool',
    impl: ([t], ctx) => truths(t ?? null, ctx, 0).some((x) => x),
  },
  {
    name: 'is_close',
    doc: 'true when every |a - b| <= tol (broadcast; tol defaults to 1e-6)',
    category: 'test',
    params: [p('a', NUM), p('b', NUM), p('tol', ['number', 'int'], { optional: true })],
    result: 'bool',
    impl: ([a, b, tol], ctx) => {
      const x = numbersOf(a ?? null, ctx, 0);
      const y = numbersOf(b ?? null, ctx, 1);
      const t = optional(tol) === undefined ? 1e-6 : numberArg(tol ?? null, ctx, 2);
      const diff = elementwise({ name: 'is_close()', result: 'common', num: (u, v) => Math.abs(u - v) }, [fromElements('float64', x.shape, x.data), fromElements('float64', y.shape, y.data)], ctx.span());
      return tensorElements(diff).every((d) => d <= t);
    },
  },
  {
    name: 'in_range',
    doc: 'true when every element is within [lo, hi]',
    category: 'test',
    params: [p('x', NUM), p('lo', ['number', 'int']), p('hi', ['number', 'int'])],
    result: 'bool',
    impl: ([x, lo, hi], ctx) => {
      const { data } = numbersOf(x ?? null, ctx, 0);
      const l = numberArg(lo ?? null, ctx, 1);
      const h = numberArg(hi ?? null, ctx, 2);
      return data.every((e) => e >= l && e <= h);
    },
  },
  {
    name: 'is_scalar',
    doc: 'true for a number, or a tensor / graph value with exactly one element (shape [] or [1], [1, 1], ...)',
    category: 'test',
    params: [p('x', 'any')],
    result: 'bool',
    impl: ([x], ctx) => {
      const v = x ?? null;
      if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return true;
      if (v instanceof Tensor || v instanceof GraphValue) return elementCount(shapeOf(v, ctx, 0)) === 1;
      return false;
    },
  },
  {
    name: 'is_integer',
    doc: 'true when every element has an integral value (any integer dtype does)',
    category: 'test',
    params: [p('x', 'any')],
    result: 'bool',
    impl: ([x]) => {
      let v = x ?? null;
      if (typeof v === 'bigint') return true;
      if (typeof v === 'number') return Number.isInteger(v);
      if (v instanceof GraphValue) {
        if (!v.const) return false;
        v = v.const;
      }
      if (v instanceof Tensor) {
        if (isInteger(v.dtype)) return true;
        if (!isFloat(v.dtype)) return false;
        return tensorElements(v).every((e) => Number.isInteger(e));
      }
      return false;
    },
  },
  {
    name: 'is_const',
    doc: 'true for a constant: a graph value with constant data, a tensor, a number',
    category: 'test',
    params: [p('x', 'any')],
    result: 'bool',
    impl: ([x]) => {
      const v = x ?? null;
      if (v instanceof GraphValue) return v.isConstant;
      return !(v instanceof Node) && v !== null;
    },
  },
  {
    name: 'is_dtype',
    doc: 'true when the value is a dtype name',
    category: 'test',
    params: [p('name', 'any')],
    result: 'bool',
    impl: ([x]) => typeof x === 'string' && isDType(x),
  },
  {
    name: 'matches',
    doc: 'true when the text (or the name of a node / graph value) matches a glob (micromatch)',
    category: 'test',
    params: [p('text', ['string', 'node', 'value']), p('glob', ['string'])],
    result: 'bool',
    impl: ([x, glob], ctx) => {
      const v = x ?? null;
      const text = v instanceof GraphValue || v instanceof Node ? v.name : v;
      if (typeof text !== 'string') return ctx.fail(`expected a string, got ${describeValue(v)}`, 0);
      if (typeof glob !== 'string') return ctx.fail(`expected a glob string, got ${describeValue(glob ?? null)}`, 1);
      // Loaded on first use: most recipes never call matches(), and loading it slows every CLI start.
      globs ??= require('micromatch') as typeof micromatch;
      return globs.isMatch(text, glob);
    },
  },

];
