// Runs ONNX models in onnxruntime-node in a child process, for the tests: under
// jest, onnxruntime-common checks `instanceof Float32Array` against jest's realm
// and rejects the runtime's own output arrays. One request per stdin line:
// {"model": path, "feeds": {name: {type, dims, data: base64}}}; one reply per
// stdout line: {"outputs": {name: {type, dims, data}}} or {"error": message}.
// Strings travel as a JSON list of base64 strings.
'use strict';
const ort = require('onnxruntime-node');
const readline = require('node:readline');

const CTORS = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, int8: Int8Array, uint8: Uint8Array,
  bool: Uint8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array,
  int64: BigInt64Array, uint64: BigUint64Array, int4: Int8Array, uint4: Uint8Array,
};

function toOrt({ type, dims, data }) {
  if (type === 'string') return new ort.Tensor('string', JSON.parse(data).map((s) => Buffer.from(s, 'base64').toString('utf8')), dims);
  const bytes = new Uint8Array(Buffer.from(data, 'base64'));
  const Ctor = CTORS[type];
  if (!Ctor) throw new Error(`no ${type} tensors in onnxruntime-node`);
  return new ort.Tensor(type, new Ctor(bytes.buffer, 0, bytes.byteLength / Ctor.BYTES_PER_ELEMENT), dims);
}

function fromOrt(t) {
  if (t.type === 'string') return { type: 'string', dims: [...t.dims], data: JSON.stringify(t.data.map((s) => Buffer.from(s, 'utf8').toString('base64'))) };
  const d = t.data;
  return { type: t.type, dims: [...t.dims], data: Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('base64') };
}

const lines = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on('line', (line) => {
  queue = queue.then(async () => {
    let reply;
    try {
      const { model, feeds } = JSON.parse(line);
      const session = await ort.InferenceSession.create(model, { logSeverityLevel: 4, intraOpNumThreads: 1, interOpNumThreads: 1 });
      try {
        const inputs = {};
        for (const [name, t] of Object.entries(feeds)) inputs[name] = toOrt(t);
        const result = await session.run(inputs);
        const outputs = {};
        for (const name of session.outputNames) outputs[name] = fromOrt(result[name]);
        reply = { outputs };
      } finally {
        await session.release();
      }
    } catch (e) {
      reply = { error: String((e && e.message) || e) };
    }
    process.stdout.write(JSON.stringify(reply) + '\n');
  });
});
