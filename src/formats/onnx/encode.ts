import { ModelError, UnsupportedError } from '../../errors';
import type { Attr } from '../../ir/attr';
import { DTYPES } from '../../ir/dtype';
import type { Graph, Node, Value } from '../../ir/graph';
import type { Model, ModelFunction, Opset } from '../../ir/model';
import { StringData, type Tensor, type TensorData } from '../../ir/tensor';
import { LazyAttrs, VALUE_FIELD, nodeRecAt, sameShape } from './decode';
import type { ExternalRef } from './external';
import { AttrRec, FunctionRec, GraphRec, ModelRec, type RecordRange, type TensorRec, ValueInfoRec, irVersionOf, nodeIndex, tensorRec, fieldTextIs, utf8Is } from './records';
import { ATTR_TYPE, KNOWN_FIELDS, WIRE, codeOfDtype } from './schema';
import { Cursor, Sink } from './wire';

/** Where tensor data goes; see WriteOptions.externalData. */
export type ExternalMode = 'keep' | 'inline' | 'external';

/** How the Encoder places tensor data and what it may copy. */
export interface EncodeOptions {
  mode: ExternalMode;
  /** Smallest initializer, in bytes, moved out in `external` mode. */
  threshold: number;
  /** Location written into moved tensors (`external` mode), relative to the output folder. */
  dataLocation: string;
  /** The output's path, for errors. */
  file: string;
  /**
   * Encode every graph, node, attribute, tensor and value info again from the
   * IR instead of copying unchanged ones: a test device that checks the encoder
   * against the reference serializer's bytes.
   */
  reencode?: boolean;
}

/** Kept external tensors: their data must exist at the same location and offset beside the output. */
export interface KeptExternal {
  ref: ExternalRef;
  data: TensorData;
}

const ATTR_TYPE_OF_KIND: Readonly<Record<Exclude<Attr['kind'], 'opaque' | 'ref'>, number>> = {
  float: ATTR_TYPE.FLOAT,
  int: ATTR_TYPE.INT,
  bool: ATTR_TYPE.INT,
  string: ATTR_TYPE.STRING,
  bytes: ATTR_TYPE.STRING,
  tensor: ATTR_TYPE.TENSOR,
  graph: ATTR_TYPE.GRAPH,
  floats: ATTR_TYPE.FLOATS,
  ints: ATTR_TYPE.INTS,
  strings: ATTR_TYPE.STRINGS,
  tensors: ATTR_TYPE.TENSORS,
  graphs: ATTR_TYPE.GRAPHS,
};

const ATTR_FIELDS_BEFORE_TYPE = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15];

/**
 * Encodes a model into chunks. An element whose IR fields equal the snapshot
 * its codec record took at read time is copied from the input bytes; anything
 * else is encoded from the IR in field-number order (as protobuf's C++
 * serializer does), with the fields the IR does not model copied from the
 * record and unknown fields last.
 */
export class Encoder {
  /** Content of the new external data file (`external` mode). */
  readonly data = new Sink(256);
  /** External tensors kept where they are (`keep` mode). */
  readonly kept: KeptExternal[] = [];
  private readonly same = new Map<Graph, boolean>();
  private readonly recorded = new Map<Graph, Set<Value>>();
  /** The main graph of a model of IR version 3 or less, where every initializer must also be a graph input (onnx IR.md). */
  private initsAreInputs: Graph | undefined;
  /** Above 0 while a function is looked at or encoded (its tensors stay inline: see goesExternal). */
  private inFunction = 0;
  /** The function being encoded, whose formal attributes the references of its nodes name. */
  private encoding: ModelFunction | undefined;

  constructor(private readonly opts: EncodeOptions) {}

  private get forced(): boolean {
    return this.opts.reencode === true;
  }

  encodeModel(model: Model): Sink {
    const rec = model.native instanceof ModelRec ? model.native : undefined;
    const mode = this.opts.mode;
    if (rec && !rec.graphDecoded && (this.forced || mode === 'external' || (mode === 'inline' && rec.externals.length > 0))) {
      void model.graphs; // tensors move or everything is encoded again: decode the graph after all
    }
    // A function's external tensors must be kept beside the output, inlined or
    // moved like the graph's: functions that hold any are decoded for that.
    if (rec && !rec.functionsDecoded && (this.forced || rec.functionExternals.length > 0)) void model.functions;
    // Functions nobody looked at are copied as read (as before they were decoded at all).
    const functionsAsRead = rec !== undefined && !rec.functionsDecoded;
    const lazy = rec !== undefined && !rec.graphDecoded;
    if (!lazy && model.graphs.length !== 1) throw new UnsupportedError(`an ONNX model has one main graph; this one has ${model.graphs.length}`);
    const out = new Sink(256);
    // An undecoded graph is one nobody looked at, so it is unchanged and its external tensors stay.
    if (lazy && mode === 'keep') for (const t of rec.externals) this.kept.push({ ref: t.external!, data: t.data });
    else if (mode === 'keep') this.collectKept(model.graphs);
    if (mode === 'keep' && !functionsAsRead) this.collectKept(model.functions.map((f) => f.body));
    if (rec && this.modelSame(model, rec)) {
      out.rawRange(rec.buf, rec.start, rec.end);
      return out;
    }
    if (rec) copySpans(out, rec, 1);
    else {
      // A model made in memory (graph text, the IR API) has no ir_version to
      // copy, and runtimes refuse a model without one.
      out.tag(1, 0);
      out.varint(irVersionForOpset(model.opsetVersion('') ?? model.opsetVersion('ai.onnx') ?? 13));
    }
    const p = model.producer;
    if (rec && producerSame(rec.producer, p)) {
      copySpans(out, rec, 2);
      copySpans(out, rec, 3);
    } else if (p) {
      if (p.name !== '' || rec?.has(2)) out.stringField(2, p.name);
      if (p.version !== undefined) out.stringField(3, p.version);
    }
    copySpans(out, rec, 4);
    copySpans(out, rec, 5);
    copySpans(out, rec, 6);
    const g = model.graph;
    const emptyGraph = g.nodes.length === 0 && g.inputs.length === 0 && g.outputs.length === 0 && g.valueCount === 0 && g.name === '';
    if (rec && irVersionOf(rec) < 4) this.initsAreInputs = g;
    if (!(rec && !rec.graph && emptyGraph)) this.graph(out, g, 7);
    opsetImports(out, 8, model.opsets, rec);
    metadataProps(out, 14, model.metadata, rec);
    copySpans(out, rec, 20);
    if (functionsAsRead) copySpans(out, rec, 25);
    else for (const fn of model.functions) this.function(out, fn);
    copySpans(out, rec, 26);
    copyUnknown(out, rec, KNOWN_FIELDS.model);
    return out;
  }

  private modelSame(model: Model, rec: ModelRec): boolean {
    if (this.forced || !producerSame(rec.producer, model.producer)) return false;
    if (!sameOpsets(model.opsets, rec.opsets) || !sameMetadata(model.metadata, rec.metadata)) return false;
    if (rec.functionsDecoded) {
      const read = rec.functions;
      if (!read || read.length !== model.functions.length) return false;
      for (let i = 0; i < read.length; i++) if (model.functions[i] !== read[i] || !this.functionSame(read[i]!)) return false;
    }
    return !rec.graphDecoded || (rec.graph === model.graph && this.graphSame(model.graph));
  }

  /** Whether a function is as read: the same fields, attribute defaults and body. */
  private functionSame(fn: ModelFunction): boolean {
    const rec = fn.native instanceof FunctionRec ? fn.native : undefined;
    if (!rec || this.forced || fn.body !== rec.body) return false;
    if (fn.domain !== rec.domain || fn.name !== rec.name || fn.overload !== rec.overload || fn.doc !== rec.doc) return false;
    if (!sameOpsets(fn.opsets, rec.opsets) || !sameMetadata(fn.metadata, rec.metadata)) return false;
    if (fn.attributes.length !== rec.attributes.length) return false;
    for (let i = 0; i < fn.attributes.length; i++) {
      const a = fn.attributes[i]!;
      const r = rec.attributes[i]!;
      if (a.name !== r.name || a.default !== r.default || (a.default && !this.attrSame(a.name, a.default))) return false;
    }
    const body = fn.body;
    const graphRec = body.native instanceof GraphRec ? body.native : undefined;
    if (!graphRec || !sameNames(body.inputs, rec.inputs) || !sameNames(body.outputs, rec.outputs)) return false;
    this.inFunction++;
    try {
      if (!this.nodesSame(body, graphRec)) return false;
    } finally {
      this.inFunction--;
    }
    const values = body.values;
    for (let i = 0; i < values.length; i++) if (values[i]!.const !== undefined) return false;
    for (const vi of graphRec.valueInfo) if (vi.value.removed || !this.viSame(vi, vi.value)) return false;
    return true;
  }

  // ---- what changed -------------------------------------------------------

  /** Whether `v` is still a value of graph `g` (a Set of a large graph's values would cost more than the check). */
  private static liveIn(g: Graph, v: Value): boolean {
    return v.graph === g && !v.removed;
  }

  /** Values of `g` that need a new value_info entry: typed, not an input, output or constant, not already recorded. */
  private newValueInfos(g: Graph, rec: GraphRec | undefined): Value[] {
    let recorded = this.recorded.get(g);
    if (!recorded) {
      recorded = new Set<Value>();
      if (rec) for (const list of [rec.inputs, rec.outputs, rec.valueInfo]) for (const vi of list) recorded.add(vi.value);
      for (const v of g.inputs) recorded.add(v);
      for (const v of g.outputs) recorded.add(v);
      this.recorded.set(g, recorded);
    }
    const out: Value[] = [];
    const values = g.values;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v.const === undefined && (v.dtype !== undefined || v.shape !== undefined) && !recorded.has(v)) out.push(v);
    }
    return out;
  }

  graphSame(g: Graph): boolean {
    const known = this.same.get(g);
    if (known !== undefined) return known;
    const result = this.computeGraphSame(g);
    this.same.set(g, result);
    return result;
  }

  private computeGraphSame(g: Graph): boolean {
    const rec = g.native instanceof GraphRec ? g.native : undefined;
    if (!rec || this.forced || g.name !== rec.name) return false;
    if (!this.nodesSame(g, rec)) return false;
    if (!this.valueInfosSame(g.inputs, rec.inputs) || !this.valueInfosSame(g.outputs, rec.outputs)) return false;
    let consts = 0;
    const values = g.values;
    for (let i = 0; i < values.length; i++) if (values[i]!.const !== undefined) consts++;
    if (consts !== rec.initValues.length) return false;
    for (let i = 0; i < rec.initValues.length; i++) {
      const v = rec.initValues[i]!;
      const t = rec.initTensors[i]!;
      if (!Encoder.liveIn(g, v) || v.const !== t || !this.tensorSame(t, v.name, true)) return false;
    }
    for (const vi of rec.valueInfo) if (vi.value.removed || !this.viSame(vi, vi.value)) return false;
    return this.newValueInfos(g, rec).length === 0;
  }

  /** Whether the graph holds the nodes read, in the order read, each unchanged. */
  private nodesSame(g: Graph, rec: GraphRec): boolean {
    const nodes = g.nodes;
    if (nodes.length !== rec.nodes.length) return false;
    for (let i = 0; i < nodes.length; i++) if (nodes[i] !== rec.nodes[i] || !this.nodeSame(nodes[i]!)) return false;
    return true;
  }

  private valueInfosSame(values: readonly Value[], recs: readonly ValueInfoRec[]): boolean {
    if (values.length !== recs.length) return false;
    for (let i = 0; i < recs.length; i++) if (!this.viSame(recs[i]!, values[i]!)) return false;
    return true;
  }

  private viSame(vi: ValueInfoRec, v: Value): boolean {
    return !this.forced && vi.value === v && v.name === vi.name && v.dtype === vi.dtype && sameShape(v.shape, vi.shape);
  }

  nodeSame(n: Node): boolean {
    const k = nodeIndex(n);
    if (k < 0 || this.forced) return false;
    const ranges = (n.graph.native as GraphRec).nodeRanges;
    const start = ranges[3 * k]!;
    const end = ranges[3 * k + 2]!;
    const buf = (n.graph.native as GraphRec).buf;
    // Attributes never decoded since they were read are the node's own bytes
    // (and hold no tensor that a write mode could move: see readGraph).
    const pending = n.pendingAttrs;
    if (pending instanceof LazyAttrs) return nodeBytesSame(n, buf, ranges[3 * k + 1]!, end, -1);
    if (pending !== undefined) return false;
    const count = n.attrCount;
    if (count > 0) {
      let last = start;
      for (const [name, a] of n.attrs) {
        const ar = a.native;
        // Each attribute must be one read inside this node, in the order read, and unchanged.
        if (!(ar instanceof AttrRec) || ar.buf !== buf || ar.start <= last || ar.end > end || !this.attrSame(name, a)) return false;
        last = ar.start;
      }
    }
    return nodeBytesSame(n, buf, ranges[3 * k + 1]!, end, count);
  }

  private attrSame(name: string, a: Attr): boolean {
    const rec = a.native instanceof AttrRec ? a.native : undefined;
    if (!rec || rec.name !== name || rec.kind !== a.kind) return false;
    if (a.kind === 'opaque') return a.value === rec.value;
    if (this.forced) return false;
    if (a.kind === 'ref') return a.value === rec.value;
    const was = rec.value;
    switch (a.kind) {
      case 'float':
      case 'int':
      case 'bool':
      case 'string':
      case 'bytes':
        return Object.is(a.value, was);
      case 'floats':
      case 'ints':
      case 'strings':
        return sameList(a.value, was as unknown[]);
      case 'tensor':
        return a.value === was && this.tensorSame(a.value, undefined, false);
      case 'tensors':
        return sameList(a.value, was as unknown[]) && a.value.every((t) => this.tensorSame(t, undefined, false));
      case 'graph':
        return a.value === was && this.graphSame(a.value);
      case 'graphs':
        return sameList(a.value, was as unknown[]) && a.value.every((g) => this.graphSame(g));
    }
  }

  /** Whether a tensor can be copied as read: same TensorProto name and same placement. */
  private tensorSame(t: Tensor, initName: string | undefined, isInit: boolean): boolean {
    const rec = tensorRec(t);
    if (!rec || this.forced) return false;
    if (isInit && !rec.nameIs(initName ?? '')) return false;
    switch (this.opts.mode) {
      case 'keep':
        return true;
      case 'inline':
        return !rec.external;
      case 'external':
        return !rec.external && !this.goesExternal(t, isInit);
    }
  }

  /**
   * `external` mode moves initializers and attribute tensors (Constant nodes'
   * weights) as python onnx does; those of functions stay inline, where
   * python onnx (1.12) leaves them too.
   */
  private goesExternal(t: Tensor, _isInit: boolean): boolean {
    return this.opts.mode === 'external' && this.inFunction === 0 && DTYPES[t.dtype].bits > 0 && t.data.byteLength >= this.opts.threshold;
  }

  // ---- encoding -------------------------------------------------------------

  graph(out: Sink, g: Graph, field: number): void {
    const rec = g.native instanceof GraphRec ? g.native : undefined;
    if (rec && this.graphSame(g)) {
      copyRec(out, rec, field);
      return;
    }
    out.open(field);
    const nodes = g.nodes;
    for (let i = 0; i < nodes.length; i++) this.node(out, nodes[i]!);
    if (rec && g.name === rec.name) copySpans(out, rec, 2);
    else if (g.name !== '') out.stringField(2, g.name);
    const { read, added } = initializers(g, rec);
    for (let k = 0; k < read.length; k++) {
      const i = read[k]!;
      const v = rec!.initValues[i]!;
      this.tensor(out, 5, v.const!, v.name, true, tensorRec(rec!.initTensors[i]!));
    }
    for (let k = 0; k < added.length; k++) this.tensor(out, 5, added[k]!.const!, added[k]!.name, true);
    copySpans(out, rec, 10);
    this.valueInfos(out, 11, g.inputs, rec?.inputs);
    if (g === this.initsAreInputs && added.length > 0) {
      const inputs = new Set(g.inputs);
      for (const v of added) if (!inputs.has(v)) this.valueInfo(out, 11, v, undefined);
    }
    this.valueInfos(out, 12, g.outputs, rec?.outputs);
    for (const vi of rec?.valueInfo ?? []) {
      if (vi.value.removed) continue;
      if (this.viSame(vi, vi.value)) copyRec(out, vi, 13);
      else this.valueInfo(out, 13, vi.value, vi);
    }
    const infos = this.newValueInfos(g, rec);
    for (let i = 0; i < infos.length; i++) this.valueInfo(out, 13, infos[i]!, undefined);
    copySpans(out, rec, 14);
    copySpans(out, rec, 15);
    copySpans(out, rec, 16);
    copyUnknown(out, rec, KNOWN_FIELDS.graph);
    out.close();
  }

  private valueInfos(out: Sink, field: number, values: readonly Value[], recs: readonly ValueInfoRec[] | undefined): void {
    const queue = new Map<Value, ValueInfoRec[]>();
    for (const r of recs ?? []) {
      const q = queue.get(r.value);
      if (q) q.push(r);
      else queue.set(r.value, [r]);
    }
    for (const v of values) {
      const r = queue.get(v)?.shift();
      if (r && this.viSame(r, v)) copyRec(out, r, field);
      else this.valueInfo(out, field, v, r);
    }
  }

  private valueInfo(out: Sink, field: number, v: Value, rec: ValueInfoRec | undefined): void {
    out.open(field);
    out.stringField(1, v.name);
    const typeSame = rec !== undefined && v.dtype === rec.dtype && sameShape(v.shape, rec.shape);
    if (typeSame && (!this.forced || !rec.typeExact)) copySpans(out, rec, 2);
    else if (v.dtype !== undefined || v.shape !== undefined) {
      if (!rec || !encodeTypeOver(out, v, rec, this.opts.file)) encodeType(out, v, this.opts.file);
    }
    copySpans(out, rec, 3);
    copySpans(out, rec, 4);
    copyUnknown(out, rec, KNOWN_FIELDS.valueInfo);
    out.close();
  }

  /** A NodeProto under `field`: GraphProto.node (1) or FunctionProto.node (7). */
  private node(out: Sink, n: Node, field = 1): void {
    const k = nodeIndex(n);
    const g = n.graph.native as GraphRec;
    if (k >= 0 && this.nodeSame(n)) {
      // (a node read is copied from the message it was read from: under the same field)
      out.rawRange(g.buf, g.nodeRanges[3 * k]!, g.nodeRanges[3 * k + 2]!);
      return;
    }
    const rec = k >= 0 ? nodeRecAt(g, k, this.opts.file) : undefined;
    out.open(field);
    const inputs = n.inputs;
    for (let i = 0; i < inputs.length; i++) out.stringField(1, inputs[i] ? inputs[i]!.name : '');
    for (let i = 0; i < n.outputCount; i++) out.stringField(2, n.output(i).name);
    if (n.name !== '' || (rec?.has(3) && n.name === rec.name)) out.stringField(3, n.name);
    if (n.op !== '' || (rec?.has(4) && n.op === rec.op)) out.stringField(4, n.op);
    if (n.attrCount > 0) for (const [name, a] of n.attrs) this.attr(out, name, a, n.name);
    copySpans(out, rec, 6);
    if (n.domain !== '' || (rec?.has(7) && n.domain === rec.domain)) out.stringField(7, n.domain);
    copySpans(out, rec, 8);
    copySpans(out, rec, 9);
    copySpans(out, rec, 10);
    copyUnknown(out, rec, KNOWN_FIELDS.node);
    out.close();
  }

  /**
   * An AttributeProto under `field`: NodeProto.attribute (5), or
   * FunctionProto.attribute_proto (11) for a default; `owner` names the node
   * (or function) in errors.
   */
  private attr(out: Sink, name: string, a: Attr, owner: string, field = 5): void {
    const rec = a.native instanceof AttrRec ? a.native : undefined;
    if (rec && this.attrSame(name, a)) {
      copyRec(out, rec, field);
      return;
    }
    if (a.kind === 'opaque') {
      if (!(a.value instanceof Uint8Array)) {
        throw new ModelError({ file: this.opts.file, node: owner }, `attribute '${name}' holds an opaque value that is not AttributeProto bytes`);
      }
      if (!rec) {
        out.bytesField(field, a.value);
        return;
      }
      out.open(field);
      out.stringField(1, name);
      for (const f of [...ATTR_FIELDS_BEFORE_TYPE, 20, 21, 22, 23]) copySpans(out, rec, f);
      copyUnknown(out, rec, KNOWN_FIELDS.attribute);
      out.close();
      return;
    }
    if (a.kind === 'ref') {
      // A reference holds no value: its doc string, the type of the attribute it refers to, and that attribute's name.
      out.open(field);
      out.stringField(1, name);
      copySpans(out, rec, 13);
      const type = rec?.kind === 'ref' ? rec.type : this.referredType(a.value, name, owner);
      if (type !== undefined) {
        out.tag(20, WIRE.VARINT);
        out.varint(type);
      }
      out.stringField(21, a.value);
      copyUnknown(out, rec, KNOWN_FIELDS.attribute);
      out.close();
      return;
    }
    out.open(field);
    out.stringField(1, name);
    const vf = VALUE_FIELD[a.kind];
    for (const f of ATTR_FIELDS_BEFORE_TYPE) {
      if (f === vf) this.attrValue(out, name, a, owner);
      else if (rec && f !== rec.valueField) copySpans(out, rec, f);
    }
    if (!rec || rec.has(20) || rec.kind !== a.kind) {
      out.tag(20, WIRE.VARINT);
      out.varint(ATTR_TYPE_OF_KIND[a.kind]);
    }
    copySpans(out, rec, 21);
    copySpans(out, rec, 22);
    copySpans(out, rec, 23);
    copyUnknown(out, rec, KNOWN_FIELDS.attribute);
    out.close();
  }

  /**
   * The AttributeProto type of a reference made in memory (one read keeps
   * the type it was read with): the type of the default of the formal
   * attribute it names, the only place the IR holds one.
   */
  private referredType(formal: string, name: string, owner: string): number {
    const fn = this.encoding;
    const d = fn?.attributes.find((x) => x.name === formal)?.default;
    if (d && d.kind !== 'opaque' && d.kind !== 'ref') return ATTR_TYPE_OF_KIND[d.kind];
    throw new ModelError(
      { file: this.opts.file, node: owner },
      `attribute '${name}' refers to attribute '${formal}' of ${fn ? `function '${fn.name}'` : 'no function'}, whose type is not known: ONNX wants the type of a reference`,
      fn ? `give '${formal}' a default in the function` : 'a reference belongs in a function body',
    );
  }

  private attrValue(m: Sink, name: string, a: Attr, owner: string): void {
    const int = (v: number | bigint): void => {
      if (typeof v === 'number' && !Number.isInteger(v)) {
        throw new ModelError({ file: this.opts.file, node: owner }, `attribute '${name}' holds ${v}, not an integer`);
      }
      m.int64(v);
    };
    switch (a.kind) {
      case 'float':
        m.tag(2, WIRE.I32);
        m.float32(a.value);
        return;
      case 'int':
        m.tag(3, WIRE.VARINT);
        int(a.value);
        return;
      case 'bool':
        m.tag(3, WIRE.VARINT);
        m.varint(a.value ? 1 : 0);
        return;
      case 'string':
        m.stringField(4, a.value);
        return;
      case 'bytes':
        m.bytesField(4, a.value);
        return;
      case 'tensor':
        this.tensor(m, 5, a.value, undefined, false);
        return;
      case 'graph':
        this.graph(m, a.value, 6);
        return;
      case 'floats':
        for (const x of a.value) {
          m.tag(7, WIRE.I32);
          m.float32(x);
        }
        return;
      case 'ints':
        for (const x of a.value) {
          m.tag(8, WIRE.VARINT);
          int(x);
        }
        return;
      case 'strings':
        for (const s of a.value) m.stringField(9, s);
        return;
      case 'tensors':
        for (const t of a.value) this.tensor(m, 10, t, undefined, false);
        return;
      case 'graphs':
        for (const g of a.value) this.graph(m, g, 11);
        return;
      case 'opaque':
      case 'ref':
        return;
    }
  }

  /** A TensorProto: copied when unchanged, else encoded with its data inline, kept external, or moved out. */
  tensor(out: Sink, field: number, t: Tensor, initName: string | undefined, isInit: boolean, origin?: TensorRec): void {
    const rec = tensorRec(t);
    // A tensor replaced by a rewrite keeps the doc_string and metadata of the initializer it replaces.
    const meta = rec ?? origin;
    if (rec && this.tensorSame(t, initName, isInit)) {
      copyRec(out, rec, field);
      return;
    }
    const code = codeOfDtype(t.dtype);
    if (code === undefined) {
      throw new ModelError({ file: this.opts.file, tensor: initName ?? rec?.name }, `dtype ${t.dtype} has no ONNX data type`);
    }
    const keepExternal = this.opts.mode === 'keep' && rec?.external !== undefined;
    const moveOut = !keepExternal && this.goesExternal(t, isInit);
    const original = !keepExternal && !moveOut && rec !== undefined && !rec.external;
    out.open(field);
    const shape = t.shape;
    for (let i = 0; i < shape.length; i++) {
      out.tag(1, WIRE.VARINT);
      out.int64(shape[i]!);
    }
    if (code !== 0 || !rec || rec.has(2)) {
      out.tag(2, WIRE.VARINT);
      out.int64(code);
    }
    if (original || keepExternal) copySpans(out, rec, 3);
    if (original) for (let f = 4; f <= 7; f++) copySpans(out, rec, f);
    else if (!moveOut && !keepExternal && t.data instanceof StringData) for (const s of t.data.strings) out.bytesField(6, s);
    const name = isInit ? initName : rec?.name;
    if (name !== undefined && (name !== '' || rec?.name !== undefined || isInit)) out.stringField(8, name);
    if (original) for (let f = 9; f <= 11; f++) copySpans(out, rec, f);
    else if (!moveOut && !keepExternal && !(t.data instanceof StringData)) out.dataField(9, t.data);
    copySpans(out, meta, 12);
    if (keepExternal) {
      copySpans(out, rec, 13);
      copySpans(out, rec, 14);
    } else if (moveOut) {
      const offset = this.data.size;
      this.data.data(t.data);
      for (const [k, v] of [['location', this.opts.dataLocation], ['offset', String(offset)], ['length', String(t.data.byteLength)]] as const) {
        out.open(13);
        out.stringField(1, k);
        out.stringField(2, v);
        out.close();
      }
      out.tag(14, WIRE.VARINT);
      out.varint(1);
    }
    copySpans(out, meta, 16);
    copyUnknown(out, meta, KNOWN_FIELDS.tensor);
    out.close();
  }

  /**
   * A FunctionProto: copied when unchanged, else encoded from the IR in
   * field-number order, the fields the IR does not model last. Its name,
   * domain and overload are the IR's, so calls still find it.
   */
  private function(out: Sink, fn: ModelFunction): void {
    const rec = fn.native instanceof FunctionRec ? fn.native : undefined;
    if (rec && this.functionSame(fn)) {
      copyRec(out, rec, 25);
      return;
    }
    const body = fn.body;
    const graphRec = body.native instanceof GraphRec ? body.native : undefined;
    this.inFunction++;
    this.encoding = fn;
    try {
      out.open(25);
      if (fn.name !== '' || rec?.has(1)) out.stringField(1, fn.name);
      for (const v of body.inputs) out.stringField(4, v.name);
      for (const v of body.outputs) out.stringField(5, v.name);
      for (const a of fn.attributes) if (!a.default) out.stringField(6, a.name);
      // A FunctionProto holds no initializers: the constants a rewrite made
      // (folded weights) are written as Constant nodes, before every reader.
      const values = body.values;
      for (let i = 0; i < values.length; i++) if (values[i]!.const !== undefined) this.constantNode(out, values[i]!);
      const nodes = body.nodes;
      for (let i = 0; i < nodes.length; i++) this.node(out, nodes[i]!, 7);
      if (fn.doc !== undefined) out.stringField(8, fn.doc);
      opsetImports(out, 9, fn.opsets, rec);
      if (fn.domain !== '' || rec?.has(10)) out.stringField(10, fn.domain);
      for (const a of fn.attributes) if (a.default) this.attr(out, a.name, a.default, `function ${fn.name}`, 11);
      // value_info as read, updated or dropped with its value; the IR gives a function no new ones.
      for (const vi of graphRec?.valueInfo ?? []) {
        if (vi.value.removed || vi.value.graph !== body) continue;
        if (this.viSame(vi, vi.value)) copyRec(out, vi, 12);
        else this.valueInfo(out, 12, vi.value, vi);
      }
      if (fn.overload !== '' || rec?.has(13)) out.stringField(13, fn.overload);
      metadataProps(out, 14, fn.metadata, rec);
      // The record keeps only the fields the IR does not model.
      copyUnknown(out, rec, NO_FIELDS);
      out.close();
    } finally {
      this.inFunction--;
      this.encoding = undefined;
    }
  }

  /** A NodeProto `Constant` producing the constant value `v` (a function body's stand-in for an initializer). */
  private constantNode(out: Sink, v: Value): void {
    out.open(7);
    out.stringField(2, v.name);
    out.stringField(3, v.name);
    out.stringField(4, 'Constant');
    out.open(5);
    out.stringField(1, 'value');
    this.tensor(out, 5, v.const!, undefined, false);
    out.tag(20, WIRE.VARINT);
    out.varint(ATTR_TYPE.TENSOR);
    out.close();
    out.close();
  }

  /** `keep` mode: every tensor that stays in an external file, so that the file can be recreated beside the output. */
  private collectKept(graphs: readonly Graph[]): void {
    const seen = new Set<TensorRec>();
    const visit = (t: Tensor): void => {
      const rec = tensorRec(t);
      if (!rec?.external || seen.has(rec)) return;
      seen.add(rec);
      this.kept.push({ ref: rec.external, data: rec.data });
    };
    // Graphs in the order of Model.allGraphs (each before its subgraphs, those in
    // node order), found in the one pass over the nodes that looks for tensors.
    const walk = (g: Graph): void => {
      const values = g.values;
      for (let i = 0; i < values.length; i++) if (values[i]!.const) visit(values[i]!.const!);
      let subgraphs: Graph[] | undefined;
      const nodes = g.nodes;
      for (let i = 0; i < nodes.length; i++) {
        const n = nodes[i]!;
        // (asking for `attrs` would create an empty map, or decode attributes that hold no tensor nor graph)
        if (n.pendingAttrs instanceof LazyAttrs || n.attrCount === 0) continue;
        for (const a of n.attrs.values()) {
          if (a.kind === 'tensor') visit(a.value);
          else if (a.kind === 'tensors') a.value.forEach(visit);
          else if (a.kind === 'graph') (subgraphs ??= []).push(a.value);
          else if (a.kind === 'graphs') (subgraphs ??= []).push(...a.value);
        }
      }
      if (subgraphs) for (const sub of subgraphs) walk(sub);
    };
    for (const g of graphs) walk(g);
  }
}

/**
 * The constants of `g` to write as initializers: first those read (indices
 * into `rec.initValues`, in file order), then those added since, in creation
 * order. A graph keeps its values in creation order and the reader creates
 * initializers in file order, so the read ones are nearly always in the same
 * order among the graph's constants: one merge finds the added ones, without a
 * Set of 100k values.
 */
function initializers(g: Graph, rec: GraphRec | undefined): { read: number[]; added: Value[] } {
  const inits = rec?.initValues ?? [];
  const read: number[] = [];
  for (let i = 0; i < inits.length; i++) {
    const v = inits[i]!;
    if (v.graph === g && !v.removed && v.const !== undefined) read.push(i);
  }
  const added: Value[] = [];
  let j = 0;
  const values = g.values;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v.const === undefined) continue;
    if (j < read.length && inits[read[j]!] === v) j++;
    else added.push(v);
  }
  if (j === read.length) return { read, added };
  // Not in that order (an initializer of a graph input listed late, say): a Set does it.
  const done = new Set<Value>();
  read.length = 0;
  added.length = 0;
  for (let i = 0; i < inits.length; i++) {
    const v = inits[i]!;
    if (v.graph !== g || v.removed || v.const === undefined || done.has(v)) continue;
    done.add(v);
    read.push(i);
  }
  for (const v of g.values) if (v.const !== undefined && !done.has(v)) added.push(v);
  return { read, added };
}

/** The IR version that came with each default-domain opset (onnx/docs/Versioning.md). */
export function irVersionForOpset(opset: number): number {
  if (opset >= 23) return 11;
  if (opset >= 21) return 10;
  if (opset >= 19) return 9;
  if (opset >= 15) return 8;
  if (opset >= 12) return 7;
  if (opset >= 11) return 6;
  if (opset >= 10) return 5;
  if (opset >= 9) return 4;
  return 3;
}

/** No field numbers: copyUnknown then copies every field a record kept. */
const NO_FIELDS: ReadonlySet<number> = new Set();

type OpsetsRead = { domain: string; version: number; start: number; end: number }[];
type MetadataRead = { key: string; value: string; start: number; end: number }[];

/** OperatorSetIdProtos under `field` (ModelProto 8, FunctionProto 9): each one as read is copied. */
function opsetImports(out: Sink, field: number, opsets: readonly Opset[], rec: { buf: Uint8Array; opsets: OpsetsRead } | undefined): void {
  opsets.forEach((o, i) => {
    const r = rec?.opsets[i];
    if (r && r.domain === o.domain && r.version === o.version) out.rawRange(rec!.buf, r.start, r.end);
    else {
      out.open(field);
      out.stringField(1, o.domain);
      out.tag(2, WIRE.VARINT);
      out.int64(o.version);
      out.close();
    }
  });
}

/** StringStringEntryProtos under `field` (metadata_props): each one as read is copied. */
function metadataProps(out: Sink, field: number, entries: readonly { key: string; value: string }[], rec: { buf: Uint8Array; metadata: MetadataRead } | undefined): void {
  entries.forEach((e, i) => {
    const r = rec?.metadata[i];
    if (r && r.key === e.key && r.value === e.value) out.rawRange(rec!.buf, r.start, r.end);
    else {
      out.open(field);
      out.stringField(1, e.key);
      out.stringField(2, e.value);
      out.close();
    }
  });
}

function sameOpsets(a: readonly Opset[], b: OpsetsRead): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.domain !== b[i]!.domain || a[i]!.version !== b[i]!.version) return false;
  return true;
}

function sameMetadata(a: readonly { key: string; value: string }[], b: MetadataRead): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.key !== b[i]!.key || a[i]!.value !== b[i]!.value) return false;
  return true;
}

/** Whether the values are named `names`, in order. */
function sameNames(values: readonly Value[], names: readonly string[]): boolean {
  if (values.length !== names.length) return false;
  for (let i = 0; i < names.length; i++) if (values[i]!.name !== names[i]) return false;
  return true;
}

function producerSame(a: { name: string; version?: string } | undefined, b: { name: string; version?: string } | undefined): boolean {
  if (!a || !b) return a === b;
  return a.name === b.name && a.version === b.version;
}

function sameList(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** Where the varint that `varintAt` read last ends. */
let afterVarint = 0;

/**
 * The varint at `p` of bytes the reader has checked already; its end goes to
 * `afterVarint` (no closure or result object: namesSame runs for 100k nodes).
 */
function varintAt(b: Uint8Array, p: number): number {
  let v = 0;
  for (let shift = 0; ; shift += 7) {
    const byte = b[p++]!;
    v += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) break;
  }
  afterVarint = p;
  return v;
}

/**
 * Whether a node's input and output names, name, op type and domain are
 * still the ones in its bytes (the NodeProto's content at [p, end)), and,
 * unless `attrCount` is -1, whether it has that many attributes: compared in
 * place, nothing decoded.
 */
function nodeBytesSame(n: Node, b: Uint8Array, p: number, end: number, attrCount: number): boolean {
  const ins = n.inputs;
  const outCount = n.outputCount;
  let i = 0;
  let o = 0;
  let attrs = 0;
  // The last occurrence of each counts, as when it was read; absent is ''.
  let name = -1;
  let op = -1;
  let domain = -1;
  while (p < end) {
    const at = p;
    const tag = varintAt(b, p);
    p = afterVarint;
    const wire = tag & 7;
    if (wire === WIRE.LEN) {
      const l = varintAt(b, p);
      p = afterVarint;
      const field = Math.floor(tag / 8);
      if (field === 1) {
        if (i >= ins.length || !utf8Is(b, p, p + l, ins[i]?.name ?? '')) return false;
        i++;
      } else if (field === 2) {
        if (o >= outCount || !utf8Is(b, p, p + l, n.output(o).name)) return false;
        o++;
      } else if (field === 3) name = at;
      else if (field === 4) op = at;
      else if (field === 7) domain = at;
      else if (field === 5) attrs++;
      p += l;
    } else if (wire === WIRE.VARINT) while (b[p++]! >= 0x80);
    else if (wire === WIRE.I64) p += 8;
    else if (wire === WIRE.I32) p += 4;
    else return false; // a group: rare enough to simply encode the node again
  }
  if (i !== ins.length || o !== outCount || (attrCount >= 0 && attrs !== attrCount)) return false;
  return fieldTextIs(b, name, n.name) && fieldTextIs(b, op, n.op) && fieldTextIs(b, domain, n.domain);
}

/** Copies every occurrence of field `no` of a record, in file order. */
function copySpans(out: Sink, rec: RecordRange | undefined, no: number): void {
  if (!rec) return;
  const s = rec.spans;
  for (let i = 0; i < s.length; i += 3) if (s[i] === no) out.rawRange(rec.buf, s[i + 1]!, s[i + 2]!);
}

/** Copies the fields this codec does not know, in file order, after the known ones (as protobuf does). */
function copyUnknown(out: Sink, rec: RecordRange | undefined, known: ReadonlySet<number>): void {
  if (!rec) return;
  const s = rec.spans;
  for (let i = 0; i < s.length; i += 3) if (!known.has(s[i]!)) out.rawRange(rec.buf, s[i + 1]!, s[i + 2]!);
}

/** Copies an element's bytes; under another field number, re-tags its content. */
function copyRec(out: Sink, rec: RecordRange, field: number): void {
  if (rec.field === field) {
    out.rawRange(rec.buf, rec.start, rec.end);
    return;
  }
  let p = rec.start;
  for (let k = 0; k < 2; k++) while (rec.buf[p++]! >= 0x80);
  const content = rec.buf.subarray(p, rec.end);
  out.tag(field, WIRE.LEN);
  out.varint(content.byteLength);
  out.raw(content);
}

/** The fields of one message as read: tag (field << 3 | wire type), start, end (tag included), in file order. */
function fieldsOf(buf: Uint8Array, start: number, end: number, file: string): number[] {
  const cur = new Cursor(buf, file);
  cur.pos = start;
  const out: number[] = [];
  while (cur.pos < end) {
    const s = cur.pos;
    const tag = cur.tag(end);
    cur.skip(tag & 7, end);
    out.push(tag, s, cur.pos);
  }
  return out;
}

/** Where the content of the length-delimited field at `start` begins (past its tag and length). */
function contentStart(buf: Uint8Array, start: number): number {
  let p = start;
  for (let k = 0; k < 2; k++) while (buf[p++]! >= 0x80);
  return p;
}

/** The content range of the one field numbered `no`; undefined when it occurs more or less than once or is not length-delimited. */
function onlyLenField(buf: Uint8Array, fields: readonly number[], no: number): [number, number] | undefined {
  let found: [number, number] | undefined;
  for (let i = 0; i < fields.length; i += 3) {
    if (fields[i]! >>> 3 !== no) continue;
    if (found || (fields[i]! & 7) !== WIRE.LEN) return undefined;
    found = [contentStart(buf, fields[i + 1]!), fields[i + 2]!];
  }
  return found;
}

function copyFieldsExcept(out: Sink, buf: Uint8Array, fields: readonly number[], skip: (no: number) => boolean): void {
  for (let i = 0; i < fields.length; i += 3) if (!skip(fields[i]! >>> 3)) out.rawRange(buf, fields[i + 1]!, fields[i + 2]!);
}

/**
 * The TypeProto of a value whose dtype or shape changed, written over the one
 * read: elem_type and dims come from the IR, and what the IR does not model
 * is kept (TypeProto.denotation, each dimension's denotation when the rank is
 * unchanged, unknown fields at every level), in field-number order with the
 * kept fields after the ones encoded, as protobuf writes them. False when the
 * type read is not one tensor_type with at most one shape (nothing to write over).
 */
function encodeTypeOver(out: Sink, v: Value, rec: RecordRange, file: string): boolean {
  const buf = rec.buf;
  let type: [number, number] | undefined;
  for (let i = 0; i < rec.spans.length; i += 3) if (rec.spans[i] === 2) type = [rec.spans[i + 1]!, rec.spans[i + 2]!];
  if (!type) return false;
  const typeFields = fieldsOf(buf, contentStart(buf, type[0]), type[1], file);
  const tensor = onlyLenField(buf, typeFields, 1);
  if (!tensor) return false;
  const tensorFields = fieldsOf(buf, tensor[0], tensor[1], file);
  let shapes = 0;
  for (let i = 0; i < tensorFields.length; i += 3) if (tensorFields[i]! >>> 3 === 2) shapes++;
  if (shapes > 1) return false;
  const shape = onlyLenField(buf, tensorFields, 2);
  const shapeFields = shape ? fieldsOf(buf, shape[0], shape[1], file) : [];
  const dims: [number, number][] = [];
  for (let i = 0; i < shapeFields.length; i += 3) {
    if (shapeFields[i] === ((1 << 3) | WIRE.LEN)) dims.push([contentStart(buf, shapeFields[i + 1]!), shapeFields[i + 2]!]);
  }
  out.open(2);
  out.open(1);
  elemType(out, v, file);
  if (v.shape) {
    const sameRank = dims.length === v.shape.length;
    out.open(2);
    v.shape.forEach((d, i) => {
      out.open(1);
      if (typeof d === 'number') {
        out.tag(1, WIRE.VARINT);
        out.int64(d);
      } else if (typeof d === 'string') out.stringField(2, d);
      const read = dims[i];
      if (sameRank && read) copyFieldsExcept(out, buf, fieldsOf(buf, read[0], read[1], file), (no) => no === 1 || no === 2);
      out.close();
    });
    copyFieldsExcept(out, buf, shapeFields, (no) => no === 1);
    out.close();
  }
  copyFieldsExcept(out, buf, tensorFields, (no) => no === 1 || no === 2);
  out.close();
  copyFieldsExcept(out, buf, typeFields, (no) => no === 1);
  out.close();
  return true;
}

/** TypeProto.Tensor.elem_type (field 1) of a value with a declared dtype. */
function elemType(out: Sink, v: Value, file: string): void {
  if (v.dtype === undefined) return;
  const code = codeOfDtype(v.dtype);
  if (code === undefined) throw new ModelError({ file, tensor: v.name }, `dtype ${v.dtype} has no ONNX data type`);
  out.tag(1, WIRE.VARINT);
  out.int64(code);
}

/** A TypeProto with a tensor_type built from a value's dtype and shape. */
function encodeType(out: Sink, v: Value, file: string): void {
  out.open(2);
  out.open(1);
  elemType(out, v, file);
  if (v.shape) {
    out.open(2);
    for (const d of v.shape) {
      out.open(1);
      if (typeof d === 'number') {
        out.tag(1, WIRE.VARINT);
        out.int64(d);
      } else if (typeof d === 'string') out.stringField(2, d);
      out.close();
    }
    out.close();
  }
  out.close();
  out.close();
}
