import { UsageError } from '../../errors';
import { flagBool, flagNumber } from '../args';
import type { Command } from '../command';
import { EXIT } from '../exit-codes';

export const showCommand: Command = {
  name: 'show',
  usage: 'recipe show <model> [--graph] [--json]',
  summary:
    'Describe a model: inputs, outputs, opsets, op histogram, parameter count and bytes.\n' +
    'With --graph, print the canonical graph text that rule tests and diffs use.',
  flags: [
    { name: 'graph', help: 'print the whole graph in canonical text form' },
    { name: 'json', help: 'print the summary as JSON' },
    { name: 'inline-limit', value: true, placeholder: 'N', help: 'with --graph: print constants of up to N elements (default 8)' },
  ],
  async run(args, io) {
    const [file, ...rest] = args.positionals;
    if (!file || rest.length) throw new UsageError('show: expects exactly one model file', "see 'recipe show --help'");
    const [{ readModel }, { printModel }, { formatSummary, summarize }] = await Promise.all([
      import('../../formats'),
      import('../../ir/text/print'),
      import('../model-summary'),
    ]);
    const model = readModel(file, { decodeGraphs: true });
    if (flagBool(args, 'graph')) {
      io.out(printModel(model, { inlineLimit: flagNumber(args, 'inline-limit') }));
    } else if (flagBool(args, 'json')) {
      io.out(JSON.stringify(summarize(model, file), null, 2) + '\n');
    } else {
      io.out(formatSummary(summarize(model, file)));
    }
    return EXIT.ok;
  },
};
