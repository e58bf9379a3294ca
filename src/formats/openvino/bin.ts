import * as fs from 'node:fs';
import { ModelError } from '../../errors';
import { BytesData, LazyData, type TensorData } from '../../ir/tensor';
import { readFileRange } from '../chunks';

/** Weights files up to this size are read into memory at once; larger ones are read per constant. */
export const EAGER_BIN_LIMIT = 32 * 1024 * 1024;

/** Where each TensorData handed out by a BinFile was read from. */
const origins = new WeakMap<TensorData, { file: string; offset: number }>();

/** The weights file and byte offset a Const's bytes were read from, or undefined for bytes made in memory. */
export function binOrigin(data: TensorData): { file: string; offset: number } | undefined {
  return origins.get(data) ?? (data instanceof LazyData ? data.source : undefined);
}

/**
 * The `.bin` of an IR: hands out each Const's bytes as a view of one buffer
 * (small files) or as a lazy range read from the file (large ones). Each
 * (offset, size) pair gets one TensorData, so Const layers that share bytes
 * share their data object.
 */
export class BinFile {
  readonly size: number;
  private buffer?: Uint8Array;
  private readonly cache = new Map<string, TensorData>();

  constructor(
    readonly path: string,
    eager: boolean,
  ) {
    const st = fs.statSync(path);
    if (!st.isFile()) throw new ModelError({ file: path }, 'the weights file is not a regular file');
    this.size = st.size;
    if (eager || st.size <= EAGER_BIN_LIMIT) this.buffer = fs.readFileSync(path);
  }

  /** The bytes [offset, offset + size); the caller has checked the range against `size`. */
  range(offset: number, size: number): TensorData {
    const key = `${offset}:${size}`;
    let data = this.cache.get(key);
    if (!data) {
      const buffer = this.buffer;
      data = buffer
        ? new BytesData(buffer.subarray(offset, offset + size))
        : new LazyData(size, () => readFileRange(this.path, offset, size), { file: this.path, offset });
      this.cache.set(key, data);
      origins.set(data, { file: this.path, offset });
    }
    return data;
  }

  /** Every range handed out so far: the bytes the XML refers to. */
  ranges(): TensorData[] {
    return [...this.cache.values()];
  }

  /** The whole file as read, gaps between ranges and bytes no Const uses included. */
  whole(): TensorData {
    return this.buffer ? new BytesData(this.buffer) : new LazyData(this.size, () => readFileRange(this.path, 0, this.size), { file: this.path, offset: 0 });
  }
}
