import {
  CheckFailedError,
  GraphError,
  ModelError,
  NumericMismatchError,
  RecipeError,
  RecipeErrors,
  TextSpanError,
  UnsupportedError,
  UsageError,
} from '../errors';
import { isFsError } from '../formats/fs-errors';

/** Every way `recipe` ends, in one table. */
export const EXIT = {
  ok: 0,
  /** A rule test or a check failed; a rewrite was refused; verify could not feed both models the same inputs. */
  checkFailed: 1,
  usage: 2,
  /** A recipe is invalid: `file:line:col error [rule] message`. */
  invalidRecipe: 3,
  /** A model cannot be read or written: names the file and the byte, node or tensor. */
  badModel: 4,
  /** Outputs before and after a rewrite differ beyond the tolerance. */
  numericMismatch: 5,
  /** Something the tool does not support (yet). */
  unsupported: 6,
  /** A file outside the model could not be read or written (a snapshot, a temporary file): the machine's, not a bug. */
  io: 74,
  /** A bug in recipe itself: please report it. */
  internal: 70,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof UsageError) return EXIT.usage;
  // An expression or pattern that fails while a rule runs is a fault of the recipe, not of the tool.
  if (error instanceof RecipeError || error instanceof RecipeErrors || error instanceof TextSpanError) return EXIT.invalidRecipe;
  if (error instanceof ModelError) return EXIT.badModel;
  if (error instanceof GraphError || error instanceof CheckFailedError) return EXIT.checkFailed;
  if (error instanceof NumericMismatchError) return EXIT.numericMismatch;
  if (error instanceof UnsupportedError) return EXIT.unsupported;
  if (isFsError(error)) return EXIT.io;
  return EXIT.internal;
}
