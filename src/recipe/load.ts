import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ErrorObject } from 'ajv';
import { closest } from '../expr';
import { RecipeError, type RecipeLocation } from '../errors';
import type { FormatId } from '../ir/model';
import { PACKAGE_ROOT } from '../package-root';
import { validateRecipeSchema } from './recipe-schema.generated';
import { locationAt, locationOf, nodeAt, parseRecipeSource, type DataPath, type RecipeSource } from './source';

/** A `where`, `let` or `match` string with the path of its YAML field, to map error offsets back. */
export interface SourcedText {
  readonly text: string;
  readonly path: DataPath;
}

/** One rule as written in a recipe file, after schema validation. */
export interface RuleSpec {
  readonly id: string;
  readonly description?: string;
  /** The file the rule comes from, and the path of the rule inside it. */
  readonly source: RecipeSource;
  readonly path: DataPath;
  readonly recipe: RecipeFile;
  enabled: boolean;
  /** Formats the rule applies to; null = every format. */
  readonly formats: readonly FormatId[] | null;
  /** Targets the rule runs for; null = every target. */
  targets: readonly string[] | null;
  readonly match?: SourcedText;
  readonly where: readonly SourcedText[];
  readonly let: readonly { name: string; expr: SourcedText }[];
  /** One replacement, or one per target (`default` for the others). */
  readonly replace?: SourcedText | ReadonlyMap<string, SourcedText>;
  readonly nodes?: readonly string[];
  readonly opset?: { min?: number; max?: number };
  readonly sharedIntermediates: boolean;
  /** Declared options with their values (defaults, then overrides). */
  options: Record<string, unknown>;
  readonly action?: string;
  /** Parameters of the action (`params`, then overrides' `options`). */
  params: Record<string, unknown>;
  /** Where the override that last set `params` keys wrote its `options` (errors about them point there). */
  paramsFrom?: { readonly source: RecipeSource; readonly path: DataPath; readonly keys: ReadonlySet<string> }[];
}

/**
 * Where an action parameter comes from: the last override that set it, else
 * the rule's own `params`. Without a key: the last override that set any.
 */
export function paramLocation(rule: RuleSpec, key?: string, at: 'value' | 'key' = 'value', inside: DataPath = []): RecipeLocation {
  const from = [...(rule.paramsFrom ?? [])].reverse().find((o) => key === undefined || o.keys.has(key));
  const field = key === undefined ? [] : [key, ...inside];
  if (from) return locationOf(from.source, [...from.path, ...field], at);
  return ruleFieldLocation(rule, ['params', ...field], at);
}

/** A rule override of a later file: `off`/`on`, options, targets. */
export interface RuleOverride {
  readonly ruleId: string;
  readonly path: DataPath;
  readonly enabled?: boolean;
  readonly options?: Record<string, unknown>;
  readonly targets?: readonly string[];
}

/** One recipe file, loaded and validated against the schema. */
export interface RecipeFile {
  readonly file: string;
  readonly source: RecipeSource;
  readonly name: string;
  readonly version?: string;
  readonly description?: string;
  /** sha256 of the file's bytes, recorded in the rewritten model. */
  readonly sha256: string;
  readonly extends: readonly { spec: string; path: DataPath }[];
  /** The target the file is a bundle for (`target:`), used by apply without --target. */
  readonly target?: string;
  readonly targets: readonly string[];
  readonly maxIterations?: number;
  readonly rules: RuleSpec[];
  readonly overrides: readonly RuleOverride[];
}

/** The published schema; read from the package (`schema/` sits beside `src/` and `dist/`). */
export const RECIPE_SCHEMA_PATH = path.join(PACKAGE_ROOT, 'schema/recipe.schema.json');

// Validation runs the code scripts/gen-recipe-validator.js generated from the
// schema (compiling it with ajv at every start cost more than loading the
// recipe); the schema itself is read only for the hints of an error.
let schema: Record<string, unknown> | undefined;
function recipeSchema(): Record<string, unknown> {
  schema ??= JSON.parse(fs.readFileSync(RECIPE_SCHEMA_PATH, 'utf8')) as Record<string, unknown>;
  return schema;
}

/** Reads and validates one recipe file; every problem found is returned, none thrown. */
export function loadRecipeFile(file: string, text?: string): { recipe?: RecipeFile; errors: RecipeError[] } {
  let content: string;
  try {
    if (text !== undefined) content = text;
    else {
      const bytes = readRecipeBytes(file);
      if (typeof bytes === 'string') return { errors: [new RecipeError({ file, line: 1, col: 1 }, `cannot read recipe: ${bytes}`)] };
      const bad = firstInvalidUtf8(bytes);
      if (bad >= 0) {
        // Decoding would turn the byte into U+FFFD, and the error would be about that character somewhere later.
        const before = bytes.subarray(0, bad).toString('utf8');
        const line = before.split('\n').length;
        const col = before.length - before.lastIndexOf('\n');
        return { errors: [new RecipeError({ file, line, col }, `the file is not UTF-8: byte 0x${bytes[bad]!.toString(16).padStart(2, '0')} at offset ${bad} starts no valid character`, undefined, 'save the recipe as UTF-8')] };
      }
      content = bytes.toString('utf8');
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder, not a recipe file' : (e as Error).message;
    // `recipes/edgetpu` for `recipes/edgetpu.yaml`: the extension left out of a path.
    const withExtension = code === 'ENOENT' && !/\.ya?ml$/.test(file) ? ['.yaml', '.yml'].map((ext) => file + ext).find((f) => fs.existsSync(f)) : undefined;
    return { errors: [new RecipeError({ file, line: 1, col: 1 }, `cannot read recipe: ${reason}`, undefined, withExtension ? `did you mean '${withExtension}'?` : undefined)] };
  }
  const { source, errors } = parseRecipeSource(file, content);
  if (errors.length) return { errors };
  if (source.data === null || typeof source.data !== 'object' || Array.isArray(source.data)) {
    return { errors: [new RecipeError(locationAt(source, 0), 'a recipe file is a map with at least `recipe:` and `rules:`')] };
  }
  const data = source.data as Record<string, unknown>;
  if (!('recipe' in data) && 'rule' in data && ('rewrites' in data || 'keeps' in data)) {
    // A rule's test cases beside it (x.test.yaml), given where a recipe was expected.
    return { errors: [new RecipeError(locationAt(source, 0), 'this is a rule-test file, not a recipe', undefined, 'run its cases with `recipe test <recipe.yaml>`')] };
  }
  if (!validateRecipeSchema(source.data)) {
    return { errors: schemaErrors(source, validateRecipeSchema.errors ?? []) };
  }
  return buildRecipe(source, content);
}

/** The largest recipe file read: hand-written rules are a few KB; a bigger file is a wrong path. */
export const MAX_RECIPE_BYTES = 16 * 1024 * 1024;

/**
 * The bytes of a recipe file, or why it is not read: a device, a FIFO (/dev/zero,
 * /dev/stdin given to `extends` would never end) or a file over MAX_RECIPE_BYTES.
 * Folders and missing files throw, as reading them does.
 */
function readRecipeBytes(file: string): Buffer | string {
  const fd = fs.openSync(file, 'r');
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw Object.assign(new Error('folder'), { code: 'EISDIR' });
    if (!st.isFile()) return 'it is not a regular file';
    if (st.size > MAX_RECIPE_BYTES) return `the file has ${st.size} bytes (limit ${MAX_RECIPE_BYTES}); is it a recipe?`;
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The offset of the first byte that is not part of a valid UTF-8 sequence, or -1. */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    // Lead byte: the sequence length, and the range of the second byte (no overlongs, surrogates or > U+10FFFF).
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c >= 0xe0 && c <= 0xef) [n, lo, hi] = [3, c === 0xe0 ? 0xa0 : 0x80, c === 0xed ? 0x9f : 0xbf];
    else if (c >= 0xf0 && c <= 0xf4) [n, lo, hi] = [4, c === 0xf0 ? 0x90 : 0x80, c === 0xf4 ? 0x8f : 0xbf];
    else return i;
    for (let k = 1; k < n; k++) {
      const x = b[i + k];
      if (x === undefined || x < (k === 1 ? lo : 0x80) || x > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n;
  }
  return -1;
}

interface RawRecipe {
  recipe: string;
  version?: string;
  description?: string;
  extends?: string[];
  formats?: FormatId[];
  target?: string;
  targets?: string[];
  'max-iterations'?: number;
  rules?: RawRule[];
  overrides?: Record<string, 'on' | 'off' | { enabled?: boolean; options?: Record<string, unknown>; targets?: string[] }>;
}

interface RawRule {
  id: string;
  description?: string;
  enabled?: boolean;
  formats?: FormatId[];
  targets?: string[];
  match?: string;
  where?: string | number | boolean | (string | number | boolean)[];
  let?: Record<string, string | number | boolean>;
  replace?: string | Record<string, string>;
  nodes?: string[];
  opset?: { min?: number; max?: number };
  'shared-intermediates'?: boolean;
  options?: Record<string, unknown>;
  action?: string;
  params?: Record<string, unknown>;
}

function buildRecipe(source: RecipeSource, content: string): { recipe?: RecipeFile; errors: RecipeError[] } {
  const raw = source.data as RawRecipe;
  const errors: RecipeError[] = [];
  const rules: RuleSpec[] = [];
  const recipe: RecipeFile = {
    file: source.file,
    source,
    name: raw.recipe,
    version: raw.version,
    description: raw.description,
    sha256: createHash('sha256').update(content).digest('hex'),
    extends: (raw.extends ?? []).map((spec, i) => ({ spec, path: ['extends', i] })),
    ...(raw.target !== undefined ? { target: raw.target } : {}),
    targets: raw.targets ?? [],
    maxIterations: raw['max-iterations'],
    rules,
    overrides: Object.entries(raw.overrides ?? {}).map(([ruleId, o]) => {
      const path = ['overrides', ruleId];
      if (o === 'off' || o === 'on') return { ruleId, path, enabled: o === 'on' };
      return { ruleId, path, enabled: o.enabled, options: o.options, targets: o.targets };
    }),
  };
  (raw.rules ?? []).forEach((r, index) => {
    const path: DataPath = ['rules', index];
    const at = (...sub: (string | number)[]): DataPath => [...path, ...sub];
    const isAction = r.action !== undefined;
    if (isAction) {
      for (const field of ['match', 'replace', 'where', 'let'] as const) {
        if (r[field] !== undefined) {
          errors.push(new RecipeError(locationOf(source, at(field), 'key'), `an action rule has no '${field}'`, r.id, `drop '${field}', or drop 'action: ${r.action}' to write a pattern rule`));
        }
      }
    } else {
      if (r.match === undefined) errors.push(new RecipeError(locationOf(source, path), "missing field 'match'", r.id, 'a rule has match + replace, or action'));
      if (r.replace === undefined) errors.push(new RecipeError(locationOf(source, path), "missing field 'replace'", r.id, 'a rule has match + replace, or action'));
      if (r.params !== undefined) errors.push(new RecipeError(locationOf(source, at('params'), 'key'), "'params' belongs to action rules", r.id));
    }
    const where = r.where === undefined ? [] : Array.isArray(r.where) ? r.where : [r.where];
    rules.push({
      id: r.id,
      description: r.description,
      source,
      path,
      recipe,
      enabled: r.enabled ?? true,
      formats: r.formats ?? raw.formats ?? null,
      targets: r.targets ?? null,
      match: r.match === undefined ? undefined : { text: r.match, path: at('match') },
      where: where.map((w, i) => ({ text: String(w), path: Array.isArray(r.where) ? at('where', i) : at('where') })),
      let: Object.entries(r.let ?? {}).map(([name, e]) => ({ name, expr: { text: String(e), path: at('let', name) } })),
      replace:
        r.replace === undefined
          ? undefined
          : typeof r.replace === 'string'
            ? { text: r.replace, path: at('replace') }
            : new Map(Object.entries(r.replace).map(([t, text]) => [t, { text, path: at('replace', t) }])),
      nodes: r.nodes,
      opset: r.opset,
      sharedIntermediates: r['shared-intermediates'] ?? false,
      options: { ...(r.options ?? {}) },
      action: r.action,
      params: { ...(r.params ?? {}) },
    });
  });
  return { recipe, errors };
}

/** ajv paths are JSON pointers: `/rules/0/match` -> ['rules', 0, 'match']. */
function pointerToPath(pointer: string): DataPath {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  object: 'a map',
  array: 'a list',
  null: 'null',
};

/** Turns ajv's errors into one RecipeError per problem, at the YAML node it is about. */
function schemaErrors(source: RecipeSource, errors: readonly ErrorObject[]): RecipeError[] {
  const byPath = new Map<string, ErrorObject[]>();
  for (const e of errors) {
    const list = byPath.get(e.instancePath) ?? [];
    list.push(e);
    byPath.set(e.instancePath, list);
  }
  const out: RecipeError[] = [];
  for (const [pointer, list] of byPath) {
    const path = pointerToPath(pointer);
    const ruleId = ruleIdOf(source, path);
    const types = list.filter((e) => e.keyword === 'type').flatMap((e) => [e.params.type as string | string[]].flat());
    const hasAlternatives = list.some((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf');
    // A value of one of the wanted types failed something else (an empty string where a
    // string or a map is wanted): report that, not the type of the other alternative.
    const actual = jsonType(dataAt(source, path));
    const otherFailure = list.some((e) => !['type', 'oneOf', 'anyOf', 'if'].includes(e.keyword) && (e as { propertyName?: string }).propertyName === undefined);
    // (A list alternative whose items failed reports them at their own paths.)
    const deeperFailure = errors.some((e) => e.instancePath.startsWith(`${pointer}/`));
    const typeFits = types.includes(actual) || (types.includes('number') && actual === 'integer') || otherFailure || deeperFailure;
    if (types.length && !typeFits && (hasAlternatives || list.every((e) => e.keyword === 'type'))) {
      const wanted = [...new Set(types)].map((t) => TYPE_NAMES[t] ?? t);
      out.push(new RecipeError(locationOf(source, path), `'${fieldName(path)}' must be ${wanted.join(' or ')}`, ruleId));
      continue;
    }
    for (const e of list) {
      if (e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'if') continue;
      if (typeFits && e.keyword === 'type') continue;
      // ajv reports a bad property name twice: the failed keyword (tagged with propertyName), then `propertyNames`.
      if (e.keyword !== 'propertyNames' && (e as { propertyName?: string }).propertyName !== undefined) continue;
      out.push(schemaError(source, path, e, ruleId));
    }
  }
  // In file order, so the user reads them top to bottom.
  return out.sort((a, b) => a.location.line - b.location.line || a.location.col - b.location.col);
}

function schemaError(source: RecipeSource, path: DataPath, e: ErrorObject, ruleId?: string): RecipeError {
  const field = fieldName(path);
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = e.params.additionalProperty as string;
      const allowed = Object.keys(propertiesAt(path));
      const guess = closest(key, allowed);
      return new RecipeError(locationOf(source, [...path, key], 'key'), `unknown field '${key}'`, ruleId, guess ? `did you mean '${guess}'?` : allowed.length ? `known fields: ${allowed.join(', ')}` : undefined);
    }
    case 'required':
      return new RecipeError(locationOf(source, path), `missing field '${e.params.missingProperty as string}'`, ruleId);
    case 'enum': {
      const allowed = (e.params.allowedValues as unknown[]).map(String);
      const value = String(dataAt(source, path));
      const guess = closest(value, allowed);
      return new RecipeError(locationOf(source, path), `'${value}' is not one of ${allowed.join(', ')}`, ruleId, guess ? `did you mean '${guess}'?` : undefined);
    }
    case 'pattern':
      return new RecipeError(locationOf(source, path), `'${String(dataAt(source, path))}' is not a valid ${describePattern(path)}`, ruleId, PATTERN_HINTS[lastKey(path)]);
    case 'propertyNames':
      return new RecipeError(locationOf(source, [...path, e.params.propertyName as string], 'key'), `'${e.params.propertyName as string}' is not a valid name in '${field}'`, ruleId, 'names are letters, digits and _, not starting with a digit');
    case 'minItems':
    case 'minLength':
    case 'minProperties':
      return new RecipeError(locationOf(source, path), `'${field}' must not be empty`, ruleId);
    case 'uniqueItems':
      return new RecipeError(locationOf(source, path), `'${field}' lists an entry twice`, ruleId);
    case 'type':
      return new RecipeError(locationOf(source, path), `'${field}' must be ${TYPE_NAMES[e.params.type as string] ?? String(e.params.type)}`, ruleId);
    default:
      return new RecipeError(locationOf(source, path), `'${field}' ${e.message ?? 'is invalid'}`, ruleId);
  }
}

const PATTERN_HINTS: Record<string, string> = {
  id: 'rule ids are lowercase letters, digits, -, _ and .: batchnorm-to-mul-add',
  version: 'versions are semver: 1.0.0',
  recipe: 'recipe names are letters, digits, ., _, - and /',
};

function describePattern(path: DataPath): string {
  const key = lastKey(path);
  if (key === 'id') return 'rule id';
  if (key === 'recipe') return 'recipe name';
  if (key === 'version') return 'version';
  if (path.includes('targets') || key === 'target') return 'target name';
  return `value for '${fieldName(path)}'`;
}

function lastKey(path: DataPath): string {
  return String([...path].reverse().find((p) => typeof p === 'string') ?? '');
}

function fieldName(path: DataPath): string {
  return path.length ? path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[') : 'recipe file';
}

/** The JSON Schema type name of a value. */
function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function dataAt(source: RecipeSource, path: DataPath): unknown {
  let v: unknown = source.data;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined;
  return v;
}

/** The rule id of the rule a path is inside, for error messages. */
function ruleIdOf(source: RecipeSource, path: DataPath): string | undefined {
  if (path[0] !== 'rules' || typeof path[1] !== 'number') return undefined;
  const id = (dataAt(source, ['rules', path[1], 'id']) as unknown) ?? undefined;
  return typeof id === 'string' ? id : undefined;
}

/** The schema's `properties` for the object at `path`, for "did you mean" hints. */
function propertiesAt(path: DataPath): Record<string, unknown> {
  const s = recipeSchema() as unknown as { properties: Record<string, unknown>; definitions: { rule: { properties: Record<string, unknown> } } };
  if (path.length === 0) return s.properties;
  if (path[0] === 'rules' && path.length === 2) return s.definitions.rule.properties;
  if (path[0] === 'overrides' && path.length === 2) return { enabled: 1, options: 1, targets: 1 };
  if (path[0] === 'rules' && path.length === 3 && path[2] === 'opset') return { min: 1, max: 1 };
  return {};
}

/** Where a rule's field is in its file (the key when `key`), for errors raised after loading. */
export function ruleFieldLocation(rule: RuleSpec, field: DataPath = [], at: 'value' | 'key' = 'value'): RecipeLocation {
  return locationOf(rule.source, [...rule.path, ...field], at);
}

/** Whether the YAML has a node at the path (a field written, not defaulted). */
export function hasField(source: RecipeSource, path: DataPath): boolean {
  const node = nodeAt(source, path);
  return node !== null && node !== nodeAt(source, path.slice(0, -1));
}
