/**
 * Round-trip benchmark for OpenVINO IR: a generated IR over 100 MB is copied by
 * `recipe copy` (a child process) and by `cp` of its .xml and .bin; prints the
 * time ratio and the peak RSS of `recipe copy` against the size of the files.
 *
 * Build first (`npm run build`), then compile and run this file:
 *
 *   npx tsc --outDir /tmp/recipe-bench --module commonjs --target es2022 --types node bench/roundtrip-openvino.ts
 *   node /tmp/recipe-bench/roundtrip-openvino.js [--size-mb 110] [--adds 300] [--runs 3] [--cli dist/cli/main.js] [--keep]
 *
 * Only Node built-ins are used, so the numbers measure the CLI as shipped.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseOptions } from './options';

interface Options {
  sizeMb: number;
  /** Add layers in the chain: what makes the XML large. */
  adds: number;
  runs: number;
  cli: string;
  keep: boolean;
}


/**
 * Writes `model.xml` + `model.bin`: a Parameter [1, N], one large Const, and a
 * chain of `adds` Add layers with small constants (half of them identical: an
 * untouched model keeps them so, byte for byte), then a Result.
 */
function generate(dir: string, sizeMb: number, adds: number): { xml: string; bin: string; bytes: number; bigBytes: number } {
  const n = Math.floor((sizeMb * 1024 * 1024) / 4);
  const xmlPath = path.join(dir, 'model.xml');
  const binPath = path.join(dir, 'model.bin');
  const fd = fs.openSync(binPath, 'w');
  const chunk = new Uint32Array(1 << 20);
  let written = 0;
  let x = 2463534242;
  while (written < n) {
    const count = Math.min(chunk.length, n - written);
    for (let i = 0; i < count; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      // Keep floats finite: clear the top exponent bit.
      chunk[i] = x & 0xbfffffff;
    }
    fs.writeSync(fd, new Uint8Array(chunk.buffer, 0, count * 4));
    written += count;
  }
  let offset = n * 4;
  const layers: string[] = [];
  const edges: string[] = [];
  const port = (id: number, dims: number[], extra = ''): string =>
    `\t\t\t\t<port id="${id}" precision="FP32"${extra}>\n${dims.map((d) => `\t\t\t\t\t<dim>${d}</dim>\n`).join('')}\t\t\t\t</port>\n`;
  layers.push(
    `\t\t<layer id="0" name="x" type="Parameter" version="opset1">\n\t\t\t<data shape="1,${n}" element_type="f32" />\n\t\t\t<output>\n${port(0, [1, n], ' names="x"')}\t\t\t</output>\n\t\t</layer>\n`,
    `\t\t<layer id="1" name="big" type="Const" version="opset1">\n\t\t\t<data element_type="f32" shape="1,${n}" offset="0" size="${n * 4}" />\n\t\t\t<output>\n${port(0, [1, n])}\t\t\t</output>\n\t\t</layer>\n`,
    `\t\t<layer id="2" name="add_big" type="Add" version="opset1">\n\t\t\t<data auto_broadcast="numpy" />\n\t\t\t<input>\n${port(0, [1, n])}${port(1, [1, n])}\t\t\t</input>\n\t\t\t<output>\n${port(2, [1, n])}\t\t\t</output>\n\t\t</layer>\n`,
  );
  edges.push('\t\t<edge from-layer="0" from-port="0" to-layer="2" to-port="0" />\n', '\t\t<edge from-layer="1" from-port="0" to-layer="2" to-port="1" />\n');
  let prev = 2;
  let id = 3;
  for (let k = 0; k < adds; k++) {
    const value = new Float32Array([k % 2 === 0 ? 1 : k]);
    fs.writeSync(fd, new Uint8Array(value.buffer));
    const c = id++;
    const a = id++;
    layers.push(
      `\t\t<layer id="${c}" name="c${k}" type="Const" version="opset1">\n\t\t\t<data element_type="f32" shape="1,1" offset="${offset}" size="4" />\n\t\t\t<output>\n${port(0, [1, 1])}\t\t\t</output>\n\t\t</layer>\n`,
      `\t\t<layer id="${a}" name="add${k}" type="Add" version="opset1">\n\t\t\t<data auto_broadcast="numpy" />\n\t\t\t<input>\n${port(0, [1, n])}${port(1, [1, 1])}\t\t\t</input>\n\t\t\t<output>\n${port(2, [1, n])}\t\t\t</output>\n\t\t</layer>\n`,
    );
    edges.push(`\t\t<edge from-layer="${prev}" from-port="2" to-layer="${a}" to-port="0" />\n`, `\t\t<edge from-layer="${c}" from-port="0" to-layer="${a}" to-port="1" />\n`);
    offset += 4;
    prev = a;
  }
  const r = id++;
  layers.push(`\t\t<layer id="${r}" name="out" type="Result" version="opset1">\n\t\t\t<input>\n${port(0, [1, n])}\t\t\t</input>\n\t\t</layer>\n`);
  edges.push(`\t\t<edge from-layer="${prev}" from-port="2" to-layer="${r}" to-port="0" />\n`);
  fs.closeSync(fd);
  const xml = `<?xml version="1.0"?>\n<net name="bench" version="11">\n\t<layers>\n${layers.join('')}\t</layers>\n\t<edges>\n${edges.join('')}\t</edges>\n\t<rt_info />\n</net>\n`;
  fs.writeFileSync(xmlPath, xml);
  return { xml: xmlPath, bin: binPath, bytes: fs.statSync(xmlPath).size + fs.statSync(binPath).size, bigBytes: n * 4 };
}

/** SHA-256 of the first `length` bytes of a file, read in chunks. */
function sha256(file: string, length: number): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(8 << 20);
  let left = length;
  for (let n; left > 0 && (n = fs.readSync(fd, buf, 0, Math.min(buf.length, left), null)) > 0; left -= n) h.update(buf.subarray(0, n));
  fs.closeSync(fd);
  return h.digest('hex');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** Runs `recipe copy` in a child node; a preloaded hook reports the child's own peak RSS. */
function recipeCopy(cli: string, input: string, output: string, preload: string): { ms: number; peakRss: number } {
  const script = `require(${JSON.stringify(cli)}).main(process.argv.slice(1)).then((c) => { process.exitCode = c; })`;
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--require', preload, '-e', script, 'copy', input, '-o', output, '--force'], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`recipe copy failed (${r.status}): ${r.stderr}`);
  const m = /maxrss-kb (\d+)/.exec(r.stderr);
  if (!m) throw new Error(`no peak RSS reported: ${r.stderr}`);
  return { ms, peakRss: Number(m[1]) * 1024 };
}

function cp(input: { xml: string; bin: string }, dir: string): number {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
  const started = process.hrtime.bigint();
  const r = spawnSync('cp', [input.xml, input.bin, dir]);
  if (r.status !== 0) throw new Error(`cp failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function main(): void {
  const opts = parseOptions<Options>(
    process.argv.slice(2),
    { '--size-mb': ['sizeMb', 'number'], '--adds': ['adds', 'number'], '--runs': ['runs', 'number'], '--cli': ['cli', 'path'], '--keep': ['keep', 'switch'] },
    { sizeMb: 110, adds: 300, runs: 3, cli: path.resolve('dist/cli/main.js'), keep: false },
  );
  if (!fs.existsSync(opts.cli)) throw new Error(`${opts.cli} not found: run 'npm run build' first, or pass --cli`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recipe-bench-ov-'));
  try {
    const preload = path.join(dir, 'peak-rss.js');
    fs.writeFileSync(preload, "process.on('exit', () => process.stderr.write(`maxrss-kb ${process.resourceUsage().maxRSS}\\n`));\n");
    const input = generate(dir, opts.sizeMb, opts.adds);
    const output = path.join(dir, 'out', 'copy.xml');
    fs.mkdirSync(path.dirname(output));
    const emptyNode = spawnSync(process.execPath, ['--require', preload, '-e', ''], { encoding: 'utf8' });
    const nodeRss = Number(/maxrss-kb (\d+)/.exec(emptyNode.stderr)?.[1] ?? 0) * 1024;

    const cpTimes: number[] = [];
    const copyTimes: number[] = [];
    const peaks: number[] = [];
    for (let i = 0; i < opts.runs; i++) {
      cpTimes.push(cp(input, path.join(dir, 'cp')));
      const r = recipeCopy(opts.cli, input.xml, output, preload);
      copyTimes.push(r.ms);
      peaks.push(r.peakRss);
    }
    const binOut = output.replace(/\.xml$/, '.bin');
    // Untouched, the whole .bin comes back as it was, repeated constants included.
    const sameBig = sha256(binOut, input.bigBytes) === sha256(input.bin, input.bigBytes);
    const sameBin = fs.statSync(binOut).size === fs.statSync(input.bin).size && sha256(binOut, fs.statSync(binOut).size) === sha256(input.bin, fs.statSync(input.bin).size);
    const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MB`;
    const peak = Math.max(...peaks);
    const ratio = peak / input.bytes;
    console.log(`OpenVINO IR round trip: ${mb(input.bytes)} (xml ${mb(fs.statSync(input.xml).size)}, bin ${mb(fs.statSync(input.bin).size)}), ${opts.runs} runs, medians`);
    console.log(`  cp xml+bin        ${median(cpTimes).toFixed(0)} ms`);
    console.log(`  recipe copy       ${median(copyTimes).toFixed(0)} ms   (${(median(copyTimes) / median(cpTimes)).toFixed(1)}x cp)`);
    console.log(`  peak RSS          ${mb(peak)} = ${ratio.toFixed(2)}x the files (target < 1.5x; an empty node process: ${mb(nodeRss)})`);
    console.log(`  bin ${fs.statSync(binOut).size} bytes, large Const bytes identical: ${sameBig}, whole .bin identical: ${sameBin}`);
    if (ratio >= 1.5 || !sameBig || !sameBin) process.exitCode = 1;
  } finally {
    if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
    else console.log(`  kept ${dir}`);
  }
}

main();
