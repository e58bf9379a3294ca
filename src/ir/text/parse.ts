import type { Attr, Int } from '../attr';
import { DType, DTYPES, isDType } from '../dtype';
import { Graph, Node, Shape, Value } from '../graph';
import { FormatId, Model, type ModelFunction, type Opset } from '../model';
import { BytesData, StringData, Tensor, encodeElements } from '../tensor';
import { seededRandom } from '../random';

/**
 * Reads the canonical graph text of `print.ts` back into the IR: what
 * `printGraph` / `printModel` print parses, and printing the result gives the
 * same text. Rule tests and matcher tests write their graphs this way.
 *
 * Beyond the printed form it accepts blank lines, full-line `#` comments and
 * any consistent indentation (a YAML block scalar strips its own).
 *
 * One reading is chosen where the printed form is ambiguous: in
 * `a: float32 = Relu(x)` the word after `a:` is a type when it names a dtype
 * (output `a` of type float32), not an output called `float32` of a node
 * labelled `a`; a list attribute printed `[]` reads back as ints; one graph
 * under an attribute reads back as a `graph` attribute, several as `graphs`.
 * Each reading prints back the same.
 *
 * A constant printed as a digest (`= #5f1c09d2`, too large to print inline)
 * has no values in the text; it parses only when the caller says how to fill
 * it (`constants: 'zeros' | 'random'` or a function), with the declared dtype
 * and shape.
 */
export interface ParseOptions {
  /**
   * How to fill constants written as a digest: `zeros`; `random`
   * (deterministic, seeded by the digest: floats in [-1, 1), integers in
   * [-3, 3] or [0, 6] unsigned, bools 0/1); or a function. Without it a digest is an error.
   */
  constants?: 'zeros' | 'random' | ((decl: DigestConstant) => Tensor);
  /**
   * A name read but never declared (not an input, constant or node output of
   * this graph or an enclosing one): an error (default), or a new value with
   * no producer (to read back a deliberately broken graph).
   */
  undeclared?: 'error' | 'create';
  /** The format the text is written for; `parseGraph` returns a bare Graph, which has none (the model text names its own). */
  format?: FormatId;
}

/** A constant whose values the text leaves out. */
export interface DigestConstant {
  /** The value's name, or the attribute's name for a tensor attribute. */
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** The 8 hex digits printed after `#` (a prefix of the sha256 of its bytes). */
  readonly digest: string;
}

/** A syntax or reference error in graph text, with 1-based line and column. */
export class GraphTextError extends Error {
  readonly line: number;
  readonly col: number;
  readonly reason: string;
  readonly hint?: string;
  constructor(line: number, col: number, reason: string, hint?: string) {
    super(`${line}:${col}: ${reason}`);
    this.name = 'GraphTextError';
    this.line = line;
    this.col = col;
    this.reason = reason;
    this.hint = hint;
  }
}

/** Parses the text of `printGraph`: one `graph NAME` block. */
export function parseGraph(text: string, options: ParseOptions = {}): Graph {
  const p = new TextParser(text, options);
  const first = p.peekLine();
  if (!first) throw new GraphTextError(1, 1, 'empty graph text', 'start with: graph main');
  if (first.tokens[0]?.kind === 'word' && first.tokens[0].text === 'model') {
    throw new GraphTextError(first.line, 1, 'this is the text of a model', 'parse it with parseModel');
  }
  const g = p.graphBlock(undefined);
  p.expectEnd();
  p.wire();
  return g;
}

/** Parses the text of `printModel`: `model FORMAT`, optional `opsets ...`, then its graphs and functions. */
export function parseModel(text: string, options: ParseOptions = {}): Model {
  const p = new TextParser(text, options);
  const head = p.nextLine();
  if (!head) throw new GraphTextError(1, 1, 'empty model text', 'start with: model onnx');
  const c = new Cursor(head);
  c.keyword('model');
  const fmt = c.word('a format');
  if (fmt.text !== 'onnx' && fmt.text !== 'tflite' && fmt.text !== 'openvino') {
    throw c.errorAt(fmt, `unknown format '${fmt.text}'`, 'onnx, tflite or openvino');
  }
  c.end();
  const maybeOpsets = p.peekLine();
  const opsets = maybeOpsets && startsWith(maybeOpsets, 'opsets') ? opsetsLine(p.nextLine()!) : [];
  const graphs: Graph[] = [];
  const functions: ModelFunction[] = [];
  for (let l = p.peekLine(); l; l = p.peekLine()) {
    if (startsWith(l, 'function')) functions.push(p.functionBlock());
    else graphs.push(p.graphBlock(undefined));
  }
  if (graphs.length === 0) throw new GraphTextError(head.line + 1, 1, 'a model needs at least one graph');
  p.wire();
  const model = new Model(fmt.text, graphs[0]!);
  model.graphs = graphs;
  model.opsets = opsets;
  model.functions = functions;
  return model;
}

/** Whether the line begins with the word `word`. */
function startsWith(line: Line, word: string): boolean {
  const t = line.tokens[0];
  return t?.kind === 'word' && t.text === word;
}

/** `opsets DOMAIN:VERSION, ...` (the default domain written ai.onnx). */
function opsetsLine(line: Line): Opset[] {
  const c = new Cursor(line);
  c.keyword('opsets');
  const opsets: Opset[] = [];
  for (;;) {
    const d = c.word('an opset domain');
    c.punct(':');
    const v = c.word('an opset version');
    if (!/^\d+$/.test(v.text)) throw c.errorAt(v, `opset version '${v.text}' is not a number`);
    opsets.push({ domain: d.text === 'ai.onnx' ? '' : d.text, version: Number(v.text) });
    if (!c.eat(',')) break;
  }
  c.end();
  return opsets;
}

// ---- lines and tokens ----

type Tok =
  | { kind: 'word'; text: string; col: number; end: number }
  | { kind: 'string'; text: string; col: number; end: number }
  | { kind: 'punct'; text: string; col: number; end: number }
  /** `#` and 8 hex digits. */
  | { kind: 'digest'; text: string; col: number; end: number }
  | { kind: 'opaque'; text: string; col: number; end: number };

interface Line {
  /** 1-based line number. */
  line: number;
  indent: number;
  tokens: Tok[];
  /** Column just past the last character, for "missing ..." errors. */
  endCol: number;
}

// `+` only appears in exponents (1e+30): a name with one is quoted by the printer.
const WORD_CHAR = /[A-Za-z0-9_.\-/+]/;
const RESERVED = new Set(['_', 'graph', 'in', 'out', 'const', 'model', 'opsets']);

function tokenizeLine(text: string, line: number): Tok[] {
  const tokens: Tok[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const col = i + 1;
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (WORD_CHAR.test(c)) {
      let j = i;
      while (j < text.length && WORD_CHAR.test(text[j]!)) j++;
      tokens.push({ kind: 'word', text: text.slice(i, j), col, end: j + 1 });
      i = j;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) throw new GraphTextError(line, col, 'unterminated string');
      let value: string;
      try {
        value = JSON.parse(text.slice(i, j + 1)) as string;
      } catch {
        throw new GraphTextError(line, col, `malformed string ${text.slice(i, j + 1)}`);
      }
      tokens.push({ kind: 'string', text: value, col, end: j + 2 });
      i = j + 1;
      continue;
    }
    if (c === '#') {
      const m = /^#([0-9a-f]{8})\b/.exec(text.slice(i));
      if (!m) throw new GraphTextError(line, col, 'a digest is # and 8 hex digits');
      tokens.push({ kind: 'digest', text: m[1]!, col, end: i + 10 });
      i += 9;
      continue;
    }
    if (text.startsWith('<opaque>', i)) {
      tokens.push({ kind: 'opaque', text: '<opaque>', col, end: i + 9 });
      i += 8;
      continue;
    }
    if (text.startsWith('::', i)) {
      tokens.push({ kind: 'punct', text: '::', col, end: i + 3 });
      i += 2;
      continue;
    }
    if ('=:,()[]{}?@'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, col, end: i + 2 });
      i++;
      continue;
    }
    throw new GraphTextError(line, col, `unexpected character '${c}'`);
  }
  return tokens;
}

function describeTok(t: Tok | undefined): string {
  if (!t) return 'the end of the line';
  if (t.kind === 'string') return `string ${JSON.stringify(t.text)}`;
  if (t.kind === 'digest') return `digest #${t.text}`;
  return `'${t.text}'`;
}

/** Reads the tokens of one line left to right. */
class Cursor {
  pos = 0;
  constructor(readonly line: Line) {}

  peek(ahead = 0): Tok | undefined {
    return this.line.tokens[this.pos + ahead];
  }

  next(): Tok | undefined {
    return this.line.tokens[this.pos++];
  }

  isPunct(text: string, ahead = 0): boolean {
    const t = this.peek(ahead);
    return t?.kind === 'punct' && t.text === text;
  }

  eat(text: string): boolean {
    if (this.isPunct(text)) {
      this.pos++;
      return true;
    }
    return false;
  }

  errorAt(t: Tok | undefined, reason: string, hint?: string): GraphTextError {
    return new GraphTextError(this.line.line, t ? t.col : this.line.endCol, reason, hint);
  }

  punct(text: string, context = ''): Tok {
    const t = this.next();
    if (t?.kind !== 'punct' || t.text !== text) {
      throw this.errorAt(t, `expected '${text}'${context ? ' ' + context : ''}, found ${describeTok(t)}`);
    }
    return t;
  }

  keyword(text: string): void {
    const t = this.next();
    if (t?.kind !== 'word' || t.text !== text) throw this.errorAt(t, `expected '${text}', found ${describeTok(t)}`);
  }

  word(what: string): Tok {
    const t = this.next();
    if (t?.kind !== 'word') throw this.errorAt(t, `expected ${what}, found ${describeTok(t)}`);
    return t;
  }

  /** A name: a word that is not reserved, or a quoted string. */
  name(what: string): Tok {
    const t = this.next();
    if (t?.kind === 'string') return t;
    if (t?.kind === 'word' && !RESERVED.has(t.text)) return t;
    const hint = t?.kind === 'word' ? `'${t.text}' is a keyword; quote it as a name: "${t.text}"` : undefined;
    throw this.errorAt(t, `expected ${what}, found ${describeTok(t)}`, hint);
  }

  end(): void {
    const t = this.peek();
    if (t) throw this.errorAt(t, `unexpected ${describeTok(t)} at the end of the line`);
  }
}

// ---- the parser ----

interface PendingNode {
  node: Node;
  inputs: (Tok | null)[];
  line: Line;
}

interface PendingOutput {
  graph: Graph;
  name: Tok;
  line: Line;
}

class TextParser {
  private readonly lines: Line[] = [];
  private at = 0;
  /** Values declared per graph, by name (the latest declaration wins, as TFLite allows repeats). */
  private readonly declared = new Map<Graph, Map<string, Value>>();
  private readonly pendingNodes: PendingNode[] = [];
  private readonly pendingOutputs: PendingOutput[] = [];

  constructor(text: string, private readonly options: ParseOptions) {
    text.split('\n').forEach((raw, i) => {
      const content = raw.replace(/\s+$/, '');
      const trimmed = content.trimStart();
      if (trimmed === '' || (trimmed.startsWith('#') && !/^#[0-9a-f]{8}/.test(trimmed))) return;
      const indent = content.length - trimmed.length;
      if (/\t/.test(content.slice(0, indent))) throw new GraphTextError(i + 1, 1, 'indent with spaces, not tabs');
      const tokens = tokenizeLine(content, i + 1);
      this.lines.push({ line: i + 1, indent, tokens, endCol: content.length + 1 });
    });
  }

  peekLine(): Line | undefined {
    return this.lines[this.at];
  }

  nextLine(): Line | undefined {
    return this.lines[this.at++];
  }

  expectEnd(): void {
    const l = this.peekLine();
    if (l) throw new GraphTextError(l.line, l.indent + 1, `unexpected ${describeTok(l.tokens[0])} after the end of the graph`, 'a text holds one graph; indent entries under it');
  }

  /** `graph NAME` and its entries, indented deeper than it. */
  graphBlock(parent: Graph | undefined): Graph {
    const head = this.nextLine()!;
    const c = new Cursor(head);
    c.keyword('graph');
    const name = c.name('the graph name');
    c.end();
    const g = new Graph(name.text, parent);
    this.declared.set(g, new Map());
    const first = this.peekLine();
    if (!first || first.indent <= head.indent) return g;
    const indent = first.indent;
    for (let l = this.peekLine(); l && l.indent > head.indent; l = this.peekLine()) {
      if (l.indent !== indent) {
        throw new GraphTextError(l.line, l.indent + 1, `expected indentation of ${indent} spaces like the line above, found ${l.indent}`);
      }
      this.entry(g);
    }
    return g;
  }

  /**
   * `function [DOMAIN::]NAME [overload NAME]` and its entries, indented
   * deeper: an `opsets` line, `attr NAME [= VALUE]` lines, then its body as
   * the entries of a graph.
   */
  functionBlock(): ModelFunction {
    const head = this.nextLine()!;
    const c = new Cursor(head);
    c.keyword('function');
    let domain = '';
    let name = c.name('the function name');
    if (c.eat('::')) {
      domain = name.text;
      name = c.name('the function name');
    }
    let overload = '';
    if (c.peek()?.kind === 'word' && c.peek()!.text === 'overload') {
      c.next();
      overload = c.name('the overload name').text;
    }
    c.end();
    const body = new Graph(name.text);
    this.declared.set(body, new Map());
    const fn: ModelFunction = { domain, name: name.text, overload, body, opsets: [], attributes: [], metadata: [] };
    const first = this.peekLine();
    if (!first || first.indent <= head.indent) return fn;
    for (let l = this.peekLine(); l && l.indent > head.indent; l = this.peekLine()) {
      if (l.indent !== first.indent) {
        throw new GraphTextError(l.line, l.indent + 1, `expected indentation of ${first.indent} spaces like the line above, found ${l.indent}`);
      }
      if (startsWith(l, 'opsets')) fn.opsets = opsetsLine(this.nextLine()!);
      else if (isAttrDeclaration(l)) {
        const ac = new Cursor(this.nextLine()!);
        ac.keyword('attr');
        const attrName = ac.name('the attribute name');
        fn.attributes.push(ac.eat('=') ? { name: attrName.text, default: this.attrValue(ac, attrName) } : { name: attrName.text });
        ac.end();
      } else this.entry(body);
    }
    return fn;
  }

  private declare(g: Graph, v: Value): void {
    this.declared.get(g)!.set(v.name, v);
  }

  private entry(g: Graph): void {
    const line = this.nextLine()!;
    const c = new Cursor(line);
    const first = c.peek();
    const keyword = first?.kind === 'word' ? first.text : '';
    if (keyword === 'in' || keyword === 'const') {
      c.next();
      const name = c.name(keyword === 'in' ? 'the input name' : 'the constant name');
      const type = c.eat(':') ? this.type(c) : {};
      let tensor: Tensor | undefined;
      if (keyword === 'const' || c.isPunct('=')) {
        c.punct('=', `after constant '${name.text}'`);
        tensor = this.tensorValue(c, name.text, type.dtype, type.shape, name);
      }
      c.end();
      const v = tensor ? g.addConstant(name.text, tensor) : g.addValue(name.text);
      // Keep the declaration as written (a constant's declared shape may carry symbols).
      v.dtype = type.dtype;
      v.shape = type.shape;
      if (keyword === 'in') g.inputs.push(v);
      this.declare(g, v);
      return;
    }
    if (keyword === 'out') {
      c.next();
      const name = c.name('the output name');
      c.end();
      this.pendingOutputs.push({ graph: g, name, line });
      return;
    }
    if (keyword === 'graph') {
      throw c.errorAt(first, "a graph cannot stand here: subgraphs are attributes of a node, under 'name:'");
    }
    this.nodeLine(g, c);
  }

  /** `[label:] outs = [domain::]Op(inputs) [{attrs}]`, or without `outs =`. */
  private nodeLine(g: Graph, c: Cursor): void {
    const line = c.line;
    // Where the outputs end: the first top-level '='.
    let eq = -1;
    let depth = 0;
    line.tokens.forEach((t, i) => {
      if (t.kind !== 'punct') return;
      if ('([{'.includes(t.text)) depth++;
      else if (')]}'.includes(t.text)) depth--;
      else if (t.text === '=' && depth === 0 && eq < 0) eq = i;
    });
    let label = '';
    const outputs: Value[] = [];
    if (eq >= 0) {
      // label: only when the token after 'name:' is not a type
      if (this.startsLabel(c)) {
        label = c.name('the node name').text;
        c.punct(':');
      }
      for (;;) {
        const name = c.name('an output name');
        const type = c.eat(':') ? this.type(c) : {};
        const v = g.addValue(name.text, type);
        outputs.push(v);
        this.declare(g, v);
        if (c.pos >= eq) break;
        if (c.isPunct('=')) break;
        c.punct(',', 'between outputs');
      }
      c.punct('=');
    } else if (c.isPunct(':', 1) && !c.isPunct('::', 1)) {
      label = c.name('the node name').text;
      c.punct(':');
    }
    let domain = '';
    let opTok = c.next();
    if (c.isPunct('::')) {
      if (opTok?.kind !== 'word') throw c.errorAt(opTok, `expected a domain, found ${describeTok(opTok)}`);
      domain = opTok.text;
      c.next();
      opTok = c.next();
    }
    if (opTok?.kind !== 'word' && opTok?.kind !== 'string') {
      throw c.errorAt(opTok, `expected an op name, found ${describeTok(opTok)}`, 'a node line is [name:] outputs = Op(inputs) {attributes}');
    }
    c.punct('(', `after op '${opTok.text}'`);
    const inputs: (Tok | null)[] = [];
    if (!c.eat(')')) {
      for (;;) {
        const t = c.peek();
        if (t?.kind === 'word' && t.text === '_') {
          c.next();
          inputs.push(null);
        } else {
          inputs.push(c.name('an input name or _'));
        }
        if (c.eat(')')) break;
        c.punct(',', 'or \')\' after an input');
      }
    }
    const attrs = new Map<string, Attr>();
    const node = g.addNode({ op: opTok.text, domain, name: label, outputs, attrs });
    this.pendingNodes.push({ node, inputs, line });
    if (!c.peek()) return;
    c.punct('{', 'before the attributes');
    if (c.peek() === undefined) {
      this.attrBlock(g, node, line);
      return;
    }
    if (c.eat('}')) {
      c.end();
      return;
    }
    for (;;) {
      const name = c.name('an attribute name');
      c.punct(':', `after attribute '${name.text}'`);
      if (attrs.has(name.text)) throw c.errorAt(name, `attribute '${name.text}' is given twice`);
      attrs.set(name.text, this.attrValue(c, name));
      if (c.eat('}')) break;
      c.punct(',', "or '}' after an attribute");
    }
    c.end();
  }

  private startsLabel(c: Cursor): boolean {
    if (!c.isPunct(':', 1)) return false;
    const after = c.peek(2);
    if (after?.kind === 'punct' && after.text === '?') return false;
    if (after?.kind === 'word' && isDType(after.text)) return false;
    return true;
  }

  /** The multi-line attributes of a node with subgraphs, up to the closing `}`. */
  private attrBlock(g: Graph, node: Node, head: Line): void {
    let indent = -1;
    for (;;) {
      const l = this.nextLine();
      if (!l) throw new GraphTextError(head.line, head.endCol - 1, "the '{' of this node is never closed");
      const c = new Cursor(l);
      if (c.isPunct('}')) {
        c.next();
        c.end();
        return;
      }
      if (l.indent <= head.indent) throw new GraphTextError(l.line, l.indent + 1, `expected an attribute or '}' closing the node of line ${head.line}`);
      if (indent < 0) indent = l.indent;
      else if (l.indent !== indent) throw new GraphTextError(l.line, l.indent + 1, `expected indentation of ${indent} spaces like the attribute above, found ${l.indent}`);
      const name = c.name('an attribute name');
      c.punct(':', `after attribute '${name.text}'`);
      if (node.attrs.has(name.text)) throw c.errorAt(name, `attribute '${name.text}' is given twice`);
      if (c.peek() !== undefined) {
        node.attrs.set(name.text, this.attrValue(c, name));
        c.end();
        continue;
      }
      // `name:` then one graph (a graph attribute) or several (a list of graphs).
      const graphs: Graph[] = [];
      for (let n = this.peekLine(); n && n.indent > l.indent; n = this.peekLine()) {
        const nc = new Cursor(n);
        if (!(nc.peek()?.kind === 'word' && nc.peek()?.text === 'graph')) {
          throw new GraphTextError(n.line, n.indent + 1, `expected 'graph' under attribute '${name.text}', found ${describeTok(nc.peek())}`);
        }
        graphs.push(this.graphBlock(g));
      }
      node.attrs.set(name.text, graphs.length === 1 ? { kind: 'graph', value: graphs[0]! } : { kind: 'graphs', value: graphs });
    }
  }

  /** `dtype[shape]`, `dtype`, `?[shape]`. */
  private type(c: Cursor): { dtype?: DType; shape?: Shape } {
    const t = c.next();
    let dtype: DType | undefined;
    if (t?.kind === 'punct' && t.text === '?') dtype = undefined;
    else if (t?.kind === 'word' && isDType(t.text)) dtype = t.text;
    else throw c.errorAt(t, `expected a type such as float32[N, 3], found ${describeTok(t)}`);
    if (!c.isPunct('[')) {
      if (dtype === undefined) throw c.errorAt(c.peek(), "'?' alone is no type: give a shape, ?[N, 3], or leave the type out");
      return { dtype };
    }
    c.next();
    const shape: Shape = [];
    if (!c.eat(']')) {
      for (;;) {
        const d = c.next();
        if (d?.kind === 'punct' && d.text === '?') shape.push(null);
        else if (d?.kind === 'word' && /^\d+$/.test(d.text)) shape.push(Number(d.text));
        else if (d?.kind === 'word' || d?.kind === 'string') shape.push(d.text);
        else throw c.errorAt(d, `expected a dimension (a size, a name or ?), found ${describeTok(d)}`);
        if (c.eat(']')) break;
        c.punct(',', "or ']' between dimensions");
      }
    }
    return dtype === undefined ? { shape } : { dtype, shape };
  }

  /** `[values]` or `#digest`, for a tensor of the declared dtype and shape. */
  private tensorValue(c: Cursor, name: string, dtype: DType | undefined, shape: Shape | undefined, at: Tok): Tensor {
    if (!dtype) throw c.errorAt(at, `constant '${name}' needs a dtype`, 'e.g. const w: float32[2] = [1.0, 2.0]');
    const t = c.peek();
    if (t?.kind === 'digest') {
      c.next();
      if (!shape || shape.some((d) => typeof d !== 'number')) {
        throw c.errorAt(at, `constant '${name}' needs a static shape to be filled`);
      }
      return this.fill({ name, dtype, shape: shape as number[], digest: t.text }, c, t);
    }
    c.punct('[', `before the values of '${name}' (or #digest)`);
    const items: Tok[] = [];
    if (!c.eat(']')) {
      for (;;) {
        items.push(c.word('a number'));
        if (c.eat(']')) break;
        c.punct(',', "or ']' between values");
      }
    }
    let dims: number[];
    if (shape === undefined) dims = [items.length];
    else if (shape.every((d): d is number => typeof d === 'number')) dims = shape;
    else throw c.errorAt(at, `constant '${name}' needs a static shape`);
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== items.length) {
      throw c.errorAt(items[0] ?? at, `constant '${name}' of shape [${dims.join(', ')}] holds ${count} value(s), the text gives ${items.length}`);
    }
    if (dtype === 'string' || DTYPES[dtype].bits === 0) throw c.errorAt(at, `${dtype} constants cannot be written inline`);
    if (dtype === 'int64' || dtype === 'uint64') {
      const values = items.map((x) => {
        if (!/^-?\d+$/.test(x.text)) throw c.errorAt(x, `'${x.text}' is not an integer`);
        return BigInt(x.text);
      });
      return new Tensor(dtype, dims, new BytesData(encodeElements(dtype, values)));
    }
    const numbers = items.map((x) => {
      const v = parseNumber(x.text);
      if (v === undefined) throw c.errorAt(x, `'${x.text}' is not a number`);
      return Number(v);
    });
    return new Tensor(dtype, dims, new BytesData(encodeElements(dtype, numbers)));
  }

  private fill(decl: DigestConstant, c: Cursor, at: Tok): Tensor {
    const how = this.options.constants;
    if (!how) {
      throw c.errorAt(at, `constant '${decl.name}' is a digest (#${decl.digest}) without values`,
        "parse with constants: 'zeros' or 'random' to fill it, or print with a larger inlineLimit");
    }
    if (typeof how === 'function') return how(decl);
    const count = decl.shape.reduce((a, b) => a * b, 1);
    if (decl.dtype === 'string') return new Tensor('string', decl.shape, new StringData(Array.from({ length: count }, () => new Uint8Array(0))));
    const info = DTYPES[decl.dtype];
    if (info.bits === 0 || info.kind === 'complex') {
      return new Tensor(decl.dtype, decl.shape, new BytesData(new Uint8Array(Math.ceil((info.bits * count) / 8))));
    }
    if (how === 'zeros') return new Tensor(decl.dtype, decl.shape, new BytesData(new Uint8Array(Math.ceil((info.bits * count) / 8))));
    const next = seededRandom(parseInt(decl.digest, 16));
    const wide = decl.dtype === 'int64' || decl.dtype === 'uint64';
    const values = Array.from({ length: count }, () => {
      const r = next();
      if (info.kind === 'float') return r * 2 - 1;
      if (info.kind === 'bool') return r < 0.5 ? 0 : 1;
      const n = Math.floor(r * 7);
      return info.kind === 'uint' ? n : n - 3;
    });
    const encoded = wide ? encodeElements(decl.dtype, values.map((x) => BigInt(x))) : encodeElements(decl.dtype, values);
    return new Tensor(decl.dtype, decl.shape, new BytesData(encoded));
  }

  private attrValue(c: Cursor, name: Tok): Attr {
    const t = c.peek();
    if (!t) throw c.errorAt(t, `expected a value for attribute '${name.text}'`);
    if (t.kind === 'opaque') {
      c.next();
      return { kind: 'opaque', value: undefined };
    }
    if (t.kind === 'punct' && t.text === '@') {
      c.next();
      return { kind: 'ref', value: c.name('the name of the function attribute referred to').text };
    }
    if (t.kind === 'string') {
      c.next();
      return { kind: 'string', value: t.text };
    }
    if (t.kind === 'word' && t.text === 'b' && c.peek(1)?.kind === 'string' && c.peek(1)!.col === t.end) {
      c.next();
      const hex = c.next()!;
      if (!/^([0-9a-f]{2})*$/.test(hex.text)) throw c.errorAt(hex, 'bytes are written as b"<hex digits>"');
      return { kind: 'bytes', value: Uint8Array.from(Buffer.from(hex.text, 'hex')) };
    }
    if (t.kind === 'word' && t.text === 'tensor') return { kind: 'tensor', value: this.tensorAttr(c, name) };
    if (t.kind === 'word' && t.text === 'graph') {
      throw c.errorAt(t, 'a graph attribute is written on its own line with the graph indented below it');
    }
    if (t.kind === 'word') {
      c.next();
      if (t.text === 'true' || t.text === 'false') return { kind: 'bool', value: t.text === 'true' };
      const n = parseNumber(t.text);
      if (n === undefined) throw c.errorAt(t, `'${t.text}' is not an attribute value`, 'strings are quoted: "text"');
      return isIntegerText(t.text) ? { kind: 'int', value: n } : { kind: 'float', value: Number(n) };
    }
    if (t.kind === 'punct' && t.text === '[') {
      c.next();
      if (c.eat(']')) return { kind: 'ints', value: [] };
      const first = c.peek();
      if (first?.kind === 'string') {
        const out: string[] = [];
        for (;;) {
          const s = c.next();
          if (s?.kind !== 'string') throw c.errorAt(s, `expected a string, found ${describeTok(s)}`);
          out.push(s.text);
          if (c.eat(']')) return { kind: 'strings', value: out };
          c.punct(',', "or ']' between list items");
        }
      }
      if (first?.kind === 'word' && first.text === 'tensor') {
        const out: Tensor[] = [];
        for (;;) {
          out.push(this.tensorAttr(c, name));
          if (c.eat(']')) return { kind: 'tensors', value: out };
          c.punct(',', "or ']' between list items");
        }
      }
      const items: Tok[] = [];
      for (;;) {
        items.push(c.word('a number'));
        if (c.eat(']')) break;
        c.punct(',', "or ']' between list items");
      }
      const values = items.map((x) => {
        const v = parseNumber(x.text);
        if (v === undefined) throw c.errorAt(x, `'${x.text}' is not a number`);
        return v;
      });
      if (items.every((x) => isIntegerText(x.text))) return { kind: 'ints', value: values };
      return { kind: 'floats', value: values.map(Number) };
    }
    throw c.errorAt(t, `expected a value for attribute '${name.text}', found ${describeTok(t)}`);
  }

  /** `tensor dtype[shape] [values]` or `tensor dtype[shape] #digest`. */
  private tensorAttr(c: Cursor, name: Tok): Tensor {
    c.keyword('tensor');
    const type = this.type(c);
    return this.tensorValue(c, `${name.text}`, type.dtype, type.shape, name);
  }

  /** Connects node inputs and graph outputs once every value is declared (text order need not be topological). */
  wire(): void {
    for (const p of this.pendingNodes) {
      const values = p.inputs.map((t) => (t === null ? null : this.resolve(p.node.graph, t, p.line)));
      p.node.setInputs(values);
    }
    // Assigned once per graph: each assignment recounts the outputs' readers.
    const outputs = new Map<Graph, Value[]>();
    for (const o of this.pendingOutputs) {
      const list = outputs.get(o.graph) ?? [];
      list.push(this.resolve(o.graph, o.name, o.line));
      outputs.set(o.graph, list);
    }
    for (const [g, list] of outputs) g.outputs = list;
  }

  private resolve(g: Graph, t: Tok, line: Line): Value {
    for (let s: Graph | undefined = g; s; s = s.parent) {
      const v = this.declared.get(s)?.get(t.text);
      if (v) return v;
    }
    if (this.options.undeclared === 'create') {
      const v = g.addValue(t.text);
      this.declare(g, v);
      return v;
    }
    throw new GraphTextError(line.line, t.col, `unknown value '${t.text}'`, 'declare it as an input (in), a constant (const) or a node output');
  }
}

/**
 * Whether a line of a function block declares a formal attribute (`attr
 * NAME ...`) rather than a node: a node line never has two names in a row
 * before its `=` (`attr = Relu(x)` is a node whose output is named attr).
 */
function isAttrDeclaration(line: Line): boolean {
  const [first, second] = line.tokens;
  return first?.kind === 'word' && first.text === 'attr' && (second?.kind === 'word' || second?.kind === 'string');
}

function isIntegerText(text: string): boolean {
  return /^-?\d+$/.test(text);
}

/** A number as the printer writes it: integers (bigint beyond 2^53), decimals, exponents, nan, inf, -inf. */
function parseNumber(text: string): Int | undefined {
  if (isIntegerText(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : BigInt(text);
  }
  if (text === 'nan') return NaN;
  if (text === 'inf') return Infinity;
  if (text === '-inf') return -Infinity;
  if (!/^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text)) return undefined;
  return Number(text);
}
