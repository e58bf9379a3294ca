import type { Io } from './command';

/** A one-line progress display on stderr; silent when stderr is not a terminal. */
export interface ProgressLine {
  /** Shows `text`, at most every `intervalMs` (the last call always wins at `done`). */
  update(text: string): void;
  /** Clears the line. */
  done(): void;
}

const SILENT: ProgressLine = { update: () => undefined, done: () => undefined };

/**
 * A progress line for long runs (large models). Throttled so that printing
 * never costs more than the work; quiet when `io.interactive` is false (pipes,
 * CI, tests), where a stream of carriage returns would only be noise.
 */
export function progressLine(io: Io, options: { intervalMs?: number; now?: () => number } = {}): ProgressLine {
  if (!io.interactive) return SILENT;
  const interval = options.intervalMs ?? 100;
  const now = options.now ?? Date.now;
  let last = -Infinity;
  let width = 0;
  return {
    update(text) {
      const t = now();
      if (t - last < interval) return;
      last = t;
      const line = text.length > 100 ? text.slice(0, 97) + '...' : text;
      io.err(`\r${line.padEnd(width)}`);
      width = line.length;
    },
    done() {
      if (width > 0) io.err(`\r${' '.repeat(width)}\r`);
      width = 0;
    },
  };
}
