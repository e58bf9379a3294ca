import * as path from 'node:path';
import { main } from '../../src/cli/main';
import { readModel } from '../../src/formats';
import { printModel } from '../../src/ir/text/print';
import { corpusOpenvinoModels, corpusTfliteModels, ROOT, tempDir } from '../helpers/corpus';
import * as fs from 'node:fs';
import { capturingIo } from './helpers';

/**
 * `recipe apply` must take any real model, including ones that are not valid to
 * the letter (a RESHAPE reading a tensor nobody writes, Ethos-U scratch inputs,
 * LSTM intermediates and variable state): a recipe that changes nothing there
 * leaves the graph as it was.
 */
const recipe = path.join(ROOT, 'recipes/core/batchnorm.yaml');
const models = [...corpusTfliteModels(), ...corpusOpenvinoModels().filter((x) => fs.existsSync(x.replace(/\.xml$/, '.bin')))];

describe('recipe apply on every real TFLite and OpenVINO model', () => {
  const dir = tempDir('recipe-apply-corpus-');
  test.each(models.map((m) => [path.relative(ROOT, m).replace(/^\.\.\//, ''), m]))('%s', async (_name, model) => {
    const out = path.join(dir, path.basename(model));
    const io = capturingIo();
    const code = await main(['apply', recipe, model, '-o', out, '--force'], io.io);
    expect(io.stderr()).not.toMatch(/graph problem|internal error/);
    expect(code).toBe(0);
    const before = printModel(readModel(model));
    const after = printModel(readModel(out));
    expect(after).toBe(before);
  });
});

test('a target bundle on a model of one format sums up the rules written for the others in one line', async () => {
  const model = corpusTfliteModels().find((m) => m.endsWith('hand_landmark_lite.tflite'))!;
  const io = capturingIo();
  const code = await main(['apply', path.join(ROOT, 'recipes/edgetpu.yaml'), model, '-o', path.join(tempDir(), 'h.tflite')], io.io);
  expect(code).toBe(0);
  expect(io.stdout()).toMatch(/^skipped \d+ rule\(s\) written for other formats/m);
  expect(io.stdout()).not.toMatch(/not for onnx models/);
  expect(io.stdout()).toMatch(/^skipped fix-height-width: turned off$/m);
});

test('recipe --help lists every command with the first sentence of its summary', async () => {
  const io = capturingIo();
  await main(['--help'], io.io);
  const lines = io.stdout().split('\n').filter((l) => /^ {2}\w/.test(l));
  expect(lines.map((l) => l.trim().split(/\s+/)[0])).toEqual(['apply', 'check', 'list', 'test', 'verify', 'show', 'diff', 'copy']);
  for (const l of lines) expect(l).not.toMatch(/[:,]$/);
});
