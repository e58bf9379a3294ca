import { UsageError } from '../../errors';
import type { RuntimeName, VerifyOptions, VerifyReport } from '../../verify/models';
import { flagBool, flagList, flagNumber, flagString, type FlagSpec, type ParsedArgs } from '../args';
import type { Command } from '../command';
import { EXIT } from '../exit-codes';
import { progressLine } from '../progress';

/** The flags that say how to verify, shared by `verify` and `apply --verify`. */
export const VERIFY_FLAGS: FlagSpec[] = [
  { name: 'runs', value: true, placeholder: 'N', help: 'runs, each with its own random inputs (default 3)' },
  { name: 'seed', value: true, placeholder: 'S', help: 'seed of the first run; run k uses S + k (default 1)' },
  { name: 'rtol', value: true, placeholder: 'R', help: 'relative tolerance: |before - after| <= atol + rtol x |before| (default 1e-4; 1e-2 for an original that computes in float16)' },
  { name: 'atol', value: true, placeholder: 'A', help: 'absolute tolerance (default 1e-5; 1e-3 for an original that computes in float16)' },
  { name: 'dim', value: true, repeat: true, placeholder: 'NAME=SIZE', help: 'size of a named input dimension (others left open are 1)' },
  { name: 'shape', value: true, repeat: true, placeholder: 'INPUT=D0,D1,..', help: 'whole shape of an input' },
  { name: 'range', value: true, repeat: true, placeholder: '[INPUT=]LO,HI', help: 'input values in [LO, HI); without INPUT= for every float input (default -1,1)' },
  {
    name: 'partial',
    help: 'OpenVINO IR: where a layer has no ONNX translation, compare the values it reads instead of the outputs after it (those layers must be unchanged)',
  },
  { name: 'runtime', value: true, placeholder: 'NAME', help: 'onnxruntime (ONNX, OpenVINO IR), litert or armnn (TFLite); default: the format\'s, for TFLite LiteRT.js then ArmNN' },
];

export const verifyCommand: Command = {
  name: 'verify',
  usage: 'recipe verify <original> <rewritten> [--runs N] [--rtol R] [--atol A] [--dim NAME=SIZE] [--shape INPUT=D0,D1] [--range [INPUT=]LO,HI] [--report json]',
  summary:
    'Check that a rewritten model computes what the original computed.\n' +
    'Runs both in a real runtime (onnxruntime for ONNX, LiteRT.js or ArmNN for\n' +
    'TFLite) on the same seeded random inputs and compares every output by name.\n' +
    'Exits 5 when an output differs beyond the tolerance. OpenVINO IR has no\n' +
    'runtime here: both models are translated layer by layer to ONNX and run\n' +
    'in onnxruntime (exit 6 when a layer has no translation yet).',
  flags: [...VERIFY_FLAGS, { name: 'report', value: true, placeholder: 'FORMAT', help: 'print the report as json instead of text' }],
  async run(args, io) {
    const [before, after, ...extra] = args.positionals;
    if (!before || !after || extra.length) throw new UsageError('verify: expects two models, the original and the rewritten one', "see 'recipe verify --help'");
    const reportFormat = flagString(args, 'report') ?? 'text';
    if (reportFormat !== 'text' && reportFormat !== 'json') throw new UsageError(`verify: --report wants json or text, got '${reportFormat}'`);
    const options = verifyOptionsFrom(args);
    const { verifyModels } = await import('../../verify/models');
    const progress = progressLine(io);
    progress.update(`running ${before} and ${after}...`);
    let report: VerifyReport;
    try {
      report = verifyModels(before, after, options);
    } finally {
      progress.done();
    }
    io.out(reportFormat === 'json' ? JSON.stringify({ original: before, rewritten: after, ...report }, jsonNumbers, 2) + '\n' : formatVerifyReport(report, before, after));
    return report.ok ? EXIT.ok : EXIT.numericMismatch;
  },
};

/** Reads the VERIFY_FLAGS of a command line. */
export function verifyOptionsFrom(args: ParsedArgs): VerifyOptions {
  const options: VerifyOptions = {};
  const runs = flagNumber(args, 'runs');
  if (runs !== undefined) {
    if (!Number.isInteger(runs) || runs < 1) throw new UsageError(`option '--runs' wants a whole number >= 1, got ${runs}`);
    options.runs = runs;
  }
  const seed = flagNumber(args, 'seed');
  if (seed !== undefined) options.seed = seed;
  for (const name of ['rtol', 'atol'] as const) {
    const v = flagNumber(args, name);
    if (v === undefined) continue;
    if (v < 0) throw new UsageError(`option '--${name}' wants a number >= 0, got ${v}`);
    options[name] = v;
  }
  const dims: Record<string, number> = {};
  for (const item of flagList(args, 'dim')) {
    const [name, size] = splitAssignment(item, 'dim', 'NAME=SIZE');
    const n = Number(size);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`option '--dim ${item}': the size must be a whole number >= 0`);
    dims[name] = n;
  }
  if (Object.keys(dims).length) options.dims = dims;
  const shapes: Record<string, number[]> = {};
  for (const item of flagList(args, 'shape')) {
    const [name, list] = splitAssignment(item, 'shape', 'INPUT=D0,D1,..');
    const shape = list === '' ? [] : list.split(',').map(Number);
    if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new UsageError(`option '--shape ${item}': dimensions must be whole numbers >= 0`);
    shapes[name] = shape;
  }
  if (Object.keys(shapes).length) options.shapes = shapes;
  const ranges: Record<string, [number, number]> = {};
  for (const item of flagList(args, 'range')) {
    const eq = item.lastIndexOf('=');
    const range = parseRange(eq >= 0 ? item.slice(eq + 1) : item, item);
    if (eq >= 0) ranges[item.slice(0, eq)] = range;
    else options.floatRange = range;
  }
  if (Object.keys(ranges).length) options.ranges = ranges;
  const runtime = flagString(args, 'runtime');
  if (runtime !== undefined) {
    if (runtime !== 'onnxruntime' && runtime !== 'litert' && runtime !== 'armnn') {
      throw new UsageError(`option '--runtime' wants onnxruntime, litert or armnn, got '${runtime}'`);
    }
    options.runtime = runtime satisfies RuntimeName;
  }
  if (flagBool(args, 'partial')) options.partial = true;
  return options;
}

function splitAssignment(item: string, flag: string, form: string): [string, string] {
  const eq = item.lastIndexOf('=');
  if (eq <= 0) throw new UsageError(`option '--${flag}' wants ${form}, got '${item}'`);
  return [item.slice(0, eq), item.slice(eq + 1)];
}

function parseRange(text: string, item: string): [number, number] {
  const parts = text.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 2 || parts.some((x) => !Number.isFinite(x)) || !(parts[0]! < parts[1]!)) {
    throw new UsageError(`option '--range ${item}' wants LO,HI with LO < HI`);
  }
  return [parts[0]!, parts[1]!];
}

/** JSON has no Infinity: a difference that is infinite (NaN against a number) is written as the string "Infinity". */
export function jsonNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
}

/** The text report: the inputs fed, one row per output, and the first element beyond the tolerance of each failing output. */
export function formatVerifyReport(report: VerifyReport, before: string, after: string): string {
  const lines: string[] = [];
  const runs = `${report.runs} run${report.runs === 1 ? '' : 's'} from seed ${report.seed}`;
  const via = report.translatedTo ? ` translated to ${report.translatedTo}` : '';
  lines.push(`verify ${before} -> ${after} (${report.format}${via}) in ${report.runtime}, ${runs}, |diff| <= ${short(report.atol)} + ${short(report.rtol)} x |before|`);
  if (report.toleranceFor) {
    lines.push(`  (the tolerance for an original that computes in ${report.toleranceFor}: the runtime rounds to ${report.toleranceFor} where each graph keeps such a value, which equivalent graphs need not share; --rtol and --atol set it)`);
  }
  for (const f of report.fallbacks) lines.push(`  (${f.error}; used ${report.runtime} instead)`);
  lines.push(
    ...table(
      ['input', 'dtype', 'shape', 'values'],
      report.inputs.map((i) => [i.name, i.dtype, `[${i.shape.join(', ')}]`, i.frozen ? `frozen by the rewrite: ${frozenText(i.frozen)}` : `in [${i.range[0]}, ${i.range[1]})`]),
    ),
  );
  const open = report.inputs.filter((i) => i.openDims.length);
  if (open.length) {
    const where = open.map((i) => `${i.name}[${i.openDims.join(', ')}]`).join(', ');
    lines.push(`note: open dimensions fed as 1: ${where}; size them with --dim NAME=SIZE or --shape INPUT=D0,D1,..`);
  }
  for (const c of report.cautions ?? []) lines.push(`note: ${c}`);
  for (const n of report.notCompared ?? []) lines.push(`note: output '${n.name}' not compared: ${n.reason}`);
  if (report.cut) {
    const layers = report.cut.layers.map((l) => `${l.op} '${l.name}'`).join(', ');
    lines.push(`note: --partial: no ONNX translation for ${layers}: compared what ${report.cut.layers.length === 1 ? 'it reads' : 'they read'} (${report.cut.comparedAt.join(', ')})`);
    if (report.cut.outputsNotChecked.length) lines.push(`note: outputs after ${report.cut.layers.length === 1 ? 'it' : 'them'}, not checked: ${report.cut.outputsNotChecked.join(', ')}`);
  }
  lines.push('');
  lines.push(
    ...table(
      ['output', 'dtype', 'shape', 'max |diff|', 'max rel', 'beyond', ''],
      report.outputs.map((o) => [
        o.name,
        o.dtype,
        `[${o.shape.join(', ')}]`,
        o.problem ? '-' : short(o.maxAbsDiff),
        o.problem ? '-' : short(o.maxRelDiff),
        o.problem ? '-' : String(o.beyond),
        o.ok ? 'ok' : 'DIFFERS',
      ]),
    ),
  );
  for (const o of report.outputs) {
    if (o.problem) lines.push(`output '${o.name}': ${o.problem}`);
    else if (o.worst) {
      const w = o.worst;
      lines.push(`output '${o.name}': ${o.beyond} element(s) beyond the tolerance; first in run ${w.run + 1} at element ${w.index}: ${w.before} before, ${w.after} after`);
    }
  }
  lines.push(report.ok ? 'outputs agree within the tolerance' : 'outputs DIFFER beyond the tolerance');
  return lines.join('\n') + '\n';
}

/** Three significant digits, in exponent form when small or large. */
function short(x: number): string {
  if (x === 0 || !Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  const text = a < 1e-3 || a >= 1e6 ? x.toExponential(2) : x.toPrecision(3);
  // Trailing zeros of the fraction only: 100 stays 100, 1.50e-7 becomes 1.5e-7.
  return text.includes('.') ? text.replace(/0+(?=e|$)/, '').replace(/\.(?=e|$)/, '') : text;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (row: string[]): string => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [fmt(header), ...rows.map(fmt)];
}

/** A frozen input's values as the report shows them: a few, then how many. */
function frozenText(values: readonly (number | boolean)[]): string {
  const shown = values.slice(0, 4).join(', ');
  return values.length === 1 ? shown : `[${shown}${values.length > 4 ? `, ... (${values.length})` : ''}]`;
}
