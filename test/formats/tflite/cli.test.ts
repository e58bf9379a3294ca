import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Io } from '../../../src/cli/command';
import { main } from '../../../src/cli/main';
import { corpusTfliteModels, tempDir } from '../../helpers/corpus';
import { bigByteVectors, firstDifference, flatcJson, withEmptiedByteVectors } from '../../helpers/tflite-flatc';

function capture(): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    interactive: false,
    out(text: string) {
      io.stdout += text;
    },
    err(text: string) {
      io.stderr += text;
    },
  };
  return io;
}

const models = corpusTfliteModels();
const pick = (name: string): string => models.find((m) => path.basename(m) === name) ?? '';
const work = tempDir('recipe-tflite-cli-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('recipe show describes a .tflite model: its ops and its custom op', async () => {
  const io = capture();
  const code = await main(['show', pick('split_concat_edgetpu.tflite')], io);
  expect(io.stderr).toBe('');
  expect(code).toBe(0);
  expect(io.stdout).toMatch(/tflite/);
  expect(io.stdout).toMatch(/edgetpu-custom-op/);
});

test('recipe show --graph prints builtin ops with their options as attributes', async () => {
  const io = capture();
  const code = await main(['show', '--graph', pick('hello_world_int8.tflite')], io);
  expect(code).toBe(0);
  expect(io.stdout).toMatch(/FULLY_CONNECTED/);
  expect(io.stdout).toMatch(/fused_activation_function/);
  expect(io.stdout).toMatch(/RELU/);
});

test.each(['hey_jarvis_v0.1.tflite', 'person_detect_vela.tflite', 'face_detection_full_range_sparse.tflite'])(
  'recipe copy writes %s back with the same tables and bytes',
  async (name) => {
    const file = pick(name);
    const out = path.join(work, name);
    const io = capture();
    const code = await main(['copy', file, '-o', out], io);
    expect(code).toBe(0);
    expect(io.stderr).toMatch(/^wrote /);
    const tables = (f: string): string => flatcJson(withEmptiedByteVectors(f, work), work);
    expect(firstDifference(tables(file), tables(out))).toBeUndefined();
    const before = bigByteVectors(new Uint8Array(fs.readFileSync(file)), file);
    const after = bigByteVectors(new Uint8Array(fs.readFileSync(out)), out);
    expect(after.map((v) => v.where)).toEqual(before.map((v) => v.where));
    before.forEach((v, i) => expect(Buffer.compare(Buffer.from(after[i]?.bytes ?? []), Buffer.from(v.bytes))).toBe(0));
  },
);

test('recipe copy of a corrupt .tflite fails with the codec error, not a crash', async () => {
  const bytes = new Uint8Array(fs.readFileSync(pick('hello_world_int8.tflite')));
  const bad = path.join(work, 'bad.tflite');
  fs.writeFileSync(bad, bytes.subarray(0, 300));
  const io = capture();
  const code = await main(['copy', bad, '-o', path.join(work, 'bad-out.tflite')], io);
  expect(code).not.toBe(0);
  expect(io.stderr).toMatch(/bad\.tflite: .*byte \d+/);
  expect(io.stderr).not.toMatch(/internal error/);
  expect(fs.existsSync(path.join(work, 'bad-out.tflite'))).toBe(false);
});
