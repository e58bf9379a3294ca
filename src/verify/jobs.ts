import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CODE_DIR, PACKAGE_ROOT } from '../package-root';

/** A tensor passed to or returned by a runtime: element type name, shape and raw little-endian bytes. */
export interface HostTensor {
  name?: string;
  /** The runtime's dtype name: float32, int32, int8, uint8, int16, int64, float64, bool. */
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

/** One model run. Without inputs the runner makes seeded random ones from the model's input details. */
export interface RuntimeJob {
  model: string;
  inputs?: HostTensor[];
  /** Reuse the inputs of an earlier job of the same call, by its index. */
  inputsFrom?: number;
  seed?: number;
  /** Size given to dimensions the model leaves open (-1) in generated inputs; default 1. */
  dynamicSize?: number;
}

/** The outcome of one run. `ok` is false when the runtime failed, including failures it only logged. */
export interface RuntimeResult {
  ok: boolean;
  error?: string;
  inputs: HostTensor[];
  outputs: HostTensor[];
}

interface WireTensor {
  name?: string;
  dtype: string;
  shape: number[];
  data: string;
}

interface WireResult {
  ok: boolean;
  error?: string;
  inputs: WireTensor[];
  outputs: WireTensor[];
}

/**
 * Finds a runner file: in the `verify/` folder of the code that runs (dist/,
 * where the build copies them, or src/ under ts-jest), else in the source tree.
 * Not `__dirname`: inside the single-file CLI that is dist/ for every module.
 */
export function runnerPath(name: string): string {
  const candidates = [path.join(CODE_DIR, 'verify', name), path.join(PACKAGE_ROOT, 'src/verify', name)];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`runner ${name} not found (looked in ${candidates.join(', ')})`);
  return found;
}

const toWire = (t: HostTensor): WireTensor => ({
  ...(t.name !== undefined ? { name: t.name } : {}),
  dtype: t.dtype,
  shape: t.shape,
  data: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64'),
});

const fromWire = (t: WireTensor): HostTensor => ({
  ...(t.name !== undefined ? { name: t.name } : {}),
  dtype: t.dtype,
  shape: t.shape,
  data: new Uint8Array(Buffer.from(t.data, 'base64')),
});

/** Sends jobs to a runner process (JSON on stdin and stdout) and decodes its answer. */
export function runJobs(command: string, args: string[], jobs: readonly RuntimeJob[], timeoutMs: number): RuntimeResult[] {
  const request = JSON.stringify({
    jobs: jobs.map((j) => ({ ...j, model: path.resolve(j.model), ...(j.inputs ? { inputs: j.inputs.map(toWire) } : {}) })),
  });
  const child = spawnSync(command, args, { input: request, maxBuffer: 1 << 30, timeout: timeoutMs, encoding: 'utf8' });
  if (child.error) throw child.error;
  if (child.status !== 0) throw new Error(`${path.basename(args[0] ?? command)} exited with ${child.status}: ${child.stderr.slice(-2000)}`);
  const results = JSON.parse(child.stdout) as WireResult[];
  return results.map((r) => ({
    ok: r.ok,
    ...(r.error !== undefined ? { error: r.error } : {}),
    inputs: r.inputs.map(fromWire),
    outputs: r.outputs.map(fromWire),
  }));
}
