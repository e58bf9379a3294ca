/**
 * Round-trip benchmark for TFLite: a large .tflite (a real MediaPipe model
 * with big constant tensors added through our own writer) is copied by
 * `recipe copy` (a child process) and by `cp`; prints the time ratio and the
 * peak RSS of `recipe copy` against the file size.
 *
 * Build first (`npm run build`), then compile and run this file:
 *
 *   npx tsc --ignoreConfig --outDir /tmp/recipe-bench --module commonjs --target es2022 \
 *     --types node --strict bench/roundtrip-tflite.ts
 *   node /tmp/recipe-bench/roundtrip-tflite.js [--size-mb 400] [--runs 3] [--dist dist] [--keep]
 *
 * The model is generated with the built library (dist/); the copy is timed
 * through the built CLI, so the numbers measure the CLI as shipped.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseOptions } from './options';

interface Options {
  sizeMb: number;
  runs: number;
  dist: string;
  keep: boolean;
}


/** The few library entry points the benchmark uses, loaded from dist/ at run time. */
interface ValueLike {
  name: string;
  const?: { data: { bytes(): Uint8Array } };
}
interface GraphLike {
  values: IterableIterator<ValueLike>;
  addConstant(name: string, tensor: unknown): ValueLike;
}
interface ModelLike {
  graph: GraphLike;
}
interface Library {
  readModel(file: string): ModelLike;
  writeModel(model: ModelLike, file: string): string[];
  Tensor: new (dtype: string, shape: number[], data: unknown) => unknown;
  BytesData: new (view: Uint8Array) => unknown;
}

function loadLibrary(dist: string): Library {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const formats = require(path.join(dist, 'formats/index.js')) as Pick<Library, 'readModel' | 'writeModel'>;
  const tensor = require(path.join(dist, 'ir/tensor.js')) as Pick<Library, 'Tensor' | 'BytesData'>;
  return { ...formats, ...tensor };
}

/**
 * Writes a .tflite of about `sizeMb`: hand_landmark_full (5.5 MB, 165 ops)
 * plus float32 constants of 32 MB each, filled with pseudo-random bytes.
 */
function generate(lib: Library, dir: string, sizeMb: number): void {
  const base = path.resolve('test/.corpus/@mediapipe__hands/hand_landmark_full.tflite');
  if (!fs.existsSync(base)) throw new Error(`${base} is missing: run npm run test:setup`);
  const model = lib.readModel(base);
  const chunk = 32 * 1024 * 1024;
  const count = Math.max(1, Math.round((sizeMb * 1024 * 1024 - fs.statSync(base).size) / chunk));
  let x = 2463534242;
  for (let k = 0; k < count; k++) {
    const bytes = new Uint8Array(chunk);
    const words = new Uint32Array(bytes.buffer);
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x >>> 0;
    }
    model.graph.addConstant(`bench_weights_${k}`, new lib.Tensor('float32', [chunk / 4], new lib.BytesData(bytes)));
  }
  lib.writeModel(model, path.join(dir, 'big.tflite'));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function timeCommand(cmd: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Runs `recipe copy` in a child that reports its own peak RSS on exit. */
function recipeCopy(dist: string, preload: string, input: string, output: string): { ms: number; maxRssBytes: number } {
  fs.rmSync(output, { force: true });
  const script = `require(${JSON.stringify(path.join(dist, 'cli/main.js'))}).main(['copy', ${JSON.stringify(input)}, '-o', ${JSON.stringify(output)}]).then((c) => { process.exitCode = c; });`;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['-r', preload, '-e', script], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`recipe copy failed: ${r.stderr}`);
  const m = /MAXRSS_KB (\d+)/.exec(r.stderr);
  if (!m) throw new Error(`no peak RSS reported: ${r.stderr}`);
  return { ms, maxRssBytes: Number(m[1]) * 1024 };
}

function emptyNodeRss(preload: string): number {
  const r = spawnSync(process.execPath, ['-r', preload, '-e', ''], { encoding: 'utf8' });
  return Number(/MAXRSS_KB (\d+)/.exec(r.stderr)?.[1] ?? 0) * 1024;
}

/** SHA-256 of every constant's bytes, by value name: what must survive the copy. */
function constantDigests(lib: Library, file: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of lib.readModel(file).graph.values) {
    if (v.const) out.set(v.name, createHash('sha256').update(v.const.data.bytes()).digest('hex'));
  }
  return out;
}

function main(): void {
  const argv = process.argv.slice(2);
  if (argv[0] === '--generate-into') {
    // Runs in its own process: Linux carries a parent's peak RSS into the
    // children it forks, so the parent must stay small when it spawns them.
    const [, dir = '', dist = '', sizeMb = '0'] = argv;
    generate(loadLibrary(dist), dir, Number(sizeMb));
    return;
  }
  const opts = parseOptions<Options>(
    argv,
    { '--size-mb': ['sizeMb', 'number'], '--runs': ['runs', 'number'], '--dist': ['dist', 'path'], '--keep': ['keep', 'switch'] },
    { sizeMb: 400, runs: 3, dist: path.resolve('dist'), keep: false },
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recipe-bench-tflite-'));
  const preload = path.join(dir, 'maxrss.js');
  fs.writeFileSync(preload, "process.on('exit', () => require('fs').writeSync(2, `MAXRSS_KB ${process.resourceUsage().maxRSS}\\n`));\n");
  try {
    const gen = spawnSync(process.execPath, [__filename, '--generate-into', dir, opts.dist, String(opts.sizeMb)], { stdio: 'inherit' });
    if (gen.status !== 0) throw new Error('generating the model failed');
    const input = path.join(dir, 'big.tflite');
    const emptyRss = emptyNodeRss(preload);
    const size = fs.statSync(input).size;
    const output = path.join(dir, 'copy.tflite');
    const cpOut = path.join(dir, 'cp.tflite');
    const cpTimes: number[] = [];
    const recipeTimes: number[] = [];
    let peak = 0;
    for (let i = 0; i < opts.runs; i++) {
      fs.rmSync(cpOut, { force: true });
      cpTimes.push(timeCommand('cp', [input, cpOut]));
      const r = recipeCopy(opts.dist, preload, input, output);
      recipeTimes.push(r.ms);
      peak = Math.max(peak, r.maxRssBytes);
    }
    const lib = loadLibrary(opts.dist);
    const before = constantDigests(lib, input);
    const after = constantDigests(lib, output);
    const same = before.size === after.size && [...before].every(([k, v]) => after.get(k) === v);
    // Untouched, the file is written back as read.
    const whole = (f: string): string => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
    const identical = whole(output) === whole(input);
    const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;
    const ratio = peak / size;
    console.log(`file                      ${mb(size)} (${before.size} constants)`);
    console.log(`cp                        ${median(cpTimes).toFixed(0)} ms`);
    console.log(`recipe copy               ${median(recipeTimes).toFixed(0)} ms (${(median(recipeTimes) / median(cpTimes)).toFixed(1)}x cp)`);
    console.log(`peak RSS of recipe copy   ${mb(peak)} = ${ratio.toFixed(2)}x the file (an empty node process started the same way: ${mb(emptyRss)})`);
    console.log(`written file              ${mb(fs.statSync(output).size)}; constants ${same ? 'identical' : 'DIFFER'}; the whole file ${identical ? 'identical' : 'DIFFERS'}`);
    if (!same || !identical || ratio >= 1.5) process.exitCode = 1;
  } finally {
    if (opts.keep) console.log(`kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
