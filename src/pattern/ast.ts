import type { Expr } from '../expr/ast';

/**
 * The syntax trees of patterns (`match:`) and replacements (`replace:`).
 * Every node keeps `start`/`end`: character offsets (end exclusive) into the
 * text it was parsed from, so that errors found later (unbound names, unknown
 * ops) still point at the right place.
 */

interface Span {
  readonly start: number;
  readonly end: number;
}

/** One op name: `Conv`, `CONV_2D`, `com.microsoft::Gelu`, `opset8::Convolution`. */
export interface OpRef extends Span {
  /** The domain written before `::`, if any (`ai.onnx` is stored as written). */
  readonly domain?: string;
  readonly op: string;
}

/** A literal in an attribute pattern or as a constant operand: `1`, `1e-5`, `"nearest"`, `true`, `[1, 1]`. */
export type Literal =
  | { readonly type: 'number'; readonly value: number | bigint; readonly integer: boolean }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'list'; readonly items: readonly Literal[] };

/** A name introduced by the pattern, with where it was written. */
export interface NameRef extends Span {
  readonly name: string;
}

/**
 * `Op(args){attrs}`, `A|B(...)`, `*(...)`; optionally `$t=Op(...)` (binds its
 * output value), `Op(...)@n` (binds the node), `Op(...)[k]` (its output k).
 */
export interface NodePattern extends Span {
  readonly kind: 'node';
  /** The op names the node may have; `'*'` for any op. */
  readonly ops: readonly OpRef[] | '*';
  /** Input patterns; `null` when written without parentheses (any inputs). */
  readonly args: readonly ArgPattern[] | null;
  readonly attrs: readonly AttrPattern[];
  /** `@n`: the node itself. */
  readonly nodeCapture?: NameRef;
  /** `$t=`: the output value this node feeds to its reader. */
  readonly valueCapture?: NameRef;
  /** `[k]`: which output feeds the reader (default 0). */
  readonly output?: number;
}

/** `$x`, `$x:const`, `$x?`, `$_` (matches anything, binds nothing). */
export interface CapturePattern extends Span {
  readonly kind: 'capture';
  /** The name without `$`; `_` for the wildcard. */
  readonly name: string;
  readonly constOnly: boolean;
  /** `$x?`: the input may be absent; the capture is then null. */
  readonly optional: boolean;
}

/** `$rest...`: every remaining input, as a list (last argument only). */
export interface VariadicPattern extends Span {
  readonly kind: 'variadic';
  readonly name: string;
  /** `$parts:const...`: every remaining input must be a constant (as `$x:const`). */
  readonly constOnly: boolean;
}

/** A number as an operand: a constant whose every element equals it. */
export interface LiteralPattern extends Span {
  readonly kind: 'literal';
  readonly value: number;
}

/** `_`: the input must be absent (an omitted optional input). */
export interface AbsentPattern extends Span {
  readonly kind: 'absent';
}

/** What an input position may hold in a pattern. */
export type ArgPattern = NodePattern | CapturePattern | VariadicPattern | LiteralPattern | AbsentPattern;

/** One `name: pattern` of an attribute block. */
export interface AttrPattern extends Span {
  readonly name: string;
  readonly nameStart: number;
  readonly nameEnd: number;
  readonly value: AttrValuePattern;
}

/**
 * `$eps` binds the attribute (required), `$eps?` binds it or null,
 * `$eps = 1e-5` binds it or the default; `1`, `"a"|"b"` compare.
 */
export type AttrValuePattern =
  | ({ readonly kind: 'bind'; readonly name: string; readonly optional: boolean; readonly default?: Literal } & Span)
  | ({ readonly kind: 'equals'; readonly alternatives: readonly Literal[] } & Span);

/** A parsed `match:` pattern: its root node pattern. */
export interface PatternAst {
  readonly text: string;
  readonly root: NodePattern;
}

/** An expression of src/expr embedded in a pattern or replacement; offsets are into the pattern text. */
export interface ExprPart extends Span {
  readonly kind: 'expr';
  readonly expr: Expr;
  readonly text: string;
}

/**
 * `$n` where a replacement names its op (`$n($x)`): the op, domain and
 * attributes of the node the pattern captured with `Op(...)@n`, copied onto a
 * new node.
 */
export interface NodeCopyRef extends Span {
  /** The node capture's name, without `@`. */
  readonly copyOf: string;
}

/** True for `$n(...)` (a copy of a captured node's op), false for a named op. */
export function isNodeCopy(op: OpRef | NodeCopyRef): op is NodeCopyRef {
  return 'copyOf' in op;
}

/**
 * `Op(args){attrs}` to create; or `$n(args){attrs}`: a new node with the op,
 * domain and attributes of the node captured as `@n`, the attributes written
 * here set on top.
 */
export interface ReplNode extends Span {
  readonly kind: 'node';
  readonly op: OpRef | NodeCopyRef;
  readonly args: readonly ReplArg[];
  readonly attrs: readonly ReplAttr[];
}

/**
 * A reference to an existing value: `$x` (a capture), `name` (a value made by
 * a `name = ...` statement or a fold accumulator), optionally `name[i]` (its
 * output i, or item i of a variadic capture). `$eps` of an attribute capture
 * or a `let` name is an expression instead; `expr` keeps that reading.
 */
export interface ReplRef extends Span {
  readonly kind: 'ref';
  readonly name: string;
  readonly capture: boolean;
  readonly index?: ExprPart;
  readonly expr: ExprPart;
}

/** `$rest...`: the inputs of a variadic capture, spread in place. */
export interface ReplSpread extends Span {
  readonly kind: 'spread';
  readonly name: string;
}

/** `for i in EXPR: ARG`: one argument per item, spread in place. */
export interface ReplFor extends Span {
  readonly kind: 'for';
  readonly variable: NameRef;
  readonly iterable: ExprPart;
  readonly body: ReplArg;
}

/** `fold acc = INIT for i in EXPR: ARG`: ARG applied repeatedly, `acc` being the previous result. */
export interface ReplFold extends Span {
  readonly kind: 'fold';
  readonly accumulator: NameRef;
  readonly init: ReplArg;
  readonly variable: NameRef;
  readonly iterable: ExprPart;
  readonly body: ReplArg;
}

/** `_`: an omitted optional input. */
export interface ReplNone extends Span {
  readonly kind: 'none';
}

/** What an input position may hold in a replacement. */
export type ReplArg = ReplNode | ReplRef | ReplSpread | ReplFor | ReplFold | ReplNone | ExprPart;

/** `name: literal` or `name: expression`. */
export interface ReplAttr extends Span {
  readonly name: string;
  readonly nameStart: number;
  readonly nameEnd: number;
  readonly value: ({ readonly kind: 'literal'; readonly literal: Literal } & Span) | ExprPart;
}

/** `name = Op(...)` or `name[N] = Op(...)` (a node with N outputs). */
export interface ReplStatement extends Span {
  readonly target: NameRef;
  readonly outputCount?: ExprPart;
  readonly value: ReplNode;
}

/** A parsed `replace:`: statements, then the result whose node produces the matched root's outputs. */
export interface ReplacementAst {
  readonly text: string;
  readonly statements: readonly ReplStatement[];
  readonly result: ReplArg;
  /**
   * `(a, _, b)`: one entry per output of the matched root, when they come from
   * different new nodes or outputs (`_`: that output must have no readers).
   * `result` is then the first entry.
   */
  readonly results?: readonly ReplArg[];
}
