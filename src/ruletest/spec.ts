import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { RecipeError } from '../errors';
import type { FormatId } from '../ir/model';
import { PACKAGE_ROOT } from '../package-root';
import { locationOf, parseRecipeSource, type DataPath, type RecipeSource } from '../recipe/source';

/** How a numeric check runs: seeded random inputs, tolerance, expected outcome. */
export interface NumericSpec {
  seed: number;
  range: [number, number];
  inputs: Record<string, [number, number]>;
  dims: Record<string, number>;
  /** Whole shapes of named inputs (for dimensions the model leaves unnamed). */
  shapes: Record<string, number[]>;
  tolerance: number;
  rtol: number;
  /** The fraction of an output's elements that may lie beyond the tolerance (a class map changing near borders). */
  mismatch: number;
  expect: 'same' | 'different';
}

/** One case of a rule test file. */
export interface CaseSpec {
  readonly kind: 'rewrites' | 'keeps';
  readonly name: string;
  readonly description?: string;
  readonly rule: string;
  readonly graph: string;
  readonly format?: FormatId;
  readonly opset?: number;
  readonly target: string;
  readonly options?: Record<string, unknown>;
  readonly files: Record<string, string>;
  readonly fires?: number;
  readonly numeric?: NumericSpec;
  /** Path of the case in the test file, for error positions. */
  readonly path: DataPath;
}

/** A rule test file, loaded and validated. */
export interface RuleTestFile {
  readonly file: string;
  /** The recipe file under test (absolute). */
  readonly recipe: string;
  /** The snapshot file (absolute), `__snapshots__/<recipe base>.snap.yaml` beside the test. */
  readonly snapshot: string;
  readonly source: RecipeSource;
  readonly cases: readonly CaseSpec[];
}

/** The published schema of rule test files. */
export const RULETEST_SCHEMA_PATH = path.join(PACKAGE_ROOT, 'schema/ruletest.schema.json');

let validator: ValidateFunction | undefined;
function schemaValidator(): ValidateFunction {
  validator ??= new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(fs.readFileSync(RULETEST_SCHEMA_PATH, 'utf8')) as object);
  return validator;
}

interface RawCase {
  name: string;
  description?: string;
  rule?: string;
  graph: string;
  format?: FormatId;
  opset?: number;
  target?: string;
  options?: Record<string, unknown>;
  files?: Record<string, string>;
  fires?: number;
  numeric?: boolean | Partial<NumericSpec>;
}

interface RawTestFile {
  recipe?: string;
  rule?: string;
  rewrites?: RawCase[];
  keeps?: RawCase[];
}

const DEFAULT_NUMERIC: NumericSpec = { seed: 1, range: [-2, 2], inputs: {}, dims: {}, shapes: {}, tolerance: 1e-5, rtol: 0, mismatch: 0, expect: 'same' };

/** The test file beside a recipe file: `x.yaml` -> `x.test.yaml`. */
export function testFileFor(recipeFile: string): string {
  return recipeFile.replace(/\.ya?ml$/, '.test.yaml');
}

/**
 * Reads a rule test file. Every problem (YAML, schema, unknown rule id is
 * checked later by the runner, duplicate case names) is returned as a
 * RecipeError at its file:line:col; nothing is thrown.
 */
export function loadRuleTestFile(file: string): { test?: RuleTestFile; errors: RecipeError[] } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return { errors: [new RecipeError({ file, line: 1, col: 1 }, `cannot read rule test: ${(e as Error).message}`)] };
  }
  const { source, errors } = parseRecipeSource(file, text);
  if (errors.length) return { errors };
  const validate = schemaValidator();
  if (!validate(source.data)) {
    return {
      errors: (validate.errors ?? []).map((e) => {
        const p: DataPath = e.instancePath.split('/').slice(1).map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
        const extra = e.keyword === 'additionalProperties' ? ` '${String((e.params as { additionalProperty?: string }).additionalProperty)}'` : '';
        return new RecipeError(locationOf(source, p), `${e.instancePath || 'the file'} ${e.message ?? 'is invalid'}${extra}`);
      }),
    };
  }
  const raw = (source.data ?? {}) as RawTestFile;
  const dir = path.dirname(path.resolve(file));
  const recipe = path.resolve(dir, raw.recipe ?? path.basename(file).replace(/\.test\.ya?ml$/, '.yaml'));
  const snapshot = path.join(dir, '__snapshots__', path.basename(recipe).replace(/\.ya?ml$/, '.snap.yaml'));
  const cases: CaseSpec[] = [];
  const seen = new Set<string>();
  const problems: RecipeError[] = [];
  for (const kind of ['rewrites', 'keeps'] as const) {
    (raw[kind] ?? []).forEach((c, index) => {
      const at: DataPath = [kind, index];
      if (seen.has(c.name)) problems.push(new RecipeError(locationOf(source, [...at, 'name']), `case name '${c.name}' is used twice`, undefined, 'snapshots are keyed by case name'));
      seen.add(c.name);
      const rule = c.rule ?? raw.rule;
      if (!rule) {
        problems.push(new RecipeError(locationOf(source, at), `case '${c.name}' names no rule`, undefined, 'give `rule:` at the top of the file or in the case'));
        return;
      }
      if (kind === 'keeps' && c.fires !== undefined) problems.push(new RecipeError(locationOf(source, [...at, 'fires']), '`fires` belongs to rewrites cases'));
      cases.push({
        kind,
        name: c.name,
        description: c.description,
        rule,
        graph: c.graph,
        format: c.format,
        opset: c.opset,
        target: c.target ?? 'default',
        options: c.options,
        files: c.files ?? {},
        fires: c.fires,
        numeric: c.numeric === undefined || c.numeric === false ? undefined : c.numeric === true ? { ...DEFAULT_NUMERIC } : { ...DEFAULT_NUMERIC, ...c.numeric },
        path: at,
      });
    });
  }
  if (problems.length) return { errors: problems };
  return { test: { file, recipe, snapshot, source, cases }, errors: [] };
}

/**
 * The rule test files named by `entries`: a `*.test.yaml` file, a recipe file
 * (its sibling test file), a folder (every test file under it), or the name of
 * a built-in pack. Sorted, each once.
 */
export function findRuleTestFiles(entries: readonly string[], packsDir: string): string[] {
  const out = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== '__snapshots__') walk(p);
      } else if (/\.test\.ya?ml$/.test(e.name)) out.add(path.resolve(p));
    }
  };
  for (const entry of entries) {
    const isPack = !/[\\/]/.test(entry) && !/\.ya?ml$/.test(entry) && !fs.existsSync(entry);
    const p = isPack ? path.join(packsDir, entry) : entry;
    if (!fs.existsSync(p)) throw new RecipeError({ file: entry, line: 1, col: 1 }, isPack ? `no built-in pack '${entry}'` : 'no such file or folder');
    if (fs.statSync(p).isDirectory()) walk(p);
    else if (/\.test\.ya?ml$/.test(p)) out.add(path.resolve(p));
    else {
      const t = testFileFor(p);
      if (!fs.existsSync(t)) throw new RecipeError({ file: p, line: 1, col: 1 }, 'this recipe file has no rule test beside it', undefined, `write ${path.basename(t)}`);
      out.add(path.resolve(t));
    }
  }
  return [...out].sort();
}
