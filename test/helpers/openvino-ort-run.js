// Runs an ONNX model in onnxruntime-node, in its own process: under jest,
// onnxruntime-common checks `instanceof Float32Array` against jest's realm and
// rejects the runtime's own output arrays. Reads {model, runs: [{name: {shape, data}}]}
// as JSON on stdin; prints, per run, [{name, shape, data}] for every output, as JSON.
'use strict';
const ort = require('onnxruntime-node');

async function main() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const { model, runs } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const session = await ort.InferenceSession.create(model);
  const out = [];
  for (const feeds of runs) {
    const inputs = {};
    for (const [name, { shape, data }] of Object.entries(feeds)) inputs[name] = new ort.Tensor('float32', Float32Array.from(data), shape);
    const result = await session.run(inputs);
    out.push(session.outputNames.map((name) => ({ name, shape: [...result[name].dims], data: Array.from(result[name].data) })));
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
