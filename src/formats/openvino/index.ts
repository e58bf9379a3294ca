/**
 * OpenVINO IR (v10, v11): `model.xml` and the weights in `model.bin` beside it.
 *
 * How an IR maps onto the graph IR, so that recipes see one shape for all formats:
 * - a layer becomes a Node: `op` = its `type` (Convolution, GroupConvolution,
 *   Add...), `domain` = its `version` (`opset1`...), `name` = its `name`; each
 *   `<data>` attribute becomes a `string` attribute exactly as written
 *   (`strides: "1,1"`); read and set them as numbers with ovIntsAttr, ovFloatAttr,
 *   ovSetAttr...
 * - a `Const` layer becomes a constant Value (dtype from `element_type`, shape
 *   from `shape`, bytes a view of the .bin); a `Parameter` a graph input; a
 *   `Result` a graph output. Their layers stay in `native` and are written back
 *   as the same layers, with the same ids.
 * - an output port becomes a Value named by the first of its `names`, else (for
 *   Parameter and Const) the layer name, else `<layer name>:<port id>`.
 * - model `<rt_info>` becomes Model.metadata, keys joined by `/`
 *   (`conversion_parameters/framework`).
 * Layers, values and constants a rewrite creates get fresh layer ids and are
 * written as new layers; what it does not touch is written back as read.
 */
import * as fs from 'node:fs';
import type { FormatAdapter } from '../adapter';
import type { OvValueNative } from './native';
import type { XmlElement } from './xml';
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
  elementTypeName: (value) => {
    const native = value.native as Partial<OvValueNative> | undefined;
    const data = native?.layer?.children.find((c): c is XmlElement => 'name' in c && c.name === 'data');
    const spelled = data?.attrs.element_type ?? native?.port?.attrs.precision;
    return spelled ? spelled.toLowerCase() : undefined;
  },
};
