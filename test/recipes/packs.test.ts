import * as path from 'node:path';
import { builtinPackNames, PACKS_DIR, packFiles } from '../../src/recipe/bundle';
import '../../src/actions';
import { findRuleTestFiles, formatResults, runRuleTestFile } from '../../src/ruletest';

const files = findRuleTestFiles([PACKS_DIR], PACKS_DIR);

test('every recipe file of the built-in packs has a rule test beside it', () => {
  const recipes = builtinPackNames().flatMap((p) => packFiles(p) ?? []);
  const hasTest = (r: string): boolean => files.includes(r.replace(/\.ya?ml$/, '.test.yaml'));
  const missing = recipes.filter((r) => !hasTest(r)).map((r) => path.relative(PACKS_DIR, r));
  expect(missing).toEqual([]);
  expect(recipes.length).toBeGreaterThan(1);
});

describe.each(files.map((f) => [path.relative(PACKS_DIR, f), f]))('%s', (_name, file) => {
  test('every case passes (rewrites match their snapshots, keeps do not fire, numeric checks agree)', async () => {
    // OpenVINO rules are checked as `recipe test` checks them: translated to ONNX, run in onnxruntime.
    const result = await runRuleTestFile(file);
    const failed = result.cases.filter((c) => !c.ok);
    if (failed.length || result.errors.length) throw new Error(formatResults([result]));
    expect(result.errors).toEqual([]);
    expect(result.cases.length).toBeGreaterThan(0);
    // A rule test must show the rule firing and not firing.
    expect(result.cases.some((c) => c.kind === 'rewrites')).toBe(true);
    expect(result.obsolete).toEqual([]);
  });
});

describe('target bundles', () => {
  test.each(['myriad', 'edgetpu', 'tensorrt'])('recipes/%s.yaml loads and every rule compiles', (name) => {
    const { loadBundle } = jest.requireActual<typeof import('../../src/recipe/bundle')>('../../src/recipe/bundle');
    const { checkBundle } = jest.requireActual<typeof import('../../src/recipe/compile')>('../../src/recipe/compile');
    const bundle = loadBundle([path.join(PACKS_DIR, `${name}.yaml`)]);
    expect(checkBundle(bundle).map((e) => e.message)).toEqual([]);
    expect(bundle.rules.length).toBeGreaterThan(5);
  });
});

test.each(builtinPackNames())('pack %s: every rule compiles (recipe check)', (name) => {
  const { loadBundle } = jest.requireActual<typeof import('../../src/recipe/bundle')>('../../src/recipe/bundle');
  const { checkBundle } = jest.requireActual<typeof import('../../src/recipe/compile')>('../../src/recipe/compile');
  const bundle = loadBundle([name]);
  expect(checkBundle(bundle).map((e) => e.message)).toEqual([]);
  // Every rule says what it does.
  expect(bundle.rules.filter((r) => !r.description).map((r) => r.id)).toEqual([]);
});
