import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readOnnx } from '../../../src/formats/onnx';
import { FunctionRec } from '../../../src/formats/onnx/records';
import { PACKS_DIR } from '../../../src/recipe/bundle';
import { runCli } from '../../helpers/cli';
import { tempDir } from '../../helpers/corpus';
import { PYTHON } from '../../helpers/onnx-files';

// Hostile model-local functions, built by `functions.py hostile`: each is
// refused with exit 4 and one line naming the file and the function, or read,
// rewritten where a rule applies, and written with its functions as read.
// Which one, and why, is said per case from the ONNX spec (onnx.proto on
// ModelProto.functions, docs/IR.md). `recipe copy` never decodes functions
// (functions.test.ts) but checks their bytes as it does the graph's: it
// refuses what is wrong in those (a depth bomb, a tensor short of its dims)
// and writes back byte for byte what is wrong only between functions or in
// what a body means (recursion, a duplicate, no outputs).
const dir = tempDir('onnx-functions-hostile-');
const BN = path.join(PACKS_DIR, 'core/batchnorm.yaml');
const MYRIAD = path.join(PACKS_DIR, 'myriad.yaml');
const file = (name: string): string => path.join(dir, `${name}.onnx`);

beforeAll(() => {
  execFileSync(PYTHON, [path.join(__dirname, 'functions.py'), 'hostile', dir]);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Each FunctionProto of a file as its bytes, by name (functions are decoded to find them). */
function functionBytes(model: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const fn of readOnnx(model).functions) {
    const rec = fn.native as FunctionRec;
    out[`${fn.name}${fn.overload ? `@${fn.overload}` : ''}`] = Buffer.from(rec.buf.subarray(rec.start, rec.end)).toString('hex');
  }
  return out;
}

/** No temporary output (`.NAME.tmp-*`) is left in the folder. */
const leftovers = (): string[] => fs.readdirSync(dir).filter((f) => f.includes('.tmp-'));

describe('refused: exit 4, one line naming the file and the function; nothing written', () => {
  // Name, whether copy refuses it too, the one line's message, and why.
  const refused: [string, 'copy refuses' | 'copy writes it back', RegExp, string][] = [
    [
      'recursive_self',
      'copy writes it back',
      /ModelProto\.functions\[0\], function 'local::F', node 'again', byte \d+: the function calls itself \(local::F -> local::F\): ONNX does not allow recursive functions$/,
      'onnx.proto, ModelProto.functions: "One FunctionProto can reference other FunctionProto in the model, however, recursive reference is not allowed." (python onnx 1.12\'s checker overflows its stack on this file)',
    ],
    [
      'recursive_mutual',
      'copy writes it back',
      /function 'local::F', node 'to_G', byte \d+: the function calls itself \(local::F -> local::G -> local::F\)/,
      'the same, through G, whose call back to F is inside an If branch',
    ],
    [
      'recursive_chain',
      'copy writes it back',
      /function 'local::F0', node 'to_F1', byte \d+: the function calls itself \(local::F0 -> local::F1 -> local::F2 -> <996 more> -> local::F999 -> local::F0\)/,
      'the same through 1,000 functions: followed without the call stack, and said in one short line',
    ],
    [
      'duplicate',
      'copy writes it back',
      /ModelProto\.functions\[1\], function 'local::F', byte \d+: functions\[0\] has the same domain, name and overload/,
      'onnx.proto, ModelProto.functions: "The (domain, name, overload) tuple must be unique across the function protos in this list"; which body a call runs is not defined',
    ],
    [
      'zero_outputs',
      'copy writes it back',
      /ModelProto\.functions\[0\], function 'local::F', byte \d+: the function has no outputs, so no node can call it/,
      'IR.md, Graphs: "Each node has zero or more inputs and one or more outputs"; a rewrite\'s cleanup, which keeps what outputs need, would also empty the body',
    ],
    [
      'nested_100',
      'copy refuses',
      /ModelProto\.functions\[0\]\.node\[0\]\.attribute\[1\]\.g\..*<\d+ more>.*, function 'local::F', byte \d+: subgraphs nested deeper than 64 levels/,
      'the depth bound of subgraphs holds in a function body as in a graph (protobuf\'s own is 100 messages)',
    ],
    [
      'huge_dims',
      'copy refuses',
      /ModelProto\.functions\[0\]\.node\[0\]\.attribute\[0\]\.t, function 'local::F', tensor 'k', byte \d+: tensor data holds 12 bytes, its dims \[1073741824, 1073741824, 1073741824\]/,
      'IR.md, Tensor Definition: V has the length of the product of the dims',
    ],
  ];

  test.each(refused)('%s (%s)', async (name, copy, message) => {
    const model = file(name);
    const runs = [['show', '--graph', model], ['apply', BN, model, '-o', `${model}.bn.onnx`], ['apply', MYRIAD, model, '-t', 'myriad', '-o', `${model}.myriad.onnx`]];
    if (copy === 'copy refuses') runs.push(['copy', model, '-o', `${model}.copy.onnx`]);
    for (const argv of runs) {
      const r = await runCli(...argv);
      expect([argv[0], r.code, r.stdout]).toEqual([argv[0], 4, '']);
      expect(r.stderr).toMatch(new RegExp(`^recipe: ${model}: [^\\n]+\\n$`));
      expect(r.stderr.length).toBeLessThan(400);
      expect(r.stderr.trimEnd()).toMatch(message);
    }
    expect(fs.existsSync(`${model}.bn.onnx`) || fs.existsSync(`${model}.myriad.onnx`)).toBe(false);
    if (copy === 'copy writes it back') {
      expect((await runCli('copy', model, '-o', `${model}.copy.onnx`)).code).toBe(0);
      expect(fs.readFileSync(`${model}.copy.onnx`).equals(fs.readFileSync(model))).toBe(true);
    } else expect(fs.existsSync(`${model}.copy.onnx`)).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  test('huge_length: a functions field announcing 2^40 bytes is refused by every command, at its byte (there is no function to name)', async () => {
    const model = file('huge_length');
    for (const argv of [['copy', model, '-o', `${model}.copy.onnx`], ['show', '--graph', model], ['apply', BN, model, '-o', `${model}.bn.onnx`]]) {
      const r = await runCli(...argv);
      expect([argv[0], r.code]).toEqual([argv[0], 4]);
      expect(r.stderr).toBe(`recipe: ${model}: ModelProto, byte 172: length 1099511627776 is over protobuf's limit of 2^31 - 1 bytes\n`);
    }
    expect(fs.existsSync(`${model}.copy.onnx`) || fs.existsSync(`${model}.bn.onnx`)).toBe(false);
    expect(leftovers()).toEqual([]);
  });
});

describe('read, and written with every function as read', () => {
  const read: [string, string][] = [
    ['overload_calls', 'IR 10: F overload a calls F overload b, another function (IR.md, Functions: domain, name and overload identify one): no recursion'],
    ['undefined_name', 'IR.md wants every name a node reads defined; a graph reading one nothing defines is read too (a TFLite model may): the value has no producer, no rule makes a node read it, and apply warns'],
    ['ref_undeclared', 'IR.md, Functions: a reference to an attribute the call does not give, and that has no default, is omitted; the node is not rewritten (its epsilon is not known)'],
    ['nested_60', 'subgraphs 60 deep: within the bound of 64'],
  ];

  test.each(read)('%s', async (name) => {
    const model = file(name);
    const before = functionBytes(model);
    expect(Object.keys(before).length).toBeGreaterThan(0);
    const shown = await runCli('show', '--graph', model);
    expect([shown.code, shown.stderr]).toEqual([0, '']);
    expect(shown.stdout).toContain('\nfunction local::F');
    for (const [bundle, target] of [[BN, 'default'], [MYRIAD, 'myriad']] as const) {
      const out = `${model}.${path.basename(bundle, '.yaml')}.onnx`;
      const r = await runCli('apply', bundle, model, '-t', target, '-o', out, '--report', 'json');
      expect([bundle, r.code, r.stderr]).toEqual([bundle, 0, warningsOf(name)]);
      const report = JSON.parse(r.stdout) as { rules: { rewrites: number }[] };
      expect(report.rules.reduce((n, x) => n + x.rewrites, 0)).toBe(0);
      expect(functionBytes(out)).toEqual(before);
    }
    const copy = await runCli('copy', model, '-o', `${model}.copy.onnx`);
    expect(copy.code).toBe(0);
    expect(fs.readFileSync(`${model}.copy.onnx`).equals(fs.readFileSync(model))).toBe(true);
  });

  test('ref_undeclared: --explain says why the BatchNormalization is left alone', async () => {
    const model = file('ref_undeclared');
    const r = await runCli('apply', BN, model, '--dry-run', '--report', 'json', '--explain', 'batchnorm-to-mul-add');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { explain: { reason: string }[] }).explain).toEqual([
      expect.objectContaining({ node: 'bn', reason: "attribute 'epsilon' of BatchNormalization 'bn' refers to attribute 'nope' of function 'local::F': its value is each caller's, not known here" }),
    ]);
  });

  test('huge_shape: a value declared with 100,000 dims of 2^53 - 1 is only numbers: the BatchNormalization reading it is rewritten, the declaration kept', async () => {
    const model = file('huge_shape');
    const out = `${model}.bn.onnx`;
    const r = await runCli('apply', BN, model, '-o', out, '--report', 'json');
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect((JSON.parse(r.stdout) as { rules: { id: string; rewrites: number }[] }).rules.find((x) => x.id === 'batchnorm-to-mul-add')!.rewrites).toBe(1);
    const fn = readOnnx(out, { decodeGraphs: true }).functions[0]!;
    expect(fn.body.nodes.map((n) => n.op)).toEqual(['Constant', 'Constant', 'Mul', 'Add']);
    const shape = fn.body.inputs[0]!.shape!;
    expect([shape.length, new Set(shape).size, shape[0]]).toEqual([100_000, 1, 2 ** 53 - 1]);
  });
});

test('cycle: a function body whose nodes read each other is read and shown; a rewrite refuses it, naming the function, as it does such a graph', async () => {
  const model = file('cycle');
  const shown = await runCli('show', '--graph', model);
  expect(shown.code).toBe(0);
  const r = await runCli('apply', BN, model, '-o', `${model}.bn.onnx`);
  expect(r.code).toBe(4);
  expect(r.stderr).toBe(`recipe: ${model}: function 'local::F', node 'relu_a': graph 'F' has a cycle through Relu 'relu_a': its nodes read each other in a circle, so it is not a valid model\n`);
  expect(fs.existsSync(`${model}.bn.onnx`)).toBe(false);
});

/** What apply says of a model it rewrites as it stands: a read of nothing is one no runtime loads. */
function warningsOf(name: string): string {
  return name === 'undefined_name' ? "warning: the model reads 1 value(s) that nothing defines ('ghost'): no runtime loads it as it is; the rewrite leaves those reads as they are\n" : '';
}

describe('the inline pack on the functions read', () => {
  test.each([
    ['ref_undeclared', 1, 'inlined 1 call(s); dropped local::F'],
    ['nested_60', 1, 'inlined 1 call(s); dropped local::F'],
    ['undefined_name', 0, "inlined 0 call(s); left local::F called: its body reads 'ghost', which nothing defines"],
    ['overload_calls', 0, 'inlined 0 call(s); left local::F (overload a) called: it has overloads'],
  ])('%s: %s call(s) inlined, the rest said, and the output reads', async (name, calls, summary) => {
    const model = file(name);
    const out = `${model}.inline.onnx`;
    const r = await runCli('apply', path.join(PACKS_DIR, 'inline/inline-functions.yaml'), model, '-o', out, '--report', 'json');
    expect([r.code, r.stderr]).toEqual([0, warningsOf(name)]);
    const rule = (JSON.parse(r.stdout) as { rules: { id: string; rewrites: number; summary?: string }[] }).rules.find((x) => x.id === 'inline-functions')!;
    expect([rule.rewrites, rule.summary]).toEqual([calls, summary]);
    const back = await runCli('show', '--graph', out);
    expect([back.code, back.stderr]).toEqual([0, '']);
    expect(back.stdout.includes('\nfunction local::F')).toBe(calls === 0);
  });
});
