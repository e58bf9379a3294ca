import { UnsupportedError } from '../../errors';
import type { Model } from '../../ir/model';
import type { FormatAdapter } from '../adapter';
import { writeAll } from '../atomic';
import { tfliteUnknownFields } from './native';
import { readTflite } from './read';
import { encodeTflite } from './write';

export { decodeTflite, readTflite } from './read';
export { encodeTflite } from './write';
export { tfliteQuantization, tfliteUnknownFields, type TfliteQuantization } from './native';

/**
 * TensorFlow Lite flatbuffers (`.tflite`), recognised by the file identifier `TFL3` at bytes 4..8.
 * `Model.metadata` holds the file's Metadata entries whose buffer is short text
 * (src/formats/tflite/metadata.ts); binary ones are kept as read.
 */
export const tfliteAdapter: FormatAdapter = {
  id: 'tflite',
  extensions: ['.tflite'],
  sniff(head) {
    return head.byteLength >= 8 && head[4] === 0x54 && head[5] === 0x46 && head[6] === 0x4c && head[7] === 0x33;
  },
  read(path) {
    return readTflite(path);
  },
  write(model, out, options) {
    refuseLosingUnknownFields(model, options?.dropUnknownFields === true);
    const { head, tail } = encodeTflite(model, out.mainPath);
    const fd = out.open(out.mainPath);
    writeAll(fd, head);
    tail.writeTo((bytes) => writeAll(fd, bytes));
  },
};

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
