/**
 * The one table of functions an expression can call. The checker reads the
 * parameter and result kinds; the evaluator calls `impl`; `listFunctions()`
 * feeds the docs. The functions themselves live in `builtins/`, one file per
 * category; adding a function is adding one entry there.
 */
import type { CallExpr } from './ast';
import { CONVERT_FUNCTIONS } from './builtins/convert';
import { GRAPH_FUNCTIONS } from './builtins/graph';
import { MATH_FUNCTIONS } from './builtins/math';
import { SHAPE_FUNCTIONS } from './builtins/shape';
import { TEST_FUNCTIONS } from './builtins/tests';
import { ExprError, Span, closest } from './errors';
import { EvalContext, ExprValue, Kind } from './values';

export { BINARY_OPS, NEGATE, applyElementwise } from './builtins/math';
export { operandOf } from './builtins/args';

/** One parameter of a function, as the checker sees it. */
export interface ParamSpec {
  readonly name: string;
  /** Kinds accepted (`int` is also a `number`; `dtype` and `string` are interchangeable); `any` accepts all. */
  readonly kinds: readonly Kind[] | 'any';
  /** May be left out (or passed as `none`). */
  readonly optional?: boolean;
  /** Takes this and every further argument (at least one). */
  readonly rest?: boolean;
}

/** What a function implementation gets besides its arguments. */
export interface CallContext {
  /** The call being evaluated. */
  readonly call: CallExpr;
  /** The model context (format, opsets), when the caller gave one. */
  readonly context: EvalContext;
  /** The offsets of argument `arg`, or of the whole call. */
  span(arg?: number): Span;
  /** Throws an ExprError at argument `arg` (or the whole call), prefixed with the function name. */
  fail(message: string, arg?: number, hint?: string): never;
}

/** A function of the expression language. */
export interface FunctionSpec {
  readonly name: string;
  /** One line for the docs. */
  readonly doc: string;
  /** For grouping in the docs. */
  readonly category: 'math' | 'tensor' | 'shape' | 'reduce' | 'test' | 'convert' | 'list' | 'graph';
  readonly params: readonly ParamSpec[];
  /** The result kind, or how it follows from the argument kinds. */
  readonly result: Kind | ((args: readonly Kind[]) => Kind);
  readonly impl: (args: readonly ExprValue[], ctx: CallContext) => ExprValue;
}

const FUNCTIONS: readonly FunctionSpec[] = [...MATH_FUNCTIONS, ...SHAPE_FUNCTIONS, ...CONVERT_FUNCTIONS, ...TEST_FUNCTIONS, ...GRAPH_FUNCTIONS];

const BY_NAME: ReadonlyMap<string, FunctionSpec> = new Map(FUNCTIONS.map((f) => [f.name, f]));

/** The function named `name`, if the language has one. */
export function lookupFunction(name: string): FunctionSpec | undefined {
  return BY_NAME.get(name);
}

/** Every function, sorted by category then name, for docs and `--help`. */
export function listFunctions(): readonly FunctionSpec[] {
  const order = ['math', 'reduce', 'shape', 'tensor', 'convert', 'list', 'test', 'graph'];
  return [...FUNCTIONS].sort((a, b) => order.indexOf(a.category) - order.indexOf(b.category) || a.name.localeCompare(b.name));
}

/** `slice(t, starts, ends, axes?, steps?)`: how a function is called. */
export function signatureOf(f: FunctionSpec): string {
  const params = f.params.map((q) => (q.rest ? `${q.name}...` : q.optional ? `${q.name}?` : q.name));
  return `${f.name}(${params.join(', ')})`;
}

const ARITY = new WeakMap<FunctionSpec, { min: number; max: number }>();

/** Fewest and most arguments a function takes (most is Infinity for variadic ones). */
export function arityOf(f: FunctionSpec): { readonly min: number; readonly max: number } {
  // Asked at every call the evaluator makes: worked out once per function.
  let arity = ARITY.get(f);
  if (!arity) {
    arity = { min: f.params.filter((q) => !q.optional).length, max: f.params.some((q) => q.rest) ? Infinity : f.params.length };
    ARITY.set(f, arity);
  }
  return arity;
}

/** The parameter argument `i` binds to. */
export function paramFor(f: FunctionSpec, i: number): ParamSpec | undefined {
  const last = f.params[f.params.length - 1];
  return f.params[i] ?? (last?.rest ? last : undefined);
}

/** The error for a call of a function the table does not have, with a "did you mean". */
export function unknownFunction(e: CallExpr): ExprError {
  const guess = closest(e.callee, BY_NAME.keys());
  return new ExprError(e.calleeStart, e.calleeEnd, `unknown function '${e.callee}'`, guess ? `did you mean '${guess}'?` : 'see docs/expressions.md for the functions');
}

/** The error for a call with too few or too many arguments; it covers the extra arguments when there are some. */
export function arityError(e: CallExpr, f: FunctionSpec, min: number, max: number): ExprError {
  const expected = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
  const extra = e.args[max];
  const at = e.args.length > max && extra ? { start: extra.start, end: e.args[e.args.length - 1]!.end } : e;
  return new ExprError(at.start, at.end, `${e.callee}() takes ${expected} argument${expected === '1' ? '' : 's'}, got ${e.args.length}`, `call it as ${signatureOf(f)}`);
}
