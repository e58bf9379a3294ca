import { RecipeToolError } from '../errors';

/**
 * An error in the text of a pattern or a replacement, found while parsing or
 * compiling it. `start`/`end` are character offsets (end exclusive) into that
 * text, so the recipe loader can turn them into `file:line:col` inside the
 * YAML scalar. `reason` is the message without a position.
 */
export class PatternSyntaxError extends RecipeToolError {
  /** First character of the offending part (0-based). */
  readonly start: number;
  /** One past its last character. */
  readonly end: number;
  readonly reason: string;
  constructor(start: number, end: number, reason: string, hint?: string) {
    super(reason, hint);
    this.start = start;
    this.end = end;
    this.reason = reason;
  }
}
