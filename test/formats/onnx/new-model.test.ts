import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { writeModel } from '../../../src/formats';
import { parseModel } from '../../../src/ir/text/parse';
import { tempDir } from '../../helpers/corpus';

/** A model made in memory (graph text, the IR API) has no ir_version to copy; the writer supplies one. */
describe('ONNX writer on a model built in memory', () => {
  test.each([
    [9, 4],
    [13, 7],
    [17, 8],
  ])('opset %i gets IR version %i and passes the checker', (opset, ir) => {
    const model = parseModel(
      [
        'model onnx',
        `opsets ai.onnx:${opset}`,
        'graph g',
        '  in x: float32[2, 3]',
        '  y: float32[2, 3] = Relu(x)',
        '  out y',
        '',
      ].join('\n'),
    );
    const file = path.join(tempDir('recipe-onnx-new-'), 'm.onnx');
    writeModel(model, file);
    const script = [
      'import sys, onnx',
      'm = onnx.load(sys.argv[1])',
      'onnx.checker.check_model(m)',
      'print(m.ir_version, m.opset_import[0].version, [n.op_type for n in m.graph.node])',
    ].join('\n');
    const out = execFileSync('/usr/bin/python3', ['-c', script, file], { encoding: 'utf8' }).trim();
    expect(out).toBe(`${ir} ${opset} ['Relu']`);
  });
});
