import * as fs from 'node:fs';
import type { FormatAdapter } from '../adapter';
import { readOpenvino } from './read';
import { writeOpenvino } from './write';

export { ovFloatAttr, ovFloatsAttr, ovIntAttr, ovIntsAttr, ovSetAttr, ovStringAttr, formatOvAttr } from './attrs';
export { binPathFor, readOpenvino } from './read';
export { buildOpenvino, writeOpenvino, type OpenvinoImage } from './write';

/**
 * True when the head of a file is XML whose root element is `<net`: a byte
 * order mark, an XML declaration, comments and whitespace may come first. When
 * the head ends inside that prolog, up to 4 KiB of `path` are read to decide.
 */
export function sniffOpenvino(head: Uint8Array, path?: string): boolean {
  const verdict = rootIsNet(head);
  if (verdict !== 'more' || !path) return verdict === 'yes';
  try {
    const fd = fs.openSync(path, 'r');
    try {
      const buf = Buffer.alloc(4096);
      const n = fs.readSync(fd, buf, 0, buf.byteLength, 0);
      return rootIsNet(buf.subarray(0, n)) === 'yes';
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}

function rootIsNet(head: Uint8Array): 'yes' | 'no' | 'more' {
  let text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('latin1');
  if (text.startsWith('\u00ef\u00bb\u00bf')) text = text.slice(3);
  for (;;) {
    text = text.replace(/^\s+/, '');
    if (text.startsWith('<?') || text.startsWith('<!--')) {
      const close = text.startsWith('<?') ? '?>' : '-->';
      const end = text.indexOf(close);
      if (end < 0) return 'more';
      text = text.slice(end + close.length);
    } else break;
  }
  if (/^<net[\s>/]/.test(text)) return 'yes';
  return text.length < 5 && '<net'.startsWith(text.slice(0, 4)) ? 'more' : 'no';
}

/** OpenVINO IR: `model.xml` with its weights in `model.bin` beside it. */
export const openvinoAdapter: FormatAdapter = {
  id: 'openvino',
  extensions: ['.xml'],
  sniff: (head, path) => sniffOpenvino(head, path),
  read: (path, options) => readOpenvino(path, options),
  write: (model, out) => writeOpenvino(model, out),
};
