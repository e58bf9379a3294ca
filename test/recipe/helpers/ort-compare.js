// Runs two ONNX models on the same seeded random inputs in onnxruntime-node and
// reports, per output, the largest absolute difference and the largest magnitude
// of the reference output. Its own process: under jest, onnxruntime-common's
// `instanceof Float32Array` checks fail across jest's realm.
// stdin: {"before": path, "after": path, "feeds": {name: {"shape": [...], "seed": n, "range": [lo, hi]}}}
// stdout: [{"name", "shape", "maxAbsDiff", "maxAbsRef", "mismatchedShape"}]
'use strict';
const ort = require('onnxruntime-node');

function seeded(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function run(file, feeds) {
  // No graph optimizations: otherwise onnxruntime folds BatchNormalization and
  // Mul + Add alike into the Conv before them, and the comparison shows nothing.
  const session = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'disabled' });
  const result = await session.run(feeds);
  return session.outputNames.map((name) => ({ name, dims: [...result[name].dims], data: result[name].data }));
}

async function main() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const { before, after, feeds } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const inputs = {};
  for (const [name, { shape, seed, range }] of Object.entries(feeds)) {
    const next = seeded(seed);
    const [lo, hi] = range || [-1, 1];
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = lo + next() * (hi - lo);
    inputs[name] = new ort.Tensor('float32', data, shape);
  }
  const ref = await run(before, inputs);
  const got = await run(after, inputs);
  const report = ref.map((r) => {
    const g = got.find((x) => x.name === r.name);
    if (!g) return { name: r.name, missing: true };
    const same = g.dims.length === r.dims.length && g.dims.every((d, i) => d === r.dims[i]);
    let maxAbsDiff = 0;
    let maxAbsRef = 0;
    for (let i = 0; i < r.data.length; i++) {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(Number(r.data[i]) - Number(g.data[i])));
      maxAbsRef = Math.max(maxAbsRef, Math.abs(Number(r.data[i])));
    }
    return { name: r.name, shape: r.dims, maxAbsDiff, maxAbsRef, mismatchedShape: !same };
  });
  process.stdout.write(JSON.stringify(report));
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
