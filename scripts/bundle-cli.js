#!/usr/bin/env node
// Joins tsc's CommonJS output of the CLI (dist/cli/main.js and everything it
// reaches, the npm dependencies included) into one file, dist/recipe-cli.js,
// which bin/recipe.js runs. One file to read, compile and keep a V8 code cache
// of, instead of ~220 modules to resolve and compile at every start.
//
// Bundling tsc's output rather than src/ keeps each module's code exactly what
// the library entry (dist/index.js) runs; esbuild wraps each module in a
// function called on its first require, so the commands' lazy imports stay lazy.
// The file goes in dist/ itself: src/package-root.ts finds the package from the
// folder the code runs in, and inside one file that is this file's folder.
// Usage: node scripts/bundle-cli.js (after tsc and copy-runtime-files.js)
'use strict';
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const entry = path.join(root, 'dist/cli/main.js');
const outfile = path.join(root, 'dist/recipe-cli.js');

const result = esbuild.buildSync({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // Native code (onnxruntime-node) and an ES-module runtime (LiteRT.js, loaded
  // by the runner scripts in their own processes) stay in node_modules.
  external: ['onnxruntime-node', '@litertjs/core'],
  // Not minified: stack traces (RECIPE_DEBUG=1) keep readable names and lines,
  // and with the code cache the size of the source barely matters.
  logLevel: 'warning',
  metafile: true,
});

// bin/recipe.js compiles the file with vm.Script, which has no loader for a
// dynamic import(): an `await import()` of an external module (tsc turns ours
// into require) would fail only when that command runs, so fail the build.
for (const output of Object.values(result.metafile.outputs)) {
  const dynamic = output.imports.filter((i) => i.kind === 'dynamic-import');
  if (dynamic.length > 0) {
    console.error(`bundle-cli: dynamic import() left in ${path.relative(root, outfile)}: ${dynamic.map((i) => i.path).join(', ')}`);
    process.exit(1);
  }
}
