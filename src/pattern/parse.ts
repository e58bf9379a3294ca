import { ExprError } from '../expr/errors';
import { parseExpr } from '../expr/parser';
import type {
  ArgPattern,
  AttrPattern,
  AttrValuePattern,
  ExprPart,
  Literal,
  NameRef,
  NodeCopyRef,
  NodePattern,
  OpRef,
  PatternAst,
  ReplacementAst,
  ReplArg,
  ReplAttr,
  ReplNode,
  ReplStatement,
} from './ast';
import { isNodeCopy } from './ast';
import { PatternSyntaxError } from './errors';
import { Token, tokenize } from './lexer';

/**
 * Parses the text of a `match:` pattern, e.g.
 * `BatchNormalization($x, $scale:const, $bias:const, $mean:const, $var:const){epsilon: $eps}`.
 * Throws PatternSyntaxError with offsets into `text`. The grammar is in docs/patterns.md.
 */
export function parsePattern(text: string): PatternAst {
  // A pattern has no statements: line breaks are plain spaces (block scalars may wrap it anywhere).
  const p = new Parser(text, false);
  p.skipSeparators();
  const start = p.peek();
  if (start.kind === 'eof') throw new PatternSyntaxError(0, text.length, 'empty pattern', 'write the op to match, e.g. Relu($x)');
  if (!p.startsNodePattern()) {
    throw new PatternSyntaxError(start.start, start.end, `a pattern must start with an op name, not ${describe(start)}`,
      'op names start with an uppercase letter (Conv, CONV_2D), or use * for any op');
  }
  const root = p.nodePattern();
  if (root.valueCapture) {
    throw new PatternSyntaxError(root.valueCapture.start, root.valueCapture.end, 'the root of a pattern cannot bind its output value',
      'the matched root\'s outputs are what the replacement produces; bind inner nodes instead');
  }
  if (root.output !== undefined) {
    throw new PatternSyntaxError(root.start, root.end, 'the root of a pattern cannot select an output with [k]');
  }
  p.skipSeparators();
  p.expectEnd('after the pattern');
  return { text, root };
}

/**
 * Parses the text of a `replace:`: optional statements (`name = Op(...)`,
 * `name[N] = Op(...)`, one per line or separated by `;`), then the result,
 * e.g. `Add(Mul($x, unsqueeze(k, [1, 2])), unsqueeze(c, [1, 2]))`.
 * Throws PatternSyntaxError with offsets into `text`.
 */
export function parseReplacement(text: string): ReplacementAst {
  const p = new Parser(text);
  const statements: ReplStatement[] = [];
  p.skipSeparators();
  if (p.peek().kind === 'eof') throw new PatternSyntaxError(0, text.length, 'empty replacement');
  while (p.startsStatement()) {
    statements.push(p.statement());
    p.requireSeparator();
    p.skipSeparators();
  }
  if (p.peek().kind === 'eof') {
    const last = statements[statements.length - 1];
    throw new PatternSyntaxError(last?.start ?? 0, last?.end ?? text.length, 'a replacement must end with its result',
      'after the statements, write the node (or value) that replaces the matched root');
  }
  const results = p.resultList();
  p.skipSeparators();
  p.expectEnd('after the result of the replacement');
  // A loop or a spread may stand for any number of results: a list, whatever its length.
  if (results.length === 1 && results[0]!.kind !== 'for' && results[0]!.kind !== 'spread') return { text, statements, result: results[0]! };
  return { text, statements, result: results[0]!, results };
}

/**
 * The deepest nesting of brackets, and the most `for`/`fold` loops, a pattern
 * or replacement may have: the parser, the matcher and the builder recurse
 * once per level, and a real rule nests a handful. The same bound as
 * expressions have.
 */
export const MAX_PATTERN_DEPTH = 256;

/** Refuses text nested deeper than MAX_PATTERN_DEPTH before anything recurses over it. */
function checkNesting(tokens: readonly Token[]): void {
  let depth = 0;
  let loops = 0;
  for (const t of tokens) {
    if (t.kind === 'punct' && (t.value === '(' || t.value === '[' || t.value === '{')) depth++;
    else if (t.kind === 'punct' && (t.value === ')' || t.value === ']' || t.value === '}')) depth--;
    else if (t.kind === 'ident' && (t.value === 'for' || t.value === 'fold')) loops++;
    else continue;
    if (depth > MAX_PATTERN_DEPTH || loops > MAX_PATTERN_DEPTH) {
      const what = depth > MAX_PATTERN_DEPTH ? `nested too deeply (more than ${MAX_PATTERN_DEPTH} levels of brackets)` : `too many for/fold loops (more than ${MAX_PATTERN_DEPTH})`;
      throw new PatternSyntaxError(t.start, t.end, what, 'a rule nests a few levels: split it, or name parts with statements (name = Op(...)) or let entries');
    }
  }
}

const INT64_MAX = 2n ** 63n - 1n;

/** A literal that parses but no attribute can hold: an error, not a cue to read the text as an expression. */
class BadLiteral extends PatternSyntaxError {}

/** Tokens after which an argument ends (at bracket depth 0). */
const ARG_END = new Set([',', ')', ']', '}', ';', ':']);

class Parser {
  private readonly tokens: Token[];
  private pos = 0;
  /** Names of values made by statements and fold accumulators in scope (replacements only). */
  private readonly locals: string[] = [];

  constructor(private readonly text: string, newlines = true) {
    const tokens = tokenize(text);
    this.tokens = newlines ? tokens : tokens.filter((t) => t.kind !== 'newline');
    checkNesting(this.tokens);
  }

  peek(ahead = 0): Token {
    return this.tokens[Math.min(this.pos + ahead, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (this.pos < this.tokens.length - 1) this.pos++;
    return t;
  }

  private isPunct(value: string, ahead = 0): boolean {
    const t = this.peek(ahead);
    return t.kind === 'punct' && t.value === value;
  }

  private isWord(value: string, ahead = 0): boolean {
    const t = this.peek(ahead);
    return t.kind === 'ident' && t.value === value;
  }

  private eat(value: string): boolean {
    if (this.isPunct(value)) {
      this.pos++;
      return true;
    }
    return false;
  }

  private expect(value: string, context: string, hint?: string): Token {
    const t = this.peek();
    if (t.kind === 'punct' && t.value === value) return this.next();
    throw new PatternSyntaxError(t.start, t.end, `expected '${value}' ${context}, found ${describe(t)}`, hint);
  }

  expectEnd(context: string): void {
    const t = this.peek();
    if (t.kind !== 'eof') {
      const hint = t.kind === 'punct' && t.value === ')' ? 'this parenthesis closes nothing'
        : t.kind === 'punct' && (t.value === '{' || t.value === '[' || t.value === '@') ? 'the order is Op(inputs){attributes}[output]@name'
          : undefined;
      throw new PatternSyntaxError(t.start, t.end, `unexpected ${describe(t)} ${context}`, hint);
    }
  }

  skipSeparators(): void {
    while (this.peek().kind === 'newline' || this.isPunct(';')) this.pos++;
  }

  requireSeparator(): void {
    const t = this.peek();
    if (t.kind === 'newline' || t.kind === 'eof' || this.isPunct(';')) return;
    throw new PatternSyntaxError(t.start, t.end, `expected a new line or ';' after the statement, found ${describe(t)}`);
  }

  // ---- patterns ----

  /** True when the next tokens start a node pattern rather than a capture or literal. */
  startsNodePattern(): boolean {
    const t = this.peek();
    if (t.kind === 'punct') return t.value === '*';
    if (t.kind === 'capture') return this.isPunct('=', 1) && !this.isPunct('=', 2);
    if (t.kind !== 'ident') return false;
    if (/^[A-Z]/.test(t.value)) return true;
    return this.startsDomain();
  }

  /** `word(.word)*::` ahead. */
  private startsDomain(): boolean {
    let k = 0;
    while (this.peek(k).kind === 'ident') {
      if (this.isPunct('::', k + 1)) return true;
      if (!this.isPunct('.', k + 1)) return false;
      k += 2;
    }
    return false;
  }

  nodePattern(): NodePattern {
    const first = this.peek();
    let valueCapture: NameRef | undefined;
    if (first.kind === 'capture') {
      this.next();
      this.expect('=', 'after the capture of a node output');
      if (first.value === '_') throw new PatternSyntaxError(first.start, first.end, '$_ cannot name a node output');
      valueCapture = { name: first.value, start: first.start, end: first.end };
      if (!this.startsNodePattern()) {
        const t = this.peek();
        throw new PatternSyntaxError(t.start, t.end, `expected an op after '${'$' + first.value}=', found ${describe(t)}`);
      }
    }
    const opsStart = this.peek().start;
    let ops: OpRef[] | '*';
    if (this.eat('*')) {
      ops = '*';
    } else {
      ops = [this.opRef()];
      while (this.eat('|')) ops.push(this.opRef());
    }
    let args: ArgPattern[] | null = null;
    if (this.eat('(')) args = this.argPatterns();
    const attrs = this.isPunct('{') ? this.attrPatterns() : [];
    let output: number | undefined;
    if (this.isPunct('[')) {
      this.next();
      const t = this.next();
      if (t.kind !== 'number' || !t.integer || typeof t.value !== 'number') {
        throw new PatternSyntaxError(t.start, t.end, `expected an output index, found ${describe(t)}`, 'Split($x)[1] matches output 1 of the Split');
      }
      output = t.value;
      this.expect(']', 'after the output index');
    }
    let nodeCapture: NameRef | undefined;
    if (this.eat('@')) {
      const t = this.next();
      if (t.kind !== 'ident') {
        throw new PatternSyntaxError(t.start, t.end, `expected a name after '@', found ${describe(t)}`, 'Conv($x, $w)@conv binds the node as $conv');
      }
      nodeCapture = { name: t.value, start: t.start - 1, end: t.end };
    }
    return {
      kind: 'node', ops, args, attrs, nodeCapture, valueCapture, output,
      start: valueCapture?.start ?? opsStart, end: this.tokens[this.pos - 1]!.end,
    };
  }

  private opRef(): OpRef {
    const first = this.peek();
    let domain: string | undefined;
    if (first.kind === 'ident' && this.startsDomain()) {
      const parts: string[] = [];
      while (!this.isPunct('::')) {
        parts.push(this.next().value as string);
        this.eat('.');
      }
      this.next();
      domain = parts.join('.');
    }
    const t = this.next();
    if (t.kind !== 'ident') {
      throw new PatternSyntaxError(t.start, t.end, `expected an op name, found ${describe(t)}`);
    }
    if (domain === undefined && !/^[A-Z]/.test(t.value)) {
      throw new PatternSyntaxError(t.start, t.end, `'${t.value}' is not an op name: op names start with an uppercase letter`,
        'lowercase names are expression functions; write a custom op with its domain, e.g. custom::my_op');
    }
    return { domain, op: t.value, start: first.start, end: t.end };
  }

  private argPatterns(): ArgPattern[] {
    const args: ArgPattern[] = [];
    if (this.eat(')')) return args;
    for (;;) {
      const arg = this.argPattern();
      if (args.length > 0 && args[args.length - 1]!.kind === 'variadic') {
        const v = args[args.length - 1]!;
        throw new PatternSyntaxError(v.start, v.end, 'a variadic capture must be the last input');
      }
      args.push(arg);
      if (this.eat(')')) return args;
      const t = this.peek();
      if (!this.isPunct(',')) {
        throw new PatternSyntaxError(t.start, t.end, `expected ',' or ')' after an input, found ${describe(t)}`,
          t.kind === 'eof' ? 'a parenthesis is not closed' : undefined);
      }
      this.next();
    }
  }

  private argPattern(): ArgPattern {
    if (this.startsNodePattern()) return this.nodePattern();
    const t = this.peek();
    if (t.kind === 'capture') {
      this.next();
      if (this.eat('...')) return { kind: 'variadic', name: t.value, constOnly: false, start: t.start, end: t.end + 3 };
      let constOnly = false;
      let optional = false;
      let end = t.end;
      if (this.isPunct(':')) {
        this.next();
        const k = this.next();
        if (k.kind !== 'ident' || k.value !== 'const') {
          throw new PatternSyntaxError(k.start, k.end, `expected 'const' after ':', found ${describe(k)}`,
            '$w:const requires a constant input; other conditions go in where:');
        }
        constOnly = true;
        end = k.end;
        if (this.eat('...')) return { kind: 'variadic', name: t.value, constOnly: true, start: t.start, end: end + 3 };
      }
      if (this.isPunct('?')) {
        end = this.next().end;
        optional = true;
      }
      return { kind: 'capture', name: t.value, constOnly, optional, start: t.start, end };
    }
    if (t.kind === 'ident' && t.value === '_') {
      this.next();
      return { kind: 'absent', start: t.start, end: t.end };
    }
    if (t.kind === 'number' || this.isPunct('-') || (t.kind === 'ident' && (t.value === 'inf' || t.value === 'nan'))) {
      const start = t.start;
      const lit = this.literal();
      if (lit.type !== 'number') throw new PatternSyntaxError(start, this.prevEnd(), 'expected a number');
      return { kind: 'literal', value: Number(lit.value), start, end: this.prevEnd() };
    }
    if (t.kind === 'ident') {
      throw new PatternSyntaxError(t.start, t.end, `'${t.value}' is not an input pattern`,
        `inputs are $captures, nested ops (uppercase), numbers or _; did you mean $${t.value}?`);
    }
    throw new PatternSyntaxError(t.start, t.end, `expected an input pattern, found ${describe(t)}`,
      'inputs are $name, $name:const, $name?, $rest..., $_, _ (absent), a number, or a nested op');
  }

  private prevEnd(): number {
    return this.tokens[this.pos - 1]?.end ?? 0;
  }

  /**
   * `{name: value, ...}`, shared by patterns and replacements: names unique,
   * each value read by `value`.
   */
  private attrBlock<V extends { end: number }>(value: () => V): { name: string; nameStart: number; nameEnd: number; value: V; start: number; end: number }[] {
    this.expect('{', 'to open the attributes');
    const attrs: { name: string; nameStart: number; nameEnd: number; value: V; start: number; end: number }[] = [];
    if (this.eat('}')) return attrs;
    for (;;) {
      const n = this.next();
      if (n.kind !== 'ident' && n.kind !== 'string') {
        throw new PatternSyntaxError(n.start, n.end, `expected an attribute name, found ${describe(n)}`);
      }
      const name = String(n.value);
      if (attrs.some((a) => a.name === name)) throw new PatternSyntaxError(n.start, n.end, `attribute '${name}' is given twice`);
      this.expect(':', `after attribute name '${name}'`);
      const v = value();
      attrs.push({ name, nameStart: n.start, nameEnd: n.end, value: v, start: n.start, end: v.end });
      if (this.eat('}')) return attrs;
      const t = this.peek();
      if (!this.isPunct(',')) {
        throw new PatternSyntaxError(t.start, t.end, `expected ',' or '}' after an attribute, found ${describe(t)}`);
      }
      this.next();
    }
  }

  private attrPatterns(): AttrPattern[] {
    return this.attrBlock(() => this.attrValuePattern());
  }

  private attrValuePattern(): AttrValuePattern {
    const t = this.peek();
    if (t.kind === 'capture') {
      this.next();
      if (t.value === '_') throw new PatternSyntaxError(t.start, t.end, '$_ is not useful here: leave the attribute out of the pattern');
      let optional = false;
      let def: Literal | undefined;
      if (this.isPunct('?')) {
        this.next();
        optional = true;
      } else if (this.eat('=')) {
        def = this.literal();
      }
      return { kind: 'bind', name: t.value, optional, default: def, start: t.start, end: this.prevEnd() };
    }
    const alternatives = [this.literal()];
    while (this.eat('|')) alternatives.push(this.literal());
    return { kind: 'equals', alternatives, start: t.start, end: this.prevEnd() };
  }

  /** A literal: number, string, true/false, inf/nan, or a list of numbers or of strings. */
  literal(): Literal {
    const t = this.next();
    if (t.kind === 'number') return this.numberLiteral(t, false);
    if (t.kind === 'string') return { type: 'string', value: t.value };
    if (t.kind === 'ident') {
      if (t.value === 'true' || t.value === 'false') return { type: 'bool', value: t.value === 'true' };
      if (t.value === 'inf') return { type: 'number', value: Infinity, integer: false };
      if (t.value === 'nan') return { type: 'number', value: NaN, integer: false };
    }
    if (t.kind === 'punct' && t.value === '-') {
      // One sign, read here rather than by recursion: a long run of '-' must not overflow the stack.
      const n = this.next();
      if (n.kind === 'number') return this.numberLiteral(n, true);
      if (n.kind === 'ident' && n.value === 'inf') return { type: 'number', value: -Infinity, integer: false };
      if (n.kind === 'ident' && n.value === 'nan') return { type: 'number', value: NaN, integer: false };
      throw new PatternSyntaxError(t.start, n.end, "'-' must be followed by a number");
    }
    if (t.kind === 'punct' && t.value === '[') {
      const items: Literal[] = [];
      if (this.eat(']')) return { type: 'list', items };
      for (;;) {
        const at = this.peek();
        const item = this.literal();
        // What a literal list attribute holds: ints, floats or strings. (In a replacement, other
        // lists are read again as an expression: a nested list can make a tensor attribute.)
        if (item.type === 'list' || item.type === 'bool') {
          throw new PatternSyntaxError(at.start, this.prevEnd(), `a list attribute holds numbers or strings, not ${item.type === 'list' ? 'lists' : 'true/false'}`, item.type === 'bool' ? 'write 1 and 0' : undefined);
        }
        if (items.length > 0 && items[0]!.type !== item.type) {
          throw new PatternSyntaxError(at.start, this.prevEnd(), 'a list attribute holds numbers or strings, not both');
        }
        items.push(item);
        if (this.eat(']')) return { type: 'list', items };
        this.expect(',', 'between list items');
      }
    }
    throw new PatternSyntaxError(t.start, t.end, `expected a literal (number, "string", true/false or a [list]), found ${describe(t)}`);
  }

  /** A number token as a literal; an integer must fit in an int64 attribute. */
  private numberLiteral(t: Extract<Token, { kind: 'number' }>, negative: boolean): Literal {
    const value = negative ? (typeof t.value === 'bigint' ? -t.value : -t.value) : t.value;
    if (t.integer && (BigInt(value) > INT64_MAX || BigInt(value) < -INT64_MAX - 1n)) {
      throw new BadLiteral(t.start, t.end, `the integer ${negative ? '-' : ''}${String(t.value)} does not fit in 64 bits`, 'attributes hold int64 values; write a float (1e30) if that is meant');
    }
    return { type: 'number', value, integer: t.integer };
  }

  // ---- replacements ----

  startsStatement(): boolean {
    if (this.peek().kind !== 'ident') return false;
    if (this.isPunct('=', 1)) return true;
    if (!this.isPunct('[', 1)) return false;
    // name[N] = ...: find the matching ']' and look for '='.
    let depth = 0;
    for (let k = 1; ; k++) {
      const t = this.peek(k);
      if (t.kind === 'eof') return false;
      if (t.kind === 'punct' && (t.value === '[' || t.value === '(' || t.value === '{')) depth++;
      if (t.kind === 'punct' && (t.value === ']' || t.value === ')' || t.value === '}')) {
        depth--;
        if (depth === 0) return this.isPunct('=', k + 1);
      }
    }
  }

  statement(): ReplStatement {
    const n = this.next();
    const target: NameRef = { name: n.value as string, start: n.start, end: n.end };
    if (RESERVED.has(target.name)) throw new PatternSyntaxError(n.start, n.end, `'${target.name}' is a reserved word`);
    if (this.locals.includes(target.name)) throw new PatternSyntaxError(n.start, n.end, `'${target.name}' is already defined`);
    let outputCount: ExprPart | undefined;
    if (this.eat('[')) {
      outputCount = this.expression(new Set([']']), 'the number of outputs');
      this.expect(']', 'after the number of outputs');
    }
    this.expect('=', `after '${target.name}'`);
    const t = this.peek();
    if (!this.startsReplNode()) {
      throw new PatternSyntaxError(t.start, t.end, `expected an op after '${target.name} =', found ${describe(t)}`,
        'statements name new nodes; compute tensors in let: instead');
    }
    const value = this.replNode();
    this.locals.push(target.name);
    return { target, outputCount, value, start: n.start, end: value.end };
  }

  private startsReplNode(): boolean {
    const t = this.peek();
    if (t.kind === 'capture') return this.isPunct('(', 1);
    if (t.kind !== 'ident') return false;
    if (this.startsDomain()) return true;
    return /^[A-Z]/.test(t.value) && this.isPunct('(', 1);
  }

  /**
   * The result: one argument, or `(a, _, b)` with one entry per output of the
   * matched root, where `for` and a spread give as many entries as they have
   * items. A single parenthesized entry is just that entry.
   */
  resultList(): ReplArg[] {
    if (!this.isPunct('(')) return [this.replArg()];
    this.next();
    const list = [this.replArg()];
    while (this.eat(',')) list.push(this.replArg());
    this.expect(')', 'after the list of results', 'write (a, _, b): one entry per output of the matched root');
    return list;
  }

  replArg(stops: ReadonlySet<string> = NO_STOPS): ReplArg {
    const t = this.peek();
    if (t.kind === 'ident' && t.value === '_' && this.endsArg(1, stops)) {
      this.next();
      return { kind: 'none', start: t.start, end: t.end };
    }
    if (this.isWord('for')) return this.forArg(stops);
    if (this.isWord('fold')) return this.foldArg(stops);
    if (t.kind === 'ident' && /^[A-Z]/.test(t.value) && !this.isPunct('(', 1) && !this.startsDomain()) {
      throw new PatternSyntaxError(t.start, t.end, `op '${t.value}' needs its inputs in parentheses`, `write ${t.value}(...)`);
    }
    if (this.startsReplNode()) return this.replNode();
    if (t.kind === 'capture' && this.isPunct('...', 1)) {
      this.next();
      this.next();
      return { kind: 'spread', name: t.value, start: t.start, end: t.end + 3 };
    }
    const isLocal = t.kind === 'ident' && this.locals.includes(t.value);
    if (t.kind === 'capture' || isLocal) {
      const ref = this.tryRef(stops);
      if (ref) return ref;
    }
    return this.expression(stops, 'an input');
  }

  /** `$x`, `name`, `$x[i]`, `name[i]` when nothing follows but the end of the argument. */
  private tryRef(stops: ReadonlySet<string>): ReplArg | undefined {
    const save = this.pos;
    const t = this.next();
    let index: ExprPart | undefined;
    if (this.isPunct('[')) {
      this.next();
      index = this.expression(new Set([']']), 'an index');
      if (!this.eat(']')) {
        this.pos = save;
        return undefined;
      }
    }
    if (!this.endsArg(0, stops)) {
      this.pos = save;
      return undefined;
    }
    const end = this.prevEnd();
    const expr = this.exprPart(t.start, end);
    return { kind: 'ref', name: t.value as string, capture: t.kind === 'capture', index, expr, start: t.start, end };
  }

  private endsArg(ahead: number, stops: ReadonlySet<string>): boolean {
    const t = this.peek(ahead);
    if (t.kind === 'eof' || t.kind === 'newline') return true;
    if (t.kind === 'punct' && (ARG_END.has(t.value) || stops.has(t.value))) return true;
    return t.kind === 'ident' && stops.has(t.value);
  }

  replNode(): ReplNode {
    const first = this.peek();
    const op: OpRef | NodeCopyRef = first.kind === 'capture' ? this.nodeCopyRef() : this.opRef();
    const open = this.peek();
    this.expect('(', `after op '${isNodeCopy(op) ? '$' + op.copyOf : op.op}'`, 'a new node lists its inputs: Op(a, b)');
    const args: ReplArg[] = [];
    if (!this.eat(')')) {
      for (;;) {
        args.push(this.replArg());
        if (this.eat(')')) break;
        const t = this.peek();
        if (!this.isPunct(',')) {
          throw new PatternSyntaxError(t.start, t.end, `expected ',' or ')' after an input, found ${describe(t)}`,
            t.kind === 'eof' ? `the '(' at offset ${open.start} is not closed` : undefined);
        }
        this.next();
      }
    }
    const attrs = this.isPunct('{') ? this.replAttrs() : [];
    return { kind: 'node', op, args, attrs, start: op.start, end: this.prevEnd() };
  }

  /** `$n` naming the op of a new node: the op of the node the pattern captured as `@n`. */
  private nodeCopyRef(): NodeCopyRef {
    const t = this.next();
    if (t.value === '_') throw new PatternSyntaxError(t.start, t.end, '$_ is not a node to copy', 'capture the node with Op(...)@n, then write $n(...)');
    return { copyOf: t.value as string, start: t.start, end: t.end };
  }

  private replAttrs(): ReplAttr[] {
    return this.attrBlock(() => this.replAttrValue());
  }

  /** A literal when the whole value is one (keeps 1 vs 1.0 apart), else an expression. */
  private replAttrValue(): ReplAttr['value'] {
    const save = this.pos;
    const start = this.peek().start;
    try {
      const literal = this.literal();
      if (this.isPunct(',') || this.isPunct('}')) return { kind: 'literal', literal, start, end: this.prevEnd() };
    } catch (e) {
      if (!(e instanceof PatternSyntaxError) || e instanceof BadLiteral) throw e;
    }
    this.pos = save;
    return this.expression(NO_STOPS, 'an attribute value');
  }

  private forArg(stops: ReadonlySet<string>): ReplArg {
    const kw = this.next();
    const variable = this.loopVariable();
    const iterable = this.loopIterable();
    const body = this.replArg(stops);
    return { kind: 'for', variable, iterable, body, start: kw.start, end: body.end };
  }

  private foldArg(stops: ReadonlySet<string>): ReplArg {
    const kw = this.next();
    const a = this.next();
    if (a.kind !== 'ident' || RESERVED.has(a.value)) {
      throw new PatternSyntaxError(a.start, a.end, `expected the accumulator name after 'fold', found ${describe(a)}`,
        'fold acc = $x for i in range(n - 1): Mul(acc, $x)');
    }
    const accumulator: NameRef = { name: a.value, start: a.start, end: a.end };
    this.expect('=', `after the accumulator '${a.value}'`);
    const init = this.replArg(new Set(['for']));
    if (!this.isWord('for')) {
      const t = this.peek();
      throw new PatternSyntaxError(t.start, t.end, `expected 'for' after the initial value of the fold, found ${describe(t)}`);
    }
    this.next();
    const variable = this.loopVariable();
    const iterable = this.loopIterable();
    this.locals.push(accumulator.name);
    const body = this.replArg(stops);
    this.locals.pop();
    return { kind: 'fold', accumulator, init, variable, iterable, body, start: kw.start, end: body.end };
  }

  private loopVariable(): NameRef {
    const v = this.next();
    if (v.kind !== 'ident' || RESERVED.has(v.value)) {
      throw new PatternSyntaxError(v.start, v.end, `expected a loop variable name, found ${describe(v)}`, 'for i in range(n): ...');
    }
    if (!this.isWord('in')) {
      const t = this.peek();
      throw new PatternSyntaxError(t.start, t.end, `expected 'in' after the loop variable, found ${describe(t)}`);
    }
    this.next();
    return { name: v.value, start: v.start, end: v.end };
  }

  private loopIterable(): ExprPart {
    const iterable = this.expression(new Set([':']), 'what to iterate over');
    this.expect(':', 'after what to iterate over', 'for i in range(n): Op(...)');
    return iterable;
  }

  /** An expression of src/expr: the tokens up to the end of the argument, parsed by parseExpr. */
  expression(stops: ReadonlySet<string>, what: string): ExprPart {
    const first = this.peek();
    let depth = 0;
    let last: Token | undefined;
    for (;;) {
      const t = this.peek();
      if (t.kind === 'eof') break;
      if (depth === 0 && (t.kind === 'newline' || (t.kind === 'punct' && (ARG_END.has(t.value) || stops.has(t.value))))) break;
      if (depth === 0 && t.kind === 'ident' && stops.has(t.value)) break;
      if (t.kind === 'punct' && (t.value === '(' || t.value === '[' || t.value === '{')) depth++;
      if (t.kind === 'punct' && (t.value === ')' || t.value === ']' || t.value === '}')) depth--;
      last = this.next();
    }
    if (!last) throw new PatternSyntaxError(first.start, first.end, `expected ${what}, found ${describe(first)}`);
    return this.exprPart(first.start, last.end);
  }

  private exprPart(start: number, end: number): ExprPart {
    const text = this.text.slice(start, end);
    // Padding keeps the expression's offsets equal to offsets in the whole text;
    // comments become spaces of the same length for the same reason.
    const padded = ' '.repeat(start) + blankComments(text);
    try {
      return { kind: 'expr', expr: parseExpr(padded), text, start, end };
    } catch (e) {
      if (e instanceof ExprError) throw new PatternSyntaxError(e.start, e.end, e.reason, e.hint);
      throw e;
    }
  }
}

/** `# ...` to the end of each line replaced by spaces, strings left alone. */
function blankComments(text: string): string {
  let out = '';
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
      out += c;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') {
        out += ' ';
        i++;
      }
      if (i < text.length) out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

const NO_STOPS: ReadonlySet<string> = new Set();
const RESERVED = new Set(['for', 'fold', 'in', '_', 'and', 'or', 'not', 'if', 'else', 'true', 'false', 'none', 'inf', 'nan']);

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof': return 'the end of the text';
    case 'newline': return 'the end of the line';
    case 'capture': return `'$${t.value}'`;
    case 'string': return `string ${JSON.stringify(t.value)}`;
    case 'number': return `number ${String(t.value)}`;
    default: return `'${String(t.value)}'`;
  }
}
