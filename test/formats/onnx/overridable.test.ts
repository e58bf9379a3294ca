/**
 * Initializers listed among the graph inputs: from IR version 4 a caller may
 * feed other values for them (onnxruntime does), before it they were listed
 * there by rule and fixed. The reader says which; `apply` warns when a rule
 * folded an overridable one away.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { readModel } from '../../../src/formats';
import { runCli } from '../../helpers/cli';
import { ROOT, tempDir } from '../../helpers/corpus';
import { PYTHON } from '../../helpers/onnx-files';

const dir = tempDir('recipe-overridable-');

/** Conv + BatchNormalization whose four statistics are initializers listed as graph inputs too. */
function bnWithInitializersAsInputs(ir: number, opset: number): string {
  const file = path.join(dir, `bn-ir${ir}.onnx`);
  const script = `
import numpy as np, onnx, sys
from onnx import helper as h, numpy_helper as nh, TensorProto as T
stats = [nh.from_array(np.full(3, k, np.float32), n) for k, n in [(2, 's'), (1, 'b'), (0.5, 'm'), (3, 'v')]]
w = nh.from_array(np.ones((3, 3, 1, 1), np.float32), 'w')
g = h.make_graph([h.make_node('Conv', ['x', 'w'], ['c']), h.make_node('BatchNormalization', ['c', 's', 'b', 'm', 'v'], ['y'])], 'g',
    [h.make_tensor_value_info('x', T.FLOAT, [1, 3, 2, 2])] + [h.make_tensor_value_info(n, T.FLOAT, [3]) for n in 'sbmv'],
    [h.make_tensor_value_info('y', T.FLOAT, [1, 3, 2, 2])], stats + [w])
m = h.make_model(g, opset_imports=[h.make_opsetid('', ${opset})])
m.ir_version = ${ir}
onnx.save(m, sys.argv[1])
`;
  execFileSync(PYTHON, ['-c', script, file]);
  return file;
}

function apply(model: string): Promise<{ code: number; stderr: string }> {
  return runCli('apply', path.join(ROOT, 'recipes/core/batchnorm.yaml'), model, '-o', model.replace(/\.onnx$/, '.out.onnx'));
}

test('IR 4 and later: initializers listed as inputs are overridable; apply folds them and says so', async () => {
  const file = bnWithInitializersAsInputs(8, 13);
  const g = readModel(file).graph;
  expect(g.inputs.filter((v) => v.overridable).map((v) => v.name)).toEqual(['s', 'b', 'm', 'v']);
  expect(g.inputs.find((v) => v.name === 'x')!.overridable).toBeUndefined();
  const r = await apply(file);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("warning: 4 constant(s) that are also graph inputs were folded into the rewrite and are read no more: 's', 'b', 'm', 'v'.");
});

test('IR 3: every initializer had to be an input, and none is overridable; nothing to warn about', async () => {
  const file = bnWithInitializersAsInputs(3, 8);
  const g = readModel(file).graph;
  expect(g.inputs.filter((v) => v.overridable)).toEqual([]);
  const r = await apply(file);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe('');
});
