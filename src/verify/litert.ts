import { runJobs, runnerPath, type RuntimeJob, type RuntimeResult } from './jobs';

export type { HostTensor, RuntimeJob, RuntimeResult } from './jobs';

/**
 * Runs TFLite models in LiteRT.js (CPU, WebAssembly) in a child Node process,
 * all jobs in one process so the runtime loads once.
 */
export function runLiteRt(jobs: readonly RuntimeJob[], timeoutMs = 300_000): RuntimeResult[] {
  return runJobs(process.execPath, [runnerPath('litert_runner.mjs')], jobs, timeoutMs);
}
