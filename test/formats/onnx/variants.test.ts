import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Io } from '../../../src/cli/command';
import { main } from '../../../src/cli/main';
import { tempDir } from '../../helpers/corpus';
import { PYTHON } from '../../helpers/onnx-files';

// ONNX files as users bring them, beyond the corpus: local functions with the
// fields of newer onnx, training info, quantization annotations, metadata and
// doc strings everywhere, unknown fields in every message, every type kind,
// typed data fields, float8/int4, IR versions 3 to 10 (variants.py builds
// them). Each is shown, copied and rewritten by every built-in bundle through
// the CLI; python onnx inspects what was written.
const SCRIPT = path.join(__dirname, 'variants.py');
const dir = tempDir('onnx-variants-');
const src = path.join(dir, 'in');
const out = path.join(dir, 'out');
const BUNDLES = ['edgetpu', 'myriad', 'tensorrt'];

interface Facts {
  checker: string | null;
  initializers: Record<string, string>;
  inputs: string[];
  nodes: string[];
  training_names: string[];
  annotation_names: string[];
  input0: { denotation: string; dims: [number | string, string][] };
  unknown: Record<string, number>;
}

let models: string[] = [];
const facts = new Map<string, Facts>();
const applied = new Map<string, { code: number; err: string }>();

function inspect(files: readonly string[]): void {
  const lines = execFileSync(PYTHON, [SCRIPT, 'inspect', ...files], { encoding: 'utf8', maxBuffer: 1 << 26 }).trim().split('\n');
  expect(lines.length).toBe(files.length);
  files.forEach((f, i) => facts.set(f, JSON.parse(lines[i]!) as Facts));
}

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let o = '';
  let e = '';
  const io: Io = { out: (t) => void (o += t), err: (t) => void (e += t), interactive: false };
  const code = await main(argv, io);
  return { code, out: o, err: e };
}

const outFile = (model: string, bundle: string): string => path.join(out, `${path.basename(model, '.onnx')}.${bundle}.onnx`);
const inFile = (name: string): string => path.join(src, `${name}.onnx`);

beforeAll(async () => {
  execFileSync(PYTHON, [SCRIPT, 'build', src]);
  fs.mkdirSync(out);
  models = fs.readdirSync(src).sort().map((f) => path.join(src, f));
  for (const m of models) {
    for (const b of BUNDLES) applied.set(outFile(m, b), await run('apply', path.join('recipes', `${b}.yaml`), m, '-o', outFile(m, b)));
  }
  inspect([...models, ...[...applied.keys()].filter((f) => fs.existsSync(f))]);
}, 600_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the variants are there', () => {
  expect(models.map((m) => path.basename(m, '.onnx'))).toEqual(expect.arrayContaining(['function', 'training', 'unknown_fields', 'ir3', 'ir10', 'float8_int4', 'packed']));
  expect(models.length).toBeGreaterThanOrEqual(20);
});

test('show and copy: exit 0, and the copy holds the bytes read', async () => {
  const bad: string[] = [];
  for (const m of models) {
    const shown = await run('show', m);
    if (shown.code !== 0) bad.push(`show ${m}: ${shown.err}`);
    const copy = path.join(out, `${path.basename(m)}.copy`);
    const copied = await run('copy', m, '-o', copy);
    if (copied.code !== 0 || !fs.readFileSync(copy).equals(fs.readFileSync(m))) bad.push(`copy ${m}: ${copied.err}`);
  }
  expect(bad).toEqual([]);
});

test('every bundle applies, and the checker accepts what it accepted', () => {
  const bad: string[] = [];
  for (const m of models) {
    for (const b of BUNDLES) {
      const o = outFile(m, b);
      const r = applied.get(o)!;
      // 1: a rewrite was refused (left as it was) and said so; the model is still written.
      if (r.code !== 0 && !(r.code === 1 && r.err.includes('refused'))) bad.push(`${b} ${m}: exit ${r.code} ${r.err}`);
      else if (facts.get(m)!.checker === null && facts.get(o)!.checker !== null) bad.push(`${b} ${m}: ${facts.get(o)!.checker}`);
    }
  }
  expect(bad).toEqual([]);
});

test('a rewritten input keeps its denotations and the unknown fields of its type; untouched messages keep theirs', () => {
  const before = facts.get(inFile('unknown_fields'))!;
  const after = facts.get(outFile(inFile('unknown_fields'), 'myriad'))!;
  // fix-batch set N to 1: the value info is written again from the IR.
  expect(after.input0).toEqual({ denotation: 'IMAGE', dims: [[1, 'DATA_BATCH'], [3, 'DATA_CHANNEL'], [4, ''], [4, '']] });
  const kept = Object.keys(before.unknown).filter((p) => !/node\[[1-4]\]/.test(p));
  expect(kept).toEqual(expect.arrayContaining(['model.graph.input[0].type.tensor_type.shape.dim[1]', 'model.graph.node[0].attribute[0]']));
  for (const p of kept) expect([p, after.unknown[p]]).toEqual([p, before.unknown[p]]);
  expect(after.initializers.w).toBe(before.initializers.w);
});

test('IR 3: initializers a rewrite adds are graph inputs too, as IR 3 wants', () => {
  const after = facts.get(outFile(inFile('ir3'), 'myriad'))!;
  expect(Object.keys(after.initializers)).toEqual(expect.arrayContaining(['bn/k', 'bn/c']));
  expect(after.inputs).toEqual(expect.arrayContaining(Object.keys(after.initializers)));
  expect(after.checker).toBeNull();
  // IR 4 and later: an initializer is not listed as an input.
  expect(facts.get(outFile(inFile('ir4'), 'myriad'))!.inputs).toEqual(['x']);
});

test('tensors that training_info and quantization annotations name stay in the model, unchanged', () => {
  for (const name of ['training', 'quant_annotation']) {
    const before = facts.get(inFile(name))!;
    for (const b of BUNDLES) {
      const after = facts.get(outFile(inFile(name), b))!;
      const named = [...after.training_names, ...after.annotation_names].filter((n) => n in before.initializers);
      expect(named.length).toBeGreaterThanOrEqual(2);
      for (const n of named) expect([b, n, after.initializers[n]]).toEqual([b, n, before.initializers[n]]);
    }
  }
});

test('what no rule touched is written as read: functions, metadata, typed data, float8 and int4 tensors', () => {
  for (const name of ['function', 'metadata', 'typed_data', 'float8_int4', 'type_kinds']) {
    const before = facts.get(inFile(name))!;
    for (const b of BUNDLES) {
      const after = facts.get(outFile(inFile(name), b))!;
      for (const [n, sha] of Object.entries(after.initializers)) if (n in before.initializers) expect([b, n, sha]).toEqual([b, n, before.initializers[n]]);
      for (const [p, count] of Object.entries(before.unknown)) {
        if (p === 'model' || p === 'model.graph' || p.startsWith('model.functions')) expect([b, p, after.unknown[p]]).toEqual([b, p, count]);
      }
    }
  }
});

test('onnxruntime gives the same outputs before and after each bundle', async () => {
  const bad: string[] = [];
  for (const name of ['function', 'ir3', 'ir10', 'float8_int4', 'unknown_fields', 'packed', 'metadata', 'training', 'quant_annotation', 'domain_ai_onnx']) {
    for (const b of BUNDLES) {
      const r = await run('verify', inFile(name), outFile(inFile(name), b), '--dim', 'N=2');
      if (r.code !== 0) bad.push(`${name} ${b}: ${r.err}`);
    }
  }
  expect(bad).toEqual([]);
}, 300_000);

describe('damaged and hostile files: exit 4 with one line naming the file, the field path and the byte; nothing written', () => {
  const varint = (v: number): number[] => {
    const out: number[] = [];
    for (; v >= 0x80; v = Math.floor(v / 128)) out.push((v % 128) | 0x80);
    return [...out, v];
  };
  const ld = (field: number, bytes: readonly number[]): number[] => [...varint((field << 3) | 2), ...varint(bytes.length), ...bytes];
  const str = (s: string): number[] => [...Buffer.from(s)];
  // A graph whose If node holds a graph whose If node holds a graph ... `depth` times.
  const nested = (depth: number, inner: number[] = []): number[] => {
    let g = inner;
    for (let i = 0; i < depth; i++) {
      const attr = [...ld(1, str('then_branch')), ...ld(6, g), 0xa0, 0x01, 5];
      g = ld(1, [...ld(1, str('c')), ...ld(2, str('o')), ...ld(4, str('If')), ...ld(5, attr)]);
    }
    return g;
  };
  const cases: [string, () => Buffer, RegExp][] = [
    ['a field tag cut short', () => Buffer.concat([base(), Buffer.from([0x80])]), /ModelProto, byte \d+: truncated/],
    ['a length past the end', () => Buffer.concat([base(), Buffer.from([0x32, 5, 0x61])]), /ModelProto, byte \d+: length 5 runs past the end/],
    // producer_name: 2^32 + 6 bytes, then six: its low 32 bits alone would read as a name of six bytes that fit.
    ['a length past 2^31 - 1', () => Buffer.concat([base(), Buffer.from([0x12, 0x86, 0x80, 0x80, 0x80, 0x10, ...str('padded')])]), /ModelProto, byte \d+: length 4294967302 is over protobuf's limit/],
    ['field number 0', () => Buffer.concat([base(), Buffer.from([0])]), /byte \d+: invalid field tag 0/],
    ['wire type 6', () => Buffer.concat([base(), Buffer.from(varint((99 << 3) | 6))]), /invalid field tag/],
    ['an end-group without its start', () => Buffer.concat([base(), Buffer.from(varint((99 << 3) | 4))]), /invalid field tag/],
    ['groups nested 100 deep', () => Buffer.concat([base(), Buffer.from([...Array(100).fill(varint((99 << 3) | 3)).flat(), ...Array(100).fill(varint((99 << 3) | 4)).flat()])]), /groups nested too deep/],
    ['subgraphs nested 300 deep', () => Buffer.from([0x08, 8, ...ld(7, nested(300))]), /ModelProto\.graph\.node\[0\]\.attribute\[0\]\.g\..*<\d+ more>.*\.g, byte \d+: subgraphs nested deeper than 64/],
    ['a subgraph of garbage', () => Buffer.from([0x08, 8, ...ld(7, nested(1, [0xff, 0xff, 0xff]))]), /ModelProto\.graph\.node\[0\]\.attribute\[0\]\.g, byte \d+: truncated field tag/],
  ];
  const base = (): Buffer => fs.readFileSync(inFile('base'));
  test.each(cases)('%s', async (name, bytes, message) => {
    const file = path.join(dir, `${name.replace(/\W+/g, '-')}.onnx`);
    fs.writeFileSync(file, bytes());
    for (const argv of [['show', file], ['copy', file, '-o', `${file}.copy`], ['apply', 'recipes/myriad.yaml', file, '-o', `${file}.out`]]) {
      const r = await run(...argv);
      expect([argv[0], r.code]).toEqual([argv[0], 4]);
      const lines = r.err.trim().split('\n');
      expect(lines.length).toBe(1);
      expect(lines[0]!.length).toBeLessThan(400);
      expect(lines[0]).toContain(file);
      expect(lines[0]).toMatch(message);
    }
    expect(fs.existsSync(`${file}.copy`) || fs.existsSync(`${file}.out`)).toBe(false);
  });
});
