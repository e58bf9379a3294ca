import { runJobs, runnerPath, type RuntimeJob, type RuntimeResult } from './jobs';

export type { HostTensor, RuntimeJob, RuntimeResult } from './jobs';

/**
 * Runs ONNX models in onnxruntime-node in a child Node process (see
 * onnx_runner.js), graph optimizations off so that onnxruntime's own fusions
 * cannot hide a difference. Every job must give its inputs.
 */
export function runOnnxRuntime(jobs: readonly RuntimeJob[], timeoutMs = 600_000): RuntimeResult[] {
  return runJobs(process.execPath, [runnerPath('onnx_runner.js')], jobs, timeoutMs);
}
