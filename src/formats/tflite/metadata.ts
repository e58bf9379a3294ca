import type { MetadataEntry } from '../../ir/model';
import type { BufferEntry } from './native';
import type * as fb from './schema/schema.generated';

/**
 * TFLite `Model.metadata` entries are (name, buffer index) pairs. Those whose
 * buffer holds short text (`min_runtime_version`, `reduced_precision_support`,
 * `vela_version`, what `recipe apply` records) become `Model.metadata`; binary
 * ones (the TFLite Metadata flatbuffer `TFLITE_METADATA`, `CONVERSION_METADATA`)
 * stay only in the codec's native data and are written back as they were.
 */

/** Longer buffers are not shown as text: metadata text is a version or a small JSON document. */
export const MAX_TEXT_METADATA_BYTES = 64 * 1024;

/** A text metadata entry as read: which entry of `Model.metadata` it is, and its value then. */
export interface TextMetadataAtRead {
  /** Index in the file's `Model.metadata` vector. */
  entry: number;
  key: string;
  value: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The text of a metadata buffer, or undefined when it is binary. Text is valid
 * UTF-8 without control characters other than tab and line breaks; trailing NUL
 * bytes are padding (the converter stores `min_runtime_version` in 16 bytes).
 */
export function metadataText(bytes: Uint8Array): string | undefined {
  if (bytes.byteLength > MAX_TEXT_METADATA_BYTES) return undefined;
  let end = bytes.byteLength;
  while (end > 0 && bytes[end - 1] === 0) end--;
  let text: string;
  try {
    text = utf8.decode(bytes.subarray(0, end));
  } catch {
    return undefined;
  }
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? undefined : text;
}

/** The text entries among a file's metadata, in file order. */
export function readTextMetadata(entries: readonly fb.Metadata[], buffers: readonly BufferEntry[]): TextMetadataAtRead[] {
  const out: TextMetadataAtRead[] = [];
  entries.forEach((m, i) => {
    if (m.name === undefined) return;
    const buffer = buffers[m.buffer];
    if (!buffer || m.buffer === 0) return;
    const data = buffer.data;
    if (data && data.byteLength > MAX_TEXT_METADATA_BYTES) return;
    const value = metadataText(data ? data.bytes() : new Uint8Array(0));
    if (value !== undefined) out.push({ entry: i, key: m.name, value });
  });
  return out;
}

/** What the writer needs to give metadata text a buffer. */
export interface MetadataBuffers {
  /** A new buffer holding these bytes; returns its index. */
  add(bytes: Uint8Array): number;
  /** Puts these bytes into an existing buffer slot (one only this entry reads). */
  replace(index: number, bytes: Uint8Array): void;
  /** Empties a buffer slot no one reads any more (the slot stays, so indices hold). */
  empty(index: number): void;
  /** How many tensors read buffer `index` in the file as read. */
  tensorRefs(index: number): number;
}

/**
 * The `Model.metadata` vector to write: binary entries as read; text entries
 * as read when their value is unchanged, with new bytes when changed, left out
 * when removed from `Model.metadata`; new keys appended with new buffers.
 * Keys that occur more than once are matched occurrence by occurrence.
 */
export function planMetadata(
  original: readonly fb.Metadata[],
  atRead: readonly TextMetadataAtRead[],
  now: readonly MetadataEntry[],
  deprecatedBuffers: readonly number[],
  buffers: MetadataBuffers,
): fb.Metadata[] {
  const textAt = new Map<number, TextMetadataAtRead>(atRead.map((t) => [t.entry, t]));
  // The current entries of each key, in order, to be taken by the entries read.
  const pending = new Map<string, MetadataEntry[]>();
  for (const e of now) {
    const list = pending.get(e.key);
    if (list) list.push(e);
    else pending.set(e.key, [e]);
  }
  // Buffers read by more than one entry (or by the deprecated metadata_buffer) are never rewritten in place.
  const readers = new Map<number, number>();
  for (const m of original) readers.set(m.buffer, (readers.get(m.buffer) ?? 0) + 1);
  for (const b of deprecatedBuffers) readers.set(b, (readers.get(b) ?? 0) + 1);
  const ownSlot = (index: number): boolean => index > 0 && readers.get(index) === 1 && buffers.tensorRefs(index) === 0;

  const out: fb.Metadata[] = [];
  original.forEach((m, i) => {
    const read = textAt.get(i);
    if (!read) {
      out.push(m);
      return;
    }
    const current = pending.get(read.key)?.shift();
    if (!current) {
      if (ownSlot(m.buffer)) buffers.empty(m.buffer);
      return;
    }
    if (current.value === read.value) {
      out.push(m);
      return;
    }
    const bytes = new TextEncoder().encode(current.value);
    if (ownSlot(m.buffer)) {
      buffers.replace(m.buffer, bytes);
      out.push(m);
    } else {
      out.push({ ...m, buffer: buffers.add(bytes) });
    }
  });
  for (const e of now) {
    const list = pending.get(e.key);
    if (!list || list[0] !== e) continue;
    list.shift();
    out.push({ name: e.key, buffer: buffers.add(new TextEncoder().encode(e.value)) });
  }
  return out;
}
