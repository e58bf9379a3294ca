/**
 * The ONNX shape rules against ONNX's own conformance results: each
 * libonnx-testdata model gets its first data set's inputs as constants (so
 * that rules reading an input's values, such as Reshape's or OneHot's, can),
 * the sizes of its outputs are opened, and the sizes fillDeclaredShapes puts
 * back must be those of the expected outputs. Sizes that stay open are the
 * ones no rule covers: training ops, data-dependent outputs (Unique,
 * NonMaxSuppression), strings, opset-6 broadcasting, control flow.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeTensorProto, readOnnx } from '../../../src/formats/onnx';
import { fillDeclaredShapes } from '../../../src/formats/onnx/shapes';
import { ONNX_TESTDATA } from '../../helpers/corpus';
import { testdataModels } from '../../helpers/onnx-files';

const readPb = (file: string) => decodeTensorProto(fs.readFileSync(file), { file, dir: path.dirname(file) }).tensor;

test('every output size the rules compute for the libonnx-testdata models is the expected output\'s', () => {
  let outputs = 0;
  let filled = 0;
  const differ: string[] = [];
  const byOp = new Map<string, number>();
  for (const file of testdataModels()) {
    const set = path.join(path.dirname(file), 'test_data_set_0');
    if (!fs.existsSync(set)) continue;
    const model = readOnnx(file);
    const opset = model.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version;
    if (opset === undefined) continue;
    const g = model.graph;
    const fed = g.inputs.filter((v) => v.const === undefined);
    if ([...fed, ...g.outputs].some((v) => v.dtype === undefined)) continue;
    const inputs = fed.map((_, i) => path.join(set, `input_${i}.pb`));
    if (!inputs.every((f) => fs.existsSync(f))) continue;
    fed.forEach((v, i) => {
      const t = readPb(inputs[i]!);
      v.const = t;
      v.shape = [...t.shape];
    });
    const expected = g.outputs.map((_, i) => readPb(path.join(set, `output_${i}.pb`)).shape);
    g.outputs.forEach((v, i) => (v.shape = expected[i]!.map(() => null)));
    fillDeclaredShapes(g, opset);
    g.outputs.forEach((v, i) => {
      outputs++;
      if (!v.shape!.every((d) => typeof d === 'number')) return;
      filled++;
      const op = g.nodes.length === 1 ? g.nodes[0]!.op : 'a graph';
      byOp.set(op, (byOp.get(op) ?? 0) + 1);
      if (JSON.stringify(v.shape) !== JSON.stringify([...expected[i]!])) {
        differ.push(`${path.relative(ONNX_TESTDATA, path.dirname(file))} '${v.name}': ${JSON.stringify(v.shape)}, expected ${JSON.stringify([...expected[i]!])}`);
      }
    });
  }
  expect(differ).toEqual([]);
  // 1,050 of 1,238 outputs when this was written (874 before the rules this test came with).
  expect(outputs).toBeGreaterThan(1200);
  expect(filled).toBeGreaterThanOrEqual(1050);
  expect((byOp.get('a graph') ?? 0) > 0).toBe(true);
  for (const op of ['GatherND', 'OneHot', 'GatherElements', 'Dropout', 'ScatterND', 'LSTM', 'GRU', 'RNN', 'QLinearConv', 'GridSample', 'RoiAlign', 'Trilu', 'CumSum', 'Range', 'Einsum', 'DFT', 'STFT', 'If', 'Loop', 'Scan']) {
    expect([op, (byOp.get(op) ?? 0) > 0]).toEqual([op, true]);
  }
});
