import type { FormatAdapter } from '../adapter';
import { writeAll } from '../atomic';
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
  write(model, out) {
    const { head, tail } = encodeTflite(model, out.mainPath);
    const fd = out.open(out.mainPath);
    writeAll(fd, head);
    tail.writeTo((bytes) => writeAll(fd, bytes));
  },
};
