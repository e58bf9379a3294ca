import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../../src/cli/main';
import type { Io } from '../../../src/cli/command';
import { NPM_CORPUS, tempDir } from '../../helpers/corpus';
import { ONNX_CHECK, PYTHON } from '../../helpers/onnx-files';

// `recipe show` and `recipe copy` on real ONNX models through the CLI's main(),
// and bad input: exit code 4, one line naming the file, no output left behind.
const MODEL = path.join(NPM_CORPUS, '@jjhbw__silero-vad/weights/silero_vad_16k_op15.onnx');
const dir = tempDir('onnx-cli-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t), interactive: false };
  const code = await main(argv, io);
  return { code, out, err };
}

test('show describes a real model', async () => {
  const { code, out } = await run('show', MODEL, '--json');
  expect(code).toBe(0);
  const summary = JSON.parse(out) as { format: string; inputs: { name: string }[]; ops: Record<string, number>; graphs: number };
  expect(summary.format).toBe('onnx');
  expect(summary.inputs.map((i) => i.name)).toEqual(['input', 'state', 'sr']);
  expect(summary.ops.If).toBeGreaterThan(0);
  expect(summary.graphs).toBeGreaterThan(1);
});

test('copy writes the model back byte for byte', async () => {
  const out = path.join(dir, 'copy.onnx');
  const { code, err } = await run('copy', MODEL, '-o', out);
  expect(code).toBe(0);
  expect(err).toContain('wrote');
  expect(fs.readFileSync(out).equals(fs.readFileSync(MODEL))).toBe(true);
});

test('copy --external-data external, then inline, round-trips the weights', async () => {
  const ext = path.join(dir, 'ext.onnx');
  expect((await run('copy', MODEL, '-o', ext, '--external-data', 'external', '--threshold', '256')).code).toBe(0);
  expect(fs.statSync(`${ext}.data`).size).toBeGreaterThan(100_000);
  const inline = path.join(dir, 'inline.onnx');
  expect((await run('copy', ext, '-o', inline, '--external-data', 'inline')).code).toBe(0);
  // Back inline, the file decodes to the same message as the original.
  fs.writeFileSync(path.join(dir, 'pairs.json'), JSON.stringify([[MODEL, inline]]));
  const check = JSON.parse(execFileSync(PYTHON, [ONNX_CHECK, 'check', path.join(dir, 'pairs.json')]).toString()) as { equal: boolean };
  expect(check.equal).toBe(true);
});

describe('bad input: exit 4, one line naming the file, nothing written', () => {
  const original = fs.readFileSync(MODEL);
  const cases: [string, (file: string) => void, RegExp][] = [
    ['truncated', (f) => fs.writeFileSync(f, original.subarray(0, original.byteLength >> 1)), /byte \d+/],
    ['not ONNX', (f) => fs.writeFileSync(f, 'hello, I am a text file\n'), /not a model/],
    ['empty', (f) => fs.writeFileSync(f, ''), /empty/],
    ['missing', () => undefined, /no such file/],
  ];
  test.each(cases)('%s', async (name, make, reason) => {
    const input = path.join(dir, `${name.replace(/ /g, '-')}.onnx`);
    make(input);
    const outDir = path.join(dir, `out-${name.replace(/ /g, '-')}`);
    fs.mkdirSync(outDir);
    const { code, out, err } = await run('copy', input, '-o', path.join(outDir, 'out.onnx'));
    expect(code).toBe(4);
    expect(out).toBe('');
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toContain(input);
    expect(err).toMatch(reason);
    expect(fs.readdirSync(outDir)).toEqual([]);
  });

  test('a missing external data file', async () => {
    const ext = path.join(dir, 'ext-missing/model.onnx');
    fs.mkdirSync(path.dirname(ext));
    execFileSync(PYTHON, [ONNX_CHECK, 'external', MODEL, ext, 'weights.bin']);
    fs.rmSync(path.join(dir, 'ext-missing/weights.bin'));
    const out = path.join(dir, 'ext-missing-out.onnx');
    const { code, err } = await run('copy', ext, '-o', out);
    expect(code).toBe(4);
    expect(err).toMatch(/external data file 'weights.bin' cannot be opened: no such file/);
    expect(fs.existsSync(out)).toBe(false);
  });
});
