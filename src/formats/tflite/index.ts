import { UnsupportedError } from '../../errors';
import type { Model } from '../../ir/model';
import type { FormatAdapter } from '../adapter';
import { writeAll } from '../atomic';
import { writeData } from '../chunks';
import { looksLikeIdentifier } from './flatbuf/reader';
import { modelNative, tfliteUnknownFields } from './native';
import { TFLITE_SCHEMA } from './schema/schema.generated';
import { readTflite } from './read';
import { encodeTflite } from './write';

export { decodeTflite, readTflite } from './read';
export { encodeTflite } from './write';
export { tfliteQuantization, tfliteUnknownFields, type TfliteQuantization } from './native';

/**
 * TensorFlow Lite flatbuffers (`.tflite`), recognised by the file identifier `TFL3` at bytes 4..8,
 * or, for a `.tflite` written without it, by the root table at the start. Written files always have it.
 * `Model.metadata` holds the file's Metadata entries whose buffer is short text
 * (src/formats/tflite/metadata.ts); binary ones are kept as read.
 */
export const tfliteAdapter: FormatAdapter = {
  id: 'tflite',
  extensions: ['.tflite'],
  sniff(head, file) {
    if (head.byteLength < 8) return false;
    if (head[4] === 0x54 && head[5] === 0x46 && head[6] === 0x4c && head[7] === 0x33) return true;
    return file.toLowerCase().endsWith('.tflite') && looksLikeModelRoot(head);
  },
  read(path) {
    return readTflite(path);
  },
  write(model, out, options) {
    const { head, tail, unchanged } = encodeTflite(model, out.mainPath);
    const native = modelNative(model);
    if (unchanged && native?.file) {
      writeAll(out.open(out.mainPath), native.file);
      return;
    }
    refuseLosingUnknownFields(model, options?.dropUnknownFields === true);
    const fd = out.open(out.mainPath);
    writeAll(fd, head);
    tail.writeTo((bytes) => writeAll(fd, bytes));
    if (native?.trailing) writeData(fd, native.trailing);
  },
};

/**
 * A .tflite written without the (optional) file identifier: its first word is
 * the offset of the root table, which writers put near the start, and that
 * table's vtable, when it lies in the head, is the size of a Model vtable. An
 * ONNX or XML file named .tflite starts with bytes that read as an offset far away.
 */
function looksLikeModelRoot(head: Uint8Array): boolean {
  if (looksLikeIdentifier(head.subarray(4, 8))) return false;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const root = dv.getUint32(0, true);
  if (root < 4 || root % 4 !== 0 || root + 4 > head.byteLength) return false;
  const vtable = root - dv.getInt32(root, true);
  if (vtable < 4 || vtable % 2 !== 0) return false;
  if (vtable + 4 > head.byteLength) return true;
  const vtSize = dv.getUint16(vtable, true);
  const slots = TFLITE_SCHEMA.tables.Model?.slotCount ?? 0;
  // A newer converter may add a few Model fields.
  return vtSize >= 4 && vtSize % 2 === 0 && vtSize <= 4 + 2 * (slots + 16) && dv.getUint16(vtable + 2, true) >= 4;
}

/**
 * Fields our schema does not know cannot be written back (a flatbuffer field
 * is a scalar or an offset, and only the schema says which), so a model that
 * has any is written only when the caller accepts losing them.
 */
function refuseLosingUnknownFields(model: Model, drop: boolean): void {
  const unknown = tfliteUnknownFields(model);
  if (unknown.length === 0 || drop) return;
  const listed = unknown.slice(0, 3).map((f) => `${f.path} (${f.table} field ${f.slot}, byte ${f.offset})`);
  const more = unknown.length > 3 ? ` and ${unknown.length - 3} more` : '';
  throw new UnsupportedError(
    `${model.source ?? 'the model'}: ${unknown.length} field(s) unknown to recipe's TFLite schema would be lost on writing: ${listed.join(', ')}${more}`,
    'the file comes from a newer converter; pass --drop-unknown-fields to write it without them',
  );
}
