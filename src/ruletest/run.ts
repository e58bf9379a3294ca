import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isScalar, parseDocument, Scalar, Document } from 'yaml';
// The built-in actions (fix-shape, merge-models) must be registered before a pack's rules compile.
import '../actions';
import { RecipeError, RecipeErrors } from '../errors';
import { Model, type FormatId } from '../ir/model';
import { printModel } from '../ir/text/print';
import { GraphTextError, parseGraph, parseModel } from '../ir/text/parse';
import { writeModel } from '../formats';
import { loadBundle } from '../recipe/bundle';
import { applyBundle } from '../recipe/run';
import { locationOf } from '../recipe/source';
import { diffLines } from './diff';
import { compareOutputs, DEFAULT_BACKENDS, randomInputs, type NumericBackend } from './numeric';
import { loadRuleTestFile, type CaseSpec, type RuleTestFile } from './spec';

export interface RuleTestOptions {
  /** Write the snapshots of rewrites cases instead of comparing (`recipe test -u`). */
  update?: boolean;
  /** Run numeric checks (default true). */
  numeric?: boolean;
  /** Runtimes per format; default onnxruntime for ONNX and LiteRT for TFLite. */
  backends?: Partial<Record<FormatId, NumericBackend>>;
}

/** What a numeric check found. */
export type NumericOutcome =
  | { ran: true; backend: string; maxAbsDiff: number; tolerance: number; expect: 'same' | 'different'; mismatch: number; beyondShare: number }
  | { ran: false; reason: string };

/** The outcome of one case. */
export interface CaseResult {
  name: string;
  kind: 'rewrites' | 'keeps';
  rule: string;
  ok: boolean;
  /** Applications of the rule. */
  applied: number;
  /** `written`: a new snapshot; `updated`: a changed one (both only with `update`). */
  snapshot?: 'matched' | 'written' | 'updated';
  /** Why it failed, one line each. */
  problems: string[];
  /** Expected (snapshot or input) vs actual graph text, when they differ. */
  diff?: string;
  /** The graph text after the rule. */
  after?: string;
  numeric?: NumericOutcome;
}

/** The outcome of one test file. */
export interface FileResult {
  file: string;
  recipe?: string;
  cases: CaseResult[];
  /** The file itself could not be used (YAML, schema, recipe errors). */
  errors: RecipeError[];
  /** Snapshot entries no case has any more (removed with `update`). */
  obsolete: string[];
  /** Rules of the tested recipe file that no case names: every rule carries its own cases. */
  untested: string[];
}

/** Runs every case of the rule test files; never throws for a failing case. */
export async function runRuleTests(files: readonly string[], options: RuleTestOptions = {}): Promise<FileResult[]> {
  const results: FileResult[] = [];
  for (const f of files) results.push(await runRuleTestFile(f, options));
  return results;
}

/** Runs the cases of one rule test file and compares (or, with `update`, writes) its snapshots. */
export async function runRuleTestFile(file: string, options: RuleTestOptions = {}): Promise<FileResult> {
  const { test, errors } = loadRuleTestFile(file);
  if (!test) return { file, cases: [], errors, obsolete: [], untested: [] };
  const snapshots = readSnapshots(test.snapshot);
  const next = new Map<string, string>();
  const result: FileResult = { file, recipe: test.recipe, cases: [], errors: [], obsolete: [], untested: untestedRules(test) };
  for (const c of test.cases) {
    const r = await runCase(test, c, snapshots.get(c.name), options);
    result.cases.push(r);
    if (c.kind === 'rewrites' && r.after !== undefined && r.applied > 0) next.set(c.name, r.after);
  }
  const names = new Set(test.cases.filter((c) => c.kind === 'rewrites').map((c) => c.name));
  result.obsolete = [...snapshots.keys()].filter((k) => !names.has(k));
  if (options.update) {
    // Keep the entries of cases that failed before producing a graph, so -u never loses a snapshot by accident.
    for (const [k, v] of snapshots) if (names.has(k) && !next.has(k)) next.set(k, v);
    writeSnapshots(test.snapshot, next, snapshots);
  }
  return result;
}

/**
 * The rules of the recipe under test (not of the files it extends, which have
 * tests of their own) that no case of the test file names.
 */
function untestedRules(test: RuleTestFile): string[] {
  let rules;
  try {
    rules = loadBundle([test.recipe]).rules;
  } catch (e) {
    if (e instanceof RecipeErrors) return []; // every case reports the recipe's errors
    throw e;
  }
  const named = new Set(test.cases.map((c) => c.rule));
  const own = path.resolve(test.recipe);
  return rules.filter((r) => path.resolve(r.source.file) === own && !named.has(r.id)).map((r) => r.id);
}

async function runCase(test: RuleTestFile, c: CaseSpec, snapshot: string | undefined, options: RuleTestOptions): Promise<CaseResult> {
  const r: CaseResult = { name: c.name, kind: c.kind, rule: c.rule, ok: false, applied: 0, problems: [] };
  const at = (field?: string): string => {
    const loc = locationOf(test.source, field ? [...c.path, field] : c.path);
    return `${loc.file}:${loc.line}:${loc.col}`;
  };
  let bundle;
  try {
    bundle = loadBundle([test.recipe]);
  } catch (e) {
    if (e instanceof RecipeErrors) {
      r.problems.push(...e.errors.map((x) => x.message));
      return r;
    }
    throw e;
  }
  const rule = bundle.rules.find((x) => x.id === c.rule);
  if (!rule) {
    r.problems.push(`${at('rule')}: ${path.basename(test.recipe)} has no rule '${c.rule}' (it has ${bundle.rules.map((x) => x.id).join(', ') || 'none'})`);
    return r;
  }
  for (const other of bundle.rules) other.enabled = other === rule;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'recipe-ruletest-'));
  try {
    const format = c.format ?? rule.formats?.[0] ?? 'onnx';
    let before: Model;
    let model: Model;
    try {
      before = buildModel(c, format);
      model = buildModel(c, format);
    } catch (e) {
      if (e instanceof GraphTextError) {
        r.problems.push(`${graphLocation(test, c, e)}: graph text: ${e.reason}${e.hint ? ` (${e.hint})` : ''}`);
        return r;
      }
      throw e;
    }
    const files = new Map<string, string>();
    for (const [name, text] of Object.entries(c.files)) {
      const extra = buildModel({ ...c, graph: text }, format);
      const ext = format === 'onnx' ? '.onnx' : format === 'tflite' ? '.tflite' : '.xml';
      const p = path.join(work, `${name}${ext}`);
      writeModel(extra, p, { externalData: 'inline' });
      files.set(name, p);
    }
    if (c.options) {
      const values = substituteFiles(c.options, files) as Record<string, unknown>;
      if (rule.action) rule.params = { ...rule.params, ...values };
      else {
        for (const [k, v] of Object.entries(values)) {
          if (!(k in rule.options)) r.problems.push(`${at('options')}: rule '${rule.id}' has no option '${k}'`);
          rule.options[k] = v;
        }
        if (r.problems.length) return r;
      }
    }
    let report;
    try {
      report = applyBundle(model, bundle, { target: c.target });
    } catch (e) {
      if (e instanceof RecipeErrors) r.problems.push(...e.errors.map((x) => x.message));
      else r.problems.push(`applying the rule failed: ${(e as Error).message}`);
      return r;
    }
    const stats = report.rules.find((s) => s.id === rule.id);
    r.applied = stats?.rewrites ?? 0;
    for (const refused of stats?.refused ?? []) r.problems.push(`a rewrite at '${refused.node}' was refused: ${refused.reason}`);
    for (const w of report.warnings) r.problems.push(`warning: ${w}`);
    const beforeText = printModel(before);
    const afterText = printModel(model);
    r.after = afterText;
    if (c.kind === 'keeps') {
      if (r.applied > 0) r.problems.push(`the rule fired ${r.applied} time(s) but this case must be kept`);
      if (afterText !== beforeText) {
        r.problems.push('the graph changed');
        r.diff = diffLines(beforeText, afterText);
      }
    } else {
      if (r.applied === 0) r.problems.push('the rule did not fire');
      else if (c.fires !== undefined && r.applied !== c.fires) r.problems.push(`the rule fired ${r.applied} time(s), expected ${c.fires}`);
      if (afterText === beforeText && r.applied > 0) r.problems.push('the rule fired but the graph text did not change');
      if (options.update) {
        r.snapshot = snapshot === undefined ? 'written' : snapshot === afterText ? 'matched' : 'updated';
      } else if (snapshot === undefined) {
        r.problems.push(`no snapshot for this case in ${path.relative(process.cwd(), test.snapshot)}; run 'recipe test -u' to write it, then review it`);
        r.diff = afterText.replace(/\n$/, '').split('\n').map((l) => `+ ${l}`).join('\n') + '\n';
      } else if (snapshot !== afterText) {
        r.problems.push('the graph after the rule differs from the snapshot (- snapshot, + now)');
        r.diff = diffLines(snapshot, afterText);
      } else r.snapshot = 'matched';
    }
    if (c.numeric && options.numeric !== false && r.applied > 0) {
      const backend = (options.backends ?? DEFAULT_BACKENDS)[format];
      if (!backend) {
        r.numeric = { ran: false, reason: `no runtime for ${format} here` };
      } else {
        try {
          const inputs = randomInputs(before.graph, c.numeric);
          const run = await backend.run(before, model, inputs, work);
          const cmp = compareOutputs(run, c.numeric);
          r.numeric = { ran: true, backend: backend.name, maxAbsDiff: cmp.maxAbsDiff, tolerance: c.numeric.tolerance, expect: c.numeric.expect, mismatch: c.numeric.mismatch, beyondShare: cmp.beyondShare };
          if (!cmp.ok) r.problems.push(`numeric (${backend.name}): ${cmp.problem}`);
        } catch (e) {
          r.numeric = { ran: false, reason: (e as Error).message };
          r.problems.push(`numeric (${backend.name}): ${(e as Error).message.split('\n')[0]}`);
        }
      }
    }
    r.ok = r.problems.length === 0;
    return r;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The case's model: `model ...` text as it is, or a bare `graph` block in the case's format and opset. */
function buildModel(c: Pick<CaseSpec, 'graph' | 'opset'>, format: FormatId): Model {
  const firstWord = c.graph.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'))?.split(/\s+/)[0];
  if (firstWord === 'model') return parseModel(c.graph, { constants: 'random' });
  const graph = parseGraph(c.graph, { constants: 'random', format });
  const model = new Model(format, graph);
  if (format === 'onnx') model.opsets = [{ domain: '', version: c.opset ?? 17 }];
  return model;
}

/** `{file: NAME}` in parameters becomes the path of the case's extra model NAME. */
function substituteFiles(value: unknown, files: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => substituteFiles(v, files));
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1 && entries[0]![0] === 'file' && typeof entries[0]![1] === 'string') {
      const p = files.get(entries[0]![1]);
      if (!p) throw new Error(`the case has no file '${entries[0]![1]}' (give it under files:)`);
      return p;
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, substituteFiles(v, files)]));
  }
  return value;
}

/** Where a graph text error sits in the test file: the block scalar's line plus the error's line. */
function graphLocation(test: RuleTestFile, c: CaseSpec, e: GraphTextError): string {
  const start = locationOf(test.source, [...c.path, 'graph']);
  // A block scalar's text starts on the line after its `|` indicator.
  const node = test.source.doc.getIn([...c.path, 'graph'], true);
  const block = isScalar(node) && (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED);
  const line = start.line + e.line - (block ? 0 : 1);
  return `${start.file}:${line}:${block ? e.col : start.col + e.col - 1}`;
}

/** The snapshot file's entries: case name -> graph text. */
export function readSnapshots(file: string): Map<string, string> {
  if (!fs.existsSync(file)) return new Map();
  const doc = parseDocument(fs.readFileSync(file, 'utf8'));
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const { line, col } = e.linePos?.[0] ?? { line: 1, col: 1 };
    throw new RecipeError({ file, line, col }, `snapshot file is not valid YAML: ${e.message.split('\n')[0]}`, undefined, "fix or delete it, then run 'recipe test -u'");
  }
  const data = (doc.toJS() ?? {}) as Record<string, unknown>;
  return new Map(Object.entries(data).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** Writes the snapshots as block scalars, in case order; touches the file only when something changed. */
function writeSnapshots(file: string, entries: ReadonlyMap<string, string>, old: ReadonlyMap<string, string>): void {
  const same = entries.size === old.size && [...entries].every(([k, v]) => old.get(k) === v);
  if (same && fs.existsSync(file)) return;
  if (entries.size === 0) {
    if (fs.existsSync(file)) fs.rmSync(file);
    return;
  }
  const doc = new Document(Object.fromEntries(entries));
  doc.commentBefore = ' Written by `recipe test -u`: the graph of each `rewrites` case after its rule.\n Review changes to this file like code.';
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, doc.toString({ defaultStringType: 'BLOCK_LITERAL', defaultKeyType: 'PLAIN', lineWidth: 0 }));
}
