import { RecipeErrors, UsageError } from '../../errors';
import type { Bundle } from '../../recipe/bundle';
import type { RunReport } from '../../recipe/run';
import type { VerifyReport } from '../../verify/models';
import { flagBool, flagList, flagString } from '../args';
import type { Command, Io } from '../command';
import { EXIT } from '../exit-codes';
import { progressLine } from '../progress';
import { displayPath, writtenLine } from '../written';
import { printRecipeErrors, registerBuiltinActions } from './check';
import { checkOutputPath, refuseOverwritingInput } from './copy';
import { VERIFY_FLAGS, formatVerifyReport, jsonNumbers, verifyOptionsFrom } from './verify';

export const applyCommand: Command = {
  name: 'apply',
  usage: 'recipe apply <recipe.yaml|pack|bundle>... <model> -o <out> [--target T] [--dry-run] [--report json] [--explain RULE] [--diff]',
  summary:
    'Apply a bundle of recipes to a model and write the rewritten model.\n' +
    "Built-in packs and target bundles go by name ('recipe list' lists them:\n" +
    "'recipe apply myriad model.xml -o out.xml'), and so do their recipe files\n" +
    "('fix-shape', 'core/batchnorm'); a pack's folder loads its recipe\n" +
    'files in name order, as a built-in pack does.\n' +
    'The recipe files run in order, each after what it extends; rules run to a\n' +
    'fixpoint, then cleanup. Prints per rule how many nodes were tried, matched and\n' +
    'rewritten. The output records the recipes applied (name, version, sha256) in\n' +
    'the model metadata under recipe.applied.',
  flags: [
    { name: 'output', short: 'o', value: true, placeholder: 'FILE', help: 'where to write the rewritten model (required unless --dry-run)' },
    {
      name: 'override',
      value: true,
      repeat: true,
      placeholder: 'RULE=VALUE',
      help: "change a rule after every file, as 'overrides:' in a last file would: off, on, or YAML (--override 'fix-height-width={enabled: true, options: {dims: {height: 480, width: 640}}}')",
    },
    { name: 'target', short: 't', value: true, placeholder: 'T', help: "the target to rewrite for (default: the one the bundle is for, as 'edgetpu' for the edgetpu bundle, else default)" },
    { name: 'dry-run', help: 'apply in memory and report, write nothing' },
    { name: 'report', value: true, placeholder: 'FORMAT', help: 'print the report as json instead of text' },
    { name: 'explain', value: true, placeholder: 'RULE', help: 'for each candidate node of RULE that did not match: the first condition that failed' },
    { name: 'diff', help: "also print what the rewrite removed (-) and added (+) in the graph text (as 'recipe diff')" },
    { name: 'force', help: 'allow overwriting the input model' },
    { name: 'drop-unknown-fields', help: 'TFLite: write a changed model from a newer converter without the fields recipe does not know (refused otherwise; an unchanged one is copied whole)' },
    { name: 'verify', help: "then run the model and its rewrite in a real runtime and compare their outputs (as 'recipe verify'; exit 5 when they differ)" },
    ...VERIFY_FLAGS,
  ],
  async run(args, io) {
    const positionals = args.positionals;
    if (positionals.length < 2) throw new UsageError('apply: expects at least one recipe and a model', "see 'recipe apply --help'");
    const input = positionals[positionals.length - 1]!;
    const recipes = positionals.slice(0, -1);
    const output = flagString(args, 'output');
    const dryRun = flagBool(args, 'dry-run');
    const reportFormat = flagString(args, 'report') ?? 'text';
    if (reportFormat !== 'text' && reportFormat !== 'json') throw new UsageError(`apply: --report wants json or text, got '${reportFormat}'`);
    if (!output && !dryRun) throw new UsageError('apply: missing -o <out>', 'or pass --dry-run to only see the report');
    if (output) {
      checkOutputPath(output);
      refuseOverwritingInput(input, output, flagBool(args, 'force'));
    }
    const verify = flagBool(args, 'verify');
    const verifyFlag = VERIFY_FLAGS.find((f) => args.flags.has(f.name));
    if (verifyFlag && !verify) throw new UsageError(`apply: --${verifyFlag.name} says how to verify: add --verify`);
    const verifyOptions = verify ? verifyOptionsFrom(args) : undefined;
    const explain = flagString(args, 'explain');
    const showDiff = flagBool(args, 'diff');

    const [{ bundleTarget, loadBundle }, { applyBundle }, { readModel, writeModel }, verifier, graphText] = await Promise.all([
      import('../../recipe/bundle'),
      import('../../recipe/run'),
      import('../../formats'),
      verifyOptions ? import('../../verify/models') : undefined,
      showDiff ? Promise.all([import('../../ir/text/print'), import('../../ir/text/diff')]) : undefined,
      registerBuiltinActions(),
    ]);
    let bundle: Bundle;
    try {
      bundle = loadBundle(recipes, { overrides: flagList(args, 'override') });
    } catch (e) {
      if (e instanceof RecipeErrors) {
        printRecipeErrors(e, io);
        return EXIT.invalidRecipe;
      }
      throw e;
    }
    const target = flagString(args, 'target') ?? bundleTarget(bundle);
    if (!bundle.targets.has(target)) {
      throw new UsageError(`apply: unknown target '${target}'`, `targets of this bundle: ${[...bundle.targets].join(', ')}`);
    }
    if (explain !== undefined && !bundle.rules.some((r) => r.id === explain)) {
      throw new UsageError(`apply: --explain names no rule of the bundle: '${explain}'`, `rules: ${bundle.rules.map((r) => r.id).join(', ')}`);
    }

    const progress = progressLine(io);
    progress.update(`reading ${input}...`);
    const clock = { start: performance.now(), read: 0, apply: 0, write: 0 };
    const model = readModel(input, { decodeGraphs: true });
    // Before the rewrite: a model no runtime here can run is refused at once, not after minutes of work.
    if (verifier && verifyOptions) verifier.checkVerifiable(model, verifyOptions.runtime, verifyOptions.partial);
    // Codecs may decode the graph on first use: count that as reading, not rewriting.
    void model.graphs;
    clock.read = performance.now() - clock.start;
    const textBefore = graphText?.[0].printModel(model);
    let report: RunReport;
    try {
      report = applyBundle(model, bundle, {
        target,
        explain,
        onProgress: (p) => progress.update(`${p.rule}: ${p.done}/${p.total} candidates in graph '${p.graph}'`),
      });
    } catch (e) {
      progress.done();
      if (e instanceof RecipeErrors) {
        printRecipeErrors(e, io);
        return EXIT.invalidRecipe;
      }
      throw e;
    }
    clock.apply = performance.now() - clock.start - clock.read;
    let written: string[] = [];
    if (!dryRun && output) {
      progress.update(`writing ${output}...`);
      written = writeModel(model, output, { dropUnknownFields: flagBool(args, 'drop-unknown-fields') });
    }
    clock.write = performance.now() - clock.start - clock.read - clock.apply;
    let verified: VerifyReport | undefined;
    if (verifier && verifyOptions) {
      progress.update('verifying: running the model and its rewrite...');
      try {
        verified = dryRun || !output ? verifier.verifyUnwritten(input, model, verifyOptions) : verifier.verifyModels(input, output, verifyOptions);
      } finally {
        progress.done();
      }
    }
    progress.done();
    const diff = graphText && textBefore !== undefined ? graphText[1].diffGraphTexts(textBefore, graphText[0].printModel(model), [input, dryRun || !output ? '(the rewrite)' : output]) : undefined;
    const seconds = { read: round3(clock.read / 1000), apply: round3(clock.apply / 1000), write: round3(clock.write / 1000) };

    if (reportFormat === 'json') {
      const json = {
        model: input, format: model.format, output: dryRun ? null : output ?? null, written, seconds, ...report,
        ...(verified ? { verify: verified } : {}),
        ...(diff ? { diff: diff.text } : {}),
      };
      io.out(JSON.stringify(json, jsonNumbers, 2) + '\n');
    } else {
      io.out(formatReport(report, input, model.format, bundle, explain));
      if (dryRun) io.out('dry run: nothing written\n');
      else io.out(`${writtenLine(written)}\n`);
      if (verified) io.out('\n' + formatVerifyReport(verified, displayPath(input), dryRun ? '(the rewrite, not written)' : displayPath(output!)));
      if (diff) io.out(diff.text === '' ? '\nthe graph is unchanged\n' : `\n${diff.text}${diff.removed} line(s) removed, ${diff.added} added\n`);
    }
    for (const w of report.warnings) io.err(`warning: ${w}\n`);
    const refused = report.rules.flatMap((r) => r.refused.map((x) => ({ rule: r.id, ...x })));
    for (const r of refused) io.err(`refused [${r.rule}] at node '${r.node}' (graph '${r.graph}'): ${r.reason}; the model was left as before\n`);
    if (verified && !verified.ok) return EXIT.numericMismatch;
    return refused.length ? EXIT.checkFailed : EXIT.ok;
  },
};

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** The text report: one row per rule, then what was skipped and the near misses asked for. */
export function formatReport(report: RunReport, input: string, format: string, bundle: Bundle, explain?: string): string {
  const lines: string[] = [];
  const names = bundle.recipes.map((r) => `${r.name}${r.version ? ' ' + r.version : ''}`).join(', ');
  lines.push(`${input} (${format}), target ${report.target}: ${names}`);
  const header = ['rule', 'candidates', 'matches', 'rewrites', 'refused'];
  const rows = report.rules.map((r) =>
    r.kind === 'action' ? [r.id, '-', '-', String(r.rewrites), r.summary ?? ''] : [r.id, String(r.candidates), String(r.matches), String(r.rewrites), String(r.refused.length)],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const fmt = (row: string[]): string => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  lines.push(fmt(header));
  for (const row of rows) lines.push(fmt(row));
  // A target bundle holds rules for every format: a model of one format skips
  // most of them, which says little one per line.
  const otherFormat = report.skipped.filter((s) => /^not for \w+ models/.test(s.reason));
  const listed = otherFormat.length > 3 ? report.skipped.filter((s) => !otherFormat.includes(s)) : report.skipped;
  if (listed !== report.skipped) {
    lines.push(`skipped ${otherFormat.length} rule(s) written for other formats (--report json lists them)`);
  }
  for (const s of listed) lines.push(`skipped ${s.id}: ${s.reason}`);
  lines.push(`cleanup: removed ${report.cleanup.nodes} node(s), ${report.cleanup.values} value(s); ${report.rounds} round(s)`);
  if (explain !== undefined) {
    const stats = report.rules.find((r) => r.id === explain);
    if (!stats) lines.push(`explain ${explain}: not run (see skipped above)`);
    else if (report.explain.length === 0) lines.push(`explain ${explain}: no near misses (${stats.candidates} candidate(s), ${stats.matches} match(es))`);
    else lines.push(`explain ${explain}: ${report.explain.length} near miss(es)`);
  }
  for (const m of report.explain) lines.push(`  near miss at ${m.op} '${m.node}' in graph '${m.graph}': ${m.reason}`);
  return lines.join('\n') + '\n';
}
