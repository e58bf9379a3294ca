import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { RECIPE_SCHEMA_PATH } from '../../src/recipe/load';
import { validateRecipeSchema } from '../../src/recipe/recipe-schema.generated';
import { findFiles, ROOT } from '../helpers/corpus';

/** The validator as load.ts built it before the generated module: ajv compiling the schema now. */
const compiled = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(fs.readFileSync(RECIPE_SCHEMA_PATH, 'utf8')) as object);

/** Both validators' verdict and errors on `data`. */
function bothOn(data: unknown): { generated: unknown; compiled: unknown } {
  const g = validateRecipeSchema(data);
  const c = compiled(data);
  return { generated: { valid: g, errors: validateRecipeSchema.errors ?? null }, compiled: { valid: c, errors: compiled.errors ?? null } };
}

/** Recipes that break the schema in each way load.ts words an error for (type, enum, pattern, ...). */
const INVALID: Record<string, string[]> = {
  'unknown rule field': ['recipe: t', 'rules:', '  - id: r1', '    mach: Relu($x)', '    replace: Relu($x)'],
  'missing recipe name': ['rules:', '  - id: a', '    match: Relu($x)', '    replace: Relu($x)'],
  'bad format and wrong type': ['recipe: t', 'rules:', '  - id: r1', '    formats: [onxx]', '    match: 3', '    replace: Relu($x)'],
  'replace neither string nor map': ['recipe: t', 'rules:', '  - id: r1', '    match: Relu($x)', '    replace: [1, 2]'],
  'invalid rule id': ['recipe: t', 'rules:', '  - id: Bad_Id', '    match: Relu($x)', '    replace: Relu($x)'],
  'a format listed twice': ['recipe: t', 'rules:', '  - id: r1', '    formats: [onnx, onnx]', '    match: Relu($x)', '    replace: Relu($x)'],
  'bad version, target and let name': [
    'recipe: t',
    'version: one',
    'targets: [Hailo, hailo, hailo]',
    'formats: []',
    'rules:',
    '  - id: r1',
    '    match: Relu($x)',
    '    let: { 9lives: 1 }',
    '    where: [{ a: 1 }]',
    '    replace: { 7: Relu($x) }',
    '    opset: { min: 1.5, low: 2 }',
    '    shared-intermediates: maybe',
  ],
  'bad overrides': ['recipe: t', 'overrides:', '  r1: sometimes', '  r2: { enabled: 1, colour: red }', '  r3: {}'],
  'empty replace map and empty match': ['recipe: t', 'rules:', '  - id: r1', "    match: ''", '    replace: {}'],
  'not a map at the top': ['- recipe: t'],
};

describe('the generated recipe-schema validator', () => {
  it('is what scripts/gen-recipe-validator.js makes of the schema today', () => {
    // A schema edited without running the generator must fail CI, not ship a stale validator.
    expect(() => execFileSync(process.execPath, [path.join(ROOT, 'scripts/gen-recipe-validator.js'), '--check'], { stdio: 'pipe' })).not.toThrow();
  });

  it.each(Object.entries(INVALID))('gives the same errors as ajv compiling the schema: %s', (_name, lines) => {
    const data: unknown = parse(lines.join('\n'));
    const { generated, compiled: fresh } = bothOn(data);
    expect(generated).toEqual(fresh);
    expect((generated as { valid: boolean }).valid).toBe(false);
  });

  it('covers every kind of schema error load.ts words, and accepts every built-in recipe', () => {
    const keywords = new Set<string>();
    for (const lines of Object.values(INVALID)) {
      validateRecipeSchema(parse(lines.join('\n')));
      for (const e of validateRecipeSchema.errors ?? []) keywords.add(e.keyword);
    }
    for (const k of ['additionalProperties', 'required', 'enum', 'type', 'pattern', 'propertyNames', 'minItems', 'minLength', 'minProperties', 'uniqueItems', 'oneOf']) {
      expect([k, keywords.has(k)]).toEqual([k, true]);
    }
    const recipes = findFiles(path.join(ROOT, 'recipes'), ['.yaml']).filter((f) => !f.endsWith('.test.yaml') && !f.includes('__snapshots__'));
    expect(recipes.length).toBeGreaterThan(10);
    for (const file of recipes) {
      const data: unknown = parse(fs.readFileSync(file, 'utf8'));
      expect([file, bothOn(data)]).toEqual([file, { generated: { valid: true, errors: null }, compiled: { valid: true, errors: null } }]);
    }
  });
});
