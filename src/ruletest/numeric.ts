import * as path from 'node:path';
import { DTYPES, type DType } from '../ir/dtype';
import type { Graph } from '../ir/graph';
import type { FormatId, Model } from '../ir/model';
import { BytesData, Tensor } from '../ir/tensor';
import { writeModel } from '../formats';
import { diffElements } from '../verify/compare';
import type { HostTensor, RuntimeResult } from '../verify/jobs';
import { randomTensor, seededRandom } from '../verify/random';

export { seededRandom };
import type { NumericSpec } from './spec';

/** Outputs of the model before and after a rewrite, in graph output order. */
export interface NumericRun {
  names: string[];
  before: Tensor[];
  after: Tensor[];
}

/**
 * A runtime that can run a model of one format: the rule test writes nothing
 * itself; the backend gets both models and the inputs, and returns the outputs.
 */
export interface NumericBackend {
  /** Shown in reports (`onnxruntime`, `litert`). */
  readonly name: string;
  run(before: Model, after: Model, inputs: ReadonlyMap<string, Tensor>, workDir: string): Promise<NumericRun>;
}

/**
 * Random inputs for every non-constant input of the main graph: floats uniform
 * in the range, integers rounded down from it, bools 0/1. An input's shape is
 * `spec.shapes[name]` when given; otherwise named dimensions take their size
 * from `spec.dims` and open ones are 1.
 */
export function randomInputs(graph: Graph, spec: NumericSpec): Map<string, Tensor> {
  const next = seededRandom(spec.seed);
  const out = new Map<string, Tensor>();
  for (const v of graph.inputs) {
    if (v.const) continue;
    const dtype: DType = v.dtype ?? 'float32';
    const shape = spec.shapes[v.name] ?? (v.shape ?? []).map((d) => (typeof d === 'number' ? d : d === null ? 1 : spec.dims[d] ?? 1));
    out.set(v.name, randomTensor(dtype, shape, spec.inputs[v.name] ?? spec.range, next));
  }
  return out;
}

/** Largest |a - b| beyond `tolerance + rtol * |b|`, over every output; with the worst difference. */
export function compareOutputs(run: NumericRun, spec: NumericSpec): { ok: boolean; maxAbsDiff: number; beyondShare: number; problem?: string } {
  let maxAbsDiff = 0;
  let within = true;
  let worst: { name: string; beyond: number; size: number } | undefined;
  // The largest share of one output's elements beyond the tolerance.
  let beyondShare = 0;
  for (let k = 0; k < run.names.length; k++) {
    const a = run.before[k];
    const b = run.after[k];
    const name = run.names[k] ?? `#${k}`;
    if (!a || !b) return { ok: false, maxAbsDiff: Infinity, beyondShare: 1, problem: `output '${name}' is missing ${a ? 'after' : 'before'} the rewrite` };
    if (a.shape.join() !== b.shape.join()) {
      return { ok: false, maxAbsDiff: Infinity, beyondShare: 1, problem: `output '${name}' has shape [${a.shape.join(', ')}] before and [${b.shape.join(', ')}] after` };
    }
    if (a.dtype !== b.dtype) return { ok: false, maxAbsDiff: Infinity, beyondShare: 1, problem: `output '${name}' is ${a.dtype} before and ${b.dtype} after` };
    const diff = diffElements(a.toFloat64(), b.toFloat64(), spec.tolerance, spec.rtol);
    maxAbsDiff = Math.max(maxAbsDiff, diff.maxAbsDiff);
    if (a.size > 0) beyondShare = Math.max(beyondShare, diff.beyond / a.size);
    if (diff.beyond > spec.mismatch * a.size) {
      within = false;
      worst = { name, beyond: diff.beyond, size: a.size };
    }
  }
  if (spec.expect === 'different') {
    return within
      ? { ok: false, maxAbsDiff, beyondShare, problem: `outputs were expected to change (expect: different) but agree within ${spec.tolerance} (max |diff| ${maxAbsDiff})` }
      : { ok: true, maxAbsDiff, beyondShare };
  }
  if (within) return { ok: true, maxAbsDiff, beyondShare };
  const share = spec.mismatch > 0 && worst ? `; ${worst.beyond} of the ${worst.size} elements of '${worst.name}' differ, more than the ${spec.mismatch} allowed (mismatch)` : '';
  return { ok: false, maxAbsDiff, beyondShare, problem: `outputs differ by up to ${maxAbsDiff}, beyond the tolerance ${spec.tolerance}${spec.rtol ? ` + ${spec.rtol} x |expected|` : ''}${share}` };
}

/** ONNX models in onnxruntime-node (a child process, see onnx_runner.js), graph optimizations off. */
export const onnxBackend: NumericBackend = {
  name: 'onnxruntime',
  async run(before, after, inputs, workDir) {
    const { runOnnxRuntime } = await import('../verify/onnx-child');
    const files = [path.join(workDir, 'before.onnx'), path.join(workDir, 'after.onnx')] as const;
    writeOnnxForRun(before, files[0]);
    writeOnnxForRun(after, files[1]);
    const host = [...inputs].map(([name, t]) => ({ name, dtype: t.dtype, shape: [...t.shape], data: t.data.bytes() }));
    const results = runOnnxRuntime([{ model: files[0], inputs: host }, { model: files[1], inputs: host }], 120_000);
    return outputsOf(before, results);
  },
};

/** Both runs' outputs in the order of the model's graph outputs; a failed run is an error naming its side. */
function outputsOf(before: Model, results: readonly RuntimeResult[]): NumericRun {
  const [a, b] = results;
  for (const [label, r] of [['before', a], ['after', b]] as const) {
    if (!r || !r.ok) throw new Error(`the runtime could not run the model ${label} the rewrite: ${r?.error ?? 'no result'}`);
  }
  const toTensor = (h: HostTensor): Tensor => new Tensor(h.dtype as DType, h.shape, new BytesData(h.data));
  const names = before.graph.outputs.map((v) => v.name);
  const pick = (r: RuntimeResult): Tensor[] => names.map((n, i) => toTensor(r.outputs.find((o) => o.name === n) ?? r.outputs[i]!));
  return { names, before: pick(a!), after: pick(b!) };
}

/** Writes an ONNX model for onnxruntime, weights inline (the runner reads one file). */
function writeOnnxForRun(model: Model, file: string): void {
  writeModel(model, file, { externalData: 'inline' });
}

/** TFLite models in LiteRT.js (a child Node process; both runs in one process). */
export const tfliteBackend: NumericBackend = {
  name: 'litert',
  async run(before, after, inputs, workDir) {
    const { runLiteRt } = await import('../verify/litert');
    const files = [path.join(workDir, 'before.tflite'), path.join(workDir, 'after.tflite')] as const;
    writeModel(before, files[0]);
    writeModel(after, files[1]);
    const hostFor = (m: Model): HostTensor[] =>
      m.graph.inputs
        .filter((v) => !v.const)
        .map((v) => {
          const t = inputs.get(v.name)!;
          return { name: v.name, dtype: t.dtype, shape: [...t.shape], data: t.data.bytes() };
        });
    const host = hostFor(before);
    // A rule may take inputs away (freeze-inputs): the model after gets those it still has.
    const names = (m: Model): string => m.graph.inputs.filter((v) => !v.const).map((v) => v.name).join('\0');
    const same = names(after) === names(before);
    return outputsOf(before, runLiteRt([{ model: files[0], inputs: host }, same ? { model: files[1], inputsFrom: 0 } : { model: files[1], inputs: hostFor(after) }]));
  },
};

/**
 * OpenVINO IR: no OpenVINO runtime here, so both models are translated to
 * ONNX (src/verify/openvino-onnx) and run in onnxruntime, as `recipe verify` does.
 */
export const openvinoBackend: NumericBackend = {
  name: 'onnxruntime (translated from OpenVINO IR)',
  async run(before, after, inputs, workDir) {
    const { openvinoToOnnx } = await import('../verify/openvino-onnx');
    return onnxBackend.run(openvinoToOnnx(before), openvinoToOnnx(after), inputs, workDir);
  },
};

/** The runtimes `recipe test` has on its own; tests may add others. */
export const DEFAULT_BACKENDS: Partial<Record<FormatId, NumericBackend>> = { onnx: onnxBackend, tflite: tfliteBackend, openvino: openvinoBackend };
