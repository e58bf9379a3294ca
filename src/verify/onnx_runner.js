// Runs ONNX models in onnxruntime-node for rule tests and `recipe verify`, in its own process:
// under jest, onnxruntime's `instanceof Float32Array` checks fail across jest's
// realm, and a child process keeps a crashing model from taking the caller down.
// Graph optimizations are off, so onnxruntime's own fusions cannot hide a difference.
//
// stdin: JSON { jobs: [{ model, inputs: [{name, dtype, shape, data(base64)}] }] }
// stdout: JSON [{ ok, error?, inputs: [], outputs: [{name, dtype, shape, data(base64)}] }]
'use strict';
const ort = require('onnxruntime-node');

const ARRAYS = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array,
  uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array,
  bool: Uint8Array, float16: Uint16Array,
};

function toOrt(t) {
  const Ctor = ARRAYS[t.dtype];
  if (!Ctor) throw new Error(`input '${t.name}': dtype ${t.dtype} is not supported by this runner`);
  const bytes = Buffer.from(t.data, 'base64');
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  const n = t.shape.reduce((a, b) => a * b, 1);
  return new ort.Tensor(t.dtype, new Ctor(copy.buffer, 0, n), t.shape);
}

function fromOrt(name, v) {
  const data = v.data;
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return { name, dtype: v.type, shape: v.dims.map(Number), data: bytes.toString('base64') };
}

async function runJob(job) {
  const session = await ort.InferenceSession.create(job.model, { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 });
  try {
    const feeds = {};
    for (const t of job.inputs) feeds[t.name] = toOrt(t);
    const out = await session.run(feeds);
    return { ok: true, inputs: [], outputs: session.outputNames.map((n) => fromOrt(n, out[n])) };
  } finally {
    await session.release();
  }
}

async function main() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const { jobs } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const results = [];
  for (const job of jobs) {
    try {
      results.push(await runJob(job));
    } catch (e) {
      results.push({ ok: false, error: String(e && e.message ? e.message : e).split('\n')[0], inputs: [], outputs: [] });
    }
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
