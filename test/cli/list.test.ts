import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../helpers/cli';
import { ROOT, tempDir } from '../helpers/corpus';

const dir = tempDir('recipe-list-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('recipe list', () => {
  test('without arguments: the built-in bundles, then the packs, each with its recipes and rule count', async () => {
    const r = await runCli('list');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => /^(bundle|pack) /.test(l));
    expect(lines.slice(0, 3).map((l) => l.split(/\s+/)[1])).toEqual(['edgetpu', 'myriad', 'tensorrt']);
    expect(lines.find((l) => l.startsWith('pack   core'))).toMatch(/^pack {3}core +3 rule\(s\) +core\/batchnorm 1\.2\.0: Inference-time BatchNormalization/);
    // Rules a bundle turns on when it needs them are counted apart.
    expect(lines.find((l) => l.startsWith('pack   shape'))).toMatch(/^pack {3}shape +2 rule\(s\) \(\+3 off\) +fix-shape /);
    const json = JSON.parse((await runCli('list', '--json')).stdout) as { kind: string; name: string; rules: number; off: number }[];
    expect(json.filter((x) => x.kind === 'pack').map((x) => x.name)).toContain('hardswish');
    expect(json.find((x) => x.name === 'hardswish')!.rules).toBe(13);
    expect(json.find((x) => x.name === 'shape')).toMatchObject({ rules: 2, off: 3 });
  });

  test('a bundle: its recipes, the target it is for, targets and every rule in the order it runs, with formats, targets and what is off', async () => {
    const r = await runCli('list', path.join(ROOT, 'recipes/myriad.yaml'));
    expect(r.code).toBe(0);
    const rules = r.stdout.split('\n').slice(5).filter(Boolean);
    expect(rules[0]).toMatch(/^batchnorm-to-mul-add +onnx +BatchNormalization with constant scale/);
    expect(r.stdout).toMatch(/\nfor target: myriad \(apply rewrites for it\)\ntargets: default, .*myriad/);
    const json = JSON.parse((await runCli('list', path.join(ROOT, 'recipes/myriad.yaml'), '--json')).stdout) as { rules: { id: string; enabled: boolean; kind: string; options: object }[] };
    const fixHw = json.rules.find((x) => x.id === 'fix-height-width')!;
    expect(fixHw).toMatchObject({ enabled: false, kind: 'action fix-shape' });
    expect(r.stdout).toMatch(/\nfix-height-width .*\(action fix-shape; options \{dims: \{height: 224, width: 224\}\}; off\)\n/);
    expect(r.stdout).toMatch(/\nOptions change on apply with --override 'RULE=\{options: \{\.\.\.\}\}'/);
    expect(fixHw).toMatchObject({ options: { dims: { height: 224, width: 224 } } });
  });

  test('a built-in bundle by the name list gives it, or as a bare NAME.yaml that is no file here, from any folder', async () => {
    const model = path.join(ROOT, 'examples/tiny-bn.onnx');
    const byName = await runCli('list', 'myriad', '--json');
    expect(byName.code).toBe(0);
    const fromPath = (await runCli('list', path.join(ROOT, 'recipes/myriad.yaml'), '--json')).stdout;
    expect(byName.stdout).toBe(fromPath);
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const r = await runCli('apply', 'edgetpu.yaml', model, '-o', path.join(dir, 'out.onnx'), '--report', 'json');
      expect(r.code).toBe(0);
      expect((JSON.parse(r.stdout) as { applied: { name: string }[] }).applied.map((a) => a.name)).toContain('edgetpu');
      // A file of that name in the current folder is what it names, as any path.
      fs.writeFileSync(path.join(dir, 'edgetpu.yaml'), 'recipe: local/edgetpu\nversion: 0.1.0\nrules: []\n');
      const local = await runCli('apply', 'edgetpu.yaml', model, '-o', path.join(dir, 'out2.onnx'), '--report', 'json');
      expect((JSON.parse(local.stdout) as { applied: { name: string }[] }).applied.map((a) => a.name)).toEqual(['local/edgetpu']);
    } finally {
      process.chdir(cwd);
    }
  });

  test('a bare name that is neither a file nor built in: exit 3 with the closest built-in name', async () => {
    const r = await runCli('apply', 'myriadd', path.join(ROOT, 'examples/tiny-bn.onnx'), '-o', path.join(dir, 'x.onnx'));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("myriadd:1:1 error cannot read recipe: no such file, nor a built-in bundle, pack or recipe of that name\n  hint: did you mean 'myriad'?");
    expect(fs.existsSync(path.join(dir, 'x.onnx'))).toBe(false);
    expect((await runCli('apply', 'fix-shapes', path.join(ROOT, 'examples/tiny-bn.onnx'), '-o', path.join(dir, 'x.onnx'))).stderr).toContain("hint: did you mean 'fix-shape'?");
  });

  test('a built-in recipe file by the name reports give it: its file name, or pack/file; a file here of that name wins', async () => {
    const model = path.join(ROOT, 'examples/tiny-bn.onnx');
    const names: [string, string][] = [['fix-shape', 'fix-shape'], ['core/batchnorm', 'core/batchnorm'], ['batchnorm.yaml', 'core/batchnorm'], ['shape/fix-shape.yaml', 'fix-shape']];
    for (const [entry, name] of names) {
      const r = await runCli('apply', entry, model, '--dry-run', '--report', 'json');
      expect([entry, r.code]).toEqual([entry, 0]);
      expect((JSON.parse(r.stdout) as { applied: { name: string }[] }).applied.map((a) => a.name)).toEqual([name]);
    }
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      fs.writeFileSync(path.join(dir, 'batchnorm.yaml'), 'recipe: local/batchnorm\nrules: []\n');
      const local = await runCli('apply', 'batchnorm.yaml', model, '--dry-run', '--report', 'json');
      expect((JSON.parse(local.stdout) as { applied: { name: string }[] }).applied.map((a) => a.name)).toEqual(['local/batchnorm']);
    } finally {
      process.chdir(cwd);
    }
  });

  test('a recipe file that does not load: its errors at file:line:col, exit 3', async () => {
    const bad = path.join(dir, 'broken.yaml');
    fs.writeFileSync(bad, 'recipe: b\nrulez:\n  - id: x\n');
    const r = await runCli('list', bad);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/broken\.yaml:2:1 error .*rulez/);
  });
});
