/**
 * The core BatchNorm recipe on OpenVINO IR: BatchNormInference (opset 5) becomes
 * Multiply + Add, written as IR and read back; the rewritten graph is evaluated
 * by the reference evaluator of test/helpers (itself checked against
 * onnxruntime) and compared with BatchNormInference computed directly.
 */
import * as path from 'node:path';
import type { Io } from '../../src/cli/command';
import { main } from '../../src/cli/main';
import { readModel, writeModel } from '../../src/formats';
import { ovConst, ovOp, ovParam, newOvModel } from '../helpers/openvino-build';
import { evaluateOv } from '../helpers/openvino-eval';
import { ROOT, tempDir } from '../helpers/corpus';

const dir = tempDir('recipe-openvino-');
const CORE = path.join(ROOT, 'recipes/core/batchnorm.yaml');
const C = 3;
const SHAPE = [1, C, 4, 5];

function io(): Io & { stdout: string; stderr: string } {
  const r = { stdout: '', stderr: '', interactive: false, out: (t: string) => void (r.stdout += t), err: (t: string) => void (r.stderr += t) };
  return r;
}

const stats = {
  gamma: [0.5, 1.5, -2],
  beta: [0.1, -0.2, 0.3],
  mean: [0.25, -1, 2],
  variance: [0.5, 2, 0.125],
};
const EPS = 1e-3;

/** x -> BatchNormInference -> Relu -> result; `opset1Order` puts gamma and beta before the data. */
function writeBnModel(file: string, opset1Order = false): void {
  const model = newOvModel('bn');
  const g = model.graph;
  const x = ovParam(g, 'x', SHAPE);
  const [gamma, beta, mean, variance] = (['gamma', 'beta', 'mean', 'variance'] as const).map((k) => ovConst(g, k, 'float32', [C], stats[k]));
  const inputs = opset1Order ? [gamma!, beta!, x, mean!, variance!] : [x, gamma!, beta!, mean!, variance!];
  const bn = ovOp(g, 'BatchNormInference', opset1Order ? 'opset1' : 'opset5', inputs, [SHAPE], { epsilon: String(EPS) }, 'bn');
  const relu = ovOp(g, 'Relu', 'opset1', [bn.output(0)], [SHAPE], {}, 'relu');
  g.outputs = [relu.output(0)];
  writeModel(model, file);
}

describe('BatchNormInference -> Multiply + Add on OpenVINO IR', () => {
  it('rewrites, writes valid IR, and keeps the outputs', async () => {
    const input = path.join(dir, 'bn.xml');
    const output = path.join(dir, 'bn-out.xml');
    writeBnModel(input);
    const r = io();
    expect(await main(['apply', CORE, input, '-o', output], r)).toBe(0);
    expect(r.stdout).toMatch(/\nbatchnorminference-to-multiply-add +1 +1 +1 +0\n/);
    expect(r.stdout).toMatch(/skipped batchnorm-to-mul-add: not for openvino models/);

    const after = readModel(output);
    expect(after.graph.nodes.map((n) => n.op)).toEqual(['Multiply', 'Add', 'Relu']);
    // Recorded in the IR's rt_info.
    expect(JSON.parse(after.getMetadata('recipe.applied')!)).toEqual([{ name: 'core/batchnorm', version: '1.2.0', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    const data = Float32Array.from({ length: SHAPE.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.7) * 3);
    const [got] = evaluateOv(after.graph, new Map([['x', { shape: SHAPE, data }]]));
    const hw = SHAPE[2]! * SHAPE[3]!;
    let maxDiff = 0;
    for (let i = 0; i < data.length; i++) {
      const ch = Math.floor(i / hw) % C;
      const bn = ((data[i]! - stats.mean[ch]!) / Math.sqrt(stats.variance[ch]! + EPS)) * stats.gamma[ch]! + stats.beta[ch]!;
      maxDiff = Math.max(maxDiff, Math.abs(Math.max(0, bn) - got!.data[i]!));
    }
    expect(got!.shape).toEqual(SHAPE);
    expect(maxDiff).toBeLessThan(1e-5);
  });

  it('leaves an opset-1 BatchNormInference (gamma first) alone, and says why', async () => {
    const input = path.join(dir, 'bn1.xml');
    writeBnModel(input, true);
    const r = io();
    expect(await main(['apply', CORE, input, '--dry-run', '--explain', 'batchnorminference-to-multiply-add'], r)).toBe(0);
    expect(r.stdout).toMatch(/batchnorminference-to-multiply-add +1 +0 +0 +0/);
    expect(r.stdout).toMatch(/near miss at BatchNormInference 'bn' in graph '.*': /);
  });
});
