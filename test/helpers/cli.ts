import type { Io } from '../../src/cli/command';
import { main } from '../../src/cli/main';

/** Runs the CLI in this process, as a terminal-less user would; returns the exit code and what it printed. */
export async function runCli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = { interactive: false, out: (t) => void (stdout += t), err: (t) => void (stderr += t) };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}
