/**
 * Command-line options of the benchmarks: `--name value` flags and `--name`
 * switches, by a table of flag -> option name and kind, over defaults.
 */
import * as path from 'node:path';

/** How a flag's value is read: a number, text, a path (made absolute), or a switch without a value. */
export type FlagKind = 'number' | 'string' | 'path' | 'switch';

export function parseOptions<T extends object>(argv: readonly string[], flags: Record<string, [keyof T, FlagKind]>, defaults: T): T {
  const opts = { ...defaults } as Record<string, unknown>;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const spec = flags[flag];
    if (!spec) throw new Error(`unknown option ${flag} (options: ${Object.keys(flags).join(', ')})`);
    const [key, kind] = spec;
    if (kind === 'switch') {
      opts[key as string] = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    opts[key as string] = kind === 'number' ? Number(value) : kind === 'path' ? path.resolve(value) : value;
  }
  return opts as T;
}
