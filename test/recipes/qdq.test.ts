/**
 * The bundles on QDQ-quantized ONNX models (TensorRT's explicit
 * quantization): the rewrites around the QuantizeLinear / DequantizeLinear
 * pairs keep every pair and every int8 weight, and the outputs in onnxruntime.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import { readModel } from '../../src/formats';
import type { Model } from '../../src/ir/model';
import { corpusOnnxModels, ROOT, tempDir } from '../helpers/corpus';
import { PYTHON } from '../helpers/onnx-files';

const work = tempDir('recipe-qdq-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** `file` quantized by test/helpers/qdq.py, and how many Convs it quantized. */
function quantized(file: string): { file: string; convs: number } {
  const out = path.join(work, path.basename(file).replace(/\.onnx$/, '-qdq.onnx'));
  const convs = Number(execFileSync(PYTHON, [path.join(ROOT, 'test/helpers/qdq.py'), file, out]).toString());
  return { file: out, convs };
}

const count = (m: Model, op: string): number => m.graph.nodes.filter((n) => n.op === op).length;

/** The int8 constants the weight DequantizeLinear nodes read, by node name. */
function int8Weights(m: Model): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of m.graph.nodes) {
    const w = n.inputs[0];
    if (n.op === 'DequantizeLinear' && w?.const) out.set(n.name, `${w.const.dtype} [${w.const.shape.join(', ')}]`);
  }
  return out;
}

const models = [
  ['PaddleOCR v4 det (BatchNorm after ConvTranspose, opset 11: per-tensor weights)', 'ch_PP-OCRv4_det_infer.onnx', ['tensorrt', 'myriad']],
  ['BlazeFace (tf2onnx, NHWC)', 'face_detection_front_128x128_barracuda.onnx', ['tensorrt', 'edgetpu', 'myriad']],
] as const;

describe.each(models)('%s', (_label, name, bundles) => {
  const source = corpusOnnxModels().find((f) => f.endsWith(name))!;
  let input: { file: string; convs: number };
  beforeAll(() => {
    input = quantized(source);
  });

  it.each(bundles)('%s bundle: every Q/DQ pair and int8 weight kept, outputs agree in onnxruntime (--verify)', async (bundle) => {
    expect(input.convs).toBeGreaterThan(10);
    const out = path.join(work, `${bundle}-${path.basename(input.file)}`);
    const io = { stdout: '', stderr: '', interactive: false, out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
    const code = await main(['apply', bundle, input.file, '-o', out, '--verify', '--runs', '2'], io);
    expect({ code, stderr: io.stderr }).toEqual({ code: 0, stderr: expect.not.stringMatching(/error/i) });
    expect(io.stdout).toMatch(/outputs agree within the tolerance/);
    const before = readModel(input.file);
    const after = readModel(out);
    for (const op of ['QuantizeLinear', 'DequantizeLinear', 'Conv']) expect({ op, n: count(after, op) }).toEqual({ op, n: count(before, op) });
    expect(count(after, 'QuantizeLinear')).toBe(input.convs);
    // The det model's three BatchNorms (after the ConvTransposes) are folded by every bundle that has core.
    expect(count(after, 'BatchNormalization')).toBe(0);
    const weights = int8Weights(after);
    expect([...weights.values()].every((w) => w.startsWith('int8 '))).toBe(true);
    expect(weights).toEqual(int8Weights(before));
  });
});
