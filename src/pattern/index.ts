/**
 * The pattern language of recipes: `match:` patterns and `replace:`
 * replacements (grammar in docs/patterns.md).
 *
 * - `parsePattern(text)` / `parseReplacement(text)`: text to syntax tree;
 *   PatternSyntaxError (`start`, `end`, `reason`, `hint`) on a syntax error.
 *   Expressions inside are parsed by src/expr with offsets into the same text.
 * - `compilePattern(ast, { format })`: a CompiledPattern with `captures`
 *   (name -> kind value | const | node | attr | values-list, with offsets),
 *   `rootOps` (the ops the root may have, or '*', for indexing candidates by op)
 *   and `match(node)` -> `{ ok: true, bindings }` or `{ ok: false, reason, node }`
 *   where `reason` is the closest miss in words (for `--explain`).
 * - `expressionEnv(bindings)`: the captures as values for src/expr.
 * - `checkReplacement(ast, { captures, lets })`: every unbound `$name` or
 *   unknown `let` name, with offsets (a list; empty when fine).
 * - `instantiate(replacement, ctx)`: builds the replacement; its result node
 *   produces `ctx.reuseOutputs` (the matched root's outputs), expressions that
 *   give tensors or numbers become constants named after the root. Pass
 *   `declareTypes: true` for TFLite and OpenVINO models: every TFLite tensor
 *   and IR port declares a dtype, and the values a replacement creates get one
 *   only with it.
 * - `patternOps(ast)` / `replacementOps(ast)`: op names written, with offsets,
 *   to check them against the format's op list.
 *
 * The per-format knowledge (commutative ops, constant-producing ops, attribute
 * defaults) is data in `ops.ts`; everything else is format-agnostic.
 */
export type * from './ast';
export type { Bindings, CaptureInfo, CaptureKind, MatchResult } from './bindings';
export { PatternSyntaxError } from './errors';
export { parsePattern, parseReplacement } from './parse';
export { compilePattern, patternOps, patternAttrs, constantOf, describeNode, literalMatchesAttr, literalToAttr } from './compile';
export type { AttrSite } from './compile';
export type { CompileOptions, CompiledPattern } from './compile';
export { instantiate, checkReplacement, replacementOps, replacementAttrs, expressionEnv, makeEvaluator, CaptureTable } from './instantiate';
export type { Evaluator, InstantiateContext, Instantiated, ReplacementScope } from './instantiate';
export { FORMAT_OPS } from './ops';
export type { FormatOps } from './ops';
