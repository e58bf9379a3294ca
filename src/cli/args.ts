import { UsageError } from '../errors';

/** A flag a command accepts. */
export interface FlagSpec {
  name: string;
  short?: string;
  /** Takes a value (`--target myriad`); otherwise a boolean switch. */
  value?: boolean;
  /** May be given more than once; values collect into an array. */
  repeat?: boolean;
  /** Value placeholder and description for --help. */
  placeholder?: string;
  help: string;
}

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true | string[]>;
}

/** Parses `argv` against `specs`; unknown flags are a usage error, not ignored. */
export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[], command: string): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true | string[]>();
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    } else {
      const spec = byShort.get(arg.slice(1));
      if (!spec) throw new UsageError(`${command}: unknown option '${arg}'`, `see 'recipe ${command} --help'`);
      name = spec.name;
    }
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`${command}: unknown option '--${name}'`, `see 'recipe ${command} --help'`);
    let value: string | true = true;
    if (spec.value) {
      const next = inline ?? argv[++i];
      if (next === undefined) throw new UsageError(`${command}: option '--${name}' needs a value`);
      value = next;
    } else if (inline !== undefined) {
      throw new UsageError(`${command}: option '--${name}' takes no value`);
    }
    if (spec.repeat) {
      const list = (flags.get(name) as string[] | undefined) ?? [];
      list.push(value as string);
      flags.set(name, list);
    } else {
      flags.set(name, value);
    }
  }
  return { positionals, flags };
}

export function flagString(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

export function flagBool(args: ParsedArgs, name: string): boolean {
  return args.flags.get(name) === true;
}

export function flagList(args: ParsedArgs, name: string): string[] {
  const v = args.flags.get(name);
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

export function flagNumber(args: ParsedArgs, name: string): number | undefined {
  const v = flagString(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`option '--${name}' wants a number, got '${v}'`);
  return n;
}

export function formatHelp(usage: string, summary: string, specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => {
    const left = `${s.short ? `-${s.short}, ` : '    '}--${s.name}${s.value ? ` ${s.placeholder ?? 'VALUE'}` : ''}`;
    return [left, s.help] as const;
  });
  rows.push(['    --help', 'show this help']);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return [`usage: ${usage}`, '', summary, '', 'options:', ...rows.map(([l, h]) => `  ${l.padEnd(width)}${h}`)].join('\n') + '\n';
}
