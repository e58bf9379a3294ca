import { RecipeToolError, UsageError } from '../errors';
import { describeFsError, isFsError } from '../formats/fs-errors';
import { parseArgs, formatHelp } from './args';
import type { Command, Io } from './command';
import { applyCommand } from './commands/apply';
import { checkCommand } from './commands/check';
import { copyCommand } from './commands/copy';
import { diffCommand } from './commands/diff';
import { listCommand } from './commands/list';
import { showCommand } from './commands/show';
import { testCommand } from './commands/test';
import { verifyCommand } from './commands/verify';
import { EXIT, exitCodeFor } from './exit-codes';

// Each command module is light (name, usage, flags); what a command needs to
// run (codecs, the recipe compiler, ajv, the rule-test runner) is imported in
// its run(), so `recipe --help` and one command load only what they use.

/** Every command, in the order `recipe --help` lists them. */
export const COMMANDS: Command[] = [applyCommand, checkCommand, listCommand, testCommand, verifyCommand, showCommand, diffCommand, copyCommand];

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    'usage: recipe <command> [options]',
    '',
    'Rewrite neural-network graphs (ONNX, TFLite, OpenVINO IR) with YAML recipes.',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${firstSentence(c.summary)}`),
    '',
    "Run 'recipe <command> --help' for a command's options.",
  ].join('\n') + '\n';
}

/** The first sentence of a command's summary, for the list of commands. */
function firstSentence(summary: string): string {
  const flat = summary.replace(/\s+/g, ' ').trim();
  const end = flat.search(/[.:](\s|$)/);
  if (end < 0) return flat;
  // A summary that goes on after a colon is cut there, and ends like the others.
  return flat[end] === ':' ? `${flat.slice(0, end)}.` : flat.slice(0, end + 1);
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  interactive: Boolean(process.stderr.isTTY) && !process.env.CI,
};

/** Runs the CLI and returns its exit code; the only place errors become messages. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(topHelp());
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version' || name === '-V') {
    io.out(`recipe ${(require('../../package.json') as { version: string }).version}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (!command) throw new UsageError(`unknown command '${name}'`, "run 'recipe --help' for the list");
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(formatHelp(command.usage, command.summary, command.flags));
      return EXIT.ok;
    }
    return await command.run(parseArgs(rest, command.flags, command.name), io);
  } catch (error) {
    return report(error, io);
  }
}

function report(error: unknown, io: Io): number {
  const code = exitCodeFor(error);
  if (error instanceof RecipeToolError) {
    io.err(`recipe: ${error.message}\n`);
    if (error.hint) io.err(`  hint: ${error.hint}\n`);
  } else if (isFsError(error)) {
    // A file the command needed besides the model (models have their own messages, exit 4).
    io.err(`recipe: cannot ${error.syscall} ${error.path ?? 'a file'}: ${describeFsError(error)}\n`);
    if (process.env.RECIPE_DEBUG) io.err(`${error.stack ?? ''}\n`);
  } else {
    const e = error as Error;
    io.err(`recipe: internal error: ${e?.message ?? String(error)}\n`);
    if (process.env.RECIPE_DEBUG) io.err(`${e?.stack ?? ''}\n`);
    else io.err('  hint: this is a bug in recipe; rerun with RECIPE_DEBUG=1 for the stack and report it\n');
  }
  return code;
}
