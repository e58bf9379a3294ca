import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelError, UsageError } from '../errors';
import type { FormatId, Model } from '../ir/model';
import type { FormatAdapter, ReadOptions, WriteOptions } from './adapter';
import { AtomicOutput, SpecialOutputError } from './atomic';
import { describeFsError, isFsError } from './fs-errors';

export type { FormatAdapter, ReadOptions, WriteOptions, OutputFiles } from './adapter';
export { AtomicOutput, writeAll } from './atomic';
export { describeFsError } from './fs-errors';

/**
 * A codec's adapter that loads the codec on first use. Each codec brings its
 * own parser (flatbuffers and the TFLite schema, the IR's XML reader):
 * a run on one model needs one of them, and loading all three was a good part
 * of the CLI's start. `id` and `extensions` are the codec's own (a test checks).
 */
function lazyAdapter(id: FormatId, extensions: readonly string[], load: () => FormatAdapter): FormatAdapter {
  let codec: FormatAdapter | undefined;
  const loaded = (): FormatAdapter => (codec ??= load());
  return {
    id,
    extensions,
    sniff: (head, file) => loaded().sniff(head, file),
    read: (file, options) => loaded().read(file, options),
    write: (model, out, options) => loaded().write(model, out, options),
    elementTypeName: (value) => loaded().elementTypeName?.(value),
  };
}

export const ADAPTERS: readonly FormatAdapter[] = [
  lazyAdapter('onnx', ['.onnx'], () => (require('./onnx') as typeof import('./onnx')).onnxAdapter),
  lazyAdapter('tflite', ['.tflite'], () => (require('./tflite') as typeof import('./tflite')).tfliteAdapter),
  lazyAdapter('openvino', ['.xml'], () => (require('./openvino') as typeof import('./openvino')).openvinoAdapter),
];

export function adapterFor(id: FormatId): FormatAdapter {
  const a = ADAPTERS.find((x) => x.id === id);
  if (!a) throw new UsageError(`unknown format '${id}'`);
  return a;
}

/**
 * Tells the format of a file from its first bytes, with the extension only to
 * break ties: a `.tflite` that is really ONNX is read as ONNX.
 */
export function detectFormat(file: string): FormatAdapter {
  let head: Uint8Array;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(64);
      const n = fs.readSync(fd, buf, 0, 64, 0);
      head = buf.subarray(0, n);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    throw new ModelError({ file }, describeFsError(e));
  }
  if (head.byteLength === 0) throw new ModelError({ file }, 'file is empty');
  const ext = path.extname(file).toLowerCase();
  // The codecs the extension names are asked first: when one recognises the
  // content, the others are not loaded. Same answer as sniffing all of them.
  const byBoth = ADAPTERS.find((a) => a.extensions.includes(ext) && a.sniff(head, file));
  const found = byBoth ?? ADAPTERS.find((a) => a.sniff(head, file));
  if (!found) {
    const known = ADAPTERS.flatMap((a) => a.extensions).join(', ');
    throw new ModelError({ file }, `not a model this tool reads (looked for ${known} content)`);
  }
  return found;
}

export function readModel(file: string, options?: ReadOptions): Model {
  return detectFormat(file).read(file, options);
}

/** Each format's name with its article, for messages. */
const FORMAT_NAMES: Readonly<Record<FormatId, string>> = { onnx: 'an ONNX', tflite: 'a TFLite', openvino: 'an OpenVINO IR' };

/** The adapter that writes to `file`, by its extension, falling back to the model's own format. */
export function adapterForOutput(file: string, model: Model): FormatAdapter {
  const ext = path.extname(file).toLowerCase();
  const byExt = ADAPTERS.find((a) => a.extensions.includes(ext));
  if (byExt && byExt.id !== model.format) {
    throw new UsageError(`cannot write ${FORMAT_NAMES[model.format]} model as ${ext}: converting between formats is not supported`, `write it as ${ADAPTERS.find((a) => a.id === model.format)?.extensions[0] ?? 'its own format'}`);
  }
  return adapterFor(model.format);
}

/** Writes a model atomically: all of its files appear, or none does. Returns the paths written. */
export function writeModel(model: Model, file: string, options?: WriteOptions): string[] {
  const adapter = adapterForOutput(file, model);
  const out = new AtomicOutput(path.resolve(file));
  try {
    adapter.write(model, out, options);
    const written = out.paths;
    out.commit();
    return written;
  } catch (e) {
    out.abort();
    // A failing file system call (missing folder, no permission, disk full) is
    // a fact about where the model goes, not a bug: say which file and why.
    if (isFsError(e)) throw new ModelError({ file: e.path ?? path.resolve(file) }, `cannot write: ${describeFsError(e)}`);
    if (e instanceof SpecialOutputError) throw new UsageError(`cannot write the model: ${e.message}`, 'write it to a file, or pass --dry-run to write nothing');
    throw e;
  }
}

