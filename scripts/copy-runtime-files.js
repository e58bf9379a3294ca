#!/usr/bin/env node
// tsc compiles only .ts: the runtime runners (child-process scripts for
// LiteRT.js, ArmNN and onnxruntime) must sit beside their modules in dist/ too,
// so that an installed package finds them without the source tree.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const files = ['src/verify/litert_runner.mjs', 'src/verify/armnn_runner.py', 'src/verify/onnx_runner.js'];
for (const file of files) {
  const to = path.join(root, 'dist', path.relative(path.join(root, 'src'), file));
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(path.join(root, file), to);
}
