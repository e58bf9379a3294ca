import * as fs from 'node:fs';
import * as path from 'node:path';
import { closest } from '../expr';
import { RecipeError, RecipeErrors, UsageError } from '../errors';
import { PACKAGE_ROOT } from '../package-root';
import { resolveActionPaths } from '../rewrite/actions';
import { loadRecipeFile, ruleFieldLocation, type RecipeFile, type RuleSpec } from './load';
import { locationOf } from './source';

/** Targets every bundle knows; a recipe file may add its own under `targets:`. */
export const BUILTIN_TARGETS: readonly string[] = ['default', 'cpu', 'gpu', 'myriad', 'edgetpu', 'tensorrt'];

/** Where built-in packs live: `recipes/<pack>/*.yaml` in the package. */
export const PACKS_DIR = path.join(PACKAGE_ROOT, 'recipes');

/** Default bound on fixpoint rounds of a group of pattern rules. */
export const DEFAULT_MAX_ITERATIONS = 16;

/**
 * Recipe files in the order they apply, and their rules after every override.
 * Each file appears once, even when several files extend it.
 */
export interface Bundle {
  readonly recipes: readonly RecipeFile[];
  /** Every rule, enabled or not, in bundle order. */
  readonly rules: readonly RuleSpec[];
  /** Built-in targets plus those the files declare. */
  readonly targets: ReadonlySet<string>;
  /** The distinct targets files of the bundle are for (`target:`), with the first file saying so. */
  readonly declaredTargets: readonly { target: string; recipe: RecipeFile }[];
  readonly maxIterations: number;
}

/**
 * The target a bundle rewrites for when none is asked: the one its files are
 * for (`recipe apply edgetpu` rewrites for edgetpu), else `default`.
 */
export function bundleTarget(bundle: Bundle): string {
  const declared = bundle.declaredTargets;
  if (declared.length > 1) {
    const where = declared.map((d) => {
      const at = locationOf(d.recipe.source, ['target']);
      return `${d.target} (${at.file}:${at.line}:${at.col})`;
    });
    throw new UsageError(`the bundle's files are for different targets: ${where.join(', ')}`, 'pass --target to choose one');
  }
  return declared[0]?.target ?? 'default';
}

/** The names of the built-in packs (`recipes/<name>/`). */
export function builtinPackNames(): string[] {
  if (!fs.existsSync(PACKS_DIR)) return [];
  return fs
    .readdirSync(PACKS_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/** The recipe files of a built-in pack, in name order (rule tests `*.test.yaml` excluded). */
export function packFiles(name: string): string[] | undefined {
  const dir = path.join(PACKS_DIR, name);
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name) || !fs.existsSync(dir)) return undefined;
  return folderRecipeFiles(dir);
}

/** The recipe files of a pack's folder, as a built-in pack's: `*.yaml` in name order, rule tests excluded. */
function folderRecipeFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && !/\.test\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

/** A pack folder's recipe files; none, and an error at `at`, when it holds no recipe. */
function folderFilesOrError(dir: string, at: { file: string; line: number; col: number }, errors: RecipeError[]): string[] {
  const files = folderRecipeFiles(dir);
  if (files.length === 0) errors.push(new RecipeError(at, `the folder '${dir}' holds no recipe files`, undefined, 'a pack folder holds *.yaml recipe files (its rule tests, *.test.yaml, are not recipes)'));
  return files;
}

/** Whether a path names a folder (a community pack laid out as the built-in ones). */
function isFolder(file: string): boolean {
  try {
    return fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
}

/** The names of the built-in target bundles (`recipes/<name>.yaml`). */
export function builtinBundleNames(): string[] {
  if (!fs.existsSync(PACKS_DIR)) return [];
  return fs
    .readdirSync(PACKS_DIR, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.yaml'))
    .map((e) => e.name.slice(0, -'.yaml'.length))
    .sort();
}

/** A built-in target bundle by name (`myriad`: `recipes/myriad.yaml` in the package), if there is one. */
export function builtinBundleFile(name: string): string | undefined {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) return undefined;
  const file = path.join(PACKS_DIR, `${name}.yaml`);
  return fs.existsSync(file) && fs.statSync(file).isFile() ? file : undefined;
}

/**
 * The recipe files a bundle entry names: a path to a recipe file as given; a
 * bare name, a built-in pack (`core`) or target bundle (`myriad`); a bare
 * `myriad.yaml` that is no file here, the built-in bundle of that name (so
 * `recipe apply edgetpu.yaml model.tflite` works from any folder, as the
 * bundles are listed by `recipe list`); a name that is none of these nor a
 * file here, the built-in recipe file reports call so (`fix-shape`,
 * `core/batchnorm`).
 */
export function entryFiles(entry: string): string[] {
  if (isFolder(entry)) return folderRecipeFiles(entry);
  const here = fs.existsSync(entry);
  if (/[\\/]/.test(entry)) return [here ? entry : (builtinRecipeFile(entry) ?? entry)];
  if (!/\.ya?ml$/.test(entry)) {
    const bundle = builtinBundleFile(entry);
    return packFiles(entry) ?? (bundle ? [bundle] : [here ? entry : (builtinRecipeFile(entry) ?? entry)]);
  }
  if (!here) return [builtinBundleFile(entry.replace(/\.ya?ml$/, '')) ?? builtinRecipeFile(entry) ?? entry];
  return [entry];
}

/**
 * A built-in recipe file by the name reports give it: `fix-shape` (its
 * file's name, when one pack has a file of that name) or `core/batchnorm`
 * (pack and file), with or without `.yaml`.
 */
export function builtinRecipeFile(name: string): string | undefined {
  const m = /^(?:([a-z0-9][a-z0-9_-]*)\/)?([a-z0-9][a-z0-9_.-]*?)(?:\.ya?ml)?$/.exec(name);
  if (!m) return undefined;
  const [, pack, stem] = m;
  const found = (pack ? (packFiles(pack) ?? []) : builtinRecipeFiles()).filter((f) => recipeStem(f) === stem);
  return found.length === 1 ? found[0] : undefined;
}

/** Every recipe file of the built-in packs. */
function builtinRecipeFiles(): string[] {
  return builtinPackNames().flatMap((p) => packFiles(p) ?? []);
}

/** A recipe file's name without its folder and `.yaml`: the name `builtinRecipeFile` takes. */
function recipeStem(file: string): string {
  return path.basename(file).replace(/\.ya?ml$/, '');
}

/**
 * For an entry that names one recipe file which only extends others (a
 * target bundle such as `myriad`: no rules of its own), the recipe files it
 * brings in, in bundle order; undefined for anything else. What `recipe test`
 * runs for a bundle: the rule tests of what it is made of.
 */
export function extendedRecipeFiles(entry: string): string[] | undefined {
  const files = entryFiles(entry);
  if (files.length !== 1 || !/\.ya?ml$/.test(files[0]!) || /\.test\.ya?ml$/.test(files[0]!) || !fs.existsSync(files[0]!)) return undefined;
  const { recipe } = loadRecipeFile(files[0]!);
  if (!recipe || recipe.extends.length === 0 || recipe.rules.length > 0) return undefined;
  const own = path.resolve(files[0]!);
  return loadBundle(files)
    .recipes.map((r) => r.file)
    .filter((f) => path.resolve(f) !== own);
}

/**
 * Loads a bundle: the files in order, each preceded by what it `extends`.
 * Later files' `overrides` turn earlier rules off or set their options.
 * Throws RecipeErrors with every problem found (each with file:line:col).
 */
export interface BundleOptions {
  /**
   * Overrides from the command line (`--override RULE=VALUE`), applied after
   * every file as a last file's `overrides:` entry would be: VALUE is YAML
   * (`off`, `on`, `{enabled: true, options: {...}}`).
   */
  overrides?: readonly string[];
}

export function loadBundle(entries: readonly string[], options: BundleOptions = {}): Bundle {
  const errors: RecipeError[] = [];
  const recipes: RecipeFile[] = [];
  const loaded = new Set<string>();
  const visiting: string[] = [];

  const visit = (file: string, from?: { recipe: RecipeFile; index: number }): void => {
    const key = path.resolve(file);
    if (visiting.includes(key)) {
      const at = from ? locationOf(from.recipe.source, ['extends', from.index]) : { file, line: 1, col: 1 };
      errors.push(new RecipeError(at, `'extends' makes a cycle: ${[...visiting.slice(visiting.indexOf(key)), key].map((f) => path.basename(f)).join(' -> ')}`));
      return;
    }
    if (loaded.has(key)) return;
    loaded.add(key);
    const { recipe, errors: fileErrors } = loadRecipeFile(file);
    errors.push(...fileErrors);
    if (!recipe) return;
    visiting.push(key);
    recipe.extends.forEach((ext, index) => {
      for (const f of resolveExtends(recipe, ext.spec, index, errors)) visit(f, { recipe, index });
    });
    visiting.pop();
    recipes.push(recipe);
  };
  for (const entry of entries) {
    if (isFolder(entry)) {
      for (const f of folderFilesOrError(entry, { file: entry, line: 1, col: 1 }, errors)) visit(f);
      continue;
    }
    const files = entryFiles(entry);
    if (files[0] === entry && !/[\\/]/.test(entry) && !fs.existsSync(entry)) {
      // A bare name that is neither a file here nor built in: say what is built in.
      const names = [...builtinBundleNames(), ...builtinPackNames()];
      const guess = closest(entry.replace(/\.ya?ml$/, ''), [...names, ...builtinRecipeFiles().map(recipeStem)]);
      const hint = guess ? `did you mean '${guess}'? ('recipe list' lists the built-in bundles and packs)` : `built in: ${names.join(', ')}`;
      errors.push(new RecipeError({ file: entry, line: 1, col: 1 }, 'cannot read recipe: no such file, nor a built-in bundle, pack or recipe of that name', undefined, hint));
      continue;
    }
    for (const f of files) visit(f);
  }
  (options.overrides ?? []).forEach((spec, i) => {
    const recipe = commandLineOverride(spec, i + 1, errors);
    if (recipe) recipes.push(recipe);
  });

  const targets = new Set([...BUILTIN_TARGETS, ...recipes.flatMap((r) => r.targets)]);
  const rules: RuleSpec[] = [];
  const byId = new Map<string, RuleSpec>();
  for (const recipe of recipes) {
    for (const rule of recipe.rules) {
      const first = byId.get(rule.id);
      if (first) {
        const at = ruleFieldLocation(first, ['id']);
        // A rule that takes its id from a merge key (`<<: *other`) shares the id's position: point at the rule.
        const here = ruleFieldLocation(rule, ['id']);
        const same = here.file === at.file && here.line === at.line && here.col === at.col;
        errors.push(new RecipeError(same ? ruleFieldLocation(rule) : here, `duplicate rule id '${rule.id}'`, rule.id, `first defined at ${at.file}:${at.line}:${at.col}; to change that rule, use 'overrides'`));
        continue;
      }
      byId.set(rule.id, rule);
      // Paths in an action's parameters are relative to the file that writes them.
      if (rule.action) rule.params = resolveActionPaths(rule.action, rule.params, path.dirname(recipe.source.file));
      rules.push(rule);
    }
    for (const o of recipe.overrides) {
      const rule = byId.get(o.ruleId);
      if (!rule) {
        const guess = closest(o.ruleId, byId.keys());
        errors.push(new RecipeError(locationOf(recipe.source, o.path, 'key'), `override of unknown rule '${o.ruleId}'`, undefined, guess ? `did you mean '${guess}'?` : 'overrides name rules of files earlier in the bundle'));
        continue;
      }
      if (o.enabled !== undefined) rule.enabled = o.enabled;
      if (o.targets) rule.targets = o.targets;
      if (o.options) {
        if (rule.action) {
          rule.params = { ...rule.params, ...resolveActionPaths(rule.action, o.options, path.dirname(recipe.source.file)) };
          (rule.paramsFrom ??= []).push({ source: recipe.source, path: [...o.path, 'options'], keys: new Set(Object.keys(o.options)) });
        }
        else {
          for (const [name, value] of Object.entries(o.options)) {
            if (!(name in rule.options)) {
              errors.push(new RecipeError(locationOf(recipe.source, [...o.path, 'options', name], 'key'), `rule '${rule.id}' has no option '${name}'`, rule.id, Object.keys(rule.options).length ? `its options: ${Object.keys(rule.options).join(', ')}` : 'the rule declares no options'));
            } else rule.options[name] = value;
          }
        }
      }
    }
  }
  errors.push(...checkTargets(recipes, rules, targets));
  if (errors.length) throw new RecipeErrors(errors);
  const bounds = recipes.map((r) => r.maxIterations).filter((n): n is number => n !== undefined);
  const declaredTargets: { target: string; recipe: RecipeFile }[] = [];
  for (const recipe of recipes) {
    if (recipe.target !== undefined && !declaredTargets.some((d) => d.target === recipe.target)) declaredTargets.push({ target: recipe.target, recipe });
  }
  return { recipes, rules, targets, declaredTargets, maxIterations: bounds.length ? Math.max(...bounds) : DEFAULT_MAX_ITERATIONS };
}

/**
 * `--override RULE=VALUE` as the recipe file it stands for: named
 * `command-line` in the rewritten model's metadata, its paths relative to the
 * current folder, its errors located at `--override N:line:col` in that text.
 */
function commandLineOverride(spec: string, index: number, errors: RecipeError[]): RecipeFile | undefined {
  const file = `--override ${index}`;
  const eq = spec.indexOf('=');
  if (eq <= 0) {
    errors.push(new RecipeError({ file, line: 1, col: 1 }, `--override wants RULE=VALUE, got '${spec}'`, undefined, "e.g. --override fix-batch=off, or --override 'fix-batch={options: {batch: 4}}'"));
    return undefined;
  }
  const text = `recipe: command-line\noverrides:\n  ${JSON.stringify(spec.slice(0, eq).trim())}: ${spec.slice(eq + 1)}\n`;
  const { recipe, errors: found } = loadRecipeFile(file, text);
  errors.push(...found);
  return recipe;
}

function resolveExtends(recipe: RecipeFile, spec: string, index: number, errors: RecipeError[]): string[] {
  const isPath = /[\\/]/.test(spec) || /\.ya?ml$/.test(spec);
  if (!isPath) {
    const files = packFiles(spec);
    if (files) return files;
    const packs = builtinPackNames();
    const guess = closest(spec, packs);
    errors.push(new RecipeError(locationOf(recipe.source, ['extends', index]), `unknown built-in pack '${spec}'`, undefined, guess ? `did you mean '${guess}'?` : `built-in packs: ${packs.join(', ') || 'none'}; a file path needs its .yaml extension`));
    return [];
  }
  const file = path.resolve(path.dirname(recipe.file), spec);
  if (!fs.existsSync(file)) {
    errors.push(new RecipeError(locationOf(recipe.source, ['extends', index]), `cannot find '${spec}' (looked at ${file})`, undefined, 'paths in extends are relative to the file that names them'));
    return [];
  }
  if (isFolder(file)) return folderFilesOrError(file, locationOf(recipe.source, ['extends', index]), errors);
  return [file];
}

/** Every target a rule or override names must be known to the bundle. */
function checkTargets(recipes: readonly RecipeFile[], rules: readonly RuleSpec[], targets: ReadonlySet<string>): RecipeError[] {
  const errors: RecipeError[] = [];
  const unknown = (name: string): string | undefined => {
    if (targets.has(name)) return undefined;
    const guess = closest(name, targets);
    return guess ? `did you mean '${guess}'?` : `known targets: ${[...targets].join(', ')}; declare new ones under 'targets:' at the top of the file`;
  };
  for (const rule of rules) {
    const declared = rule.source.data as { rules?: { targets?: string[] }[] };
    const index = rule.path[1] as number;
    (declared.rules?.[index]?.targets ?? []).forEach((t, i) => {
      const hint = unknown(t);
      if (hint !== undefined) errors.push(new RecipeError(ruleFieldLocation(rule, ['targets', i]), `unknown target '${t}'`, rule.id, hint));
    });
    if (rule.replace instanceof Map) {
      for (const t of rule.replace.keys()) {
        const hint = unknown(t);
        if (hint !== undefined) errors.push(new RecipeError(ruleFieldLocation(rule, ['replace', t], 'key'), `unknown target '${t}' in 'replace'`, rule.id, hint));
      }
    }
  }
  for (const recipe of recipes) {
    if (recipe.target !== undefined) {
      const hint = unknown(recipe.target);
      if (hint !== undefined) errors.push(new RecipeError(locationOf(recipe.source, ['target']), `unknown target '${recipe.target}'`, undefined, hint));
    }
    for (const o of recipe.overrides) {
      (o.targets ?? []).forEach((t, i) => {
        const hint = unknown(t);
        if (hint !== undefined) errors.push(new RecipeError(locationOf(recipe.source, [...o.path, 'targets', i]), `unknown target '${t}'`, o.ruleId, hint));
      });
    }
  }
  return errors;
}

/** True when the rule runs for `target`: enabled, and `targets` absent or naming it. */
export function ruleRunsFor(rule: RuleSpec, target: string): boolean {
  return rule.enabled && (rule.targets === null || rule.targets.includes(target));
}
