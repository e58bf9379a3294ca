import type { Attr } from '../ir/attr';
import { DTYPES, type DType } from '../ir/dtype';
import type { Node, Value } from '../ir/graph';
import type { FormatId } from '../ir/model';
import { Tensor } from '../ir/tensor';
import { printAttr } from '../ir/text/print';
import type { ArgPattern, AttrPattern, Literal, NodePattern, OpRef, PatternAst } from './ast';
import type { Bindings, CaptureInfo, CaptureKind, MatchResult } from './bindings';
import { PatternSyntaxError } from './errors';
import { FORMAT_OPS, FormatOps } from './ops';

/** How to compile a pattern. */
export interface CompileOptions {
  /** The format of the models the pattern will run on (selects the commutative-op table, Constant ops, attribute defaults). */
  format: FormatId;
  /**
   * Let a multi-node pattern match when a value made inside it (not by the
   * root) is also read outside it or is a graph output. Off by default: a
   * rewrite must not change what other readers see, and the inner nodes would
   * have to stay anyway.
   */
  allowSharedIntermediates?: boolean;
}

/** A pattern ready to run: its captures, the ops its root may have, and `match`. */
export interface CompiledPattern {
  readonly ast: PatternAst;
  readonly format: FormatId;
  /** Every capture by name (without `$`/`@`). */
  readonly captures: ReadonlyMap<string, CaptureInfo>;
  /** Op names the matched root can have, or `'*'` for any: the driver indexes candidates by op. */
  readonly rootOps: readonly string[] | '*';
  /** Matches the pattern with `node` as its root. */
  match(node: Node): MatchResult;
}

/**
 * Checks a parsed pattern (capture names used consistently) and prepares it
 * for matching. Throws PatternSyntaxError with offsets into the pattern text.
 */
export function compilePattern(ast: PatternAst, options: CompileOptions): CompiledPattern {
  const captures = collectCaptures(ast.root);
  const ops = FORMAT_OPS[options.format];
  const rootOps = ast.root.ops === '*' ? '*' : [...new Set(ast.root.ops.map((o) => o.op))];
  const allowShared = options.allowSharedIntermediates ?? false;
  const direct = !mayBacktrack(ast.root, ops);
  return {
    ast,
    format: options.format,
    captures,
    rootOps,
    match: (node) => new Matcher(ops, allowShared, direct).run(ast.root, node),
  };
}

/** Every op name written in a pattern, with its offsets (for "unknown op for this format" checks). */
export function patternOps(ast: PatternAst): OpRef[] {
  const out: OpRef[] = [];
  const visit = (p: NodePattern): void => {
    if (p.ops !== '*') out.push(...p.ops);
    for (const a of p.args ?? []) if (a.kind === 'node') visit(a);
  };
  visit(ast.root);
  return out;
}

/** An attribute written on a node of a pattern or replacement, for checks against the op's schema. */
export interface AttrSite {
  readonly ops: readonly OpRef[];
  readonly name: string;
  readonly nameStart: number;
  /** The literal values written (a pattern's alternatives, a default, a replacement literal), each with its offset; none for captures and expressions. */
  readonly literals: readonly { literal: Literal; start: number }[];
}

/** Every attribute a pattern names, with the ops of its node. */
export function patternAttrs(ast: PatternAst): AttrSite[] {
  const out: AttrSite[] = [];
  const visit = (p: NodePattern): void => {
    if (p.ops !== '*') {
      for (const a of p.attrs) {
        const v = a.value;
        const literals = v.kind === 'equals' ? v.alternatives.map((literal) => ({ literal, start: v.start })) : v.default ? [{ literal: v.default, start: v.start }] : [];
        out.push({ ops: p.ops, name: a.name, nameStart: a.nameStart, literals });
      }
    }
    for (const a of p.args ?? []) if (a.kind === 'node') visit(a);
  };
  visit(ast.root);
  return out;
}

/**
 * Whether matching the pattern may have to try a second operand order: some
 * node of it can be a commutative op with two operands to match. Without one,
 * the first failure is final, and the matcher needs no continuations and no
 * undo trail.
 */
function mayBacktrack(p: NodePattern, ops: FormatOps): boolean {
  const args = p.args;
  if (args !== null && args.length >= 2 && args[0]!.kind !== 'variadic' && args[1]!.kind !== 'variadic') {
    if (p.ops === '*' || p.ops.some((o) => ops.commutative.has(o.op))) return true;
  }
  for (const a of args ?? []) if (a.kind === 'node' && mayBacktrack(a, ops)) return true;
  return false;
}

function collectCaptures(root: NodePattern): Map<string, CaptureInfo> {
  const captures = new Map<string, CaptureInfo>();
  const add = (name: string, kind: CaptureKind, optional: boolean, start: number, end: number): void => {
    if (name === '_') return;
    const prev = captures.get(name);
    if (!prev) {
      captures.set(name, { name, kind, optional, start, end });
      return;
    }
    const valueLike = (k: CaptureKind): boolean => k === 'value' || k === 'const';
    if (valueLike(prev.kind) && valueLike(kind)) {
      // `$x` and `$x:const` together: the one value must be constant.
      captures.set(name, { ...prev, kind: prev.kind === 'const' || kind === 'const' ? 'const' : 'value', optional: prev.optional && optional });
      return;
    }
    if (prev.kind === kind && kind === 'attr') return;
    const sigil = kind === 'node' ? '@' : '$';
    throw new PatternSyntaxError(start, end, `'${sigil}${name}' is used as ${article(kind)} here but as ${article(prev.kind)} at offset ${prev.start}`,
      'give each capture one meaning; a second use of a value capture must be the same value');
  };
  const visitNode = (p: NodePattern): void => {
    // In text order, so that "first use" means what the reader sees first.
    if (p.valueCapture) add(p.valueCapture.name, 'value', false, p.valueCapture.start, p.valueCapture.end);
    for (const a of p.args ?? []) visitArg(a);
    for (const a of p.attrs) {
      if (a.value.kind === 'bind') add(a.value.name, 'attr', a.value.optional, a.value.start, a.value.end);
    }
    if (p.nodeCapture) add(p.nodeCapture.name, 'node', false, p.nodeCapture.start, p.nodeCapture.end);
  };
  const visitArg = (a: ArgPattern): void => {
    switch (a.kind) {
      case 'node': visitNode(a); break;
      case 'capture': add(a.name, a.constOnly ? 'const' : 'value', a.optional, a.start, a.end); break;
      case 'variadic': add(a.name, 'values-list', false, a.start, a.end); break;
      default: break;
    }
  };
  visitNode(root);
  return captures;
}

function article(kind: CaptureKind): string {
  switch (kind) {
    case 'value': return 'a value';
    case 'const': return 'a constant';
    case 'node': return 'a node';
    case 'attr': return 'an attribute';
    case 'values-list': return 'a variadic list';
  }
}

/** `Conv 'conv3'`, or `Conv (unnamed)`. */
export function describeNode(node: Node): string {
  return node.name ? `${node.op} '${node.name}'` : `${node.op} (unnamed)`;
}

/**
 * The constant a value holds: its own tensor (initializer, TFLite buffer,
 * OpenVINO Const) or, for formats with constant-producing ops, the tensor in
 * the producer's attribute (ONNX `Constant` with value / value_float(s) / value_int(s)),
 * also when read through pass-through ops (ONNX `Identity`) and through ops
 * that widen a float16 constant without loss (FormatOps.widenedTo: OpenVINO's
 * decompression Convert, TFLite's DEQUANTIZE, ONNX's Cast), as the wider
 * tensor the reader of the value sees.
 */
export function constantOf(value: Value, ops: FormatOps, depth = 0): Tensor | undefined {
  if (value.const) return value.const;
  const p = value.producer;
  if (!p || p.removed) return undefined;
  if (depth < 8 && p.inputs.length === 1 && p.input(0)) {
    if (ops.passThrough.has(p.op)) return constantOf(p.input(0)!, ops, depth + 1);
    // Only behind an op that may widen: a chain of other single-input ops (Relu, Sigmoid...) is not searched.
    if (ops.widening.has(p.op)) {
      const narrow = constantOf(p.input(0)!, ops, depth + 1);
      const to = narrow && ops.widenedTo(p, narrow.dtype);
      return to ? widened(narrow, to) : undefined;
    }
  }
  if (!ops.constantProducers.has(p.op) || p.inputs.length > 0) return undefined;
  for (const [name, a] of p.attrs) {
    if (name === 'value' && a.kind === 'tensor') return a.value;
    if (name === 'value_float' && a.kind === 'float') return Tensor.scalar('float32', a.value);
    if (name === 'value_floats' && a.kind === 'floats') return Tensor.from('float32', [a.value.length], a.value);
    if (name === 'value_int' && a.kind === 'int') return Tensor.from('int64', [], [BigInt(a.value)]);
    if (name === 'value_ints' && a.kind === 'ints') return Tensor.from('int64', [a.value.length], a.value.map((x) => BigInt(x)));
  }
  return undefined;
}

/** Widened copies of the constants read through a widening op, made once per tensor: a rule may try the same weights at many candidates. */
const WIDENED = new WeakMap<Tensor, Tensor>();

function widened(narrow: Tensor, to: DType): Tensor {
  let wide = WIDENED.get(narrow);
  if (wide?.dtype !== to) {
    wide = Tensor.from(to, narrow.shape, narrow.toFloat64());
    WIDENED.set(narrow, wide);
  }
  return wide;
}

/** An attribute literal as an IR attribute (defaults in patterns). */
export function literalToAttr(lit: Literal): Attr {
  switch (lit.type) {
    case 'number':
      return lit.integer ? { kind: 'int', value: lit.value } : { kind: 'float', value: Number(lit.value) };
    case 'string':
      return { kind: 'string', value: lit.value };
    case 'bool':
      return { kind: 'bool', value: lit.value };
    case 'list': {
      if (lit.items.length > 0 && lit.items.every((x) => x.type === 'string')) {
        return { kind: 'strings', value: lit.items.map((x) => (x.type === 'string' ? x.value : '')) };
      }
      const nums = lit.items.map((x) => (x.type === 'number' ? x : undefined));
      if (nums.some((x) => x === undefined)) throw new RangeError('a list attribute holds numbers or strings, not both');
      if (nums.every((x) => x!.integer)) return { kind: 'ints', value: nums.map((x) => x!.value) };
      return { kind: 'floats', value: nums.map((x) => Number(x!.value)) };
    }
  }
}

function numbersEqual(a: number | bigint, b: number | bigint, single: boolean): boolean {
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    try {
      return BigInt(a) === BigInt(b);
    } catch {
      return false;
    }
  }
  if (a === b) return true;
  // A float attribute is stored as float32 in most formats: 1e-5 must equal the float32 nearest to it.
  return single && Math.fround(a) === Math.fround(b);
}

/** Whether attribute `a` equals the literal (ints vs integers, floats up to float32 rounding, lists item by item). */
export function literalMatchesAttr(lit: Literal, a: Attr): boolean {
  switch (a.kind) {
    case 'int':
      return (lit.type === 'number' && numbersEqual(lit.value, a.value, false)) || (lit.type === 'bool' && Number(a.value) === (lit.value ? 1 : 0));
    case 'float':
      return lit.type === 'number' && numbersEqual(lit.value, a.value, true);
    case 'bool':
      return (lit.type === 'bool' && lit.value === a.value) || (lit.type === 'number' && Number(lit.value) === (a.value ? 1 : 0));
    case 'string':
      return lit.type === 'string' ? lit.value === a.value : literalMatchesText(lit, a.value);
    case 'ints':
    case 'floats':
      return lit.type === 'list' && lit.items.length === a.value.length &&
        lit.items.every((x, i) => x.type === 'number' && numbersEqual(x.value, a.value[i]!, a.kind === 'floats'));
    case 'strings':
      return lit.type === 'list' && lit.items.length === a.value.length && lit.items.every((x, i) => x.type === 'string' && x.value === a.value[i]);
    default:
      return false;
  }
}

/**
 * A literal against an attribute kept as text, as OpenVINO IR keeps every
 * attribute (`strides="2,2"`, `epsilon="1e-05"`, `keep_dims="true"`): numbers
 * compare by value, a list item by item over the comma-separated text.
 */
function literalMatchesText(lit: Literal, text: string): boolean {
  const t = text.trim();
  switch (lit.type) {
    case 'number': {
      if (t === '' || !/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$|^[-+]?inf$|^nan$/i.test(t)) return false;
      if (lit.integer && /^[-+]?\d+$/.test(t)) return numbersEqual(lit.value, BigInt(t), false);
      return numbersEqual(Number(lit.value), Number(t.replace(/inf/i, 'Infinity')), true);
    }
    case 'bool':
      return t.toLowerCase() === String(lit.value) || t === (lit.value ? '1' : '0');
    case 'list': {
      const parts = t === '' ? [] : t.split(',');
      return parts.length === lit.items.length && lit.items.every((item, i) => item.type === 'string' ? item.value === parts[i]!.trim() : literalMatchesText(item, parts[i]!));
    }
    default:
      return false;
  }
}

function printLiteral(lit: Literal): string {
  switch (lit.type) {
    case 'number': return String(lit.value);
    case 'string': return JSON.stringify(lit.value);
    case 'bool': return String(lit.value);
    case 'list': return `[${lit.items.map(printLiteral).join(', ')}]`;
  }
}

function opsText(p: NodePattern): string {
  if (p.ops === '*') return 'any op';
  return p.ops.map((o) => (o.domain ? `${o.domain}::${o.op}` : o.op)).join('|');
}

/** Whether a node's domain matches the one written (`ai.onnx` and empty are the same). */
function domainMatches(written: string | undefined, actual: string): boolean {
  if (written === undefined) return true;
  return normalDomain(written) === normalDomain(actual);
}

function normalDomain(d: string): string {
  return d === 'ai.onnx' ? '' : d;
}

/** Whether a node's op is one of those written (tried at every candidate: a plain loop). */
function opMatches(ops: readonly OpRef[], node: Node): boolean {
  for (const o of ops) if (o.op === node.op && domainMatches(o.domain, node.domain)) return true;
  return false;
}

/** The order in which the first two inputs of a node are matched: as written, or swapped for a commutative op. */
const IN_ORDER: readonly number[] = [0, 1];
const SWAPPED: readonly number[] = [1, 0];

type Cont = () => boolean;

/** The bindings of a kind the pattern has no capture of: shared, never written. */
const NO_BINDINGS: ReadonlyMap<string, never> = new Map<string, never>();

/**
 * One match attempt: a depth-first search with an undo trail, so that the
 * second operand order of a commutative op starts from clean bindings. The
 * failure reported is the one reached after the most successful checks: the
 * closest miss. A pattern that never needs a second order (`direct`) is
 * matched by plain recursion, in the same order, with the same checks and
 * failures, without a continuation per input or a trail.
 */
class Matcher {
  // Each map is made when the pattern first asks for it: a pattern without
  // node or variadic captures never makes those (a matcher runs per candidate).
  private valueMap: Map<string, Value | null> | undefined;
  private constMap: Map<string, Tensor> | undefined;
  private nodeMap: Map<string, Node> | undefined;
  private attrMap: Map<string, Attr | null> | undefined;
  private listMap: Map<string, readonly (Value | null)[]> | undefined;
  private listConstMap: Map<string, readonly Tensor[]> | undefined;
  private readonly matched: Node[] = [];
  /** What to undo on backtracking: a map entry to delete, or the last matched node to drop (not kept when `direct`). */
  private readonly trail: (Map<string, unknown> | null)[] = [];
  private readonly trailKeys: string[] = [];
  private progress = 0;
  private best: { progress: number; reason: string; node?: Node } | undefined;
  private result: Bindings | undefined;

  constructor(
    private readonly ops: FormatOps,
    private readonly allowShared: boolean,
    private readonly direct: boolean,
  ) {}

  private get values(): Map<string, Value | null> {
    return (this.valueMap ??= new Map());
  }
  private get consts(): Map<string, Tensor> {
    return (this.constMap ??= new Map());
  }
  private get nodes(): Map<string, Node> {
    return (this.nodeMap ??= new Map());
  }
  private get attrs(): Map<string, Attr | null> {
    return (this.attrMap ??= new Map());
  }
  private get lists(): Map<string, readonly (Value | null)[]> {
    return (this.listMap ??= new Map());
  }

  run(root: NodePattern, node: Node): MatchResult {
    const ok = this.direct ? this.matchNodeDirect(root, node) && this.finish(node) : this.matchNode(root, node, () => this.finish(node));
    if (ok && this.result) return { ok: true, bindings: this.result };
    return { ok: false, reason: this.best?.reason ?? 'no match', node: this.best?.node };
  }

  /** The bindings as found; a matcher runs once, so after success nothing is undone and the maps are handed over. */
  private bindings(root: Node, matchedNodes: readonly Node[]): Bindings {
    return {
      root,
      values: this.valueMap ?? NO_BINDINGS,
      consts: this.constMap ?? NO_BINDINGS,
      nodes: this.nodeMap ?? NO_BINDINGS,
      attrs: this.attrMap ?? NO_BINDINGS,
      lists: this.listMap ?? NO_BINDINGS,
      listConsts: this.listConstMap ?? NO_BINDINGS,
      matchedNodes,
    };
  }

  private fail(reason: string, node?: Node): false {
    if (!this.best || this.progress > this.best.progress) this.best = { progress: this.progress, reason, node };
    return false;
  }

  private pass(): void {
    this.progress++;
  }

  private set<V>(map: Map<string, V>, key: string, value: V): void {
    map.set(key, value);
    if (this.direct) return;
    this.trail.push(map as Map<string, unknown>);
    this.trailKeys.push(key);
  }

  private undo(mark: number): void {
    while (this.trail.length > mark) {
      const map = this.trail.pop()!;
      const key = this.trailKeys.pop()!;
      if (map) map.delete(key);
      else this.matched.pop();
    }
  }

  private finish(root: Node): boolean {
    if (this.matched.length === 1) {
      this.result = this.bindings(root, [root]);
      return true;
    }
    const matched = this.matched;
    // A pattern has a few nodes: the array answers membership without a Set.
    const matchedSet = matched.length > 16 ? new Set(matched) : undefined;
    const isMatched = (n: Node): boolean => (matchedSet ? matchedSet.has(n) : matched.includes(n));
    if (!this.allowShared) {
      for (let i = 0; i < matched.length; i++) {
        const m = matched[i]!;
        // Each node once, in the order first matched (as a Set of them would list them).
        if (m === root || matched.indexOf(m) < i) continue;
        for (const v of m.outputs) {
          if (v.isGraphOutput) return this.fail(`value '${v.name}' of ${describeNode(m)} is a graph output, so the pattern cannot consume it`, m);
          const outside = v.uses.find((u) => !isMatched(u.node));
          if (outside) {
            return this.fail(`value '${v.name}' of ${describeNode(m)} is also read by ${describeNode(outside.node)}, outside the pattern`, m);
          }
        }
      }
    }
    this.result = this.bindings(root, producersFirst(root, isMatched));
    return true;
  }

  /** `matchNode` for a pattern that never backtracks: the node and, in order, its inputs. */
  private matchNodeDirect(p: NodePattern, node: Node): boolean {
    if (node.removed) return this.fail(`${describeNode(node)} was removed`, node);
    if (p.ops !== '*' && !opMatches(p.ops, node)) {
      return this.fail(`${describeNode(node)} is not ${opsText(p)}`, node);
    }
    this.pass();
    return this.bindNode(p, node) && (p.args === null || this.matchArgsDirect(p.args, node));
  }

  /** `matchArgs` without continuations: each input in order, then no extra inputs (unless a variadic took the rest). */
  private matchArgsDirect(args: readonly ArgPattern[], node: Node): boolean {
    for (let i = 0; i < args.length; i++) {
      const pat = args[i]!;
      if (pat.kind === 'variadic') return this.bindRest(pat, node, i);
      const value = node.input(i);
      if (pat.kind === 'node') {
        const producer = this.producerFor(pat, value, node, i);
        if (!producer || !this.matchNodeDirect(pat, producer)) return false;
      } else if (!this.matchLeaf(pat, value, node, i)) return false;
    }
    return this.noExtraInputs(args, node);
  }

  private noExtraInputs(args: readonly ArgPattern[], node: Node): boolean {
    const inputs = node.inputs;
    for (let j = args.length; j < inputs.length; j++) {
      if (inputs[j] !== null) return this.fail(`${describeNode(node)} has ${inputs.length} inputs, the pattern expects ${args.length}`, node);
    }
    return true;
  }

  /** A variadic `$rest...` from input `i` on. */
  private bindRest(pat: Extract<ArgPattern, { kind: 'variadic' }>, node: Node, i: number): boolean {
    const rest = node.inputs.slice(i);
    if (pat.name !== '_') {
      const prev = this.listMap?.get(pat.name);
      if (prev && (prev.length !== rest.length || prev.some((v, j) => v !== rest[j]))) {
        return this.fail(`the inputs of ${describeNode(node)} from ${i} on differ from those already bound to $${pat.name}`, node);
      }
      if (!prev) this.set(this.lists, pat.name, rest);
    }
    if (pat.constOnly) {
      const tensors: Tensor[] = [];
      for (let j = 0; j < rest.length; j++) {
        const value = rest[j] ?? null;
        const tensor = value ? constantOf(value, this.ops) : undefined;
        if (!tensor) return this.fail(`${inputText(i + j, node)} is ${value ? 'not constant' : 'missing'}`, node);
        tensors.push(tensor);
      }
      if (pat.name !== '_' && !this.listConstMap?.has(pat.name)) this.set((this.listConstMap ??= new Map()), pat.name, tensors);
    }
    this.pass();
    return true;
  }

  private matchNode(p: NodePattern, node: Node, k: Cont): boolean {
    if (node.removed) return this.fail(`${describeNode(node)} was removed`, node);
    if (p.ops !== '*' && !opMatches(p.ops, node)) {
      return this.fail(`${describeNode(node)} is not ${opsText(p)}`, node);
    }
    this.pass();
    const progress = this.progress;
    if (this.matchNodeBody(p, node, IN_ORDER, k)) return true;
    if (p.args === null || !this.isCommutative(node, p.args)) return false;
    this.progress = progress;
    return this.matchNodeBody(p, node, SWAPPED, k);
  }

  /** Captures, attributes and inputs of a node whose op already matched; undoes its bindings on failure. */
  private matchNodeBody(p: NodePattern, node: Node, swap: readonly number[], k: Cont): boolean {
    const mark = this.trail.length;
    const ok = this.bindNode(p, node) && (p.args === null ? k() : this.matchArgs(p.args, node, swap, 0, k));
    if (!ok) this.undo(mark);
    return ok;
  }

  private bindNode(p: NodePattern, node: Node): boolean {
    if (p.nodeCapture) {
      const prev = this.nodes.get(p.nodeCapture.name);
      if (prev && prev !== node) return this.fail(`@${p.nodeCapture.name} would be both ${describeNode(prev)} and ${describeNode(node)}`, node);
      if (!prev) this.set(this.nodes, p.nodeCapture.name, node);
    }
    for (const a of p.attrs) {
      if (!this.matchAttr(a, node)) return false;
      this.pass();
    }
    this.matched.push(node);
    if (!this.direct) {
      this.trail.push(null);
      this.trailKeys.push('');
    }
    return true;
  }

  private isCommutative(node: Node, args: readonly ArgPattern[]): boolean {
    return this.ops.commutative.has(node.op) && args.length >= 2 && args[0]!.kind !== 'variadic' && args[1]!.kind !== 'variadic';
  }

  private matchArgs(args: readonly ArgPattern[], node: Node, swap: readonly number[], i: number, k: Cont): boolean {
    const pat = args[i];
    if (pat === undefined) return this.noExtraInputs(args, node) && k();
    if (pat.kind === 'variadic') return this.bindRest(pat, node, i) && k();
    const index = i < 2 ? swap[i]! : i;
    return this.matchValue(pat, node.input(index), node, index, () => this.matchArgs(args, node, swap, i + 1, k));
  }

  private matchValue(p: ArgPattern, value: Value | null, reader: Node, index: number, k: Cont): boolean {
    if (p.kind !== 'node') return this.matchLeaf(p, value, reader, index) && k();
    const mark = this.trail.length;
    const producer = this.producerFor(p, value, reader, index);
    if (!producer) return false;
    const ok = this.matchNode(p, producer, k);
    if (!ok) this.undo(mark);
    return ok;
  }

  /** An input matched by a capture, `_` or a literal: checks it and binds the capture. */
  private matchLeaf(p: Exclude<ArgPattern, { kind: 'node' }>, value: Value | null, reader: Node, index: number): boolean {
    switch (p.kind) {
      case 'absent':
        if (value !== null) return this.fail(`${inputText(index, reader)} is present, the pattern expects it absent (_)`, reader);
        this.pass();
        return true;
      case 'capture': {
        if (value === null) {
          if (!p.optional) return this.fail(`${inputText(index, reader)} is missing`, reader);
          if (p.name !== '_') {
            if (this.values.has(p.name) && this.values.get(p.name) !== null) return this.fail(`${inputText(index, reader)} is missing but $${p.name} is bound`, reader);
            if (!this.values.has(p.name)) this.set(this.values, p.name, null);
          }
          this.pass();
          return true;
        }
        let tensor: Tensor | undefined;
        if (p.constOnly) {
          tensor = constantOf(value, this.ops);
          if (!tensor) return this.fail(`${inputText(index, reader)} is not constant`, reader);
          // A data type the file names but recipe does not know (a code from a
          // newer format version): no condition or expression could read it.
          if (DTYPES[tensor.dtype].kind === 'opaque') {
            return this.fail(`${inputText(index, reader)} is a constant of data type '${tensor.dtype}', whose elements recipe cannot read`, reader);
          }
        }
        if (p.name !== '_') {
          const prev = this.values.get(p.name);
          if (prev !== undefined && prev !== value) {
            return this.fail(`${inputText(index, reader)} is '${value.name}', not the value already bound to $${p.name} ('${prev?.name ?? 'absent'}')`, reader);
          }
          if (prev === undefined) this.set(this.values, p.name, value);
          if (tensor && !this.consts.has(p.name)) this.set(this.consts, p.name, tensor);
        }
        this.pass();
        return true;
      }
      case 'literal': {
        const tensor = value ? constantOf(value, this.ops) : undefined;
        if (!tensor) return this.fail(`${inputText(index, reader)} is not a constant ${p.value}`, reader);
        let elements: Float64Array;
        try {
          elements = tensor.toFloat64();
        } catch {
          return this.fail(`${inputText(index, reader)} is a ${tensor.dtype} constant, not a number`, reader);
        }
        const single = tensor.dtype !== 'float64';
        if (elements.length === 0 || !elements.every((x) => numbersEqual(x, p.value, single))) {
          return this.fail(`${inputText(index, reader)} is not a constant ${p.value}`, reader);
        }
        this.pass();
        return true;
      }
      case 'variadic':
        return this.fail('internal: variadic pattern outside an argument list');
    }
  }

  /** The node a node pattern is to match at an input: the value's producer, checked, with its `$t=` capture bound; false (after `fail`) otherwise. */
  private producerFor(p: NodePattern & { kind: 'node' }, value: Value | null, reader: Node, index: number): Node | false {
    if (value === null) return this.fail(`${inputText(index, reader)} is missing`, reader);
    const producer = value.producer;
    if (!producer || producer.removed) {
      const what = value.isGraphInput ? 'a graph input' : value.const ? 'a constant' : 'not produced by a node';
      return this.fail(`${inputText(index, reader)} ('${value.name}') is ${what}, not ${opsText(p)}`, reader);
    }
    const out = p.output ?? 0;
    if (producer.outputs[out] !== value) {
      const actual = producer.outputs.indexOf(value);
      return this.fail(`${inputText(index, reader)} is output ${actual} of ${describeNode(producer)}, the pattern expects output ${out}`, reader);
    }
    if (p.valueCapture) {
      const prev = this.values.get(p.valueCapture.name);
      if (prev !== undefined && prev !== value) return this.fail(`${inputText(index, reader)} is not the value already bound to $${p.valueCapture.name}`, reader);
      if (prev === undefined) this.set(this.values, p.valueCapture.name, value);
    }
    return producer;
  }

  private matchAttr(a: AttrPattern, node: Node): boolean {
    const present = node.attr(a.name);
    // In an ONNX function body, an attribute may name the caller's instead of
    // holding a value: no value here to bind or compare.
    if (present?.kind === 'ref') return this.fail(`attribute '${a.name}' of ${describeNode(node)} is the caller's ('${present.value}' of the function), not known here`, node);
    const attr = present ?? this.ops.attrDefaults[node.op]?.[a.name];
    const v = a.value;
    if (v.kind === 'bind') {
      let bound: Attr | null;
      if (attr) bound = attr;
      else if (v.default) bound = literalToAttr(v.default);
      else if (v.optional) bound = null;
      else return this.fail(`${describeNode(node)} has no attribute '${a.name}'`, node);
      if (this.attrs.has(v.name)) {
        const prev = this.attrs.get(v.name) ?? null;
        const same = prev === null || bound === null ? prev === bound : printAttr(prev) === printAttr(bound);
        if (!same) return this.fail(`attribute '${a.name}' of ${describeNode(node)} differs from the value already bound to $${v.name}`, node);
        return true;
      }
      this.set(this.attrs, v.name, bound);
      return true;
    }
    if (!attr) return this.fail(`${describeNode(node)} has no attribute '${a.name}'`, node);
    if (!v.alternatives.some((lit) => literalMatchesAttr(lit, attr))) {
      const want = v.alternatives.map(printLiteral).join(' | ');
      return this.fail(`attribute '${a.name}' of ${describeNode(node)} is ${printAttr(attr)}, not ${want}`, node);
    }
    return true;
  }
}

/** `input 1 of Conv 'c1'`: built only for a failure message (most inputs match). */
function inputText(index: number, reader: Node): string {
  return `input ${index} of ${describeNode(reader)}`;
}

/** The matched nodes with producers before readers, the root last (a DFS post-order from the root). */
function producersFirst(root: Node, isMatched: (n: Node) => boolean): Node[] {
  const order: Node[] = [];
  visitProducers(root, isMatched, [], order);
  return order;
}

function visitProducers(n: Node, isMatched: (n: Node) => boolean, seen: Node[], order: Node[]): void {
  // Marked on entry, so that a cycle in a (broken) graph ends the walk.
  if (seen.includes(n)) return;
  seen.push(n);
  for (const v of n.inputs) {
    const p = v?.producer;
    if (p && isMatched(p)) visitProducers(p, isMatched, seen, order);
  }
  order.push(n);
}
