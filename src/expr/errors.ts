import { TextSpanError } from '../errors';

/** An error in an expression: found while parsing, checking or evaluating it. */
export class ExprError extends TextSpanError {}

/** Something with an offset range: an AST node, a token. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/** Builds an ExprError that covers `span`. */
export function errorAt(span: Span, reason: string, hint?: string): ExprError {
  return new ExprError(span.start, span.end, reason, hint);
}

/**
 * The expression with a caret line under the offending range, e.g.
 * ```
 * $scale / sqr($var)
 *          ^^^
 * ```
 * for messages where no file position is at hand (tests, `--explain`).
 */
export function underline(text: string, err: Span): string {
  const width = Math.max(1, Math.min(err.end, text.length) - err.start);
  return `${text}\n${' '.repeat(err.start)}${'^'.repeat(width)}`;
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j] ?? 0;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(up + 1, (row[j - 1] ?? 0) + 1, diag + cost);
      diag = up;
    }
  }
  return row[b.length] ?? 0;
}

/** The closest candidate to `name`: at most a third of its letters off (at least one, fewer than all). */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  const allowed = Math.max(1, Math.ceil(name.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d <= allowed && d < name.length && d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}
