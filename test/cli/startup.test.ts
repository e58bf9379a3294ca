/**
 * Start-up: a command loads only what it runs. Each case loads the CLI afresh
 * with the modules it must not need replaced by ones that throw when loaded,
 * and checks that the command still does its whole job.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Io } from '../../src/cli/command';
import { ADAPTERS } from '../../src/formats';
import { onnxAdapter } from '../../src/formats/onnx';
import { openvinoAdapter } from '../../src/formats/openvino';
import { tfliteAdapter } from '../../src/formats/tflite';
import { ROOT, tempDir } from '../helpers/corpus';

const dir = tempDir('recipe-cli-startup-');
const CORE = path.join(ROOT, 'recipes/core/batchnorm.yaml');
const TINY_BN = path.join(ROOT, 'examples/tiny-bn.onnx');

function io(): Io & { stdout: string; stderr: string } {
  const r = { stdout: '', stderr: '', interactive: false, out: (t: string) => void (r.stdout += t), err: (t: string) => void (r.stderr += t) };
  return r;
}

/** Runs the CLI, loaded afresh, with `refused` modules throwing when anything loads them. */
async function runWithout(refused: readonly string[], argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let result: { code: number; stdout: string; stderr: string } | undefined;
  await jest.isolateModulesAsync(async () => {
    for (const m of refused) {
      jest.doMock(m, () => {
        throw new Error(`start-up test: '${m}' was loaded`);
      });
    }
    const { main } = await import('../../src/cli/main');
    const r = io();
    const code = await main(argv, r);
    result = { code, stdout: r.stdout, stderr: r.stderr };
  });
  for (const m of refused) jest.dontMock(m);
  return result!;
}

/** What a run of one command on an ONNX model never needs. */
const NOT_FOR_ONNX = ['../../src/formats/tflite', '../../src/formats/openvino', 'flatbuffers', 'fast-xml-parser', '../../src/ruletest', 'onnxruntime-node'];

describe('recipe start-up', () => {
  it('prints the help and the version without loading a codec, yaml, ajv or the recipe compiler', async () => {
    const heavy = ['../../src/formats', '../../src/verify/models', '../../src/recipe/bundle', '../../src/recipe/compile', '../../src/actions', 'yaml', 'ajv', ...NOT_FOR_ONNX];
    const top = await runWithout(heavy, ['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/^usage: recipe <command> \[options\]\n[\s\S]*\n {2}apply +Apply a bundle of recipes to a model and write the rewritten model\.\n/);
    // Each command's line is one sentence, cut at a colon where its summary goes on.
    const commandLines = top.stdout.split('commands:\n')[1]!.split('\n\n')[0]!.split('\n');
    expect(commandLines.length).toBeGreaterThan(6);
    expect(commandLines.filter((l) => !/^ {2}[a-z]+ +[A-Z][^:]*\.$/.test(l))).toEqual([]);
    const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(await runWithout(heavy, ['--version'])).toEqual({ code: 0, stdout: `recipe ${version}\n`, stderr: '' });
    for (const command of ['apply', 'check', 'test', 'verify', 'show', 'copy']) {
      const help = await runWithout(heavy, [command, '--help']);
      expect([command, help.code]).toEqual([command, 0]);
      expect(help.stdout).toMatch(new RegExp(`^usage: recipe ${command} `));
    }
  });

  it('applies a recipe to an ONNX model without the other codecs, ajv or micromatch', async () => {
    const out = path.join(dir, 'tiny-bn-out.onnx');
    const r = await runWithout([...NOT_FOR_ONNX, 'ajv', 'micromatch', '../../src/verify/models'], ['apply', CORE, TINY_BN, '-o', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/batchnorm-to-mul-add +1 +1 +1 +0/);
    expect(fs.statSync(out).size).toBeGreaterThan(0);
  });

  it('checks a recipe without loading any codec', async () => {
    const r = await runWithout(['../../src/formats/onnx', 'ajv', ...NOT_FOR_ONNX], ['check', CORE]);
    expect(r).toEqual({ code: 0, stdout: 'ok: 3 rule(s) in 1 file(s)\n', stderr: '' });
  });

  it('still loads ajv for an action rule, whose parameters it checks', async () => {
    const file = path.join(dir, 'action.yaml');
    fs.writeFileSync(file, ['recipe: a', 'rules:', '  - id: tidy', '    action: cleanup', '    params: { toposrt: false }', ''].join('\n'));
    const r = await runWithout([], ['check', file]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("error [tidy] action 'cleanup' has no parameter 'toposrt'");
  });

  it('knows each format by the id and extensions of its codec, before loading it', () => {
    expect(ADAPTERS.map((a) => [a.id, a.extensions])).toEqual([onnxAdapter, tfliteAdapter, openvinoAdapter].map((a) => [a.id, a.extensions]));
  });
});
