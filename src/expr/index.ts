/**
 * The expression language of recipes: `let:` entries, `where:` conditions,
 * and computed attributes / constant tensors of replacements. Expressions are
 * data: parsed by our own parser, never given to `eval`.
 *
 * Typical use by the recipe compiler and the rewriter:
 *
 * ```ts
 * import { parseExpr, checkExpr, evaluate, evaluateCondition, ExprError } from '../expr';
 *
 * // Compile time (no model): parse and check, map offsets to file:line:col.
 * const expr = parseExpr('$scale / sqrt($var + $eps)');          // throws ExprError
 * const { kind, errors } = checkExpr(expr, {
 *   captures: { scale: 'value', var: 'value', eps: 'number' },    // from the pattern
 *   lets: { k: 'tensor' },                                       // earlier let entries
 * });
 * for (const e of errors) report(e.start, e.end, e.reason, e.hint);
 *
 * // Match time: evaluate against the captures of one match.
 * const k = evaluate(expr, { captures: new Map([['scale', scaleValue], ...]), lets, context: { format: 'onnx' } });
 * if (!evaluateCondition(whereExpr, env)) ...                    // a where: entry
 * const a = toAttr(value, 'ints');  const t = toTensor(value, 'float32');
 * ```
 *
 * - Every AST node and every ExprError has `start`/`end`: character offsets
 *   into the expression text (end exclusive). ExprError also has `reason`
 *   (message without position) and an optional `hint`.
 * - Runtime values (`ExprValue`): numbers (bigints beyond 2^53), booleans,
 *   strings (a dtype is its name), `null` for `none`, lists, IR `Tensor`s, and
 *   captured IR graph values (`Value`) and `Node`s. A captured constant value
 *   takes part in math as its tensor.
 * - Kinds (`Kind`) are what the checker knows without a model: value, tensor,
 *   number, int, string, bool, node, list, dtype, none, unknown.
 * - `evaluateCondition` wants one truth: a bool, a number, a one-element
 *   tensor (`none` is false); a larger tensor is an ExprError (use all/any).
 * - `freeNames(expr)` lists the captures and `let` names an expression reads
 *   (to order or lazily compute `let` entries).
 * - Functions live in one table (`listFunctions()`, `lookupFunction()`,
 *   `signatureOf()`), implemented in `builtins/`; docs/expressions.md
 *   describes the language and a test keeps its function list in sync.
 */
export type {
  BinaryExpr, BinaryOp, BoolLit, CallExpr, CaptureRef, ConditionalExpr, Expr, IndexExpr, ListExpr, NameRef, NoneLit,
  NumberLit, StringLit, UnaryExpr, UnaryOp,
} from './ast';
export { freeNames, walk } from './ast';
export { ExprError, closest, editDistance, errorAt, underline } from './errors';
export type { Span } from './errors';
export { KEYWORDS, parseExpr } from './parser';
export { tokenize } from './lexer';
export type { Token } from './lexer';
export { accepts, checkExpr, functionNames } from './check';
export type { CheckResult, ExprScope, KindBindings } from './check';
export { deepEqual, evaluate, evaluateCondition, truthy } from './evaluate';
export type { Bindings, ExprEnv, NameTable } from './evaluate';
export { arityOf, listFunctions, lookupFunction, paramFor, signatureOf } from './functions';
export type { CallContext, FunctionSpec, ParamSpec } from './functions';
export {
  DEFAULT_FLOAT, DEFAULT_INT, KINDS, castTensor, describeValue, fromAttr, fromElements, kindName, kindOf, tensorElements,
  tensorItem, tensorToList, toAttr, toTensor,
} from './values';
export type { EvalContext, ExprValue, GraphValue, Kind } from './values';
export { broadcastShapes, commonDType, promoteTypes } from './tensor-math';
