import * as fs from 'node:fs';
import { ModelError } from '../errors';
import { LazyData, type TensorData } from '../ir/tensor';
import { writeAll } from './atomic';

/** Reads `length` bytes at `offset` of `file`; a file that ends before them is a ModelError naming where. */
export function readFileRange(file: string, offset: number, length: number): Uint8Array {
  const out = Buffer.allocUnsafe(length);
  const fd = fs.openSync(file, 'r');
  try {
    let at = 0;
    while (at < length) {
      const n = fs.readSync(fd, out, at, length - at, offset + at);
      if (n === 0) throw new ModelError({ file, offset: offset + at }, `the file ended before byte ${offset + length}`);
      at += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

/** Calls `sink` with the bytes of `data` in chunks; a lazy file range is never held whole in memory. */
export function forEachChunk(data: TensorData, sink: (chunk: Uint8Array) => void, chunkSize = 8 * 1024 * 1024): void {
  if (data instanceof LazyData && data.source) {
    const { file, offset } = data.source;
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.allocUnsafe(Math.min(chunkSize, Math.max(1, data.byteLength)));
      let at = 0;
      while (at < data.byteLength) {
        const want = Math.min(buf.byteLength, data.byteLength - at);
        const n = fs.readSync(fd, buf, 0, want, offset + at);
        if (n === 0) throw new ModelError({ file, offset: offset + at }, `the file ended before byte ${offset + data.byteLength}`);
        sink(buf.subarray(0, n));
        at += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    return;
  }
  sink(data.bytes());
}

/** Writes the bytes of `data` to `fd`, in chunks when they are a lazy file range. */
export function writeData(fd: number, data: TensorData): void {
  forEachChunk(data, (chunk) => writeAll(fd, chunk));
}
