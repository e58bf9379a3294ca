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
    expect(lines.slice(0, 3).map((l) => l.split(/\s+/)[1])).toEqual(['recipes/edgetpu.yaml', 'recipes/myriad.yaml', 'recipes/tensorrt.yaml']);
    expect(lines.find((l) => l.startsWith('pack   core'))).toMatch(/^pack {3}core +2 rule\(s\) {2}core\/batchnorm 1\.1\.0: Inference-time BatchNormalization/);
    const json = JSON.parse((await runCli('list', '--json')).stdout) as { kind: string; name: string; rules: number }[];
    expect(json.filter((x) => x.kind === 'pack').map((x) => x.name)).toContain('hardswish');
    expect(json.find((x) => x.name === 'hardswish')!.rules).toBe(7);
  });

  test('a bundle: its recipes, targets and every rule in the order it runs, with formats, targets and what is off', async () => {
    const r = await runCli('list', path.join(ROOT, 'recipes/myriad.yaml'));
    expect(r.code).toBe(0);
    const rules = r.stdout.split('\n').slice(4).filter(Boolean);
    expect(rules[0]).toMatch(/^batchnorm-to-mul-add +onnx +BatchNormalization with constant scale/);
    expect(r.stdout).toMatch(/\ntargets: default, .*myriad/);
    const json = JSON.parse((await runCli('list', path.join(ROOT, 'recipes/myriad.yaml'), '--json')).stdout) as { rules: { id: string; enabled: boolean; kind: string }[] };
    const fixHw = json.rules.find((x) => x.id === 'fix-height-width')!;
    expect(fixHw).toMatchObject({ enabled: false, kind: 'action fix-shape' });
    expect(r.stdout).toMatch(/\nfix-height-width .*\(action fix-shape; off\)\n/);
  });

  test('a recipe file that does not load: its errors at file:line:col, exit 3', async () => {
    const bad = path.join(dir, 'broken.yaml');
    fs.writeFileSync(bad, 'recipe: b\nrulez:\n  - id: x\n');
    const r = await runCli('list', bad);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/broken\.yaml:2:1 error .*rulez/);
  });
});
