#!/usr/bin/env node
'use strict';
// A reader that stops early (`recipe show model.onnx | head`) closes the pipe:
// what is left to print is dropped, as other command-line tools do, instead
// of an EPIPE stack trace. The command still finishes and exits with its code.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
  });
}
// The single-file build with its code cache, or dist/cli/main.js (src/cli/start.ts).
require('../dist/cli/start.js').startCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
