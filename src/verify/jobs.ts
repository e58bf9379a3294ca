import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CODE_DIR, PACKAGE_ROOT } from '../package-root';
import { CheckFailedError } from '../errors';
import { describeFsError, isFsError } from '../formats/fs-errors';
import { BlobList, readMessage, writeMessage } from './runner_wire';

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
  /** Outputs the runtime could not hand back, not being tensors (a sequence, a map). */
  notTensors?: string[];
}

interface WireTensor {
  name?: string;
  dtype: string;
  shape: number[];
  /** The index of the tensor's bytes among the message's blobs. */
  data: number;
}

interface WireResult {
  ok: boolean;
  error?: string;
  inputs: WireTensor[];
  outputs: WireTensor[];
  notTensors?: string[];
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

/** The runtime each runner script drives, as messages name it. */
const RUNTIME_NAMES: Readonly<Record<string, string>> = {
  'onnx_runner.js': 'onnxruntime',
  'litert_runner.mjs': 'LiteRT.js',
  'armnn_runner.py': 'ArmNN',
};

/**
 * Sends jobs to a runner process and decodes its answer. Request and answer
 * are files in runner_wire.js's format (tensors as raw bytes), in a temporary
 * folder removed afterwards; the runner's stdout and stderr are only for
 * diagnostics.
 */
export function runJobs(command: string, args: string[], jobs: readonly RuntimeJob[], timeoutMs: number): RuntimeResult[] {
  const dir = verifyTempFolder('recipe-runner-');
  try {
    const requestFile = path.join(dir, 'request');
    const responseFile = path.join(dir, 'response');
    const blobs = new BlobList();
    const toWire = (t: HostTensor): WireTensor => ({ ...(t.name !== undefined ? { name: t.name } : {}), dtype: t.dtype, shape: t.shape, data: blobs.add(t.data) });
    const request = { jobs: jobs.map((j) => ({ ...j, model: path.resolve(j.model), ...(j.inputs ? { inputs: j.inputs.map(toWire) } : {}) })) };
    try {
      writeMessage(requestFile, request, blobs);
    } catch (e) {
      throw tempFolderError(e);
    }
    const child = spawnSync(command, [...args, requestFile, responseFile], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20, timeout: timeoutMs, encoding: 'utf8' });
    const runtime = RUNTIME_NAMES[path.basename(args[0] ?? command)] ?? path.basename(args[0] ?? command);
    if ((child.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT') {
      throw new CheckFailedError(`${runtime} did not finish the models within ${timeoutMs >= 10_000 ? Math.round(timeoutMs / 1000) : (timeoutMs / 1000).toFixed(1)} s, and was stopped`, 'a model that loops many times or computes very large tensors runs that long; compare smaller inputs (--shape, --dim)');
    }
    if (child.error) throw child.error;
    // Killed from outside: the kernel ends a process that takes all the memory with SIGKILL.
    if (child.signal === 'SIGKILL') {
      throw new CheckFailedError(`${runtime} was killed (SIGKILL) while it ran the models: the system does that to a process that runs out of memory`, 'a model that loops a huge number of times or computes huge tensors needs more memory than this machine has; compare smaller inputs (--shape, --dim)');
    }
    if (child.status !== 0 || !fs.existsSync(responseFile)) {
      // The runner writes every output into the temporary folder: a full one is no bug of recipe's.
      if (/\bENOSPC\b|No space left on device/.test(child.stderr)) throw tempFolderError(Object.assign(new Error('ENOSPC'), { code: 'ENOSPC', syscall: 'write' }));
      throw new Error(`${path.basename(args[0] ?? command)} exited with ${child.status ?? child.signal}: ${child.stderr.slice(-2000)}`);
    }
    const { body, blob } = readMessage(responseFile);
    const fromWire = (t: WireTensor): HostTensor => ({ ...(t.name !== undefined ? { name: t.name } : {}), dtype: t.dtype, shape: t.shape, data: blob(t.data) });
    return (body as { results: WireResult[] }).results.map((r) => ({
      ok: r.ok,
      ...(r.error !== undefined ? { error: r.error } : {}),
      inputs: r.inputs.map(fromWire),
      outputs: r.outputs.map(fromWire),
      ...(r.notTensors?.length ? { notTensors: r.notTensors } : {}),
    }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A fresh folder in the temporary folder for verify's files; one that cannot be made is the machine's fault, not a bug. */
export function verifyTempFolder(prefix: string): string {
  try {
    return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  } catch (e) {
    throw tempFolderError(e);
  }
}

/** A temporary folder that cannot take the runners' messages: the machine's, not a bug. */
function tempFolderError(e: unknown): unknown {
  if (!isFsError(e)) return e;
  return new CheckFailedError(
    `verify: cannot use the temporary folder ${os.tmpdir()}: ${describeFsError(e)}`,
    "set TMPDIR to a folder with room: each run's inputs and outputs go through it",
  );
}
