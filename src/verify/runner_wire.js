// The message format between recipe and its runtime runners (onnx_runner.js,
// litert_runner.mjs; armnn_runner.py and src/verify/jobs.ts speak it too).
// Tensors travel as raw bytes after a JSON header, not as base64 inside JSON:
// a segmentation model's outputs reach hundreds of megabytes per run, past
// the longest string V8 can make.
//
// Layout: 'RCPW', u32 LE header length, the header (UTF-8 JSON), then from the
// next multiple of 8 the blobs, each 8-aligned. header.blobs lists
// [offset from the first blob, byteLength]; a tensor in the body names its
// bytes as `data: <blob index>`. Requests and answers are files, whose paths
// the runner gets as its two arguments.
'use strict';
const fs = require('node:fs');

const MAGIC = 'RCPW';

/** Collects the blobs of a message; the same bytes object added twice is sent once. */
class BlobList {
  constructor() {
    this.blobs = [];
    this.index = new Map();
  }

  add(bytes) {
    let i = this.index.get(bytes);
    if (i === undefined) {
      i = this.blobs.length;
      this.blobs.push(bytes);
      this.index.set(bytes, i);
    }
    return i;
  }
}

const align8 = (n) => (n + 7) & ~7;

/** Writes `body` (its tensors' `data` already blob indices) and the blobs to `file`. */
function writeMessage(file, body, blobList) {
  const blobs = blobList.blobs;
  const places = [];
  let offset = 0;
  for (const b of blobs) {
    places.push([offset, b.byteLength]);
    offset = align8(offset + b.byteLength);
  }
  const header = Buffer.from(JSON.stringify({ ...body, blobs: places }), 'utf8');
  const base = align8(8 + header.byteLength);
  const fd = fs.openSync(file, 'w');
  try {
    const lead = Buffer.alloc(8);
    lead.write(MAGIC, 0, 'latin1');
    lead.writeUInt32LE(header.byteLength, 4);
    writeAt(fd, lead, 0);
    writeAt(fd, header, 8);
    blobs.forEach((b, i) => writeAt(fd, Buffer.from(b.buffer, b.byteOffset, b.byteLength), base + places[i][0]));
  } finally {
    fs.closeSync(fd);
  }
}

function writeAt(fd, bytes, position) {
  let done = 0;
  while (done < bytes.byteLength) done += fs.writeSync(fd, bytes, done, bytes.byteLength - done, position + done);
}

/** Reads a message from `file`: its body and a function giving blob `i` as a view over the message's bytes. */
function readMessage(file) {
  const bytes = readWhole(file);
  if (bytes.byteLength < 8 || bytes.toString('latin1', 0, 4) !== MAGIC) throw new Error(`runner_wire: ${file} is not a runner message`);
  const headerLength = bytes.readUInt32LE(4);
  const body = JSON.parse(bytes.toString('utf8', 8, 8 + headerLength));
  const base = align8(8 + headerLength);
  const blob = (i) => {
    const [offset, length] = body.blobs[i];
    return new Uint8Array(bytes.buffer, bytes.byteOffset + base + offset, length);
  };
  return { body, blob };
}

/** The whole file in one buffer; fs.readFileSync stops at 2 GiB. */
function readWhole(file) {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const out = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const n = fs.readSync(fd, out, done, size - done, done);
      if (n === 0) throw new Error(`runner_wire: ${file} ended at byte ${done} of ${size}`);
      done += n;
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

module.exports = { BlobList, writeMessage, readMessage };
