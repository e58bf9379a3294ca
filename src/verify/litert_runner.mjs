// Runs TFLite models in LiteRT.js (@litertjs/core, a browser package) under
// plain Node; started by src/verify/litert.ts as a child process because the
// package is an ES module. LiteRT loads its WebAssembly glue with
// importScripts() as in a web worker: we provide `self` and an importScripts
// that runs the glue file with vm.runInThisContext.
//
// Usage: node litert_runner.mjs REQUEST RESPONSE, both in runner_wire.js's format.
// request: { jobs: [{ model, inputs?: [{dtype, shape, data}], inputsFrom?: index, seed?, dynamicSize? }] }
// response: { results: [{ ok, error?, inputs, outputs: [{name, dtype, shape, data}] }] }
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { BlobList, readMessage, writeMessage } = require('./runner_wire.js');
const corePkg = path.dirname(require.resolve('@litertjs/core/package.json'));
const wasmDir = path.join(corePkg, 'wasm') + '/';

globalThis.self = globalThis;
// The Emscripten glue notices Node and loads its .wasm with require('fs').
globalThis.require = require;
globalThis.importScripts = (url) => {
  const file = url.startsWith('file:') ? fileURLToPath(url) : url;
  globalThis.__dirname = path.dirname(file);
  globalThis.__filename = file;
  vm.runInThisContext(fs.readFileSync(file, 'utf8'), { filename: file });
};

const stderrLines = [];
const originalErrWrite = process.stderr.write.bind(process.stderr);
process.stderr.write = (chunk, ...rest) => {
  stderrLines.push(String(chunk));
  return originalErrWrite(chunk, ...rest);
};
// console.error and console.warn write through process.stderr.write, so the
// capture above sees them once (patching them too recorded each message twice).

const ARRAYS = {
  float32: Float32Array, int32: Int32Array, int8: Int8Array, uint8: Uint8Array,
  int16: Int16Array, int64: BigInt64Array, float64: Float64Array, bool: Uint8Array,
};

function seededRandom(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

function makeInput(detail, rand, dynamicSize) {
  const Ctor = ARRAYS[detail.dtype];
  if (!Ctor) throw new Error(`input '${detail.name}' has dtype ${detail.dtype}, which this runner cannot feed`);
  const shape = [...detail.shape].map((d) => (d < 0 ? dynamicSize : d));
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Ctor(n);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (Ctor === Float32Array || Ctor === Float64Array) data[i] = r * 2 - 1;
    else if (Ctor === BigInt64Array) data[i] = BigInt(Math.floor(r * 8));
    else if (detail.dtype === 'bool') data[i] = r < 0.5 ? 0 : 1;
    else data[i] = Math.floor(r * 8);
  }
  return { dtype: detail.dtype, shape, data };
}

const blobs = new BlobList();
// A copy: an output's data may be a view into WebAssembly memory that the next run reuses.
const toWire = (t) => ({
  ...(t.name !== undefined ? { name: t.name } : {}),
  dtype: t.dtype,
  shape: [...t.shape],
  data: blobs.add(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice()),
});
const fromBytes = (t, bytes) => {
  const Ctor = ARRAYS[t.dtype];
  if (!Ctor) throw new Error(`cannot feed dtype ${t.dtype}`);
  // A copy: the typed array must start its own, aligned buffer.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return { dtype: t.dtype, shape: t.shape, data: new Ctor(copy.buffer) };
};

async function main() {
  const [requestFile, responseFile] = process.argv.slice(2);
  const { body: request, blob } = readMessage(requestFile);
  const litert = await import('@litertjs/core');
  await litert.loadLiteRt(wasmDir);
  const results = [];
  for (const job of request.jobs) {
    stderrLines.length = 0;
    try {
      const model = await litert.loadAndCompile(new Uint8Array(fs.readFileSync(job.model)), { accelerator: 'wasm' });
      let inputs;
      if (job.inputs) inputs = job.inputs.map((t) => fromBytes(t, blob(t.data)));
      else if (job.inputsFrom !== undefined) inputs = results[job.inputsFrom].inputs.map((t) => fromBytes(t, blobs.blobs[t.data]));
      else {
        const rand = seededRandom(job.seed ?? 1);
        inputs = model.getInputDetails().map((d) => makeInput(d, rand, job.dynamicSize ?? 1));
      }
      const tensors = inputs.map((t) => new litert.Tensor(t.data, t.shape));
      const outs = await model.run(tensors);
      const details = model.getOutputDetails();
      const outputs = [];
      for (let i = 0; i < outs.length; i++) {
        const t = outs[i];
        const data = await t.data();
        outputs.push(toWire({ name: details[i]?.name, dtype: details[i]?.dtype ?? 'float32', shape: [...(details[i]?.shape ?? [])], data }));
        t.delete();
      }
      tensors.forEach((t) => t.delete());
      model.delete();
      // LiteRT reports some failures (an unresolved custom op) only on stderr and still returns buffers.
      const errors = stderrLines
        .join('')
        .split('\n')
        .filter((l) => !/^\s*(INFO|WARNING|VERBOSE)\b/.test(l) && !/WebGPU|navigator/.test(l))
        .filter((l) => /^\s*ERROR\b|unresolved|failed|not supported|did not/i.test(l));
      results.push({ ok: errors.length === 0, ...(errors.length ? { error: errors.join('\n').trim() } : {}), inputs: inputs.map(toWire), outputs });
    } catch (e) {
      const extra = stderrLines.join('').trim();
      results.push({ ok: false, error: `${e && e.message ? e.message : String(e)}${extra ? `\n${extra}` : ''}`, inputs: [], outputs: [] });
    }
  }
  writeMessage(responseFile, { results }, blobs);
}

main().catch((e) => {
  originalErrWrite(`litert_runner: ${e && e.stack ? e.stack : e}\n`);
  process.exit(2);
});
