import * as path from 'node:path';
import { RecipeError, RecipeErrors, UsageError } from '../../errors';
import { flagBool } from '../args';
import type { Command } from '../command';
import { EXIT } from '../exit-codes';

export const testCommand: Command = {
  name: 'test',
  usage: 'recipe test [recipe.yaml|rules.test.yaml|folder|pack|bundle]... [-u] [--no-numeric] [--json]',
  summary:
    'Run the rule tests beside recipe files (<recipe>.test.yaml): rewrites cases must\n' +
    'fire and match their snapshot (__snapshots__/<recipe>.snap.yaml), keeps cases must\n' +
    'not fire; numeric cases run the graph before and after in the format\'s runtime.\n' +
    'A bundle that only extends others (myriad) tests the recipes it extends.\n' +
    'Without paths: every built-in pack. -u writes the snapshots (review the diff).',
  flags: [
    { name: 'update', short: 'u', help: 'write the snapshots of rewrites cases instead of comparing them' },
    { name: 'no-numeric', help: 'skip the numeric checks (no runtime is started)' },
    { name: 'json', help: 'print the results as JSON' },
  ],
  async run(args, io) {
    const [{ PACKS_DIR, extendedRecipeFiles }, { findRuleTestFiles, formatResults, runRuleTests, totals }] = await Promise.all([import('../../recipe/bundle'), import('../../ruletest')]);
    const entries = args.positionals.length ? args.positionals : [PACKS_DIR];
    let files: string[];
    try {
      files = findRuleTestFiles(entries.flatMap((e) => extendedRecipeFiles(e) ?? [e]), PACKS_DIR);
    } catch (e) {
      if (e instanceof RecipeError) throw new UsageError(`test: ${e.location.file}: ${e.reason}`, e.hint);
      if (e instanceof RecipeErrors) throw new UsageError(`test: ${e.errors[0]!.location.file}: ${e.errors[0]!.reason}`);
      throw e;
    }
    if (files.length === 0) throw new UsageError(`test: no rule tests (*.test.yaml) under ${entries.join(', ')}`);
    const results = await runRuleTests(files, { update: flagBool(args, 'update'), numeric: !flagBool(args, 'no-numeric') });
    const t = totals(results);
    const passed = t.failed === 0 && t.broken === 0 && t.untested === 0;
    if (flagBool(args, 'json')) {
      const json = results.map((r) => ({
        file: path.relative(process.cwd(), r.file),
        errors: r.errors.map((e) => ({ ...e.location, message: e.reason })),
        obsolete: r.obsolete,
        untested: r.untested,
        cases: r.cases.map(({ after: _after, ...c }) => c),
      }));
      io.out(JSON.stringify({ ok: passed, cases: t.cases, passed: t.passed, failed: t.failed, broken: t.broken, untested: t.untested, files: json }, null, 2) + '\n');
    } else {
      io.out(formatResults(results));
    }
    return passed ? EXIT.ok : EXIT.checkFailed;
  },
};
