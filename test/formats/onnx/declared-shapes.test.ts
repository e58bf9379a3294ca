/**
 * The ONNX shape rules (fillDeclaredShapes, which fix-shape carries fixed
 * sizes with) against onnx's own shape inference on the real models of the
 * corpus: infer-shapes.py writes each with every shape onnx infers as
 * value_info, the sizes of every tensor a node computes are opened (the rank
 * kept), and the rules must fill them back as onnx inferred them.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readModel } from '../../../src/formats';
import { fillDeclaredShapes } from '../../../src/formats/onnx/shapes';
import type { Shape, Value } from '../../../src/ir/graph';
import { ROOT, corpusOnnxModels, tempDir } from '../../helpers/corpus';
import { PYTHON } from '../../helpers/onnx-files';

const work = tempDir('onnx-declared-shapes-');
const sources = corpusOnnxModels();
execFileSync(PYTHON, [path.join(ROOT, 'test/formats/onnx/infer-shapes.py'), work, ...sources], { stdio: 'pipe' });
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const isSize = (d: unknown): d is number => typeof d === 'number' && d >= 0;
const totals = { declared: 0, filled: 0 };

test.each(sources.map((f, i) => [path.relative(path.join(ROOT, 'test/.corpus'), f), `${i}-${path.basename(f)}`]))('%s: every size the rules fill is the one onnx infers', (_name, written) => {
  const model = readModel(path.join(work, written));
  const opset = model.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')!.version;
  const inferred = new Map<Value, Shape>();
  for (const node of model.graph.nodes) {
    for (const v of node.outputs) {
      // onnx writes -1 where a window does not fit the sizes the script chose: no size to compare.
      if (!v.shape?.every(isSize)) continue;
      inferred.set(v, v.shape);
      v.shape = v.shape.map(() => null);
    }
  }
  fillDeclaredShapes(model.graph, opset);
  const differ: string[] = [];
  for (const [v, shape] of inferred) {
    totals.declared++;
    if (!v.shape!.every(isSize)) continue;
    totals.filled++;
    if (JSON.stringify(v.shape) !== JSON.stringify(shape)) differ.push(`${v.producer!.op} '${v.name}': ${JSON.stringify(v.shape)}, onnx ${JSON.stringify(shape)}`);
  }
  expect(differ).toEqual([]);
  expect(inferred.size).toBeGreaterThan(0);
});

test('the rules fill nearly every size onnx infers in the corpus (the rest: data-dependent shapes, If bodies, windows larger than the chosen sizes)', () => {
  expect(totals.declared).toBeGreaterThan(2000);
  expect(totals.filled / totals.declared).toBeGreaterThan(0.97);
});
