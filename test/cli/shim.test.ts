/**
 * bin/recipe.js, the shim users run: the exit code of each kind of failure and
 * every byte of a large piped output must arrive. Runs the built dist/, as
 * users do (the test setup builds it).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { runCli } from '../helpers/cli';
import { NPM_CORPUS, ROOT, tempDir } from '../helpers/corpus';

const BIN = path.join(ROOT, 'bin/recipe.js');
const dir = tempDir('recipe-shim-');

function shim(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('exit codes pass through: 0, 2 (usage), 3 (invalid recipe), 4 (bad model)', () => {
  expect(shim('--version').status).toBe(0);
  expect(shim('apply').status).toBe(2);
  const missing = shim('apply', path.join(dir, 'nope.yaml'), path.join(ROOT, 'examples/tiny-bn.onnx'), '--dry-run');
  expect(missing.status).toBe(3);
  expect(missing.stderr).toContain('nope.yaml:1:1 error cannot read recipe');
  expect(shim('show', path.join(ROOT, 'README.md')).status).toBe(4);
});

test('a large output through a pipe arrives whole before the exit', async () => {
  // Silero VAD with its If bodies: ~157 KB of graph text, more than twice a pipe's 64 KB buffer.
  const model = path.join(NPM_CORPUS, '@jjhbw__silero-vad/weights/silero_vad.onnx');
  const expected = (await runCli('show', model, '--graph')).stdout;
  expect(expected.length).toBeGreaterThan(1 << 17);
  const r = shim('show', model, '--graph');
  expect(r.status).toBe(0);
  expect(r.stdout).toBe(expected);
});

test('a reader that closes the pipe early (| head) ends the output quietly: no EPIPE stack trace, the exit code of the command', () => {
  // `true` exits without reading: every write of the command meets a closed pipe.
  const script = `"${process.execPath}" "${BIN}" apply "${path.join(ROOT, 'recipes/core/batchnorm.yaml')}" "${path.join(ROOT, 'examples/tiny-bn.onnx')}" --dry-run | true; echo "exit \${PIPESTATUS[0]}" >&2`;
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
  expect(r.stderr).toBe('exit 0\n');
});
