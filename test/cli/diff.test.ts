import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../helpers/cli';
import { ROOT, tempDir } from '../helpers/corpus';

const TINY_BN = path.join(ROOT, 'examples/tiny-bn.onnx');
const dir = tempDir('recipe-diff-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('recipe diff', () => {
  test('after apply: the BatchNormalization and its statistics removed, the Mul, Add and their constants added; exit 1', async () => {
    const out = path.join(dir, 'tiny-bn.mul-add.onnx');
    expect((await runCli('apply', path.join(ROOT, 'recipes/core/batchnorm.yaml'), TINY_BN, '-o', out)).code).toBe(0);
    const r = await runCli('diff', TINY_BN, out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const changed = r.stdout.split('\n').filter((l) => /^[-+] /.test(l));
    expect(changed.filter((l) => l.startsWith('-'))).toEqual([
      expect.stringMatching(/^- {2}const bn\.scale: float32\[4\]/),
      expect.stringMatching(/^- {2}const bn\.bias: /),
      expect.stringMatching(/^- {2}const bn\.mean: /),
      expect.stringMatching(/^- {2}const bn\.var: /),
      expect.stringMatching(/^- {2}bn: bn_out = BatchNormalization\(conv_out, bn\.scale, bn\.bias, bn\.mean, bn\.var\)/),
    ]);
    expect(changed.filter((l) => l.startsWith('+'))).toEqual([
      expect.stringMatching(/^\+ {2}const bn\/k: float32\[4, 1, 1\]/),
      expect.stringMatching(/^\+ {2}const bn\/c: float32\[4, 1, 1\]/),
      '+  bn/Mul: bn/Mul/out = Mul(conv_out, bn/k)',
      '+  bn: bn_out = Add(bn/Mul/out, bn/c)',
    ]);
    expect(r.stdout).toMatch(/^--- .*tiny-bn\.onnx\n\+\+\+ .*tiny-bn\.mul-add\.onnx\n@@ graph tiny-bn @@\n/);
    expect(r.stdout.endsWith('5 line(s) removed, 4 added\n')).toBe(true);
  });

  test('a model and its copy: the same graphs, exit 0', async () => {
    const copy = path.join(dir, 'copy.onnx');
    expect((await runCli('copy', TINY_BN, '-o', copy)).code).toBe(0);
    expect(await runCli('diff', TINY_BN, copy)).toEqual({ code: 0, stdout: 'the graphs are the same\n', stderr: '' });
  });

  test('usage errors exit 2; an unreadable model exits 4 and names it', async () => {
    expect((await runCli('diff', TINY_BN)).code).toBe(2);
    expect((await runCli('diff', TINY_BN, TINY_BN, '--context', '-1')).code).toBe(2);
    const bad = path.join(dir, 'bad.onnx');
    fs.writeFileSync(bad, 'not a model');
    const r = await runCli('diff', TINY_BN, bad);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('bad.onnx');
  });
});

describe('recipe apply --diff', () => {
  test('prints the same diff as recipe diff of the input and the written output; in --report json as "diff"', async () => {
    const out = path.join(dir, 'applied.onnx');
    const r = await runCli('apply', path.join(ROOT, 'recipes/core/batchnorm.yaml'), TINY_BN, '-o', out, '--diff');
    expect(r.code).toBe(0);
    const separate = await runCli('diff', TINY_BN, out);
    expect(r.stdout.endsWith(separate.stdout)).toBe(true);
    const json = await runCli('apply', path.join(ROOT, 'recipes/core/batchnorm.yaml'), TINY_BN, '--dry-run', '--diff', '--report', 'json');
    const diff = (JSON.parse(json.stdout) as { diff: string }).diff;
    expect(diff.split('\n').slice(2)).toEqual(separate.stdout.split('\n').slice(2, -2).concat(''));
  });

  test('a bundle that changes nothing says so', async () => {
    const r = await runCli('apply', path.join(ROOT, 'recipes/abs/abs.yaml'), TINY_BN, '--dry-run', '--diff');
    expect(r.code).toBe(0);
    expect(r.stdout.endsWith('\nthe graph is unchanged\n')).toBe(true);
  });
});
