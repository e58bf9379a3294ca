import { createHash } from 'node:crypto';
import { ModelError, UnsupportedError } from '../../errors';
import type { Dim, Graph, Node, Value } from '../../ir/graph';
import type { Model } from '../../ir/model';
import { BytesData, StringData, type TensorData } from '../../ir/tensor';
import type { OutputFiles } from '../adapter';
import { writeAll } from '../atomic';
import { forEachChunk, writeData } from '../chunks';
import { formatOvAttr } from './attrs';
import { binOrigin } from './bin';
import { dtypeOfElementType, elementTypeOf, precisionOf } from './element-types';
import {
  isOvGraphNative,
  isOvModelNative,
  isOvNodeNative,
  isOvValueNative,
  signature,
  BODY_TAGS,
  type OvModelNative,
  type OvNodeNative,
  type OvResultNative,
  type OvValueNative,
} from './native';
import { binPathFor, joinNames, packStrings, splitNames } from './read';
import {
  childElement,
  childElements,
  cloneElement,
  DEFAULT_STYLE,
  shallowCopy,
  isElement,
  sameTree,
  serializeXml,
  textOf,
  type XmlDocument,
  type XmlElement,
  type XmlNode,
} from './xml';

type SortKey = readonly [number, number];

type Item =
  | { kind: 'param'; value: Value; native?: OvValueNative; key: SortKey }
  | { kind: 'const'; value: Value; native?: OvValueNative; key: SortKey }
  | { kind: 'node'; node: Node; native?: OvNodeNative; key: SortKey }
  | { kind: 'result'; value: Value; native?: OvResultNative; key: SortKey };

interface Placed {
  item: Item;
  id: string;
  inPorts: string[];
  outPorts: string[];
}

/** What the writer produces before touching any file: the XML text and the .bin layout. */
export interface OpenvinoImage {
  doc: XmlDocument;
  xml: string;
  /** True when the XML is the text read, unchanged (the regenerated tree was the same). */
  verbatim: boolean;
  /** The distinct byte blocks of the .bin, in file order. */
  blocks: TensorData[];
  binSize: number;
}

const NEW_RESULT = 1e15;

/** The port precision OpenVINO writes for a dynamic element type. */
const UNSPECIFIED = 'UNSPECIFIED';

/** Builds the XML tree and the .bin layout of a model. */
export function buildOpenvino(model: Model, file: string): OpenvinoImage {
  return new IrWriter(model, file).build();
}

/**
 * The graph one writer writes: the main graph (in `<net>`) or a body of a
 * TensorIterator, Loop or If layer, with the element read for it.
 */
interface Scope {
  readonly graph: Graph;
  /** The `<net>` or body element read, whose layer order, ids, edges and other children are kept. */
  readonly element?: XmlElement;
  readonly maxLayerId: number;
  readonly edgeOrder?: ReadonlyMap<string, number>;
}

/** The .bin layout, one for the main graph and every body. */
interface BinLayout {
  readonly offsets: Map<TensorData, number>;
  readonly storedByValue: Map<Value, TensorData>;
  blocks: TensorData[];
  binSize: number;
}

/** Writes `<out>.xml` and `<out>.bin`. */
export function writeOpenvino(model: Model, out: OutputFiles): void {
  const image = buildOpenvino(model, out.mainPath);
  const xmlFd = out.open(out.mainPath);
  writeAll(xmlFd, Buffer.from(image.xml, 'utf8'));
  const binFd = out.open(binPathFor(out.mainPath));
  for (const block of image.blocks) writeData(binFd, block);
}

/**
 * Writes one graph's layers and edges: the main graph's, and through a writer
 * of its own (sharing the .bin layout) each body's.
 */
class IrWriter {
  private readonly native?: OvModelNative;
  private readonly irVersion: number;
  private readonly scope: Scope;
  private readonly bin: BinLayout;
  private readonly produced = new Map<Value, { layer: string; port: string }>();
  private readonly newResultNames = new Set<string>();
  /** The writers of each body-holding node's bodies, by tag. */
  private readonly bodyWriters = new Map<Node, Map<string, IrWriter>>();
  private placed: Placed[] = [];

  constructor(
    private readonly model: Model,
    private readonly file: string,
    scope?: Scope,
    bin?: BinLayout,
  ) {
    this.native = isOvModelNative(model.native) ? model.native : undefined;
    this.irVersion = this.native?.irVersion ?? 11;
    this.scope = scope ?? { graph: model.graph, element: this.native?.doc.root, maxLayerId: this.native?.maxLayerId ?? -1, edgeOrder: this.native?.edgeOrder };
    this.bin = bin ?? { offsets: new Map(), storedByValue: new Map(), blocks: [], binSize: 0 };
  }

  private fail(reason: string, node?: string): never {
    throw new ModelError({ file: this.file, node }, reason);
  }

  build(): OpenvinoImage {
    this.prepare();
    this.layoutBin(this.storedInOrder());
    const { layers, edges } = this.layersAndEdges();
    const net = this.netElement(layers, edges);
    const declaration = this.native ? this.native.doc.declaration : { version: '1.0' };
    const doc: XmlDocument = { declaration, root: net };
    if (this.native?.doc.before) doc.before = this.native.doc.before;
    if (this.native?.doc.after) doc.after = this.native.doc.after;
    const verbatim =
      this.native !== undefined &&
      sameTree(net, this.native.doc.root) &&
      JSON.stringify(declaration) === JSON.stringify(this.native.doc.declaration);
    // A byte order mark the source had stays (the parser does not keep it in the tree).
    const bom = this.native?.text.startsWith('\ufeff') ? '\ufeff' : '';
    const xml = verbatim && this.native ? this.native.text : bom + serializeXml(doc, this.native?.style ?? DEFAULT_STYLE);
    return { doc, xml, verbatim, blocks: this.bin.blocks, binSize: this.bin.binSize };
  }

  /** Places this graph's layers, then those of every body inside it (their Consts must be known before the .bin is laid out). */
  private prepare(): void {
    this.placed = this.place(this.collect());
    for (const p of this.placed) {
      if (p.item.kind !== 'node') continue;
      const node = p.item.node;
      const bodies = BODY_TAGS.flatMap((tag) => {
        const a = node.attrs.get(tag);
        return a?.kind === 'graph' ? [[tag, a.value] as const] : [];
      });
      if (bodies.length === 0) continue;
      const n = p.item.native;
      // A body's port_map and back_edges name its layers: only a layer read has them.
      if (!n) this.fail(`a new ${node.op} layer with a body cannot be written (its port_map comes only from a layer read)`, node.name);
      const writers = new Map<string, IrWriter>();
      for (const [tag, graph] of bodies) {
        const read = isOvGraphNative(graph.native) ? graph.native.body : undefined;
        const w = new IrWriter(this.model, this.file, { graph, element: read?.element, maxLayerId: read?.maxLayerId ?? -1, edgeOrder: read?.edgeOrder }, this.bin);
        w.prepare();
        writers.set(tag, w);
      }
      this.bodyWriters.set(node, writers);
    }
  }

  /** The bytes of every Const to store, this graph's and its bodies', in layer order. */
  private storedInOrder(found: TensorData[] = [], seen = new Set<TensorData>()): TensorData[] {
    const add = (d: TensorData): void => {
      if (!seen.has(d)) {
        seen.add(d);
        found.push(d);
      }
    };
    for (const p of this.placed) {
      if (p.item.kind === 'const') add(this.stored(p.item.value, p.item.native));
      else if (p.item.kind === 'node') {
        for (const nc of p.item.native?.nestedConsts ?? []) add(nc.data);
        for (const w of this.bodyWriters.get(p.item.node)?.values() ?? []) w.storedInOrder(found, seen);
      }
    }
    return found;
  }

  private layersAndEdges(): { layers: XmlElement[]; edges: XmlElement } {
    return { layers: this.placed.map((p) => this.layerElement(p)), edges: this.edges(this.placed) };
  }

  /** A body element: the one read with its `<layers>` and `<edges>` regenerated, or a new one. */
  private bodyElement(tag: string): XmlElement {
    const { layers, edges } = this.layersAndEdges();
    const raw = this.scope.element;
    if (!raw) return { name: tag, attrs: {}, children: [{ name: 'layers', attrs: {}, children: layers }, edges] };
    // A copy of the element read: an unchanged body is written as its text was.
    const el = shallowCopy(raw);
    el.children = withLayersAndEdges(raw, layers, edges);
    return el;
  }

  /** Every layer to write, each with a key that keeps read layers in their old order. */
  private collect(): Item[] {
    const graph = this.scope.graph;
    const items: Item[] = [];
    const params = new Set<Value>();
    const paramOrder = new Map<Value, number>();
    graph.inputs.forEach((v, i) => {
      if (v.const) return;
      params.add(v);
      const n = isOvValueNative(v.native) && v.native.kind === 'ov-parameter' ? v.native : undefined;
      const key: SortKey = n?.order !== undefined ? [n.order, 0] : [-1, i];
      paramOrder.set(v, key[0]);
      items.push({ kind: 'param', value: v, native: n, key });
    });
    const consts = new Map<Value, Item>();
    const addConst = (v: Value, near: SortKey): void => {
      if (consts.has(v)) return;
      const n = isOvValueNative(v.native) && v.native.kind === 'ov-const' ? v.native : undefined;
      const item: Item = { kind: 'const', value: v, native: n, key: n?.order !== undefined ? [n.order, 0] : [near[0], near[1] - 0.5] };
      consts.set(v, item);
      items.push(item);
    };
    const live = new Set(graph.nodes);
    const checkInput = (v: Value, reader: string, index: number): void => {
      if (v.const || params.has(v)) return;
      if (!v.producer || !live.has(v.producer)) {
        this.fail(`input ${index} reads value '${v.name}', which no layer produces`, reader);
      }
    };
    // A new layer goes after the read layer before it in graph order, and after
    // the Parameters it reads (a rewrite at the top of the graph has no read layer before it).
    let anchor = -1;
    let counter = 0;
    for (const node of graph.nodes) {
      const n = isOvNodeNative(node.native) ? node.native : undefined;
      let key: SortKey;
      if (n) {
        key = [n.order, 0];
        anchor = n.order;
      } else {
        for (const v of node.inputs) if (v && paramOrder.has(v)) anchor = Math.max(anchor, paramOrder.get(v)!);
        key = [anchor, ++counter];
      }
      items.push({ kind: 'node', node, native: n, key });
      node.inputs.forEach((v, i) => {
        if (!v) return;
        checkInput(v, node.name, i);
        if (v.const) addConst(v, key);
      });
    }
    // A Const layer read from the file stays while its value is in the graph, read by a layer or not
    // (cleanup drops it when it is dead): copying an IR keeps all of it.
    for (const v of graph.constants) {
      if (isOvValueNative(v.native) && v.native.kind === 'ov-const' && v.native.order !== undefined) addConst(v, [v.native.order, 0]);
    }
    const resultNatives = isOvGraphNative(graph.native) ? graph.native.results : [];
    const taken = new Set<OvResultNative>();
    const outputs = graph.outputs;
    const chosen: (OvResultNative | undefined)[] = outputs.map((v) => {
      const r = resultNatives.find((x) => !taken.has(x) && x.inputAtRead === v);
      if (r) taken.add(r);
      return r;
    });
    outputs.forEach((v, i) => {
      let r = chosen[i];
      const byIndex = resultNatives[i];
      if (!r && byIndex && !taken.has(byIndex)) {
        r = byIndex;
        taken.add(r);
      }
      checkInput(v, `Result of output '${v.name}'`, 0);
      const key: SortKey = r ? [r.order, 0] : [NEW_RESULT, i];
      if (v.const) addConst(v, key);
      items.push({ kind: 'result', value: v, native: r, key });
    });
    // Stable sort: equal keys keep the order they were collected in.
    return items
      .map((item, i) => ({ item, i }))
      .sort((a, b) => a.item.key[0] - b.item.key[0] || a.item.key[1] - b.item.key[1] || a.i - b.i)
      .map((x) => x.item);
  }

  /** Layer ids (kept when possible) and port ids. */
  private place(items: Item[]): Placed[] {
    const used = new Set<string>();
    const wanted = items.map((item) => {
      const layer = rawLayer(item);
      const id = layer?.attrs.id;
      if (id !== undefined && !used.has(id)) {
        used.add(id);
        return id;
      }
      return undefined;
    });
    // A loop, not Math.max(...ids): a spread of 100k arguments overflows the stack.
    let next = this.scope.maxLayerId;
    for (const id of used) if (Number(id) > next) next = Number(id);
    next++;
    const fresh = (): string => {
      while (used.has(String(next))) next++;
      used.add(String(next));
      return String(next++);
    };
    // A rule's result keeps the name of the node it replaced: its layer takes that layer's id
    // too, so the edges around it read as they did (fresh ids are above every id read).
    const freed = new Map<string, string>();
    const readLayers = this.scope.element ? childElement(this.scope.element, 'layers') : undefined;
    for (const el of readLayers ? childElements(readLayers, 'layer') : []) {
      const { id, name } = el.attrs;
      if (id !== undefined && name !== undefined && !used.has(id) && !freed.has(name)) freed.set(name, id);
    }
    const idOf = (item: Item, i: number): string => {
      const kept = wanted[i];
      if (kept !== undefined) return kept;
      const name = item.kind === 'node' ? item.node.name : undefined;
      const taken = name === undefined ? undefined : freed.get(name);
      if (name === undefined || taken === undefined) return fresh();
      freed.delete(name);
      used.add(taken);
      return taken;
    };
    return items.map((item, i) => {
      const id = idOf(item, i);
      const { inPorts, outPorts } = portIds(item);
      const p: Placed = { item, id, inPorts, outPorts };
      const outs = item.kind === 'node' ? item.node.outputs : item.kind === 'result' ? [] : [item.value];
      outs.forEach((v, j) => this.produced.set(v, { layer: id, port: outPorts[j]! }));
      return p;
    });
  }

  /**
   * While the model uses every byte range its XML referred to, the .bin is
   * the file as read, whole: an untouched model gets it back byte for byte,
   * even where constants share bytes, repeat them, or leave gaps (files other
   * tools edited). Bytes a rewrite made follow, in layer order; any of them
   * already in the file point there.
   *
   * Once a rewrite has dropped a range, the .bin holds only the constants
   * still used, identical bytes stored once. Bytes read from a .bin keep the
   * order they had there (Model Optimizer did not write them in layer order).
   */
  private layoutBin(found: readonly TensorData[]): void {
    const fileRank = new Map<string, number>();
    const keyed = found.map((d, i) => {
      const origin = binOrigin(d);
      if (origin && !fileRank.has(origin.file)) fileRank.set(origin.file, fileRank.size);
      return { d, i, file: origin ? fileRank.get(origin.file)! : Infinity, offset: origin?.offset ?? 0 };
    });
    keyed.sort((a, b) => a.file - b.file || a.offset - b.offset || a.i - b.i);
    const order = keyed.map((k) => k.d);
    const seen = new Set(found);
    const asRead = this.native?.bin;
    if (asRead && asRead.ranges.every((d) => seen.has(d))) {
      this.bin.blocks.push(asRead.whole);
      this.bin.binSize = asRead.whole.byteLength;
      for (const d of asRead.ranges) this.bin.offsets.set(d, binOrigin(d)!.offset);
    }
    // Only blocks of equal length can be equal: hash just those, and only where one is still to place.
    const bySize = new Map<number, TensorData[]>();
    for (const d of order) {
      const group = bySize.get(d.byteLength);
      if (group) group.push(d);
      else bySize.set(d.byteLength, [d]);
    }
    const canonical = new Map<TensorData, TensorData>();
    for (const group of bySize.values()) {
      if (group.length < 2 || group.every((d) => this.bin.offsets.has(d))) continue;
      const byHash = new Map<string, TensorData>();
      for (const d of group) {
        const h = hashOf(d);
        const first = byHash.get(h);
        if (first) canonical.set(d, first);
        else byHash.set(h, d);
      }
    }
    for (const d of order) {
      if (this.bin.offsets.has(d)) continue;
      const c = canonical.get(d);
      if (c) {
        this.bin.offsets.set(d, this.bin.offsets.get(c)!);
        continue;
      }
      this.bin.offsets.set(d, this.bin.binSize);
      this.bin.blocks.push(d);
      this.bin.binSize += d.byteLength;
    }
  }

  private layerElement(p: Placed): XmlElement {
    switch (p.item.kind) {
      case 'param': return this.parameterLayer(p, p.item.value, p.item.native);
      case 'const': return this.constLayer(p, p.item.value, p.item.native);
      case 'node': return this.nodeLayer(p, p.item.node, p.item.native);
      case 'result': return this.resultLayer(p, p.item.value, p.item.native);
    }
  }

  private parameterLayer(p: Placed, v: Value, n: OvValueNative | undefined): XmlElement {
    const portId = p.outPorts[0]!;
    if (n?.layer) {
      const el = shallowCopy(n.layer);
      el.attrs.id = p.id;
      const unchanged = signature(v) === n.sig;
      if (!unchanged) {
        const data = editableChild(el, 'data');
        if (data) {
          if (v.dtype && dtypeOfElementType(data.attrs.element_type ?? '') !== v.dtype) {
            data.attrs.element_type = this.elementType(v.dtype, v.name);
          }
          data.attrs.shape = keepBounds(v.shape, this.shapeText(v.shape).split(','), data.attrs.shape?.split(',')).join(',');
        }
      }
      const out = editableChild(el, 'output')!;
      const own = childElement(n.layer, 'output')?.children.includes(n.port) ?? false;
      const port = this.port(n.port, portId, v, unchanged && own, true);
      replaceChild(out, n.port, port);
      this.applyName(el, port, v, n);
      return el;
    }
    const port = this.port(undefined, portId, v, false, true);
    port.attrs.names = joinNames([v.name]);
    const data: XmlElement = { name: 'data', attrs: { shape: this.shapeText(v.shape), element_type: this.elementType(v.dtype ?? 'float32', v.name) }, children: [] };
    return layer(p.id, v.name, 'Parameter', 'opset1', [data, { name: 'output', attrs: {}, children: [port] }]);
  }

  private constLayer(p: Placed, v: Value, n: OvValueNative | undefined): XmlElement {
    const t = v.const!;
    const stored = this.stored(v, n);
    const offset = String(this.offsetOf(stored));
    const size = String(stored.byteLength);
    const portId = p.outPorts[0]!;
    if (n?.layer) {
      const el = shallowCopy(n.layer);
      el.attrs.id = p.id;
      const data = editableChild(el, 'data')!;
      if (t !== n.tensor) {
        if (dtypeOfElementType(data.attrs.element_type ?? '') !== t.dtype) data.attrs.element_type = this.elementType(t.dtype, v.name);
        data.attrs.shape = t.shape.join(',');
      }
      data.attrs.offset = offset;
      data.attrs.size = size;
      const out = editableChild(el, 'output')!;
      const unchanged = signature(v) === n.sig && (childElement(n.layer, 'output')?.children.includes(n.port) ?? false);
      const port = this.port(n.port, portId, v, unchanged, true);
      replaceChild(out, n.port, port);
      this.applyName(el, port, v, n);
      return el;
    }
    const data: XmlElement = {
      name: 'data',
      attrs: { element_type: this.elementType(t.dtype, v.name), shape: t.shape.join(','), offset, size },
      children: [],
    };
    const port = this.port(undefined, portId, v, false, true);
    return layer(p.id, v.name, 'Const', 'opset1', [data, { name: 'output', attrs: {}, children: [port] }]);
  }

  private nodeLayer(p: Placed, node: Node, n: OvNodeNative | undefined): XmlElement {
    // Its sections are replaced below, not edited; a body whose Consts move is edited, so copied whole.
    const el: XmlElement = n ? (n.nestedConsts.length > 0 ? cloneElement(n.layer) : shallowCopy(n.layer)) : layer(p.id, node.name, node.op, node.domain, []);
    el.attrs.id = p.id;
    el.attrs.name = node.name;
    el.attrs.type = node.op;
    if (node.domain) el.attrs.version = node.domain;
    else delete el.attrs.version;
    if (n) this.patchNestedConsts(el, n);
    for (const [tag, w] of this.bodyWriters.get(node) ?? []) setSection(el, tag, w.bodyElement(tag), ['data', 'input', 'output']);

    let attrs: Record<string, string>;
    try {
      // Graph attributes are the bodies, written as elements above.
      attrs = Object.fromEntries([...node.attrs].filter(([, a]) => a.kind !== 'graph').map(([k, a]) => [k, formatOvAttr(a)]));
    } catch (e) {
      this.fail((e as Error).message, node.name);
    }
    const oldData = childElement(el, 'data');
    const data: XmlElement | undefined =
      oldData || Object.keys(attrs).length > 0 ? { name: 'data', attrs, children: oldData?.children ?? [] } : undefined;

    const rawIn = n ? childElement(n.layer, 'input') : undefined;
    const rawInPorts = rawIn ? rawIn.children.filter(isPort) : [];
    const inPorts = node.inputs.map((v, i) => {
      const raw = rawInPorts[i];
      const keep = raw !== undefined && n !== undefined && n.inputsAtRead[i] === v && n.inputSigs[i] === signature(v);
      return this.port(raw, p.inPorts[i]!, v, keep, this.irVersion >= 11);
    });
    const outPorts = node.outputs.map((v, j) => {
      const vn = isOvValueNative(v.native) ? v.native : undefined;
      const raw = vn?.port;
      const rawOut = n ? childElement(n.layer, 'output') : undefined;
      const isOwn = raw !== undefined && rawOut !== undefined && rawOut.children.includes(raw);
      const port = this.port(isOwn ? raw : undefined, p.outPorts[j]!, v, isOwn && vn?.sig === signature(v), true);
      this.applyName(undefined, port, v, isOwn ? vn : undefined, `${node.name}:${p.outPorts[j]!}`);
      return port;
    });
    setSection(el, 'data', data, []);
    setSection(el, 'input', inPorts.length || rawIn ? { name: 'input', attrs: { ...(rawIn?.attrs ?? {}) }, children: inPorts } : undefined, ['data']);
    const rawOut = n ? childElement(n.layer, 'output') : undefined;
    setSection(el, 'output', outPorts.length || rawOut ? { name: 'output', attrs: { ...(rawOut?.attrs ?? {}) }, children: outPorts } : undefined, ['data', 'input']);
    return el;
  }

  private resultLayer(p: Placed, v: Value, n: OvResultNative | undefined): XmlElement {
    const portId = p.inPorts[0]!;
    if (n) {
      const el = shallowCopy(n.layer);
      el.attrs.id = p.id;
      const input = editableChild(el, 'input');
      const raw = input?.children.find(isPort);
      const keep = raw !== undefined && n.inputAtRead === v && n.inputSig === signature(v);
      const port = this.port(raw, portId, v, keep, this.irVersion >= 11);
      if (input && raw) replaceChild(input, raw, port);
      else setSection(el, 'input', { name: 'input', attrs: {}, children: [port] }, ['data']);
      return el;
    }
    const port = this.port(undefined, portId, v, false, this.irVersion >= 11);
    // Two new outputs of one value must not make two layers of one name.
    let name = `${v.name}/sink_port_0`;
    for (let k = 1; this.newResultNames.has(name); k++) name = `${v.name}/sink_port_0_${k}`;
    this.newResultNames.add(name);
    return layer(p.id, name, 'Result', 'opset1', [{ name: 'input', attrs: {}, children: [port] }]);
  }

  /** A `<port>`: the one read when nothing about its value changed, else regenerated from the value. */
  private port(raw: XmlElement | undefined, id: string, v: Value | null, keep: boolean, precision: boolean): XmlElement {
    if (raw && keep) {
      const el = shallowCopy(raw);
      el.attrs.id = id;
      return el;
    }
    const attrs: Record<string, string> = raw ? { ...raw.attrs } : { id };
    attrs.id = id;
    const p = v?.dtype ? precisionOf(v.dtype) : undefined;
    // OpenVINO's reader requires a precision on every output port; it writes
    // UNSPECIFIED for a type it does not know, and so do we.
    if (raw ? raw.attrs.precision !== undefined : precision) attrs.precision = p ?? attrs.precision ?? UNSPECIFIED;
    const readDims = raw?.children.filter((c): c is XmlElement => isElement(c) && c.name === 'dim').map((d) => textOf(d));
    const dimTexts = keepBounds(v?.shape, (v?.shape ?? []).map(portDim), readDims);
    const dims: XmlElement[] = dimTexts.map((text) => ({ name: 'dim', attrs: {}, children: [{ text }] }));
    const rest = raw ? raw.children.filter((c) => !(isElement(c) && c.name === 'dim')) : [];
    return { name: 'port', attrs, children: [...dims, ...rest] };
  }

  /** Writes a renamed value's new name where the reader will find it again. */
  private applyName(layerEl: XmlElement | undefined, port: XmlElement, v: Value, n: OvValueNative | undefined, synthetic?: string): void {
    if (n) {
      if (v.name === n.readName) return;
      if (n.fromNames) {
        const rest = splitNames(port.attrs.names ?? '').slice(1).filter((x) => x !== v.name);
        port.attrs.names = joinNames([v.name, ...rest]);
      } else if (layerEl && n.kind !== 'ov-port') layerEl.attrs.name = v.name;
      else port.attrs.names = joinNames([v.name]);
      return;
    }
    if (synthetic !== undefined && v.name !== synthetic) port.attrs.names = joinNames([v.name]);
  }

  private patchNestedConsts(el: XmlElement, n: OvNodeNative): void {
    for (const nc of n.nestedConsts) {
      let cur: XmlNode | undefined = el;
      for (const i of nc.path) cur = cur && isElement(cur) ? cur.children[i] : undefined;
      if (cur && isElement(cur)) cur.attrs.offset = String(this.offsetOf(nc.data));
    }
  }

  /**
   * `<edges>` in the order read, new edges last. An edge that was read is
   * written as read (its attribute order too), and a comment between edges
   * stays before the edge it preceded (the next one kept, if that edge went).
   */
  private edges(placed: Placed[]): XmlElement {
    const rawEdges: { el: XmlElement; comments: XmlNode[] }[] = [];
    let pending: XmlNode[] = [];
    const rawEl = this.scope.element ? childElement(this.scope.element, 'edges') : undefined;
    for (const c of rawEl?.children ?? []) {
      if (isElement(c) && c.name === 'edge') {
        rawEdges.push({ el: c, comments: pending });
        pending = [];
      } else if ('comment' in c) pending.push(c);
    }
    const list: { el: XmlElement; key: number }[] = [];
    let extra = 0;
    for (const p of placed) {
      const ins = p.item.kind === 'node' ? p.item.node.inputs : p.item.kind === 'result' ? [p.item.value] : [];
      ins.forEach((v, i) => {
        if (!v) return;
        const from = this.produced.get(v);
        if (!from) this.fail(`value '${v.name}' has no layer that produces it`, p.item.kind === 'node' ? p.item.node.name : undefined);
        const to = { layer: p.id, port: p.inPorts[i]! };
        const read = this.scope.edgeOrder?.get(`${from.layer}:${from.port}->${to.layer}:${to.port}`);
        const raw = read !== undefined ? rawEdges[read]?.el : undefined;
        const el: XmlElement = raw
          ? raw
          : { name: 'edge', attrs: { 'from-layer': from.layer, 'from-port': from.port, 'to-layer': to.layer, 'to-port': to.port }, children: [] };
        list.push({ el, key: read ?? 1e12 + extra++ });
      });
    }
    list.sort((a, b) => a.key - b.key);
    const kept = new Set(list.map((e) => e.key));
    const commentsBefore = new Map<number, XmlNode[]>();
    let carried: XmlNode[] = [];
    rawEdges.forEach((r, i) => {
      carried = [...carried, ...r.comments];
      if (kept.has(i)) {
        commentsBefore.set(i, carried);
        carried = [];
      }
    });
    const children: XmlNode[] = [];
    for (const e of list) children.push(...(commentsBefore.get(e.key) ?? []), e.el);
    children.push(...carried, ...pending);
    return { name: 'edges', attrs: {}, children };
  }

  private netElement(layers: XmlElement[], edges: XmlElement): XmlElement {
    const layersEl: XmlElement = { name: 'layers', attrs: {}, children: layers };
    const raw = this.native?.doc.root;
    if (!raw) {
      const rt = this.rtInfo(undefined);
      return {
        name: 'net',
        attrs: { name: this.model.graph.name, version: '11' },
        children: [layersEl, edges, ...(rt ? [rt] : [])],
      };
    }
    const children = withLayersAndEdges(raw, layers, edges).map((c) => (isElement(c) && c.name === 'rt_info' ? this.rtInfo(c) ?? c : c));
    if (!childElement(raw, 'rt_info') && this.model.metadata.length > 0) {
      const rt = this.rtInfo(undefined);
      if (rt) children.push(rt);
    }
    return { name: 'net', attrs: { ...raw.attrs, name: this.model.graph.name }, children };
  }

  /** `<rt_info>` with Model.metadata written into it: changed keys set, removed keys dropped, new keys added. */
  private rtInfo(raw: XmlElement | undefined): XmlElement | undefined {
    const now = this.model.metadata;
    const before = this.native?.metadataAtRead ?? [];
    if (!raw && now.length === 0) return undefined;
    if (raw && JSON.stringify(now) === JSON.stringify(before)) return cloneElement(raw);
    const el: XmlElement = raw ? cloneElement(raw) : { name: 'rt_info', attrs: {}, children: [] };
    const keys = new Set(now.map((m) => m.key));
    for (const m of before) if (!keys.has(m.key)) removePath(el, m.key.split('/'));
    for (const m of now) findOrCreatePath(el, m.key.split('/')).attrs.value = m.value;
    return el;
  }

  /** The bytes a Const stores, made once per value (packing strings twice would make two blocks). */
  private stored(v: Value, n: OvValueNative | undefined): TensorData {
    let d = this.bin.storedByValue.get(v);
    if (!d) {
      d = storedData(v, n);
      this.bin.storedByValue.set(v, d);
    }
    return d;
  }

  private offsetOf(d: TensorData): number {
    const at = this.bin.offsets.get(d);
    if (at === undefined) throw new Error('OpenVINO writer: a Const was not laid out in the .bin');
    return at;
  }

  private elementType(dtype: Value['dtype'] & string, what: string): string {
    const t = elementTypeOf(dtype);
    if (!t) throw new UnsupportedError(`${this.file}: '${what}' has dtype ${dtype}, which OpenVINO IR cannot store`);
    return t;
  }

  private shapeText(shape: readonly Dim[] | undefined): string {
    if (!shape) return '...';
    // A symbolic dimension is dynamic to OpenVINO, whose shape syntax has no names.
    return shape.map((d) => (typeof d === 'number' ? String(d) : this.irVersion >= 11 ? '?' : '-1')).join(',');
  }
}

/**
 * Dimension texts to write: where a dimension is still dynamic as read (the
 * IR holds a bounded dimension, `1..10` or `..8`, as null) and the file gave
 * it bounds, the bounds as read. Only for the same rank: otherwise positions
 * do not correspond. A name a rewrite gave a dimension is written dynamic.
 */
function keepBounds(shape: readonly Dim[] | undefined, texts: string[], read: readonly string[] | undefined): string[] {
  if (!shape || !read || read.length !== texts.length) return texts;
  return texts.map((t, k) => {
    const before = read[k]!.trim();
    return shape[k] === null && /^\d*\.\.\d*$/.test(before) ? before : t;
  });
}

/** A port `<dim>` holds an integer, -1 for any dynamic one (OpenVINO's reader takes nothing else). */
function portDim(d: Dim): string {
  return typeof d === 'number' ? String(d) : '-1';
}

/**
 * The children of a `<net>` or body element read, with `<layers>` and
 * `<edges>` in place of the ones read (their attributes kept), `<edges>`
 * added after `<layers>` when there was none.
 */
function withLayersAndEdges(raw: XmlElement, layers: XmlElement[], edges: XmlElement): XmlNode[] {
  const children = raw.children.map((c) => {
    if (!isElement(c)) return c;
    if (c.name === 'layers') return { name: 'layers', attrs: { ...c.attrs }, children: layers };
    if (c.name === 'edges') return { ...edges, attrs: { ...c.attrs } };
    return c;
  });
  if (!childElement(raw, 'edges') && edges.children.length > 0) {
    const at = children.findIndex((c) => isElement(c) && c.name === 'layers');
    children.splice(at + 1, 0, edges);
  }
  return children;
}

function isPort(c: XmlNode): c is XmlElement {
  return isElement(c) && c.name === 'port';
}

function layer(id: string, name: string, type: string, version: string, children: XmlElement[]): XmlElement {
  const attrs: Record<string, string> = { id, name, type };
  if (version) attrs.version = version;
  return { name: 'layer', attrs, children };
}

function rawLayer(item: Item): XmlElement | undefined {
  return item.native?.layer;
}

/** Replaces child `old` of `parent` (a shallow copy, sharing its children) by `el` in place (or appends it). */
function replaceChild(parent: XmlElement, old: XmlElement, el: XmlElement): void {
  const i = parent.children.indexOf(old);
  if (i >= 0) parent.children[i] = el;
  else parent.children.push(el);
}

/** Child `name` of `parent` (a copy), replaced by a copy of itself that may be edited; its own children stay shared. */
function editableChild(parent: XmlElement, name: string): XmlElement | undefined {
  const i = parent.children.findIndex((c) => isElement(c) && c.name === name);
  if (i < 0) return undefined;
  const copy = shallowCopy(parent.children[i] as XmlElement);
  parent.children[i] = copy;
  return copy;
}

/** Puts section `name` in place of the existing one, or after the sections listed in `after`. */
function setSection(layerEl: XmlElement, name: string, el: XmlElement | undefined, after: string[]): void {
  const i = layerEl.children.findIndex((c) => isElement(c) && c.name === name);
  if (i >= 0) {
    if (el) layerEl.children[i] = el;
    else layerEl.children.splice(i, 1);
    return;
  }
  if (!el) return;
  let at = 0;
  layerEl.children.forEach((c, j) => {
    if (isElement(c) && after.includes(c.name)) at = j + 1;
  });
  layerEl.children.splice(at, 0, el);
}

function portIds(item: Item): { inPorts: string[]; outPorts: string[] } {
  const ids = (section: XmlElement | undefined): string[] => (section ? section.children.filter(isPort).map((p) => p.attrs.id ?? '') : []);
  switch (item.kind) {
    case 'param':
    case 'const':
      return { inPorts: [], outPorts: [item.native?.port.attrs.id ?? '0'] };
    case 'result': {
      const raw = item.native ? ids(childElement(item.native.layer, 'input')) : [];
      return { inPorts: [raw[0] ?? '0'], outPorts: [] };
    }
    case 'node': {
      const rawIn = item.native ? ids(childElement(item.native.layer, 'input')) : [];
      const rawOut = item.native ? ids(childElement(item.native.layer, 'output')) : [];
      const used = new Set<string>();
      let next = Math.max(-1, ...[...rawIn, ...rawOut].map(Number)) + 1;
      const pick = (want: string | undefined): string => {
        if (want !== undefined && !used.has(want)) {
          used.add(want);
          return want;
        }
        while (used.has(String(next))) next++;
        used.add(String(next));
        return String(next++);
      };
      // Read ports keep their ids; OpenVINO numbers new ones inputs first, then outputs.
      const inPorts = item.node.inputs.map((_, i) => pick(rawIn[i]));
      const outPorts = item.node.outputs.map((_, j) => pick(rawOut[j]));
      return { inPorts, outPorts };
    }
  }
}

/** The bytes a Const stores in the .bin: the bytes read when unchanged, else the tensor's (strings packed). */
function storedData(v: Value, n: OvValueNative | undefined): TensorData {
  const t = v.const!;
  if (n?.tensor === t && n.stored) return n.stored;
  if (t.dtype === 'string') {
    return new BytesData(packStrings(t.data instanceof StringData ? t.data.strings : [t.data.bytes()]));
  }
  return t.data;
}

function hashOf(d: TensorData): string {
  const h = createHash('sha256');
  forEachChunk(d, (chunk) => h.update(chunk));
  return h.digest('hex');
}

function removePath(el: XmlElement, path: string[]): void {
  const [head, ...rest] = path;
  const i = el.children.findIndex((c) => isElement(c) && c.name === head);
  const child = el.children[i];
  if (!child || !isElement(child)) return;
  if (rest.length === 0) {
    if (!child.children.some(isElement)) el.children.splice(i, 1);
    else delete child.attrs.value;
  } else removePath(child, rest);
}

function findOrCreatePath(el: XmlElement, path: string[]): XmlElement {
  let cur = el;
  for (const name of path) {
    let next = childElement(cur, name);
    if (!next) {
      next = { name, attrs: {}, children: [] };
      cur.children.push(next);
    }
    cur = next;
  }
  return cur;
}
