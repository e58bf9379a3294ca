/**
 * The syntax tree of an expression. Every node keeps `start`/`end`: character
 * offsets (end exclusive) into the text it was parsed from.
 */

export type BinaryOp =
  | '+' | '-' | '*' | '/' | '//' | '%' | '**'
  | '==' | '!=' | '<' | '<=' | '>' | '>='
  | 'and' | 'or';

export type UnaryOp = '-' | '+' | 'not';

interface Base {
  readonly start: number;
  readonly end: number;
}

/** `3`, `1.5`, `1e-5`, `inf`, `nan`. `integer` is true for literals written without `.`/exponent. */
export interface NumberLit extends Base {
  readonly type: 'number';
  /** A bigint only for integer literals beyond 2^53. */
  readonly value: number | bigint;
  readonly integer: boolean;
}
export interface StringLit extends Base {
  readonly type: 'string';
  readonly value: string;
}
export interface BoolLit extends Base {
  readonly type: 'bool';
  readonly value: boolean;
}
/** `none`: an absent value (an unknown dimension, a missing optional). */
export interface NoneLit extends Base {
  readonly type: 'none';
}
/** `$name`: a capture of the rule's pattern. `name` excludes the `$`. */
export interface CaptureRef extends Base {
  readonly type: 'capture';
  readonly name: string;
}
/** A bare `name`: a `let` binding (or a dtype name such as `float16`). */
export interface NameRef extends Base {
  readonly type: 'name';
  readonly name: string;
}
/** `[a, b, c]` */
export interface ListExpr extends Base {
  readonly type: 'list';
  readonly items: readonly Expr[];
}
/** `name(args...)`: only named functions can be called. */
export interface CallExpr extends Base {
  readonly type: 'call';
  readonly callee: string;
  /** Offsets of the function name alone. */
  readonly calleeStart: number;
  readonly calleeEnd: number;
  readonly args: readonly Expr[];
}
export interface UnaryExpr extends Base {
  readonly type: 'unary';
  readonly op: UnaryOp;
  readonly operand: Expr;
}
export interface BinaryExpr extends Base {
  readonly type: 'binary';
  readonly op: BinaryOp;
  readonly left: Expr;
  readonly right: Expr;
  /** Offsets of the operator token. */
  readonly opStart: number;
  readonly opEnd: number;
}
/** `then if test else otherwise` */
export interface ConditionalExpr extends Base {
  readonly type: 'conditional';
  readonly test: Expr;
  readonly then: Expr;
  readonly otherwise: Expr;
}
/** `object[index]`; a negative index counts from the end. */
export interface IndexExpr extends Base {
  readonly type: 'index';
  readonly object: Expr;
  readonly index: Expr;
}

/** Any expression node. */
export type Expr =
  | NumberLit
  | StringLit
  | BoolLit
  | NoneLit
  | CaptureRef
  | NameRef
  | ListExpr
  | CallExpr
  | UnaryExpr
  | BinaryExpr
  | ConditionalExpr
  | IndexExpr;

/** Calls `visit` on `expr` and every node below it, parents first. */
export function walk(expr: Expr, visit: (node: Expr) => void): void {
  visit(expr);
  switch (expr.type) {
    case 'list':
      expr.items.forEach((e) => walk(e, visit));
      break;
    case 'call':
      expr.args.forEach((e) => walk(e, visit));
      break;
    case 'unary':
      walk(expr.operand, visit);
      break;
    case 'binary':
      walk(expr.left, visit);
      walk(expr.right, visit);
      break;
    case 'conditional':
      walk(expr.then, visit);
      walk(expr.test, visit);
      walk(expr.otherwise, visit);
      break;
    case 'index':
      walk(expr.object, visit);
      walk(expr.index, visit);
      break;
    default:
      break;
  }
}

/** The `$captures` and `let` names an expression reads, in order of first use. */
export function freeNames(expr: Expr): { captures: string[]; names: string[] } {
  const captures: string[] = [];
  const names: string[] = [];
  walk(expr, (node) => {
    if (node.type === 'capture' && !captures.includes(node.name)) captures.push(node.name);
    if (node.type === 'name' && !names.includes(node.name)) names.push(node.name);
  });
  return { captures, names };
}
