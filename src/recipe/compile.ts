import type Ajv from 'ajv';
import type micromatch from 'micromatch';
import { ActionError, ActionRefusedError, RecipeError, RecipeErrors } from '../errors';
import {
  checkExpr,
  closest,
  evaluate,
  truthy,
  ExprError,
  parseExpr,
  type EvalContext,
  type Expr,
  type ExprEnv,
  type ExprValue,
  type Kind,
  type NameTable,
} from '../expr';
import type { Node, Value } from '../ir/graph';
import type { Attr } from '../ir/attr';
import { functionLabel, type FormatId, type Model, type Opset } from '../ir/model';
import {
  checkReplacement,
  compilePattern,
  CaptureTable,
  instantiate,
  parsePattern,
  parseReplacement,
  patternAttrs,
  patternOps,
  PatternSyntaxError,
  replacementAttrs,
  replacementOps,
  type AttrSite,
  type CaptureInfo,
  type Literal,
  type CompiledPattern,
  type OpRef,
  type ReplacementAst,
} from '../pattern';
import { findAction, actionNames } from '../rewrite/actions';
import type { ActionOutcome, ActionRule, CompiledRule, PatternRule, RuleContext, RuleHit, RuleMiss } from '../rewrite/rule';
import type { Bundle } from './bundle';
import { paramLocation, ruleFieldLocation, type RuleSpec, type SourcedText } from './load';
import { isKnownOp, knownAttributes, knownOps } from './ops';
import { likelyDType } from '../formats/onnx/shapes';
import { locationInScalar } from './source';

const ALL_FORMATS: readonly FormatId[] = ['onnx', 'tflite', 'openvino'];

/** A rule left out of a run, and why (wrong format, opset, target, turned off). */
export interface SkippedRule {
  id: string;
  reason: string;
}

/** A bundle compiled for one model and target. */
export interface CompiledBundle {
  rules: CompiledRule[];
  skipped: SkippedRule[];
}

/**
 * Compiles the rules of a bundle that apply to `model` for `target`: patterns,
 * conditions, `let` expressions and replacements are parsed and checked; every
 * problem is collected and thrown as RecipeErrors (each at file:line:col).
 */
export function compileForModel(bundle: Bundle, model: Model, target: string): CompiledBundle {
  const errors: RecipeError[] = [];
  const rules: CompiledRule[] = [];
  const skipped: SkippedRule[] = [];
  for (const spec of bundle.rules) {
    const why = skipReason(spec, model, target);
    if (why) {
      skipped.push({ id: spec.id, reason: why });
      continue;
    }
    const rule = compileRule(spec, model.format, target, errors);
    if (rule) rules.push(rule);
  }
  if (errors.length) throw new RecipeErrors(errors);
  return { rules, skipped };
}

/**
 * Checks every rule of a bundle without a model: for each format it names
 * (all three when it names none) and each replacement variant. Returns the
 * problems found, in file order.
 */
export function checkBundle(bundle: Bundle): RecipeError[] {
  const errors: RecipeError[] = [];
  for (const spec of bundle.rules) {
    const formats = spec.formats ?? ALL_FORMATS;
    const targets = spec.replace instanceof Map ? [...spec.replace.keys()] : ['default'];
    for (const target of targets) {
      const before = errors.length;
      for (const format of formats) {
        const found: RecipeError[] = [];
        compileRule(spec, format, target, found, { opsOfAnyFormat: spec.formats === null });
        errors.push(...found);
        // One format's report is enough when the rule is not format-specific.
        if (found.length && spec.formats === null) break;
      }
      if (errors.length > before && !(spec.replace instanceof Map)) break;
    }
  }
  const seen = new Set<string>();
  return errors.filter((e) => (seen.has(e.message) ? false : (seen.add(e.message), true)));
}

function skipReason(spec: RuleSpec, model: Model, target: string): string | undefined {
  if (!spec.enabled) return 'turned off';
  if (spec.targets && !spec.targets.includes(target)) return `not for target '${target}' (targets: ${spec.targets.join(', ')})`;
  if (spec.formats && !spec.formats.includes(model.format)) return `not for ${model.format} models (formats: ${spec.formats.join(', ')})`;
  if (spec.opset && model.format === 'onnx') {
    // Skipped only when no graph could take it: the model's and every local
    // function's own opset (a function body binds its nodes to its own).
    const range = spec.opset;
    const versions = [onnxOpset(model.opsets), ...model.functions.map((f) => onnxOpset(f.opsets))];
    if (versions.every((v) => !opsetInRange(v, range))) {
      return `not for opset ${versions[0]} (opset ${range.min ?? ''}..${range.max ?? ''})`;
    }
  }
  if (spec.replace instanceof Map && !spec.replace.has(target) && !spec.replace.has('default')) {
    return `no replacement for target '${target}'`;
  }
  return undefined;
}

/** The default-domain ONNX opset among `opsets`, if imported. */
function onnxOpset(opsets: readonly Opset[]): number | undefined {
  return opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version;
}

/** Whether a rule's `opset:` range admits `version` (an unknown version is admitted). */
function opsetInRange(version: number | undefined, range: NonNullable<RuleSpec['opset']>): boolean {
  if (version === undefined) return true;
  return !((range.min !== undefined && version < range.min) || (range.max !== undefined && version > range.max));
}

/** The error of a pattern/expression at its offset inside the YAML scalar at `text.path`. */
function errorIn(spec: RuleSpec, text: SourcedText, e: { start: number; reason: string; hint?: string }): RecipeError {
  return new RecipeError(locationInScalar(spec.source, text.path, e.start), e.reason, spec.id, e.hint);
}

function catchingOffsets<T>(spec: RuleSpec, text: SourcedText, errors: RecipeError[], run: () => T): T | undefined {
  try {
    return run();
  } catch (e) {
    if (e instanceof PatternSyntaxError || e instanceof ExprError) {
      errors.push(errorIn(spec, text, e));
      return undefined;
    }
    throw e;
  }
}

/** The kind the expression checker should assume for a capture. */
function captureKind(info: CaptureInfo): Kind {
  switch (info.kind) {
    case 'value': return 'value';
    case 'const': return 'tensor';
    case 'node': return 'node';
    case 'values-list': return 'list';
    case 'attr': return 'unknown';
  }
}

function optionKind(v: unknown): Kind {
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'number';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (v === null) return 'none';
  if (Array.isArray(v)) return 'list';
  return 'unknown';
}

/** A YAML option value as an expression value (numbers, strings, booleans, lists of them). */
function optionValue(v: unknown): ExprValue {
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' || v === null) return v;
  if (Array.isArray(v)) return v.map(optionValue);
  return null;
}

interface CompileRuleOptions {
  /** Unknown ops are errors only when no format knows them (rules that name no format). */
  opsOfAnyFormat?: boolean;
}

function compileRule(spec: RuleSpec, format: FormatId, target: string, errors: RecipeError[], o: CompileRuleOptions = {}): CompiledRule | undefined {
  if (spec.action !== undefined) return compileAction(spec, errors);
  const before = errors.length;
  const matchText = spec.match!;
  const replaceText = spec.replace instanceof Map ? (spec.replace.get(target) ?? spec.replace.get('default'))! : spec.replace!;

  const pattern = catchingOffsets(spec, matchText, errors, () => compilePattern(parsePattern(matchText.text), { format, allowSharedIntermediates: spec.sharedIntermediates }));
  if (pattern) {
    checkOps(spec, matchText, patternOps(pattern.ast), format, errors, o);
    checkAttributes(spec, matchText, patternAttrs(pattern.ast), format, errors);
  }

  const captureKinds = new Map<string, Kind>();
  for (const [name, info] of pattern?.captures ?? []) captureKinds.set(name, captureKind(info));
  const optionNames = Object.keys(spec.options);
  const letKinds = new Map<string, Kind>(optionNames.map((n) => [n, optionKind(spec.options[n])]));

  const lets = new Map<string, { expr: Expr; text: SourcedText }>();
  for (const { name, expr: text } of spec.let) {
    const expr = catchingOffsets(spec, text, errors, () => parseExpr(text.text));
    if (expr && pattern) {
      const checked = checkExpr(expr, { captures: captureKinds, lets: letKinds });
      errors.push(...checked.errors.map((e) => errorIn(spec, text, e)));
      letKinds.set(name, checked.kind);
    } else letKinds.set(name, 'unknown');
    if (expr) lets.set(name, { expr, text });
  }
  const conditions: { expr: Expr; text: SourcedText }[] = [];
  for (const text of spec.where) {
    const expr = catchingOffsets(spec, text, errors, () => parseExpr(text.text));
    if (!expr) continue;
    if (pattern) errors.push(...checkExpr(expr, { captures: captureKinds, lets: letKinds }).errors.map((e) => errorIn(spec, text, e)));
    conditions.push({ expr, text });
  }
  const replacement = catchingOffsets(spec, replaceText, errors, () => parseReplacement(replaceText.text));
  if (replacement && pattern) {
    const letNames = [...optionNames, ...spec.let.map((l) => l.name)];
    errors.push(...checkReplacement(replacement, { captures: pattern.captures, lets: letNames }).map((e) => errorIn(spec, replaceText, e)));
    checkOps(spec, replaceText, replacementOps(replacement), format, errors, o);
    checkAttributes(spec, replaceText, replacementAttrs(replacement), format, errors);
  }
  if (errors.length > before || !pattern || !replacement) return undefined;
  return patternRule(spec, pattern, lets, conditions, replacement, replaceText);
}

function checkOps(spec: RuleSpec, text: SourcedText, ops: readonly OpRef[], format: FormatId, errors: RecipeError[], o: CompileRuleOptions): void {
  for (const ref of ops) {
    const domain = ref.domain ?? '';
    const known = o.opsOfAnyFormat ? ALL_FORMATS.some((f) => isKnownOp(f, ref.op, domain)) : isKnownOp(format, ref.op, domain);
    if (known) continue;
    const guess = suggestOp(ref.op, o.opsOfAnyFormat ? ALL_FORMATS.flatMap(knownOps) : knownOps(format));
    const where = o.opsOfAnyFormat ? 'any format' : format;
    errors.push(
      new RecipeError(
        locationInScalar(spec.source, text.path, ref.start),
        `unknown op '${ref.op}' for ${where}`,
        spec.id,
        guess ? `did you mean '${guess}'?` : 'a custom op needs its domain: domain::Op',
      ),
    );
  }
}

/**
 * Attribute names and literal values against the op's schema, where the
 * format has one (ONNX): a misspelt name would be written as it is, and a
 * runtime refuses the model; a string where a number belongs cannot be
 * converted. Only rules that name their formats are checked; names only for a
 * node whose every alternative op is known, against the attributes of all of
 * them together.
 */
function checkAttributes(spec: RuleSpec, text: SourcedText, sites: readonly AttrSite[], format: FormatId, errors: RecipeError[]): void {
  // A rule that names no format may be written for another format whose op has the same name (OpenVINO's Add takes auto_broadcast).
  if (spec.formats === null) return;
  for (const site of sites) {
    const schemas = site.ops.map((ref) => knownAttributes(format, ref.op, ref.domain ?? ''));
    if (schemas.some((s) => s === undefined)) continue;
    const kinds = [...new Set(schemas.flatMap((s) => s!.get(site.name) ?? []))];
    const opNames = [...new Set(site.ops.map((r) => r.op))].join('|');
    if (kinds.length === 0) {
      const names = [...new Set(schemas.flatMap((s) => [...s!.keys()]))].sort();
      const guess = closest(site.name, names);
      const hint = guess ? `did you mean '${guess}'?` : names.length ? `${opNames} takes: ${names.join(', ')}` : `${opNames} takes no attributes`;
      errors.push(new RecipeError(locationInScalar(spec.source, text.path, site.nameStart), `unknown attribute '${site.name}' for ${opNames}`, spec.id, hint));
      continue;
    }
    for (const { literal, start } of site.literals) {
      if (kinds.some((k) => literalFits(literal, k))) continue;
      errors.push(
        new RecipeError(
          locationInScalar(spec.source, text.path, start),
          `attribute '${site.name}' of ${opNames} is ${kinds.map((k) => `a${/^[aeiou]/.test(k) ? 'n' : ''} ${k}`).join(' or ')}, not ${describeLiteral(literal)}`,
          spec.id,
        ),
      );
    }
  }
}

/** Whether a literal can be written as an attribute of `kind` (a number as a float, an integer as an int, a single item as a list, ...). */
function literalFits(literal: Literal, kind: Attr['kind']): boolean {
  switch (literal.type) {
    case 'number':
      return kind === 'float' || kind === 'floats' || kind === 'tensor' || ((kind === 'int' || kind === 'ints') && literal.integer);
    case 'bool':
      return kind === 'int' || kind === 'ints';
    case 'string':
      return kind === 'string' || kind === 'strings';
    case 'list': {
      const item: Attr['kind'] | undefined = kind === 'ints' ? 'int' : kind === 'floats' || kind === 'tensor' ? 'float' : kind === 'strings' ? 'string' : undefined;
      return item !== undefined && literal.items.every((x) => x.type !== 'list' && literalFits(x, item));
    }
  }
}

function describeLiteral(literal: Literal): string {
  switch (literal.type) {
    case 'number':
      return literal.integer ? `the integer ${literal.value}` : `the number ${literal.value}`;
    case 'string':
      return `the string ${JSON.stringify(literal.value)}`;
    case 'bool':
      return `the boolean ${literal.value}`;
    default:
      return 'a list';
  }
}

/** A known op close to a misspelt one; swapped letters (`Rleu`) count as the closest. */
function suggestOp(op: string, known: readonly string[]): string | undefined {
  const letters = (s: string): string => [...s.toLowerCase()].sort().join('');
  return known.find((k) => k.length === op.length && letters(k) === letters(op)) ?? closest(op, known);
}

/**
 * The `let` values of one match, each computed on first use and then kept, so
 * that `where` can use them, a failed condition skips the rest, and the
 * replacement reuses what the conditions already computed.
 */
class LazyLets implements NameTable {
  /** Values computed so far (none until a condition or the replacement asks). */
  private known: Map<string, ExprValue> | undefined;
  /** Names being computed, innermost last: a let that reaches itself is an error, not an endless loop. */
  private computing: string[] | undefined;
  /** What the rule's expressions see at this match: the captures, these lets, the model. */
  readonly env: ExprEnv;

  constructor(
    private readonly defs: ReadonlyMap<string, { expr: Expr; text: SourcedText }>,
    private readonly options: Readonly<Record<string, unknown>>,
    captures: NameTable,
    context: EvalContext,
  ) {
    this.env = { captures, lets: this, context };
  }
  has(name: string): boolean {
    return this.defs.has(name) || name in this.options;
  }
  /** The names computed so far, in the order computed (what a Map of them would list). */
  keys(): string[] {
    return this.known ? [...this.known.keys()] : [];
  }
  get(name: string): ExprValue | undefined {
    const known = this.known?.get(name);
    if (known !== undefined) return known;
    const def = this.defs.get(name);
    if (!def) {
      if (!(name in this.options)) return undefined;
      const v = optionValue(this.options[name]);
      (this.known ??= new Map()).set(name, v);
      return v;
    }
    const computing = (this.computing ??= []);
    if (computing.includes(name)) throw new ExprError(def.expr.start, def.expr.end, `let '${name}' depends on itself`);
    computing.push(name);
    try {
      const v = evaluateIn(def, this.env);
      (this.known ??= new Map()).set(name, v);
      return v;
    } finally {
      computing.pop();
    }
  }
}

/** An expression failure at match time, with the name of the field it comes from. */
class RuleEvalError extends Error {
  constructor(
    readonly text: SourcedText,
    readonly failure: ExprError | PatternSyntaxError,
  ) {
    super(failure.reason);
  }
}

/** Evaluates a `let` or `where` expression; its failure names the field it comes from. */
function evaluateIn(def: { expr: Expr; text: SourcedText }, env: ExprEnv): ExprValue {
  try {
    return evaluate(def.expr, env);
  } catch (e) {
    if (e instanceof ExprError) throw new RuleEvalError(def.text, e);
    throw e;
  }
}

function patternRule(
  spec: RuleSpec,
  pattern: CompiledPattern,
  lets: ReadonlyMap<string, { expr: Expr; text: SourcedText }>,
  conditions: readonly { expr: Expr; text: SourcedText }[],
  replacement: ReplacementAst,
  replaceText: SourcedText,
): PatternRule {
  const where = (text: SourcedText, e: { start: number }): string => {
    const loc = locationInScalar(spec.source, text.path, e.start);
    return `${loc.file}:${loc.line}:${loc.col}`;
  };
  return {
    kind: 'pattern',
    id: spec.id,
    rootOps: pattern.rootOps,
    sharedIntermediates: spec.sharedIntermediates,
    match(node: Node, ctx: RuleContext): RuleHit | RuleMiss {
      if (spec.nodes && !nodeGlobs().isMatch(node.name, [...spec.nodes])) {
        return { ok: false, reason: `node name '${node.name}' does not match ${spec.nodes.join(', ')}` };
      }
      const context = evalContextOf(ctx);
      // skipReason let the rule through for some graph; a function body has
      // opsets of its own, so each graph's is checked here.
      if (spec.opset && context.format === 'onnx') {
        const v = context.opsets?.[''] ?? context.opsets?.['ai.onnx'];
        if (!opsetInRange(v, spec.opset)) {
          const of = ctx.function ? `function '${functionLabel(ctx.function)}'` : 'the model';
          return { ok: false, reason: `not for opset ${v}, the opset of ${of} (opset ${spec.opset.min ?? ''}..${spec.opset.max ?? ''})` };
        }
      }
      const m = pattern.match(node);
      if (!m.ok) return { ok: false, reason: m.reason };
      const captures = new CaptureTable(m.bindings, ctx.model.format === 'openvino');
      const letValues = new LazyLets(lets, spec.options, captures, context);
      const env = letValues.env;
      for (const c of conditions) {
        try {
          if (!truthy(evaluateIn(c, env), c.expr)) return { ok: false, reason: `condition '${c.text.text}' is false` };
        } catch (e) {
          // A let the condition reads names its own field; the truth test of the condition, the condition.
          const failure = e instanceof RuleEvalError ? e : e instanceof ExprError ? new RuleEvalError(c.text, e) : undefined;
          if (!failure) throw e;
          return { ok: false, error: true, reason: `${where(failure.text, failure.failure)}: ${failure.failure.reason} (in '${failure.text.text}')` };
        }
      }
      return {
        ok: true,
        matched: m.bindings.matchedNodes,
        rewrite(graph, reuseOutputs) {
          try {
            const built = instantiate(replacement, {
              graph,
              bindings: m.bindings,
              reuseOutputs,
              // Every TFLite tensor and every IR output port declares a dtype and shape; ONNX leaves new values undeclared.
              declareTypes: context.format === 'tflite' || context.format === 'openvino',
              attributeKinds: (op, domain) => knownAttributes(context.format as FormatId, op, domain),
              ...(context.format === 'onnx' ? { undeclaredDType: likelyDType } : {}),
              evaluate: (expr, locals) => {
                if (locals.size === 0) return evaluate(expr, env);
                const merged = new Map([...letValuesEntries(letValues, lets, spec.options), ...locals]);
                return evaluate(expr, { captures, lets: merged, context });
              },
            });
            try {
              redirectReplacedOutputs(built.outputs, reuseOutputs);
            } catch (e) {
              restoreRedirected(built.outputs, reuseOutputs);
              built.undo();
              throw e;
            }
            return { nodes: built.nodes, undo: () => { restoreRedirected(built.outputs, reuseOutputs); built.undo(); } };
          } catch (e) {
            if (e instanceof RuleEvalError) throw new Error(`${where(e.text, e.failure)}: ${e.failure.reason}`);
            if (e instanceof PatternSyntaxError || e instanceof ExprError) throw new Error(`${where(replaceText, e)}: ${e.reason}`);
            throw e;
          }
        },
      };
    },
  };
}

/** The model facts expressions may ask for (format, opsets, target), made once per rule context rather than per match. */
const evalContexts = new WeakMap<RuleContext, EvalContext>();
function evalContextOf(ctx: RuleContext): EvalContext {
  let context = evalContexts.get(ctx);
  if (!context) {
    context = {
      format: ctx.model.format,
      // A function body's own opsets, not the model's.
      opsets: Object.fromEntries(ctx.opsets.map((o) => [o.domain, o.version])),
      target: ctx.target,
    };
    evalContexts.set(ctx, context);
  }
  return context;
}

/** Every let value (forcing the lazy ones), for an environment that adds loop variables. */
function letValuesEntries(values: LazyLets, defs: ReadonlyMap<string, unknown>, options: Readonly<Record<string, unknown>>): [string, ExprValue][] {
  const names = [...Object.keys(options), ...defs.keys()];
  return names.map((n) => [n, values.get(n) ?? null]);
}

/** Readers of values the replacement did not reuse (`replace: $x`) read the new value instead. */
const redirected = new WeakMap<Value, { node: Node; index: number }[]>();
function redirectReplacedOutputs(outputs: readonly Value[], reuse: readonly Value[]): void {
  reuse.forEach((old, i) => {
    const now = outputs[i];
    if (!now || now === old) return;
    if (old.isGraphOutput) throw new Error(`the replacement is the existing value '${now.name}', but '${old.name}' is a graph output whose name must stay`);
    redirected.set(old, [...old.uses]);
    old.replaceAllUsesWith(now);
  });
}
function restoreRedirected(outputs: readonly Value[], reuse: readonly Value[]): void {
  reuse.forEach((old, i) => {
    const uses = redirected.get(old);
    if (!uses || outputs[i] === old) return;
    for (const u of uses) u.node.setInput(u.index, old);
    redirected.delete(old);
  });
}

let micromatchLib: typeof micromatch | undefined;
/** micromatch, loaded for the first rule with `nodes:`: loading it slows every CLI start. */
function nodeGlobs(): typeof micromatch {
  return (micromatchLib ??= require('micromatch') as typeof micromatch);
}

let paramsAjv: Ajv | undefined;
function compileAction(spec: RuleSpec, errors: RecipeError[]): ActionRule | undefined {
  const name = spec.action!;
  const def = findAction(name);
  if (!def) {
    const guess = closest(name, actionNames());
    errors.push(new RecipeError(ruleFieldLocation(spec, ['action']), `unknown action '${name}'`, spec.id, guess ? `did you mean '${guess}'?` : `actions: ${actionNames().join(', ')}`));
    return undefined;
  }
  // ajv is loaded on the first action rule only: loading it is a good part of a
  // CLI start, and most recipes have no action rule.
  paramsAjv ??= new (require('ajv') as typeof import('ajv')).default({ allErrors: true, strict: false });
  const validate = paramsAjv.compile(def.params);
  if (!validate(spec.params)) {
    for (const e of validate.errors ?? []) {
      if (e.keyword === 'additionalProperties') {
        const key = e.params.additionalProperty as string;
        const guess = closest(key, Object.keys(def.params.properties));
        errors.push(new RecipeError(paramLocation(spec, key, 'key'), `action '${name}' has no parameter '${key}'`, spec.id, guess ? `did you mean '${guess}'?` : `its parameters: ${Object.keys(def.params.properties).join(', ') || 'none'}`));
      } else {
        const field = e.instancePath.slice(1);
        const [key, ...inside] = field ? field.split('/') : [];
        const insidePath = inside.map((p) => (/^\d+$/.test(p) ? Number(p) : p));
        errors.push(new RecipeError(paramLocation(spec, key, 'value', insidePath), `parameter ${field ? `'${field}' ` : ''}${e.message ?? 'is invalid'}`, spec.id));
      }
    }
    return undefined;
  }
  const params = { ...spec.params };
  const run = (model: Model): ActionOutcome => {
    try {
      return def.run(model, params);
    } catch (e) {
      // Parameters that do not fit this model: the user's to change, at the rule that gives them.
      if (e instanceof ActionError) throw new ActionRefusedError(paramLocation(spec), spec.id, e.message, e.hint);
      throw e;
    }
  };
  return { kind: 'action', id: spec.id, action: name, recipe: spec.recipe.name, run };
}
