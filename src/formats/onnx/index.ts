import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelError } from '../../errors';
import type { Model } from '../../ir/model';
import { LazyData } from '../../ir/tensor';
import type { FormatAdapter, OutputFiles, ReadOptions, WriteOptions } from '../adapter';
import { writeAll } from '../atomic';
import { describeFsError } from '../fs-errors';
import { decodeModel } from './decode';
import { Encoder } from './encode';
import { checkWriteLocation } from './external';
import { HoleData, SPARSE_FILE_BYTES, type SparseFile, readSparse } from './sparse';
import { MODEL_FIELD_WIRE, WIRE } from './schema';
import { writeChunks } from './wire';

export { decodeTensorProto } from './decode';

/** A serialized protobuf message cannot exceed 2 GB (protobuf's own limit, which onnx and onnxruntime enforce). */
export const MAX_PROTOBUF_BYTES = 2 ** 31 - 1;

/** Options of the ONNX reader beyond ReadOptions. */
export interface OnnxReadExtras {
  /** Files of at least this many bytes are read sparsely: large raw_data stays on disk until used (default 64 MB). */
  sparseFrom?: number;
  /** In a sparse read, raw_data payloads of at least this many bytes stay on disk (default 16 KB, never under 512). */
  holeMin?: number;
  /** In a sparse read, the largest read-ahead (default 4 MB); low values leave every large payload on disk (tests). */
  readAhead?: number;
}

/**
 * Reads an ONNX model file into the IR. Tensor bytes stay views over the file
 * buffer; in a large file (see sparse.ts) large raw_data is not read at all
 * but read from the file when used or written.
 */
export function readOnnx(file: string, options: ReadOptions = {}, extras: OnnxReadExtras = {}): Model {
  let buf: Buffer;
  let sparse: SparseFile | undefined;
  try {
    const st = fs.statSync(file);
    const size = st.size;
    if (size > MAX_PROTOBUF_BYTES) {
      throw new ModelError({ file }, `file is ${size} bytes: over the 2 GB limit of one protobuf message, so not a valid .onnx`);
    }
    if (st.isFile() && size >= (extras.sparseFrom ?? SPARSE_FILE_BYTES)) {
      const fd = fs.openSync(file, 'r');
      let opened: number | undefined = fd;
      try {
        const size = fs.fstatSync(fd).size; // the file opened, not the one stat saw
        ({ buf, sparse } = readSparse(file, fd, size, { holeMin: extras.holeMin, readAhead: extras.readAhead }));
        opened = undefined; // the SparseFile owns it now
      } finally {
        if (opened !== undefined) fs.closeSync(opened);
      }
    } else buf = fs.readFileSync(file);
  } catch (e) {
    if (e instanceof ModelError) throw e;
    throw new ModelError({ file }, describeFsError(e));
  }
  return decodeModel(buf, { file, dir: path.dirname(path.resolve(file)), eagerExternalData: options.eagerExternalData, sparse, decodeGraph: options.decodeGraphs });
}

/** Decodes an in-memory ONNX model; external data, if any, is looked up in `dir`. */
export function decodeOnnx(bytes: Uint8Array, file = '<memory>', dir = process.cwd()): Model {
  return decodeModel(bytes, { file, dir });
}

/** Options of the ONNX writer beyond WriteOptions. */
export interface OnnxWriteExtras {
  /** Encode every element again from the IR instead of copying unchanged ones (tests of the encoder). */
  reencode?: boolean;
}

/**
 * Writes a model as .onnx (plus an external data file when asked or kept).
 * Unchanged elements are copied from the input bytes; tensor bytes are written
 * straight from their source buffers or files.
 */
export function writeOnnx(model: Model, out: OutputFiles, options: WriteOptions = {}, extras: OnnxWriteExtras = {}): void {
  const file = out.mainPath;
  const outDir = path.dirname(file);
  const mode = options.externalData ?? 'keep';
  const dataLocation = options.externalFile ?? `${path.basename(file)}.data`;
  let dataPath: string | undefined;
  if (mode === 'external') {
    dataPath = checkWriteLocation(outDir, dataLocation, file);
    if (path.resolve(dataPath) === path.resolve(file)) throw new ModelError({ file }, 'the external data file cannot be the model file itself');
  }
  const encoder = new Encoder({
    mode,
    threshold: options.externalThreshold ?? 1024,
    dataLocation: dataLocation.split(path.sep).join('/'),
    file,
    reencode: extras.reencode,
  });
  const main = encoder.encodeModel(model);
  if (main.size > MAX_PROTOBUF_BYTES) {
    throw new ModelError(
      { file },
      `the model needs ${main.size} bytes in one .onnx file, over protobuf's 2 GB limit`,
      'write the weights to a separate file: --external-data external',
    );
  }
  // Plan the kept external files before writing anything, so a refusal leaves nothing behind.
  const kept = new Map<string, { target: string; ranges: typeof encoder.kept }>();
  for (const k of encoder.kept) {
    let plan = kept.get(k.ref.location);
    if (!plan) {
      plan = { target: checkWriteLocation(outDir, k.ref.location, file), ranges: [] };
      kept.set(k.ref.location, plan);
    }
    plan.ranges.push(k);
  }
  writeChunks(out.open(file), main.finish(), readSourceSlice);
  if (dataPath !== undefined && encoder.data.size > 0) writeChunks(out.open(dataPath), encoder.data.finish(), readSourceSlice);
  for (const [location, { target, ranges }] of kept) {
    // The output sits beside the input and shares its data file: nothing to copy.
    if (ranges.every((r) => sameFile(r.ref.resolved, target))) continue;
    // The whole data file, not only the ranges this model still reads: models
    // written from one input into one folder (one per target) then share a
    // file that holds what each of them reads.
    const sources = new Set(ranges.map((r) => r.ref.resolved));
    if (sources.size > 1) {
      throw new ModelError(
        { file },
        `the model reads external data named '${location}' from ${sources.size} different files (${[...sources].join(', ')}), which cannot all be kept under that name beside the output`,
        'move the weights into one data file: --external-data external',
      );
    }
    copyWholeFile(out.open(target), [...sources][0]!, location);
  }
}

/** Copies the file at `source` into `fd` from its start, in pieces. */
function copyWholeFile(fd: number, source: string, location: string): void {
  // A failing read is the input's (named here); a failing write, the output's (named by writeModel).
  const read = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw new ModelError({ file: source }, `external data file '${location}' could not be read: ${describeFsError(e)}`);
    }
  };
  const src = read(() => fs.openSync(source, 'r'));
  try {
    const piece = Buffer.allocUnsafe(PIECE);
    for (let at = 0; ; ) {
      const n = read(() => fs.readSync(src, piece, 0, PIECE, at));
      if (n === 0) break;
      writeAll(fd, piece.subarray(0, n), at);
      at += n;
    }
  } finally {
    fs.closeSync(src);
  }
}

function sameFile(a: string, b: string): boolean {
  try {
    const sa = fs.statSync(a);
    const sb = fs.statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

const PIECE = 16 << 20;

/** Reads part of lazy tensor data straight from its source file. */
function readSourceSlice(data: LazyData, at: number, length: number): Uint8Array {
  // Data left in a hole of a sparse read comes from the descriptor kept open, not from the path.
  if (data instanceof HoleData) return data.sparse.read(data.offset + at, length);
  const src = data.source;
  if (!src) return data.bytes().subarray(at, at + length);
  const fd = fs.openSync(src.file, 'r');
  try {
    const out = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = fs.readSync(fd, out, got, length - got, src.offset + at + got);
      if (n === 0) throw new ModelError({ file: src.file }, `external data ended early (wanted ${length} bytes at ${src.offset + at})`);
      got += n;
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}


/**
 * ONNX has no magic number: a file looks like ONNX when its first fields are
 * ModelProto fields with the right wire types (it nearly always opens with
 * ir_version), as far as the head shows. Without the .onnx extension the
 * first field must be ir_version.
 */
export function sniffOnnx(head: Uint8Array, file: string): boolean {
  if (head.byteLength < 2) return false;
  if (head.byteLength >= 8 && String.fromCharCode(head[4]!, head[5]!, head[6]!, head[7]!) === 'TFL3') return false;
  const byExtension = path.extname(file).toLowerCase() === '.onnx';
  let pos = 0;
  let fields = 0;
  const varint = (): number | undefined => {
    let v = 0;
    for (let i = 0; i < 5; i++) {
      if (pos >= head.byteLength) return undefined;
      const b = head[pos++]!;
      v += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) return v;
    }
    return undefined;
  };
  while (pos < head.byteLength) {
    const tag = varint();
    if (tag === undefined) break;
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (MODEL_FIELD_WIRE.get(field) !== wire) return false;
    if (fields === 0 && !byExtension && field !== 1) return false;
    const value = varint();
    if (value === undefined) break;
    if (field === 1 && (value < 1 || value > 64)) return false;
    fields++;
    if (wire === WIRE.LEN) {
      if (field === 7 || field === 20 || field === 25) break;
      pos += value;
    }
  }
  return fields > 0;
}

/** The ONNX format adapter. */
export const onnxAdapter: FormatAdapter = {
  id: 'onnx',
  extensions: ['.onnx'],
  sniff: sniffOnnx,
  read: readOnnx,
  write: (model, out, options) => writeOnnx(model, out, options),
};
