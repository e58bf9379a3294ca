import * as fs from 'node:fs';
import * as path from 'node:path';
import { RecipeErrors } from '../../src/errors';
import { loadBundle, ruleRunsFor } from '../../src/recipe/bundle';
import { loadRecipeFile } from '../../src/recipe/load';
import { tempDir } from '../helpers/corpus';

const dir = tempDir('recipe-load-');

/** Writes a recipe file into the temp folder and returns its path. */
function write(name: string, lines: string[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** The messages of every error loading `files` as a bundle, paths made relative to the temp folder. */
function bundleErrors(...files: string[]): string[] {
  try {
    loadBundle(files);
  } catch (e) {
    if (!(e instanceof RecipeErrors)) throw e;
    return e.errors.map((x) => x.message.split(dir + path.sep).join(''));
  }
  return [];
}

const RULE = ['  - id: a', '    match: Relu($x)', '    replace: Relu($x)'];

describe('schema errors point at the field', () => {
  it('reports an unknown rule field at its key, with a did-you-mean hint', () => {
    const file = write('typo.yaml', ['recipe: t', 'rules:', '  - id: r1', '    mach: Relu($x)', '    replace: Relu($x)']);
    const { errors } = loadRecipeFile(file);
    expect(errors.map((e) => e.message.replace(dir + path.sep, ''))).toEqual(["typo.yaml:4:5 error [r1] unknown field 'mach'"]);
    expect(errors[0]!.hint).toBe("did you mean 'match'?");
  });

  it('reports a missing recipe name at the top of the file', () => {
    const file = write('noname.yaml', ['rules:', ...RULE]);
    expect(loadRecipeFile(file).errors.map((e) => e.message.replace(dir + path.sep, ''))).toEqual(["noname.yaml:1:1 error missing field 'recipe'"]);
  });

  it('reports a bad format name with the allowed ones, and a wrong type', () => {
    const file = write('types.yaml', ['recipe: t', 'rules:', '  - id: r1', '    formats: [onxx]', '    match: 3', '    replace: Relu($x)']);
    const msgs = loadRecipeFile(file).errors.map((e) => e.message.replace(dir + path.sep, ''));
    expect(msgs).toEqual([
      "types.yaml:4:15 error [r1] 'onxx' is not one of onnx, tflite, openvino",
      "types.yaml:5:12 error [r1] 'rules[0].match' must be a string",
    ]);
  });

  it('reports a replace that is neither a string nor a map', () => {
    const file = write('repl.yaml', ['recipe: t', 'rules:', '  - id: r1', '    match: Relu($x)', '    replace: [1, 2]']);
    expect(loadRecipeFile(file).errors.map((e) => e.message.replace(dir + path.sep, ''))).toEqual([
      "repl.yaml:5:14 error [r1] 'rules[0].replace' must be a string or a map",
    ]);
  });

  it('reports an invalid rule id with a hint', () => {
    const file = write('id.yaml', ['recipe: t', 'rules:', '  - id: Bad_Id', '    match: Relu($x)', '    replace: Relu($x)']);
    const { errors } = loadRecipeFile(file);
    expect(errors.map((e) => e.message.replace(dir + path.sep, ''))).toEqual(["id.yaml:3:9 error [Bad_Id] 'Bad_Id' is not a valid rule id"]);
    expect(errors[0]!.hint).toMatch(/lowercase/);
  });

  it('requires match and replace, or action, and not both kinds', () => {
    const file = write('kinds.yaml', ['recipe: t', 'rules:', '  - id: r1', '    match: Relu($x)', '  - id: r2', '    action: cleanup', '    replace: Relu($x)']);
    const msgs = loadRecipeFile(file).errors.map((e) => e.message.replace(dir + path.sep, ''));
    expect(msgs).toEqual(["kinds.yaml:3:5 error [r1] missing field 'replace'", "kinds.yaml:7:5 error [r2] an action rule has no 'replace'"]);
  });

  it('reports YAML syntax errors with their position', () => {
    const file = write('syntax.yaml', ['recipe: t', 'rules:', '  - id: r1', '    id: r2', '    match: Relu($x)']);
    const msgs = loadRecipeFile(file).errors.map((e) => e.message.replace(dir + path.sep, ''));
    expect(msgs).toEqual(['syntax.yaml:4:5 error YAML: Map keys must be unique']);
  });

  it('says when a rule-test file is given where a recipe is expected', () => {
    const file = write('r.test.yaml', ['rule: r1', 'rewrites:', '  - name: one', '    graph: |', '      graph g']);
    const errors = loadRecipeFile(file).errors;
    expect(errors.map((e) => e.message.replace(dir + path.sep, ''))).toEqual(['r.test.yaml:1:1 error this is a rule-test file, not a recipe']);
    expect(errors[0]!.hint).toMatch(/recipe test/);
  });

  it('says when the file does not exist', () => {
    expect(loadRecipeFile(path.join(dir, 'nope.yaml')).errors[0]!.message).toMatch(/nope\.yaml:1:1 error cannot read recipe: no such file/);
  });
});

describe('bundles', () => {
  const base = write('base.yaml', [
    'recipe: base',
    'version: 1.0.0',
    'rules:',
    '  - id: relu-a',
    '    targets: [myriad]',
    '    match: Relu($x)',
    '    replace: Relu($x)',
    '  - id: relu-b',
    '    options: { limit: 4 }',
    '    match: Relu($x)',
    '    replace: Relu($x)',
  ]);

  it('puts extended files first and applies overrides of later files', () => {
    const top = write('top.yaml', [
      'recipe: top',
      'extends: [base.yaml]',
      'rules:',
      '  - id: relu-c',
      '    match: Relu($x)',
      '    replace: Relu($x)',
      'overrides:',
      '  relu-a: off',
      '  relu-b: { options: { limit: 8 }, targets: [edgetpu] }',
    ]);
    const bundle = loadBundle([top]);
    expect(bundle.recipes.map((r) => r.name)).toEqual(['base', 'top']);
    expect(bundle.rules.map((r) => r.id)).toEqual(['relu-a', 'relu-b', 'relu-c']);
    const [a, b, c] = bundle.rules;
    expect(a!.enabled).toBe(false);
    expect(b!.options).toEqual({ limit: 8 });
    expect(ruleRunsFor(b!, 'edgetpu')).toBe(true);
    expect(ruleRunsFor(b!, 'default')).toBe(false);
    expect(ruleRunsFor(c!, 'myriad')).toBe(true);
  });

  it('loads each file once when two entries share it', () => {
    const other = write('other.yaml', ['recipe: other', 'extends: [base.yaml]', 'rules: []']);
    const bundle = loadBundle([base, other]);
    expect(bundle.recipes.map((r) => r.name)).toEqual(['base', 'other']);
  });

  it('rejects a duplicate rule id, pointing at both places', () => {
    const dup = write('dup.yaml', ['recipe: dup', 'rules:', '  - id: relu-b', '    match: Relu($x)', '    replace: Relu($x)']);
    expect(bundleErrors(base, dup)).toEqual(["dup.yaml:3:9 error [relu-b] duplicate rule id 'relu-b'"]);
    try {
      loadBundle([base, dup]);
    } catch (e) {
      expect((e as RecipeErrors).errors[0]!.hint).toMatch(/first defined at .*base\.yaml:8:9/);
    }
  });

  it('rejects unknown targets in targets, replace maps and overrides', () => {
    const t = write('targets.yaml', [
      'recipe: t',
      'targets: [hailo]',
      'rules:',
      '  - id: r1',
      '    targets: [myriad, mryiad, hailo]',
      '    match: Relu($x)',
      '    replace:',
      '      edgtpu: Relu($x)',
      '      default: Relu($x)',
      'overrides:',
      '  r1: { targets: [npu9] }',
    ]);
    expect(bundleErrors(t)).toEqual([
      "targets.yaml:5:23 error [r1] unknown target 'mryiad'",
      "targets.yaml:8:7 error [r1] unknown target 'edgtpu' in 'replace'",
      "targets.yaml:11:19 error [r1] unknown target 'npu9'",
    ]);
  });

  it('rejects overrides of unknown rules and options, and extends cycles and missing files', () => {
    const bad = write('bad.yaml', [
      'recipe: bad',
      'extends: [base.yaml, missing.yaml, cyc.yaml]',
      'overrides:',
      '  relu-x: off',
      '  relu-b: { options: { limt: 1 } }',
    ]);
    write('cyc.yaml', ['recipe: cyc', 'extends: [bad.yaml]']);
    expect(bundleErrors(bad)).toEqual([
      "bad.yaml:2:22 error cannot find 'missing.yaml' (looked at missing.yaml)",
      "cyc.yaml:2:11 error 'extends' makes a cycle: bad.yaml -> cyc.yaml -> bad.yaml",
      "bad.yaml:4:3 error override of unknown rule 'relu-x'",
      "bad.yaml:5:24 error [relu-b] rule 'relu-b' has no option 'limt'",
    ]);
  });

  it('resolves built-in packs by name', () => {
    const uses = write('uses-core.yaml', ['recipe: uses', 'extends: [core]', 'rules: []']);
    const bundle = loadBundle([uses]);
    expect(bundle.recipes[0]!.file).toMatch(/recipes[\\/]core[\\/]/);
    expect(bundle.rules.map((r) => r.id)).toContain('batchnorm-to-mul-add');
    const typo = write('typo-pack.yaml', ['recipe: t', 'extends: [coer]']);
    expect(bundleErrors(typo)).toEqual(["typo-pack.yaml:2:11 error unknown built-in pack 'coer'"]);
  });

  it('loads a pack folder (a path, on the command line or in extends) as a built-in pack: its recipes in name order, rule tests aside', () => {
    const pack = path.join(dir, 'community-pack');
    fs.mkdirSync(pack, { recursive: true });
    write('community-pack/b-second.yaml', ['recipe: second', 'rules:', '  - id: second-rule', '    match: Relu($x)', '    replace: Relu($x)']);
    write('community-pack/a-first.yaml', ['recipe: first', 'rules:', '  - id: first-rule', '    match: Relu($x)', '    replace: Relu($x)']);
    write('community-pack/a-first.test.yaml', ['rule: first-rule', 'rewrites: []']);
    expect(loadBundle([pack]).recipes.map((r) => r.name)).toEqual(['first', 'second']);
    const uses = write('uses-folder.yaml', ['recipe: uses', 'extends: [community-pack/]', 'overrides:', '  second-rule: off']);
    const bundle = loadBundle([uses]);
    expect(bundle.recipes.map((r) => r.name)).toEqual(['first', 'second', 'uses']);
    expect(bundle.rules.find((r) => r.id === 'second-rule')!.enabled).toBe(false);
  });

  it('a path given without its .yaml: the hint names the file that is there', () => {
    write('real.yaml', ['recipe: real', 'rules: []']);
    try {
      loadBundle([path.join(dir, 'real')]);
      throw new Error('loaded');
    } catch (e) {
      const error = (e as RecipeErrors).errors[0]!;
      expect(error.message).toMatch(/real:1:1 error cannot read recipe: no such file$/);
      expect(error.hint).toBe(`did you mean '${path.join(dir, 'real.yaml')}'?`);
    }
  });

  it('refuses a folder with no recipe file in it, where it is named', () => {
    const empty = path.join(dir, 'empty-pack');
    fs.mkdirSync(empty, { recursive: true });
    write('empty-pack/only.test.yaml', ['rule: r', 'rewrites: []']);
    expect(bundleErrors(empty)).toEqual(["empty-pack:1:1 error the folder 'empty-pack' holds no recipe files"]);
    const uses = write('uses-empty.yaml', ['recipe: uses', 'extends: [./empty-pack]']);
    expect(bundleErrors(uses)).toEqual(["uses-empty.yaml:2:11 error the folder 'empty-pack' holds no recipe files"]);
  });
});

describe('the published schema', () => {
  const schema = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../schema/recipe.schema.json'), 'utf8')) as {
    properties: Record<string, { description?: string }>;
    definitions: { rule: { properties: Record<string, { description?: string }> } };
  };

  it('describes every field of a recipe file and of a rule (the descriptions are the docs)', () => {
    const missing = [
      ...Object.entries(schema.properties).filter(([, v]) => !v.description).map(([k]) => k),
      ...Object.entries(schema.definitions.rule.properties).filter(([, v]) => !v.description).map(([k]) => `rules[].${k}`),
    ];
    expect(missing).toEqual([]);
  });

  it('is referenced by the built-in pack for editors', () => {
    const text = fs.readFileSync(path.resolve(__dirname, '../../recipes/core/batchnorm.yaml'), 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../../schema/recipe.schema.json');
  });
});

describe('YAML pitfalls', () => {
  it('hints at quoting when a pattern with an attribute block is a plain scalar', () => {
    const file = write('unquoted.yaml', ['recipe: t', 'rules:', '  - id: r', '    match: Foo($x){epsilon: $eps}', '    replace: Foo($x)']);
    const { errors } = loadRecipeFile(file);
    expect(errors.map((e) => e.message.replace(dir + path.sep, ''))).toEqual(['unquoted.yaml:4:12 error YAML: Nested mappings are not allowed in compact mappings']);
    expect(errors[0]!.hint).toMatch(/must be quoted/);
  });
});
