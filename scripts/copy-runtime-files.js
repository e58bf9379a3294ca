#!/usr/bin/env node
// tsc compiles only .ts: the runtime runners (child-process scripts for
// LiteRT.js, ArmNN and onnxruntime) must sit beside their modules in dist/ too,
// so that an installed package finds them without the source tree.
// Usage: node scripts/copy-runtime-files.js [OUTDIR] (default dist), OUTDIR as
// given to `tsc --outDir` for a build of one's own.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const outDir = path.resolve(root, process.argv[2] ?? 'dist');
const files = ['src/verify/litert_runner.mjs', 'src/verify/armnn_runner.py', 'src/verify/onnx_runner.js', 'src/verify/runner_wire.js'];
for (const file of files) {
  const to = path.join(outDir, path.relative(path.join(root, 'src'), file));
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(path.join(root, file), to);
}
