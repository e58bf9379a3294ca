import type { BinaryOp, Expr } from './ast';
import { ExprError } from './errors';
import { Token, tokenize } from './lexer';

/**
 * Binding powers, loosest first. `not` binds looser than comparisons
 * (`not a == b` is `not (a == b)`), unary minus looser than `**`
 * (`-2 ** 2` is `-(2 ** 2)`), as in Python.
 */
const BP_OR = 1;
const BP_AND = 2;
const BP_NOT = 3;
const BP_COMPARE = 4;
const BP_ADD = 5;
const BP_MUL = 6;
const BP_UNARY = 7;
const BP_POWER = 8;
const BP_POSTFIX = 9;

const INFIX: Readonly<Record<string, number>> = {
  or: BP_OR,
  and: BP_AND,
  '==': BP_COMPARE, '!=': BP_COMPARE, '<': BP_COMPARE, '<=': BP_COMPARE, '>': BP_COMPARE, '>=': BP_COMPARE,
  '+': BP_ADD, '-': BP_ADD,
  '*': BP_MUL, '/': BP_MUL, '//': BP_MUL, '%': BP_MUL,
  '**': BP_POWER,
};

const COMPARISONS = new Set(['==', '!=', '<', '<=', '>', '>=']);

/** The deepest expression tree the parser builds. */
const MAX_DEPTH = 256;

/** Words with a meaning of their own; they cannot name a `let` binding. */
export const KEYWORDS: ReadonlySet<string> = new Set(['and', 'or', 'not', 'if', 'else', 'true', 'false', 'none', 'inf', 'nan']);

/**
 * Parses one expression. Throws ExprError (with the offending offsets) on the
 * first syntax error.
 */
export function parseExpr(text: string): Expr {
  return new Parser(text).parseAll();
}

class Parser {
  private readonly tokens: Token[];
  private pos = 0;
  /** How deep the tree under construction is (recursion plus operator chains). */
  private depth = 0;

  constructor(private readonly text: string) {
    this.tokens = tokenize(text);
  }

  parseAll(): Expr {
    if (this.peek().kind === 'eof') {
      throw new ExprError(0, this.text.length, 'empty expression');
    }
    const expr = this.parseConditional();
    const next = this.peek();
    if (next.kind !== 'eof') {
      const hint = startsExpression(next) ? 'an operator or a comma is missing before it' : undefined;
      throw new ExprError(next.start, next.end, `unexpected ${describe(next)} after the end of the expression`, hint);
    }
    return expr;
  }

  private peek(): Token {
    return this.tokens[this.pos] ?? this.tokens[this.tokens.length - 1]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  private isOp(value: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.value === value;
  }

  private isWord(value: string): boolean {
    const t = this.peek();
    return t.kind === 'ident' && t.value === value;
  }

  /** `then if test else otherwise`, the loosest form; right-associative. */
  private parseConditional(): Expr {
    const then = this.parseBinary(0);
    if (!this.isWord('if')) return then;
    const ifToken = this.next();
    const test = this.parseBinary(0);
    if (!this.isWord('else')) {
      const t = this.peek();
      throw new ExprError(t.start, t.end, `expected 'else' of the 'if' at offset ${ifToken.start}, got ${describe(t)}`, "the conditional is written 'a if cond else b'");
    }
    this.next();
    const entered = this.depth;
    this.enter();
    const otherwise = this.parseConditional();
    this.depth = entered;
    return { type: 'conditional', test, then, otherwise, start: then.start, end: otherwise.end };
  }

  private parseBinary(minBp: number): Expr {
    const entered = this.depth;
    this.enter();
    try {
      return this.parseBinaryAt(minBp);
    } finally {
      this.depth = entered;
    }
  }

  /**
   * A hostile or generated recipe could nest thousands of levels; evaluating
   * that would overflow the stack, so the parser refuses it with a position.
   */
  private enter(): void {
    if (++this.depth > MAX_DEPTH) {
      const t = this.peek();
      throw new ExprError(t.start, t.end, `the expression is nested too deeply (more than ${MAX_DEPTH} levels)`, 'split it into let entries');
    }
  }

  private parseBinaryAt(minBp: number): Expr {
    let left = this.parsePrefix();
    for (;;) {
      const t = this.peek();
      if (t.kind === 'op' && t.value === '[') {
        // Indexing binds tighter than anything, so it is always taken here.
        this.enter();
        left = this.parseIndex(left);
        continue;
      }
      const op = t.kind === 'op' || t.kind === 'ident' ? t.value : '';
      const bp = INFIX[op];
      if (bp === undefined || bp <= minBp) return left;
      this.next();
      // Each operator in a chain (1 + 1 + 1 ...) makes the tree one level deeper.
      this.enter();
      // `**` is right-associative and its right side may be negated: 2 ** -1.
      const right = op === '**' ? this.parseBinary(BP_UNARY - 1) : this.parseBinary(bp);
      left = {
        type: 'binary', op: op as BinaryOp, left, right,
        opStart: t.start, opEnd: t.end, start: left.start, end: right.end,
      };
      if (COMPARISONS.has(op)) {
        const after = this.peek();
        if (after.kind === 'op' && COMPARISONS.has(after.value)) {
          throw new ExprError(after.start, after.end, 'comparisons cannot be chained',
            "write 'a < b and b < c', or in_range(x, lo, hi)");
        }
      }
    }
  }

  private parseIndex(object: Expr): Expr {
    const open = this.next();
    if (this.isOp(']')) {
      const t = this.peek();
      throw new ExprError(open.start, t.end, 'empty index', 'write x[0], or x[-1] for the last item');
    }
    const index = this.parseConditional();
    const close = this.expectClose(']', open);
    return { type: 'index', object, index, start: object.start, end: close.end };
  }

  private parsePrefix(): Expr {
    const t = this.next();
    switch (t.kind) {
      case 'number':
        return { type: 'number', value: t.value, integer: t.integer, start: t.start, end: t.end };
      case 'string':
        return { type: 'string', value: t.value, start: t.start, end: t.end };
      case 'capture':
        if (t.value === '_') {
          throw new ExprError(t.start, t.end, "'$_' matches anything and binds nothing; it cannot be read in an expression", 'give the capture a name in the pattern, e.g. $w');
        }
        return { type: 'capture', name: t.value, start: t.start, end: t.end };
      case 'ident':
        return this.parseWord(t);
      case 'op':
        if (t.value === '-' || t.value === '+') {
          const operand = this.parseBinary(BP_UNARY);
          return { type: 'unary', op: t.value, operand, start: t.start, end: operand.end };
        }
        if (t.value === '(') {
          const inner = this.parseConditional();
          this.expectClose(')', t);
          // The parentheses are part of the node's range: errors then underline them too.
          return { ...inner, start: t.start, end: this.tokens[this.pos - 1]!.end };
        }
        if (t.value === '[') return this.parseList(t);
        throw new ExprError(t.start, t.end, `expected an expression, got ${describe(t)}`);
      case 'eof':
        throw new ExprError(t.start, t.end, 'unexpected end of the expression', 'an operand is missing');
    }
  }

  private parseWord(t: Token & { kind: 'ident' }): Expr {
    switch (t.value) {
      case 'true':
      case 'false':
        return { type: 'bool', value: t.value === 'true', start: t.start, end: t.end };
      case 'none':
        return { type: 'none', start: t.start, end: t.end };
      case 'inf':
        return { type: 'number', value: Infinity, integer: false, start: t.start, end: t.end };
      case 'nan':
        return { type: 'number', value: NaN, integer: false, start: t.start, end: t.end };
      case 'not': {
        const operand = this.parseBinary(BP_NOT);
        return { type: 'unary', op: 'not', operand, start: t.start, end: operand.end };
      }
      case 'True':
      case 'False':
      case 'None':
        throw new ExprError(t.start, t.end, `unknown word '${t.value}'`, `write '${t.value.toLowerCase()}' in lower case`);
      default:
        break;
    }
    if (KEYWORDS.has(t.value)) {
      throw new ExprError(t.start, t.end, `expected an expression, got '${t.value}'`);
    }
    if (!this.isOp('(')) return { type: 'name', name: t.value, start: t.start, end: t.end };
    const open = this.next();
    const args = this.parseItems(')', open);
    const close = this.tokens[this.pos - 1]!;
    return { type: 'call', callee: t.value, calleeStart: t.start, calleeEnd: t.end, args, start: t.start, end: close.end };
  }

  private parseList(open: Token): Expr {
    const items = this.parseItems(']', open);
    const close = this.tokens[this.pos - 1]!;
    return { type: 'list', items, start: open.start, end: close.end };
  }

  /** Comma-separated expressions up to `close` (a trailing comma is allowed). */
  private parseItems(close: string, open: Token): Expr[] {
    const items: Expr[] = [];
    while (!this.isOp(close)) {
      if (this.isOp(',')) {
        const t = this.peek();
        throw new ExprError(t.start, t.end, `expected an expression before ','`);
      }
      items.push(this.parseConditional());
      if (this.isOp(',')) {
        this.next();
        continue;
      }
      if (!this.isOp(close)) break;
    }
    this.expectClose(close, open);
    return items;
  }

  private expectClose(close: string, open: Token): Token {
    const t = this.peek();
    if (t.kind === 'op' && t.value === close) return this.next();
    if (t.kind === 'eof') {
      throw new ExprError(open.start, open.end, `'${open.value}' is never closed`, `add '${close}' at the end`);
    }
    const hint = startsExpression(t) ? "a ',' or an operator is missing before it" : undefined;
    throw new ExprError(t.start, t.end, `expected '${close}' to close the '${open.value}' at offset ${open.start}, got ${describe(t)}`, hint);
  }
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'the end of the expression';
    case 'number':
      return `number ${String(t.value)}`;
    case 'string':
      return `string "${t.value}"`;
    case 'capture':
      return `'$${t.value}'`;
    default:
      return `'${t.value}'`;
  }
}

function startsExpression(t: Token): boolean {
  if (t.kind === 'number' || t.kind === 'string' || t.kind === 'capture') return true;
  if (t.kind === 'ident') return !['and', 'or', 'if', 'else'].includes(t.value);
  return t.kind === 'op' && (t.value === '(' || t.value === '[');
}
