/**
 * The message format between recipe and its runtime runners (src/verify/runner_wire.js):
 * tensors as raw bytes after a JSON header, so that outputs of hundreds of
 * megabytes (a 1024x1024 segmentation model's) reach the comparison.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Graph, Model, Tensor } from '../../src/ir';
import { writeModel } from '../../src/formats';
import { BlobList, readMessage, writeMessage } from '../../src/verify/runner_wire';
import { verifyModels } from '../../src/verify/models';
import { tempDir } from '../helpers/corpus';

const dir = tempDir('recipe-wire-');

describe('runner messages', () => {
  test('a body and its blobs come back as written, each blob 8-aligned and sent once', () => {
    const a = new Uint8Array([1, 2, 3]);
    const b = new Uint8Array(new Float64Array([Math.PI, -0, Infinity]).buffer);
    const blobs = new BlobList();
    const body = { jobs: [{ model: 'm', inputs: [{ name: 'x', data: blobs.add(a) }, { name: 'y', data: blobs.add(b) }, { name: 'x again', data: blobs.add(a) }] }] };
    expect(body.jobs[0]!.inputs.map((t) => t.data)).toEqual([0, 1, 0]);
    const file = path.join(dir, 'message');
    writeMessage(file, body, blobs);

    const { body: back, blob } = readMessage(file);
    expect(back).toEqual({ ...body, blobs: [[0, 3], [8, 24]] });
    expect([...blob(0)]).toEqual([1, 2, 3]);
    const y = blob(1);
    expect(y.byteOffset % 8).toBe(0);
    expect([...new Float64Array(y.buffer, y.byteOffset, 3)]).toEqual([Math.PI, -0, Infinity]);
  });

  test('a file that is not a message is refused by name', () => {
    const file = path.join(dir, 'not-a-message');
    fs.writeFileSync(file, '[{"ok": true}]');
    expect(() => readMessage(file)).toThrow(/not-a-message is not a runner message/);
  });

  test('verify compares outputs larger than a JavaScript string can hold as base64 (256 MB each)', () => {
    // x: [1] -> Expand to 2^26 floats; base64 of two such outputs is past V8's longest string.
    const g = new Graph('main');
    const x = g.addValue('x', { dtype: 'float32', shape: [1] });
    g.inputs = [x];
    const shape = g.addValue('shape', { dtype: 'int64', shape: [1] });
    shape.const = Tensor.from('int64', [1], [2 ** 26]);
    const y = g.addNode({ op: 'Expand', name: 'expand', inputs: [x, shape], outputs: ['y'] });
    g.outputs = [y.output(0)];
    const model = new Model('onnx', g);
    model.opsets = [{ domain: '', version: 13 }];
    const before = path.join(dir, 'expand.onnx');
    const after = path.join(dir, 'expand-again.onnx');
    writeModel(model, before);
    writeModel(model, after);

    const report = verifyModels(before, after, { runs: 1 });
    expect(report.ok).toBe(true);
    expect(report.outputs.map((o) => [o.name, o.shape, o.maxAbsDiff])).toEqual([['y', [2 ** 26], 0]]);
  });
});

describe('a temporary folder that cannot take the tensors', () => {
  test('is a check that could not run (exit 1), naming the folder and TMPDIR, not an internal error', () => {
    // A child process: Node's os.tmpdir() reads the real environment, which jest keeps apart from the test's.
    const model = path.join(__dirname, '../../examples/tiny-bn.onnx');
    const folder = path.join(dir, 'no-such-folder');
    const r = spawnSync(process.execPath, [path.join(__dirname, '../../bin/recipe.js'), 'verify', model, model, '--runs', '1'], {
      env: { ...process.env, TMPDIR: folder },
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`recipe: verify: cannot use the temporary folder ${folder}: no such file or folder`);
    expect(r.stderr).toMatch(/hint: set TMPDIR to a folder with room/);
  });
});
