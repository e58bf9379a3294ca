import { runJobs, runnerPath, type RuntimeJob, type RuntimeResult } from './jobs';

export type { HostTensor, RuntimeJob, RuntimeResult } from './jobs';

/** The Python that has Debian's python3-pyarmnn. */
const PYTHON = process.env.RECIPE_ARMNN_PYTHON ?? '/usr/bin/python3';

/**
 * Runs TFLite models in ArmNN (TfLiteParser, CpuRef backend) through a Python
 * child process: the int8/uint8 models LiteRT.js refuses. Inputs without
 * given data are seeded random values over the input type's full range.
 */
export function runArmnn(jobs: readonly RuntimeJob[], timeoutMs = 300_000): RuntimeResult[] {
  return runJobs(PYTHON, [runnerPath('armnn_runner.py')], jobs, timeoutMs);
}
