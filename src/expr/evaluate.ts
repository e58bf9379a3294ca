import { isDType } from '../ir/dtype';
import { Node, Value as GraphValue } from '../ir/graph';
import { Tensor } from '../ir/tensor';
import type { BinaryExpr, CallExpr, CaptureRef, Expr, IndexExpr, NameRef } from './ast';
import { ExprError, Span, closest } from './errors';
import { fuseElementwise } from './fused';
import { MAX_LIST_ITEMS, MAX_STRING_LENGTH } from './limits';
import { BINARY_OPS, CallContext, NEGATE, applyElementwise, arityError, arityOf, lookupFunction, operandOf, unknownFunction } from './functions';
import { Operand, slice as sliceTensor } from './tensor-math';
import { EvalContext, ExprValue, describeValue, tensorElements, toTensor } from './values';

/**
 * Names looked up one at a time. A Map is one; so is a view that works a
 * value out when it is asked for (a rule's captures, its lazily computed `let`
 * values), which spares building a Map at every match.
 */
export interface NameTable {
  /** The value of `name`; undefined when the table does not hold it (`none` is null). */
  get(name: string): ExprValue | undefined;
  has(name: string): boolean;
  /** Every name held, for "did you mean" hints. */
  keys(): Iterable<string>;
}

/** Names to values: a Map (or another NameTable) or a plain object. */
export type Bindings = NameTable | Readonly<Record<string, ExprValue>>;

/** Whether bindings are a table rather than a plain object (a plain object holds no functions: ExprValue has none). */
function isTable(b: Bindings): b is NameTable {
  return typeof (b as NameTable).get === 'function';
}

/** What an expression can read while it is evaluated. */
export interface ExprEnv {
  /** The pattern's captures by name, without the `$` (`scale` for `$scale`). */
  readonly captures?: Bindings;
  /** `let` bindings evaluated so far. */
  readonly lets?: Bindings;
  /** The model being rewritten, for `format()`, `opset()`, `target()`. */
  readonly context?: EvalContext;
}

/** What `lookup` returns for a name the bindings do not hold (a bound name may be `none`). */
const UNBOUND: unique symbol = Symbol('unbound');

function lookup(b: Bindings | undefined, name: string): ExprValue | typeof UNBOUND {
  if (!b) return UNBOUND;
  if (isTable(b)) {
    // One `get` answers for the usual case; `has` only tells `none` from absent.
    const v = b.get(name);
    if (v !== undefined) return v;
    return b.has(name) ? null : UNBOUND;
  }
  const rec = b as Readonly<Record<string, ExprValue>>;
  return Object.prototype.hasOwnProperty.call(rec, name) ? (rec[name] ?? null) : UNBOUND;
}

function names(b: Bindings | undefined): string[] {
  if (!b) return [];
  return isTable(b) ? [...b.keys()] : Object.keys(b);
}

/**
 * Evaluates a parsed expression. Throws ExprError whose `start`/`end` point at
 * the sub-expression that failed (a shape mismatch names both shapes).
 */
export function evaluate(expr: Expr, env: ExprEnv = {}): ExprValue {
  return compiled(expr)(env);
}

/**
 * Evaluates a condition (`where:` entries): true or false. A bool, a number, or a
 * one-element tensor decide; a larger tensor is an error (use all() or any()).
 */
export function evaluateCondition(expr: Expr, env: ExprEnv = {}): boolean {
  return truthy(evaluate(expr, env), expr);
}

/**
 * Whether a value counts as true: booleans as themselves, numbers when
 * non-zero, strings and lists when non-empty, `none` as false, a one-element
 * tensor by its element. Anything else throws an ExprError covering `at`.
 */
export function truthy(v: ExprValue, at: Span): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0 && !Number.isNaN(v);
  if (typeof v === 'bigint') return v !== 0n;
  if (v === null) return false;
  if (typeof v === 'string' || Array.isArray(v)) return v.length > 0;
  const t = v instanceof GraphValue ? v.const : v instanceof Tensor ? v : undefined;
  if (t) {
    if (t.size !== 1) {
      throw new ExprError(at.start, at.end, `the truth of ${describeValue(t)} is ambiguous`, 'use all(...) or any(...)');
    }
    const e = tensorElements(t)[0];
    return e !== 0 && e !== 0n && !(typeof e === 'number' && Number.isNaN(e));
  }
  throw new ExprError(at.start, at.end, `${describeValue(v)} is not a condition`, v instanceof GraphValue ? 'it is not a constant; compare something about it, e.g. rank($x) == 4' : undefined);
}

/** An expression turned into a function of its environment. */
type Compiled = (env: ExprEnv) => ExprValue;

/**
 * Each expression is compiled once, when first evaluated, into closures over
 * its syntax tree: a rule evaluates the same few expressions at every match,
 * and the closures skip the walk, the function-table lookups and the arity
 * checks that the tree alone would repeat each time.
 */
const COMPILED = new WeakMap<Expr, Compiled>();

function compiled(e: Expr): Compiled {
  let f = COMPILED.get(e);
  if (!f) {
    f = compile(e);
    COMPILED.set(e, f);
  }
  return f;
}

function compile(e: Expr): Compiled {
  switch (e.type) {
    case 'number':
    case 'string':
    case 'bool': {
      const value = e.value;
      return () => value;
    }
    case 'none':
      return () => null;
    case 'capture':
      return (env) => {
        const r = lookup(env.captures, e.name);
        if (r === UNBOUND) throw unboundCapture(e, env.captures);
        return r;
      };
    case 'name': {
      const dtype = isDType(e.name) ? e.name : undefined;
      return (env) => {
        const r = lookup(env.lets, e.name);
        if (r !== UNBOUND) return r;
        if (dtype !== undefined) return dtype;
        throw unknownName(e, env.lets);
      };
    }
    case 'list': {
      const items = e.items.map(compiled);
      return (env) => items.map((item) => item(env));
    }
    case 'unary': {
      const operand = compiled(e.operand);
      if (e.op === 'not') return (env) => !truthy(operand(env), e.operand);
      const what = `unary '${e.op}'`;
      if (e.op === '+') {
        return (env) => {
          const v = operandNotNone(operand(env), e.operand, what);
          return typeof v === 'boolean' ? Number(v) : v;
        };
      }
      return (env) => applyElementwise(NEGATE, [operandNotNone(operand(env), e.operand, what)], e);
    }
    case 'binary':
      return withFusion(e, compileBinary(e));
    case 'conditional': {
      const test = compiled(e.test);
      const then = compiled(e.then);
      const otherwise = compiled(e.otherwise);
      return (env) => (truthy(test(env), e.test) ? then(env) : otherwise(env));
    }
    case 'index': {
      const object = compiled(e.object);
      const index = compiled(e.index);
      return (env) => {
        const o = object(env);
        return indexInto(e, o, index(env));
      };
    }
    case 'call':
      return withFusion(e, compileCall(e));
  }
}

/**
 * Arithmetic of two or more operations on float tensors (`$scale / sqrt($var
 * + $eps)`) runs as one fused pass (fused.ts) when the operands allow it, and
 * as `plain` otherwise: the same value either way.
 */
function withFusion(e: Expr, plain: Compiled): Compiled {
  const fused = fuseElementwise<ExprEnv>(e, compiled);
  if (!fused) return plain;
  return (env) => fused.run(env) ?? plain(env);
}

function unboundCapture(e: CaptureRef, captures: Bindings | undefined): ExprError {
  const known = names(captures);
  const guess = closest(e.name, known);
  return new ExprError(e.start, e.end, `unbound capture '$${e.name}'`, guess ? `did you mean '$${guess}'?` : known.length ? `captures: ${known.map((n) => '$' + n).join(', ')}` : 'the pattern captures nothing');
}

function unknownName(e: NameRef, lets: Bindings | undefined): ExprError {
  const guess = closest(e.name, names(lets));
  return new ExprError(e.start, e.end, `unknown name '${e.name}'`, guess ? `did you mean '${guess}'?` : lookupFunction(e.name) ? `'${e.name}' is a function: call it as ${e.name}(...)` : undefined);
}

function operandNotNone(v: ExprValue, at: Span, what: string): Operand {
  if (v === null) throw new ExprError(at.start, at.end, `${what}: the value is none (unknown)`);
  return operandOf(v, at, what);
}

function compileBinary(e: BinaryExpr): Compiled {
  const left = compiled(e.left);
  const right = compiled(e.right);
  if (e.op === 'and') return (env) => truthy(left(env), e.left) && truthy(right(env), e.right);
  if (e.op === 'or') return (env) => truthy(left(env), e.left) || truthy(right(env), e.right);
  return (env) => {
    const l = left(env);
    return binary(e, l, right(env));
  };
}

function binary(e: BinaryExpr, left: ExprValue, right: ExprValue): ExprValue {
  const spec = BINARY_OPS[e.op];
  if (!spec) throw new ExprError(e.opStart, e.opEnd, `unknown operator '${e.op}'`);

  if (e.op === '==' || e.op === '!=') {
    // `x == none` asks whether x is absent, whatever x is (an optional input's tensor included).
    if (left === null || right === null) return (left === right) === (e.op === '==');
    if (!isTensorLike(left, right) && !isTensorLike(right, left)) {
      const same = deepEqual(left, right);
      return e.op === '==' ? same : !same;
    }
  }
  if (typeof left === 'string' && typeof right === 'string') {
    switch (e.op) {
      case '+':
        if (left.length + right.length > MAX_STRING_LENGTH) throw new ExprError(e.start, e.end, `'+' would make a string of ${left.length + right.length} characters (limit ${MAX_STRING_LENGTH})`);
        return left + right;
      case '<': return left < right;
      case '<=': return left <= right;
      case '>': return left > right;
      case '>=': return left >= right;
      default: break;
    }
  }
  if (Array.isArray(left) && Array.isArray(right)) {
    if (e.op === '+') {
      if (left.length + right.length > MAX_LIST_ITEMS) throw new ExprError(e.start, e.end, `'+' would make a list of ${left.length + right.length} items (limit ${MAX_LIST_ITEMS})`);
      return [...left, ...right];
    }
    throw new ExprError(e.start, e.end, `'${e.op}' is not defined on two lists`, `lists join with '+'; for elementwise math write tensor([...]) ${e.op} ...`);
  }
  const what = `'${e.op}'`;
  // A list beside a tensor becomes a tensor of that tensor's dtype (as NumPy would take it).
  const a = operandNotNone(listBeside(left, right, e.left), e.left, what);
  const b = operandNotNone(listBeside(right, left, e.right), e.right, what);
  if ((Array.isArray(left) && !(b instanceof Tensor)) || (Array.isArray(right) && !(a instanceof Tensor))) {
    throw new ExprError(e.start, e.end, `'${e.op}' between a list and a scalar is not defined`, `for elementwise math write tensor([...]) ${e.op} x`);
  }
  return applyElementwise(spec, [a, b], e);
}

function indexInto(e: IndexExpr, object: ExprValue, indexValue: ExprValue): ExprValue {
  let i: number;
  if (typeof indexValue === 'number' && Number.isInteger(indexValue)) i = indexValue;
  else if (typeof indexValue === 'bigint') i = Number(indexValue);
  else throw new ExprError(e.index.start, e.index.end, `an index must be an integer, got ${describeValue(indexValue)}`);
  const target = object instanceof GraphValue && object.const ? object.const : object;
  let length: number;
  if (Array.isArray(target) || typeof target === 'string') length = target.length;
  else if (target instanceof Tensor && target.rank > 0) length = target.shape[0] ?? 0;
  else throw new ExprError(e.object.start, e.object.end, `cannot index ${describeValue(object)}`, object instanceof GraphValue ? 'it is not a constant' : undefined);
  const at = i < 0 ? i + length : i;
  if (at < 0 || at >= length) {
    throw new ExprError(e.index.start, e.index.end, `index ${i} is out of range for ${describeValue(object)} (length ${length})`);
  }
  if (Array.isArray(target)) return target[at] ?? null;
  if (typeof target === 'string') return target[at] ?? null;
  const t = target as Tensor;
  const row = sliceTensor(t, [at], [at + 1], [0], null, e);
  return new Tensor(row.dtype, t.shape.slice(1), row.data);
}

/** A call: the function and its arity are settled once; an unknown function or a wrong arity fails each time it is evaluated, before its arguments. */
function compileCall(e: CallExpr): Compiled {
  const f = lookupFunction(e.callee);
  if (!f) {
    return () => {
      throw unknownFunction(e);
    };
  }
  const { min, max } = arityOf(f);
  if (e.args.length < min || e.args.length > max) {
    return () => {
      throw arityError(e, f, min, max);
    };
  }
  const args = e.args.map(compiled);
  // The call site of the last evaluation: a rule evaluates its calls at every
  // match with the same context, and a call site holds nothing else.
  let site: CallSite | undefined;
  return (env) => {
    const values = argumentValues(args, env);
    const context = env.context ?? NO_CONTEXT;
    if (site === undefined || site.context !== context) site = new CallSite(e, context);
    const ctx = site;
    try {
      return f.impl(values, ctx);
    } catch (err) {
      if (err instanceof ExprError) throw err;
      // A RangeError from the tensor layer (bad dtype for encoding, ...) is still this call's fault.
      const message = err instanceof Error ? err.message : String(err);
      throw new ExprError(e.start, e.end, `${e.callee}(): ${message}`);
    }
  };
}

const NO_CONTEXT: EvalContext = {};

/** The arguments of a call, evaluated in order, as an exact-size array literal for the usual few (no closure, no growth). */
function argumentValues(args: readonly Compiled[], env: ExprEnv): ExprValue[] {
  switch (args.length) {
    case 0: return [];
    case 1: return [args[0]!(env)];
    case 2: {
      const a = args[0]!(env);
      return [a, args[1]!(env)];
    }
    case 3: {
      const a = args[0]!(env);
      const b = args[1]!(env);
      return [a, b, args[2]!(env)];
    }
    default: return args.map((a) => a(env));
  }
}

/** What a function implementation gets for one call: the call's offsets, for its errors. */
class CallSite implements CallContext {
  constructor(
    readonly call: CallExpr,
    readonly context: EvalContext,
  ) {}

  span(arg?: number): Span {
    return arg === undefined ? this.call : (this.call.args[arg] ?? this.call);
  }

  fail(message: string, arg?: number, hint?: string): never {
    const at = this.span(arg);
    throw new ExprError(at.start, at.end, `${this.call.callee}(): ${message}`, hint);
  }
}

/** Whether `==` on `v` compares elements (a tensor, or a constant beside a non-graph value). */
function isTensorLike(v: ExprValue, other: ExprValue): boolean {
  if (v instanceof Tensor) return true;
  if (v instanceof GraphValue) return v.const !== undefined && !(other instanceof GraphValue) && !(other instanceof Node);
  return false;
}

function listBeside(v: ExprValue, other: ExprValue, at: Span): ExprValue {
  if (!Array.isArray(v)) return v;
  const t = other instanceof Tensor ? other : other instanceof GraphValue ? other.const : undefined;
  return t ? toTensor(v, t.dtype, at) : v;
}

/** Structural equality of non-tensor values; numbers and bigints compare by value. */
export function deepEqual(a: ExprValue, b: ExprValue): boolean {
  if ((typeof a === 'number' || typeof a === 'bigint' || typeof a === 'boolean') && (typeof b === 'number' || typeof b === 'bigint' || typeof b === 'boolean')) {
    if (typeof a === 'bigint' || typeof b === 'bigint') {
      const x = typeof a === 'boolean' ? Number(a) : a;
      const y = typeof b === 'boolean' ? Number(b) : b;
      if (!Number.isInteger(Number(x)) || !Number.isInteger(Number(y))) return false;
      return BigInt(x) === BigInt(y);
    }
    return Number(a) === Number(b);
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i] ?? null));
  return a === b;
}
