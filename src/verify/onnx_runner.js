// Runs ONNX models in onnxruntime-node for rule tests and `recipe verify`, in its own process:
// under jest, onnxruntime's `instanceof Float32Array` checks fail across jest's
// realm, and a child process keeps a crashing model from taking the caller down.
// Graph optimizations are off, so onnxruntime's own fusions cannot hide a difference.
//
// Usage: node onnx_runner.js REQUEST RESPONSE, both in runner_wire.js's format.
// request: { jobs: [{ model, inputs: [{name, dtype, shape, data}] }] }
// response: { results: [{ ok, error?, inputs: [], outputs: [{name, dtype, shape, data}], notTensors?: [name] }] }
'use strict';
const ort = require('onnxruntime-node');
const { BlobList, readMessage, writeMessage } = require('./runner_wire');

const ARRAYS = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array,
  uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array,
  bool: Uint8Array, float16: Uint16Array,
};

function toOrt(t, bytes) {
  const Ctor = ARRAYS[t.dtype];
  if (!Ctor) throw new Error(`input '${t.name}': dtype ${t.dtype} is not supported by this runner`);
  // A copy: onnxruntime wants the typed array to start its own buffer.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  const n = t.shape.reduce((a, b) => a * b, 1);
  return new ort.Tensor(t.dtype, new Ctor(copy.buffer, 0, n), t.shape);
}

function fromOrt(name, v, blobs) {
  const data = v.data;
  return { name, dtype: v.type, shape: v.dims.map(Number), data: blobs.add(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) };
}

/** Sessions by model path: `recipe verify` alternates two models over several runs. */
const sessions = new Map();

function sessionFor(model) {
  let session = sessions.get(model);
  if (!session) {
    session = ort.InferenceSession.create(model, { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 });
    sessions.set(model, session);
  }
  return session;
}

async function runJob(job, blob, blobs) {
  const session = await sessionFor(job.model);
  const feeds = {};
  for (const t of job.inputs) feeds[t.name] = toOrt(t, blob(t.data));
  // onnxruntime-node hands back tensors only: a sequence or a map (scikit-learn's
  // ZipMap) is not fetched, and is listed as such.
  const metadata = session.outputMetadata;
  const isTensor = (n, k) => !metadata || !metadata[k] || metadata[k].isTensor !== false;
  const tensors = session.outputNames.filter(isTensor);
  const notTensors = session.outputNames.filter((n, k) => !isTensor(n, k));
  // (onnxruntime refuses an empty list of outputs to fetch: nothing to run for.)
  const out = tensors.length > 0 ? await session.run(feeds, tensors) : {};
  return { ok: true, inputs: [], outputs: tensors.map((n) => fromOrt(n, out[n], blobs)), notTensors };
}

async function main() {
  const [requestFile, responseFile] = process.argv.slice(2);
  const { body, blob } = readMessage(requestFile);
  const blobs = new BlobList();
  const results = [];
  for (const job of body.jobs) {
    try {
      results.push(await runJob(job, blob, blobs));
    } catch (e) {
      results.push({ ok: false, error: String(e && e.message ? e.message : e).split('\n')[0], inputs: [], outputs: [] });
    }
  }
  writeMessage(responseFile, { results }, blobs);
  for (const session of sessions.values()) await session.then((s) => s.release(), () => undefined);
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
