import { CheckFailedError, UnsupportedError, UsageError } from '../errors';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { detectFormat, readModel, writeModel } from '../formats';
import { DTYPES, type DType } from '../ir/dtype';
import type { Graph, Node, Value } from '../ir/graph';
import type { FormatId, Model } from '../ir/model';
import { BytesData, Tensor } from '../ir/tensor';
import { FROZEN_INPUTS_METADATA_KEY, filled, frozenInputsOf, type FrozenInput } from '../actions/freeze-inputs';
import { runArmnn } from './armnn';
import { diffElements } from './compare';
import { verifyTempFolder, type HostTensor, type RuntimeJob, type RuntimeResult } from './jobs';
import { runLiteRt } from './litert';
import { runOnnxRuntime } from './onnx-child';
import { openvinoToOnnx, openvinoToOnnxUpTo, TranslationError, type Cut } from './openvino-onnx';
import { NARROW_FLOAT_TOLERANCE, narrowestComputeFloat, type NarrowFloat } from './precision';
import { randomTensor, seededRandom } from './random';

/** The runtimes `recipe verify` can run a model in. */
export type RuntimeName = 'onnxruntime' | 'litert' | 'armnn';

/** How to check that a rewritten model computes what the original computed. */
export interface VerifyOptions {
  /** Runs, each with its own random inputs; default 3. */
  runs?: number;
  /** Seed of the first run's inputs (run k uses seed + k); default 1. */
  seed?: number;
  /**
   * Relative tolerance: |before - after| <= atol + rtol * |before|; default
   * 1e-4, or 1e-2 for a model that computes in float16 (NARROW_FLOAT_TOLERANCE).
   */
  rtol?: number;
  /** Absolute tolerance; default 1e-5, or 1e-3 for a model that computes in float16. */
  atol?: number;
  /** Sizes of named (symbolic) input dimensions; other open dimensions are 1. */
  dims?: Readonly<Record<string, number>>;
  /** Whole shapes of named inputs, for inputs whose dimensions are open and unnamed. */
  shapes?: Readonly<Record<string, readonly number[]>>;
  /** Value range of named inputs. */
  ranges?: Readonly<Record<string, readonly [number, number]>>;
  /** Value range of every float input not in `ranges`; default [-1, 1]. */
  floatRange?: readonly [number, number];
  /** The runtime; by default the format's: onnxruntime for ONNX, LiteRT.js then ArmNN for TFLite. */
  runtime?: RuntimeName;
  /** Per call of a runtime; default 10 minutes. */
  timeoutMs?: number;
  /**
   * OpenVINO IR: where a layer has no ONNX translation, compare the values it
   * reads instead of the outputs after it (the layers from there on must be
   * the same in both models). Default false: such a model is refused.
   */
  partial?: boolean;
}

/** An input both models were fed. */
export interface VerifiedInput {
  name: string;
  dtype: DType;
  shape: number[];
  range: [number, number];
  /** Dimensions the models leave open and nothing sized, fed as 1 (indexes into shape). */
  openDims: number[];
  /**
   * An input the rewrite froze (freeze-inputs, which records it in the
   * model's metadata): the original is fed these values, the rewritten
   * model nothing.
   */
  frozen?: (number | boolean)[];
}

/** How one output compares over every run. */
export interface VerifiedOutput {
  name: string;
  dtype: string;
  shape: number[];
  /** Largest |before - after| over all runs (Infinity when a NaN meets a number). */
  maxAbsDiff: number;
  /** Largest |before - after| / |before| where |before| is above the absolute tolerance. */
  maxRelDiff: number;
  /** Elements beyond the tolerance, summed over runs. */
  beyond: number;
  /** The first element beyond the tolerance. */
  worst?: { run: number; index: number; before: number; after: number };
  /** Why the output cannot be compared (missing after the rewrite, another shape or type). */
  problem?: string;
  ok: boolean;
}

export interface VerifyReport {
  format: FormatId;
  runtime: RuntimeName;
  runs: number;
  seed: number;
  rtol: number;
  atol: number;
  /**
   * The narrow float type the original model computes in, when a tolerance
   * was not given and so is that type's default (a runtime's float16
   * rounding differs between equivalent graphs).
   */
  toleranceFor?: NarrowFloat;
  inputs: VerifiedInput[];
  outputs: VerifiedOutput[];
  /** Set when the models were translated to another format to run them (OpenVINO IR to ONNX: no OpenVINO runtime here). */
  translatedTo?: FormatId;
  /**
   * With `partial`: the layers without a translation, and the values compared
   * instead of what follows them (the model outputs after them are not checked).
   */
  cut?: { layers: { name: string; op: string; reason: string }[]; comparedAt: string[]; outputsNotChecked: string[] };
  /** What the runtime used is known to get wrong in these models (LiteRT.js and computed RESHAPE targets). */
  cautions?: string[];
  /** Outputs of the models that were not compared, and why (a runtime that hands back tensors only). */
  notCompared?: { name: string; reason: string }[];
  /** Runtimes tried before `runtime` and why they could not run the models. */
  fallbacks: { runtime: RuntimeName; error: string }[];
  ok: boolean;
}

const RUNTIMES: Readonly<Record<FormatId, readonly RuntimeName[]>> = {
  onnx: ['onnxruntime'],
  // LiteRT.js runs float models; ArmNN the int8/uint8 ones LiteRT.js refuses.
  tflite: ['litert', 'armnn'],
  // No OpenVINO runtime exists here: the IR is translated to ONNX (src/verify/openvino-onnx) and run in onnxruntime.
  openvino: ['onnxruntime'],
};

/**
 * Runs the model before a rewrite and the model after it on the same seeded
 * random inputs in a real runtime, and compares their outputs by name. Both
 * files are read into the IR only for their inputs and outputs.
 */
export function verifyModels(beforeFile: string, afterFile: string, options: VerifyOptions = {}): VerifyReport {
  const format = detectFormat(beforeFile).id;
  const afterFormat = detectFormat(afterFile).id;
  if (format !== afterFormat) {
    throw new UsageError(`verify: '${beforeFile}' is ${format} and '${afterFile}' is ${afterFormat}`, 'compare a model with its rewrite in the same format');
  }
  // Whether a runtime exists is known from the format: a model none can run is not read at all.
  const runtimes = runtimesFor(format, options.runtime);
  const before = readModel(beforeFile, { decodeGraphs: true });
  const after = readModel(afterFile, { decodeGraphs: true });
  const runs = options.runs ?? 3;
  const seed = options.seed ?? 1;
  // The original's precision sets the bar: a rewrite that brings float16 into
  // a float32 model changes what it computes, and is checked at float32's.
  const narrow = narrowestComputeFloat(before);
  const toleranceFor = narrow && (options.rtol === undefined || options.atol === undefined) ? narrow : undefined;
  const defaults = toleranceFor ? NARROW_FLOAT_TOLERANCE[toleranceFor] : { rtol: 1e-4, atol: 1e-5 };
  const rtol = options.rtol ?? defaults.rtol;
  const atol = options.atol ?? defaults.atol;
  if (!Number.isInteger(runs) || runs < 1) throw new UsageError(`verify: runs must be a whole number >= 1, got ${runs}`);

  // The runtimes here hand strings over as no bytes: nothing to feed or compare.
  const strings = [...before.graph.inputs.filter((v) => !v.const).map((v) => ['input', v] as const), ...before.graph.outputs.map((v) => ['output', v] as const)].find(([, v]) => v.dtype === 'string');
  // (An IR's translation to ONNX says so itself, naming the layer.)
  if (strings && format !== 'openvino') throw new UnsupportedError(`verify: ${strings[0]} '${strings[1].name}' holds strings, and recipe verify feeds and compares numbers only`);
  const inputs = inputsToFeed(before.graph, after, options);
  // 32- and 64-bit integer inputs (a sample rate, a length, token ids); 8- and 16-bit ones are quantized data.
  const guessedIntegers = inputs.filter((i) => !i.frozen && ['int', 'uint'].includes(DTYPES[i.dtype].kind) && DTYPES[i.dtype].bits >= 32 && !options.ranges?.[i.name]).map((i) => i.name);
  if (format === 'openvino') {
    const dir = verifyTempFolder('recipe-verify-ov-');
    try {
      const beforeOnnx = path.join(dir, 'before.onnx');
      const afterOnnx = path.join(dir, 'after.onnx');
      // Weights of 1 MB and more go to a data file beside each: a model over 2 GB cannot be one protobuf.
      const external = { externalData: 'external', externalThreshold: 1 << 20 } as const;
      let cut: VerifyReport['cut'];
      if (options.partial) {
        const b = openvinoToOnnxUpTo(before);
        const a = openvinoToOnnxUpTo(after);
        checkSameUntranslated(b.cut, a.cut);
        if (b.cut.outputs.length === 0) {
          throw new CheckFailedError(
            `verify --partial: nothing is left to compare: every output of '${beforeFile}' follows a layer without an ONNX translation (${b.cut.layers.map((l) => `${l.op} '${l.name}'`).join(', ')}) that reads only inputs and constants`,
          );
        }
        writeModel(b.model, beforeOnnx, external);
        writeModel(a.model, afterOnnx, external);
        if (b.cut.layers.length > 0) {
          const outputNames = before.graph.outputs.map((v) => v.name);
          cut = {
            layers: b.cut.layers,
            comparedAt: b.cut.frontier,
            outputsNotChecked: outputNames.filter((n) => !b.cut.outputs.includes(n)),
          };
        }
      } else {
        writeModel(translateWhole(before), beforeOnnx, external);
        writeModel(translateWhole(after), afterOnnx, external);
      }
      const report = runAndCompare(runtimes, beforeOnnx, afterOnnx, beforeFile, afterFile, inputs, { runs, seed, rtol, atol, timeoutMs: options.timeoutMs, guessedIntegers });
      return { format, ...report, ...(toleranceFor ? { toleranceFor } : {}), translatedTo: 'onnx', ...(cut ? { cut } : {}) };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const report = runAndCompare(runtimes, beforeFile, afterFile, beforeFile, afterFile, inputs, { runs, seed, rtol, atol, timeoutMs: options.timeoutMs, guessedIntegers });
  const cautions = report.runtime === 'litert' ? litertCautions(before, after) : [];
  return { format, ...report, ...(toleranceFor ? { toleranceFor } : {}), ...(cautions.length ? { cautions } : {}) };
}

/** Runs both model files on the same seeded inputs in the first runtime that runs both, and compares their outputs. */
function runAndCompare(
  runtimes: readonly RuntimeName[],
  beforeRun: string,
  afterRun: string,
  beforeFile: string,
  afterFile: string,
  inputs: readonly VerifiedInput[],
  o: { runs: number; seed: number; rtol: number; atol: number; timeoutMs?: number; guessedIntegers?: readonly string[] },
): Omit<VerifyReport, 'format'> {
  const { runs, seed, rtol, atol } = o;
  const jobs: RuntimeJob[] = [];
  // Inputs the rewrite froze are fed to the original only.
  const frozen = new Set(inputs.filter((i) => i.frozen).map((i) => i.name));
  for (let run = 0; run < runs; run++) {
    const next = seededRandom(seed + run);
    const feeds: HostTensor[] = inputs.map((i) => {
      if (i.frozen) return { name: i.name, dtype: i.dtype, shape: i.shape, data: frozenBytes(i) };
      const t = randomTensor(i.dtype, i.shape, i.range, next);
      return { name: i.name, dtype: i.dtype, shape: i.shape, data: t.data.bytes() };
    });
    jobs.push({ model: beforeRun, inputs: feeds }, { model: afterRun, inputs: frozen.size ? feeds.filter((f) => !frozen.has(f.name ?? '')) : feeds });
  }

  const fallbacks: { runtime: RuntimeName; error: string }[] = [];
  // A runtime that ran the original but not the rewrite: the rewrite broke something.
  let rewriteRefused = false;
  for (const runtime of runtimes) {
    const results = run(runtime, jobs, o.timeoutMs ?? 600_000);
    const failed = results.findIndex((r) => !r.ok);
    if (failed >= 0) {
      const original = failed % 2 === 0;
      rewriteRefused ||= !original;
      const side = original ? `the original model '${beforeFile}'` : `the rewritten model '${afterFile}'`;
      const reason = firstMessage(results[failed]!.error ?? 'no reason given');
      fallbacks.push({ runtime, error: `${runtime} could not run ${side}: ${reason}` });
      continue;
    }
    const outputs = compareRuns(results, rtol, atol);
    const notTensors = [...new Set(results.flatMap((r) => r.notTensors ?? []))];
    if (outputs.length === 0 && notTensors.length > 0) {
      throw new UnsupportedError(`verify: ${runtime} hands back tensors only, and every output of '${beforeFile}' is something else (a sequence or a map): ${notTensors.join(', ')}`);
    }
    const notCompared = notTensors.length ? { notCompared: notTensors.map((name) => ({ name, reason: `not a tensor (a sequence or a map), which ${runtime} does not hand back` })) } : {};
    return { runtime, runs, seed, rtol, atol, inputs: [...inputs], outputs, ...notCompared, fallbacks, ok: outputs.every((out) => out.ok) };
  }
  // Sizes nobody gave were fed as 1, which many models cannot take (an STFT, a window longer than one sample).
  const guessed = inputs.filter((i) => i.openDims.length > 0).map((i) => `'${i.name}' as [${i.shape.join(', ')}]`);
  const message = `verify: no runtime could run both models:\n${fallbacks.map((f) => `  ${f.error}`).join('\n')}`;
  const sizes = guessed.length ? `open dimensions were fed as 1 (${guessed.join(', ')}): give their sizes with --dim NAME=SIZE or --shape INPUT=D0,D1,..` : undefined;
  // An integer input is often a setting (a sample rate, a count) that random small numbers do not fit.
  const integers = (o.guessedIntegers ?? []).map((name) => {
    const i = inputs.find((x) => x.name === name)!;
    return `'${name}' in [${i.range[0]}, ${i.range[1]})`;
  });
  const values = integers.length ? `integer inputs were fed random values (${integers.join(', ')}): give the values the model expects with --range INPUT=LO,HI` : undefined;
  const hint = [sizes, values].filter((h) => h !== undefined).join('; ') || undefined;
  if (rewriteRefused) throw new CheckFailedError(message, hint ?? 'the original runs and the rewritten model does not: the rewrite made a model the runtime refuses');
  if (sizes) throw new CheckFailedError(message, hint!);
  // Where no runtime here runs the original, its rewrite cannot be checked: not supported, rather than failed (exit 6, not 1).
  const cannot = 'a runtime that cannot load the original model cannot check its rewrite either';
  throw new UnsupportedError(message, values ? `${values}; ${cannot}` : cannot);
}

/**
 * The line of a runtime's error that says what went wrong: runtimes log pages
 * around an error (LiteRT.js: INFO lines, and ERROR lines holding only a
 * source location).
 */
function firstMessage(error: string): string {
  const lines = error.split('\n').map((l) => l.trim()).filter(Boolean);
  const said = lines.find((l) => !/^\W*(INFO|WARNING):/.test(l) && !/^\W*ERROR: \[[^\]]*\]$/.test(l));
  return said ?? `no message beyond ${lines[0] ?? 'a failure'}`;
}

/**
 * Verifies a rewritten model held in memory (a dry run) against the file it
 * came from: the runtimes read files, so it is written to a temporary folder
 * first, removed afterwards.
 */
export function verifyUnwritten(beforeFile: string, after: Model, options: VerifyOptions = {}): VerifyReport {
  const dir = verifyTempFolder('recipe-verify-');
  try {
    const file = path.join(dir, `rewritten${path.extname(beforeFile)}`);
    writeModel(after, file);
    return verifyModels(beforeFile, file, options);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Throws what `verifyModels` would throw for `model` before running anything:
 * no runtime, one that does not run it, or (OpenVINO IR) a layer that has no
 * translation to ONNX.
 */
export function checkVerifiable(model: Model, runtime?: RuntimeName, partial = false): void {
  runtimesFor(model.format, runtime);
  if (model.format === 'openvino') {
    if (partial) openvinoToOnnxUpTo(model);
    else translateWhole(model);
  }
}

/** The whole model in ONNX; a layer without a translation is refused with the way out. */
function translateWhole(model: Model): Model {
  try {
    return openvinoToOnnx(model);
  } catch (e) {
    if (e instanceof TranslationError) {
      throw new TranslationError(e.message, `${e.hint ? `${e.hint}\n  ` : ''}--partial compares the values such a layer reads instead, when the rewrite left it and what follows it alone`);
    }
    throw e;
  }
}

/**
 * With --partial, the layers left untranslated are not checked: the rewrite
 * must have left them as they were (same layers, types, attributes, and the
 * same values read and written, by name).
 */
function checkSameUntranslated(before: Cut, after: Cut): void {
  const describe = (n: Node): string => {
    const attrs = [...n.attrs].map(([k, a]) => `${k}=${a.kind === 'string' ? a.value : JSON.stringify(a.value)}`).sort();
    const input = (v: Value | null): string => (v?.const ? `${v.name}=${createHash('sha256').update(v.const.data.bytes()).digest('hex')}` : (v?.name ?? ''));
    return `${n.op}|${n.domain}|${attrs.join(';')}|${n.inputs.map(input).join(',')}|${n.outputs.map((v) => v.name).join(',')}`;
  };
  const afterByName = new Map(after.untranslated.map((n) => [n.name, n]));
  for (const n of before.untranslated) {
    const m = afterByName.get(n.name);
    if (!m || describe(m) !== describe(n)) {
      throw new CheckFailedError(
        `verify --partial: layer '${n.name}' (${n.op}) is not translated (it is, or follows, a layer without an ONNX translation) and the rewrite ${m ? 'changed' : 'removed'} it, so that change cannot be checked`,
      );
    }
    afterByName.delete(n.name);
  }
  const added = [...afterByName.values()][0];
  if (added) {
    throw new CheckFailedError(`verify --partial: the rewritten model has layer '${added.name}' (${added.op}) where nothing is translated and the original has no such layer, so it cannot be checked`);
  }
}

function runtimesFor(format: FormatId, asked: RuntimeName | undefined): readonly RuntimeName[] {
  const available = RUNTIMES[format];
  if (available.length === 0) throw new UnsupportedError(`verify: no runtime for ${format} models is available here, so recipe cannot check this rewrite numerically`);
  if (asked === undefined) return available;
  if (!available.includes(asked)) throw new UsageError(`verify: ${asked} does not run ${format} models`, `runtimes for ${format}: ${available.join(', ')}`);
  return [asked];
}

function run(runtime: RuntimeName, jobs: readonly RuntimeJob[], timeoutMs: number): RuntimeResult[] {
  if (runtime === 'onnxruntime') return runOnnxRuntime(jobs, timeoutMs);
  return runtime === 'litert' ? runLiteRt(jobs, timeoutMs) : runArmnn(jobs, timeoutMs);
}

/**
 * The inputs to feed both models: the original's non-constant inputs, with the
 * rewritten model's shape where it fixes a dimension the original left open
 * (a rewrite that fixes the batch size is still checked).
 */
function inputsToFeed(before: Graph, afterModel: Model, options: VerifyOptions): VerifiedInput[] {
  const after = afterModel.graph;
  const feedable = (g: Graph): Value[] => g.inputs.filter((v) => !v.const);
  const afterByName = new Map(feedable(after).map((v) => [v.name, v]));
  const beforeInputs = feedable(before);
  const frozen = new Map(beforeInputs.filter((v) => !afterByName.has(v.name)).flatMap((v) => {
    const c = frozenAs(v, afterModel);
    return c ? [[v.name, c] as const] : [];
  }));
  const missing = beforeInputs.filter((v) => !afterByName.has(v.name) && !frozen.has(v.name)).map((v) => v.name);
  const added = feedable(after).filter((v) => !beforeInputs.some((b) => b.name === v.name)).map((v) => v.name);
  if (missing.length || added.length) {
    throw new CheckFailedError(
      `verify: the rewrite changed the model's inputs (${[...missing.map((n) => `'${n}' removed`), ...added.map((n) => `'${n}' added`)].join(', ')}), so both models cannot be fed the same inputs`,
    );
  }
  const dimNames = new Set([...beforeInputs, ...afterByName.values()].flatMap((v) => (v.shape ?? []).filter((d): d is string => typeof d === 'string')));
  for (const name of Object.keys(options.dims ?? {})) {
    if (!dimNames.has(name)) {
      throw new UsageError(`verify: no input has a dimension named '${name}'`, `named dimensions of the inputs: ${[...dimNames].join(', ') || '(none)'}`);
    }
  }
  for (const name of Object.keys({ ...options.shapes, ...options.ranges })) {
    if (!beforeInputs.some((v) => v.name === name)) {
      throw new UsageError(`verify: the model has no input '${name}'`, `its inputs: ${beforeInputs.map((v) => v.name).join(', ') || '(none)'}`);
    }
  }
  return beforeInputs.map((v) => {
    const c = frozen.get(v.name);
    if (c) return { name: v.name, dtype: c.dtype, shape: [...c.shape], range: [0, 0], openDims: [], frozen: [...c.values] };
    const w = afterByName.get(v.name)!;
    const dtype: DType = v.dtype ?? w.dtype ?? 'float32';
    if (w.dtype && w.dtype !== dtype) {
      throw new CheckFailedError(`verify: input '${v.name}' is ${dtype} before the rewrite and ${w.dtype} after, so both models cannot be fed the same tensor`);
    }
    const { shape, openDims } = inputShape(v, w, options);
    const range = options.ranges?.[v.name] ?? defaultRange(dtype, options.floatRange);
    return { name: v.name, dtype, shape, range: [range[0], range[1]], openDims };
  });
}

/**
 * What LiteRT.js is known to get wrong in these models: the output of a
 * RESHAPE whose target the model computes while running comes back
 * unwritten (zeros, or whatever its memory held), so an output that differs
 * through one may be that.
 */
function litertCautions(before: Model, after: Model): string[] {
  const computed = (m: Model): string[] =>
    [...m.allGraphs()].flatMap((g) => g.nodes.filter((n) => n.op === 'RESHAPE' && n.domain === '' && n.input(1) && !n.input(1)!.const).map((n) => `'${n.outputs[0]?.name ?? n.name}'`));
  const out: string[] = [];
  for (const [which, m] of [['the original', before], ['the rewritten model', after]] as const) {
    const names = computed(m);
    if (names.length === 0) continue;
    out.push(`${which} computes the target of the RESHAPE to ${names.slice(0, 3).join(', ')}${names.length > 3 ? ` (and ${names.length - 3} more)` : ''} while running, and LiteRT.js hands such a RESHAPE's output back unwritten (zeros, or what its memory held): an output that differs through one may be that, not the rewrite`);
  }
  return out;
}

/**
 * The value the rewrite froze input `v` to (freeze-inputs records it in the
 * model's metadata; the constant itself may have been folded away), if it
 * fits what `v` declares.
 */
function frozenAs(v: Value, after: Model): FrozenInput | undefined {
  const entry = frozenInputsOf(after.getMetadata(FROZEN_INPUTS_METADATA_KEY))[v.name];
  if (!entry || !(entry.dtype in DTYPES) || (v.dtype && entry.dtype !== v.dtype)) return undefined;
  const declared = v.shape;
  if (declared && (declared.length !== entry.shape.length || declared.some((d, i) => typeof d === 'number' && d !== entry.shape[i]))) return undefined;
  return entry;
}

/** The bytes of a frozen input's values. */
function frozenBytes(i: VerifiedInput): Uint8Array {
  return Tensor.from(i.dtype, i.shape, filled(i.frozen!, i.shape)).data.bytes();
}

function inputShape(before: Value, after: Value, options: VerifyOptions): { shape: number[]; openDims: number[] } {
  const given = options.shapes?.[before.name];
  if (given) return { shape: [...given], openDims: [] };
  const a = before.shape;
  const b = after.shape;
  if (!a && !b) return { shape: [], openDims: [] };
  const rank = (a ?? b)!.length;
  if (a && b && a.length !== b.length) {
    throw new CheckFailedError(`verify: input '${before.name}' has rank ${a.length} before the rewrite and ${b.length} after`);
  }
  const shape: number[] = [];
  const openDims: number[] = [];
  for (let k = 0; k < rank; k++) {
    const da = a?.[k];
    const db = b?.[k];
    if (typeof da === 'number' && typeof db === 'number' && da !== db) {
      throw new CheckFailedError(
        `verify: input '${before.name}' has dimension ${k} of ${da} before the rewrite and ${db} after, so both models cannot be fed the same tensor`,
      );
    }
    const fixed = typeof db === 'number' ? db : typeof da === 'number' ? da : undefined;
    const named = typeof da === 'string' ? da : typeof db === 'string' ? db : undefined;
    const size = fixed !== undefined && fixed >= 0 ? fixed : named !== undefined ? options.dims?.[named] : undefined;
    if (size === undefined) openDims.push(k);
    shape.push(size ?? 1);
  }
  return { shape, openDims };
}

/** Floats in [-1, 1]; 8- and 16-bit integers (quantized data) over their whole range; other integers small and non-negative (indices, counts). */
function defaultRange(dtype: DType, floatRange: readonly [number, number] | undefined): readonly [number, number] {
  const kind = DTYPES[dtype].kind;
  if (kind === 'float') return floatRange ?? [-1, 1];
  if (kind === 'bool') return [0, 2];
  switch (dtype) {
    case 'int8':
      return [-128, 128];
    case 'uint8':
      return [0, 256];
    case 'int16':
      return [-32768, 32768];
    case 'uint16':
      return [0, 65536];
    default:
      return [0, 4];
  }
}

/** Compares the outputs of each (before, after) pair of runs, by output name. */
function compareRuns(results: readonly RuntimeResult[], rtol: number, atol: number): VerifiedOutput[] {
  const byName = new Map<string, VerifiedOutput>();
  for (let k = 0; k + 1 < results.length; k += 2) {
    const run = k / 2;
    const afterOutputs = new Map(results[k + 1]!.outputs.map((t, i) => [t.name ?? `#${i}`, t]));
    results[k]!.outputs.forEach((a, i) => {
      const name = a.name ?? `#${i}`;
      let entry = byName.get(name);
      if (!entry) {
        entry = { name, dtype: a.dtype, shape: a.shape, maxAbsDiff: 0, maxRelDiff: 0, beyond: 0, ok: true };
        byName.set(name, entry);
      }
      if (entry.problem) return;
      const b = afterOutputs.get(name);
      const problem = !b
        ? 'missing after the rewrite'
        : b.dtype !== a.dtype
          ? `${a.dtype} before the rewrite, ${b.dtype} after`
          : b.shape.join() !== a.shape.join()
            ? `shape [${a.shape.join(', ')}] before the rewrite, [${b.shape.join(', ')}] after`
            : !(a.dtype in DTYPES)
              ? `its element type ${a.dtype} cannot be compared`
              : undefined;
      if (problem) {
        Object.assign(entry, { problem, ok: false, maxAbsDiff: Infinity });
        return;
      }
      compareElements(entry, run, tensorOf(a), tensorOf(b!), rtol, atol);
    });
  }
  return [...byName.values()];
}

function tensorOf(h: HostTensor): Tensor {
  return new Tensor(h.dtype as DType, h.shape, new BytesData(h.data));
}

/** Adds one run's comparison of an output to what the earlier runs found. */
function compareElements(entry: VerifiedOutput, run: number, before: Tensor, after: Tensor, rtol: number, atol: number): void {
  const x = before.toFloat64();
  const y = after.toFloat64();
  const diff = diffElements(x, y, atol, rtol);
  entry.maxAbsDiff = Math.max(entry.maxAbsDiff, diff.maxAbsDiff);
  entry.maxRelDiff = Math.max(entry.maxRelDiff, diff.maxRelDiff);
  if (diff.beyond === 0) return;
  entry.beyond += diff.beyond;
  entry.ok = false;
  const i = diff.firstBeyond;
  entry.worst ??= { run, index: i, before: x[i]!, after: y[i]! };
}
