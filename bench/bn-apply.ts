/**
 * BatchNorm -> Mul+Add at scale: `recipe apply recipes/core/batchnorm.yaml` on
 * the two large models of shared/bench/gen_big_onnx.py (2000 blocks x 64
 * channels: a wide model of ~300 MB; 30000 blocks x 4 channels: a deep model of
 * ~100k nodes), timed against the hand-written Python script a user writes
 * today (shared/bench/py_bn_to_muladd.py), in the same run. Prints the time
 * ratios and each tool's peak RSS against the model's file size.
 *
 * Build first (`npm run build`), then compile and run this file:
 *
 *   npx tsc --ignoreConfig --outDir /tmp/recipe-bench --module commonjs --target es2022 --types node bench/bn-apply.ts
 *   node /tmp/recipe-bench/bn-apply.js [--runs 1] [--only wide|deep] [--keep]
 *
 * Targets (issue 4): at least 2x faster than the Python script on both models,
 * peak memory under 1.5x the model's file size. Both tools run as child
 * processes under GNU time, so each is measured the same way, start-up included.
 * Exits 1 when a target is not met.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseOptions } from './options';

const ROOT = path.resolve(__dirname, fs.existsSync(path.resolve(__dirname, '../package.json')) ? '..' : process.cwd());
const SHARED = process.env.RECIPE_SHARED ?? path.resolve(process.cwd(), '../shared');
const PYTHON = '/usr/bin/python3';
const TIME = '/usr/bin/time';

interface Options {
  runs: number;
  only?: string;
  keep: boolean;
  /** Another build's `dist/cli/main.js` to time instead of this checkout's `bin/recipe.js` (an A/B of two builds in the same minutes). */
  cli?: string;
}


interface Measure {
  seconds: number;
  peakKb: number;
  /** Minor page faults and system CPU seconds: on a VM where a fault costs ~17 us, memory touched is time. */
  faults: number;
  systemSeconds: number;
}

/** Runs a command under GNU time; returns wall time, peak RSS, page faults and system time of the child. */
function measure(cmd: string, args: string[]): Measure & { stdout: string } {
  const r = spawnSync(TIME, ['-f', 'bench-time %e %M %R %S', cmd, ...args], { encoding: 'utf8', cwd: ROOT, maxBuffer: 1 << 26 });
  const m = /bench-time ([\d.]+) (\d+) (\d+) ([\d.]+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr.slice(-2000)}`);
  return { seconds: Number(m[1]), peakKb: Number(m[2]), faults: Number(m[3]), systemSeconds: Number(m[4]), stdout: r.stdout };
}

/** The fastest run (its faults and system time with it), and the highest peak RSS of all. */
function best(runs: Measure[]): Measure {
  const fastest = runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  return { ...fastest, peakKb: Math.max(...runs.map((r) => r.peakKb)) };
}

const faultsLine = (m: Measure): string => `${(m.faults / 1000).toFixed(1)}k page faults, ${m.systemSeconds.toFixed(2)} s system time`;

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function main(): void {
  const opts = parseOptions<Options>(
    process.argv.slice(2),
    { '--runs': ['runs', 'number'], '--only': ['only', 'string'], '--keep': ['keep', 'switch'], '--cli': ['cli', 'path'] },
    { runs: 1, keep: false },
  );
  const recipe = path.join(ROOT, 'recipes/core/batchnorm.yaml');
  if (opts.cli !== undefined && !fs.existsSync(opts.cli)) throw new Error(`${opts.cli} not found (--cli wants a build's dist/cli/main.js)`);
  if (opts.cli === undefined && !fs.existsSync(path.join(ROOT, 'dist/cli/main.js'))) throw new Error('build first: npm run build');
  // The command as a user runs it, or the given build's entry point.
  const cli = opts.cli === undefined ? [path.join(ROOT, 'bin/recipe.js')] : ['-e', `require(${JSON.stringify(opts.cli)}).main(process.argv.slice(1)).then((c) => { process.exitCode = c; })`];
  const dir = path.join(os.tmpdir(), 'recipe-bench-bn');
  fs.mkdirSync(dir, { recursive: true });
  const models = [
    { name: 'wide', blocks: 2000, channels: 64 },
    { name: 'deep', blocks: 30000, channels: 4 },
  ].filter((m) => !opts.only || m.name === opts.only);

  console.log(`BatchNorm -> Mul+Add: recipe apply vs ${path.relative(process.cwd(), path.join(SHARED, 'bench/py_bn_to_muladd.py'))} (best of ${opts.runs})`);
  let allMet = true;
  for (const m of models) {
    const input = path.join(dir, `${m.name}-${m.blocks}x${m.channels}.onnx`);
    if (!fs.existsSync(input)) {
      const gen = spawnSync(PYTHON, [path.join(SHARED, 'bench/gen_big_onnx.py'), input, String(m.blocks), String(m.channels)], { encoding: 'utf8' });
      if (gen.status !== 0) throw new Error(`gen_big_onnx.py failed: ${gen.stderr}`);
    }
    const size = fs.statSync(input).size;
    const ours: Measure[] = [];
    const theirs: Measure[] = [];
    let rewrites = -1;
    let phases = { read: 0, apply: 0, write: 0 };
    for (let i = 0; i < opts.runs; i++) {
      const out = path.join(dir, `${m.name}-recipe.onnx`);
      const r = measure(process.execPath, [...cli, 'apply', recipe, input, '-o', out, '--report', 'json']);
      const report = JSON.parse(r.stdout) as { rules: { rewrites: number }[]; seconds: typeof phases };
      rewrites = report.rules.reduce((n, x) => n + x.rewrites, 0);
      // The split of the fastest run, which is the one reported.
      if (ours.every((o) => o.seconds > r.seconds)) phases = report.seconds;
      ours.push(r);
      theirs.push(measure(PYTHON, [path.join(SHARED, 'bench/py_bn_to_muladd.py'), input, path.join(dir, `${m.name}-python.onnx`)]));
    }
    const a = best(ours);
    const b = best(theirs);
    const speedup = b.seconds / a.seconds;
    const memRatio = (a.peakKb * 1024) / size;
    const met = speedup >= 2 && memRatio < 1.5 && rewrites === m.blocks;
    allMet &&= met;
    console.log(`\n${m.name}: ${m.blocks} blocks x ${m.channels} channels, ${mb(size)}, ${m.blocks} BatchNormalization`);
    console.log(`  recipe apply   ${a.seconds.toFixed(2)} s, peak RSS ${mb(a.peakKb * 1024)} (${memRatio.toFixed(2)}x the file), ${rewrites} rewrites`);
    console.log(`                 of which read ${phases.read.toFixed(2)} s, rewrite ${phases.apply.toFixed(2)} s, write ${phases.write.toFixed(2)} s (the rest: start-up)`);
    console.log(`                 ${faultsLine(a)}`);
    console.log(`  python script  ${b.seconds.toFixed(2)} s, peak RSS ${mb(b.peakKb * 1024)} (${((b.peakKb * 1024) / size).toFixed(2)}x the file)`);
    console.log(`                 ${faultsLine(b)}`);
    console.log(`  speed-up       ${speedup.toFixed(2)}x (target >= 2x); memory ${memRatio.toFixed(2)}x the file (target < 1.5x): ${met ? 'met' : 'NOT met'}`);
    if (!opts.keep) {
      for (const f of fs.readdirSync(dir)) if (f.startsWith(`${m.name}-recipe`) || f.startsWith(`${m.name}-python`)) fs.rmSync(path.join(dir, f));
    }
  }
  console.log(`\n${allMet ? 'all targets met' : 'some targets not met'} (generated models are kept in ${dir})`);
  if (!allMet) process.exitCode = 1;
}

main();
