import * as fs from 'node:fs';
import { ModelError, UnsupportedError } from '../../errors';
import type { Attr } from '../../ir/attr';
import type { DType } from '../../ir/dtype';
import { Graph, type Dim, type Node, type Shape, type Value } from '../../ir/graph';
import { Model, type MetadataEntry } from '../../ir/model';
import { StringData, Tensor, type TensorData } from '../../ir/tensor';
import type { ReadOptions } from '../adapter';
import { describeFsError } from '../fs-errors';
import { BinFile } from './bin';
import { dtypeOfElementType, dtypeOfPrecision, elementTypeBytes } from './element-types';
import {
  BODY_TAGS,
  signature,
  type OvGraphNative,
  type OvModelNative,
  type OvNodeNative,
  type OvResultNative,
  type OvValueNative,
} from './native';
import {
  childElement,
  childElements,
  detectStyle,
  isElement,
  parseXml,
  textOf,
  XmlSyntaxError,
  type XmlDocument,
  type XmlElement,
} from './xml';

/** The `.bin` that belongs to an IR `.xml`: same folder, same base name. */
export function binPathFor(xmlPath: string): string {
  return /\.xml$/i.test(xmlPath) ? xmlPath.replace(/\.xml$/i, '.bin') : `${xmlPath}.bin`;
}

/** Splits a port's `names` attribute: comma-separated, `\,` for a comma inside a name. */
export function splitNames(names: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < names.length; i++) {
    const c = names[i]!;
    if (c === '\\' && names[i + 1] === ',') {
      cur += ',';
      i++;
    } else if (c === ',') {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  out.push(cur.trim());
  return out.filter((n) => n !== '');
}

/** The inverse of splitNames. */
export function joinNames(names: readonly string[]): string {
  return names.map((n) => n.replace(/,/g, '\\,')).join(',');
}

interface Port {
  id: string;
  el: XmlElement;
}

interface Layer {
  el: XmlElement;
  order: number;
  id: string;
  name: string;
  type: string;
  inputs: Port[];
  outputs: Port[];
}

/** Reads an IR `.xml` and its `.bin` into a Model. */
export function readOpenvino(file: string, options: ReadOptions = {}): Model {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ModelError({ file }, describeFsError(e));
  }
  let doc: XmlDocument;
  try {
    doc = parseXml(text);
  } catch (e) {
    if (e instanceof XmlSyntaxError) {
      throw new ModelError({ file, path: `line ${e.line}, column ${e.col}` }, `malformed XML: ${e.message}`);
    }
    throw e;
  }
  return new IrReader(file, text, doc, options).read();
}

class IrReader {
  private readonly layers: Layer[] = [];
  private readonly byId = new Map<string, Layer>();
  private bin?: BinFile;

  constructor(
    private readonly file: string,
    private readonly text: string,
    private readonly doc: XmlDocument,
    private readonly options: ReadOptions,
    /** The reader of the net around a body (TensorIterator, Loop): its .bin holds the body's constants. */
    private readonly outer?: IrReader,
  ) {}

  private fail(reason: string, layer?: { id: string; name: string }, hint?: string): never {
    throw new ModelError({ file: this.file, node: layer ? layerLabel(layer) : undefined }, reason, hint);
  }

  read(): Model {
    const net = this.doc.root;
    if (net.name !== 'net') this.fail(`the root element is <${net.name}>, not <net>: not an OpenVINO IR file`);
    const version = Number(net.attrs.version ?? '');
    if (!/^\s*\d+\s*$/.test(net.attrs.version ?? '') || !Number.isSafeInteger(version)) {
      this.fail(net.attrs.version === undefined ? '<net> has no version attribute (the IR version)' : `<net> has no valid IR version (version="${net.attrs.version}")`);
    }
    if (version < 10) {
      throw new UnsupportedError(`${this.file}: IR version ${version} is not supported (10 and 11 are)`);
    }
    const { graph, maxId, edgeOrder, opsets, results } = this.readLayers(net, net.attrs.name ?? 'main');
    const model = new Model('openvino', graph);
    model.source = this.file;
    const graphNative: OvGraphNative = { kind: 'ov-graph', results: results.map((x) => x.native) };
    graph.native = graphNative;

    model.opsets = [...opsets]
      .map((d) => ({ domain: d, version: Number(/(\d+)$/.exec(d)?.[1] ?? 0) }))
      .sort((a, b) => a.version - b.version || a.domain.localeCompare(b.domain));
    model.metadata = flattenRtInfo(childElement(net, 'rt_info'));
    const producerVersion = model.getMetadata('Runtime_version') ?? model.getMetadata('MO_version') ?? metaDataVersion(net);
    if (producerVersion !== undefined) model.producer = { name: 'OpenVINO', version: producerVersion };
    const native: OvModelNative = {
      kind: 'ov-model',
      doc: this.doc,
      text: this.text,
      style: detectStyle(this.text),
      irVersion: version,
      maxLayerId: maxId,
      edgeOrder,
      metadataAtRead: model.metadata.map((m) => ({ ...m })),
      ...(this.bin ? { bin: { whole: this.bin.whole(), ranges: this.bin.ranges() } } : {}),
    };
    model.native = native;
    return model;
  }

  /**
   * A body of a TensorIterator, Loop or If layer as a graph. Its native keeps
   * the element read and the Result layers, so that `ovBody` finds the
   * Parameters and Results the layer's port_map and back_edges name, and the
   * writer writes an unchanged body back as it was.
   */
  readBody(body: XmlElement, name: string): Graph {
    const { graph, results, maxId, edgeOrder } = this.readLayers(body, name);
    const native: OvGraphNative = { kind: 'ov-graph', results: results.map((x) => x.native), body: { element: body, maxLayerId: maxId, edgeOrder } };
    graph.native = native;
    return graph;
  }

  /** The graph of the `<layers>` and `<edges>` of a `<net>` or a `<body>`. */
  private readLayers(container: XmlElement, graphName: string) {
    const where = `<${container.name}>`;
    const layersEl = childElement(container, 'layers');
    if (!layersEl) this.fail(`${where} has no <layers>`);
    let maxId = -1;
    childElements(layersEl, 'layer').forEach((el, order) => {
      const layer = this.parseLayer(el, order);
      if (this.byId.has(layer.id)) this.fail(`layer id ${layer.id} is used twice`, layer);
      this.byId.set(layer.id, layer);
      this.layers.push(layer);
      const n = Number(layer.id);
      if (Number.isSafeInteger(n) && n > maxId) maxId = n;
    });

    // Edges: from an output port to an input port, at most one per input port.
    const incoming = new Map<Layer, (readonly [Layer, Port] | undefined)[]>();
    const edgeOrder = new Map<string, number>();
    const edgesEl = childElement(container, 'edges');
    childElements(edgesEl ?? { name: 'edges', attrs: {}, children: [] }, 'edge').forEach((e, i) => {
      const fromId = e.attrs['from-layer'] ?? '';
      const toId = e.attrs['to-layer'] ?? '';
      const from = this.byId.get(fromId);
      const to = this.byId.get(toId);
      const describe = `edge ${i} (from-layer ${fromId} port ${e.attrs['from-port'] ?? '?'} to-layer ${toId} port ${e.attrs['to-port'] ?? '?'})`;
      if (!from) this.fail(`${describe} starts at a layer that does not exist`, to);
      if (!to) this.fail(`${describe} ends at a layer that does not exist`, from);
      const outIndex = from.outputs.findIndex((p) => p.id === e.attrs['from-port']);
      if (outIndex < 0) this.fail(`${describe}: the layer has no output port ${e.attrs['from-port'] ?? '?'}`, from);
      const inIndex = to.inputs.findIndex((p) => p.id === e.attrs['to-port']);
      if (inIndex < 0) this.fail(`${describe}: the layer has no input port ${e.attrs['to-port'] ?? '?'}`, to);
      const list = incoming.get(to) ?? [];
      if (list[inIndex]) this.fail(`input port ${e.attrs['to-port'] ?? '?'} has more than one incoming edge`, to);
      list[inIndex] = [from, from.outputs[outIndex]!];
      incoming.set(to, list);
      edgeOrder.set(`${fromId}:${e.attrs['from-port'] ?? ''}->${toId}:${e.attrs['to-port'] ?? ''}`, i);
    });

    const order = this.topologicalOrder(incoming);
    const graph = new Graph(graphName);
    const produced = new Map<string, Value>(); // `${layer id}:${port id}` -> value
    const results: OvResultNative[] = [];
    const resultValues: Value[] = [];
    const opsets = new Set<string>();

    for (const layer of order) {
      const version = layer.el.attrs.version;
      if (version) opsets.add(version);
      // An input port without an edge reads null (Array.from: the edge list has holes there, which map() would keep).
      const srcs = incoming.get(layer) ?? [];
      const ins = Array.from({ length: Math.max(layer.inputs.length, srcs.length) }, (_, i) => {
        const src = srcs[i];
        return src ? produced.get(`${src[0].id}:${src[1].id}`) ?? null : null;
      });
      if (layer.type === 'Parameter') {
        const port = this.singleOutput(layer);
        // shape="..." is a dynamic rank, which a port (no <dim>s) cannot tell from a scalar.
        const shape = dataOf(layer)?.attrs.shape?.trim() === '...' ? undefined : this.portShape(layer, port);
        const dtype = this.portDType(layer, port) ?? dtypeOfElementType(layer.el.attrs.element_type ?? dataOf(layer)?.attrs.element_type ?? '');
        const { name, fromNames } = this.valueName(layer, port, layer.name);
        const v = graph.addValue(name, { dtype, shape });
        v.native = this.valueNative('ov-parameter', v, port.el, fromNames, layer);
        graph.inputs.push(v);
        produced.set(`${layer.id}:${port.id}`, v);
      } else if (layer.type === 'Const') {
        const port = this.singleOutput(layer);
        const tensor = this.constTensor(layer, port);
        const { name, fromNames } = this.valueName(layer, port, layer.name);
        const v = graph.addConstant(name, tensor.tensor);
        v.native = { ...this.valueNative('ov-const', v, port.el, fromNames, layer), tensor: tensor.tensor, stored: tensor.stored };
        produced.set(`${layer.id}:${port.id}`, v);
      } else if (layer.type === 'Result') {
        const input = ins[0];
        if (!input || layer.inputs.length !== 1) this.fail('a Result layer needs exactly one connected input', layer);
        results.push({ layer: layer.el, order: layer.order, inputAtRead: input, inputSig: signature(input) });
        resultValues.push(input);
      } else {
        const node = this.addNode(graph, layer, ins);
        layer.outputs.forEach((port, i) => produced.set(`${layer.id}:${port.id}`, node.output(i)));
      }
    }
    // Graph outputs follow the document order of the Result layers.
    const byOrder = results.map((r, i) => ({ native: r, value: resultValues[i]! })).sort((a, b) => a.native.order - b.native.order);
    graph.outputs = byOrder.map((x) => x.value);
    return { graph, maxId, edgeOrder, opsets, results: byOrder };
  }

  private parseLayer(el: XmlElement, order: number): Layer {
    const id = el.attrs.id;
    const name = el.attrs.name ?? '';
    const type = el.attrs.type;
    if (id === undefined || !/^\d+$/.test(id)) this.fail(`layer number ${order} has no valid id (id="${id ?? ''}")`, { id: id ?? '?', name });
    if (!type) this.fail('the layer has no type', { id, name });
    const ports = (section: string): Port[] => {
      const s = childElement(el, section);
      return s ? childElements(s, 'port').map((p) => ({ id: p.attrs.id ?? '', el: p })) : [];
    };
    const layer: Layer = { el, order, id, name, type, inputs: ports('input'), outputs: ports('output') };
    const seen = new Set<string>();
    for (const p of [...layer.inputs, ...layer.outputs]) {
      if (!/^\d+$/.test(p.id)) this.fail(`a port has no valid id (id="${p.id}")`, layer);
      if (seen.has(p.id)) this.fail(`port id ${p.id} is used twice`, layer);
      seen.add(p.id);
    }
    return layer;
  }

  /** Kahn's algorithm, taking ready layers in document order; a layer left over sits on a cycle. */
  private topologicalOrder(incoming: Map<Layer, (readonly [Layer, Port] | undefined)[]>): Layer[] {
    const pending = new Map<Layer, number>();
    const readers = new Map<Layer, Layer[]>();
    for (const layer of this.layers) {
      const srcs = (incoming.get(layer) ?? []).filter((s): s is readonly [Layer, Port] => s !== undefined);
      pending.set(layer, srcs.length);
      for (const [src] of srcs) {
        const r = readers.get(src) ?? [];
        r.push(layer);
        readers.set(src, r);
      }
    }
    const ready = new LayerHeap();
    for (const l of this.layers) if (pending.get(l) === 0) ready.push(l);
    const out: Layer[] = [];
    for (let layer = ready.pop(); layer; layer = ready.pop()) {
      out.push(layer);
      for (const r of readers.get(layer) ?? []) {
        const left = pending.get(r)! - 1;
        pending.set(r, left);
        if (left === 0) ready.push(r);
      }
    }
    if (out.length !== this.layers.length) {
      const stuck = this.layers.find((l) => (pending.get(l) ?? 0) > 0)!;
      this.fail('the edges form a cycle through this layer', stuck);
    }
    return out;
  }

  private singleOutput(layer: Layer): Port {
    const port = layer.outputs[0];
    if (!port || layer.outputs.length !== 1) this.fail(`a ${layer.type} layer needs exactly one output port`, layer);
    return port;
  }

  private portShape(layer: Layer, port: Port): Shape {
    return childElements(port.el, 'dim').map((d) => {
      const t = textOf(d).trim();
      // A bounded dimension (`1..10`, `..5`) is dynamic too: the graph has no bounds, only names, which would make two equal.
      if (t === '-1' || t === '?' || t === '' || /^\d*\.\.\d*$/.test(t)) return null;
      if (/^\d+$/.test(t)) return Number(t);
      if (/^-?\d+$/.test(t)) this.fail(`port ${port.id} has a negative dimension ${t}`, layer);
      return t as Dim;
    });
  }

  private portDType(layer: Layer, port: Port): DType | undefined {
    const p = port.el.attrs.precision;
    // UNSPECIFIED (and `dynamic`) is what OpenVINO writes for an element type it does not know.
    if (!p || /^(unspecified|dynamic|undefined)$/i.test(p)) return undefined;
    return dtypeOfPrecision(p) ?? 'undefined';
  }

  private valueName(layer: Layer, port: Port, fallback?: string): { name: string; fromNames: boolean } {
    const names = port.el.attrs.names;
    const first = names !== undefined ? splitNames(names)[0] : undefined;
    if (first !== undefined) return { name: first, fromNames: true };
    return { name: fallback ?? `${layer.name}:${port.id}`, fromNames: false };
  }

  private valueNative(kind: OvValueNative['kind'], v: Value, port: XmlElement, fromNames: boolean, layer?: Layer): OvValueNative {
    return { kind, port, readName: v.name, fromNames, sig: signature(v), layer: layer?.el, order: layer?.order };
  }

  private addNode(graph: Graph, layer: Layer, ins: (Value | null)[]): Node {
    const data = dataOf(layer);
    const attrs = new Map<string, Attr>();
    if (data) for (const [k, v] of Object.entries(data.attrs)) attrs.set(k, { kind: 'string', value: v });
    const bodies = this.readBodies(layer, attrs);
    const outputs = layer.outputs.map((port) => {
      const { name, fromNames } = this.valueName(layer, port);
      const dtype = this.portDType(layer, port);
      // A port with neither precision nor dims says nothing of its type (our
      // writer emits one for a value a rewrite left undeclared): not a scalar.
      const untyped = dtype === undefined && childElements(port.el, 'dim').length === 0;
      const v = graph.addValue(name, { dtype, shape: untyped ? undefined : this.portShape(layer, port) });
      v.native = this.valueNative('ov-port', v, port.el, fromNames);
      return v;
    });
    const native: OvNodeNative = {
      kind: 'ov-node',
      layer: layer.el,
      order: layer.order,
      inputsAtRead: [...ins],
      inputSigs: ins.map((v) => signature(v)),
      nestedConsts: bodies.opaqueBodies ? this.nestedConsts(layer) : [],
      ...bodies,
    };
    return graph.addNode({ op: layer.type, domain: layer.el.attrs.version ?? '', name: layer.name, inputs: ins, outputs, attrs, native });
  }

  /**
   * The bodies of a TensorIterator, Loop or If layer, read into graphs (the
   * node's graph attributes, by tag), where rules reach as into any subgraph.
   * A body that does not read leaves all of the layer's bodies opaque: the
   * model still reads, the layer is written back as read, and what needs the
   * body (recipe verify) reports why.
   */
  private readBodies(layer: Layer, attrs: Map<string, Attr>): Pick<OvNodeNative, 'opaqueBodies'> {
    const read = new Map<string, Graph>();
    for (const tag of BODY_TAGS) {
      const el = childElement(layer.el, tag);
      if (!el) continue;
      try {
        read.set(tag, new IrReader(this.file, this.text, this.doc, this.options, this).readBody(el, `${layer.name}/${tag}`));
      } catch (e) {
        if (!(e instanceof ModelError || e instanceof UnsupportedError)) throw e;
        return { opaqueBodies: e };
      }
    }
    for (const [tag, graph] of read) attrs.set(tag, { kind: 'graph', value: graph });
    return {};
  }

  private weights(layer: Layer): BinFile {
    if (this.outer) return this.outer.weights(layer);
    if (!this.bin) {
      const binPath = binPathFor(this.file);
      try {
        this.bin = new BinFile(binPath, this.options.eagerExternalData ?? false);
      } catch (e) {
        if (e instanceof ModelError) throw e;
        throw new ModelError(
          { file: this.file, node: layerLabel(layer) },
          `Const data needs the weights file ${binPath}: ${describeFsError(e)}`,
        );
      }
    }
    return this.bin;
  }

  /** Checks a Const's offset/size against the .bin (never trusting either) and views its bytes. */
  private constData(layer: Pick<Layer, 'id' | 'name'>, data: XmlElement, owner: Layer): { data: TensorData; offset: number; size: number } {
    const offset = parseCount(data.attrs.offset);
    const size = parseCount(data.attrs.size);
    if (offset === undefined || size === undefined) {
      this.fail(`Const <data> needs offset and size as non-negative integers (offset="${data.attrs.offset ?? ''}" size="${data.attrs.size ?? ''}")`, layer);
    }
    const bin = this.weights(owner);
    if (offset + size > bin.size) {
      this.fail(`Const bytes [${offset}, ${offset + size}) lie past the end of ${bin.path} (${bin.size} bytes)`, layer);
    }
    return { data: bin.range(offset, size), offset, size };
  }

  private constTensor(layer: Layer, port: Port): { tensor: Tensor; stored: TensorData } {
    const data = dataOf(layer);
    if (!data) this.fail('a Const layer needs a <data> element', layer);
    const elementType = data.attrs.element_type ?? '';
    const shapeText = data.attrs.shape;
    let shape: number[];
    if (shapeText !== undefined) {
      shape = shapeText.trim() === '' ? [] : shapeText.split(',').map((s) => parseCount(s.trim()) ?? NaN);
    } else {
      shape = this.portShape(layer, port).map((d) => (typeof d === 'number' ? d : NaN));
    }
    if (shape.some((d) => Number.isNaN(d))) this.fail(`a Const needs a static shape (shape="${shapeText ?? ''}")`, layer);
    const { data: stored, size, offset } = this.constData(layer, data, layer);
    const dtype = dtypeOfElementType(elementType);
    if (dtype === 'string') {
      const strings = unpackStrings(stored.bytes(), shape.reduce((a, b) => a * b, 1));
      if (!strings) this.fail(`the packed strings of this Const at byte ${offset} of the weights file are malformed`, layer);
      return { tensor: new Tensor('string', shape, new StringData(strings)), stored };
    }
    const need = elementTypeBytes(elementType, shape.reduce((a, b) => a * b, 1));
    if (need === undefined) this.fail(`unknown element_type "${elementType}"`, layer);
    if (size < need) this.fail(`Const of ${elementType}[${shape.join(',')}] needs ${need} bytes but size is ${size}`, layer);
    return { tensor: new Tensor(dtype ?? 'undefined', shape, stored), stored };
  }

  private nestedConsts(layer: Layer): { path: number[]; data: TensorData }[] {
    const out: { path: number[]; data: TensorData }[] = [];
    const walk = (el: XmlElement, path: number[], inLayers: boolean): void => {
      el.children.forEach((c, i) => {
        if (!isElement(c)) return;
        if (inLayers && c.name === 'layer' && c.attrs.type === 'Const') {
          const di = c.children.findIndex((x) => isElement(x) && x.name === 'data');
          const data = c.children[di];
          if (data && isElement(data) && data.attrs.offset !== undefined) {
            const inner = { id: c.attrs.id ?? '?', name: `${layer.name}/${c.attrs.name ?? ''}` };
            out.push({ path: [...path, i, di], data: this.constData(inner, data, layer).data });
          }
        }
        walk(c, [...path, i], c.name === 'layers');
      });
    };
    walk(layer.el, [], false);
    return out;
  }
}

/** How errors name a layer: its name and its id, both of which a user can search the XML for. */
export function layerLabel(layer: { id: string; name: string }): string {
  return `${layer.name} (layer id ${layer.id})`;
}


/** A min-heap of layers by document position: Kahn's algorithm takes the earliest ready layer in O(log n). */
class LayerHeap {
  private readonly items: Layer[] = [];

  push(layer: Layer): void {
    const a = this.items;
    a.push(layer);
    for (let i = a.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (a[parent]!.order <= a[i]!.order) break;
      [a[parent], a[i]] = [a[i]!, a[parent]!];
      i = parent;
    }
  }

  pop(): Layer | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.order < a[m]!.order) m = l;
        if (r < a.length && a[r]!.order < a[m]!.order) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

function dataOf(layer: Layer): XmlElement | undefined {
  return childElement(layer.el, 'data');
}

function parseCount(s: string | undefined): number | undefined {
  if (s === undefined || !/^\s*\d+\s*$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * OpenVINO packs a string tensor as: int32 count, count+1 int32 offsets (the
 * first is 0), then the characters. Returns undefined when the bytes do not
 * follow that layout.
 */
export function unpackStrings(bytes: Uint8Array, count: number): Uint8Array[] | undefined {
  if (bytes.byteLength < 4) return count === 0 && bytes.byteLength === 0 ? [] : undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getInt32(0, true);
  if (n !== count || n < 0 || 4 + 4 * (n + 1) > bytes.byteLength) return undefined;
  const base = 4 + 4 * (n + 1);
  const out: Uint8Array[] = [];
  let prev = dv.getInt32(4, true);
  for (let i = 0; i < n; i++) {
    const end = dv.getInt32(8 + 4 * i, true);
    if (prev < 0 || end < prev || base + end > bytes.byteLength) return undefined;
    out.push(bytes.subarray(base + prev, base + end));
    prev = end;
  }
  return out;
}

/** The inverse of unpackStrings. */
export function packStrings(strings: readonly Uint8Array[]): Uint8Array {
  const chars = strings.reduce((a, s) => a + s.byteLength, 0);
  const base = 4 + 4 * (strings.length + 1);
  const out = new Uint8Array(base + chars);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, strings.length, true);
  let at = 0;
  dv.setInt32(4, 0, true);
  strings.forEach((s, i) => {
    out.set(s, base + at);
    at += s.byteLength;
    dv.setInt32(8 + 4 * i, at, true);
  });
  return out;
}

/** Model rt_info as flat key/value pairs: `conversion_parameters/framework` = `tf`. */
export function flattenRtInfo(rt: XmlElement | undefined): MetadataEntry[] {
  const out: MetadataEntry[] = [];
  const walk = (el: XmlElement, prefix: string): void => {
    for (const c of childElements(el)) {
      const key = prefix ? `${prefix}/${c.name}` : c.name;
      if (c.attrs.value !== undefined) out.push({ key, value: c.attrs.value });
      walk(c, key);
    }
  };
  if (rt) walk(rt, '');
  return out;
}

function metaDataVersion(net: XmlElement): string | undefined {
  const md = childElement(net, 'meta_data');
  return md ? childElement(md, 'MO_version')?.attrs.value : undefined;
}
