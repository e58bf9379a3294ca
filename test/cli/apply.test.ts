/**
 * `recipe apply` and `recipe check` end to end through the CLI entry point:
 * exit codes, reports, targets, refused rewrites, subgraphs, metadata.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Io } from '../../src/cli/command';
import { main } from '../../src/cli/main';
import { ModelError } from '../../src/errors';
import { readModel, writeModel } from '../../src/formats';
import { parseModel, type Model } from '../../src/ir';
import { ONNX_TESTDATA, ROOT, tempDir } from '../helpers/corpus';

const dir = tempDir('recipe-cli-apply-');
const ADD = path.join(ONNX_TESTDATA, 'node/test_add/model.onnx');
const LOOP = path.join(ONNX_TESTDATA, 'node/test_loop11/model.onnx');
const CORE = path.join(ROOT, 'recipes/core/batchnorm.yaml');

function io(interactive = false): Io & { stdout: string; stderr: string } {
  const r = { stdout: '', stderr: '', interactive, out: (t: string) => void (r.stdout += t), err: (t: string) => void (r.stderr += t) };
  return r;
}

function recipe(name: string, lines: string[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

function ops(model: Model): string[] {
  const out: string[] = [];
  for (const g of model.allGraphs()) for (const n of g.nodes) out.push(n.op);
  return out.sort();
}

const perTarget = recipe('per-target.yaml', [
  'recipe: per-target',
  'version: 0.1.0',
  'rules:',
  '  - id: add-for-target',
  '    formats: [onnx]',
  '    match: Add($a, $b)',
  '    replace:',
  '      myriad: Sub($a, Neg($b))',
  '      default: Sum($a, $b)',
]);

describe('recipe check', () => {
  it('passes the built-in pack (exit 0)', async () => {
    const r = io();
    expect(await main(['check', CORE], r)).toBe(0);
    expect(r.stdout).toBe('ok: 3 rule(s) in 1 file(s)\n');
  });

  it('reports every error as file:line:col with its hint, exit 3', async () => {
    const bad = recipe('bad.yaml', ['recipe: bad', 'rules:', '  - id: r', '    match: Rleu($x)', '    replace: Relu($y)']);
    const r = io();
    expect(await main(['check', bad], r)).toBe(3);
    expect(r.stderr).toBe(
      [
        `${bad}:4:12 error [r] unknown op 'Rleu' for any format`,
        "  hint: did you mean 'Relu'?",
        `${bad}:5:19 error [r] $y is not bound by the pattern`,
        '  hint: the pattern binds $x',
        '2 error(s)',
        '',
      ].join('\n'),
    );
  });

  it('prints JSON with --json', async () => {
    const bad = recipe('bad-json.yaml', ['recipe: bad', 'rules:', '  - id: r', '    mach: Relu($x)']);
    const r = io();
    expect(await main(['check', bad, '--json'], r)).toBe(3);
    const json = JSON.parse(r.stdout) as { ok: boolean; errors: { line: number; col: number; rule: string; message: string }[] };
    expect(json.ok).toBe(false);
    expect(json.errors).toContainEqual(expect.objectContaining({ line: 4, col: 5, rule: 'r', message: "unknown field 'mach'" }));
  });
});

describe('recipe apply: usage and refusals', () => {
  it.each([
    ['no -o', [CORE, ADD], /missing -o/],
    ['an unknown target', [CORE, ADD, '-o', path.join(dir, 'x.onnx'), '--target', 'mryiad'], /unknown target 'mryiad'/],
    ['--explain of an unknown rule', [CORE, ADD, '-o', path.join(dir, 'x.onnx'), '--explain', 'nope'], /names no rule/],
    ['the input as output', [CORE, ADD, '-o', ADD], /refusing to overwrite the input model/],
    ['an output in a missing folder', [CORE, ADD, '-o', path.join(dir, 'no-such-folder', 'x.onnx')], /cannot write '.*x\.onnx': the folder '.*no-such-folder' does not exist/],
    ['an output that is a folder', [CORE, ADD, '-o', dir], /cannot write '.*': it is a folder/],
    ['an output with another format\'s extension', [CORE, ADD, '-o', path.join(dir, 'x.tflite')], /cannot write an ONNX model as \.tflite: converting between formats is not supported\n  hint: write it as \.onnx/],
  ])('exits 2 on %s', async (_name, args, message) => {
    const r = io();
    expect(await main(['apply', ...args], r)).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/internal error/);
  });

  it('a folder given as a recipe is a pack: its recipes load (and report their errors); an empty one is a recipe error saying so', async () => {
    const r = io();
    expect(await main(['apply', dir, ADD, '-o', path.join(dir, 'x.onnx')], r)).toBe(3);
    expect(r.stderr).toMatch(/bad-json\.yaml:4:5 error \[r\] unknown field 'mach'/);
    const empty = path.join(dir, 'no-recipes');
    fs.mkdirSync(empty, { recursive: true });
    const e = io();
    expect(await main(['apply', empty, ADD, '-o', path.join(dir, 'x.onnx')], e)).toBe(3);
    expect(e.stderr).toMatch(/no-recipes:1:1 error the folder '.*no-recipes' holds no recipe files/);
    expect(fs.existsSync(path.join(dir, 'x.onnx'))).toBe(false);
  });

  it('warns when a condition cannot be evaluated (the rule then does not fire), and not when it is merely false', async () => {
    const oob = recipe('oob.yaml', ['recipe: oob', 'rules:', '  - id: oob', '    formats: [onnx]', '    match: Add($a, $b)', '    where:', '      - shape($a)[99] > 1', '    replace: $a']);
    const r = io();
    expect(await main(['apply', oob, ADD, '-o', path.join(dir, 'oob.onnx')], r)).toBe(0);
    expect(r.stderr).toMatch(/warning: rule 'oob': a condition could not be evaluated at 1 candidate\(s\), so the rule did not fire there; first: .*oob\.yaml:7:19: index 99 is out of range .* at Add '.*'/);
    const never = recipe('never.yaml', ['recipe: never', 'rules:', '  - id: never', '    formats: [onnx]', '    match: Add($a, $b)', '    where:', '      - rank($a) > 99', '    replace: $a']);
    const q = io();
    expect(await main(['apply', never, ADD, '-o', path.join(dir, 'false-condition.onnx')], q)).toBe(0);
    expect(q.stderr).not.toMatch(/warning/);
  });

  it('recipe copy refuses an output in a missing folder the same way, before reading', async () => {
    const r = io();
    expect(await main(['copy', ADD, '-o', path.join(dir, 'missing', 'y.onnx')], r)).toBe(2);
    expect(r.stderr).toMatch(/the folder '.*missing' does not exist/);
  });

  it('a write that fails in the file system is a ModelError naming the file, not a raw fs error', () => {
    // The library has no early folder check: the atomic output's temporary file cannot be created.
    const out = path.join(dir, 'no-folder-here', 'z.onnx');
    let error: unknown;
    try {
      writeModel(readModel(ADD), out);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ModelError);
    expect((error as ModelError).message).toMatch(/no-folder-here.*cannot write: no such file or folder/);
    expect(fs.existsSync(path.dirname(out))).toBe(false);
  });

  it('exits 3 on an invalid recipe and writes nothing', async () => {
    const bad = recipe('bad-apply.yaml', ['recipe: bad', 'rules:', '  - id: r', '    match: Add($a, $b)', '    replace: Add($a, $c)']);
    const target = path.join(dir, 'never.onnx');
    const r = io();
    expect(await main(['apply', bad, ADD, '-o', target], r)).toBe(3);
    expect(r.stderr).toMatch(/bad-apply\.yaml:5:22 error \[r\] \$c is not bound by the pattern/);
    expect(fs.existsSync(target)).toBe(false);
  });

  it('exits 1 when a rewrite is refused, and leaves that place as it was', async () => {
    const arity = recipe('arity.yaml', ['recipe: arity', 'rules:', '  - id: half-add', '    formats: [onnx]', '    match: Add($a, $b)', '    replace: Add($a)']);
    const target = path.join(dir, 'refused.onnx');
    const r = io();
    expect(await main(['apply', arity, ADD, '-o', target], r)).toBe(1);
    expect(r.stderr).toMatch(/refused \[half-add\] at node '.*' \(graph '.*'\): Add '.*' has 1 input\(s\), onnx Add takes 2; the model was left as before/);
    const after = readModel(target);
    expect(ops(after)).toEqual(['Add']);
    expect(after.graph.nodes[0]!.inputs.map((v) => v!.name)).toEqual(['x', 'y']);
  });
});

describe('recipe apply: a model that reads a value nothing defines', () => {
  it('is rewritten as it stands, with a warning, also when fold-shapes puts the branch that reads it in the graph', async () => {
    const model = parseModel(`model onnx
opsets ai.onnx:17
graph main
  in x: float32[1, 4]
  const go: bool[] = [1]
  i: y: float32[1, 4] = If(go) {
    then_branch:
      graph then
        a: t: float32[1, 4] = Add(x, x)
        out t
    else_branch:
      graph else
        n: u: float32[1, 4] = Neg(x)
        out u
  }
  out y
`);
    // The graph text refuses a read of nothing: wired by hand.
    const then = model.graph.nodes.find((n) => n.op === 'If')!.subgraphs[0]!;
    then.nodes[0]!.setInput(1, then.addValue('ghost'));
    const file = path.join(dir, 'reads-ghost.onnx');
    writeModel(model, file);
    const out = path.join(dir, 'reads-ghost.folded.onnx');
    const r = io();
    expect(await main(['apply', path.join(ROOT, 'recipes/shape/fix-shape.yaml'), file, '-o', out], r)).toBe(0);
    expect(r.stdout).toMatch(/replaced 1 If node\(s\) with the branch taken/);
    expect(r.stderr).toContain("warning: the model reads 1 value(s) that nothing defines ('ghost')");
    const after = readModel(out);
    expect(ops(after)).toEqual(['Add']);
    expect(after.graph.nodes[0]!.inputs.map((v) => v!.name)).toEqual(['x', 'ghost']);
  });
});

describe('recipe apply: targets, reports, metadata', () => {
  it('uses the replacement of the selected target', async () => {
    const myriad = path.join(dir, 'add-myriad.onnx');
    const plain = path.join(dir, 'add-default.onnx');
    expect(await main(['apply', perTarget, ADD, '-o', myriad, '--target', 'myriad'], io())).toBe(0);
    expect(await main(['apply', perTarget, ADD, '-o', plain], io())).toBe(0);
    expect(ops(readModel(myriad))).toEqual(['Neg', 'Sub']);
    const summed = readModel(plain);
    expect(ops(summed)).toEqual(['Sum']);
    expect(summed.graph.nodes[0]!.inputs.map((v) => v!.name)).toEqual(['x', 'y']);
    expect(summed.graph.outputs.map((v) => v.name)).toEqual(['sum']);
  });

  it('rewrites for the target a bundle file is for when no --target is given; --target still wins', async () => {
    const forMyriad = recipe('for-myriad.yaml', ['recipe: for-myriad', 'target: myriad', 'extends: [per-target.yaml]']);
    const out = path.join(dir, 'add-bundle-target.onnx');
    const r = io();
    expect(await main(['apply', forMyriad, ADD, '-o', out], r)).toBe(0);
    expect(r.stdout).toMatch(/model\.onnx \(onnx\), target myriad: per-target 0\.1\.0, for-myriad/);
    expect(ops(readModel(out))).toEqual(['Neg', 'Sub']);
    expect(await main(['apply', forMyriad, ADD, '-o', out, '--target', 'default', '--force'], io())).toBe(0);
    expect(ops(readModel(out))).toEqual(['Sum']);
  });

  it('the built-in target bundles are for their target', async () => {
    for (const name of ['edgetpu', 'myriad', 'tensorrt']) {
      const r = io();
      expect(await main(['apply', name, ADD, '--dry-run', '--report', 'json'], r)).toBe(0);
      expect((JSON.parse(r.stdout) as { target: string }).target).toBe(name);
    }
  });

  it('files of one bundle for different targets need --target (exit 2), and an unknown one is a recipe error', async () => {
    const forEdgeTpu = recipe('for-edgetpu.yaml', ['recipe: for-edgetpu', 'target: edgetpu']);
    const forMyriad = recipe('for-myriad-too.yaml', ['recipe: for-myriad-too', 'target: myriad', 'extends: [per-target.yaml]']);
    const out = path.join(dir, 'add-two-targets.onnx');
    const r = io();
    expect(await main(['apply', forEdgeTpu, forMyriad, ADD, '-o', out], r)).toBe(2);
    expect(r.stderr).toContain(`different targets: edgetpu (${forEdgeTpu}:2:9), myriad (${forMyriad}:2:9)`);
    expect(r.stderr).toMatch(/hint: pass --target/);
    expect(fs.existsSync(out)).toBe(false);
    expect(await main(['apply', forEdgeTpu, forMyriad, ADD, '-o', out, '--target', 'myriad'], io())).toBe(0);
    expect(ops(readModel(out))).toEqual(['Neg', 'Sub']);

    const typo = recipe('for-typo.yaml', ['recipe: for-typo', 'target: mryiad']);
    const bad = io();
    expect(await main(['apply', typo, ADD, '--dry-run'], bad)).toBe(3);
    expect(bad.stderr).toContain(`${typo}:2:9 error unknown target 'mryiad'`);
    expect(bad.stderr).toMatch(/did you mean 'myriad'\?/);
  });

  it('--override changes rules after every file, as an overrides: entry would, and is recorded as the recipe command-line', async () => {
    const off = path.join(dir, 'add-override-off.onnx');
    expect(await main(['apply', perTarget, ADD, '-o', off, '--override', 'add-for-target=off'], io())).toBe(0);
    expect(ops(readModel(off))).toEqual(['Add']);

    // An action's parameters: the batch of PaddleOCR's classifier, whose four input dimensions are open.
    const cls = path.join(ROOT, 'test/.corpus/@gutenye__ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
    const out = path.join(dir, 'cls-batch4.onnx');
    const r = io();
    expect(await main(['apply', 'tensorrt', cls, '-o', out, '--override', 'fix-batch={options: {batch: 4}}'], r)).toBe(0);
    expect(r.stdout).toMatch(/fix-batch .* fixed 1 dimension\(s\) \(p2o\.DynamicDimension\.0=4\)/);
    const model = readModel(out);
    expect(model.graph.inputs[0]!.shape![0]).toBe(4);
    const applied = JSON.parse(model.getMetadata('recipe.applied')!) as { name: string }[];
    expect(applied.at(-1)!.name).toBe('command-line');
  });

  it('a bad --override is a recipe error located in it (exit 3)', async () => {
    const cases: [string, RegExp][] = [
      ['add-for-target', /--override 1:1:1 error --override wants RULE=VALUE, got 'add-for-target'/],
      ['add-for-targt=off', /--override 1:3:3 error override of unknown rule 'add-for-targt'\n {2}hint: did you mean 'add-for-target'\?/],
      ['add-for-target={enabld: true}', /--override 1:3:\d+ error \[?.*unknown field 'enabld'/],
    ];
    for (const [spec, message] of cases) {
      const r = io();
      expect(await main(['apply', perTarget, ADD, '--dry-run', '--override', spec], r)).toBe(3);
      expect(r.stderr).toMatch(message);
    }
  });

  it('action parameters that do not fit the model refuse the run where they were given (exit 1), and nothing is written', async () => {
    // test_add's inputs are [3, 4, 5]: no image input for fix-image-size, no input 'nope' for fix-batch.
    const cases: [string[], RegExp][] = [
      [['--override', 'fix-image-size={enabled: true, options: {image: {height: 8}}}'], /^recipe: --override 1:\d+:\d+ error \[fix-image-size\] fix-shape: image needs an input of rank 4, and the model has none \(inputs: x \(rank 3\), y \(rank 3\)\)/],
      [['--override', 'fix-batch={options: {inputs: {nope: [1]}}}'], /^recipe: --override 1:\d+:\d+ error \[fix-batch\] fix-shape: the model has no input 'nope' \(inputs: x, y\)/],
      [[], /^recipe: \S+add-batch-3\.yaml:4:\d+ error \[fix-batch\] fix-shape: dimension 0 of input 'x' has the fixed size 3, not 2/],
    ];
    const bundle = recipe('add-batch-3.yaml', ['recipe: add-batch-3', 'extends: [shape]', 'overrides:', '  fix-batch: { options: { inputs: { x: [2, 4, 5] } } }']);
    for (const [extra, message] of cases) {
      const r = io();
      const out = path.join(dir, 'action-refused.onnx');
      expect(await main(['apply', extra.length ? 'shape' : bundle, ADD, '-o', out, ...extra], r)).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(fs.existsSync(out)).toBe(false);
    }
    // A parameter of the wrong kind is a recipe error (exit 3), also where the override gives it.
    const r = io();
    expect(await main(['apply', 'shape', ADD, '--dry-run', '--override', 'fix-image-size={enabled: true, options: {image: {height: 0}}}'], r)).toBe(3);
    expect(r.stderr).toMatch(/^--override 1:\d+:\d+ error \[fix-image-size\] parameter 'image\/height' must be >= 1/);
  });

  it('prints a per-rule table and records the recipe in the metadata', async () => {
    const target = path.join(dir, 'table.onnx');
    const r = io();
    expect(await main(['apply', perTarget, ADD, '-o', target, '--target', 'myriad'], r)).toBe(0);
    expect(r.stdout).toContain(`${ADD} (onnx), target myriad: per-target 0.1.0\n`);
    expect(r.stdout).toMatch(/\nadd-for-target +1 +1 +1 +0\n/);
    expect(r.stdout).toContain(`wrote ${target}\n`);
    const meta = JSON.parse(readModel(target).getMetadata('recipe.applied')!) as { name: string; version: string; sha256: string }[];
    const sha = createHash('sha256').update(fs.readFileSync(perTarget)).digest('hex');
    expect(meta).toEqual([{ name: 'per-target', version: '0.1.0', sha256: sha }]);
  });

  it('appends to the metadata when a rewritten model is rewritten again', async () => {
    const first = path.join(dir, 'twice-1.onnx');
    const second = path.join(dir, 'twice-2.onnx');
    await main(['apply', perTarget, ADD, '-o', first], io());
    await main(['apply', CORE, first, '-o', second], io());
    const meta = JSON.parse(readModel(second).getMetadata('recipe.applied')!) as { name: string }[];
    expect(meta.map((m) => m.name)).toEqual(['per-target', 'core/batchnorm']);
  });

  it('warns when rules do not settle within the iteration bound', async () => {
    const flip = recipe('flip.yaml', ['recipe: flip', 'max-iterations: 4', 'rules:', '  - id: swap', '    match: Add($a, $b)', '    replace: Add($b, $a)']);
    const r = io();
    expect(await main(['apply', flip, ADD, '--dry-run'], r)).toBe(0);
    expect(r.stdout).toMatch(/\nswap +4 +4 +4 +0\n/);
    expect(r.stderr).toMatch(/^warning: graph '.*': rules swap still changed the graph after 4 rounds/);
  });

  it('says when the explained rule did not run at all', async () => {
    const r = io();
    expect(await main(['apply', CORE, ADD, '--dry-run', '--explain', 'batchnorminference-to-multiply-add'], r)).toBe(0);
    expect(r.stdout).toContain('skipped batchnorminference-to-multiply-add: not for onnx models (formats: openvino)\n');
    expect(r.stdout).toContain('explain batchnorminference-to-multiply-add: not run (see skipped above)\n');
  });

  it('prints JSON with --report json', async () => {
    const r = io();
    expect(await main(['apply', perTarget, ADD, '--dry-run', '--report', 'json', '--target', 'myriad'], r)).toBe(0);
    const report = JSON.parse(r.stdout) as { target: string; output: null; rules: { id: string; matches: number; rewrites: number }[] };
    expect(report.target).toBe('myriad');
    expect(report.output).toBeNull();
    expect(report.rules).toEqual([expect.objectContaining({ id: 'add-for-target', matches: 1, rewrites: 1 })]);
  });

  it('rewrites inside a Loop body', async () => {
    const target = path.join(dir, 'loop.onnx');
    const r = io();
    expect(await main(['apply', perTarget, LOOP, '-o', target, '--target', 'myriad'], r)).toBe(0);
    const before = readModel(LOOP);
    const after = readModel(target);
    const adds = ops(before).filter((o) => o === 'Add').length;
    expect(adds).toBeGreaterThan(0);
    expect(ops(after).filter((o) => o === 'Add')).toEqual([]);
    expect(ops(after).filter((o) => o === 'Sub')).toHaveLength(adds);
    const loop = after.graph.nodes.find((n) => n.op === 'Loop')!;
    expect(loop.subgraphs[0]!.nodes.map((n) => n.op)).toContain('Neg');
    // onnxruntime agrees the model is still well-formed: it loads and runs.
    const script = [
      "const ort = require('onnxruntime-node');",
      '(async () => {',
      `  const s = await ort.InferenceSession.create(${JSON.stringify(target)});`,
      "  const out = await s.run({ trip_count: new ort.Tensor('int64', BigInt64Array.from([5n]), []), cond: new ort.Tensor('bool', [true], []), y: new ort.Tensor('float32', Float32Array.from([2]), [1]) });",
      '  process.stdout.write(JSON.stringify(Array.from(out.res_y.data)));',
      '})().catch((e) => { console.error(e); process.exit(1); });',
    ].join('\n');
    const ref = script.replace(JSON.stringify(target), JSON.stringify(LOOP));
    const run = (code: string): number[] => JSON.parse(execFileSync(process.execPath, ['-e', code], { cwd: ROOT }).toString()) as number[];
    expect(run(script)).toEqual(run(ref));
  });
});

describe('progress', () => {
  it('shows a progress line on a terminal and clears it', async () => {
    const r = io(true);
    await main(['apply', CORE, ADD, '--dry-run'], r);
    expect(r.stderr).toMatch(/^\rreading .*test_add.*\.\.\./);
    expect(r.stderr.endsWith('\r')).toBe(true);
  });

  it('stays quiet when stderr is not a terminal', async () => {
    const r = io(false);
    await main(['apply', CORE, ADD, '--dry-run'], r);
    expect(r.stderr).toBe('');
  });
});
