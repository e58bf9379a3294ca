/**
 * A runtime process that dies from outside (the kernel's out-of-memory
 * killer sends SIGKILL) or runs past the timeout ends a verification with a
 * clear failure, not an internal error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CheckFailedError } from '../../src/errors';
import { runJobs } from '../../src/verify/jobs';
import { tempDir } from '../helpers/corpus';

const work = tempDir('recipe-runner-jobs-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const file = path.join(work, name);
  fs.writeFileSync(file, body);
  return file;
}

test('a runner killed with SIGKILL (out of memory) is a failed check that says so', () => {
  const killed = script('killed.js', "process.kill(process.pid, 'SIGKILL');\n");
  let error: unknown;
  try {
    runJobs(process.execPath, [killed], [], 30_000);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(CheckFailedError);
  expect((error as Error).message).toBe('killed.js was killed (SIGKILL) while it ran the models: the system does that to a process that runs out of memory');
});

test('a runner past the timeout is stopped, and the check fails naming the time', () => {
  const slow = script('slow.js', 'setTimeout(() => {}, 60_000);\n');
  expect(() => runJobs(process.execPath, [slow], [], 300)).toThrow(new CheckFailedError('slow.js did not finish the models within 0.3 s, and was stopped'));
});

test('a runner that exits with an error is still reported with its stderr', () => {
  const failing = script('failing.js', "process.stderr.write('boom'); process.exit(3);\n");
  expect(() => runJobs(process.execPath, [failing], [], 30_000)).toThrow(/failing\.js exited with 3: boom/);
});
