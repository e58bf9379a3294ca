import { Attr, attrGraphs } from './attr';
import { NameIndex } from './name-index';
import type { DType } from './dtype';
import type { Tensor } from './tensor';

/** One dimension: a size, a symbolic name (`N`, `batch`), or unknown (null). */
export type Dim = number | string | null;
/** A shape; `undefined` where a value's rank is unknown. */
export type Shape = Dim[];

const REMOVED = 1;
const VARIABLE = 2;
const PINNED = 4;
const OVERRIDABLE = 8;
/** Value._bits: the four flags above, then how many graph outputs name the value, then the input index of its one reader. */
const REFS_SHIFT = 4;
const REFS_MASK = 0xff << REFS_SHIFT;
/** Graph-output counts from this one on are kept in OUTPUT_REFS (a value named by 255 outputs is not worth a field on every value). */
const REFS_SATURATED = 0xff;
const INDEX_SHIFT = 12;
/** Input indexes from this one on put their use in a list (Value._use), so the bits stay a small integer. */
const MAX_INLINE_INDEX = 1 << 18;
/** Graph-output counts of the values with REFS_SATURATED in their bits. */
const OUTPUT_REFS = new WeakMap<Value, number>();

/** One place a value is read: input `index` of `node`. */
export interface Use {
  readonly node: Node;
  readonly index: number;
}

/**
 * An edge of the graph: produced by at most one node (or a graph input, or a
 * constant) and read by any number of nodes and graph outputs. The links are
 * kept by Graph and Node; they are never set by hand.
 *
 * A large model holds 250k+ values, and each field costs 8 bytes of heap per
 * value (which the garbage collector copies while the graph is read): the
 * fields are few, and always set in the same order, so that every value has
 * one shape.
 */
export class Value {
  /** The graph the value belongs to. */
  readonly graph: Graph;
  /** Its name in the format (ONNX value name, TFLite tensor name, OpenVINO port tensor name). */
  name: string;
  /** Declared element type, when the model declares one. */
  dtype?: DType;
  /** Declared shape, when the model declares one. */
  shape?: Shape;
  /** Constant content: an initializer (ONNX), a buffer (TFLite), a Const layer (OpenVINO). */
  const?: Tensor;

  /** @internal */ _producer: Node | null;
  /**
   * @internal The readers: one node (its input index in `_bits`), or a list
   * of every use in the order made, or null. Most values of a graph have
   * exactly one reader, and a list and a Use object each for 250k values are
   * a large part of a big model's heap.
   */
  _use: Node | Use[] | null;
  /** The flags (REMOVED, set by Graph.removeValue, VARIABLE, PINNED, OVERRIDABLE), the graph-output count and the one reader's input index, in one small integer. */
  private _bits: number;

  /** @internal use Graph.addValue / Graph.addConstant */
  constructor(graph: Graph, name: string) {
    this.graph = graph;
    this.name = name;
    this.dtype = undefined;
    this.shape = undefined;
    this.const = undefined;
    this._producer = null;
    this._use = null;
    this._bits = 0;
  }

  /**
   * Format-specific fields the IR does not model (quantization, value_info
   * extras, port ids). Kept by the graph, not the value: ONNX values have
   * none, and a field would cost every value of a large graph.
   */
  get native(): unknown {
    return this.graph._valueNative(this);
  }

  set native(native: unknown) {
    this.graph._setValueNative(this, native);
  }

  /** @internal */
  get _removed(): boolean {
    return (this._bits & REMOVED) !== 0;
  }

  set _removed(on: boolean) {
    this.flag(REMOVED, on);
  }

  private flag(bit: number, on: boolean | undefined): void {
    this._bits = on ? this._bits | bit : this._bits & ~bit;
  }

  /**
   * Holds state kept between runs (TFLite variable tensors such as an LSTM's
   * cell state): like a graph input, it is a source that no node produces.
   */
  get variable(): boolean | undefined {
    return this._bits & VARIABLE ? true : undefined;
  }

  set variable(on: boolean | undefined) {
    this.flag(VARIABLE, on);
  }

  /**
   * Kept by cleanup even when nothing reads it: format data the IR does not
   * model refers to it (a TFLite operator's `intermediates`).
   */
  get pinned(): boolean | undefined {
    return this._bits & PINNED ? true : undefined;
  }

  set pinned(on: boolean | undefined) {
    this.flag(PINNED, on);
  }

  /**
   * A constant that is also a graph input, which a caller may feed another
   * tensor for (an ONNX initializer listed among the graph inputs, from IR
   * version 4): its content is a default, not a fixed value.
   */
  get overridable(): boolean | undefined {
    return this._bits & OVERRIDABLE ? true : undefined;
  }

  set overridable(on: boolean | undefined) {
    this.flag(OVERRIDABLE, on);
  }

  /** @internal How many graph outputs (of this graph or of subgraphs) name this value. */
  get _outputRefs(): number {
    const refs = (this._bits & REFS_MASK) >>> REFS_SHIFT;
    return refs === REFS_SATURATED ? OUTPUT_REFS.get(this)! : refs;
  }

  set _outputRefs(refs: number) {
    if (refs >= REFS_SATURATED) OUTPUT_REFS.set(this, refs);
    else OUTPUT_REFS.delete(this);
    this._bits = (this._bits & ~REFS_MASK) | (Math.min(refs, REFS_SATURATED) << REFS_SHIFT);
  }

  /** @internal The input index of the one reader held as `_use` itself. */
  get _useIndex(): number {
    return this._bits >>> INDEX_SHIFT;
  }

  /** @internal Makes `node`'s input `index` the one reader (`index` below MAX_INLINE_INDEX). */
  _setOnlyUse(node: Node, index: number): void {
    this._use = node;
    this._bits = (this._bits & ((1 << INDEX_SHIFT) - 1)) | (index << INDEX_SHIFT);
  }

  /** @internal Forgets the readers. */
  _setNoUse(): void {
    this._use = null;
    this._bits &= (1 << INDEX_SHIFT) - 1;
  }

  get producer(): Node | null {
    return this._producer;
  }

  /** Whether the graph has let go of this value (Graph.removeValue). */
  get removed(): boolean {
    return this._removed;
  }

  /** Every (node, input index) that reads this value, in no promised order. */
  get uses(): readonly Use[] {
    const use = this._use;
    if (use === null) return NO_USES;
    if (use instanceof Node) return [{ node: use, index: this._useIndex }];
    return use.slice();
  }

  /** The distinct nodes that read this value. */
  get consumers(): Node[] {
    const use = this._use;
    if (use === null) return [];
    if (use instanceof Node) return [use];
    return [...new Set(use.map((u) => u.node))];
  }

  get isGraphOutput(): boolean {
    return (this._bits & REFS_MASK) !== 0;
  }

  get isGraphInput(): boolean {
    return this.graph.inputs.includes(this);
  }

  get isConstant(): boolean {
    return this.const !== undefined;
  }

  /** How many readers see this value: node inputs plus graph outputs. */
  get useCount(): number {
    const use = this._use;
    const nodes = use === null ? 0 : use instanceof Node ? 1 : use.length;
    return (this._bits & REFS_MASK) === 0 ? nodes : nodes + this._outputRefs;
  }

  /** Points every reader of this value (nodes and graph outputs) at `other` instead. */
  replaceAllUsesWith(other: Value | null): void {
    if (other === this) return;
    for (const use of this.uses) use.node.setInput(use.index, other);
    if (this.isGraphOutput) {
      if (!other) throw new Error(`cannot replace graph output '${this.name}' with nothing`);
      this.graph.outputs = this.graph.outputs.map((v) => (v === this ? other : v));
    }
  }
}

/** An operation: its format-native op name, inputs, outputs and typed attributes. */
export class Node {
  readonly graph: Graph;
  /** Native op name: ONNX op_type, TFLite builtin name or custom code, OpenVINO layer type. */
  op: string;
  /** ONNX domain (`''` = ai.onnx), OpenVINO opset (`opset8`), `custom` for TFLite custom ops. */
  domain: string;
  name: string;
  /** Format-specific fields the IR does not model, written back as read. */
  native?: unknown;

  /** @internal */ _inputs: (Value | null)[] = NO_VALUES;
  /**
   * @internal The outputs; a node's only output is held as itself: most nodes
   * have one, and an array each is two heap objects per node of a large graph.
   */
  _outputs: Value | Value[] = NO_VALUES as Value[];
  /** @internal */ _removed = false;
  /** @internal scratch of the graph passes (visit marks), meaningless between passes */ _mark = 0;
  /**
   * Created on first use: most nodes of a large graph (Relu, Add, ...) have no
   * attributes, and an empty Map costs more than the node itself. A codec may
   * leave a node's attributes undecoded (an AttrSource) until someone asks.
   */
  private _attrs: Map<string, Attr> | AttrSource | undefined;

  /** @internal use Graph.addNode */
  constructor(graph: Graph, op: string, domain: string, name: string, attrs: Map<string, Attr> | undefined) {
    this.graph = graph;
    this.op = op;
    this.domain = domain;
    this.name = name;
    // A map passed in is kept even when empty: its creator may fill it later.
    this._attrs = attrs;
  }

  /** Typed attributes by name. */
  get attrs(): Map<string, Attr> {
    const attrs = this._attrs;
    if (attrs instanceof Map) return attrs;
    return (this._attrs = attrs ? attrs.decodeAttrs(this) : new Map());
  }

  set attrs(attrs: Map<string, Attr>) {
    this._attrs = attrs;
  }

  /** How many attributes the node has (without decoding them or creating a map). */
  get attrCount(): number {
    const attrs = this._attrs;
    if (attrs instanceof Map) return attrs.size;
    return attrs ? attrs.attrCount(this) : 0;
  }

  /**
   * The source the node's attributes are still to be decoded from, or
   * undefined once they are (or were never) undecoded: a codec's writer may
   * take an undecoded source as proof that the attributes are as read.
   */
  get pendingAttrs(): AttrSource | undefined {
    const attrs = this._attrs;
    return attrs instanceof Map ? undefined : attrs;
  }

  /** @internal for codecs: the node's attributes, to be decoded from `source` on first use. */
  setAttrSource(source: AttrSource): void {
    this._attrs = source;
  }

  /** Inputs in order; `null` stands for an omitted optional input. */
  get inputs(): readonly (Value | null)[] {
    return this._inputs;
  }

  /** The outputs in order (a new array each time for a node with one output). */
  get outputs(): readonly Value[] {
    const o = this._outputs;
    return o instanceof Value ? [o] : o;
  }

  get outputCount(): number {
    const o = this._outputs;
    return o instanceof Value ? 1 : o.length;
  }

  get removed(): boolean {
    return this._removed;
  }

  input(i: number): Value | null {
    return this._inputs[i] ?? null;
  }

  output(i: number): Value {
    const o = this._outputs;
    const v = o instanceof Value ? (i === 0 ? o : undefined) : o[i];
    if (!v) throw new RangeError(`node '${this.name}' (${this.op}) has no output ${i}`);
    return v;
  }

  setInput(index: number, value: Value | null): void {
    const old = this._inputs[index];
    if (old) removeUse(old, this, index);
    if (this._inputs === NO_VALUES) this._inputs = [];
    while (this._inputs.length <= index) this._inputs.push(null);
    this._inputs[index] = value;
    if (value) {
      checkSameGraphOrOuter(this.graph, value);
      addUse(value, this, index);
    }
  }

  setInputs(values: readonly (Value | null)[]): void {
    this._inputs.forEach((v, i) => v && removeUse(v, this, i));
    // An exact-size copy: an array grown by push keeps room for 17 entries,
    // which adds up over the 100k nodes of a large graph.
    this._inputs = values.slice();
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v) {
        checkSameGraphOrOuter(this.graph, v);
        addUse(v, this, i);
      }
    }
  }

  /**
   * @internal for codecs building a graph: links a fresh node (no inputs or
   * outputs yet) to `inputs` and `outputs`, keeping the arrays (not copied).
   */
  _link(inputs: (Value | null)[], outputs: Value | Value[]): void {
    if (this._inputs !== NO_VALUES || this._outputs !== NO_VALUES) throw new Error(`node '${this.name}' is linked already`);
    for (let i = 0; i < inputs.length; i++) {
      const v = inputs[i];
      if (v) {
        checkSameGraphOrOuter(this.graph, v);
        addUse(v, this, i);
      }
    }
    this._inputs = inputs;
    for (const v of outputs instanceof Value ? [outputs] : outputs) {
      if (v._producer && !v._producer._removed) throw new Error(`value '${v.name}' is already produced by node '${v._producer.name}'`);
      if (v.graph !== this.graph) throw new Error(`value '${v.name}' belongs to another graph`);
      v._producer = this;
    }
    this._outputs = !(outputs instanceof Value) && outputs.length === 1 ? outputs[0]! : outputs;
  }

  /** Makes this node the producer of `values` (each must have no other producer). */
  setOutputs(values: readonly Value[]): void {
    for (const v of this.outputs) if (v._producer === this) v._producer = null;
    for (const v of values) {
      if (v._producer && v._producer !== this && !v._producer._removed) {
        throw new Error(`value '${v.name}' is already produced by node '${v._producer.name}'`);
      }
      if (v.graph !== this.graph) throw new Error(`value '${v.name}' belongs to another graph`);
      v._producer = this;
    }
    this._outputs = values.length === 1 ? values[0]! : values.slice();
  }

  /**
   * Attribute helper: the value of attribute `name`, or undefined. Of
   * attributes not decoded yet it may be a frozen copy: change attributes
   * through `attrs`.
   */
  attr(name: string): Attr | undefined {
    const attrs = this._attrs;
    if (attrs === undefined) return undefined;
    if (attrs instanceof Map) return attrs.get(name);
    return attrs.decodeAttr ? attrs.decodeAttr(this, name) : this.attrs.get(name);
  }

  /** The subgraphs held by this node's attributes (If branches, Loop body). */
  get subgraphs(): Graph[] {
    let out: Graph[] | undefined;
    // An undecoded source holds no subgraphs (see AttrSource). Most nodes a
    // rewrite makes have an empty map: every graph pass asks each node, and
    // iterating a map allocates.
    if (this._attrs instanceof Map && this._attrs.size > 0) {
      for (const a of this._attrs.values()) {
        if (a.kind === 'graph' || a.kind === 'graphs') (out ??= []).push(...attrGraphs(a));
      }
    }
    return out ?? NO_GRAPHS;
  }
}

/**
 * The attributes of nodes as a codec read them, decoded on first use: a large
 * graph's attributes are mostly never looked at before they are written back
 * unchanged, and decoded each costs a map, an attribute object and the
 * codec's record. One source may serve every node of a graph (it is given the
 * node), so that undecoded attributes cost a node no object of its own. A
 * source never holds graph attributes (the codec decodes a node with
 * subgraphs at once), so `subgraphs` need not decode it.
 */
export interface AttrSource {
  /** How many attributes `node` has. */
  attrCount(node: Node): number;
  /** The attributes of `node`, decoded now; called at most once per node. */
  decodeAttrs(node: Node): Map<string, Attr>;
  /**
   * One attribute of `node`, decoded now and not kept (frozen, so that a
   * change to it cannot be lost): a matcher reading `epsilon` of 30,000
   * BatchNorms need not keep a map for each.
   */
  decodeAttr?(node: Node, name: string): Attr | undefined;
}

/** Whether a value of a graph's name index is live and still has `name` (not removed, not renamed). */
function isLiveValueNamed(owner: Value, name: string): boolean {
  return !owner._removed && owner.name === name;
}

/** The uses of a value nobody reads: shared, never written. */
const NO_USES: Use[] = [];
Object.freeze(NO_USES);
/** Inputs and outputs of a node before setInputs/setOutputs: shared, never written. */
const NO_VALUES: (Value | null)[] = [];
Object.freeze(NO_VALUES);
const NO_GRAPHS: Graph[] = [];
Object.freeze(NO_GRAPHS);

function addUse(value: Value, node: Node, index: number): void {
  const use = value._use;
  if (use === null && index < MAX_INLINE_INDEX) value._setOnlyUse(node, index);
  else if (use === null) value._use = [{ node, index }];
  else if (use instanceof Node) value._use = [{ node: use, index: value._useIndex }, { node, index }];
  else use.push({ node, index });
}

function removeUse(value: Value, node: Node, index: number): void {
  const use = value._use;
  if (use === null) return;
  if (use instanceof Node) {
    if (use === node && value._useIndex === index) value._setNoUse();
    return;
  }
  const i = use.findIndex((u) => u.node === node && u.index === index);
  if (i < 0) return;
  use.splice(i, 1);
  // Back to the inline form when one use is left (uses keep the order they were made in).
  if (use.length === 0) value._setNoUse();
  else if (use.length === 1 && use[0]!.index < MAX_INLINE_INDEX) value._setOnlyUse(use[0]!.node, use[0]!.index);
}

/** A node of a subgraph may read values of any enclosing graph (ONNX outer scope). */
function checkSameGraphOrOuter(graph: Graph, value: Value): void {
  for (let g: Graph | undefined = graph; g; g = g.parent) if (g === value.graph) return;
  throw new Error(`value '${value.name}' is not visible from graph '${graph.name}'`);
}

export interface AddNodeOptions {
  op: string;
  domain?: string;
  name?: string;
  inputs?: readonly (Value | null)[];
  /** Existing values to produce, or names of new values to create. */
  outputs?: readonly (Value | string)[];
  attrs?: Map<string, Attr> | Record<string, Attr>;
  native?: unknown;
}

/**
 * A graph: nodes in order, its inputs and outputs, and every value. A subgraph
 * (If/Loop body) has a parent graph whose values it may read.
 */
export class Graph {
  name: string;
  /** Enclosing graph of a subgraph; undefined for a top-level graph. */
  parent?: Graph;
  inputs: Value[] = [];
  /** Graph outputs; assign a new array to change them (keeps use counts right). */
  private _outputs: Value[] = [];
  /** Format-specific fields the IR does not model. */
  native?: unknown;

  private _nodes: Node[] = [];
  private _removedCount = 0;
  /** Every value in creation order; removed ones are dropped lazily (see `liveValues`). */
  private _values: Value[] = [];
  private _removedValues = 0;
  /**
   * Every name this graph has given to a value, with the value, removed and
   * renamed ones included (their names stay taken; a removed value is a
   * tombstone that `findValue` passes over): removing 100k values costs no
   * index updates. Node names apart, so that 100k nodes of one name (ONNX
   * nodes are often unnamed) are never walked when a value is looked for.
   */
  private _valueNames = new NameIndex<Value>();
  /** Names only: a removed node is not kept alive by its name. */
  private _nodeNames = new NameIndex<null>();
  private _sharedNames = 0;
  /** Next suffix to try per base name, so naming n new nodes costs O(n), not O(n^2). */
  private _nextSuffix = new Map<string, number>();
  /** `Value.native` of the values that have one (see there). */
  private _valueNatives: Map<Value, unknown> | undefined;

  constructor(name: string, parent?: Graph) {
    this.name = name;
    this.parent = parent;
  }

  get outputs(): Value[] {
    return this._outputs;
  }

  set outputs(values: Value[]) {
    for (const v of this._outputs) v._outputRefs--;
    this._outputs = [...values];
    for (const v of this._outputs) v._outputRefs++;
  }

  /** @internal see Value.native */
  _valueNative(v: Value): unknown {
    return this._valueNatives?.get(v);
  }

  /** @internal see Value.native */
  _setValueNative(v: Value, native: unknown): void {
    if (native !== undefined) (this._valueNatives ??= new Map()).set(v, native);
    else this._valueNatives?.delete(v);
  }

  /** Nodes in their current order (topological after `toposort`). */
  get nodes(): readonly Node[] {
    if (this._removedCount > 0) {
      const live: Node[] = [];
      const all = this._nodes;
      for (let i = 0; i < all.length; i++) if (!all[i]!._removed) live.push(all[i]!);
      this._nodes = live;
      this._removedCount = 0;
    }
    return this._nodes;
  }

  /**
   * Every value of the graph, in creation order. Values added while a loop
   * walks it are walked too; values removed meanwhile stay in it (removal
   * only marks them), the next call leaves them out.
   */
  get values(): readonly Value[] {
    return this.liveValues();
  }

  get nodeCount(): number {
    return this._nodes.length - this._removedCount;
  }

  get valueCount(): number {
    return this._values.length - this._removedValues;
  }

  /** Constant values (initializers), in creation order. */
  get constants(): Value[] {
    return this.liveValues().filter((v) => v.const !== undefined);
  }

  /** The values array without removed values (an array, not a Set: a Set of 250k values costs a hash table). */
  private liveValues(): Value[] {
    if (this._removedValues > 0) {
      this._values = this._values.filter((v) => !v._removed);
      this._removedValues = 0;
    }
    return this._values;
  }

  /** The value named `name` in this graph or, failing that, in an enclosing one. */
  findValue(name: string): Value | undefined {
    for (let g: Graph | undefined = this; g; g = g.parent) {
      const v = g._valueNames.find(name, isLiveValueNamed);
      if (v) return v;
    }
    return undefined;
  }

  /** A name not yet used by any value or node of this graph, derived from `base`. */
  uniqueName(base: string): string {
    if (!this.nameTaken(base)) return base;
    for (let i = this._nextSuffix.get(base) ?? 1; ; i++) {
      const candidate = `${base}_${i}`;
      if (!this.nameTaken(candidate)) {
        this._nextSuffix.set(base, i + 1);
        return candidate;
      }
    }
  }

  private nameTaken(name: string): boolean {
    return this._valueNames.has(name) || this._nodeNames.has(name);
  }

  /**
   * @internal for codecs building a graph: about this many more values and
   * nodes will be named (sizes the name indexes once). Half as many again
   * is reserved for what rewrites add (a BatchNorm becomes two nodes, four
   * values): growing an index of 100k names in the middle of a rewrite
   * rehashed them all, 20-40 ms at a point where the JIT is busy with the
   * rewrite's own code and the rehash loop runs unoptimized.
   */
  _expectNames(values: number, nodes: number): void {
    this._valueNames.reserve(values + (values >>> 1));
    this._nodeNames.reserve(nodes + (nodes >>> 1));
  }

  /** Creates a value. Names need not be unique (TFLite allows repeats); see uniqueName. */
  addValue(name: string, init?: { dtype?: DType; shape?: Shape; native?: unknown }): Value {
    const v = new Value(this, name);
    if (init) {
      v.dtype = init.dtype;
      v.shape = init.shape;
      if (init.native !== undefined) v.native = init.native;
    }
    this._values.push(v);
    this.indexValueName(name, v);
    return v;
  }

  /**
   * @internal for codecs building a graph: addValue for a name that no live
   * value of this graph has (the caller looked), without a second lookup.
   */
  _addUnheldValue(name: string): Value {
    const v = new Value(this, name);
    this._values.push(v);
    this._valueNames.add(name, v);
    return v;
  }

  /**
   * @internal for codecs building a graph: appends a node and links it to
   * `inputs` and `outputs` (one output may be given as itself), keeping the
   * arrays (not copied).
   */
  _appendNode(op: string, domain: string, name: string, inputs: (Value | null)[], outputs: Value | Value[], native: unknown): Node {
    const node = new Node(this, op, domain, name, undefined);
    node.native = native;
    this._nodeNames.add(name, null);
    this._nodes.push(node);
    node._link(inputs, outputs);
    return node;
  }

  /** Creates a constant value holding `tensor`. */
  addConstant(name: string, tensor: Tensor, native?: unknown): Value {
    // The tensor's own shape array, not a copy: shapes are replaced, never
    // changed in place, and a large model has 100k+ constants.
    const v = this.addValue(name, { dtype: tensor.dtype, shape: tensor.shape as Shape, native });
    v.const = tensor;
    return v;
  }

  /** Renames a value, keeping the name index right. */
  renameValue(value: Value, name: string): void {
    // The old name stays taken; findValue passes over this value for it.
    value.name = name;
    this.indexValueName(name, value);
  }

  /** Enters `name` for `value`, counting it when a live value of this graph has the name already. */
  private indexValueName(name: string, value: Value): void {
    if (this._valueNames.add(name, value, isLiveValueNamed) !== undefined) this._sharedNames++;
  }

  /** Forgets a value nobody reads or produces. */
  removeValue(value: Value): void {
    if (value._producer && !value._producer._removed) {
      throw new Error(`cannot remove value '${value.name}': node '${value._producer.name}' still produces it`);
    }
    if (value._use !== null || value.isGraphOutput) {
      throw new Error(`cannot remove value '${value.name}': it is still read`);
    }
    if (value.graph !== this || value._removed) return;
    value._removed = true;
    this._removedValues++;
  }

  /**
   * @internal How many values were created with a name a live value of this
   * graph held already. While it is 0, a value of this graph is the one its
   * name finds (a codec may then resolve names without the table).
   */
  get sharedNameCount(): number {
    return this._sharedNames;
  }

  /** Appends a node (call toposort after inserting nodes out of order). */
  addNode(opts: AddNodeOptions): Node {
    const name = opts.name ?? this.uniqueName(opts.op);
    const attrs = opts.attrs instanceof Map || opts.attrs === undefined ? opts.attrs : new Map(Object.entries(opts.attrs));
    const node = new Node(this, opts.op, opts.domain ?? '', name, attrs);
    node.native = opts.native;
    this._nodeNames.add(name, null);
    this._nodes.push(node);
    node.setInputs(opts.inputs ?? []);
    const outs = (opts.outputs ?? []).map((o) => (typeof o === 'string' ? this.addValue(o) : o));
    node.setOutputs(outs);
    return node;
  }

  /** Removes a node, unlinking its inputs; its outputs lose their producer. */
  removeNode(node: Node): void {
    if (node.graph !== this || node._removed) return;
    node.setInputs([]);
    for (const v of node.outputs) if (v._producer === node) v._producer = null;
    node._removed = true;
    this._removedCount++;
  }

  /** Replaces the node order; used by toposort. Every live node must appear once. */
  setNodeOrder(order: readonly Node[]): void {
    const live = this.nodes;
    if (order.length !== live.length) throw new Error('setNodeOrder: node count differs');
    this._nodes = [...order];
  }

  /** Inserts `node` (already in this graph) right before `before` in the order. */
  moveBefore(node: Node, before: Node): void {
    const nodes = this.nodes as Node[];
    const from = nodes.indexOf(node);
    if (from < 0) throw new Error(`node '${node.name}' is not in graph '${this.name}'`);
    nodes.splice(from, 1);
    const to = nodes.indexOf(before);
    nodes.splice(to < 0 ? nodes.length : to, 0, node);
  }

  /**
   * This graph and every subgraph inside it, depth first. A list, not a
   * generator: it walks every node of the graph, and a generator's loops
   * allocate per step until the JIT has optimized them.
   */
  walkGraphs(into: Graph[] = []): Graph[] {
    into.push(this);
    const nodes = this.nodes;
    for (let i = 0; i < nodes.length; i++) {
      const subs = nodes[i]!.subgraphs;
      for (let j = 0; j < subs.length; j++) subs[j]!.walkGraphs(into);
    }
    return into;
  }
}
