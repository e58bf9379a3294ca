import { UsageError } from '../../errors';
import { flagNumber } from '../args';
import type { Command } from '../command';
import { EXIT } from '../exit-codes';

export const diffCommand: Command = {
  name: 'diff',
  usage: 'recipe diff <before> <after> [--context N] [--inline-limit N]',
  summary:
    'Show what differs between two models, as a diff of their canonical graph text\n' +
    "(recipe show --graph): what a rewrite removed (-) and added (+), in each graph.\n" +
    'Exit 0 when the graphs are the same, 1 when they differ.',
  flags: [
    { name: 'context', value: true, placeholder: 'N', help: 'unchanged lines shown around each change (default 2)' },
    { name: 'inline-limit', value: true, placeholder: 'N', help: 'print constants of up to N elements; larger ones by content hash (default 8)' },
  ],
  async run(args, io) {
    const [before, after, ...rest] = args.positionals;
    if (!before || !after || rest.length) throw new UsageError('diff: expects two model files', "see 'recipe diff --help'");
    const context = flagNumber(args, 'context') ?? 2;
    if (!Number.isInteger(context) || context < 0) throw new UsageError(`diff: --context wants a whole number >= 0, got ${context}`);
    const [{ readModel }, { printModel }, { diffGraphTexts }] = await Promise.all([import('../../formats'), import('../../ir/text/print'), import('../../ir/text/diff')]);
    const inlineLimit = flagNumber(args, 'inline-limit');
    const text = (file: string): string => printModel(readModel(file, { decodeGraphs: true }), { inlineLimit });
    const diff = diffGraphTexts(text(before), text(after), [before, after], context);
    if (diff.text === '') {
      io.out('the graphs are the same\n');
      return EXIT.ok;
    }
    io.out(diff.text);
    io.out(`${diff.removed} line(s) removed, ${diff.added} added\n`);
    return EXIT.checkFailed;
  },
};
