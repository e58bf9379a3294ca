import * as fs from 'node:fs';
import * as path from 'node:path';
import { readModel, writeModel } from '../../../src/formats';
import { runArmnn } from '../../../src/verify/armnn';
import { runLiteRt, type RuntimeResult } from '../../../src/verify/litert';
import { corpusTfliteModels, tempDir } from '../../helpers/corpus';

/**
 * Corpus models that neither LiteRT.js nor ArmNN CpuRef runs here, and why.
 * The test checks that they do fail in both, so the list stays true.
 */
const NEITHER: Record<string, string> = {
  'melspectrogram.tflite': 'LiteRT: XNNPack fails to reshape its dynamic-length input; ArmNN: an operator it does not support',
  'deeplabv3_mnv2_dm05_pascal_quant.tflite': 'LiteRT: INT64 output (ARG_MAX); ArmNN: ARG_MAX with an INT64 output not supported',
  'deeplabv3_mnv2_dm05_pascal_quant_edgetpu.tflite': 'EdgeTPU custom op (and an INT64 output)',
  'keras_lstm_mnist_ptq.tflite': 'LiteRT fails to load it (quantized LSTM); ArmNN: UNIDIRECTIONAL_SEQUENCE_LSTM not supported',
  'keras_lstm_mnist_ptq_edgetpu.tflite': 'EdgeTPU custom op and a quantized LSTM',
  'mobilenet_v1_0.25_128_quant_edgetpu.tflite': 'EdgeTPU custom op (edgetpu-custom-op) runs only on a Coral device',
  'movenet_single_pose_lightning_ptq_edgetpu.tflite': 'EdgeTPU custom op',
  'split_concat_edgetpu.tflite': 'EdgeTPU custom op',
  'dtln_noise_suppression.tflite': 'LiteRT fails to load it (LSTM); ArmNN: an operator it does not support',
  'trained_lstm.tflite': 'LiteRT fails to load it (LSTM); ArmNN: UNIDIRECTIONAL_SEQUENCE_LSTM not supported',
  'trained_lstm_int8.tflite': 'int8 LSTM: neither runtime supports it',
  'keyword_scrambled_8bit.tflite': 'LiteRT fails to load it (int8 SVDF); ArmNN: SVDF not supported',
  'person_detect.tflite': 'LiteRT: int8 input; ArmNN CpuRef rejects its per-axis quantized depthwise convolution',
  'person_detect_vela.tflite': 'Ethos-U custom op (ethos-u) runs only on the NPU; int8 input',
};

const models = corpusTfliteModels();
const work = tempDir('recipe-tflite-run-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const copies = models.map((m, i) => {
  const out = path.join(work, `${i}-${path.basename(m)}`);
  writeModel(readModel(m), out);
  return out;
});

/** Runs each original and its copy with the same inputs; [original, copy] per model. */
function runPairs(run: typeof runLiteRt, indices: number[]): Map<number, [RuntimeResult, RuntimeResult]> {
  const jobs = indices.flatMap((i, k) => [{ model: models[i] ?? '', seed: 7 }, { model: copies[i] ?? '', inputsFrom: 2 * k }]);
  const results = run(jobs);
  return new Map(indices.map((i, k) => [i, [results[2 * k], results[2 * k + 1]] as [RuntimeResult, RuntimeResult]]));
}

function expectSameOutputs([before, after]: [RuntimeResult, RuntimeResult]): void {
  expect(after.ok).toBe(true);
  expect(after.outputs.length).toBe(before.outputs.length);
  expect(before.outputs.length).toBeGreaterThan(0);
  before.outputs.forEach((o, k) => {
    const a = after.outputs[k];
    expect(a?.dtype).toBe(o.dtype);
    expect(a?.shape).toEqual(o.shape);
    expect(a && Buffer.compare(Buffer.from(a.data), Buffer.from(o.data))).toBe(0);
  });
}

const all = models.map((_, i) => i);
let litert = new Map<number, [RuntimeResult, RuntimeResult]>();
let armnn = new Map<number, [RuntimeResult, RuntimeResult]>();

beforeAll(() => {
  litert = runPairs(runLiteRt, all);
  const refused = all.filter((i) => !litert.get(i)?.[0].ok);
  armnn = runPairs(runArmnn, refused);
}, 600_000);

test('most corpus models run in one of the runtimes', () => {
  const ran = all.filter((i) => litert.get(i)?.[0].ok || armnn.get(i)?.[0].ok);
  expect(ran.length).toBeGreaterThanOrEqual(20);
});

describe.each(models.map((m, i) => [path.basename(m), i] as const))('%s', (name, i) => {
  const reason = NEITHER[name];
  if (reason) {
    test(`runs in neither runtime: ${reason}`, () => {
      expect(litert.get(i)?.[0].ok).toBe(false);
      expect(armnn.get(i)?.[0].ok).toBe(false);
    });
    return;
  }
  test('gives identical outputs before and after the round trip (LiteRT.js, or ArmNN for what LiteRT refuses)', () => {
    const lite = litert.get(i);
    if (lite?.[0].ok) return expectSameOutputs(lite);
    const arm = armnn.get(i);
    expect({ litert: lite?.[0].error, armnn: arm?.[0].error, ok: arm?.[0].ok }).toMatchObject({ ok: true });
    if (arm) expectSameOutputs(arm);
  });
});
