import type { Attr } from '../../ir/attr';
import type { DType } from '../../ir/dtype';
import type { Graph, Node, Shape, Value } from '../../ir/graph';
import type { FunctionAttribute, ModelFunction } from '../../ir/model';
import { BytesData, Tensor, type TensorData } from '../../ir/tensor';
import type { ExternalRef } from './external';
import { WIRE } from './schema';
import { Cursor, decodeUtf8 } from './wire';

/**
 * What the codec remembers of each element it read, kept in the IR's `native`
 * slots: the element's byte range in the file (tag included), the byte ranges
 * of its fields (`spans`, as triples field/start/end, in file order), and a
 * snapshot of the IR fields as read. At write time an element whose IR fields
 * still equal the snapshot is copied byte for byte from its range; a changed
 * one is encoded again from the IR, with the fields the IR does not model
 * copied from their ranges.
 */
/** The byte range of an element read and the fields kept as bytes: what the writer copies from. */
export interface RecordRange {
  readonly buf: Uint8Array;
  readonly start: number;
  readonly end: number;
  readonly field: number;
  readonly spans: readonly number[];
}

export abstract class Rec implements RecordRange {
  constructor(
    /** The whole file the element was read from. */
    readonly buf: Uint8Array,
    /** Byte range of the field holding the element, tag and length included. */
    readonly start: number,
    readonly end: number,
    /** Field number the element was stored under in its parent. */
    readonly field: number,
  ) {}

  /**
   * The fields kept as bytes (those the IR does not model, and unknown ones):
   * field number, start, end (tag included), in file order. Shared and empty
   * until the first one, so that the many plain nodes of a large graph cost
   * no array.
   */
  get spans(): readonly number[] {
    return this._spans;
  }
  protected _spans: readonly number[] = NO_SPANS;
  /** Bit n set: field n (< 31) occurred, for fields decoded into the IR and not kept in `spans`. */
  present = 0;

  span(field: number, start: number, end: number): void {
    if (this._spans === NO_SPANS) this._spans = [field, start, end];
    else (this._spans as number[]).push(field, start, end);
  }

  /** Forgets the kept fields (when they turn out to be ones the IR encodes). */
  dropSpans(): void {
    this._spans = NO_SPANS;
  }

  mark(field: number): void {
    this.present |= 1 << field;
  }

  /** Whether field `no` occurred in the message. */
  has(no: number): boolean {
    if (no < 31 && this.present & (1 << no)) return true;
    for (let i = 0; i < this.spans.length; i += 3) if (this.spans[i] === no) return true;
    return false;
  }
}

const NO_SPANS: readonly number[] = Object.freeze([]);

export class ModelRec extends Rec {
  /** Producer as the IR held it after reading (undefined: no producer fields). */
  producer?: { name: string; version?: string };
  opsets: { domain: string; version: number; start: number; end: number }[] = [];
  metadata: { key: string; value: string; start: number; end: number }[] = [];
  /** Graph the file held (the GraphProto field); undefined when there was none or it is not decoded yet. */
  graph?: Graph;
  /** False while the graph is still only validated bytes: nobody has looked at (or changed) it. */
  graphDecoded = true;
  /** The functions as read, in file order; undefined until they are decoded (see functionsDecoded). */
  functions?: ModelFunction[];
  /** False while the functions (field 25) are still only bytes: nobody has looked at (or changed) them. */
  functionsDecoded = true;
  /** External tensors found while validating an undecoded graph (for `keep` writes). */
  externals: TensorRec[] = [];
  /** External tensors found while validating undecoded functions: the writer decodes functions that hold any. */
  functionExternals: TensorRec[] = [];
  /** Folder external data locations are relative to. */
  dir = '';
  file = '';
}

/**
 * A FunctionProto as read (ModelFunction.native): the IR fields as they were,
 * and the byte ranges of its opset imports and metadata. Its nodes and
 * value_info are the body graph's record (a GraphRec without inputs, outputs
 * or initializers: a function names its inputs and outputs, and holds none).
 */
export class FunctionRec extends Rec {
  name = '';
  domain = '';
  overload = '';
  doc?: string;
  /** The names of the formal inputs and outputs. */
  inputs: string[] = [];
  outputs: string[] = [];
  /** The formal attributes as read (a default is the Attr read, whose AttrRec holds its bytes). */
  attributes: FunctionAttribute[] = [];
  opsets: { domain: string; version: number; start: number; end: number }[] = [];
  metadata: { key: string; value: string; start: number; end: number }[] = [];
  /** The body graph read. */
  body!: Graph;
}

export class GraphRec extends Rec {
  name = '';
  /** The nodes as read, in file order: node k's record is `nodeRanges` at 3k (see NodeRec). */
  nodes: Node[] = [];
  /**
   * Per node read: start, content start and end of its NodeProto field, in
   * one typed array: a record object per node would be 100k+ objects on a
   * large graph. A node read from this graph holds its position as `native`.
   */
  nodeRanges: Int32Array = NO_RANGES;
  inputs: ValueInfoRec[] = [];
  outputs: ValueInfoRec[] = [];
  valueInfo: ValueInfoRec[] = [];
  /** The initializers as read: the value each became and the tensor it held (parallel arrays). */
  initValues: Value[] = [];
  initTensors: Tensor[] = [];
}

const NO_RANGES = new Int32Array(0);

/**
 * The position among the nodes read into `n`'s graph of the NodeProto that
 * `n` was read from, or -1 for a node this codec did not read.
 */
export function nodeIndex(n: Node): number {
  const k = n.native;
  if (typeof k !== 'number') return -1;
  const rec = n.graph.native;
  return rec instanceof GraphRec && k >= 0 && 3 * k < rec.nodeRanges.length && Number.isInteger(k) ? k : -1;
}

/**
 * A NodeProto's fields as read: made from its bytes when a changed node is
 * encoded again (an unchanged one is compared with its bytes in place and
 * copied). Its input and output names are not kept.
 */
export class NodeRec extends Rec {
  op = '';
  domain = '';
  name = '';
}

/** Snapshot of an attribute: its name, kind and value as read (lists copied). */
export class AttrRec extends Rec {
  name = '';
  kind: Attr['kind'] = 'opaque';
  value: unknown;
  /** Field number of the value as read (2 for f, 3 for i, ...); 0 for opaque. */
  valueField = 0;
  /** AttributeProto.type as read: for a reference, the type of the attribute it refers to. */
  type?: number;
}

export class ValueInfoRec extends Rec {
  value!: Value;
  name = '';
  dtype?: DType;
  shape?: Shape;
  /** The IR's dtype/shape describe the TypeProto completely (it can be re-encoded exactly). */
  typeExact = false;
}

/**
 * A tensor read from a TensorProto, and the record of that TensorProto: one
 * object, as a large model holds 100k+ constants, with as few fields as
 * possible (each costs 8 bytes per tensor): what can be found again in the
 * tensor's bytes (its name, the raw_data range, the fields kept as bytes) is
 * found there when asked for. Data that is a raw_data range of the file's
 * buffer gets a BytesData each time it is asked for: an unchanged tensor is
 * copied from its byte range without one.
 */
export class TensorRec extends Tensor implements RecordRange {
  /** Field number times four, plus HAS_DATA_TYPE and EXTERNAL (one field for three on 100k+ tensors). */
  private readonly bits: number;

  constructor(
    dtype: DType,
    shape: readonly number[],
    /** The data, or undefined when it is the (last) raw_data field of its bytes. */
    data: TensorData | undefined,
    external: ExternalRef | undefined,
    /** The whole file the tensor was read from. */
    readonly buf: Uint8Array,
    /** Byte range of the field holding the TensorProto, tag and length included (the TensorProto itself when `field` is 0). */
    readonly start: number,
    readonly end: number,
    field: number,
    hasDataType: boolean,
  ) {
    super(dtype, shape, data as TensorData);
    this.bits = field * 4 + (hasDataType ? HAS_DATA_TYPE : 0) + (external ? EXTERNAL : 0);
    if (external) EXTERNAL_REFS.set(this, external);
  }

  /** Field number the tensor was stored under in its parent (0: a TensorProto on its own). */
  get field(): number {
    return this.bits >> 2;
  }

  /** Whether the TensorProto has a data_type field (an absent one means 0 and is not written back). */
  get hasDataType(): boolean {
    return (this.bits & HAS_DATA_TYPE) !== 0;
  }

  /** Where the data lives when it is external (data_location EXTERNAL): checked when read. */
  get external(): ExternalRef | undefined {
    return this.bits & EXTERNAL ? EXTERNAL_REFS.get(this) : undefined;
  }

  /** TensorProto.name (its last occurrence), when present. */
  get name(): string | undefined {
    const at = this.lastField(NAME_TAG);
    if (at < 0) return undefined;
    const cur = new Cursor(this.buf, '');
    cur.pos = at;
    cur.tag(this.end);
    return cur.string(this.end);
  }

  /** Whether TensorProto.name is `text` (an absent name counts as ''), compared in place. */
  nameIs(text: string): boolean {
    return fieldTextIs(this.buf, this.lastField(NAME_TAG), text);
  }

  /** Where the TensorProto's own fields begin: after the tag and length of the field holding it, if any. */
  get contentStart(): number {
    if (this.field === 0) return this.start;
    let p = this.start;
    for (let k = 0; k < 2; k++) while (this.buf[p++]! >= 0x80);
    return p;
  }

  override get data(): TensorData {
    const data = this._data;
    if (data) return data;
    // Not kept: a rewrite reads the data of the constants it replaces once,
    // and a kept view would outlive them in the old generation.
    const at = this.lastField(RAW_DATA_TAG);
    if (at < 0) throw new Error('tensor record without data');
    const cur = new Cursor(this.buf, '');
    cur.pos = at;
    cur.tag(this.end);
    const stop = cur.lenEnd(this.end);
    return new BytesData(this.buf, cur.pos, stop - cur.pos);
  }

  /**
   * The fields kept as bytes: all fields but data_type, name and unpacked
   * dims, which the IR models. Found again in the tensor's bytes when first
   * asked for, rather than listed while reading: a model holds 100k+
   * tensors, and only the few that a rewrite changes are ever encoded again.
   */
  get spans(): readonly number[] {
    let spans = SPANS.get(this);
    if (!spans) SPANS.set(this, (spans = keptTensorFields(this.buf, this.contentStart, this.end)));
    return spans;
  }

  /** Whether field `no` occurred in the TensorProto. */
  has(no: number): boolean {
    if (no === 2) return this.hasDataType;
    const spans = this.spans;
    for (let i = 0; i < spans.length; i += 3) if (spans[i] === no) return true;
    return false;
  }

  /** Where the last field with the one-byte tag `tag` (wire type LEN) starts, or -1. */
  private lastField(tag: number): number {
    // The bytes were validated when the tensor was read: the cursor will not fail here.
    const cur = new Cursor(this.buf, '');
    const end = this.end;
    cur.pos = this.contentStart;
    let found = -1;
    while (cur.pos < end) {
      const at = cur.pos;
      const t = cur.tag(end);
      if (t === tag) found = at;
      cur.skip(t & 7, end);
    }
    return found;
  }
}

const HAS_DATA_TYPE = 1;
const EXTERNAL = 2;
/** TensorProto.name (8) and raw_data (9), length-delimited. */
const NAME_TAG = (8 << 3) | WIRE.LEN;
const RAW_DATA_TAG = (9 << 3) | WIRE.LEN;
/** The external references of the tensors with EXTERNAL set (few, and never on a tensor without). */
const EXTERNAL_REFS = new WeakMap<TensorRec, ExternalRef>();
/** The kept fields of the tensors asked for them (those encoded again). */
const SPANS = new WeakMap<TensorRec, readonly number[]>();

/** Whether the string field whose tag is at `at` of checked bytes holds `text` (`at` -1: no such field, which reads as ''). */
export function fieldTextIs(b: Uint8Array, at: number, text: string): boolean {
  if (at < 0) return text === '';
  let p = at;
  while (b[p++]! >= 0x80); // the tag
  let len = 0;
  for (let shift = 0; ; shift += 7) {
    const byte = b[p++]!;
    len += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) break;
  }
  return utf8Is(b, p, p + len, text);
}

/** Whether bytes [s, e) of `b` are the UTF-8 of `text` (invalid UTF-8 compares as its decoding with U+FFFD). */
export function utf8Is(b: Uint8Array, s: number, e: number, text: string): boolean {
  const n = e - s;
  if (text.length > n) return false; // each UTF-16 unit takes at least one byte
  if (text.length === n) {
    let i = 0;
    for (; i < n; i++) {
      const c = b[s + i]!;
      if (c >= 0x80) break;
      if (c !== text.charCodeAt(i)) return false;
    }
    if (i === n) return true;
  }
  return decodeUtf8(b, s, e) === text;
}

/** Field/start/end triples of a TensorProto's fields other than data_type, name and unpacked dims. */
function keptTensorFields(buf: Uint8Array, contentStart: number, end: number): readonly number[] {
  // The bytes were validated when the tensor was read: the cursor will not fail here.
  const cur = new Cursor(buf, '');
  cur.pos = contentStart;
  let kept: number[] | undefined;
  while (cur.pos < end) {
    const at = cur.pos;
    const tag = cur.tag(end);
    const field = tag >>> 3;
    const wire = tag & 7;
    cur.skip(wire, end);
    const modeled = (field === 1 && wire === WIRE.VARINT) || (field === 2 && wire === WIRE.VARINT) || (field === 8 && wire === WIRE.LEN);
    if (!modeled) (kept ??= []).push(field, at, cur.pos);
  }
  return kept ?? NO_SPANS;
}

/** The record of the TensorProto a tensor was read from, if it was read by this codec. */
export function tensorRec(t: Tensor): TensorRec | undefined {
  return t instanceof TensorRec ? t : undefined;
}

/** ModelProto.ir_version as read (the last one, as protobuf reads it); Infinity when absent. */
export function irVersionOf(rec: ModelRec): number {
  let version = Infinity;
  const s = rec.spans;
  const cur = new Cursor(rec.buf, rec.file);
  for (let i = 0; i < s.length; i += 3) {
    // Field 1 as a varint has the one-byte tag 0x08.
    if (s[i] !== 1 || rec.buf[s[i + 1]!] !== 0x08) continue;
    cur.pos = s[i + 1]! + 1;
    version = Number(cur.int64(s[i + 2]!));
  }
  return version;
}
