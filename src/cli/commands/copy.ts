import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../../errors';
import type { WriteOptions } from '../../formats';
import { flagBool, flagNumber, flagString } from '../args';
import type { Command } from '../command';
import { EXIT } from '../exit-codes';
import { writtenLine } from '../written';

export const copyCommand: Command = {
  name: 'copy',
  usage: 'recipe copy <model> -o <out> [--external-data keep|inline|external]',
  summary:
    'Read a model into the IR and write it back: the round-trip tool. An untouched\n' +
    'model is written back with the same content. Can move weights into or out of\n' +
    'ONNX external data.',
  flags: [
    { name: 'output', short: 'o', value: true, placeholder: 'FILE', help: 'where to write the model (required)' },
    { name: 'external-data', value: true, placeholder: 'MODE', help: 'ONNX weights: keep (default), inline, or external' },
    { name: 'threshold', value: true, placeholder: 'BYTES', help: 'with --external-data external: smallest tensor moved out (default 1024)' },
    { name: 'data-file', value: true, placeholder: 'NAME', help: 'with --external-data external: data file name (default <out>.data)' },
    { name: 'force', help: 'allow overwriting the input model' },
    { name: 'drop-unknown-fields', help: 'TFLite: write a changed model from a newer converter without the fields recipe does not know (refused otherwise; an unchanged one is copied whole)' },
  ],
  async run(args, io) {
    const [input, ...rest] = args.positionals;
    const output = flagString(args, 'output');
    if (!input || rest.length) throw new UsageError('copy: expects exactly one input model', "see 'recipe copy --help'");
    if (!output) throw new UsageError('copy: missing -o <out>', "see 'recipe copy --help'");
    checkOutputPath(output);
    refuseOverwritingInput(input, output, flagBool(args, 'force'));
    const mode = flagString(args, 'external-data') ?? 'keep';
    if (mode !== 'keep' && mode !== 'inline' && mode !== 'external') {
      throw new UsageError(`copy: --external-data wants keep, inline or external, got '${mode}'`);
    }
    const options: WriteOptions = {
      externalData: mode,
      externalThreshold: flagNumber(args, 'threshold'),
      externalFile: flagString(args, 'data-file'),
      dropUnknownFields: flagBool(args, 'drop-unknown-fields'),
    };
    const { readModel, writeModel } = await import('../../formats');
    const model = readModel(input);
    const written = writeModel(model, output, options);
    io.err(`${writtenLine(written)}\n`);
    return EXIT.ok;
  },
};

/** Never replace the input model by accident: the same path or the same file through a link. */
/**
 * Refuses an output path that cannot be written (its folder is missing, or it
 * names a folder) before any work is done: reading and rewriting a large
 * model can take minutes.
 */
export function checkOutputPath(output: string): void {
  const dir = path.dirname(path.resolve(output));
  let dirStat: fs.Stats | undefined;
  try {
    dirStat = fs.statSync(dir);
  } catch {
    dirStat = undefined;
  }
  if (!dirStat) throw new UsageError(`cannot write '${output}': the folder '${dir}' does not exist`, 'create the folder first, or choose another -o');
  if (!dirStat.isDirectory()) throw new UsageError(`cannot write '${output}': '${dir}' is not a folder`);
  if (fs.existsSync(output) && fs.statSync(output).isDirectory()) throw new UsageError(`cannot write '${output}': it is a folder`, 'give the path of the file to write');
}

export function refuseOverwritingInput(input: string, output: string, force: boolean): void {
  if (force) return;
  const same =
    path.resolve(input) === path.resolve(output) ||
    (fs.existsSync(output) && fs.existsSync(input) && sameFile(input, output));
  if (same) throw new UsageError(`refusing to overwrite the input model '${input}'`, 'pass --force to overwrite it');
}

function sameFile(a: string, b: string): boolean {
  const sa = fs.statSync(a);
  const sb = fs.statSync(b);
  return sa.dev === sb.dev && sa.ino === sb.ino;
}
