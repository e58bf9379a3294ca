/**
 * Test helpers for OpenVINO IR: build graphs with the IR API (as a rewrite
 * would), compare two IR files as XML trees, and make deterministic bytes.
 */
import * as fs from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import type { Attr } from '../../src/ir/attr';
import type { DType } from '../../src/ir/dtype';
import { Graph, type Node, type Value } from '../../src/ir/graph';
import { Model } from '../../src/ir/model';
import { Tensor } from '../../src/ir/tensor';

/** A fresh OpenVINO model with an empty main graph. */
export function newOvModel(name: string): Model {
  return new Model('openvino', new Graph(name));
}

export function ovParam(g: Graph, name: string, shape: number[], dtype: DType = 'float32'): Value {
  const v = g.addValue(name, { dtype, shape });
  g.inputs.push(v);
  return v;
}

export function ovConst(g: Graph, name: string, dtype: DType, shape: number[], values: ArrayLike<number>): Value {
  return g.addConstant(name, Tensor.from(dtype, shape, values));
}

/** Adds layer `op` of `opset` with string `<data>` attributes; each output gets a shape. */
export function ovOp(
  g: Graph,
  op: string,
  opset: string,
  inputs: Value[],
  outShapes: number[][],
  attrs: Record<string, string> = {},
  name?: string,
): Node {
  const base = name ?? g.uniqueName(op.toLowerCase());
  const outputs = outShapes.map((shape, i) => g.addValue(outShapes.length === 1 ? `${base}_out` : `${base}_out${i}`, { dtype: inputs[0]?.dtype ?? 'float32', shape }));
  const a = new Map<string, Attr>(Object.entries(attrs).map(([k, v]) => [k, { kind: 'string', value: v }]));
  return g.addNode({ op, domain: opset, name: base, inputs, outputs, attrs: a });
}

/** Deterministic pseudo-random bytes (xorshift32), the same for the same seed. */
export function pseudoRandomBytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  const words = new Uint32Array(out.buffer, 0, Math.floor(size / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  for (let i = words.length * 4; i < size; i++) out[i] = (i * 131 + seed) & 0xff;
  return out;
}

/** Deterministic float32 values in [-1, 1). */
export function pseudoRandomFloats(n: number, seed: number): Float32Array {
  const bytes = pseudoRandomBytes(n * 4, seed);
  const u = new Uint32Array(bytes.buffer);
  return Float32Array.from(u, (x) => x / 2 ** 31 - 1);
}

/** A plain object tree of an XML file, independent of the codec's own parser: for comparing IR files. */
export function xmlTreeOf(file: string): unknown {
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: true,
    ignoreDeclaration: true,
  });
  return parser.parse(fs.readFileSync(file, 'utf8'));
}

/** Every Const layer of an IR tree: id -> { offset, size } (from its `<data>`). */
export function constRanges(tree: unknown): Map<string, { offset: number; size: number; name: string }> {
  const out = new Map<string, { offset: number; size: number; name: string }>();
  const walk = (nodes: unknown): void => {
    if (!Array.isArray(nodes)) return;
    for (const n of nodes as Record<string, unknown>[]) {
      const attrs = (n[':@'] ?? {}) as Record<string, string>;
      if ('layer' in n && attrs.type === 'Const') {
        const data = (n.layer as Record<string, unknown>[]).find((c) => 'data' in c);
        const d = (data?.[':@'] ?? {}) as Record<string, string>;
        out.set(attrs.id ?? '', { offset: Number(d.offset), size: Number(d.size), name: attrs.name ?? '' });
      }
      for (const [k, v] of Object.entries(n)) if (k !== ':@') walk(v);
    }
  };
  walk(tree);
  return out;
}

/** The largest offset + size any Const of an IR file asks of its .bin. */
export function binSizeNeeded(xmlFile: string): number {
  let max = 0;
  for (const r of constRanges(xmlTreeOf(xmlFile)).values()) max = Math.max(max, r.offset + r.size);
  return max;
}
