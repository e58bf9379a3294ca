/**
 * Runs OpenVINO graphs built in a test (test/helpers/openvino-build.ts)
 * through their ONNX translation (src/verify/openvino-onnx) in onnxruntime,
 * for the tests of each op's translation: a test compares what comes out
 * with values it computes itself from the OpenVINO specification.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeModel } from '../../src/formats';
import type { DType } from '../../src/ir/dtype';
import type { Model } from '../../src/ir/model';
import { Tensor } from '../../src/ir/tensor';
import { openvinoToOnnx } from '../../src/verify/openvino-onnx';
import { OrtChild } from './onnx-ort';

/** One onnxruntime child for a test file; `close()` it in afterAll. */
export class TranslatedRunner {
  private readonly ort = new OrtChild();
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recipe-ov-onnx-'));
  private count = 0;

  /**
   * Translates `model` (OpenVINO) to ONNX, runs it on `inputs` (by Parameter
   * name) and returns every output (by the name of the value its Result reads),
   * as doubles with their shape.
   */
  async run(model: Model, inputs: Record<string, { dtype?: DType; shape: number[]; values: ArrayLike<number> }>): Promise<Record<string, { shape: number[]; values: number[]; dtype: string }>> {
    const file = path.join(this.dir, `m${this.count++}.onnx`);
    writeModel(openvinoToOnnx(model), file);
    const feeds: Record<string, Tensor> = {};
    for (const [name, i] of Object.entries(inputs)) feeds[name] = Tensor.from(i.dtype ?? 'float32', i.shape, i.values);
    const out = await this.ort.run(file, feeds);
    const result: Record<string, { shape: number[]; values: number[]; dtype: string }> = {};
    for (const [name, t] of Object.entries(out)) result[name] = { shape: [...t.shape], values: Array.from(t.toFloat64()), dtype: t.dtype };
    return result;
  }

  close(): void {
    this.ort.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Deterministic values in [lo, hi) for test inputs. */
export function testValues(count: number, seed = 1, lo = -1, hi = 1): number[] {
  let x = seed >>> 0 || 1;
  return Array.from({ length: count }, () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return lo + ((x % 1_000_000) / 1_000_000) * (hi - lo);
  });
}

/** Elementwise |actual - expected| <= tol * max(1, |expected|); the failure names the first element off. */
export function expectClose(actual: readonly number[], expected: readonly number[], tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)))) {
      throw new Error(`element ${i}: got ${a}, expected ${e} (got [${actual.join(', ')}], expected [${expected.join(', ')}])`);
    }
  });
}

/** Elements of a tensor of `shape`. */
export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Row-major strides of `shape`. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** The coordinates of flat index `i` in a row-major tensor of `shape`. */
export function coordsOf(shape: readonly number[], i: number): number[] {
  const c = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    c[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return c;
}

/** The flat index of coordinates `c` in a row-major tensor of `shape`. */
export function flatOf(shape: readonly number[], c: readonly number[]): number {
  return c.reduce((acc, x, d) => acc * shape[d]! + x, 0);
}

/** The message openvinoToOnnx throws for `model`, or 'no failure'. */
export function translationFailure(model: Model): string {
  try {
    openvinoToOnnx(model);
  } catch (e) {
    return (e as Error).message;
  }
  return 'no failure';
}
