import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import type { Io } from '../../src/cli/command';
import { PACKS_DIR, extendedRecipeFiles, loadBundle } from '../../src/recipe/bundle';
import { diffLines, findRuleTestFiles, formatResults, readSnapshots, runRuleTestFile } from '../../src/ruletest';
import { tempDir } from '../helpers/corpus';

const RECIPE = `recipe: t
version: 1.0.0
rules:
  - id: relu-to-sigmoid
    description: deliberately wrong numerically, to see the numeric check fail
    formats: [onnx]
    match: Relu($x)
    replace: Sigmoid($x)
  - id: neg-neg
    formats: [onnx]
    match: Neg(Neg($x))
    replace: $x
`;

const GRAPH_RELU = `      graph main
        in x: float32[2, 3]
        r: y: float32[2, 3] = Relu(x)
        out y
`;
const GRAPH_NEGNEG = `      graph main
        in x: float32[4]
        a: b: float32[4] = Neg(x)
        c: d: float32[4] = Neg(b)
        e: y: float32[4] = Abs(d)
        out y
`;

function setup(test: string): { dir: string; file: string } {
  const dir = tempDir('ruletest-');
  fs.writeFileSync(path.join(dir, 't.yaml'), RECIPE);
  const file = path.join(dir, 't.test.yaml');
  fs.writeFileSync(file, test);
  return { dir, file };
}

function io(): Io & { stdout: string; stderr: string } {
  const o = { stdout: '', stderr: '', interactive: false, out: (t: string) => void (o.stdout += t), err: (t: string) => void (o.stderr += t) };
  return o;
}

test('a missing snapshot fails; -u writes it; the next run passes; a changed snapshot fails with a diff', async () => {
  const { file, dir } = setup(`rule: neg-neg\nrewrites:\n  - name: pair\n    graph: |\n${GRAPH_NEGNEG}`);
  const first = await runRuleTestFile(file);
  expect(first.cases[0]!.ok).toBe(false);
  expect(first.cases[0]!.problems[0]).toMatch(/no snapshot for this case/);

  const written = await runRuleTestFile(file, { update: true });
  expect(written.cases[0]!.snapshot).toBe('written');
  const snapFile = path.join(dir, '__snapshots__', 't.snap.yaml');
  const snap = readSnapshots(snapFile).get('pair')!;
  expect(snap).toContain('e: y: float32[4] = Abs(x)');
  expect(snap).not.toContain('Neg');

  const again = await runRuleTestFile(file);
  expect(again.cases.map((c) => [c.ok, c.snapshot, c.applied])).toEqual([[true, 'matched', 1]]);

  fs.writeFileSync(snapFile, fs.readFileSync(snapFile, 'utf8').replace('Abs(x)', 'Abs(d)'));
  const changed = await runRuleTestFile(file);
  expect(changed.cases[0]!.ok).toBe(false);
  expect(changed.cases[0]!.diff).toContain('- ');
  expect(changed.cases[0]!.diff).toContain('+   e: y: float32[4] = Abs(x)');
  expect(formatResults([changed], dir)).toMatch(/FAIL rewrites pair \[neg-neg\]/);
});

test('snapshot entries of removed cases are reported, and -u drops them', async () => {
  const { file, dir } = setup(`rule: neg-neg\nrewrites:\n  - name: pair\n    graph: |\n${GRAPH_NEGNEG}`);
  await runRuleTestFile(file, { update: true });
  const snapFile = path.join(dir, '__snapshots__', 't.snap.yaml');
  fs.appendFileSync(snapFile, 'gone: |\n  model onnx\n');
  const r = await runRuleTestFile(file);
  expect(r.obsolete).toEqual(['gone']);
  expect(formatResults([r], dir)).toContain('note: snapshot entries without a case: gone (removed by -u)');
  await runRuleTestFile(file, { update: true });
  expect([...readSnapshots(snapFile).keys()]).toEqual(['pair']);
});

test('keeps that fire, rewrites that do not, and an unknown rule are failures with reasons', async () => {
  const { file } = setup(
    `rule: neg-neg\nrewrites:\n  - name: no-pair\n    graph: |\n${GRAPH_RELU}\n  - name: unknown\n    rule: no-such-rule\n    graph: |\n${GRAPH_RELU}\nkeeps:\n  - name: fires\n    graph: |\n${GRAPH_NEGNEG}`,
  );
  const r = await runRuleTestFile(file);
  const by = new Map(r.cases.map((c) => [c.name, c]));
  expect(by.get('no-pair')!.problems).toContain('the rule did not fire');
  expect(by.get('unknown')!.problems[0]).toMatch(/t\.yaml has no rule 'no-such-rule' \(it has relu-to-sigmoid, neg-neg\)/);
  expect(by.get('fires')!.problems[0]).toBe('the rule fired 1 time(s) but this case must be kept');
  expect(by.get('fires')!.diff).toContain('-   a: b: float32[4] = Neg(x)');
});

test('the numeric check catches a rewrite that changes the outputs, and expect: different inverts it', async () => {
  const { file } = setup(
    `rule: relu-to-sigmoid\nrewrites:\n  - name: same\n    graph: |\n${GRAPH_RELU}    numeric: true\n  - name: different\n    graph: |\n${GRAPH_RELU}    numeric: { expect: different }\n`,
  );
  const r = await runRuleTestFile(file, { update: true });
  const [same, different] = r.cases;
  expect(same!.ok).toBe(false);
  expect(same!.problems.join('\n')).toMatch(/numeric \(onnxruntime\): outputs differ by up to \d\.\d+, beyond the tolerance 0\.00001/);
  expect(different!.ok).toBe(true);
  expect(different!.numeric).toMatchObject({ ran: true, backend: 'onnxruntime', expect: 'different' });
});

test('errors in the test file point at file:line:col (schema, graph text)', async () => {
  const bad = setup('rule: neg-neg\nrewrites:\n  - name: x\n    grahp: |\n      graph main\n');
  const r = await runRuleTestFile(bad.file);
  expect(r.errors.map((e) => `${e.location.line}:${e.location.col} ${e.reason}`)).toContain("3:5 /rewrites/0 must have required property 'graph'");

  const text = setup(`rule: neg-neg\nrewrites:\n  - name: x\n    graph: |\n      graph main\n        in x: float32[4]\n        y = Neg(nope)\n        out y\n`);
  const t = await runRuleTestFile(text.file);
  expect(t.cases[0]!.problems[0]).toMatch(/t\.test\.yaml:7:\d+: graph text: .*nope/);
});

test('recipe test: exit 0 when every case passes, 1 when one fails, 2 for a path that does not exist', async () => {
  const keepRelu = `keeps:\n  - name: no-relu\n    rule: relu-to-sigmoid\n    graph: |\n${GRAPH_NEGNEG}`;
  const { dir } = setup(`rule: neg-neg\nrewrites:\n  - name: pair\n    graph: |\n${GRAPH_NEGNEG}${keepRelu}`);
  const o1 = io();
  expect(await main(['test', dir], o1)).toBe(1);
  expect(o1.stdout).toMatch(/1 passed, 1 failed/);
  const o2 = io();
  expect(await main(['test', dir, '-u'], o2)).toBe(0);
  expect(o2.stdout).toMatch(/snapshot written/);
  const o3 = io();
  expect(await main(['test', path.join(dir, 't.yaml'), '--json'], o3)).toBe(0);
  expect(JSON.parse(o3.stdout)).toMatchObject({ ok: true, cases: 2, passed: 2, untested: 0 });
  expect(await main(['test', path.join(dir, 'missing')], io())).toBe(2);
});

test('recipe test: a rule of the recipe that no case names fails the run, by name', async () => {
  const { dir, file } = setup(`rule: neg-neg\nrewrites:\n  - name: pair\n    graph: |\n${GRAPH_NEGNEG}`);
  await runRuleTestFile(file, { update: true });
  const r = await runRuleTestFile(file);
  expect(r.cases.every((c) => c.ok)).toBe(true);
  expect(r.untested).toEqual(['relu-to-sigmoid']);
  const o = io();
  expect(await main(['test', dir], o)).toBe(1);
  expect(o.stdout).toContain('FAIL rule relu-to-sigmoid has no case: add a rewrite (or keep) case with `rule: relu-to-sigmoid`');
  expect(o.stdout).toMatch(/1 passed, 0 failed, 1 case\(s\) in 1 file\(s\), 1 rule\(s\) without a case\n$/);
});

test('findRuleTestFiles takes pack names, recipe files and folders', () => {
  expect(findRuleTestFiles(['pow'], PACKS_DIR)).toEqual([path.join(PACKS_DIR, 'pow/pow.test.yaml')]);
  expect(findRuleTestFiles([path.join(PACKS_DIR, 'abs/abs.yaml')], PACKS_DIR)).toEqual([path.join(PACKS_DIR, 'abs/abs.test.yaml')]);
  expect(findRuleTestFiles([PACKS_DIR], PACKS_DIR).length).toBeGreaterThanOrEqual(10);
});

test('extendedRecipeFiles: a bundle that only extends others stands for what it extends; anything else for itself', () => {
  const files = extendedRecipeFiles('edgetpu')!;
  const bundle = loadBundle([path.join(PACKS_DIR, 'edgetpu.yaml')]);
  expect(files).toEqual(bundle.recipes.map((r) => r.file).filter((f) => !f.endsWith('edgetpu.yaml')));
  expect(files).toContain(path.join(PACKS_DIR, 'pow/pow.yaml'));
  expect(extendedRecipeFiles('pow')).toBeUndefined();
  expect(extendedRecipeFiles(path.join(PACKS_DIR, 'abs/abs.yaml'))).toBeUndefined();
  expect(extendedRecipeFiles(path.join(PACKS_DIR, 'abs/abs.test.yaml'))).toBeUndefined();
});

test('recipe test <bundle>: the rule tests of every recipe the bundle extends', async () => {
  const o = io();
  expect(await main(['test', 'tensorrt', '--no-numeric', '--json'], o)).toBe(0);
  const run = JSON.parse(o.stdout) as { ok: boolean; files: { file: string }[] };
  const tested = run.files.map((f) => path.resolve(f.file)).sort();
  const wanted = extendedRecipeFiles('tensorrt')!.map((f) => f.replace(/\.yaml$/, '.test.yaml')).filter((f) => fs.existsSync(f));
  expect(tested).toEqual([...new Set(wanted)].sort());
  expect(tested).toContain(path.join(PACKS_DIR, 'core/batchnorm.test.yaml'));
  expect(run.ok).toBe(true);
});

test('diffLines marks removed and added lines with context', () => {
  expect(diffLines('a\nb\nc\nd\ne\nf\n', 'a\nb\nX\nd\ne\nf\n', 1)).toBe('  ...\n  b\n- c\n+ X\n  d\n  ...\n');
});

test('recipe test -u where the snapshot folder cannot be made: exit 74 naming the folder, not an internal error', async () => {
  const keepRelu = `keeps:\n  - name: no-relu\n    rule: relu-to-sigmoid\n    graph: |\n${GRAPH_NEGNEG}`;
  const { dir } = setup(`rule: neg-neg\nrewrites:\n  - name: pair\n    graph: |\n${GRAPH_NEGNEG}${keepRelu}`);
  // A file where the folder should go fails for every user, root included.
  fs.writeFileSync(path.join(dir, '__snapshots__'), 'not a folder');
  const o = io();
  expect(await main(['test', dir, '-u'], o)).toBe(74);
  expect(o.stderr).toMatch(new RegExp(`^recipe: cannot (mkdir|open) ${path.join(dir, '__snapshots__').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\S*: `));
  expect(o.stderr).not.toMatch(/internal error|this is a bug/);
});
