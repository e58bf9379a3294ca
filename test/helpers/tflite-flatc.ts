import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeTflite } from '../../src/formats/tflite';
import { FlatbufferReader } from '../../src/formats/tflite/flatbuf/reader';
import { TFLITE_SCHEMA } from '../../src/formats/tflite/schema/schema.generated';
import type * as fb from '../../src/formats/tflite/schema/schema.generated';
import type { Model } from '../../src/ir/model';
import { ROOT } from './corpus';

/** Our TFLite schema, the one flatc dumps files with. */
export const TFLITE_FBS = path.join(ROOT, 'src/formats/tflite/schema/tflite.fbs');

/**
 * The tables of a .tflite file as JSON text, dumped by Debian's flatc with our
 * schema. Scalars are printed with their defaults, so a field written equal to
 * its default and a field left out read the same, as they do for any reader.
 */
export function flatcJson(file: string, workDir: string): string {
  const out = fs.mkdtempSync(path.join(workDir, 'flatc-'));
  execFileSync('flatc', ['--json', '--strict-json', '--raw-binary', '--defaults-json', '-o', out, TFLITE_FBS, '--', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const json = path.join(out, `${path.basename(file, path.extname(file))}.json`);
  const text = fs.readFileSync(json, 'utf8');
  fs.rmSync(out, { recursive: true, force: true });
  return text;
}

/** The first line where two texts differ, with its number, or undefined when they are equal. */
export function firstDifference(a: string, b: string): string | undefined {
  if (a === b) return undefined;
  const la = a.split('\n');
  const lb = b.split('\n');
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    const cut = (t: string | undefined): string => JSON.stringify(t === undefined ? t : t.length > 160 ? `${t.slice(0, 160)}...` : t);
    if (la[i] !== lb[i]) return `line ${i + 1}: ${cut(la[i])} vs ${cut(lb[i])}`;
  }
  return 'texts differ';
}

/** Paths where two JSON values differ (at most `limit` of them). */
export function jsonDifferences(a: unknown, b: unknown, limit = 20, at = '$', out: string[] = []): string[] {
  if (out.length >= limit) return out;
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || (a === null) !== (b === null)) {
    out.push(at);
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push(`${at}.length`);
    for (let i = 0; i < Math.min(a.length, b.length); i++) jsonDifferences(a[i], b[i], limit, `${at}[${i}]`, out);
    return out;
  }
  if (typeof a === 'object' && a !== null && b !== null) {
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    for (const k of new Set([...Object.keys(ao), ...Object.keys(bo)])) jsonDifferences(ao[k], bo[k], limit, `${at}.${k}`, out);
    return out;
  }
  if (a !== b) out.push(at);
  return out;
}

/** A byte vector of a file: where it is in the table tree and its bytes. */
export interface ByteVector {
  where: string;
  bytes: Uint8Array;
}

/**
 * The large byte vectors of a .tflite file, in table order: each buffer's data
 * (by offset/size when stored after the flatbuffer) and each operator's
 * custom options, as views over `bytes`.
 */
export function bigByteVectors(bytes: Uint8Array, file: string): ByteVector[] {
  const root = new FlatbufferReader(bytes, TFLITE_SCHEMA, file).readRoot() as unknown as fb.Model;
  const out: ByteVector[] = [];
  (root.buffers ?? []).forEach((b, i) => {
    const data = b.offset > 1n ? bytes.subarray(Number(b.offset), Number(b.offset + b.size)) : b.data ?? new Uint8Array(0);
    out.push({ where: `buffers[${i}]`, bytes: data });
  });
  (root.subgraphs ?? []).forEach((g, gi) =>
    (g.operators ?? []).forEach((o, oi) => {
      if (o.custom_options) out.push({ where: `subgraphs[${gi}].operators[${oi}].custom_options`, bytes: o.custom_options });
    }),
  );
  return out;
}

/**
 * A copy of a .tflite file whose buffer data and custom options vectors have
 * length 0, so that flatc's JSON dump shows every table but not megabytes of
 * weights one number per line (which is what makes dumping slow). Tests
 * compare those bytes directly, with bigByteVectors.
 */
export function withEmptiedByteVectors(file: string, workDir: string): string {
  const bytes = new Uint8Array(fs.readFileSync(file));
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const vectors = bigByteVectors(bytes, file).filter((v) => v.bytes.byteLength > 0);
  const root = new FlatbufferReader(bytes, TFLITE_SCHEMA, file).readRoot() as unknown as fb.Model;
  const external = new Set((root.buffers ?? []).flatMap((b, i) => (b.offset > 1n ? [`buffers[${i}]`] : [])));
  for (const v of vectors) {
    if (external.has(v.where)) continue;
    dv.setUint32(v.bytes.byteOffset - bytes.byteOffset - 4, 0, true);
  }
  const out = path.join(fs.mkdtempSync(path.join(workDir, 'emptied-')), path.basename(file));
  fs.writeFileSync(out, bytes);
  return out;
}

/**
 * Writes `model` as the TFLite writer encodes it, tables and all, even when
 * it is unchanged (writeModel then writes the file read, as it was): what
 * tests of the encoder itself write.
 */
export function writeEncoded(model: Model, file: string): void {
  const { head, tail } = encodeTflite(model, file);
  const parts: Uint8Array[] = [head];
  tail.writeTo((bytes) => void parts.push(Uint8Array.from(bytes)));
  fs.writeFileSync(file, Buffer.concat(parts));
}
