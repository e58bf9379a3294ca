/**
 * The closed set of errors the library throws. The CLI maps each class to one
 * exit code (see src/cli/exit-codes.ts); nothing else decides how a failure ends.
 */

/** Base of every error `recipe` raises on purpose. */
export class RecipeToolError extends Error {
  /** One short hint shown under the message, when one helps. */
  hint?: string;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = new.target.name;
    this.hint = hint;
  }
}

/**
 * An error in a piece of recipe text (an expression, a pattern, a
 * replacement): `start`/`end` are character offsets (end exclusive) into that
 * text, so the recipe loader can turn them into `file:line:col` inside the
 * YAML scalar. `reason` is the message without a position.
 */
export class TextSpanError extends RecipeToolError {
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

/** The command line itself is wrong (unknown flag, missing argument). */
export class UsageError extends RecipeToolError {}

/** Where in a model file a problem sits: the more of these, the better. */
export interface ModelLocation {
  file: string;
  /** Byte offset in the file, when the problem is in its bytes. */
  offset?: number;
  /** Node, layer or operator that holds the problem. */
  node?: string;
  /** Tensor, initializer or buffer that holds the problem. */
  tensor?: string;
  /** Format-specific path, e.g. `ModelProto.graph.node[12].attribute[0]`. */
  path?: string;
  /**
   * The model function (ONNX model-local function) that holds the problem, by
   * name: a path gives only its position among the functions.
   */
  function?: string;
}

/** A model file that cannot be read or written: truncated, corrupt, hostile, missing parts. */
export class ModelError extends RecipeToolError {
  readonly location: ModelLocation;
  readonly reason: string;
  constructor(location: ModelLocation, reason: string, hint?: string) {
    super(formatModelError(location, reason), hint);
    this.location = location;
    this.reason = reason;
  }
}

function formatModelError(loc: ModelLocation, reason: string): string {
  const where: string[] = [];
  if (loc.path) where.push(loc.path);
  if (loc.function) where.push(`function '${loc.function}'`);
  if (loc.node) where.push(`node '${loc.node}'`);
  if (loc.tensor) where.push(`tensor '${loc.tensor}'`);
  if (loc.offset !== undefined) where.push(`byte ${loc.offset}`);
  return where.length ? `${loc.file}: ${where.join(', ')}: ${reason}` : `${loc.file}: ${reason}`;
}

/** A graph that breaks the IR's invariants (dangling value, cycle, duplicate name). */
export class GraphError extends RecipeToolError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[], context?: string) {
    super(`${context ? context + ': ' : ''}${problems.length} graph problem(s): ${problems.slice(0, 5).join('; ')}`);
    this.problems = problems;
  }
}

/** A position in a recipe file, 1-based. */
export interface RecipeLocation {
  file: string;
  line: number;
  col: number;
}

/** A recipe that does not validate or compile: reported as `file:line:col error [rule] message`. */
export class RecipeError extends RecipeToolError {
  readonly location: RecipeLocation;
  readonly ruleId?: string;
  readonly reason: string;
  constructor(location: RecipeLocation, reason: string, ruleId?: string, hint?: string) {
    super(`${location.file}:${location.line}:${location.col} error${ruleId ? ` [${ruleId}]` : ''} ${reason}`, hint);
    this.location = location;
    this.ruleId = ruleId;
    this.reason = reason;
  }
}

/** Several recipe errors found in one pass, so the user fixes them all at once. */
export class RecipeErrors extends RecipeToolError {
  readonly errors: readonly RecipeError[];
  constructor(errors: readonly RecipeError[]) {
    super(errors.map((e) => e.message).join('\n'));
    this.errors = errors;
  }
}

/** A rewrite was refused or a rule test / verification failed. */
export class CheckFailedError extends RecipeToolError {}

/**
 * An action's parameters do not fit the model it runs on (an input it does
 * not have, a size that clashes with a fixed one). The compiled rule rethrows
 * it as ActionRefusedError, located where the parameters were given.
 */
export class ActionError extends RecipeToolError {}

/** An action rule that could not run on this model: `file:line:col error [rule] message`; the run stops and writes nothing. */
export class ActionRefusedError extends CheckFailedError {
  readonly ruleId: string;
  constructor(location: RecipeLocation, ruleId: string, reason: string, hint?: string) {
    super(`${location.file}:${location.line}:${location.col} error [${ruleId}] ${reason}`, hint);
    this.ruleId = ruleId;
  }
}

/** Outputs of a model before and after differ beyond the tolerance. */
export class NumericMismatchError extends RecipeToolError {}

/** A feature the format or the tool does not support (yet); says which. */
export class UnsupportedError extends RecipeToolError {}
