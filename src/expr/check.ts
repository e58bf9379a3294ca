import { isDType } from '../ir/dtype';
import type { BinaryExpr, CallExpr, Expr } from './ast';
import { ExprError, closest } from './errors';
import { ParamSpec, arityError, arityOf, listFunctions, lookupFunction, paramFor, unknownFunction } from './functions';
import { Kind, dtypeHint, kindName } from './values';

/** Names to kinds: a Map or a plain object. */
export type KindBindings = ReadonlyMap<string, Kind> | Readonly<Record<string, Kind>>;

/** What names exist where an expression is written, and their kinds. */
export interface ExprScope {
  /** The pattern's captures, without the `$` (`scale` for `$scale`). */
  readonly captures?: KindBindings;
  /** `let` names defined before this expression. */
  readonly lets?: KindBindings;
}

/** The result of checking: the expression's kind, and every problem found (empty when fine). */
export interface CheckResult {
  readonly kind: Kind;
  readonly errors: readonly ExprError[];
}

function get(b: KindBindings | undefined, name: string): Kind | undefined {
  if (!b) return undefined;
  if (b instanceof Map) return b.get(name);
  const rec = b as Readonly<Record<string, Kind>>;
  return Object.prototype.hasOwnProperty.call(rec, name) ? rec[name] : undefined;
}

function keys(b: KindBindings | undefined): string[] {
  if (!b) return [];
  return b instanceof Map ? [...b.keys()] : Object.keys(b);
}

/**
 * Checks an expression before any model is loaded: unbound `$captures`,
 * unknown names and functions, wrong argument counts, and kinds that cannot
 * work (`sqrt("a")`, `$node + 1`). Collects every error, each with the offsets
 * of the part it is about. A kind the scope does not know (`unknown`) passes
 * every check.
 */
export function checkExpr(expr: Expr, scope: ExprScope = {}): CheckResult {
  const errors: ExprError[] = [];
  const kind = new Checker(scope, errors).check(expr);
  return { kind, errors };
}

const NUMERIC: ReadonlySet<Kind> = new Set(['number', 'int', 'bool', 'tensor', 'value', 'list', 'unknown']);
const TENSORISH: ReadonlySet<Kind> = new Set(['tensor', 'value', 'list']);

/** Whether an argument of kind `k` can be passed for `param`. */
export function accepts(param: ParamSpec, k: Kind): boolean {
  const kinds = param.kinds;
  if (kinds === 'any' || k === 'unknown') return true;
  if (k === 'none') return param.optional === true;
  if (kinds.includes(k)) return true;
  // The checker cannot tell 2.0 from 2; integrality is checked when evaluating.
  if ((k === 'int' && kinds.includes('number')) || (k === 'number' && kinds.includes('int'))) return true;
  return (k === 'dtype' && kinds.includes('string')) || (k === 'string' && kinds.includes('dtype'));
}

function kindList(kinds: readonly Kind[] | 'any'): string {
  if (kinds === 'any') return 'anything';
  const words = kinds.filter((k) => k !== 'bool' || kinds.length === 1).map(kindName);
  return words.length <= 2 ? words.join(' or ') : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}

class Checker {
  constructor(private readonly scope: ExprScope, private readonly errors: ExprError[]) {}

  private error(start: number, end: number, reason: string, hint?: string): void {
    this.errors.push(new ExprError(start, end, reason, hint));
  }

  check(e: Expr): Kind {
    switch (e.type) {
      case 'number':
        return e.integer ? 'int' : 'number';
      case 'string':
        return 'string';
      case 'bool':
        return 'bool';
      case 'none':
        return 'none';
      case 'capture': {
        const k = get(this.scope.captures, e.name);
        if (k !== undefined) return k;
        const known = keys(this.scope.captures);
        const guess = closest(e.name, known);
        this.error(e.start, e.end, `unbound capture '$${e.name}'`,
          guess ? `did you mean '$${guess}'?` : known.length ? `the pattern captures ${known.map((n) => '$' + n).join(', ')}` : 'the pattern captures nothing');
        return 'unknown';
      }
      case 'name': {
        const k = get(this.scope.lets, e.name);
        if (k !== undefined) return k;
        if (isDType(e.name)) return 'dtype';
        const guess = closest(e.name, keys(this.scope.lets));
        let hint: string | undefined;
        if (lookupFunction(e.name)) hint = `'${e.name}' is a function: call it as ${e.name}(...)`;
        else if (guess) hint = `did you mean '${guess}'?`;
        else if (get(this.scope.captures, e.name) !== undefined) hint = `captures are written with a '$': $${e.name}`;
        else hint = 'a name must be defined by an earlier let entry; captures are written $name';
        this.error(e.start, e.end, `unknown name '${e.name}'`, hint);
        return 'unknown';
      }
      case 'list':
        e.items.forEach((item) => this.check(item));
        return 'list';
      case 'unary': {
        const k = this.check(e.operand);
        if (e.op === 'not') return 'bool';
        if (!NUMERIC.has(k)) {
          this.error(e.operand.start, e.operand.end, `cannot apply unary '${e.op}' to ${kindName(k)}`);
          return 'unknown';
        }
        return TENSORISH.has(k) ? 'tensor' : k === 'bool' ? 'int' : k;
      }
      case 'binary':
        return this.binary(e);
      case 'conditional': {
        this.check(e.test);
        const a = this.check(e.then);
        const b = this.check(e.otherwise);
        if (a === b) return a;
        if ((a === 'int' || a === 'number') && (b === 'int' || b === 'number')) return 'number';
        return 'unknown';
      }
      case 'index': {
        const object = this.check(e.object);
        const index = this.check(e.index);
        if (!['int', 'number', 'unknown'].includes(index)) {
          this.error(e.index.start, e.index.end, `an index must be an integer, got ${kindName(index)}`);
        }
        switch (object) {
          case 'tensor':
          case 'value':
            return 'tensor';
          case 'string':
          case 'dtype':
            return 'string';
          case 'list':
          case 'unknown':
            return 'unknown';
          default:
            this.error(e.object.start, e.object.end, `cannot index ${kindName(object)}`);
            return 'unknown';
        }
      }
      case 'call':
        return this.call(e);
    }
  }

  private binary(e: BinaryExpr): Kind {
    const a = this.check(e.left);
    const b = this.check(e.right);
    const op = e.op;
    if (op === 'and' || op === 'or') return 'bool';
    if (op === '==' || op === '!=') {
      if (a === 'tensor' || b === 'tensor') return 'tensor';
      if ((a === 'value' && NUMERIC.has(b) && b !== 'value') || (b === 'value' && NUMERIC.has(a) && a !== 'value')) return 'tensor';
      return 'bool';
    }
    const stringy = (k: Kind): boolean => k === 'string' || k === 'dtype';
    if (stringy(a) || stringy(b)) {
      if ((stringy(a) || a === 'unknown') && (stringy(b) || b === 'unknown')) {
        if (op === '+') return 'string';
        if (op === '<' || op === '<=' || op === '>' || op === '>=') return 'bool';
      }
      if (a === 'unknown' || b === 'unknown') {
        // Only '+' and comparisons take strings, whatever the other side turns out to be.
        const side = stringy(a) ? e.left : e.right;
        this.error(side.start, side.end, `cannot apply '${op}' to ${kindName(stringy(a) ? a : b)}`);
        return 'unknown';
      }
      const hint = op === '+' ? "turn the other side into text with str(...)" : undefined;
      this.error(e.start, e.end, `cannot apply '${op}' to ${kindName(a)} and ${kindName(b)}`, hint);
      return 'unknown';
    }
    if (a === 'list' && b === 'list') {
      if (op === '+') return 'list';
      this.error(e.start, e.end, `'${op}' is not defined on two lists`, `lists join with '+'; for elementwise math write tensor([...]) ${op} ...`);
      return 'unknown';
    }
    for (const [k, side] of [[a, e.left], [b, e.right]] as const) {
      if (!NUMERIC.has(k)) {
        const hint = k === 'node' ? 'a node has no value; read its output or an attribute, e.g. attr($n, "axis")' : undefined;
        this.error(side.start, side.end, `cannot apply '${op}' to ${kindName(k)}`, hint);
        return 'unknown';
      }
    }
    const comparison = op === '<' || op === '<=' || op === '>' || op === '>=';
    if (TENSORISH.has(a) || TENSORISH.has(b)) return 'tensor';
    if (a === 'unknown' || b === 'unknown') return 'unknown';
    if (comparison) return 'bool';
    if (op === '/' || op === '**') return 'number';
    return a === 'number' || b === 'number' ? 'number' : 'int';
  }

  private call(e: CallExpr): Kind {
    const argKinds = e.args.map((a) => this.check(a));
    const f = lookupFunction(e.callee);
    if (!f) {
      this.errors.push(unknownFunction(e));
      return 'unknown';
    }
    const { min, max } = arityOf(f);
    if (e.args.length < min || e.args.length > max) {
      this.errors.push(arityError(e, f, min, max));
      return typeof f.result === 'string' ? f.result : 'unknown';
    }
    argKinds.forEach((k, i) => {
      const param = paramFor(f, i);
      const arg = e.args[i];
      if (!param || !arg) return;
      if (!accepts(param, k)) {
        this.error(arg.start, arg.end, `${f.name}() argument ${i + 1} (${param.name}) must be ${kindList(param.kinds)}, not ${kindName(k)}`);
        return;
      }
      // A dtype written as a string literal can be checked now: cast(k, "float61").
      if (param.kinds !== 'any' && param.kinds.includes('dtype') && arg.type === 'string' && !isDType(arg.value)) {
        this.error(arg.start, arg.end, `unknown dtype "${arg.value}"`, dtypeHint(arg.value));
      }
    });
    return typeof f.result === 'string' ? f.result : f.result(argKinds);
  }
}

/** Every function name, for editors and "did you mean" lists. */
export function functionNames(): string[] {
  return listFunctions().map((f) => f.name);
}
