/**
 * Test helpers for OpenVINO IR: build graphs with the IR API (as a rewrite
 * would), compare two IR files as XML trees, and make deterministic bytes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { readModel, writeModel } from '../../src/formats';
import type { Attr } from '../../src/ir/attr';
import type { DType } from '../../src/ir/dtype';
import { Graph, type Node, type Value } from '../../src/ir/graph';
import { Model } from '../../src/ir/model';
import { Tensor, toFloat16Bits } from '../../src/ir/tensor';
import { seededFloats } from '../e2e/helpers';

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

/** The attributes of an XML start tag, as written. */
function tagAttrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([\w:-]+)="([^"]*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

/**
 * The IR `xml` (with its .bin) as OpenVINO saves a model with
 * `compress_to_fp16` (its default since 2023.1): every f32 Const becomes a
 * Const f16 named `<name>_compressed` and a Convert to f32 marked with the
 * `decompression` rt_info, which takes over the Const's name and readers.
 * With `fp16-ir`, the model is made FP16 throughout instead, as the Model
 * Optimizer's `--data_type FP16` wrote IR for Myriad: f16 Consts read
 * directly, every port and the Parameter f16. Written, from the XML text (not
 * through recipe's codec), beside `xml` as `<name>.fp16.xml` and `.bin`;
 * returns that path.
 */
export function compressToFp16(xml: string, form: 'compressed' | 'fp16-ir' = 'compressed'): string {
  const text = fs.readFileSync(xml, 'utf8');
  const bin = fs.readFileSync(xml.replace(/\.xml$/, '.bin'));
  const chunks: Buffer[] = [];
  let offset = 0;
  const append = (bytes: Buffer): number => {
    const at = offset;
    chunks.push(bytes);
    offset += bytes.byteLength;
    return at;
  };
  let nextId = Math.max(...[...text.matchAll(/<layer\b[^>]*\bid="(\d+)"/g)].map((m) => Number(m[1]))) + 1;
  const moved = new Map<string, string>(); // "layer:port" of a Const -> "layer:port" of its Convert
  const converts: string[] = [];
  const layers = text.replace(/([ \t]*)<layer\b([^>]*)>([\s\S]*?)<\/layer>/g, (whole, indent: string, head: string, body: string) => {
    const attrs = tagAttrs(head);
    if (attrs.type !== 'Const') return whole;
    const dataTag = /<data\b[^>]*\/>/.exec(body)![0];
    const data = tagAttrs(dataTag);
    const bytes = bin.subarray(Number(data.offset), Number(data.offset) + Number(data.size));
    if (data.element_type !== 'f32') {
      const at = append(Buffer.from(bytes));
      return whole.replace(dataTag, dataTag.replace(/offset="\d+"/, `offset="${at}"`));
    }
    const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const halves = new Uint16Array(floats.length);
    for (let i = 0; i < floats.length; i++) halves[i] = toFloat16Bits(floats[i]!);
    const at = append(Buffer.from(halves.buffer));
    if (form === 'fp16-ir') {
      return whole.replace(dataTag, dataTag.replace('element_type="f32"', 'element_type="f16"').replace(/offset="\d+"/, `offset="${at}"`).replace(/size="\d+"/, `size="${halves.byteLength}"`));
    }
    const port = /<port\b([^>]*)>([\s\S]*?)<\/port>/.exec(body)!;
    const portId = tagAttrs(port[1]!).id!;
    const dims = port[2]!;
    const id = String(nextId++);
    moved.set(`${attrs.id}:${portId}`, `${id}:1`);
    converts.push(`${indent}\t<edge from-layer="${attrs.id}" from-port="${portId}" to-layer="${id}" to-port="0"/>`);
    const constLayer = whole
      .replace(`name="${attrs.name}"`, `name="${attrs.name}_compressed"`)
      .replace(dataTag, dataTag.replace('element_type="f32"', 'element_type="f16"').replace(/offset="\d+"/, `offset="${at}"`).replace(/size="\d+"/, `size="${halves.byteLength}"`))
      .replace(/precision="FP32"/, 'precision="FP16"');
    const convert = [
      `${indent}<layer id="${id}" name="${attrs.name}" type="Convert" version="opset1">`,
      `${indent}\t<data destination_type="f32"/>`,
      `${indent}\t<rt_info>`,
      `${indent}\t\t<attribute name="decompression" version="0"/>`,
      `${indent}\t</rt_info>`,
      `${indent}\t<input>`,
      `${indent}\t\t<port id="0" precision="FP16">${dims}</port>`,
      `${indent}\t</input>`,
      `${indent}\t<output>`,
      `${indent}\t\t<port id="1" precision="FP32">${dims}</port>`,
      `${indent}\t</output>`,
      `${indent}</layer>`,
    ].join('\n');
    return `${constLayer}\n${convert}`;
  });
  const edges = layers
    .replace(/<edge\b([^>]*)\/>/g, (edge, head: string) => {
      const a = tagAttrs(head);
      const to = moved.get(`${a['from-layer']}:${a['from-port']}`);
      if (!to) return edge;
      const [layer, port] = to.split(':');
      return edge.replace(`from-layer="${a['from-layer']}"`, `from-layer="${layer}"`).replace(`from-port="${a['from-port']}"`, `from-port="${port}"`);
    })
    .replace(/([ \t]*)<\/edges>/, (close, indent: string) => `${converts.map((e) => e.replace(/^[ \t]*/, `${indent}\t`)).join('\n')}\n${close}`);
  const out = xml.replace(/\.xml$/, '.fp16.xml');
  fs.writeFileSync(out, form === 'fp16-ir' ? edges.replace(/precision="FP32"/g, 'precision="FP16"').replace(/element_type="f32"/g, 'element_type="f16"') : edges);
  fs.writeFileSync(out.replace(/\.xml$/, '.bin'), Buffer.concat(chunks));
  return out;
}

/**
 * Writes an IR file x -> one layer (Abs unless `op` says) -> Result whose ports have the `<dim>`
 * texts `dims` (the Parameter's port also `parameterRtInfo`), and an empty .bin beside it.
 */
export function writeOneLayerIr(xml: string, spec: { dims: readonly string[]; parameterShape: string; op?: string; parameterRtInfo?: string }): string {
  const port = (id: number, names = '', rt = ''): string => `<port id="${id}" precision="FP32"${names}>${spec.dims.map((d) => `<dim>${d}</dim>`).join('')}${rt}</port>`;
  fs.writeFileSync(
    xml,
    `<?xml version="1.0"?>
<net name="a" version="11">
  <layers>
    <layer id="0" name="x" type="Parameter" version="opset1"><data shape="${spec.parameterShape}" element_type="f32"/><output>${port(0, ' names="x"', spec.parameterRtInfo)}</output></layer>
    <layer id="1" name="a" type="${spec.op ?? 'Abs'}" version="opset1"><input>${port(0)}</input><output>${port(1, ' names="y"')}</output></layer>
    <layer id="2" name="out" type="Result" version="opset1"><input>${port(0)}</input></layer>
  </layers>
  <edges><edge from-layer="0" from-port="0" to-layer="1" to-port="0"/><edge from-layer="1" from-port="1" to-layer="2" to-port="0"/></edges>
</net>
`,
  );
  fs.writeFileSync(xml.replace(/\.xml$/, '.bin'), '');
  return xml;
}

/**
 * An IR topology whose .bin is not published (intel/openvino-rs's MobileNet
 * and Inception) with weights, written by recipe's own writer into a new
 * folder under `work`: every float constant gets small seeded values, the few
 * integer ones (a Transpose order, Squeeze axes, a Reshape target) the values
 * the XML's port dimensions imply. With `dynamicBatch`, every port's first
 * dimension is dynamic, as in an IR converted from a dynamic-batch export.
 */
export function withSeededWeights(xml: string, work: string, dynamicBatch = false): string {
  const dir = fs.mkdtempSync(path.join(work, 'w-'));
  const staged = path.join(dir, 'structure.xml');
  fs.copyFileSync(xml, staged);
  fs.writeFileSync(staged.replace(/\.xml$/, '.bin'), Buffer.alloc(binSizeNeeded(xml)));
  const model = readModel(staged);
  let seed = 1;
  for (const v of model.graph.values) {
    const c = v.const;
    if (!c) continue;
    if (c.dtype === 'float32' || c.dtype === 'float16') {
      v.const = Tensor.from(c.dtype, [...c.shape], seededFloats(c.size, seed++, -0.1, 0.1));
      continue;
    }
    const reader = v.uses[0]?.node;
    if (!reader) continue;
    v.const = Tensor.from(c.dtype, [...c.shape], integerInput(reader, c.size, dynamicBatch));
  }
  if (dynamicBatch) for (const v of model.graph.values) if (!v.const && v.shape && v.shape.length > 0) v.shape = [null, ...v.shape.slice(1)];
  const out = path.join(dir, `${path.basename(xml, '.xml')}.xml`);
  writeModel(model, out);
  return out;
}

/** The integer input of `node` its declared input and output dimensions imply. */
function integerInput(node: Node, size: number, dynamicBatch: boolean): number[] {
  const from = node.inputs[0]!.shape as number[];
  const to = node.outputs[0]!.shape as number[];
  if (node.op === 'Reshape') return dynamicBatch ? [-1, ...to.slice(1)] : [...to];
  if (node.op === 'Squeeze') {
    // The dimensions of size 1 that disappear, the last ones first.
    const axes: number[] = [];
    for (let i = from.length - 1; i >= (dynamicBatch ? 1 : 0) && axes.length < size; i--) if (from[i] === 1) axes.unshift(i);
    return axes;
  }
  if (node.op === 'Transpose') {
    const used = new Set<number>();
    return to.map((d) => {
      const k = from.findIndex((e, j) => e === d && !used.has(j));
      used.add(k);
      return k;
    });
  }
  throw new Error(`no integer input known for ${node.op} '${node.name}'`);
}
