import { holdsExactly, isFloat, type DType } from '../../ir/dtype';
import type { Graph, Node, Shape, Value } from '../../ir/graph';
import { nodesInOrder } from '../../ir/passes';
import type { Tensor } from '../../ir/tensor';
import {
  agrees,
  axisIn,
  broadcastStatic,
  computedShapes,
  concatShape,
  einsumShape,
  elementwiseValues,
  gatheredNdShape,
  gatheredShape,
  isStatic,
  matmulShape,
  merged,
  pickedValues,
  probedShapes,
  product,
  reducedShape,
  reducedValue,
  reshaped,
  roundHalfEven,
  slicedLength,
  slicedTable,
  slicedValues,
  squeezedShape,
  transposedShape,
  transposedTable,
  unsqueezedShape,
  windowedSize,
  type WindowPadding,
} from '../../ir/static-shapes';
import { dtypeOfCode } from './schema';

/**
 * Declared sizes that follow from fixed ones, for ONNX graphs: the shapes of
 * the usual operators (Conv and pools, elementwise with broadcasting,
 * Reshape, Transpose, Concat, Gemm, MatMul, ...) are computed from the static
 * shapes of their inputs, and where a declared shape (a graph output, a
 * value_info) leaves a size open that the computation fixes, it is filled in.
 *
 * fix-shape replaces a named dimension everywhere it appears, but exporters
 * such as tf2onnx give each tensor dimensions of its own (`unk__314` on the
 * input, `unk__315` on the output), so a fixed input batch does not reach the
 * output by name. Only declared shapes change: an intermediate without
 * value_info stays without. A computed shape that contradicts a size the file
 * gives is not used.
 */
export function fillDeclaredShapes(graph: Graph, opset: number): number {
  // Nothing to fill: skip computing the shapes of a large graph for nothing.
  if (!graph.values.some((v) => v.shape !== undefined && !isStatic(v.shape))) return 0;
  const inferred = inferStaticShapes(graph, opset);
  let filled = 0;
  for (const [v, shape] of inferred.known) {
    if (v.shape === undefined || isStatic(v.shape)) continue;
    v.shape = shape;
    filled++;
  }
  for (const [v, shape] of inferred.partial) {
    if (v.shape === undefined || isStatic(v.shape)) continue;
    const next = merged(v.shape, shape);
    if (!next || next.every((d, i) => d === v.shape![i])) continue;
    v.shape = next;
    filled++;
  }
  return filled;
}

/**
 * What the shape rules work out for one graph: static shapes computed from
 * static inputs (`known`), shapes with sizes still open (`partial`), and the
 * values of the small integer tensors the graph computes from shapes
 * (`values`: Shape -> Slice -> Concat -> Reshape, as paddle2onnx and PyTorch
 * write a reshape to the batch size). A subgraph's inference reads what its
 * enclosing graph's found for the values it reads from there.
 */
export class StaticShapes {
  readonly known = new Map<Value, number[]>();
  readonly partial = new Map<Value, Shape>();
  readonly values = new Map<Value, number[]>();

  constructor(readonly outer?: StaticShapes) {}

  /** A static shape: computed, else declared. */
  shapeOf(v: Value): number[] | undefined {
    for (let at: StaticShapes | undefined = this; at; at = at.outer) {
      const shape = at.known.get(v);
      if (shape) return shape;
    }
    return isStatic(v.shape) ? v.shape : undefined;
  }

  /** A shape that may have open sizes (null): computed, else declared. */
  rankedShapeOf(v: Value): Shape | undefined {
    const fixed = this.shapeOf(v);
    if (fixed) return fixed;
    for (let at: StaticShapes | undefined = this; at; at = at.outer) {
      const shape = at.partial.get(v);
      if (shape) return shape;
    }
    return v.shape;
  }

  /** The elements of a value computed from shapes (row-major), if it is one. */
  valueOf(v: Value): number[] | undefined {
    for (let at: StaticShapes | undefined = this; at; at = at.outer) {
      const value = at.values.get(v);
      if (value) return value;
    }
    return undefined;
  }
}

/** Runs the ONNX shape and value rules over `graph` (see StaticShapes), inside `outer`'s graph when it is a subgraph. */
export function inferStaticShapes(graph: Graph, opset: number, outer?: StaticShapes, seeded?: ReadonlyMap<Value, number[]>): StaticShapes {
  const inferred = new StaticShapes(outer);
  // A loop body's inputs take the shapes the loop feeds them.
  for (const [v, shape] of seeded ?? []) inferred.known.set(v, shape);
  const { known, partial, values } = inferred;
  const shapeOf = (v: Value): number[] | undefined => inferred.shapeOf(v);
  const at: Reading = {
    opset,
    ints: (node, i) => constInts(node, i, inferred),
    fromShapes: (v) => inferred.valueOf(v) !== undefined,
    integral: (v) => {
      const dtype = valueDType(v);
      return dtype !== undefined && !isFloat(dtype) && (inferred.valueOf(v) !== undefined || constantOf(v) !== undefined);
    },
    outputShapes: (sub, inputs) => {
      const seeds = new Map<Value, number[]>();
      sub.inputs.forEach((v, i) => {
        const shape = inputs?.[i];
        if (shape) seeds.set(v, shape);
      });
      const inside = inferStaticShapes(sub, opset, inferred, seeds);
      return sub.outputs.map((v) => inside.shapeOf(v));
    },
  };
  // In topological order: a file need not be sorted, and a rewrite leaves its new nodes at the end.
  for (const node of nodesInOrder(graph)) {
    const isDefault = node.domain === '' || node.domain === 'ai.onnx';
    const valueRule = isDefault ? VALUE_RULES[node.op] : undefined;
    const out = node.outputs[0];
    const needsValue = valueRule !== undefined && out !== undefined && !values.has(out);
    if (!needsValue && node.outputs.every((v) => shapeOf(v) !== undefined)) continue;
    const inputs = node.inputs.map((v) => (v ? shapeOf(v) : undefined));
    const rule = isDefault ? SHAPE_RULES[node.op] : undefined;
    if (node.inputs.some((v, i) => v !== null && inputs[i] === undefined)) {
      // Sizes that do not depend on the open ones (a fixed batch in a model whose image size stays open).
      const ranked = node.inputs.map((v) => (v ? inferred.rankedShapeOf(v) : undefined));
      if (!rule || node.inputs.some((v, i) => v !== null && ranked[i] === undefined)) continue;
      const probed = probedShapes(ranked, node.outputs.length, (shapes) => rule(node, shapes, at));
      probed?.forEach((shape, i) => {
        const v = node.outputs[i];
        if (v && shape && !known.has(v)) partial.set(v, shape);
      });
      continue;
    }
    const computed = rule ? computedShapes(() => rule(node, inputs, at)) : undefined;
    computed?.forEach((shape, i) => {
      const v = node.outputs[i];
      if (v && shape && agrees(v.shape, shape)) known.set(v, shape);
    });
    const value = needsValue ? computedValue(() => valueRule(node, inputs, at)) : undefined;
    if (value && out) {
      if (value.shape && !known.has(out) && agrees(out.shape, value.shape)) known.set(out, value.shape);
      // A value whose element count is not its shape's (a broadcast the rule did not do) is no value.
      const shape = known.get(out);
      if (!shape || product(shape) === value.value.length) values.set(out, value.value);
    }
  }
  return inferred;
}

/** What a rule reads besides the node and its inputs' shapes: the opset, and the integers an input holds. */
interface Reading {
  readonly opset: number;
  /** The integers of input `i`: a constant, a Constant node's value, or a value computed from shapes. */
  ints(node: Node, i: number): number[];
  /** Whether `v`'s value was computed from shapes (as opposed to a constant in the file). */
  fromShapes(v: Value): boolean;
  /**
   * Whether `v` holds integers of an integer (or bool) dtype, computed from
   * shapes or constant: a shape value folded into a constant stays one.
   */
  integral(v: Value): boolean;
  /**
   * The static output shapes of a subgraph of the node, inferred inside this
   * graph's, its inputs given `inputs` where known (undefined where open).
   */
  outputShapes(sub: Graph, inputs?: readonly (number[] | undefined)[]): (number[] | undefined)[];
}

type ShapeRule = (node: Node, inputs: readonly (number[] | undefined)[], at: Reading) => (number[] | undefined)[] | undefined;

function ints(node: Node, name: string): number[] | undefined {
  const a = node.attr(name);
  return a?.kind === 'ints' ? a.value.map(Number) : undefined;
}

function int(node: Node, name: string, fallback: number): number {
  const a = node.attr(name);
  return a?.kind === 'int' ? Number(a.value) : fallback;
}

function str(node: Node, name: string, fallback: string): string {
  const a = node.attr(name);
  return a?.kind === 'string' ? a.value : fallback;
}

/** A value's dtype: declared, else what its producer makes (for the ops of shape computations). */
export function valueDType(v: Value): DType | undefined {
  for (let at: Value | null = v; at; ) {
    if (at.dtype) return at.dtype;
    if (at.const) return at.const.dtype;
    const node: Node | null = at.producer;
    if (!node) return undefined;
    if (node.op === 'Shape' || node.op === 'Size') return 'int64';
    if (VALUE_RULES[node.op] === comparisonValue) return 'bool';
    if (node.op === 'Cast') {
      const to = node.attr('to');
      return to?.kind === 'int' ? dtypeOfCode(Number(to.value)) : undefined;
    }
    if (node.op === 'ConstantOfShape') {
      const fill = node.attr('value');
      return fill?.kind === 'tensor' ? fill.value.dtype : 'float32';
    }
    if (node.op === 'Constant') return constantOf(at)?.dtype;
    if (!VALUE_RULES[node.op]) return undefined;
    // Gather, Slice, Concat, Squeeze, Unsqueeze, Reshape, Identity, Transpose and the arithmetic keep their data's dtype;
    // Where its values' (its first input is the condition).
    at = node.input(node.op === 'Where' ? 1 : 0);
  }
  return undefined;
}

/** Ops of the default domain whose output has a dtype of its own, whatever their inputs hold. */
const FIXED_OUTPUT_DTYPES: Readonly<Record<string, DType>> = {
  ArgMax: 'int64', ArgMin: 'int64', NonZero: 'int64', NonMaxSuppression: 'int64',
  IsNaN: 'bool', IsInf: 'bool', Xor: 'bool',
  MatMulInteger: 'int32', ConvInteger: 'int32', DynamicQuantizeLinear: 'uint8',
};

/** Ops whose output dtype comes from an attribute, a later input or a subgraph: not guessed. */
const OWN_OUTPUT_DTYPE_OPS: ReadonlySet<string> = new Set([
  'QuantizeLinear', 'QLinearConv', 'QLinearMatMul', 'EyeLike', 'RandomNormal', 'RandomUniform', 'RandomNormalLike',
  'RandomUniformLike', 'Multinomial', 'Bernoulli', 'If', 'Loop', 'Scan', 'HannWindow', 'HammingWindow', 'BlackmanWindow',
  'MelWeightMatrix', 'Unique', 'StringNormalizer', 'TfIdfVectorizer', 'SequenceAt', 'SequenceConstruct', 'SequenceEmpty',
  'SplitToSequence', 'ConcatFromSequence', 'Optional', 'OptionalGetElement', 'OptionalHasElement',
]);

/** Ops whose output follows the dtype of an input other than the first. */
const DATA_INPUT_INDEX: Readonly<Record<string, number>> = { Where: 1, OneHot: 2, CastLike: 1, DequantizeLinear: 1 };

/** Multi-output ops whose every output has the first input's dtype (Dropout's mask and MaxPool's indices do not). */
const ALIKE_OUTPUTS_OPS: ReadonlySet<string> = new Set(['Split', 'LSTM', 'GRU', 'RNN']);

/**
 * The dtype an ONNX value most likely holds when the file declares none, as
 * for every intermediate of a PyTorch export: valueDType's answer, else the
 * dtype of the producer's data input, which most ops' type constraints tie to
 * their output (Conv, MatMul, Resize, the elementwise math). Undefined where
 * an op decides otherwise, or for the ops of other domains.
 */
export function likelyDType(v: Value): DType | undefined {
  let at: Value | null = v;
  for (let steps = 0; at && steps < 256; steps++) {
    const known = valueDType(at);
    if (known) return known;
    const node: Node | null = at.producer;
    if (!node || (node.domain !== '' && node.domain !== 'ai.onnx')) return undefined;
    const fixed = FIXED_OUTPUT_DTYPES[node.op];
    if (fixed) return fixed;
    if (OWN_OUTPUT_DTYPE_OPS.has(node.op)) return undefined;
    if (at !== node.outputs[0] && !ALIKE_OUTPUTS_OPS.has(node.op)) return undefined;
    at = node.input(DATA_INPUT_INDEX[node.op] ?? 0);
  }
  return undefined;
}

/** The tensor a value holds: an initializer, or the output of a Constant node (PaddleOCR's weights are those). */
export function constantOf(v: Value | null): Tensor | undefined {
  if (!v) return undefined;
  if (v.const) return v.const;
  const producer = v.producer;
  const a = producer?.op === 'Constant' && producer.domain === '' ? producer.attr('value') : undefined;
  return a?.kind === 'tensor' ? a.value : undefined;
}

function constInts(node: Node, i: number, inferred: StaticShapes): number[] {
  const v = node.input(i);
  const value = v ? inferred.valueOf(v) : undefined;
  if (value) return value;
  const t = constantOf(v);
  if (!t) throw new Error('not a constant');
  return Array.from(t.toFloat64());
}

/** A value rule's result: the output's elements (row-major) and, where the shape rules do not give it, its shape. */
interface ComputedValue {
  value: number[];
  shape?: number[];
}

type ValueRule = (node: Node, inputs: readonly (number[] | undefined)[], at: Reading) => ComputedValue | undefined;

/** Values are kept only for small tensors of whole numbers: shapes, not data. */
function computedValue(compute: () => ComputedValue | undefined): ComputedValue | undefined {
  try {
    const r = compute();
    // Fractions stay as values (a size divided as a float, on its way to a Floor); folding checks that the dtype holds them.
    return r && r.value.length <= 64 && r.value.every((x) => Number.isFinite(x)) ? r : undefined;
  } catch {
    return undefined;
  }
}

const shapeValue: ValueRule = (node, [x], at) => {
  let dims = x!;
  if (at.opset >= 15) {
    const rank = dims.length;
    const clamp = (a: number): number => Math.min(rank, Math.max(0, a < 0 ? a + rank : a));
    dims = dims.slice(clamp(int(node, 'start', 0)), clamp(int(node, 'end', rank)));
  }
  return { value: [...dims], shape: [dims.length] };
};

/** Cast, Identity, Squeeze, Unsqueeze, Reshape: the same elements (row-major), under the shape the shape rules give. */
const sameValue: ValueRule = (node, _inputs, at) => ({ value: at.ints(node, 0) });

/**
 * Cast: to bool, non-zero is 1 (Silero VAD casts a state size to an If
 * condition); to a float or a wide enough integer, the same numbers; a value
 * a narrow integer type cannot hold is not worked out.
 */
const castValue: ValueRule = (node, _inputs, at) => {
  const value = at.ints(node, 0);
  const to = node.attr('to');
  const dtype = to?.kind === 'int' ? dtypeOfCode(Number(to.value)) : undefined;
  if (!dtype) return undefined;
  if (dtype === 'bool') return { value: value.map((x) => (x !== 0 ? 1 : 0)) };
  // A float cast to an integer type drops its fraction, as onnxruntime's Cast does.
  const cast = isFloat(dtype) ? value : value.map((x) => Math.trunc(x));
  return holdsExactly(dtype, cast) ? { value: cast } : undefined;
};

const gatherValue: ValueRule = (node, [data, indices], at) => {
  if (data!.length !== 1 || int(node, 'axis', 0) !== 0) return undefined;
  const picked = pickedValues(at.ints(node, 0), at.ints(node, 1));
  return picked ? { value: picked, shape: [...indices!] } : undefined;
};

const sliceValue: ValueRule = (node, [data], at) => {
  const values = at.ints(node, 0);
  const starts = at.opset >= 10 ? at.ints(node, 1) : ints(node, 'starts');
  const ends = at.opset >= 10 ? at.ints(node, 2) : ints(node, 'ends');
  const axes = at.opset >= 10 ? (node.input(3) ? at.ints(node, 3) : undefined) : ints(node, 'axes');
  const steps = at.opset >= 10 && node.input(4) ? at.ints(node, 4) : undefined;
  if (!starts || !ends || starts.length !== ends.length) return undefined;
  const rank = data!.length;
  const slices = starts.map((start, k) => ({ axis: axisIn(axes?.[k] ?? k, rank), start, end: ends[k]!, step: steps?.[k] ?? 1 }));
  if (rank === 1) {
    if (slices.length !== 1) return undefined;
    const { start, end, step } = slices[0]!;
    const picked = slicedValues(values, start, end, step);
    return { value: picked, shape: [picked.length] };
  }
  return slicedTable(values, data!, slices);
};

/** Transpose of a value computed from shapes (PyTorch's F.pad turns its [k, 2] pads table). */
const transposeValue: ValueRule = (node, [data], at) => (exact(node, at) ? transposedTable(at.ints(node, 0), data!, ints(node, 'perm')) : undefined);

const concatValue: ValueRule = (node, inputs, at) => {
  if (inputs.some((s) => s!.length !== 1)) return undefined;
  const value = node.inputs.flatMap((_, i) => at.ints(node, i));
  return { value, shape: [value.length] };
};

/**
 * Integer arithmetic on shape values (a batch times a channel count), one
 * operand a scalar or both the same length: on values computed from shapes
 * (with a constant factor), or on integer constants.
 */
const arithmeticValue: ValueRule = (node, _inputs, at) => {
  // Float constants alone are data, not shapes.
  if (!node.inputs.some((v) => v && at.fromShapes(v)) && !node.inputs.every((v) => v && at.integral(v))) return undefined;
  // Integer Div truncates; a float one (a shape cast to float) keeps the fraction, which is no shape value.
  const truncates = node.inputs.every((v) => v && at.integral(v));
  return elementwise([at.ints(node, 0), at.ints(node, 1)], ([x, y]) => {
    if (node.op === 'Add') return x! + y!;
    if (node.op === 'Sub') return x! - y!;
    if (node.op === 'Mul') return x! * y!;
    if (y === 0) throw new Error('division by zero');
    return truncates ? Math.trunc(x! / y!) : x! / y!;
  });
};

/** elementwiseValues as a value rule's result. */
function elementwise(operands: readonly number[][], apply: (xs: number[]) => number): ComputedValue | undefined {
  const value = elementwiseValues(operands, apply);
  return value ? { value } : undefined;
}

/**
 * Where of shape values: PyTorch's expand() writes its target as
 * Where(Equal(shape, -1), ones, shape), and with that unknown nothing after
 * the Expand has a static shape.
 */
const whereValue: ValueRule = (node, _inputs, at) => {
  if (!exact(node, at)) return undefined;
  return elementwise([at.ints(node, 0), at.ints(node, 1), at.ints(node, 2)], ([c, x, y]) => (c !== 0 ? x! : y!));
};

/**
 * ReduceMax, ReduceMin, ReduceSum and ReduceProd of a shape value (a vector
 * or a scalar) over all of it: the longer side of an image, a flattened size.
 * The output's shape comes from the Reduce* shape rule.
 */
const reduceValue: ValueRule = (node, [x], at) => {
  if (!exact(node, at) || x!.length > 1) return undefined;
  const fromInput = at.opset >= (node.op === 'ReduceSum' ? 13 : 18);
  const axes = fromInput ? (node.input(1) ? at.ints(node, 1) : []) : (ints(node, 'axes') ?? []);
  if (axes.length === 0 && fromInput && int(node, 'noop_with_empty_axes', 0) !== 0) return { value: at.ints(node, 0) };
  if (axes.some((a) => a !== 0 && a !== -1)) return undefined;
  const reduced = reducedValue(node.op, at.ints(node, 0));
  return reduced === undefined ? undefined : { value: [reduced] };
};

/** Size: the element count, a scalar. */
const sizeValue: ValueRule = (_node, [x]) => ({ value: [product(x!)], shape: [] });

/** ConstantOfShape: its fill value (0 without one) repeated over the shape its input holds. */
const constantOfShapeValue: ValueRule = (node, _inputs, at) => {
  const dims = at.ints(node, 0);
  const fill = node.attr('value');
  const x = fill?.kind === 'tensor' ? fill.value.toFloat64()[0]! : 0;
  return { value: new Array<number>(product(dims)).fill(x), shape: dims };
};

/**
 * Floor, Ceil and Round of shape values divided as floats: PyTorch's
 * x.size(2) // 2 on a tensor size, or a Ceil for padding to a multiple.
 */
const roundingValue: ValueRule = (node, _inputs, at) => {
  if (!exact(node, at)) return undefined;
  const round = node.op === 'Floor' ? Math.floor : node.op === 'Ceil' ? Math.ceil : roundHalfEven;
  return { value: at.ints(node, 0).map(round) };
};

/** Neg of a value computed from shapes (a negative axis count). */
const negValue: ValueRule = (node, _inputs, at) => (exact(node, at) ? { value: at.ints(node, 0).map((x) => -x) } : undefined);

/** Whether a node's inputs are shape values or integer constants, as opposed to data. */
function exact(node: Node, at: Reading): boolean {
  return node.inputs.some((v) => v && at.fromShapes(v)) || node.inputs.every((v) => v && at.integral(v));
}

/**
 * Comparisons and logic on values computed from shapes, as 1 and 0 (Silero VAD
 * picks an If branch by Equal(Gather(Shape(x), 1), 512)): with the shapes fixed,
 * the branch is known.
 */
const comparisonValue: ValueRule = (node, _inputs, at) => {
  if (!exact(node, at)) return undefined;
  if (node.op === 'Not') return { value: at.ints(node, 0).map((x) => (x === 0 ? 1 : 0)) };
  const test = COMPARISONS[node.op]!;
  return elementwise([at.ints(node, 0), at.ints(node, 1)], ([x, y]) => (test(x!, y!) ? 1 : 0));
};

const COMPARISONS: Readonly<Record<string, (x: number, y: number) => boolean>> = {
  Equal: (x, y) => x === y,
  Greater: (x, y) => x > y,
  GreaterOrEqual: (x, y) => x >= y,
  Less: (x, y) => x < y,
  LessOrEqual: (x, y) => x <= y,
  And: (x, y) => x !== 0 && y !== 0,
  Or: (x, y) => x !== 0 || y !== 0,
};

/** Min, Max (any number of operands), Abs and Mod of shape values: a size clamped, a remainder for padding. */
const integerMathValue: ValueRule = (node, _inputs, at) => {
  if (!exact(node, at)) return undefined;
  const operands = node.inputs.map((_, i) => at.ints(node, i));
  if (node.op === 'Abs') return { value: operands[0]!.map((x) => Math.abs(x)) };
  return elementwise(operands, (xs) => {
    if (node.op === 'Min') return Math.min(...xs);
    if (node.op === 'Max') return Math.max(...xs);
    const [x, y] = xs as [number, number];
    if (y === 0) throw new Error('Mod by zero');
    // fmod 0 (integers): the sign of the divisor, as Python; fmod 1: of the dividend, as C.
    return int(node, 'fmod', 0) ? x % y : x - y * Math.floor(x / y);
  });
};

/** Range of shape values (start, limit, delta): max(ceil((limit - start) / delta), 0) numbers. */
const rangeValue: ValueRule = (node, _inputs, at) => {
  if (!exact(node, at)) return undefined;
  const [start, limit, delta] = [0, 1, 2].map((i) => at.ints(node, i)[0]);
  if (start === undefined || limit === undefined || !delta) return undefined;
  const count = Math.max(Math.ceil((limit - start) / delta), 0);
  return count > 64 ? undefined : { value: Array.from({ length: count }, (_, k) => start + k * delta), shape: [count] };
};

const VALUE_RULES: Readonly<Record<string, ValueRule>> = {
  Min: integerMathValue,
  Max: integerMathValue,
  Abs: integerMathValue,
  Mod: integerMathValue,
  Range: rangeValue,
  Equal: comparisonValue,
  Greater: comparisonValue,
  GreaterOrEqual: comparisonValue,
  Less: comparisonValue,
  LessOrEqual: comparisonValue,
  And: comparisonValue,
  Or: comparisonValue,
  Not: comparisonValue,
  Shape: shapeValue,
  Size: sizeValue,
  ConstantOfShape: constantOfShapeValue,
  Neg: negValue,
  Cast: castValue,
  Identity: sameValue,
  Squeeze: sameValue,
  Unsqueeze: sameValue,
  Reshape: sameValue,
  Gather: gatherValue,
  Slice: sliceValue,
  Transpose: transposeValue,
  Concat: concatValue,
  Add: arithmeticValue,
  Sub: arithmeticValue,
  Mul: arithmeticValue,
  Div: arithmeticValue,
  Where: whereValue,
  Floor: roundingValue,
  Ceil: roundingValue,
  Round: roundingValue,
  ReduceMax: reduceValue,
  ReduceMin: reduceValue,
  ReduceSum: reduceValue,
  ReduceProd: reduceValue,
};

/** Output sizes of Conv and the pools along the spatial axes. */
function windowed(node: Node, x: readonly number[], kernel: readonly number[]): number[] {
  const spatial = x.length - 2;
  if (kernel.length !== spatial) throw new Error('kernel rank');
  const strides = ints(node, 'strides') ?? kernel.map(() => 1);
  const dilations = ints(node, 'dilations') ?? kernel.map(() => 1);
  const pads = ints(node, 'pads') ?? kernel.flatMap(() => [0, 0]);
  const autoPad = str(node, 'auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID' && autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') throw new Error(`auto_pad ${autoPad}`);
  return kernel.map((k, i) => {
    const padding: WindowPadding = autoPad === 'NOTSET' ? { begin: pads[i]!, end: pads[i + spatial]! } : autoPad === 'VALID' ? 'valid' : 'same';
    return windowedSize(x[i + 2]!, k, strides[i]!, dilations[i]!, padding, int(node, 'ceil_mode', 0) !== 0 ? 'ceil' : 'floor');
  });
}

const sameAsFirst: ShapeRule = (node, [x]) => (node.outputs.length === 1 ? [x] : undefined);
const broadcastAll: ShapeRule = (_node, inputs, at) => (at.opset < 7 ? undefined : [broadcastStatic(inputs as number[][])]);

const conv: ShapeRule = (node, [x, w]) => {
  const kernel = ints(node, 'kernel_shape') ?? w!.slice(2);
  return [[x![0]!, w![0]!, ...windowed(node, x!, kernel)]];
};

const pool: ShapeRule = (node, [x]) => {
  const kernel = ints(node, 'kernel_shape');
  if (!kernel) return undefined;
  const out = [x![0]!, x![1]!, ...windowed(node, x!, kernel)];
  return node.outputs.map(() => out);
};

const globalPool: ShapeRule = (_node, [x]) => [[x![0]!, x![1]!, ...x!.slice(2).map(() => 1)]];

const reshape: ShapeRule = (node, [x], at) => {
  if (at.opset < 5) return undefined;
  const wanted = at.ints(node, 1);
  const allowZero = int(node, 'allowzero', 0) !== 0;
  const shape = reshaped(product(x!), wanted.map((d, i) => (d === 0 && !allowZero ? x![i]! : d)));
  return shape ? [shape] : undefined;
};

const flatten: ShapeRule = (node, [x]) => {
  const axis = int(node, 'axis', 1);
  const cut = axis < 0 ? axis + x!.length : axis;
  return [[product(x!.slice(0, cut)), product(x!.slice(cut))]];
};

const transpose: ShapeRule = (node, [x]) => {
  return [transposedShape(x!, ints(node, 'perm'))];
};

const concat: ShapeRule = (node, inputs) => [concatShape(inputs as number[][], int(node, 'axis', 0))];

const gemm: ShapeRule = (node, [a, b]) => {
  const m = int(node, 'transA', 0) ? a![1]! : a![0]!;
  const n = int(node, 'transB', 0) ? b![0]! : b![1]!;
  return [[m, n]];
};

const matmul: ShapeRule = (_node, [a, b]) => {
  const shape = matmulShape(a!, b!, false, false);
  return shape ? [shape] : undefined;
};

const axesOf = (node: Node, at: Reading, since: number): number[] | undefined =>
  at.opset >= since ? (node.input(1) ? at.ints(node, 1) : undefined) : ints(node, 'axes');

const squeeze: ShapeRule = (node, [x], at) => {
  return [squeezedShape(x!, axesOf(node, at, 13))];
};

const unsqueeze: ShapeRule = (node, [x], at) => {
  const axes = axesOf(node, at, 13);
  return axes ? [unsqueezedShape(x!, axes)] : undefined;
};

const constant: ShapeRule = (node) => {
  const a = node.attr('value') ?? node.attr('value_float') ?? node.attr('value_int') ?? node.attr('value_floats') ?? node.attr('value_ints');
  if (a?.kind === 'tensor') return [[...a.value.shape]];
  if (a?.kind === 'float' || a?.kind === 'int') return [[]];
  if (a?.kind === 'floats' || a?.kind === 'ints') return [[a.value.length]];
  return undefined;
};

/** Resize (opset 10: X, scales; 11 on: X, roi, scales, sizes) and Upsample (X, scales): sizes when given, else floor(size x scale). */
const resize: ShapeRule = (node, [x], at) => {
  // Opset 18: a policy other than stretch keeps the aspect ratio, so the output is not `sizes`.
  if (str(node, 'keep_aspect_ratio_policy', 'stretch') !== 'stretch') return undefined;
  if (node.op === 'Resize' && at.opset >= 11 && node.input(3)) {
    const sizes = at.ints(node, 3);
    if (sizes.length) {
      if (node.attr('axes')) return undefined;
      return [sizes];
    }
  }
  const scales = constantOf(node.input(node.op === 'Resize' && at.opset >= 11 ? 2 : 1));
  if (!scales || scales.size !== x!.length || node.attr('axes')) return undefined;
  const factors = scales.toFloat64();
  return [x!.map((d, i) => Math.floor(d * factors[i]!))];
};

const convTranspose: ShapeRule = (node, [x, w]) => {
  const spatial = x!.length - 2;
  const channels = w![1]! * int(node, 'group', 1);
  const given = ints(node, 'output_shape');
  if (given) return given.length === spatial ? [[x![0]!, channels, ...given]] : undefined;
  const kernel = ints(node, 'kernel_shape') ?? w!.slice(2);
  const strides = ints(node, 'strides') ?? kernel.map(() => 1);
  const dilations = ints(node, 'dilations') ?? kernel.map(() => 1);
  const extra = ints(node, 'output_padding') ?? kernel.map(() => 0);
  const pads = ints(node, 'pads') ?? kernel.flatMap(() => [0, 0]);
  const autoPad = str(node, 'auto_pad', 'NOTSET');
  const out = kernel.map((k, i) => {
    const size = x![i + 2]!;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return size * strides[i]!;
    if (autoPad !== 'NOTSET' && autoPad !== 'VALID') throw new Error(`auto_pad ${autoPad}`);
    const padding = autoPad === 'VALID' ? 0 : pads[i]! + pads[i + spatial]!;
    return strides[i]! * (size - 1) + extra[i]! + (k - 1) * dilations[i]! + 1 - padding;
  });
  return [[x![0]!, channels, ...out]];
};

const pad: ShapeRule = (node, [x], at) => {
  if (at.opset >= 18 && node.input(3)) return undefined;
  const pads = at.opset >= 11 ? at.ints(node, 1) : ints(node, 'pads');
  if (!pads || pads.length !== 2 * x!.length) return undefined;
  return [x!.map((d, i) => d + pads[i]! + pads[i + x!.length]!)];
};

/** The Reduce* family: axes as an attribute, or as an input from opset 13 (ReduceSum) or 18 (the others). */
const reduceOp: ShapeRule = (node, [x], at) => {
  const fromInput = at.opset >= (node.op === 'ReduceSum' ? 13 : 18);
  const axes = fromInput ? (node.input(1) ? at.ints(node, 1) : []) : (ints(node, 'axes') ?? []);
  if (axes.length === 0 && fromInput && int(node, 'noop_with_empty_axes', 0) !== 0) return [x];
  return [reducedShape(x!, axes.length ? axes : x!.map((_, i) => i), int(node, 'keepdims', 1) !== 0)];
};

const slice: ShapeRule = (node, [x], at) => {
  const starts = at.opset >= 10 ? at.ints(node, 1) : ints(node, 'starts');
  const ends = at.opset >= 10 ? at.ints(node, 2) : ints(node, 'ends');
  if (!starts || !ends || starts.length !== ends.length) return undefined;
  const axes = (at.opset >= 10 ? (node.input(3) ? at.ints(node, 3) : undefined) : ints(node, 'axes')) ?? starts.map((_, i) => i);
  const steps = at.opset >= 10 && node.input(4) ? at.ints(node, 4) : starts.map(() => 1);
  const out = [...x!];
  axes.forEach((axis, i) => {
    const a = axisIn(axis, x!.length);
    out[a] = slicedLength(x![a]!, starts[i]!, ends[i]!, steps[i]!);
  });
  return [out];
};

/** Split: sizes from the `split` attribute (before opset 13) or input, else equal parts (opset 18: the last one smaller). */
const split: ShapeRule = (node, [x], at) => {
  const axis = axisIn(int(node, 'axis', 0), x!.length);
  const d = x![axis]!;
  const parts = node.outputs.length;
  let sizes = at.opset >= 13 ? (node.input(1) ? at.ints(node, 1) : undefined) : ints(node, 'split');
  if (!sizes) {
    const chunk = at.opset >= 18 ? Math.ceil(d / parts) : d / parts;
    sizes = Array.from({ length: parts }, (_, i) => (i < parts - 1 ? chunk : d - chunk * (parts - 1)));
  }
  if (sizes.length !== parts || sizes.reduce((a, b) => a + b, 0) !== d) return undefined;
  return sizes.map((size) => x!.map((n, i) => (i === axis ? size : n)));
};

const gather: ShapeRule = (node, [data, indices]) => [gatheredShape(data!, indices!, int(node, 'axis', 0))];

const expand: ShapeRule = (node, [x], at) => [broadcastStatic([x!, at.ints(node, 1)])];

const tile: ShapeRule = (node, [x], at) => {
  const repeats = at.ints(node, 1);
  return repeats.length === x!.length ? [x!.map((d, i) => d * repeats[i]!)] : undefined;
};

const constantOfShape: ShapeRule = (node, _inputs, at) => [at.ints(node, 0)];

/** The quantized forms read their operands at other inputs (scales and zero points between them). */
const qlinearMatmul: ShapeRule = (node, inputs, at) => matmul(node, [inputs[0], inputs[3]], at);
const qlinearConv: ShapeRule = (node, inputs, at) => conv(node, [inputs[0], inputs[3]], at);

/** GridSample: the data's batch and channels, the grid's output sizes ([N, ...sizes, rank]). */
const gridSample: ShapeRule = (_node, [x, grid]) => [[x![0]!, x![1]!, ...grid!.slice(1, -1)]];

/** RoiAlign: one [channels, height, width] map per region. */
const roiAlign: ShapeRule = (node, [x, rois]) => [[rois![0]!, x![1]!, int(node, 'output_height', 1), int(node, 'output_width', 1)]];

/** Det: the batch axes before the square matrices. */
const det: ShapeRule = (_node, [x]) => (x!.length >= 2 && x!.at(-1) === x!.at(-2) ? [x!.slice(0, -2)] : undefined);

/**
 * RNN, GRU and LSTM: Y [seq, directions, batch, hidden] and Y_h (and LSTM's
 * Y_c) [directions, batch, hidden]; with layout 1 (opset 14) the batch comes
 * first in all of them and in X.
 */
const recurrent: ShapeRule = (node, [x]) => {
  const hidden = int(node, 'hidden_size', -1);
  if (hidden < 1 || x!.length !== 3) return undefined;
  const directions = str(node, 'direction', 'forward') === 'bidirectional' ? 2 : 1;
  const batchFirst = int(node, 'layout', 0) === 1;
  const [seq, batch] = batchFirst ? [x![1]!, x![0]!] : [x![0]!, x![1]!];
  const y = batchFirst ? [batch, seq, directions, hidden] : [seq, directions, batch, hidden];
  const state = batchFirst ? [batch, directions, hidden] : [directions, batch, hidden];
  return node.outputs.map((_, i) => (i === 0 ? y : state));
};

/** Range (start, limit, delta, each one value): max(ceil((limit - start) / delta), 0) elements. */
const range: ShapeRule = (node, _inputs, at) => {
  const [start, limit, delta] = [0, 1, 2].map((i) => at.ints(node, i));
  if (start?.length !== 1 || limit?.length !== 1 || delta?.length !== 1 || delta[0] === 0) return undefined;
  return [[Math.max(Math.ceil((limit[0]! - start[0]!) / delta[0]!), 0)]];
};

/** Einsum: the shape einsumShape gives for its equation. */
const einsum: ShapeRule = (node, inputs) => [einsumShape(str(node, 'equation', ''), inputs as number[][])];

/** Every output has the first input's shape (Dropout's output and mask). */
const allAsFirst: ShapeRule = (node, [x]) => node.outputs.map(() => x);

/** GatherElements: the shape of the indices. */
const gatherElements: ShapeRule = (_node, [, indices]) => [indices];

/** GatherND: the indices' outer axes, then the data axes after the batch axes and the indexed ones. */
const gatherNd: ShapeRule = (node, [data, indices]) => {
  const shape = gatheredNdShape(data!, indices!, int(node, 'batch_dims', 0));
  return shape ? [shape] : undefined;
};

/** OneHot: the indices' shape with the depth (a one-value input) inserted at `axis`. */
const oneHot: ShapeRule = (node, [indices], at) => {
  const depth = at.ints(node, 1);
  if (depth.length !== 1) return undefined;
  return [unsqueezedShape(indices!, [int(node, 'axis', -1)]).map((d, i, all) => (i === axisIn(int(node, 'axis', -1), all.length) ? depth[0]! : d))];
};

const topK: ShapeRule = (node, [x], at) => {
  const k = at.opset >= 10 ? at.ints(node, 1)[0]! : int(node, 'k', -1);
  const axis = axisIn(int(node, 'axis', -1), x!.length);
  const out = x!.map((d, i) => (i === axis ? k : d));
  return [out, out];
};

const argReduce: ShapeRule = (node, [x]) => [reducedShape(x!, [int(node, 'axis', 0)], int(node, 'keepdims', 1) !== 0)];

const depthSpace: ShapeRule = (node, [x]) => {
  const b = int(node, 'blocksize', 1);
  const [n, c, h, w] = x!;
  return node.op === 'SpaceToDepth' ? [[n!, c! * b * b, h! / b, w! / b]] : [[n!, c! / (b * b), h! * b, w! * b]];
};

/** DynamicQuantizeLinear: y as x, then a scalar scale and zero point. */
const dynamicQuantize: ShapeRule = (_node, [x]) => [x!, [], []];

/** LayerNormalization (opset 17): y as x; the optional mean and inverse deviation keep the axes before `axis`, as 1s after. */
const layerNorm: ShapeRule = (node, [x]) => {
  const axis = axisIn(int(node, 'axis', -1), x!.length);
  const stats = x!.map((d, i) => (i < axis ? d : 1));
  return node.outputs.map((_, i) => (i === 0 ? x! : stats));
};

/**
 * DFT: the input with a trailing complex dimension of 2, `axis` of
 * dft_length points (the axis' own by default), n / 2 + 1 of them one-sided.
 * Opset 17 takes the axis as an attribute (default 1), opset 20 as input 2
 * (default -2).
 */
const dft: ShapeRule = (node, [x], at) => {
  const given = (i: number): number | undefined => (node.inputs[i] ? at.ints(node, i)[0] : undefined);
  const axis = axisIn(at.opset >= 20 ? given(2) ?? -2 : int(node, 'axis', 1), x!.length);
  const points = given(1) ?? x![axis]!;
  const out = x!.map((d, i) => (i === axis ? (int(node, 'onesided', 0) ? Math.floor(points / 2) + 1 : points) : i === x!.length - 1 ? 2 : d));
  return [out];
};

/**
 * STFT: [batch, frames, bins, 2] of a signal [batch, length, 1 or 2]: frames
 * of frame_length (the window's length by default) every frame_step, and
 * frame_length bins, n / 2 + 1 one-sided (the default).
 */
const stft: ShapeRule = (node, [x, , window], at) => {
  const step = at.ints(node, 1)[0]!;
  const length = node.inputs[3] ? at.ints(node, 3)[0]! : window?.[0];
  if (length === undefined || step < 1) return undefined;
  const frames = Math.floor((x![1]! - length) / step) + 1;
  return [[x![0]!, frames, int(node, 'onesided', 1) ? Math.floor(length / 2) + 1 : length, 2]];
};

/** If: the shapes both branches give, where they agree (a branch may give another shape only where the other is open). */
const ifRule: ShapeRule = (node, _inputs, at) => {
  const [thenBranch, elseBranch] = ['then_branch', 'else_branch'].map((name) => node.attr(name));
  if (thenBranch?.kind !== 'graph' || elseBranch?.kind !== 'graph') return undefined;
  const a = at.outputShapes(thenBranch.value);
  const b = at.outputShapes(elseBranch.value);
  if (a.length !== node.outputs.length || b.length !== node.outputs.length) return undefined;
  return a.map((s, i) => (s && b[i] && s.length === b[i]!.length && s.every((d, k) => d === b[i]![k]) ? s : undefined));
};

/**
 * Loop: each loop-carried value keeps the shape it starts with when the body,
 * given those shapes, gives it back (a shape that changes from one iteration
 * to the next stays open). A scan output stacks one body output per
 * iteration: its length is known when the trip count is a constant and the
 * loop cannot stop early (no condition or a constant true one, which the
 * body passes on unchanged).
 */
const loopRule: ShapeRule = (node, inputs, at) => {
  const body = node.attr('body');
  if (body?.kind !== 'graph') return undefined;
  const carried = inputs.slice(2);
  const given = [undefined, undefined, ...carried];
  const outs = at.outputShapes(body.value, given);
  const iterations = fixedIterations(node, body.value);
  return node.outputs.map((_, i) => {
    const after = outs[i + 1];
    if (!after) return undefined;
    if (i >= carried.length) return iterations === undefined ? undefined : [iterations, ...after];
    const start = carried[i];
    return start && after.length === start.length && after.every((d, k) => d === start[k]) ? start : undefined;
  });
};

/** The number of iterations a Loop runs when nothing can stop it before its constant trip count; else undefined. */
function fixedIterations(node: Node, body: Graph): number | undefined {
  const trip = constantOf(node.inputs[0] ?? null);
  if (!trip || trip.size !== 1) return undefined;
  const isTrue = (v: Value | null | undefined): boolean => {
    const c = constantOf(v ?? null);
    return c !== undefined && c.size === 1 && c.toFloat64()[0] !== 0;
  };
  const condition = node.inputs[1] ?? null;
  if (condition !== null && !isTrue(condition)) return undefined;
  // The body's next condition: a constant true, or its own condition input passed on (directly or through an Identity).
  const next = body.outputs[0];
  const passed = next === body.inputs[1] || (next?.producer?.op === 'Identity' && next.producer.inputs[0] === body.inputs[1]);
  if (!isTrue(next) && !(passed && (condition === null || isTrue(condition)))) return undefined;
  const n = Number(trip.toFloat64()[0]);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * Scan (opset 9+): the body takes the states and one slice of each scan
 * input (its scan axis removed); a state keeps its shape where the body
 * gives it back, and a scan output is the body's per-iteration output with
 * the sequence length inserted at its scan_output_axes entry.
 */
const scanRule: ShapeRule = (node, inputs, at) => {
  const body = node.attr('body');
  const scanned = int(node, 'num_scan_inputs', -1);
  if (at.opset < 9 || body?.kind !== 'graph' || scanned < 1 || scanned > inputs.length) return undefined;
  const states = inputs.length - scanned;
  const inAxes = ints(node, 'scan_input_axes') ?? [];
  const outAxes = ints(node, 'scan_output_axes') ?? [];
  let length: number | undefined;
  const slices = inputs.slice(states).map((shape, j) => {
    const axis = axisIn(inAxes[j] ?? 0, shape!.length);
    if (length !== undefined && length !== shape![axis]) throw new Error('scan inputs of different lengths');
    length = shape![axis]!;
    return shape!.filter((_, k) => k !== axis);
  });
  const outs = at.outputShapes(body.value, [...inputs.slice(0, states), ...slices]);
  return node.outputs.map((_, i) => {
    const out = outs[i];
    if (!out) return undefined;
    if (i < states) return out.length === inputs[i]!.length && out.every((d, k) => d === inputs[i]![k]) ? out : undefined;
    const axis = axisIn(outAxes[i - states] ?? 0, out.length + 1);
    return [...out.slice(0, axis), length!, ...out.slice(axis)];
  });
};

const UNARY = [
  'Abs', 'Acos', 'Asin', 'Atan', 'BatchNormalization', 'Cast', 'Ceil', 'Celu', 'Clip', 'Cos', 'DequantizeLinear', 'Elu', 'Erf', 'Exp',
  'Floor', 'Gelu', 'HardSigmoid', 'HardSwish', 'Identity', 'InstanceNormalization', 'IsNaN', 'LeakyRelu', 'Log', 'LogSoftmax', 'LRN',
  'Mish', 'Neg', 'Not', 'PRelu', 'QuantizeLinear', 'Reciprocal', 'Relu', 'Round', 'Selu', 'Sigmoid', 'Sign', 'Sin', 'Softmax',
  'Softplus', 'Softsign', 'Sqrt', 'Tan', 'Tanh', 'ThresholdedRelu',
  'Acosh', 'Asinh', 'Atanh', 'Cosh', 'Sinh', 'CastLike', 'CumSum', 'Hardmax', 'IsInf', 'LpNormalization', 'MeanVarianceNormalization',
  'ReverseSequence', 'Shrink', 'Trilu', 'EyeLike', 'Bernoulli',
  // The scatters write into a copy of their data (input 0).
  'Scatter', 'ScatterElements', 'ScatterND',
];
const BROADCASTING = [
  'Add', 'And', 'BitShift', 'BitwiseAnd', 'BitwiseOr', 'BitwiseXor', 'Div', 'Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'Max', 'Mean', 'Min',
  'Mod', 'Mul', 'Or', 'Pow', 'Sub', 'Sum', 'Where', 'Xor',
];

const SHAPE_RULES: Readonly<Record<string, ShapeRule>> = {
  ...Object.fromEntries(UNARY.map((op) => [op, sameAsFirst])),
  ...Object.fromEntries(BROADCASTING.map((op) => [op, broadcastAll])),
  Conv: conv,
  MaxPool: pool,
  AveragePool: pool,
  LpPool: pool,
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  Reshape: reshape,
  Flatten: flatten,
  Transpose: transpose,
  Concat: concat,
  Gemm: gemm,
  MatMul: matmul,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Constant: constant,
  Resize: resize,
  Upsample: resize,
  ConvTranspose: convTranspose,
  Pad: pad,
  Slice: slice,
  Split: split,
  Gather: gather,
  GatherElements: gatherElements,
  GatherND: gatherNd,
  OneHot: oneHot,
  Dropout: allAsFirst,
  MatMulInteger: matmul,
  QLinearMatMul: qlinearMatmul,
  QLinearConv: qlinearConv,
  GridSample: gridSample,
  RoiAlign: roiAlign,
  Det: det,
  Range: range,
  Einsum: einsum,
  RNN: recurrent,
  GRU: recurrent,
  LSTM: recurrent,
  Expand: expand,
  Tile: tile,
  ConstantOfShape: constantOfShape,
  TopK: topK,
  ArgMax: argReduce,
  ArgMin: argReduce,
  DepthToSpace: depthSpace,
  SpaceToDepth: depthSpace,
  ConvInteger: conv,
  DynamicQuantizeLinear: dynamicQuantize,
  LayerNormalization: layerNorm,
  DFT: dft,
  STFT: stft,
  If: ifRule,
  Loop: loopRule,
  Scan: scanRule,
  ...Object.fromEntries(
    ['ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceMax', 'ReduceMean', 'ReduceMin', 'ReduceProd', 'ReduceSum', 'ReduceSumSquare'].map((op) => [op, reduceOp]),
  ),
};
