import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelError } from '../../errors';
import { writeAll } from '../atomic';
import { LazyData } from '../../ir/tensor';
import { WIRE } from './schema';

/**
 * Reading a large .onnx file without its weights.
 *
 * `readFileSync` of a 300 MB model costs far more than the bytes are worth:
 * the kernel faults in every page of the fresh buffer, and the writer later
 * pushes all of them out again. Most of those bytes are TensorProto.raw_data
 * that nothing looks at. So a large file is read *sparsely*: one buffer of the
 * file's size (allocated without being written, so the pages it never touches
 * cost nothing), filled by positioned reads while the protobuf structure is
 * walked, with the payloads of large raw_data fields skipped. Those skipped
 * ranges (holes) are listed; every position in the buffer is still the file
 * offset, so the decoder's records and byte ranges work unchanged.
 *
 * A tensor whose raw_data lies in a hole gets lazy data (HoleData) read from
 * the file on use; the writer copies any range of the buffer that overlaps a
 * hole from the file instead (see `copyRange`). The file stays open so that a
 * rename over its path (an atomic write of the output onto the input) does
 * not matter; a change to the file itself (size or modification time) makes
 * every later read fail with a ModelError instead of mixing two files.
 */

/** Files at least this large are read sparsely by default. */
export const SPARSE_FILE_BYTES = 64 << 20;
/** raw_data payloads at least this long are left on disk by default. */
export const HOLE_MIN_BYTES = 16 << 10;
/**
 * The smallest hole allowed. The encoder copies input slices shorter than
 * this into its own buffers (Sink's COPY_LIMIT) instead of referencing them;
 * a slice that covers part of a hole always covers the whole raw_data field,
 * so with payloads of at least this size every such slice stays a reference
 * into the buffer, which the writer recognises.
 */
export const HOLE_MIN_FLOOR = 512;

const MIN_WINDOW = 2 << 10;
const MAX_WINDOW = 4 << 20;
/** Nesting beyond this is read whole (the decoder refuses it anyway). */
const MAX_WALK_DEPTH = 64;
/**
 * Copy buffer of the writer: enough for few system calls, small enough that
 * its first touch (about 20 us per page on the build machine) costs little.
 */
const COPY_CHUNK = 1 << 20;

/**
 * At most this many sparse files keep their descriptor open; the least
 * recently used one beyond it is closed and reopened by path when it is read
 * again (and refused if the path now names another file). Descriptors are
 * also closed when their file is garbage-collected, but finalizers only run
 * between event-loop turns, which a synchronous loop over many models never
 * reaches.
 */
const MAX_OPEN = 32;
/** Sparse files holding a descriptor, least recently used first. */
const openFiles = new Set<SparseFile>();

const closer = new FinalizationRegistry<number>((fd) => {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
});

/** Sparse buffers by their memory, so that the writer finds the file behind any view. */
const byBuffer = new WeakMap<ArrayBufferLike, SparseFile>();
/** Whether any file was read sparsely (until then the writer looks nothing up). */
let anySparse = false;

/** A model file whose buffer was read with holes, kept open to read them (see MAX_OPEN). */
export class SparseFile {
  /** Unread ranges of the buffer, as sorted, disjoint start/end pairs (file offsets). */
  readonly holes: number[] = [];
  /** Whether a hole lies inside a NodeProto's attribute (only then can an opaque attribute hold one). */
  holesInAttributes = false;
  private readonly mtimeNs: bigint;
  private readonly dev: bigint;
  private readonly ino: bigint;
  /** The path to reopen, resolved when read (the working folder may change). */
  private readonly resolved: string;
  private fd: number | undefined;

  constructor(
    readonly file: string,
    fd: number,
    readonly size: number,
  ) {
    const st = fs.fstatSync(fd, { bigint: true });
    this.mtimeNs = st.mtimeNs;
    this.dev = st.dev;
    this.ino = st.ino;
    this.resolved = path.resolve(file);
    this.adopt(fd);
  }

  private adopt(fd: number): void {
    this.fd = fd;
    closer.register(this, fd, this);
    openFiles.add(this);
    if (openFiles.size > MAX_OPEN) openFiles.values().next().value?.close();
  }

  /** Closes the descriptor now; a later read reopens the file by its path. */
  close(): void {
    const fd = this.disown();
    if (fd !== undefined) fs.closeSync(fd);
  }

  /** Forgets the descriptor without closing it (it goes back to whoever opened it); returns it. */
  disown(): number | undefined {
    const fd = this.fd;
    if (fd === undefined) return undefined;
    closer.unregister(this);
    openFiles.delete(this);
    this.fd = undefined;
    return fd;
  }

  /** The open descriptor, reopened by path (and checked to be the same file) when it was closed. */
  private descriptor(): number {
    if (this.fd !== undefined) {
      openFiles.delete(this); // most recently used now
      openFiles.add(this);
      return this.fd;
    }
    let fd: number;
    try {
      fd = fs.openSync(this.resolved, 'r');
    } catch (e) {
      throw new ModelError({ file: this.file }, `the model file cannot be opened again to read its tensor data: ${(e as Error).message}`);
    }
    const st = fs.fstatSync(fd, { bigint: true });
    if (st.dev !== this.dev || st.ino !== this.ino) {
      fs.closeSync(fd);
      throw new ModelError(
        { file: this.file },
        'the model file was replaced on disk after it was read; its tensor data can no longer be read from it',
        'read the model again',
      );
    }
    this.adopt(fd);
    return fd;
  }

  /** Throws when the file is no longer the one read (its size or modification time moved). */
  check(): void {
    const st = fs.fstatSync(this.descriptor(), { bigint: true });
    if (st.size !== BigInt(this.size) || st.mtimeNs !== this.mtimeNs) {
      const now = st.size !== BigInt(this.size) ? `its size went from ${this.size} to ${st.size} bytes` : 'its modification time changed';
      throw new ModelError(
        { file: this.file },
        `the model file changed on disk after it was read (${now}); its tensor data can no longer be read from it`,
        'read the model again, and do not modify an input file while recipe works on it',
      );
    }
  }

  /** Reads `length` bytes at file offset `position` into `target` at `at`. */
  readInto(target: Uint8Array, at: number, position: number, length: number): void {
    const fd = this.descriptor();
    let got = 0;
    while (got < length) {
      const n = fs.readSync(fd, target, at + got, length - got, position + got);
      if (n === 0) {
        throw new ModelError({ file: this.file, offset: position + got }, `the model file ended early (wanted ${length} bytes at ${position})`);
      }
      got += n;
    }
  }

  /** The file's bytes [offset, offset + length), freshly read and checked against changes. */
  read(offset: number, length: number): Uint8Array {
    this.check();
    const out = Buffer.allocUnsafe(length);
    this.readInto(out, 0, offset, length);
    return out;
  }

  /** Whether [start, end) overlaps a hole (binary search over the sorted holes). */
  overlapsHole(start: number, end: number): boolean {
    const h = this.holes;
    let lo = 0;
    let hi = h.length / 2;
    // First hole whose end is after `start`.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (h[2 * mid + 1]! <= start) lo = mid + 1;
      else hi = mid;
    }
    return lo < h.length / 2 && h[2 * lo]! < end;
  }

  /**
   * Makes the bytes [start, end) of the buffer valid by reading the holes in
   * it from the file (for bytes handed out as they are, e.g. an attribute
   * the decoder keeps opaque). The holes stay listed: the writer still copies
   * them from the file, which holds the same bytes.
   */
  fill(buf: Uint8Array, start: number, end: number): void {
    if (!this.overlapsHole(start, end)) return;
    this.check();
    const h = this.holes;
    for (let i = 0; i < h.length; i += 2) {
      const s = Math.max(start, h[i]!);
      const e = Math.min(end, h[i + 1]!);
      if (s < e) this.readInto(buf, s, s, e - s);
    }
  }
}

/** Tensor bytes that were left in a hole of a sparsely read file: read from it on each use. */
export class HoleData extends LazyData {
  constructor(
    readonly sparse: SparseFile,
    readonly offset: number,
    length: number,
  ) {
    super(length, () => sparse.read(offset, length), { file: sparse.file, offset });
  }
}

/** The sparse file a byte view belongs to, and the view's file offset. */
export function sparseViewOf(bytes: Uint8Array): { sparse: SparseFile; offset: number } | undefined {
  if (!anySparse) return undefined;
  const sparse = byBuffer.get(bytes.buffer);
  if (!sparse) return undefined;
  return { sparse, offset: bytes.byteOffset };
}

/** Lazy data for raw_data at file offsets [start, end) when those bytes were not read, else undefined. */
export function holeDataAt(sparse: SparseFile | undefined, start: number, end: number): HoleData | undefined {
  if (!sparse || !sparse.overlapsHole(start, end)) return undefined;
  return new HoleData(sparse, start, end - start);
}

/** Options of a sparse read. */
export interface SparseOptions {
  /** raw_data payloads at least this long stay on disk (raised to HOLE_MIN_FLOOR). */
  holeMin?: number;
  /** Largest read-ahead in bytes (default 4 MB); tests set it low to leave every large payload on disk. */
  readAhead?: number;
}

/**
 * Reads an open .onnx file sparsely (see the top of this file). Returns the
 * buffer, whose positions are file offsets, and the SparseFile that owns the
 * descriptor from now on (closed when nothing refers to it any more); when
 * it throws, the descriptor is still the caller's.
 */
export function readSparse(file: string, fd: number, size: number, options: SparseOptions = {}): { buf: Buffer; sparse: SparseFile } {
  const sparse = new SparseFile(file, fd, size);
  // Not zero-filled: the pages of the holes are never written, so never faulted in.
  // Its own memory, never a slice of Node's shared pool: the writer finds the file by the memory.
  const buf = Buffer.allocUnsafeSlow(size);
  const walker = new Walker(sparse, buf, Math.max(options.holeMin ?? HOLE_MIN_BYTES, HOLE_MIN_FLOOR), Math.max(1, options.readAhead ?? MAX_WINDOW));
  try {
    // Anything the walk cannot follow is read whole: the decoder then reports it as it would.
    if (!walker.walk(KIND_MODEL, 0, size, 0)) walker.ensure(size);
  } catch (e) {
    sparse.disown(); // the caller closes the descriptor
    throw e;
  }
  byBuffer.set(buf.buffer, sparse);
  anySparse = true;
  return { buf, sparse };
}

const KIND_MODEL = 0;
const KIND_GRAPH = 1;
const KIND_NODE = 2;
const KIND_ATTR = 3;
const KIND_TENSOR = 4;
const KIND_OTHER = -1;

/**
 * Which messages hold which, along the paths where the decoder turns
 * TensorProtos into tensors: ModelProto.graph, GraphProto.node and
 * .initializer, NodeProto.attribute, AttributeProto.t, .tensors, .g, .graphs.
 * Everything else (sparse tensors, functions, training info) is read whole.
 */
function childKind(kind: number, field: number): number {
  switch (kind) {
    case KIND_MODEL:
      return field === 7 ? KIND_GRAPH : KIND_OTHER;
    case KIND_GRAPH:
      return field === 1 ? KIND_NODE : field === 5 ? KIND_TENSOR : KIND_OTHER;
    case KIND_NODE:
      return field === 5 ? KIND_ATTR : KIND_OTHER;
    case KIND_ATTR:
      return field === 5 || field === 10 ? KIND_TENSOR : field === 6 || field === 11 ? KIND_GRAPH : KIND_OTHER;
    default:
      return KIND_OTHER;
  }
}

/**
 * Walks the protobuf structure while filling the buffer: everything below
 * `filled` has been read, except the listed holes. Reads go forward only,
 * in a window that starts small after each hole (so a run of large tensors
 * reads little more than their headers) and doubles while nothing is skipped.
 */
class Walker {
  private filled = 0;
  private readonly minWindow: number;
  private window: number;

  constructor(
    private readonly sparse: SparseFile,
    private readonly buf: Buffer,
    private readonly holeMin: number,
    private readonly maxWindow: number,
  ) {
    this.minWindow = Math.min(MIN_WINDOW, maxWindow);
    this.window = this.minWindow;
  }

  /** Makes every byte before `to` available. */
  ensure(to: number): void {
    const size = this.sparse.size;
    if (to > size) to = size;
    if (to <= this.filled) return;
    const upto = Math.min(size, Math.max(to, this.filled + this.window));
    this.sparse.readInto(this.buf, this.filled, this.filled, upto - this.filled);
    this.filled = upto;
    if (this.window < this.maxWindow) this.window = Math.min(this.window * 2, this.maxWindow);
  }

  /** Leaves the bytes from the watermark up to `to` unread. */
  private skip(to: number): void {
    if (to <= this.filled) return;
    const h = this.sparse.holes;
    if (h.length > 0 && h[h.length - 1] === this.filled) h[h.length - 1] = to;
    else h.push(this.filled, to);
    this.filled = to;
    this.window = this.minWindow;
  }

  /** How many AttributeProtos the walk is inside. */
  private attributes = 0;
  /** End of the varint read last (set by `varint`). */
  private next = 0;

  /** Reads a varint at `pos`: its value, with its end in `next`; -1 when malformed. */
  private varint(pos: number, end: number): number {
    if (pos + 10 > this.filled) this.ensure(pos + 10);
    const b = this.buf;
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) return -1;
      const byte = b[pos++]!;
      v += (byte & 0x7f) * scale;
      scale *= 128;
      if (byte < 0x80) {
        this.next = pos;
        return v;
      }
    }
    return -1;
  }

  /** Walks the fields of a message of `kind` at [start, end); false when it cannot be followed. */
  walk(kind: number, start: number, end: number, depth: number): boolean {
    let pos = start;
    while (pos < end) {
      const tag = this.varint(pos, end);
      if (tag < 0) return false;
      const field = Math.floor(tag / 8);
      const wire = tag % 8;
      pos = this.next;
      if (field === 0) return false;
      if (wire === WIRE.VARINT) {
        if (this.varint(pos, end) < 0) return false;
        pos = this.next;
        continue;
      }
      if (wire === WIRE.I64 || wire === WIRE.I32) {
        pos += wire === WIRE.I64 ? 8 : 4;
        if (pos > end) return false;
        this.ensure(pos);
        continue;
      }
      if (wire !== WIRE.LEN) return false; // groups: rare and deprecated, read whole
      const len = this.varint(pos, end);
      if (len < 0) return false;
      const from = this.next;
      const stop = from + len;
      if (stop > end) return false;
      const child = childKind(kind, field);
      if (kind === KIND_TENSOR && field === 9 && len >= this.holeMin) {
        if (this.attributes > 0 && stop > this.filled) this.sparse.holesInAttributes = true;
        this.skip(stop);
      } else if (child !== KIND_OTHER && len >= this.holeMin && depth < MAX_WALK_DEPTH) {
        // (A message shorter than the smallest hole cannot hold one: it is read whole.)
        if (child === KIND_ATTR) this.attributes++;
        const ok = this.walk(child, from, stop, depth + 1);
        if (child === KIND_ATTR) this.attributes--;
        if (!ok) return false;
      } else this.ensure(stop);
      pos = stop;
    }
    return true;
  }
}

/**
 * Writes the file bytes [offset, offset + length) of a sparse file to `out`,
 * through one reused chunk buffer (never the whole range in memory). The
 * caller checks the file (`check()`) before its first copy and after its last.
 */
export function copyRange(sparse: SparseFile, offset: number, length: number, out: number, chunk: Uint8Array): void {
  for (let at = 0; at < length; ) {
    const n = Math.min(chunk.byteLength, length - at);
    sparse.readInto(chunk, 0, offset + at, n);
    writeAll(out, chunk.subarray(0, n));
    at += n;
  }
}

/** A chunk buffer for copyRange of `length` bytes: `current` when it is large enough, else a larger one. */
export function copyBufferFor(current: Uint8Array | undefined, length: number): Uint8Array {
  const want = Math.max(1, Math.min(COPY_CHUNK, length));
  return current && current.byteLength >= want ? current : Buffer.allocUnsafeSlow(want);
}
