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
