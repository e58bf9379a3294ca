import { UnsupportedError } from '../../errors';
import { ovFloatAttr, ovFloatsAttr, ovIntAttr, ovIntsAttr, ovStringAttr } from '../../formats/openvino/attrs';
import { attr, type Attr } from '../../ir/attr';
import { dtypeOfElementType } from '../../formats/openvino/element-types';
import { codeOfDtype } from '../../formats/onnx/schema';
import type { DType } from '../../ir/dtype';
import type { Graph, Node, Shape, Value } from '../../ir/graph';
import { Tensor } from '../../ir/tensor';

/**
 * Builds, node by node, an ONNX graph that computes what an OpenVINO graph
 * computes, so that onnxruntime can run OpenVINO IR models here (there is no
 * OpenVINO runtime). A translator per OpenVINO op type (`Translator`) reads
 * the layer's inputs and `<data>` attributes and adds ONNX nodes through
 * this class; the op files under `ops/` register them.
 *
 * The translation is checked op by op against the OpenVINO specification
 * (test/verify/openvino-onnx*.test.ts); `recipe verify` feeds the translation
 * of the model before a rewrite and of the model after it the same inputs, so
 * a rewrite that changes what the model computes shows as a difference.
 */
export type Translator = (node: Node, t: Translation) => Value[];

/** OpenVINO op type -> its translator. */
const TRANSLATORS = new Map<string, Translator>();

/** Registers translators by OpenVINO op type (one per type, whatever the opset). */
export function registerTranslators(ops: Readonly<Record<string, Translator>>): void {
  for (const [op, translate] of Object.entries(ops)) {
    if (TRANSLATORS.has(op)) throw new Error(`two translators for OpenVINO op ${op}`);
    TRANSLATORS.set(op, translate);
  }
}

/**
 * Type names older IR files use for an op (IR v10 from the Model Optimizer
 * writes the opset1 specification's names `ReLU` and `SoftMax`), and the
 * name the translator is registered under.
 */
const ALIASES: Readonly<Record<string, string>> = { ReLU: 'Relu', SoftMax: 'Softmax' };

export function translatorFor(op: string): Translator | undefined {
  return TRANSLATORS.get(op) ?? (Object.hasOwn(ALIASES, op) ? TRANSLATORS.get(ALIASES[op]!) : undefined);
}

/** The OpenVINO op types with a translator, sorted (aliases of one included). */
export function translatableOps(): string[] {
  const aliases = Object.keys(ALIASES).filter((a) => TRANSLATORS.has(ALIASES[a]!));
  return [...TRANSLATORS.keys(), ...aliases].sort();
}

/** An OpenVINO layer that has no ONNX translation (yet), or whose attributes or inputs this translation cannot express. */
export class TranslationError extends UnsupportedError {}

export class Translation {
  /** OpenVINO value -> the ONNX value that computes it. */
  private readonly computed = new Map<Value, Value>();
  private counter = 0;

  constructor(
    /** The ONNX graph being built. */
    readonly onnx: Graph,
    /** What this translation's new names carry, so that a subgraph's never meet the graph's around it (ONNX forbids it). */
    private readonly scope = '',
  ) {}

  /** A translation into `graph`, a subgraph (a Loop's or an If's body) of this one's. */
  nested(graph: Graph): Translation {
    return new Translation(graph, `${this.scope}${this.counter++}.`);
  }

  /** Records that ONNX value `onnxValue` computes OpenVINO value `ov`. */
  bind(ov: Value, onnxValue: Value): void {
    this.computed.set(ov, onnxValue);
  }

  /** The ONNX value computing OpenVINO value `ov` (a constant becomes an initializer on first use). */
  valueOf(ov: Value): Value | undefined {
    const known = this.computed.get(ov);
    if (known) return known;
    if (!ov.const) return undefined;
    const c = this.onnx.addConstant(this.freshName(ov.name || 'const'), ov.const);
    this.computed.set(ov, c);
    return c;
  }

  /** The ONNX value for input `i` of `node`; fails when the port is not connected. */
  input(node: Node, i: number): Value {
    const v = node.inputs[i];
    if (!v) this.fail(node, `input ${i} is not connected`);
    if (v.const && !this.computed.has(v)) {
      const code = codeOfDtype(v.const.dtype);
      if (code === undefined || code === 0) {
        this.fail(node, `input ${i} is a constant of an element type ONNX has no equivalent of (${v.const.dtype === 'undefined' ? 'u1, u3, u6 or nf4' : v.const.dtype})`);
      }
    }
    const onnxValue = this.valueOf(v);
    if (!onnxValue) this.fail(node, `input ${i} ('${v.name}') is not computed before the layer`);
    return onnxValue;
  }

  /** How many inputs the layer has (connected or not). */
  inputCount(node: Node): number {
    return node.inputs.length;
  }

  /**
   * Element type of input `i`: declared (OpenVINO ports say), or for a port
   * a rewrite added without one, that of the layers upstream that keep their
   * input's type.
   */
  inputDType(node: Node, i: number): DType | undefined {
    const v = node.inputs[i];
    return v ? dtypeOf(v) : undefined;
  }

  /** Declared shape of input `i`: numbers for static dimensions, null or a name for dynamic ones. */
  inputShape(node: Node, i: number): Shape | undefined {
    return node.inputs[i]?.shape;
  }

  /** Declared shape of input `i` when every dimension is static, else undefined. */
  knownShape(node: Node, i: number): number[] | undefined {
    const shape = this.inputShape(node, i);
    return shape && shape.every((d) => typeof d === 'number') ? (shape as number[]) : undefined;
  }

  /** Declared shape of input `i`; fails unless every dimension is static. */
  staticShape(node: Node, i: number): number[] {
    return this.knownShape(node, i) ?? this.fail(node, `input ${i} needs a static shape for this translation`);
  }

  /**
   * Declared shape of input `i` whose spatial dimensions (from index 2) are
   * static; the batch and channel dimensions may be dynamic (-1 here): models
   * with a dynamic batch pool and convolve over static images.
   */
  spatialShape(node: Node, i: number): number[] {
    const shape = this.inputShape(node, i);
    if (!shape || shape.length < 2 || shape.slice(2).some((d) => typeof d !== 'number')) {
      this.fail(node, `input ${i} needs static spatial dimensions for this translation`);
    }
    return shape.map((d) => (typeof d === 'number' ? d : -1));
  }

  /**
   * Rank of input `i`: declared, or (for a port a rewrite added without
   * dimensions: OpenVINO infers them on load, recipe does not) that of the
   * input of a rank-keeping layer upstream.
   */
  inputRank(node: Node, i: number): number | undefined {
    const v = node.inputs[i];
    return v ? rankOf(v) : undefined;
  }

  /** Rank of input `i`; fails when neither the port nor the layers upstream say. */
  requireRank(node: Node, i: number): number {
    const r = this.inputRank(node, i);
    if (r === undefined) this.fail(node, `the rank of input ${i} is not declared`);
    return r;
  }

  /** Declared dtype and shape of output `i` of `node`. */
  outputDType(node: Node, i: number): DType | undefined {
    return node.outputs[i]?.dtype;
  }

  outputShape(node: Node, i: number): Shape | undefined {
    return node.outputs[i]?.shape;
  }

  /** The constant tensor input `i` holds (OpenVINO passes axes, shapes and pads as Const inputs), or undefined. */
  constInput(node: Node, i: number): Tensor | undefined {
    return node.inputs[i]?.const;
  }

  /** Input `i` as a list of integers; fails unless it is a constant. */
  constInts(node: Node, i: number): number[] {
    const c = this.constInput(node, i);
    if (!c) this.fail(node, `input ${i} must be a constant for this translation`);
    return Array.from(c.toFloat64(), (x) => Math.trunc(x));
  }

  /** Input `i` as a list of numbers; fails unless it is a constant. */
  constNumbers(node: Node, i: number): number[] {
    const c = this.constInput(node, i);
    if (!c) this.fail(node, `input ${i} must be a constant for this translation`);
    return Array.from(c.toFloat64());
  }

  /** `<data>` attributes, parsed (undefined when absent). */
  str(node: Node, name: string): string | undefined {
    return ovStringAttr(node, name);
  }
  int(node: Node, name: string): number | undefined {
    return ovIntAttr(node, name);
  }
  ints(node: Node, name: string): number[] | undefined {
    return ovIntsAttr(node, name);
  }
  float(node: Node, name: string): number | undefined {
    return ovFloatAttr(node, name);
  }
  floats(node: Node, name: string): number[] | undefined {
    return ovFloatsAttr(node, name);
  }
  bool(node: Node, name: string): boolean | undefined {
    const s = ovStringAttr(node, name);
    if (s === undefined) return undefined;
    const t = s.trim().toLowerCase();
    if (t === 'true' || t === '1') return true;
    if (t === 'false' || t === '0') return false;
    this.fail(node, `attribute ${name}="${s}" is not a boolean`);
  }

  /**
   * Adds an ONNX node of the default domain and returns its `outputs` values.
   * Attribute values: number -> int when whole else float (use `attr.float`
   * for a whole float), number[] -> ints, string -> string, or an Attr.
   */
  add(op: string, inputs: readonly (Value | null)[], attrs: Readonly<Record<string, AttrInput>> = {}, outputs = 1): Value[] {
    const outs = Array.from({ length: outputs }, () => this.onnx.addValue(this.freshName(op.toLowerCase())));
    const map = new Map<string, Attr>();
    for (const [k, a] of Object.entries(attrs)) if (a !== undefined) map.set(k, toAttr(a));
    this.onnx.addNode({ op, name: this.freshName(op), inputs: [...inputs], outputs: outs, attrs: map });
    return outs;
  }

  /** `add` for an op with one output. */
  add1(op: string, inputs: readonly (Value | null)[], attrs: Readonly<Record<string, AttrInput>> = {}): Value {
    return this.add(op, inputs, attrs, 1)[0]!;
  }

  /** A new initializer. */
  constant(dtype: DType, shape: readonly number[], values: ArrayLike<number> | ArrayLike<bigint>): Value {
    return this.onnx.addConstant(this.freshName('c'), Tensor.from(dtype, shape, values));
  }

  /**
   * A 1-D int64 initializer (ONNX shape, axes, pads, starts...). Values read
   * as doubles from an int64 constant may be 2^63 (INT64_MAX rounded, the
   * "to the end" of a slice): they saturate instead of wrapping to INT64_MIN.
   */
  int64s(values: readonly number[]): Value {
    return this.constant('int64', [values.length], values.map(saturatedInt64));
  }

  /** A scalar initializer of `dtype`. */
  scalar(dtype: DType, value: number): Value {
    return this.constant(dtype, [], [value]);
  }

  /** Stops the translation: the layer cannot be expressed in ONNX here. */
  fail(node: Node, why: string): never {
    throw new TranslationError(`cannot translate OpenVINO layer '${node.name}' (${node.op}${node.domain ? `, ${node.domain}` : ''}) to ONNX: ${why}`);
  }

  freshName(base: string): string {
    return this.onnx.uniqueName(`${base}__ov${this.scope}${this.counter++}`);
  }
}

/** Translates one layer, binding its outputs to the ONNX values that compute them. */
export function translateLayer(node: Node, t: Translation): void {
  const translateNode = translatorFor(node.op);
  if (!translateNode) {
    throw new TranslationError(
      `cannot translate OpenVINO layer '${node.name}' (${node.op}${node.domain ? `, ${node.domain}` : ''}) to ONNX: no translation for ${node.op} yet`,
      `translated ops: ${translatableOps().join(', ')}`,
    );
  }
  const outs = translateNode(node, t);
  node.outputs.forEach((v, i) => {
    const computed = outs[i];
    // A translation may leave out an output nothing reads (AdaptiveMaxPool's indices).
    if (computed) t.bind(v, computed);
    else if (v.useCount > 0) t.fail(node, `the translation gave no value for output ${i}`);
  });
}

/** The layers in an order where every producer comes before its readers (Kahn's algorithm; the file's order need not be one). */
export function inOrder(graph: Graph): Node[] {
  const nodes = graph.nodes;
  const waiting = new Map<Node, number>();
  const readers = new Map<Node, Node[]>();
  for (const n of nodes) {
    let deps = 0;
    for (const v of n.inputs) {
      const p = v?.producer;
      if (!p || p.graph !== graph) continue;
      deps++;
      const list = readers.get(p);
      if (list) list.push(n);
      else readers.set(p, [n]);
    }
    waiting.set(n, deps);
  }
  const ready = nodes.filter((n) => waiting.get(n) === 0);
  const order: Node[] = [];
  for (let i = 0; i < ready.length; i++) {
    const n = ready[i]!;
    order.push(n);
    for (const r of readers.get(n) ?? []) {
      const left = waiting.get(r)! - 1;
      waiting.set(r, left);
      if (left === 0) ready.push(r);
    }
  }
  if (order.length !== nodes.length) {
    const stuck = nodes.find((n) => waiting.get(n)! > 0)!;
    throw new TranslationError(`cannot translate the OpenVINO model to ONNX: layer '${stuck.name}' is on a cycle`);
  }
  return order;
}

/** Layers whose outputs have the rank of their first input (elementwise ops, convolutions, pooling, splits, normalizations). */
const RANK_KEEPING = new Set([
  'Abs', 'Acos', 'Asin', 'Atan', 'Ceiling', 'Clamp', 'ReLU', 'SoftMax', 'Convert', 'ConvertLike', 'Cos', 'Elu', 'Erf', 'Exp', 'Floor', 'Gelu', 'HSigmoid',
  'HSwish', 'Log', 'LogicalNot', 'Mish', 'Negative', 'PRelu', 'Relu', 'Round', 'Sigmoid', 'Sign', 'Sin', 'SoftPlus', 'Sqrt', 'Swish', 'Tan', 'Tanh',
  'Convolution', 'GroupConvolution', 'ConvolutionBackpropData', 'GroupConvolutionBackpropData', 'MaxPool', 'AvgPool',
  'BatchNormInference', 'MVN', 'NormalizeL2', 'LRN', 'Softmax', 'LogSoftmax', 'FakeQuantize',
  'Split', 'VariadicSplit', 'Concat', 'Transpose', 'Interpolate', 'Pad', 'Tile', 'ReadValue', 'Assign', 'Reverse', 'CumSum', 'HardSigmoid',
  'ScatterUpdate', 'ScatterNDUpdate', 'ScatterElementsUpdate',
]);
const ELEMENTWISE_BINARY = new Set([
  'Add', 'Subtract', 'Multiply', 'Divide', 'Power', 'Maximum', 'Minimum', 'SquaredDifference', 'FloorMod', 'Mod',
  'Equal', 'NotEqual', 'Less', 'LessEqual', 'Greater', 'GreaterEqual', 'LogicalAnd', 'LogicalOr', 'LogicalXor', 'Select',
]);

/** Layers whose output has the element type of their first input. */
const TYPE_KEEPING = new Set([
  ...[...RANK_KEEPING].filter((op) => op !== 'Convert' && op !== 'ConvertLike'),
  'Add', 'Subtract', 'Multiply', 'Divide', 'Power', 'Maximum', 'Minimum', 'SquaredDifference', 'FloorMod', 'Mod',
  'Reshape', 'Squeeze', 'Unsqueeze', 'Gather', 'GatherElements', 'GatherND', 'StridedSlice', 'Slice', 'Broadcast', 'MatMul',
  'ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'DepthToSpace', 'SpaceToDepth',
  'ShuffleChannels', 'ReverseSequence', 'ScatterUpdate', 'ScatterNDUpdate', 'ScatterElementsUpdate', 'Selu',
]);

/** Declared element type of `v`, or the one its producer implies (bounded walk up type-keeping layers). */
function dtypeOf(v: Value): DType | undefined {
  let at: Value | null | undefined = v;
  for (let steps = 0; at && steps < 10_000; steps++) {
    if (at.dtype && at.dtype !== 'undefined') return at.dtype;
    if (at.const) return at.const.dtype;
    const p: Node | null = at.producer;
    if (!p) return undefined;
    // MaxPool-8's second output holds indices, not values.
    if (p.op === 'MaxPool' && p.outputs.indexOf(at) > 0) return undefined;
    if (p.op === 'Convert') {
      const to = p.attrs.get('destination_type');
      return to?.kind === 'string' ? dtypeOfElementType(to.value.trim()) : undefined;
    }
    if (p.op === 'ConvertLike') at = p.inputs[1];
    else if (p.op === 'Select') at = p.inputs[1];
    else if (TYPE_KEEPING.has(p.op)) at = p.inputs[0];
    else return undefined;
  }
  return undefined;
}

/** Declared rank of `v`, or the one its producer implies (bounded walk up rank-keeping layers). */
function rankOf(v: Value): number | undefined {
  let at: Value | null | undefined = v;
  for (let steps = 0; at && steps < 10_000; steps++) {
    if (at.shape) return at.shape.length;
    if (at.const) return at.const.rank;
    const p: Node | null = at.producer;
    if (!p) return undefined;
    if (ELEMENTWISE_BINARY.has(p.op)) {
      // numpy broadcasting: the larger rank of the inputs that say.
      const ranks = p.inputs.map((x) => (x ? (x.shape?.length ?? x.const?.rank) : undefined));
      if (ranks.every((r) => r !== undefined)) return Math.max(...(ranks as number[]));
      at = p.inputs[ranks.findIndex((r) => r === undefined)];
      const rest = ranks.filter((r): r is number => r !== undefined);
      const up = at ? rankOf(at) : undefined;
      return up === undefined ? undefined : Math.max(up, ...rest);
    }
    if (!RANK_KEEPING.has(p.op)) return undefined;
    at = p.inputs[0];
  }
  return undefined;
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

function saturatedInt64(v: number): bigint {
  if (v >= 2 ** 63) return INT64_MAX;
  if (v < -(2 ** 63)) return INT64_MIN;
  return BigInt(Math.trunc(v));
}

export type AttrInput = number | number[] | string | Attr | undefined;

function toAttr(a: Exclude<AttrInput, undefined>): Attr {
  if (typeof a === 'number') return Number.isInteger(a) ? attr.int(a) : attr.float(a);
  if (typeof a === 'string') return attr.string(a);
  if (Array.isArray(a)) return attr.ints(a);
  return a as Attr;
}
