import type { FlagSpec, ParsedArgs } from './args';

/** What a command may touch of the outside world; tests pass their own. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal: progress bars show only then. */
  readonly interactive: boolean;
}

export interface Command {
  name: string;
  usage: string;
  summary: string;
  flags: FlagSpec[];
  run(args: ParsedArgs, io: Io): Promise<number> | number;
}
