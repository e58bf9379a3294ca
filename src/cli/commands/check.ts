import { RecipeErrors, UsageError } from '../../errors';
import { flagBool } from '../args';
import type { Command, Io } from '../command';
import { EXIT } from '../exit-codes';

export const checkCommand: Command = {
  name: 'check',
  usage: 'recipe check <recipe.yaml|pack|bundle>... [--json]',
  summary:
    'Validate recipe files without a model.\n' +
    'Checks the schema, extends, overrides, targets, and every pattern, condition,\n' +
    'let expression and replacement (unknown ops and ONNX attributes, unbound $names,\n' +
    'type errors).\n' +
    'Errors read file:line:col error [rule-id] message.',
  flags: [{ name: 'json', help: 'print the result as JSON' }],
  async run(args, io) {
    if (args.positionals.length === 0) throw new UsageError('check: expects at least one recipe file', "see 'recipe check --help'");
    const json = flagBool(args, 'json');
    const [{ loadBundle }, { checkBundle }] = await Promise.all([import('../../recipe/bundle'), import('../../recipe/compile'), registerBuiltinActions()]);
    let errors: RecipeErrors | undefined;
    let summary = { files: 0, rules: 0 };
    try {
      const bundle = loadBundle(args.positionals);
      summary = { files: bundle.recipes.length, rules: bundle.rules.length };
      const found = checkBundle(bundle);
      if (found.length) errors = new RecipeErrors(found);
    } catch (e) {
      if (!(e instanceof RecipeErrors)) throw e;
      errors = e;
    }
    if (json) {
      const list = (errors?.errors ?? []).map((e) => ({ ...e.location, rule: e.ruleId ?? null, message: e.reason, hint: e.hint ?? null }));
      io.out(JSON.stringify({ ok: !errors, ...summary, errors: list }, null, 2) + '\n');
      return errors ? EXIT.invalidRecipe : EXIT.ok;
    }
    if (errors) {
      printRecipeErrors(errors, io);
      return EXIT.invalidRecipe;
    }
    io.out(`ok: ${summary.rules} rule(s) in ${summary.files} file(s)\n`);
    return EXIT.ok;
  },
};

/** Every recipe error on its own line, `file:line:col error [rule] message`, with its hint under it. */
export function printRecipeErrors(errors: RecipeErrors, io: Io): void {
  for (const e of errors.errors) {
    io.err(`${e.message}\n`);
    if (e.hint) io.err(`  hint: ${e.hint}\n`);
  }
  io.err(`${errors.errors.length} error(s)\n`);
}

/**
 * Registers the built-in actions (fix-shape, merge-models) with the action
 * registry: recipes that call them resolve their parameters while loading.
 */
export async function registerBuiltinActions(): Promise<void> {
  await import('../../actions');
}
