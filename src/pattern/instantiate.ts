import { walk, type Expr } from '../expr/ast';
import { checkExpr } from '../expr/check';
import type { Kind } from '../expr/values';
import { ExprError } from '../expr/errors';
import { evaluate } from '../expr/evaluate';
import { MAX_LIST_ITEMS } from '../expr/limits';
import { DEFAULT_FLOAT, EvalContext, ExprValue, GraphValue, fromAttr, toAttr, toTensor, describeValue } from '../expr/values';
import type { NameTable } from '../expr/evaluate';
import type { Attr } from '../ir/attr';
import { isDType } from '../ir/dtype';
import type { DType } from '../ir/dtype';
import { Graph, Node, Value } from '../ir/graph';
import type { Dim, Shape } from '../ir/graph';
import { Tensor } from '../ir/tensor';
import type { ExprPart, OpRef, ReplacementAst, ReplArg, ReplNode } from './ast';
import { isNodeCopy } from './ast';
import type { Bindings, CaptureInfo } from './bindings';
import { literalToAttr, type AttrSite } from './compile';
import { PatternSyntaxError } from './errors';
import { BOOL_OUTPUT_OPS, ELEMENTWISE_OPS, OTHER_DTYPE_OPS } from './ops';

/**
 * Evaluates an expression of a replacement. `locals` holds loop variables
 * (`i` of `for i in ...`), visible to the expression as bare names beside the
 * rule's `let` names. The caller decides the rest of the environment (the
 * captures, `let` values, format and opset); `expressionEnv` builds the
 * captures part.
 */
export type Evaluator = (expr: Expr, locals: ReadonlyMap<string, ExprValue>) => ExprValue;

/** What `instantiate` needs besides the replacement. */
export interface InstantiateContext {
  /** The graph to build in (the matched root's graph). */
  readonly graph: Graph;
  readonly bindings: Bindings;
  /** Evaluated `let` values by name; consulted to tell a `let` name from an unknown one. */
  readonly lets?: ReadonlyMap<string, ExprValue>;
  /** Evaluates expressions; default: `makeEvaluator(bindings, lets)`. */
  readonly evaluate?: Evaluator;
  /**
   * The matched root's output values. The replacement's result node produces
   * these very objects, so names, value_info and graph outputs never change.
   * Their current producer (the root) gives them up.
   */
  readonly reuseOutputs: readonly Value[];
  /** Base of the names of created nodes and constants; default: the root's name (or op). */
  readonly namePrefix?: string;
  /**
   * Declare the dtype (and for elementwise ops the shape) of the values the
   * replacement creates, from the op tables of ops.ts. TFLite needs it (every
   * tensor has a type); ONNX and OpenVINO infer types on load, so it is off by
   * default and their graphs stay as the rule wrote them.
   */
  readonly declareTypes?: boolean;
  /**
   * The attributes an op takes and their kinds, where the format's schemas
   * say (ONNX): an attribute written as `{alpha: 1}` on a float attribute is
   * then written as the float 1.0, which runtimes require.
   */
  readonly attributeKinds?: (op: string, domain: string) => ReadonlyMap<string, readonly Attr['kind'][]> | undefined;
  /**
   * The dtype an existing value that declares none most likely holds (an ONNX
   * intermediate without value_info): a plain number next to it takes that type.
   */
  readonly undeclaredDType?: (v: Value) => DType | undefined;
}

/** What `instantiate` built. */
export interface Instantiated {
  /** New nodes, in dependency order (producers first); the result node last when there is one. */
  readonly nodes: readonly Node[];
  /**
   * What replaces the root's outputs: `reuseOutputs` themselves when the result
   * is a new node; an existing value when the replacement is just `$x` (the
   * caller then points the root's readers at it) or a new constant.
   */
  readonly outputs: readonly Value[];
  /** New constant values. */
  readonly constants: readonly Value[];
  /** Removes what was built and gives the reused outputs back to their former producer. */
  undo(): void;
}

/** An input being planned: an existing value, a constant to create, or output `index` of a planned node. */
type Planned =
  | { kind: 'existing'; value: Value }
  | {
      kind: 'const';
      value: ExprValue;
      /** Plain numbers, which take the dtype of a sibling input. */
      fromNumbers: boolean;
      /** Written with a decimal point or an exponent (`1.0`): a float even when no sibling's dtype is known. */
      writtenAsFloat: boolean;
      hint: string;
      at: ExprPart | undefined;
      built: Value | undefined;
    }
  | { kind: 'output'; node: PlannedNode; index: number }
  | null;

interface PlannedNode {
  op: OpRef;
  inputs: Planned[];
  /** Undefined when the replacement gives the node no attributes. */
  attrs: Map<string, Attr> | undefined;
  outputCount: number;
  /** True when the count came from `name[N] =`, so the result rule must not change it. */
  explicitCount: boolean;
  built?: Node;
}

/**
 * Builds the replacement in the graph: plans everything first (evaluating
 * every expression, so an error leaves the graph untouched), then adds the
 * constants and nodes. Expressions that evaluate to numbers or tensors become
 * new constants named after the root (`<root>/k`); a plain number takes the
 * dtype of a sibling input when one is known. Throws PatternSyntaxError (with
 * offsets into the replacement text) for a wrong reference, ExprError for an
 * evaluation error.
 */
export function instantiate(replacement: ReplacementAst, ctx: InstantiateContext): Instantiated {
  const plan = new Planner(replacement, ctx);
  if (replacement.results) return materializeList(plan.nodes, plan.runList(replacement.results), ctx);
  const result = plan.run();
  return materialize(plan.nodes, result, ctx);
}

/** What `Planner.one` gives for an argument that may stand for any number of inputs. */
const MANY: unique symbol = Symbol('many');

/**
 * The most nodes one replacement builds, and the most inputs or outputs one
 * of its nodes has. Real rewrites build a few, a split grouped Conv a few
 * thousand; a count taken from a model's constant (`range(item($n))`) can ask
 * for millions, which must be a refused rewrite naming the limit, not a
 * process out of memory.
 */
export const MAX_REPLACEMENT_NODES = 100_000;
export const MAX_NODE_ARITY = 100_000;

/** The statements of a replacement without any (never written: only a replacement with statements sets them). */
const NO_STATEMENTS: Map<string, PlannedNode> = new Map();
/** The loop variables outside any loop. */
const NO_LOCALS: ReadonlyMap<string, ExprValue> = new Map();

class Planner {
  readonly nodes: PlannedNode[] = [];
  // Made on first use: most replacements have no statements and no loops,
  // and a replacement is planned at every match.
  private readonly statements: Map<string, PlannedNode>;
  private accumulatorMap: Map<string, Planned> | undefined;
  private loopVarMap: Map<string, ExprValue> | undefined;
  private readonly evaluator: Evaluator;

  constructor(
    private readonly ast: ReplacementAst,
    private readonly ctx: InstantiateContext,
  ) {
    this.evaluator = ctx.evaluate ?? makeEvaluator(ctx.bindings, ctx.lets);
    this.statements = ast.statements.length > 0 ? new Map() : NO_STATEMENTS;
  }

  private get accumulators(): Map<string, Planned> {
    return (this.accumulatorMap ??= new Map());
  }

  private get loopVars(): Map<string, ExprValue> {
    return (this.loopVarMap ??= new Map());
  }

  run(): Planned {
    for (const s of this.ast.statements) {
      let count = 1;
      if (s.outputCount) {
        const v = this.eval(s.outputCount);
        const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : v instanceof Tensor && v.size === 1 ? Number(v.toFloat64()[0]) : NaN;
        if (!Number.isInteger(n) || n < 1) {
          throw new PatternSyntaxError(s.outputCount.start, s.outputCount.end, `the number of outputs must be a positive integer, got ${describeValue(v)}`);
        }
        if (n > MAX_NODE_ARITY) throw new PatternSyntaxError(s.outputCount.start, s.outputCount.end, `${n} outputs are too many for one node (limit ${MAX_NODE_ARITY})`);
        count = n;
      }
      const node = this.planNode(s.value, count, s.outputCount !== undefined);
      this.statements.set(s.target.name, node);
    }
    const result = this.single(this.ast.result, 'the result');
    const reuse = this.ctx.reuseOutputs;
    if (result?.kind === 'output') {
      const node = result.node;
      if (reuse.length > 1) {
        if (result.index !== 0) {
          throw spanError(this.ast.result, `the matched root has ${reuse.length} outputs: the result must be output 0 of a node with as many`);
        }
        if (!node.explicitCount) node.outputCount = reuse.length;
        if (node.outputCount !== reuse.length) {
          throw spanError(this.ast.result, `the result node has ${node.outputCount} outputs, the matched root ${reuse.length}`);
        }
      }
    }
    return result;
  }

  /** Plans the statements and a `(a, _, b)` result: one entry per output of the root. */
  runList(results: readonly ReplArg[]): Planned[] {
    for (const s of this.ast.statements) {
      let count = 1;
      if (s.outputCount) {
        const v = this.eval(s.outputCount);
        const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : NaN;
        if (!Number.isInteger(n) || n < 1) {
          throw new PatternSyntaxError(s.outputCount.start, s.outputCount.end, `the number of outputs must be a positive integer, got ${describeValue(v)}`);
        }
        if (n > MAX_NODE_ARITY) throw new PatternSyntaxError(s.outputCount.start, s.outputCount.end, `${n} outputs are too many for one node (limit ${MAX_NODE_ARITY})`);
        count = n;
      }
      this.statements.set(s.target.name, this.planNode(s.value, count, s.outputCount !== undefined));
    }
    const reuse = this.ctx.reuseOutputs;
    const planned = results.flatMap((r) => (r.kind === 'for' || r.kind === 'spread' ? this.arg(r) : [this.single(r, 'each result')]));
    if (planned.length !== reuse.length) {
      throw spanError(results[0]!, `the matched root has ${reuse.length} output(s), the list of results gives ${planned.length}`);
    }
    return planned;
  }

  private eval(part: ExprPart): ExprValue {
    return this.evaluator(part.expr, this.loopVarMap ?? NO_LOCALS);
  }

  /** An argument that must stand for exactly one input. */
  private single(arg: ReplArg, what: string): Planned {
    const one = this.one(arg);
    if (one !== MANY) return one;
    const items = this.arg(arg);
    if (items.length !== 1) throw spanError(arg, `${what} must be one value, this gives ${items.length}`);
    return items[0]!;
  }

  /**
   * The one input an argument stands for, planned as `arg` plans it, or MANY
   * for the kinds that may stand for any number (spread, for, fold): most
   * arguments are one value, and this spares an array for each.
   */
  private one(arg: ReplArg): Planned | typeof MANY {
    switch (arg.kind) {
      case 'none':
        return null;
      case 'node':
        return { kind: 'output', node: this.planNode(arg, 1, false), index: 0 };
      case 'ref':
        return this.ref(arg);
      case 'expr':
        return this.fromExpr(arg);
      default:
        return MANY;
    }
  }

  private arg(arg: ReplArg): Planned[] {
    switch (arg.kind) {
      case 'none':
        return [null];
      case 'node':
        return [{ kind: 'output', node: this.planNode(arg, 1, false), index: 0 }];
      case 'spread': {
        const list = this.ctx.bindings.lists.get(arg.name);
        if (!list) throw spanError(arg, `$${arg.name} is not a variadic capture`, 'only $rest... captures of the pattern can be spread');
        return list.map((v) => (v ? { kind: 'existing', value: v } : null));
      }
      case 'ref':
        return [this.ref(arg)];
      case 'for': {
        const items = this.iterate(arg.iterable);
        const out: Planned[] = [];
        const saved = this.loopVars.get(arg.variable.name);
        for (const item of items) {
          this.loopVars.set(arg.variable.name, item);
          for (const one of this.arg(arg.body)) out.push(one);
          if (out.length > MAX_NODE_ARITY) throw spanError(arg, `the loop gives ${out.length} inputs or more (limit ${MAX_NODE_ARITY})`);
        }
        this.restore(arg.variable.name, saved);
        return out;
      }
      case 'fold': {
        let acc = this.single(arg.init, 'the initial value of a fold');
        const items = this.iterate(arg.iterable);
        const savedVar = this.loopVars.get(arg.variable.name);
        const savedAcc = this.accumulators.get(arg.accumulator.name);
        for (const item of items) {
          this.loopVars.set(arg.variable.name, item);
          this.accumulators.set(arg.accumulator.name, acc);
          acc = this.single(arg.body, 'the body of a fold');
        }
        this.restore(arg.variable.name, savedVar);
        if (savedAcc === undefined) this.accumulators.delete(arg.accumulator.name);
        else this.accumulators.set(arg.accumulator.name, savedAcc);
        return [acc];
      }
      case 'expr':
        return [this.fromExpr(arg)];
    }
  }

  private restore(name: string, saved: ExprValue | undefined): void {
    if (saved === undefined) this.loopVars.delete(name);
    else this.loopVars.set(name, saved);
  }

  private iterate(part: ExprPart): ExprValue[] {
    const v = this.eval(part);
    const count = Array.isArray(v) ? v.length : v instanceof Tensor && v.rank === 1 ? v.size : typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;
    if (count !== undefined && count > MAX_LIST_ITEMS) {
      throw new PatternSyntaxError(part.start, part.end, `cannot iterate ${count} times (limit ${MAX_LIST_ITEMS})`);
    }
    if (Array.isArray(v)) return [...(v as readonly ExprValue[])];
    if (v instanceof Tensor && v.rank === 1) return [...v.toFloat64()];
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return Array.from({ length: v }, (_, i) => i);
    throw new PatternSyntaxError(part.start, part.end, `cannot iterate over ${describeValue(v)}`, 'iterate over a list, e.g. range(n)');
  }

  private ref(arg: Extract<ReplArg, { kind: 'ref' }>): Planned {
    const b = this.ctx.bindings;
    if (!arg.capture) {
      const acc = this.accumulatorMap?.get(arg.name);
      if (acc !== undefined) {
        if (arg.index) throw spanError(arg, `the accumulator '${arg.name}' is one value and cannot be indexed`);
        return acc;
      }
      const node = this.statements.get(arg.name);
      if (node) {
        const index = arg.index ? this.index(arg.index, node.outputCount) : 0;
        if (index >= node.outputCount) throw spanError(arg, `'${arg.name}' has ${node.outputCount} output(s), there is no output ${index}`);
        return { kind: 'output', node, index };
      }
      return this.fromExpr(arg.expr);
    }
    if (b.values.has(arg.name) && !arg.index) {
      const v = b.values.get(arg.name) ?? null;
      return v ? { kind: 'existing', value: v } : null;
    }
    const list = b.lists.get(arg.name);
    if (list) {
      if (!arg.index) throw spanError(arg, `$${arg.name} is a list of inputs`, `spread it with $${arg.name}... or pick one with $${arg.name}[i]`);
      const i = this.index(arg.index, list.length);
      const v = list[i] ?? null;
      return v ? { kind: 'existing', value: v } : null;
    }
    if (b.nodes.has(arg.name)) throw spanError(arg, `$${arg.name} is a node, not a value`, `$${arg.name}(...) makes a copy of it on new inputs`);
    return this.fromExpr(arg.expr);
  }

  private index(part: ExprPart, length: number): number {
    const v = this.eval(part);
    const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : NaN;
    if (!Number.isInteger(n)) throw new PatternSyntaxError(part.start, part.end, `an index must be an integer, got ${describeValue(v)}`);
    const i = n < 0 ? length + n : n;
    if (i < 0 || i >= length) throw new PatternSyntaxError(part.start, part.end, `index ${n} is out of range for ${length} item(s)`);
    return i;
  }

  private fromExpr(part: ExprPart): Planned {
    const v = this.eval(part);
    if (v === null) return null;
    if (v instanceof GraphValue) return { kind: 'existing', value: v };
    if (v instanceof Node) throw new PatternSyntaxError(part.start, part.end, 'a node cannot be an input; use one of its outputs');
    const fromNumbers = !(v instanceof Tensor);
    return { kind: 'const', value: v, fromNumbers, writtenAsFloat: fromNumbers && onlyNumbers(v) && hasFloatLiteral(part.expr), hint: constHint(part.expr), at: part, built: undefined };
  }

  private planNode(n: ReplNode, outputCount: number, explicitCount: boolean): PlannedNode {
    const inputs: Planned[] = [];
    for (const a of n.args) {
      const one = this.one(a);
      if (one !== MANY) inputs.push(one);
      // One by one: a spread of a long list would overflow the call stack.
      else for (const item of this.arg(a)) inputs.push(item);
      if (inputs.length > MAX_NODE_ARITY) throw spanError(a, `the node would have ${inputs.length} inputs or more (limit ${MAX_NODE_ARITY})`);
    }
    let op: OpRef;
    let attrs: Map<string, Attr> | undefined;
    if (isNodeCopy(n.op)) {
      // `$n(...)`: the captured node's op, domain and attributes; never its
      // `native` record, so the format writes the new node from the IR.
      const source = this.ctx.bindings.nodes.get(n.op.copyOf);
      if (!source) throw spanError(n.op, `$${n.op.copyOf} is not a node captured by the pattern`);
      op = { op: source.op, domain: source.domain, start: n.op.start, end: n.op.end };
      attrs = source.attrCount > 0 ? new Map(source.attrs) : undefined;
      if (n.attrs.length > 0) attrs = this.planAttrs(n, op, source, attrs ?? new Map());
    } else {
      op = n.op;
      // Most new nodes (Mul, Add) have no attributes: no map for them.
      attrs = n.attrs.length > 0 ? this.planAttrs(n, op, n.op.op === this.ctx.bindings.root.op ? this.ctx.bindings.root : undefined, new Map()) : undefined;
    }
    const node: PlannedNode = { op, inputs, attrs, outputCount, explicitCount };
    if (this.nodes.length >= MAX_REPLACEMENT_NODES) throw spanError(n, `the replacement would build more than ${MAX_REPLACEMENT_NODES} nodes (limit ${MAX_REPLACEMENT_NODES})`);
    this.nodes.push(node);
    return node;
  }

  /**
   * Sets the attributes written on `n` in `attrs`. `like`, when given, is a
   * node whose attribute of the same name gives an expression's value its kind
   * (the root for a node of the root's op, the copied node for `$n(...)`); on a
   * copy, a value of `none` removes the copied attribute.
   */
  private planAttrs(n: ReplNode, op: OpRef, like: Node | undefined, attrs: Map<string, Attr>): Map<string, Attr> {
    const copy = isNodeCopy(n.op);
    const schema = this.ctx.attributeKinds?.(op.op, op.domain ?? '');
    for (const a of n.attrs) {
      const v = a.value;
      const allowed = schema?.get(a.name);
      const schemaKind = allowed?.length === 1 ? allowed[0] : undefined;
      const kind = like?.attr(a.name)?.kind ?? schemaKind;
      if (v.kind === 'literal') {
        const written = literalToAttr(v.literal);
        // `{alpha: 1}` takes the kind of the attribute it sets: on a copy the copied one's, on a new node the op's
        // schema (ONNX), so that a float alpha stays a float. Elsewhere (OpenVINO keeps every attribute as text) as written.
        const to = copy ? kind : allowed && !allowed.includes(written.kind) ? schemaKind : undefined;
        attrs.set(a.name, to === undefined || to === written.kind ? written : this.convertAttr(written, to, v, a.name));
        continue;
      }
      // `{epsilon: $eps}` copies the captured attribute as it is (kind and all).
      const e = v.expr;
      if (e.type === 'capture' && this.ctx.bindings.attrs.has(e.name)) {
        const captured = this.ctx.bindings.attrs.get(e.name);
        if (captured) attrs.set(a.name, captured);
        continue;
      }
      const value = this.eval(v);
      if (value === null) {
        attrs.delete(a.name);
        continue;
      }
      try {
        attrs.set(a.name, toAttr(value, kind, v));
      } catch (err) {
        if (err instanceof ExprError) throw new PatternSyntaxError(v.start, v.end, `attribute '${a.name}': ${err.reason}`, err.hint);
        throw err;
      }
    }
    return attrs;
  }

  /** A literal attribute given the kind of the attribute it overrides. */
  private convertAttr(written: Attr, kind: Attr['kind'], at: ExprPart | { start: number; end: number }, name: string): Attr {
    const value = fromAttr(written);
    if (value === undefined) return written;
    try {
      return toAttr(value, kind, at);
    } catch (err) {
      if (err instanceof ExprError) throw new PatternSyntaxError(at.start, at.end, `attribute '${name}': ${err.reason}`, err.hint);
      throw err;
    }
  }
}

function spanError(span: { start: number; end: number }, reason: string, hint?: string): PatternSyntaxError {
  return new PatternSyntaxError(span.start, span.end, reason, hint);
}

/** A name for a new constant: the `let` name or capture it came from, else `const`. */
function constHint(expr: Expr): string {
  if (expr.type === 'name') return expr.name;
  if (expr.type === 'capture') return expr.name;
  if (expr.type === 'call') {
    const named = expr.args.find((a) => a.type === 'name' || a.type === 'capture');
    if (named && (named.type === 'name' || named.type === 'capture')) return named.name;
  }
  return 'const';
}

/**
 * The dtype a planned input likely has: an existing value's, a tensor's, and for
 * the output of a new node the dtype of that node's inputs (right for the
 * elementwise ops replacements are mostly made of; only plain numbers use it).
 */
function plannedDType(p: Planned, undeclared: InstantiateContext['undeclaredDType'], depth = 0): DType | undefined {
  if (!p) return undefined;
  if (p.kind === 'existing') return p.value.dtype ?? p.value.const?.dtype ?? undeclared?.(p.value);
  if (p.kind === 'const') return p.value instanceof Tensor ? p.value.dtype : undefined;
  if (depth > 16) return undefined;
  for (const q of p.node.inputs) {
    const d = plannedDType(q, undeclared, depth + 1);
    if (d) return d;
  }
  return undefined;
}

/** A number or a nested list of numbers (no booleans, which stay bool). */
function onlyNumbers(v: ExprValue): boolean {
  return typeof v === 'number' || typeof v === 'bigint' || (Array.isArray(v) && v.every(onlyNumbers));
}

/** Whether an expression holds a number written as a float (`1.0`, `1e-5`, `inf`). */
function hasFloatLiteral(expr: Expr): boolean {
  let found = false;
  walk(expr, (e) => {
    if (e.type === 'number' && !e.integer) found = true;
  });
  return found;
}

/** How materializeList steers materialize: which new outputs are root values, which node takes the root's name. */
interface ListHooks {
  takeOutput(pn: PlannedNode, index: number): Value | undefined;
  nameFor(pn: PlannedNode): string | undefined;
}

type Materialized = Instantiated & { resolveConst(p: Extract<Planned, { kind: 'const' }>, sibling: DType | undefined): Value };

function materialize(planned: readonly PlannedNode[], result: Planned, ctx: InstantiateContext, list?: ListHooks): Materialized {
  const { graph } = ctx;
  const root = ctx.bindings.root;
  const prefix = ctx.namePrefix ?? (root.name || root.op);
  const nodes: Node[] = [];
  const constants: Value[] = [];
  const newValues: Value[] = [];
  const detached: { node: Node; outputs: Value[] }[] = [];

  const undo = (): void => {
    for (let i = nodes.length - 1; i >= 0; i--) graph.removeNode(nodes[i]!);
    for (const d of detached) d.node.setOutputs(d.outputs);
    for (const v of [...newValues, ...constants]) {
      if (v.useCount === 0 && (!v.producer || v.producer.removed)) graph.removeValue(v);
    }
  };

  const makeConst = (p: Extract<Planned, { kind: 'const' }>, sibling: DType | undefined): Value => {
    // Made once per planned constant (a planned input belongs to this one replacement).
    if (p.built) return p.built;
    let tensor: Tensor;
    try {
      const dtype = p.fromNumbers ? (sibling ?? (p.writtenAsFloat ? DEFAULT_FLOAT : undefined)) : undefined;
      tensor = toTensor(p.value, dtype, p.at);
    } catch (e) {
      if (e instanceof ExprError && p.at) throw new PatternSyntaxError(p.at.start, p.at.end, e.reason, e.hint);
      throw e;
    }
    const v = graph.addConstant(graph.uniqueName(`${prefix}/${p.hint}`), tensor);
    constants.push(v);
    p.built = v;
    return v;
  };

  const resolve = (p: Planned, sibling: DType | undefined): Value | null => {
    if (p === null) return null;
    if (p.kind === 'existing') return p.value;
    if (p.kind === 'const') return makeConst(p, sibling);
    const built = p.node.built;
    if (!built) throw new Error('internal: a planned node is read before it is built');
    return built.output(p.index);
  };

  try {
    const finalNode = result?.kind === 'output' ? result.node : undefined;
    for (const pn of planned) {
      // Only plain numbers need a sibling's dtype; looking it up can walk far up an undeclared graph.
      let sibling: DType | undefined;
      if (pn.inputs.some((p) => p?.kind === 'const' && p.fromNumbers && !p.built)) {
        for (let i = 0; i < pn.inputs.length; i++) {
          // The index as the starting depth, as `inputs.map(plannedDType)` passed it.
          const d = plannedDType(pn.inputs[i] ?? null, ctx.undeclaredDType, i);
          if (d !== undefined && isDType(d)) {
            sibling = d;
            break;
          }
        }
      }
      const inputs = pn.inputs.map((p) => resolve(p, sibling));
      const isFinal = pn === finalNode;
      const name = (list ? list.nameFor(pn) : isFinal && root.name ? root.name : undefined) ?? graph.uniqueName(`${prefix}/${pn.op.op}`);
      let outputs: Value[];
      if (list) {
        outputs = [];
        const declared = ctx.declareTypes ? inferOutput(pn.op.op, inputs, pn.outputCount) : undefined;
        for (let i = 0; i < pn.outputCount; i++) {
          const taken = list.takeOutput(pn, i);
          if (taken) {
            outputs.push(taken);
            continue;
          }
          const v = graph.addValue(graph.uniqueName(pn.outputCount === 1 ? `${name}/out` : `${name}/out${i}`), declared);
          newValues.push(v);
          outputs.push(v);
        }
      } else if (isFinal && result?.kind === 'output') {
        outputs = [];
        for (let i = 0; i < pn.outputCount; i++) {
          const reused = ctx.reuseOutputs.length === 1 ? (i === result.index ? ctx.reuseOutputs[0] : undefined) : ctx.reuseOutputs[i];
          if (reused) {
            const producer = reused.producer;
            if (producer && !producer.removed) {
              detached.push({ node: producer, outputs: [...producer.outputs] });
              producer.setOutputs(producer.outputs.filter((o) => o !== reused));
            }
            outputs.push(reused);
          } else {
            const v = graph.addValue(graph.uniqueName(`${name}/out${i}`));
            newValues.push(v);
            outputs.push(v);
          }
        }
      } else {
        outputs = [];
        const declared = ctx.declareTypes ? inferOutput(pn.op.op, inputs, pn.outputCount) : undefined;
        for (let i = 0; i < pn.outputCount; i++) {
          const v = graph.addValue(graph.uniqueName(pn.outputCount === 1 ? `${name}/out` : `${name}/out${i}`), declared);
          newValues.push(v);
          outputs.push(v);
        }
      }
      // No map for a node without attributes: the graph keeps the map it is given.
      const attrs = pn.attrs && pn.attrs.size > 0 ? pn.attrs : undefined;
      const node = graph.addNode({ op: pn.op.op, domain: pn.op.domain === 'ai.onnx' ? '' : pn.op.domain ?? '', name, inputs, outputs, attrs });
      pn.built = node;
      nodes.push(node);
    }
    let outputs: Value[];
    if (list) {
      outputs = [];
    } else if (result?.kind === 'output') {
      outputs = ctx.reuseOutputs.length > 1 ? [...ctx.reuseOutputs] : [result.node.built!.output(result.index)];
    } else {
      const v = resolve(result, ctx.reuseOutputs[0]?.dtype);
      if (!v) throw new PatternSyntaxError(0, 0, 'the result of a replacement cannot be absent (_)');
      outputs = [v];
    }
    return { nodes, outputs, constants, undo, resolveConst: makeConst };
  } catch (e) {
    undo();
    throw e;
  }
}

/**
 * Builds a replacement whose result is a list, one entry per output of the
 * root: an entry that is an output of a new node makes that output the root's
 * value itself (name, type and graph-output role stay); an existing value or a
 * constant takes over the root output's readers; `_` requires that output to
 * have no readers. The first new node that takes over a root output gets the
 * root's name.
 */
function materializeList(planned: readonly PlannedNode[], results: readonly Planned[], ctx: InstantiateContext): Instantiated {
  const { graph } = ctx;
  const root = ctx.bindings.root;
  const takeOver = new Map<PlannedNode, Map<number, Value>>();
  results.forEach((r, i) => {
    const old = ctx.reuseOutputs[i]!;
    if (r === null) {
      if (old.useCount > 0) throw new Error(`output ${i} ('${old.name}') of the matched root is still read, but the replacement gives nothing for it`);
      return;
    }
    if (r.kind !== 'output') return;
    const byIndex = takeOver.get(r.node) ?? new Map<number, Value>();
    if (byIndex.has(r.index)) throw new Error(`output ${r.index} of a new ${r.node.op.op} is given for two outputs of the matched root`);
    byIndex.set(r.index, old);
    takeOver.set(r.node, byIndex);
  });
  // Detach the taken-over values from the root first: a value has one producer.
  const originalOutputs = new Map<Node, Value[]>();
  const inner: InstantiateContext = { ...ctx, reuseOutputs: [] };
  let named = false;
  const restoreDetached = (): void => {
    for (const [producer, outputs] of originalOutputs) if (!producer.removed) producer.setOutputs(outputs);
  };
  let built: Materialized;
  try {
    built = buildList();
  } catch (e) {
    restoreDetached();
    throw e;
  }
  function buildList(): Materialized {
    return materialize(planned, null, inner, {
    takeOutput(pn, i) {
      const old = takeOver.get(pn)?.get(i);
      if (!old) return undefined;
      const producer = old.producer;
      if (producer && !producer.removed) {
        if (!originalOutputs.has(producer)) originalOutputs.set(producer, [...producer.outputs]);
        producer.setOutputs(producer.outputs.filter((o) => o !== old));
      }
      return old;
    },
    nameFor(pn) {
      if (named || !takeOver.has(pn) || !root.name) return undefined;
      named = true;
      return root.name;
    },
    });
  }
  const undo = (): void => {
    built.undo();
    restoreDetached();
  };
  try {
    const outputs = results.map((r, i) => {
      const old = ctx.reuseOutputs[i]!;
      if (r === null || r.kind === 'output') return old;
      if (r.kind === 'existing') return r.value;
      return built.resolveConst(r, old.dtype);
    });
    return { nodes: built.nodes, outputs, constants: built.constants, undo };
  } catch (e) {
    undo();
    throw e;
  }
}

/**
 * The dtype (and for elementwise ops the shape) of a new node's outputs, where
 * the op tables of ops.ts tell it: TFLite needs a dtype on every tensor, and a
 * declared shape helps every format. Unknown stays undeclared.
 */
function inferOutput(op: string, inputs: readonly (Value | null)[], outputCount: number): { dtype?: DType; shape?: Shape } {
  const present = inputs.filter((v): v is Value => v !== null);
  let dtype: DType | undefined;
  if (BOOL_OUTPUT_OPS.has(op)) dtype = 'bool';
  else if (!OTHER_DTYPE_OPS.has(op)) {
    // The data input carries the type, and it is rarely a constant: TFLite SPLIT
    // reads (axis, input) and TRANSPOSE_CONV (output_shape, weights, input), so
    // the first input is not always the one to follow.
    const dataFirst = [...present.filter((v) => !v.const), ...present.filter((v) => v.const)];
    dtype = dataFirst.map((v) => v.dtype ?? v.const?.dtype).find((d) => d !== undefined);
  }
  let shape: Shape | undefined;
  if (outputCount === 1 && (ELEMENTWISE_OPS.has(op) || BOOL_OUTPUT_OPS.has(op)) && present.length > 0) {
    shape = broadcastShape(present.map((v) => v.shape ?? (v.const ? [...v.const.shape] : undefined)));
  }
  const out: { dtype?: DType; shape?: Shape } = {};
  if (dtype) out.dtype = dtype;
  if (shape) out.shape = shape;
  return out;
}

/** Numpy broadcasting of declared shapes; undefined when one is unknown or they clash. */
function broadcastShape(shapes: readonly (Shape | undefined)[]): Shape | undefined {
  if (shapes.some((s) => s === undefined)) return undefined;
  const rank = Math.max(...shapes.map((s) => s!.length));
  const out: Shape = [];
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1;
    for (const s of shapes) {
      // A missing leading dim broadcasts as 1; a null one is an unknown size, not 1.
      const k = s!.length - rank + i;
      const d = k >= 0 ? s![k]! : 1;
      if (d === 1 || d === dim) continue;
      if (dim === 1) dim = d;
      else if (typeof d === 'number' && typeof dim === 'number') return undefined;
      else dim = null;
    }
    out.push(dim);
  }
  return out;
}

/** Where a replacement's names come from: the pattern's captures and the rule's `let` names. */
export interface ReplacementScope {
  readonly captures: ReadonlyMap<string, CaptureInfo>;
  /** Names defined by the rule's `let:` (in order; each may use the earlier ones). */
  readonly lets: Iterable<string>;
}

/**
 * Every unbound `$name`, unknown bare name, misuse of a capture kind
 * (`$rest` without `...`, a node as an input) in a replacement, with offsets
 * into its text. Empty when the replacement is fine.
 */
export function checkReplacement(ast: ReplacementAst, scope: ReplacementScope): PatternSyntaxError[] {
  const errors: PatternSyntaxError[] = [];
  const lets = new Set(scope.lets);
  const statements = new Set(ast.statements.map((s) => s.target.name));
  const captureNames = [...scope.captures.keys()];

  const checkCapture = (name: string, start: number, end: number): CaptureInfo | undefined => {
    const info = scope.captures.get(name);
    if (!info) {
      const near = captureNames.find((c) => c.toLowerCase() === name.toLowerCase());
      errors.push(new PatternSyntaxError(start, end, `$${name} is not bound by the pattern`,
        near ? `did you mean $${near}?` : captureNames.length ? `the pattern binds ${captureNames.slice(0, 12).map((c) => '$' + c).join(', ')}${captureNames.length > 12 ? `, ... (${captureNames.length} names)` : ''}` : undefined));
    }
    return info;
  };

  const captureKinds = new Map<string, Kind>([...scope.captures].map(([name, info]) => [name, EXPR_KIND[info.kind]]));
  const checkExprPart = (part: ExprPart, locals: ReadonlySet<string>): void => {
    const letKinds = new Map<string, Kind>([...lets, ...locals].map((n) => [n, 'unknown']));
    for (const e of checkExpr(part.expr, { captures: captureKinds, lets: letKinds }).errors) {
      errors.push(new PatternSyntaxError(e.start, e.end, e.reason, e.hint));
    }
  };

  const visit = (arg: ReplArg, locals: ReadonlySet<string>): void => {
    switch (arg.kind) {
      case 'none':
        return;
      case 'node':
        if (isNodeCopy(arg.op)) {
          const { copyOf, start, end } = arg.op;
          const info = checkCapture(copyOf, start, end);
          if (info && info.kind !== 'node') {
            errors.push(new PatternSyntaxError(start, end, `$${copyOf} is ${CAPTURE_WORDS[info.kind]}, not a node: only a node captured with Op(...)@${copyOf} can be copied`));
          }
        }
        for (const a of arg.args) visit(a, locals);
        for (const a of arg.attrs) if (a.value.kind === 'expr') checkExprPart(a.value, locals);
        return;
      case 'spread': {
        const info = checkCapture(arg.name, arg.start, arg.end);
        if (info && info.kind !== 'values-list') {
          errors.push(new PatternSyntaxError(arg.start, arg.end, `$${arg.name} is ${info.kind === 'node' ? 'a node' : 'one value'}, not a variadic capture: it cannot be spread with ...`));
        }
        return;
      }
      case 'ref': {
        if (arg.index) checkExprPart(arg.index, locals);
        if (!arg.capture) {
          if (!statements.has(arg.name) && !locals.has(arg.name)) checkExprPart(arg.expr, locals);
          return;
        }
        const info = checkCapture(arg.name, arg.start, arg.end);
        if (info?.kind === 'node') {
          errors.push(new PatternSyntaxError(arg.start, arg.end, `$${arg.name} is a node, not a value`, `$${arg.name}(...) makes a copy of it on new inputs`));
        }
        if (info?.kind === 'values-list' && !arg.index) {
          errors.push(new PatternSyntaxError(arg.start, arg.end, `$${arg.name} is a list of inputs`, `spread it with $${arg.name}... or pick one with $${arg.name}[i]`));
        }
        return;
      }
      case 'for': {
        checkExprPart(arg.iterable, locals);
        visit(arg.body, new Set([...locals, arg.variable.name]));
        return;
      }
      case 'fold': {
        visit(arg.init, locals);
        checkExprPart(arg.iterable, locals);
        visit(arg.body, new Set([...locals, arg.variable.name, arg.accumulator.name]));
        return;
      }
      case 'expr':
        checkExprPart(arg, locals);
        return;
    }
  };
  const none: ReadonlySet<string> = new Set();
  for (const s of ast.statements) {
    if (s.outputCount) checkExprPart(s.outputCount, none);
    visit(s.value, none);
  }
  for (const r of ast.results ?? [ast.result]) visit(r, none);
  return errors;
}

/** Every node a replacement writes with a named op (not `$n(...)` copies: a copy's op is the matched node's, known to the format by construction). */
function namedReplacementNodes(ast: ReplacementAst): (ReplNode & { op: OpRef })[] {
  const out: (ReplNode & { op: OpRef })[] = [];
  const visit = (arg: ReplArg): void => {
    if (arg.kind === 'node') {
      if (!isNodeCopy(arg.op)) out.push(arg as ReplNode & { op: OpRef });
      arg.args.forEach(visit);
    } else if (arg.kind === 'for') visit(arg.body);
    else if (arg.kind === 'fold') {
      visit(arg.init);
      visit(arg.body);
    }
  };
  for (const s of ast.statements) visit(s.value);
  for (const r of ast.results ?? [ast.result]) visit(r);
  return out;
}

/** Every op name a replacement creates, with its offsets (for "unknown op for this format" checks). */
export function replacementOps(ast: ReplacementAst): OpRef[] {
  return namedReplacementNodes(ast).map((n) => n.op);
}

/** Every attribute a replacement writes on a node of a named op, for checks against the op's schema. */
export function replacementAttrs(ast: ReplacementAst): AttrSite[] {
  return namedReplacementNodes(ast).flatMap((n) =>
    n.attrs.map((a) => ({ ops: [n.op], name: a.name, nameStart: a.nameStart, literals: a.value.kind === 'literal' ? [{ literal: a.value.literal, start: a.value.start }] : [] })),
  );
}

/**
 * The captures of a match as an expression environment (names without `$`):
 * a `:const` capture is its tensor (also when it comes from an ONNX Constant
 * node), other values are graph values (shape/dtype/rank through builtins),
 * attributes their scalar or list value, nodes themselves, variadic captures
 * lists of values (of tensors for `$parts:const...`); an absent optional capture is `none`.
 */
export function expressionEnv(bindings: Bindings): Map<string, ExprValue> {
  // forEach rather than for-of: this runs at every match, and for-of over a Map makes an entry array per item.
  const env = new Map<string, ExprValue>();
  bindings.values.forEach((v, name) => env.set(name, bindings.consts.get(name) ?? v));
  bindings.nodes.forEach((n, name) => env.set(name, n));
  bindings.attrs.forEach((a, name) => env.set(name, a ? fromAttr(a) ?? null : null));
  bindings.lists.forEach((list, name) => env.set(name, [...(bindings.listConsts.get(name) ?? list)]));
  return env;
}

/**
 * The captures of a match as expression values, worked out when an expression
 * asks for one (the same values as `expressionEnv`): most conditions read two
 * or three captures, and a Map of every capture at every match costs more
 * than the lookups. With `numericText`, an attribute kept as text that reads
 * as a number or a comma-separated list of numbers is that number or list
 * (OpenVINO IR keeps every attribute as text).
 */
export class CaptureTable implements NameTable {
  constructor(
    private readonly bindings: Bindings,
    private readonly numericText = false,
  ) {}

  get(name: string): ExprValue | undefined {
    const b = this.bindings;
    const value = b.values.get(name);
    if (value !== undefined) return b.consts.get(name) ?? value;
    const node = b.nodes.get(name);
    if (node !== undefined) return node;
    const attr = b.attrs.get(name);
    if (attr !== undefined) {
      const v = attr ? fromAttr(attr) ?? null : null;
      return this.numericText ? numericText(v) : v;
    }
    const list = b.listConsts.get(name) ?? b.lists.get(name);
    return list === undefined ? undefined : [...list];
  }

  has(name: string): boolean {
    const b = this.bindings;
    return b.values.has(name) || b.nodes.has(name) || b.attrs.has(name) || b.lists.has(name);
  }

  keys(): string[] {
    const b = this.bindings;
    return [...new Set([...b.values.keys(), ...b.nodes.keys(), ...b.attrs.keys(), ...b.lists.keys()])];
  }
}

/** A number, or a list of numbers, written as text (`"1e-05"`, `"1,1"`); anything else as it is. */
function numericText(v: ExprValue): ExprValue {
  if (typeof v !== 'string' || v.trim() === '') return v;
  const parts = v.split(',').map((x) => x.trim());
  const numbers = parts.map(Number);
  if (numbers.some((n, i) => !Number.isFinite(n) || parts[i] === '')) return v;
  return parts.length === 1 ? numbers[0]! : numbers;
}

/** Each kind of capture in words, for errors. */
const CAPTURE_WORDS: Readonly<Record<CaptureInfo['kind'], string>> = {
  value: 'a value',
  const: 'a constant',
  node: 'a node',
  attr: 'an attribute',
  'values-list': 'a list of inputs',
};

/** What src/expr's checker may assume about each kind of capture. */
const EXPR_KIND: Readonly<Record<CaptureInfo['kind'], Kind>> = {
  value: 'value',
  const: 'tensor',
  node: 'node',
  attr: 'unknown',
  'values-list': 'list',
};

/**
 * The usual evaluator: src/expr's `evaluate` with the captures of `bindings`,
 * the rule's `let` values, and loop variables on top of the `let` names.
 */
export function makeEvaluator(bindings: Bindings, lets: ReadonlyMap<string, ExprValue> = new Map(), context?: EvalContext): Evaluator {
  const captures = expressionEnv(bindings);
  return (expr, locals) => evaluate(expr, { captures, lets: locals.size > 0 ? new Map([...lets, ...locals]) : lets, context });
}
