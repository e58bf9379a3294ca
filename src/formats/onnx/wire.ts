import * as fs from 'node:fs';
import { ModelError, type ModelLocation } from '../../errors';
import { noteWritten, writeAll } from '../atomic';
import type { TensorData } from '../../ir/tensor';
import { BytesData, LazyData } from '../../ir/tensor';
import { WIRE } from './schema';
import { HoleData, type SparseFile, copyBufferFor, copyRange, sparseViewOf } from './sparse';

/**
 * Reads protobuf wire data over one file buffer, with what a hostile file
 * needs: every read is checked against the end of the enclosing message, lengths
 * never exceed what is left, int64 values are exact (bigint beyond 2^53), and
 * every failure is a ModelError naming the file, the byte offset and the path
 * of fields that led there.
 */
/** Field paths longer than this many parts are shortened to their first and last PATH_ENDS parts. */
const PATH_ELIDE_OVER = 40;
const PATH_ENDS = 12;

export class Cursor {
  readonly buf: Uint8Array;
  /** Where the next read starts. */
  pos = 0;
  /** Field path for error messages, as alternating names and indices. */
  readonly path: (string | number)[] = [];
  private view: DataView | undefined;

  constructor(
    buf: Uint8Array,
    readonly file: string,
  ) {
    this.buf = buf;
  }

  /**
   * A varint's low 32 bits, read the way protobuf's own readers do: at most
   * five bytes are decoded, and a longer varint's further bytes (five at
   * most) are passed over up to the one that ends it. Bytes past the buffer
   * read as 0 with the continuation bit set; callers check the position
   * against the end of their message.
   */
  private varint32(): number {
    const b = this.buf;
    let pos = this.pos;
    let byte = b[pos++] ?? 0x80;
    let value = byte & 0x7f;
    if (byte >= 0x80) {
      byte = b[pos++] ?? 0x80;
      value |= (byte & 0x7f) << 7;
      if (byte >= 0x80) {
        byte = b[pos++] ?? 0x80;
        value |= (byte & 0x7f) << 14;
        if (byte >= 0x80) {
          byte = b[pos++] ?? 0x80;
          value |= (byte & 0x7f) << 21;
          if (byte >= 0x80) {
            byte = b[pos++] ?? 0x80;
            value |= (byte & 0x0f) << 28;
            // Not five bytes skipped blindly: a varint of six to nine bytes
            // ends sooner, and what follows it would be read as its field.
            for (let extra = 0; byte >= 0x80; extra++) {
              if (extra === 5) this.fail('varint longer than 10 bytes', this.pos);
              byte = b[pos++] ?? 0x80;
              if (pos > b.length) break;
            }
          }
        }
      }
    }
    if (pos > b.length) this.fail('truncated varint', this.pos);
    this.pos = pos;
    return value >>> 0;
  }

  private dataView(): DataView {
    return (this.view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
  }

  /** The path of fields being read, e.g. `ModelProto.graph.node[3].attribute[0]`. */
  pathText(): string {
    const part = (p: string | number): string => (typeof p === 'number' ? `[${p}]` : `.${p}`);
    const n = this.path.length;
    if (n <= PATH_ELIDE_OVER) return 'ModelProto' + this.path.map(part).join('');
    // A path through dozens of nested subgraphs keeps its two ends: a hostile file's error stays one readable line.
    let head = PATH_ENDS;
    if (typeof this.path[head] === 'number') head++;
    let tail = n - PATH_ENDS;
    while (typeof this.path[tail] === 'number') tail--;
    const skipped = this.path.slice(head, tail).filter((p) => typeof p === 'string').length;
    return `ModelProto${this.path.slice(0, head).map(part).join('')}.<${skipped} more>${this.path.slice(tail).map(part).join('')}`;
  }

  fail(reason: string, offset = this.pos, extra: Pick<ModelLocation, 'tensor' | 'node' | 'function'> = {}): never {
    throw new ModelError({ file: this.file, offset, path: this.pathText(), ...extra }, reason);
  }

  /** Reads a field tag; returns it as `field << 3 | wire`. */
  tag(end: number): number {
    const at = this.pos;
    if (at >= end) this.fail('truncated field tag', at);
    const tag = this.varint32();
    if (this.pos > end) this.fail('truncated field tag', at);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 0 || wire === WIRE.EGROUP || wire > WIRE.I32) this.fail(`invalid field tag ${tag} (field ${field}, wire type ${wire})`, at);
    return tag;
  }

  /** Reads a varint that must fit in 32 bits (lengths, enums, small counts). */
  uint32(end: number): number {
    const at = this.pos;
    const v = this.varint32();
    if (this.pos > end) this.fail('truncated varint', at);
    return v;
  }

  /** Reads a length prefix and returns the end offset of the bytes it announces. */
  lenEnd(end: number): number {
    const at = this.pos;
    if (at >= end) this.fail('truncated length', at);
    let len = this.varint32();
    const start = this.pos;
    if (start > end) this.fail('truncated length', at);
    // Five bytes or more can hold bits past the 32 kept: protobuf reads a
    // length whole and refuses one over 2^31 - 1, where the low bits alone
    // would read as a short length.
    if (start - at >= 5) {
      this.pos = at;
      const whole = this.varint64(end, false);
      if (whole !== len || len > 0x7fffffff) this.fail(`length ${whole} is over protobuf's limit of 2^31 - 1 bytes`, at);
      len = whole;
    }
    if (len > end - start) this.fail(`length ${len} runs past the end of its message (${end - start} bytes left)`, at);
    return start + len;
  }

  /** Reads a varint as a signed 64-bit integer: a number when exact, else a bigint. */
  int64(end: number): number | bigint {
    return this.varint64(end, true);
  }

  /** Reads a varint as an unsigned 64-bit integer: a number when exact, else a bigint. */
  uint64(end: number): number | bigint {
    return this.varint64(end, false);
  }

  /** int32 fields are varints whose low 32 bits hold the value (negatives take 10 bytes). */
  int32(end: number): number {
    const v = this.varint64(end, true);
    return typeof v === 'bigint' ? Number(BigInt.asIntN(32, v)) : v | 0;
  }

  private varint64(end: number, signed: boolean): number | bigint {
    const b = this.buf;
    const at = this.pos;
    let pos = at;
    let lo = 0;
    let hi = 0;
    for (let i = 0; ; i++) {
      if (pos >= end) this.fail('truncated varint', at);
      if (i === 10) this.fail('varint longer than 10 bytes', at);
      const byte = b[pos++]!;
      const bits = byte & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >> 4;
      } else hi |= bits << (7 * i - 32);
      if (byte < 0x80) break;
    }
    this.pos = pos;
    lo >>>= 0;
    hi >>>= 0;
    if (hi === 0) return lo;
    if (hi < 0x200000) return hi * 0x100000000 + lo;
    const big = (BigInt(hi) << 32n) | BigInt(lo);
    const value = signed ? BigInt.asIntN(64, big) : big;
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }

  float32(end: number): number {
    if (this.pos + 4 > end) this.fail('truncated float');
    const v = this.dataView().getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  float64(end: number): number {
    if (this.pos + 8 > end) this.fail('truncated double');
    const v = this.dataView().getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Reads a length-delimited field as a string (invalid UTF-8 becomes U+FFFD). */
  string(end: number): string {
    const stop = this.lenEnd(end);
    const start = this.pos;
    this.pos = stop;
    return decodeUtf8(this.buf, start, stop);
  }

  /** Skips a field's value of the given wire type. */
  skip(wire: number, end: number): void {
    const r = this;
    switch (wire) {
      case WIRE.VARINT:
        this.varint64(end, false);
        return;
      case WIRE.I64:
        if (r.pos + 8 > end) this.fail('truncated fixed64');
        r.pos += 8;
        return;
      case WIRE.LEN:
        r.pos = this.lenEnd(end);
        return;
      case WIRE.I32:
        if (r.pos + 4 > end) this.fail('truncated fixed32');
        r.pos += 4;
        return;
      case WIRE.SGROUP: {
        // Deprecated groups: skip nested fields up to the matching end-group tag.
        for (let depth = 1; depth > 0; ) {
          const at = r.pos;
          const tag = r.varint32();
          if (r.pos > end) this.fail('truncated group', at);
          const w = tag & 7;
          if (w === WIRE.EGROUP) depth--;
          else if (w === WIRE.SGROUP) {
            if (++depth > 64) this.fail('groups nested too deep', at);
          } else if (w > WIRE.I32 || tag >>> 3 === 0) this.fail(`invalid field tag ${tag}`, at);
          else this.skip(w, end);
        }
        return;
      }
      default:
        this.fail(`invalid wire type ${wire}`);
    }
  }
}

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes bytes as UTF-8, with a fast path for short ASCII names. */
export function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    if (buf[i]! >= 0x80) return utf8.decode(buf.subarray(start, end));
  }
  // ASCII: latin1 makes a flat one-byte string in one call (no rope of concatenations).
  return latin1Slice.call(buf, start, end);
}

const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }).latin1Slice;

/** Decodes UTF-8 exactly, or returns undefined when the bytes are not valid UTF-8. */
export function decodeUtf8Strict(bytes: Uint8Array): string | undefined {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return undefined;
  }
}

const NUMBER_BYTES = new Uint8Array(8);
const NUMBER_VIEW = new DataView(NUMBER_BYTES.buffer);

/** A piece of output: bytes in memory, or tensor data to be read when it is written. */
export type Chunk = Uint8Array | TensorData;

/** Chunks at least this long are referenced, not copied, when appended. */
const COPY_LIMIT = 512;

/** Largest scratch buffer: a large graph's encoded fields fill a few dozen, not hundreds. */
const MAX_SCRATCH = 1 << 20;

/**
 * A byte array left as the allocator gives it: a Sink hands out only bytes it
 * wrote, and zeroing megabytes of scratch first is wasted work. A plain
 * Uint8Array over the memory, so that the Sink's hot paths see one kind of array.
 */
function uninitialized(n: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}

/**
 * An output under construction, as a list of chunks. Small encoded fields go
 * into a scratch buffer; large byte ranges (an unchanged span of the input file,
 * a tensor's raw_data) are referenced as they are, so writing a model never
 * concatenates its weights. A nested message is written in place between
 * `open` and `close`, which fills in its length (protobufjs's Writer cannot:
 * it builds each one apart, and its `finish()` copies everything into one
 * buffer).
 */
export class Sink {
  readonly chunks: Chunk[] = [];
  private flushed = 0;
  private scratch: Uint8Array;
  /** Start of the bytes of `scratch` not yet handed out as a chunk. */
  private start = 0;
  private at = 0;
  /**
   * A range of an input buffer appended by `rawRange` and not placed yet: the
   * next range that follows it in the same buffer extends it, so a run of
   * unchanged elements is copied (or referenced) once, not element by element.
   */
  private pendingBuf: Uint8Array | undefined = undefined;
  private pendingStart = 0;
  private pendingEnd = 0;
  /**
   * Messages opened by `open` and not closed yet, innermost last: the scratch
   * buffer holding each one's length byte, and (in `openMarks`, three numbers
   * each) that byte's position there, the chunk count and the size after it.
   */
  private readonly openScratch: Uint8Array[] = [];
  private readonly openMarks: number[] = [];

  constructor(initial = 64) {
    this.scratch = new Uint8Array(initial);
  }

  get size(): number {
    return this.flushed + this.at - this.start + (this.pendingEnd - this.pendingStart);
  }

  private room(n: number): void {
    if (this.pendingBuf) this.placePending();
    if (this.at + n <= this.scratch.length) return;
    this.flushScratch();
    const next = Math.min(Math.max(this.scratch.length * 2, 64), MAX_SCRATCH);
    this.scratch = uninitialized(Math.max(next, n));
    this.start = 0;
    this.at = 0;
  }

  private flushScratch(): void {
    if (this.pendingBuf) this.placePending();
    if (this.at === this.start) return;
    // A plain view (Uint8Array#subarray is several times slower) of what was written since the last chunk.
    this.chunks.push(new Uint8Array(this.scratch.buffer, this.scratch.byteOffset + this.start, this.at - this.start));
    this.flushed += this.at - this.start;
    this.start = this.at;
  }

  /** The chunks, with nothing left in the scratch buffer. */
  finish(): Chunk[] {
    this.flushScratch();
    return this.chunks;
  }

  varint(n: number): void {
    this.room(10);
    const s = this.scratch;
    while (n > 0x7f) {
      s[this.at++] = (n & 0x7f) | 0x80;
      n = n > 0xffffffff ? Math.floor(n / 128) : n >>> 7;
    }
    s[this.at++] = n;
  }

  /** A signed 64-bit varint (negative values take ten bytes, as protobuf does). */
  int64(v: number | bigint): void {
    if (typeof v === 'number' && v >= 0 && Number.isSafeInteger(v)) {
      this.varint(v);
      return;
    }
    let big = BigInt.asUintN(64, BigInt(v));
    this.room(10);
    while (big > 0x7fn) {
      this.scratch[this.at++] = Number(big & 0x7fn) | 0x80;
      big >>= 7n;
    }
    this.scratch[this.at++] = Number(big);
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  float32(v: number): void {
    this.room(4);
    NUMBER_VIEW.setFloat32(0, v, true);
    for (let i = 0; i < 4; i++) this.scratch[this.at++] = NUMBER_BYTES[i]!;
  }

  float64(v: number): void {
    this.room(8);
    NUMBER_VIEW.setFloat64(0, v, true);
    for (let i = 0; i < 8; i++) this.scratch[this.at++] = NUMBER_BYTES[i]!;
  }

  /** Appends bytes as they are: copied when small, referenced when large. */
  raw(bytes: Uint8Array): void {
    if (bytes.byteLength >= COPY_LIMIT) {
      this.flushScratch();
      this.chunks.push(bytes);
      this.flushed += bytes.byteLength;
      return;
    }
    this.room(bytes.byteLength);
    this.scratch.set(bytes, this.at);
    this.at += bytes.byteLength;
  }

  /**
   * Appends bytes `start`..`end` of `buf`: copied when short, else referenced
   * (no view made for a short range). Ranges that follow one another in `buf`
   * are joined first, up to the next append of anything else.
   */
  rawRange(buf: Uint8Array, start: number, end: number): void {
    if (buf === this.pendingBuf && start === this.pendingEnd) {
      this.pendingEnd = end;
      return;
    }
    if (this.pendingBuf) this.placePending();
    if (start === end) return;
    this.pendingBuf = buf;
    this.pendingStart = start;
    this.pendingEnd = end;
  }

  /** Copies or references the pending range (see `rawRange`). */
  private placePending(): void {
    const buf = this.pendingBuf!;
    const start = this.pendingStart;
    const n = this.pendingEnd - start;
    this.pendingBuf = undefined;
    this.pendingStart = this.pendingEnd = 0;
    if (n >= COPY_LIMIT) {
      this.flushScratch();
      this.chunks.push(new Uint8Array(buf.buffer, buf.byteOffset + start, n));
      this.flushed += n;
      return;
    }
    this.room(n);
    const out = this.scratch;
    for (let i = 0, at = this.at; i < n; i++) out[at + i] = buf[start + i]!;
    this.at += n;
  }

  /** Appends tensor data: a view when in memory, else read only when the output is written. */
  data(data: TensorData): void {
    if (data instanceof BytesData || data.byteLength < COPY_LIMIT) {
      this.raw(data.bytes());
      return;
    }
    this.flushScratch();
    this.chunks.push(data);
    this.flushed += data.byteLength;
  }

  bytesField(field: number, bytes: Uint8Array): void {
    this.tag(field, WIRE.LEN);
    this.varint(bytes.byteLength);
    this.raw(bytes);
  }

  stringField(field: number, s: string): void {
    this.tag(field, WIRE.LEN);
    // Names are short and ASCII: written in place, without a UTF-8 array each.
    const n = s.length;
    if (n < 128) {
      this.room(n + 1);
      const out = this.scratch;
      let at = this.at + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        out[at++] = c;
      }
      if (i === n) {
        out[this.at] = n;
        this.at = at;
        return;
      }
    }
    const bytes = encodeUtf8(s);
    this.varint(bytes.byteLength);
    this.raw(bytes);
  }

  dataField(field: number, data: TensorData): void {
    this.tag(field, WIRE.LEN);
    this.varint(data.byteLength);
    this.data(data);
  }

  /**
   * Starts a length-delimited field whose content is what is appended until
   * the matching `close`: it is written in place, with one byte kept for its
   * length, rather than in a Sink of its own to be copied (a large graph has
   * 100k+ nodes and tensors to encode).
   */
  open(field: number): void {
    this.tag(field, WIRE.LEN);
    this.room(1);
    this.openScratch.push(this.scratch);
    this.openMarks.push(this.at, this.chunks.length, this.size + 1);
    this.at++;
  }

  /** Ends the innermost field of `open`, writing its length. */
  close(): void {
    const scratch = this.openScratch.pop();
    const marks = this.openMarks;
    if (!scratch || marks.length < 3) throw new Error('Sink.close without open');
    const sizeAfter = marks.pop()!;
    const chunkCount = marks.pop()!;
    const pos = marks.pop()!;
    const len = this.size - sizeAfter;
    if (len < 0x80) {
      scratch[pos] = len;
      return;
    }
    const bytes = varintBytes(len);
    const extra = bytes.byteLength - 1;
    if (scratch === this.scratch && this.chunks.length === chunkCount && this.at + extra <= scratch.length) {
      // Still all in this scratch buffer: move the content up to make room.
      scratch.copyWithin(pos + 1 + extra, pos + 1, this.at);
      scratch.set(bytes, pos);
      this.at += extra;
      return;
    }
    // The content spans chunks: the first chunk made since `open` holds the
    // length byte; it is split around it and the whole varint goes in between.
    this.flushScratch();
    const c = this.chunks[chunkCount];
    const rel = c instanceof Uint8Array && c.buffer === scratch.buffer ? scratch.byteOffset + pos - c.byteOffset : -1;
    if (!(c instanceof Uint8Array) || rel < 0 || rel >= c.byteLength) throw new Error('Sink.close: the length byte is not where it was left');
    const parts: Uint8Array[] = [];
    if (rel > 0) parts.push(new Uint8Array(c.buffer, c.byteOffset, rel));
    parts.push(bytes);
    if (rel + 1 < c.byteLength) parts.push(new Uint8Array(c.buffer, c.byteOffset + rel + 1, c.byteLength - rel - 1));
    this.chunks.splice(chunkCount, 1, ...parts);
    this.flushed += extra;
  }
}

/** The varint encoding of a non-negative integer. */
function varintBytes(n: number): Uint8Array {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = n > 0xffffffff ? Math.floor(n / 128) : n >>> 7;
  }
  out.push(n);
  return Uint8Array.from(out);
}

/** UTF-8 bytes of a string, with a fast path for ASCII. */
export function encodeUtf8(s: string): Uint8Array {
  const n = s.length;
  if (n < 64) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = s.charCodeAt(i);
      return out;
    }
  }
  return Buffer.from(s, 'utf8');
}

/** Largest writev batch: Linux accepts 1024 buffers per call. */
const IOV_MAX = 1024;
const STREAM_PIECE = 16 << 20;

/**
 * Writes chunks to `fd` in order, from their own buffers (writev batches);
 * lazy tensor data is streamed from its file in pieces, never loaded whole.
 * Bytes of a sparsely read model file (see sparse.ts) that overlap its holes,
 * and tensor data left in those holes, are copied from the file itself,
 * contiguous ones in one run.
 */
export function writeChunks(fd: number, chunks: readonly Chunk[], readSource: (d: LazyData, offset: number, length: number) => Uint8Array): void {
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  const flush = (): void => {
    if (batch.length === 0) return;
    let written = fs.writevSync(fd, batch);
    noteWritten(fd, Math.min(written, batchBytes));
    if (written < batchBytes) {
      // Short write: finish the rest buffer by buffer.
      for (const b of batch) {
        if (written >= b.byteLength) {
          written -= b.byteLength;
          continue;
        }
        writeAll(fd, b.subarray(written));
        written = 0;
      }
    }
    batch = [];
    batchBytes = 0;
  };
  // A range of a sparse file still to copy; while it is open, `batch` is empty.
  let run: { sparse: SparseFile; start: number; end: number } | undefined;
  let copyBuffer: Uint8Array | undefined;
  // Files copied from: each is checked before its first copy and after the last one.
  const sources = new Set<SparseFile>();
  const flushRun = (): void => {
    if (!run) return;
    const length = run.end - run.start;
    copyBuffer = copyBufferFor(copyBuffer, length);
    if (!sources.has(run.sparse)) {
      run.sparse.check();
      sources.add(run.sparse);
    }
    copyRange(run.sparse, run.start, length, fd, copyBuffer);
    run = undefined;
  };
  const addRun = (sparse: SparseFile, start: number, length: number): void => {
    if (run && run.sparse === sparse && run.end === start) {
      run.end += length;
      return;
    }
    flush();
    flushRun();
    run = { sparse, start, end: start + length };
  };
  for (const c of chunks) {
    if (c instanceof Uint8Array) {
      if (c.byteLength === 0) continue;
      const view = sparseViewOf(c);
      if (view && view.sparse.overlapsHole(view.offset, view.offset + c.byteLength)) {
        addRun(view.sparse, view.offset, c.byteLength);
        continue;
      }
      flushRun();
      batch.push(c);
      batchBytes += c.byteLength;
      if (batch.length >= IOV_MAX || batchBytes >= 64 << 20) flush();
      continue;
    }
    if (c instanceof HoleData) {
      addRun(c.sparse, c.offset, c.byteLength);
      continue;
    }
    flush();
    flushRun();
    if (c instanceof LazyData && c.source) {
      for (let at = 0; at < c.byteLength; at += STREAM_PIECE) {
        writeAll(fd, readSource(c, at, Math.min(STREAM_PIECE, c.byteLength - at)));
      }
    } else {
      writeAll(fd, c.bytes());
    }
  }
  flush();
  flushRun();
  // A change while copying would have mixed two files: refuse the output.
  for (const s of sources) s.check();
}


