import { RecipeErrors } from '../../src/errors';
import { loadBundle } from '../../src/recipe/bundle';
import { checkBundle } from '../../src/recipe/compile';

/** Checks the recipe file `file` as `recipe check` does; returns each error as `line:col [rule] message`, and the hints. */
export function checkRecipeFile(file: string): { errors: string[]; hints: (string | undefined)[] } {
  let found;
  try {
    found = checkBundle(loadBundle([file]));
  } catch (e) {
    if (!(e instanceof RecipeErrors)) throw e;
    found = e.errors;
  }
  return {
    errors: found.map((e) => `${e.location.line}:${e.location.col}${e.ruleId ? ` [${e.ruleId}]` : ''} ${e.reason}`),
    hints: found.map((e) => e.hint),
  };
}
