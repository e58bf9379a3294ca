/**
 * Round-trip benchmark for ONNX: `recipe copy` against Python's onnx load+save
 * (C++ protobuf) and against `cp`, on the two models of
 * shared/bench/gen_big_onnx.py (2000 blocks x 64 channels, ~300 MB; 30000
 * blocks x 4 channels, ~100k nodes), in the same run. Each tool runs as a child
 * process under GNU time (wall time, user+system CPU, peak RSS); prints the
 * ratios and the peak RSS against the file size. Also times `recipe show
 * --json`, which decodes every node into the IR (`copy` of an untouched model
 * never needs to). Exits 1 when an output differs from its input.
 *
 *   npm run build
 *   npx tsc --ignoreConfig --outDir /tmp/recipe-bench --module commonjs --target es2022 --types node bench/roundtrip-onnx.ts
 *   node /tmp/recipe-bench/roundtrip-onnx.js [--runs 1] [--only wide|deep] [--keep]
 *
 * Models are generated once into bench/.out/ (git-ignored) and reused.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = process.cwd();
const SHARED = process.env.RECIPE_SHARED ?? path.resolve(ROOT, '../shared');
const PYTHON = '/usr/bin/python3';
const OUT = path.join(ROOT, 'bench/.out');
const MODELS = [
  { id: 'wide', blocks: 2000, channels: 64 },
  { id: 'deep', blocks: 30000, channels: 4 },
];

interface Measure {
  wall: number;
  cpu: number;
  rssMb: number;
}

function timed(cmd: string, args: string[]): Measure {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', cmd, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  const last = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  const [wall, user, sys, kb] = last as [number, number, number, number];
  return { wall, cpu: user + sys, rssMb: kb / 1024 };
}

function median(xs: Measure[]): Measure {
  const pick = (k: keyof Measure): number => [...xs.map((x) => x[k])].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { wall: pick('wall'), cpu: pick('cpu'), rssMb: pick('rssMb') };
}

function main(): void {
  const argv = process.argv.slice(2);
  const runs = argv.includes('--runs') ? Number(argv[argv.indexOf('--runs') + 1]) : 1;
  const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined;
  const keep = argv.includes('--keep');
  fs.mkdirSync(OUT, { recursive: true });
  let failed = false;
  const rows: string[] = [];
  for (const m of MODELS.filter((x) => !only || x.id === only)) {
    const input = path.join(OUT, `big-${m.blocks}x${m.channels}.onnx`);
    if (!fs.existsSync(input)) {
      const gen = spawnSync(PYTHON, [path.join(SHARED, 'bench/gen_big_onnx.py'), input, String(m.blocks), String(m.channels)], { stdio: 'inherit' });
      if (gen.status !== 0) throw new Error('gen_big_onnx.py failed');
    }
    const sizeMb = fs.statSync(input).size / 2 ** 20;
    const outputs = { recipe: path.join(OUT, `${m.id}.recipe.onnx`), python: path.join(OUT, `${m.id}.python.onnx`), cp: path.join(OUT, `${m.id}.cp.onnx`) };
    const results: Record<string, Measure[]> = { recipe: [], python: [], cp: [], show: [] };
    for (let r = 0; r < runs; r++) {
      for (const f of Object.values(outputs)) fs.rmSync(f, { force: true });
      results.cp!.push(timed('cp', [input, outputs.cp]));
      results.python!.push(timed(PYTHON, [path.join(SHARED, 'bench/py_roundtrip.py'), input, outputs.python]));
      results.recipe!.push(timed(process.execPath, [path.join(ROOT, 'bin/recipe.js'), 'copy', input, '-o', outputs.recipe]));
      results.show!.push(timed(process.execPath, [path.join(ROOT, 'bin/recipe.js'), 'show', input, '--json']));
    }
    const original = fs.readFileSync(input);
    for (const [tool, file] of Object.entries(outputs)) {
      const same = original.equals(fs.readFileSync(file));
      if (!same) {
        failed = true;
        console.error(`${m.id}: the ${tool} output differs from the input`);
      }
    }
    const rc = median(results.recipe!);
    const py = median(results.python!);
    const cp = median(results.cp!);
    const show = median(results.show!);
    const row = (name: string, x: Measure): string =>
      `| ${m.id} (${sizeMb.toFixed(1)} MB) | ${name} | ${x.wall.toFixed(2)} s | ${x.cpu.toFixed(2)} s | ${(x.wall / py.wall).toFixed(2)}x | ${(x.wall / Math.max(cp.wall, 0.01)).toFixed(1)}x | ${x.rssMb.toFixed(0)} MB (${(x.rssMb / sizeMb).toFixed(2)}x) |`;
    rows.push(row('recipe copy', rc), row('python onnx load+save', py), row('cp', cp), row('recipe show --json (full decode)', show));
    if (!keep) for (const f of Object.values(outputs)) fs.rmSync(f, { force: true });
  }
  console.log(`runs: ${runs} (medians); ratios are wall time against python and against cp`);
  console.log('| model | tool | wall | user+sys CPU | vs python | vs cp | peak RSS (x file) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  if (failed) process.exit(1);
}

main();
