import { DTYPES } from '../../ir/dtype';
import type { Graph, Node, Value } from '../../ir/graph';
import {
  axisIn,
  broadcastStatic,
  carryStaticShapes,
  concatShape,
  concatenatedValues,
  elementwiseValues,
  gatheredNdShape,
  integerArithmetic,
  maskedSlicedValues,
  matmulShape,
  pickedValues,
  product,
  reducedShape,
  reducedValue,
  reshaped,
  roundHalfEven,
  staticShapeValues,
  squeezedShape,
  transposedShape,
  unsqueezedShape,
  valuesFromShapes,
  windowedSize,
  type ShapeRule,
  type ShapeValueStep,
} from '../../ir/static-shapes';

/**
 * Sizes that follow from fixed sizes, carried through the TFLite operators
 * whose output shape recipe can compute (NHWC convolutions and pools,
 * elementwise operators with broadcasting, reshapes, reductions, ...).
 *
 * TFLite marks an unknown size with -1 in shape_signature and gives it no
 * name, so fixing an input's batch (fix-shape) would leave every tensor after
 * it unknown: a "dynamic" model to compilers that want static ones (the
 * EdgeTPU's), though the file's inputs are fixed. Custom operators and
 * operators not in the table stop the propagation on their path.
 */
export function propagateStaticShapes(graph: Graph): { filled: number; stuck: Node[] } {
  return carryStaticShapes(graph, shapeRuleOf);
}

/** The rule that computes a node's output shapes, where the table has one. */
export function shapeRuleOf(node: Node): ShapeRule | undefined {
  if (node.domain === 'custom') return CUSTOM_SHAPE_RULES[node.op];
  return node.domain === '' ? SHAPE_RULES[node.op] : undefined;
}

function intAttr(node: Node, name: string, fallback: number): number {
  const a = node.attr(name);
  return a && (a.kind === 'int' || a.kind === 'float') ? Number(a.value) : fallback;
}

function boolAttr(node: Node, name: string): boolean {
  const a = node.attr(name);
  return a?.kind === 'bool' ? a.value : a?.kind === 'int' ? Number(a.value) !== 0 : false;
}

function intsAttr(node: Node, name: string): number[] | undefined {
  const a = node.attr(name);
  return a?.kind === 'ints' ? a.value.map(Number) : undefined;
}

/** The operators shapeValueStep evaluates: what fold-shapes may turn into constants. */
export const SHAPE_VALUE_OPS: ReadonlySet<string> = new Set([
  'SHAPE', 'CAST', 'SQUEEZE', 'EXPAND_DIMS', 'RESHAPE', 'PACK', 'CONCATENATION', 'GATHER', 'STRIDED_SLICE', 'ADD', 'SUB', 'MUL', 'FLOOR_DIV',
  'DIV', 'FLOOR', 'CEIL', 'ROUND', 'MAXIMUM', 'MINIMUM', 'LESS', 'LESS_EQUAL', 'GREATER', 'GREATER_EQUAL', 'EQUAL', 'NOT_EQUAL',
  'SELECT', 'SELECT_V2', 'SUM', 'REDUCE_MAX', 'REDUCE_MIN', 'REDUCE_PROD',
]);

/** The comparisons shapeValueStep evaluates, 1 for true. */
const COMPARISONS: Readonly<Record<string, (x: number, y: number) => boolean>> = {
  LESS: (x, y) => x < y,
  LESS_EQUAL: (x, y) => x <= y,
  GREATER: (x, y) => x > y,
  GREATER_EQUAL: (x, y) => x >= y,
  EQUAL: (x, y) => x === y,
  NOT_EQUAL: (x, y) => x !== y,
};

/** TFLite's reductions by the name reducedValue knows them by. */
const REDUCTIONS: Readonly<Record<string, string>> = { SUM: 'ReduceSum', REDUCE_MAX: 'ReduceMax', REDUCE_MIN: 'ReduceMin', REDUCE_PROD: 'ReduceProd' };

/** The values of `v` where they follow from constants and static shapes (shapeValueStep), flattened. */
export function shapeValuesOf(v: Value): number[] | undefined {
  return valuesFromShapes(v, shapeValueStep);
}

/**
 * The integers of input `i`: a constant, or a small integer tensor the graph
 * computes from shapes (shapeValueStep), as converters write a reshape to
 * the batch: RESHAPE(x, PACK(STRIDED_SLICE(SHAPE(x), 0), -1)).
 */
function constInts(node: Node, i: number): number[] {
  const ints = valuesFromShapes(node.input(i), shapeValueStep);
  if (!ints) throw new Error('not a constant');
  return ints;
}

/**
 * One operator of a small integer tensor computed from shapes: SHAPE of a
 * static tensor, CAST, SQUEEZE, EXPAND_DIMS, RESHAPE, GATHER on axis 0, PACK
 * and CONCATENATION on axis 0, 1-D STRIDED_SLICE (shrink_axis_mask taking one
 * entry) and integer ADD, SUB, MUL, FLOOR_DIV. Undefined for anything else.
 */
const shapeValueStep: ShapeValueStep = (p, input) => {
  if (p.domain !== '') return undefined;
  switch (p.op) {
    case 'SHAPE':
      return staticShapeValues(p.input(0));
    case 'CAST': {
      // A float size (divided as a float) cast to an integer type truncates; to bool, non-zero is true.
      const x = input(0);
      const to = p.output(0)?.dtype;
      if (!x || !to) return x;
      if (to === 'bool') return x.map((v) => (v !== 0 ? 1 : 0));
      return DTYPES[to].kind === 'int' || DTYPES[to].kind === 'uint' ? x.map(Math.trunc) : x;
    }
    case 'SQUEEZE':
    case 'EXPAND_DIMS':
    case 'RESHAPE':
      return input(0);
    case 'DIV': {
      // A size divided as a float (TensorFlow's h / 2 before a cast back); integer DIV is left alone.
      const [a, b] = [input(0), input(1)];
      const to = p.output(0)?.dtype;
      if (!a || !b || !to || DTYPES[to].kind !== 'float' || b.includes(0)) return undefined;
      return elementwiseValues([a, b], ([x, y]) => x! / y!);
    }
    case 'FLOOR':
    case 'CEIL':
    case 'ROUND': {
      const round = p.op === 'FLOOR' ? Math.floor : p.op === 'CEIL' ? Math.ceil : roundHalfEven;
      return input(0)?.map(round);
    }
    case 'MAXIMUM':
    case 'MINIMUM': {
      const [a, b] = [input(0), input(1)];
      return a && b ? elementwiseValues([a, b], ([x, y]) => (p.op === 'MAXIMUM' ? Math.max(x!, y!) : Math.min(x!, y!))) : undefined;
    }
    case 'LESS':
    case 'LESS_EQUAL':
    case 'GREATER':
    case 'GREATER_EQUAL':
    case 'EQUAL':
    case 'NOT_EQUAL': {
      const [a, b] = [input(0), input(1)];
      const compare = COMPARISONS[p.op]!;
      return a && b ? elementwiseValues([a, b], ([x, y]) => (compare(x!, y!) ? 1 : 0)) : undefined;
    }
    case 'SELECT':
    case 'SELECT_V2': {
      const [c, a, b] = [input(0), input(1), input(2)];
      return c && a && b ? elementwiseValues([c, a, b], ([k, x, y]) => (k !== 0 ? x! : y!)) : undefined;
    }
    case 'SUM':
    case 'REDUCE_MAX':
    case 'REDUCE_MIN':
    case 'REDUCE_PROD': {
      // Over the whole of a vector of sizes (the longer side of an image, a flattened size).
      const [x, axes] = [input(0), input(1)];
      if (!x || !axes || (p.input(0)?.shape?.length ?? 2) > 1 || axes.some((a) => a !== 0 && a !== -1)) return undefined;
      const reduced = reducedValue(REDUCTIONS[p.op]!, x);
      return reduced === undefined ? undefined : [reduced];
    }
    case 'PACK':
    case 'CONCATENATION': {
      return intAttr(p, 'axis', 0) === 0 ? concatenatedValues(p.inputs.map((_, i) => input(i))) : undefined;
    }
    case 'GATHER': {
      const [data, indices] = [input(0), input(1)];
      if (!data || !indices || intAttr(p, 'axis', 0) !== 0 || (p.input(0)?.shape?.length ?? 1) !== 1) return undefined;
      return pickedValues(data, indices);
    }
    case 'STRIDED_SLICE': {
      const [data, begin, end, strides] = [input(0), input(1), input(2), input(3)];
      if (!data || begin?.length !== 1 || end?.length !== 1 || strides?.length !== 1 || strides[0] === 0) return undefined;
      if (intAttr(p, 'ellipsis_mask', 0) || intAttr(p, 'new_axis_mask', 0) || boolAttr(p, 'offset')) return undefined;
      if (intAttr(p, 'shrink_axis_mask', 0) & 1) return pickedValues(data, begin);
      return maskedSlicedValues(data, begin[0]!, end[0]!, strides[0]!, (intAttr(p, 'begin_mask', 0) & 1) !== 0, (intAttr(p, 'end_mask', 0) & 1) !== 0);
    }
    case 'ADD':
    case 'SUB':
    case 'MUL':
    case 'FLOOR_DIV': {
      const [a, b] = [input(0), input(1)];
      const op = p.op;
      const apply = (x: number, y: number): number | undefined => {
        if (op === 'ADD') return x + y;
        if (op === 'SUB') return x - y;
        if (op === 'MUL') return x * y;
        return y === 0 ? undefined : Math.floor(x / y);
      };
      return a && b ? integerArithmetic(a, b, apply) : undefined;
    }
    default:
      return undefined;
  }
};

/** Output size of a windowed dimension (TFLite's ComputeOutSize: SAME or VALID). */
function windowed(size: number, filter: number, stride: number, dilation: number, padding: string): number {
  if (padding !== 'SAME' && padding !== 'VALID') throw new Error(`padding ${padding}`);
  return windowedSize(size, filter, stride, dilation, padding === 'SAME' ? 'same' : 'valid');
}

const padding = (node: Node): string => {
  const a = node.attr('padding');
  return a?.kind === 'string' ? a.value : 'SAME';
};

const sameAsFirst: ShapeRule = (_node, [x]) => [x!];
const broadcastTwo: ShapeRule = (_node, [a, b]) => [broadcastStatic([a!, b!])];

const conv2d: ShapeRule = (node, [x, w]) => {
  const [n, h, wd] = x!;
  const out = node.op === 'DEPTHWISE_CONV_2D' ? w![3]! : w![0]!;
  return [
    [
      n!,
      windowed(h!, w![1]!, intAttr(node, 'stride_h', 1), intAttr(node, 'dilation_h_factor', 1), padding(node)),
      windowed(wd!, w![2]!, intAttr(node, 'stride_w', 1), intAttr(node, 'dilation_w_factor', 1), padding(node)),
      out,
    ],
  ];
};

const pool2d: ShapeRule = (node, [x]) => {
  const [n, h, w, c] = x!;
  return [
    [
      n!,
      windowed(h!, intAttr(node, 'filter_height', 1), intAttr(node, 'stride_h', 1), 1, padding(node)),
      windowed(w!, intAttr(node, 'filter_width', 1), intAttr(node, 'stride_w', 1), 1, padding(node)),
      c!,
    ],
  ];
};

const reduce: ShapeRule = (node, [x]) => [reducedShape(x!, constInts(node, 1), boolAttr(node, 'keep_dims'))];

const reshape: ShapeRule = (node, [x, shapeInput]) => {
  // A shape input of shape [0] asks for a scalar, whatever computes it (TFLite reshape.cc: the legacy form).
  if (shapeInput?.length === 1 && shapeInput[0] === 0) return product(x!) === 1 ? [[]] : undefined;
  // A shape input, when there is one, wins over the options' new_shape; a computed one counts where shapeValueStep evaluates it.
  const wanted = node.input(1) ? constInts(node, 1) : intsAttr(node, 'new_shape');
  const shape = wanted && reshaped(product(x!), wanted);
  return shape ? [shape] : undefined;
};

const fullyConnected: ShapeRule = (node, [x, w]) => {
  const units = w![0]!;
  const inner = w![1]!;
  if (boolAttr(node, 'keep_num_dims')) return [[...x!.slice(0, -1), units]];
  // The input flattened to rows of `inner` (reshaped leaves them open when the count is).
  const rows = reshaped(product(x!), [-1, inner]);
  return rows ? [[rows[0]!, units]] : undefined;
};

const concatenation: ShapeRule = (node, inputs) => [concatShape(inputs as number[][], intAttr(node, 'axis', 0))];

const pad: ShapeRule = (node, [x]) => {
  const pads = constInts(node, 1);
  return [x!.map((d, i) => d + pads[2 * i]! + pads[2 * i + 1]!)];
};

const resize: ShapeRule = (node, [x]) => {
  const [h, w] = constInts(node, 1);
  return [[x![0]!, h!, w!, x![3]!]];
};

const transpose: ShapeRule = (node, [x]) => [transposedShape(x!, constInts(node, 1))];

const squeeze: ShapeRule = (node, [x]) => {
  const dims = intsAttr(node, 'squeeze_dims') ?? [];
  return [squeezedShape(x!, dims.length ? dims : undefined)];
};

const expandDims: ShapeRule = (node, [x]) => [unsqueezedShape(x!, [constInts(node, 1)[0]!])];

const spaceToDepth: ShapeRule = (node, [x]) => {
  const b = intAttr(node, 'block_size', 1);
  const [n, h, w, c] = x!;
  return node.op === 'SPACE_TO_DEPTH' ? [[n!, h! / b, w! / b, c! * b * b]] : [[n!, h! * b, w! * b, c! / (b * b)]];
};

const argMinMax: ShapeRule = (node, [x]) => [reducedShape(x!, [constInts(node, 1)[0]!], false)];

const split: ShapeRule = (node, [, x]) => {
  const axis = axisIn(constInts(node, 0)[0]!, x!.length);
  const parts = node.outputs.length;
  if (x![axis]! % parts !== 0) return undefined;
  return node.outputs.map(() => x!.map((d, i) => (i === axis ? d / parts : d)));
};

const batchMatMul: ShapeRule = (node, [a, b]) => {
  const shape = matmulShape(a!, b!, boolAttr(node, 'adj_x'), boolAttr(node, 'adj_y'));
  return shape ? [shape] : undefined;
};

/** SLICE: `size` -1 takes the rest of the axis. */
const slice: ShapeRule = (node, [x]) => {
  const begin = constInts(node, 1);
  const size = constInts(node, 2);
  if (begin.length !== x!.length || size.length !== x!.length) return undefined;
  return [x!.map((d, i) => (size[i] === -1 ? d - begin[i]! : size[i]!))];
};

/**
 * STRIDED_SLICE with begin/end/strides constant and the begin, end and
 * shrink-axis masks; the ellipsis and new-axis masks, and `offset`, are left
 * out (the size is then not computed).
 */
const stridedSlice: ShapeRule = (node, [x]) => {
  if (intAttr(node, 'ellipsis_mask', 0) || intAttr(node, 'new_axis_mask', 0) || boolAttr(node, 'offset')) return undefined;
  const begin = constInts(node, 1);
  const end = constInts(node, 2);
  const strides = constInts(node, 3);
  const beginMask = intAttr(node, 'begin_mask', 0);
  const endMask = intAttr(node, 'end_mask', 0);
  const shrink = intAttr(node, 'shrink_axis_mask', 0);
  const out: number[] = [];
  x!.forEach((d, i) => {
    if (i >= begin.length) {
      out.push(d);
      return;
    }
    const step = strides[i]!;
    if (step === 0) throw new Error('stride 0');
    if (shrink & (1 << i)) return;
    const clampIndex = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v < 0 ? v + d : v));
    let from: number;
    let to: number;
    if (step > 0) {
      from = beginMask & (1 << i) ? 0 : clampIndex(begin[i]!, 0, d);
      to = endMask & (1 << i) ? d : clampIndex(end[i]!, 0, d);
      out.push(Math.max(0, Math.ceil((to - from) / step)));
    } else {
      from = beginMask & (1 << i) ? d - 1 : clampIndex(begin[i]!, -1, d - 1);
      to = endMask & (1 << i) ? -1 : clampIndex(end[i]!, -1, d - 1);
      out.push(Math.max(0, Math.ceil((from - to) / -step)));
    }
  });
  return [out];
};

const pack: ShapeRule = (node, inputs) => {
  const first = inputs[0]!;
  const axis = axisIn(intAttr(node, 'axis', 0), first.length + 1);
  return [[...first.slice(0, axis), inputs.length, ...first.slice(axis)]];
};

const unpack: ShapeRule = (node, [x]) => {
  const axis = axisIn(intAttr(node, 'axis', 0), x!.length);
  if (x![axis] !== node.outputs.length) return undefined;
  return node.outputs.map(() => x!.filter((_, i) => i !== axis));
};

/** SPLIT_V: (input, size_splits, axis); one size may be -1, the rest of the axis. */
const splitV: ShapeRule = (node, [x]) => {
  const sizes = constInts(node, 1);
  const axis = axisIn(constInts(node, 2)[0]!, x!.length);
  const rest = x![axis]! - sizes.filter((n) => n !== -1).reduce((a, b) => a + b, 0);
  if (sizes.length !== node.outputs.length || rest < 0) return undefined;
  return sizes.map((n) => x!.map((d, i) => (i === axis ? (n === -1 ? rest : n) : d)));
};

/**
 * UNIDIRECTIONAL_SEQUENCE_LSTM: the input's batch and time axes (in either
 * order) and the output size, the second dimension of
 * recurrent_to_output_weights (input 8, [cells, outputs]), projected or not.
 */
const sequenceLstm: ShapeRule = (_node, inputs) => {
  const x = inputs[0]!;
  const recurrent = inputs[8];
  if (x.length !== 3 || recurrent?.length !== 2) return undefined;
  return [[x[0]!, x[1]!, recurrent[1]!]];
};

/** SVDF: [batch, units], units = filters (weights_feature's first dimension) / rank. */
const svdf: ShapeRule = (node, [x, weightsFeature]) => {
  const rank = intAttr(node, 'rank', 1);
  const filters = weightsFeature![0]!;
  if (rank < 1 || filters % rank !== 0) return undefined;
  return [[x![0]!, filters / rank]];
};

/** GATHER_ND: the indices' outer axes, then what the last index axis leaves of the params. */
const gatherNd: ShapeRule = (_node, [params, indices]) => {
  const shape = gatheredNdShape(params!, indices!, 0);
  return shape ? [shape] : undefined;
};

/**
 * SPACE_TO_BATCH_ND (block shape, paddings [M, 2]) and BATCH_TO_SPACE_ND
 * (block shape, crops [M, 2]) over the M axes after the batch.
 */
const spaceBatch: ShapeRule = (node, [x]) => {
  const block = constInts(node, 1);
  const edges = constInts(node, 2);
  const blocks = product(block);
  const out = [...x!];
  if (node.op === 'SPACE_TO_BATCH_ND') {
    out[0] = x![0]! * blocks;
    block.forEach((b, i) => (out[i + 1] = (x![i + 1]! + edges[2 * i]! + edges[2 * i + 1]!) / b));
  } else {
    out[0] = x![0]! / blocks;
    block.forEach((b, i) => (out[i + 1] = x![i + 1]! * b - edges[2 * i]! - edges[2 * i + 1]!));
  }
  return [out];
};

/** GATHER: the params with the indices (past the batch axes) in place of `axis`. */
const gather: ShapeRule = (node, [params, indices]) => {
  const axis = axisIn(intAttr(node, 'axis', 0), params!.length);
  const batch = intAttr(node, 'batch_dims', 0);
  if (batch < 0 || batch > axis || batch > indices!.length) return undefined;
  return [[...params!.slice(0, axis), ...indices!.slice(batch), ...params!.slice(axis + 1)]];
};

/** EMBEDDING_LOOKUP: one row of the table per id. */
const embeddingLookup: ShapeRule = (_node, [ids, table]) => (ids!.length === 1 ? [[ids![0]!, ...table!.slice(1)]] : undefined);

const tile: ShapeRule = (node, [x]) => {
  const multiples = constInts(node, 1);
  return multiples.length === x!.length ? [x!.map((d, i) => d * multiples[i]!)] : undefined;
};

const broadcastTo: ShapeRule = (node, [x]) => [broadcastStatic([x!, constInts(node, 1)])];

/** SELECT_V2 broadcasts its three inputs; SELECT (v1) has the shape of the values it picks from. */
const select: ShapeRule = (node, [condition, a, b]) => (node.op === 'SELECT_V2' ? [broadcastStatic([condition!, a!, b!])] : [a!]);

/** SHAPE: one element per axis of its input. */
const shapeOf: ShapeRule = (_node, [x]) => [[x!.length]];

/** FILL: the dimensions its first input holds. */
const fill: ShapeRule = (node) => [constInts(node, 0)];

/** TOPK_V2: values and indices, the last axis cut to k. */
const topK: ShapeRule = (node, [x]) => {
  const k = constInts(node, 1)[0]!;
  const out = [...x!.slice(0, -1), k];
  return [out, out];
};

/**
 * MediaPipe's Convolution2DTransposeBias (a custom op of its segmentation
 * models): custom options hold TfLiteTransposeConvParams (padding 1 = SAME,
 * stride_width, stride_height as int32), weights are [O, kh, kw, I], and its
 * Prepare sizes each axis stride x (size - 1) + kernel, less SAME's
 * max(0, kernel - (size - 1) mod stride - 1).
 */
const transposeConvBias: ShapeRule = (node, [x, w]) => {
  const options = node.attr('custom_options');
  if (options?.kind !== 'bytes' || options.value.byteLength < 12 || x!.length !== 4 || w!.length !== 4) return undefined;
  const view = new DataView(options.value.buffer, options.value.byteOffset, 12);
  const [padding, strideW, strideH] = [0, 4, 8].map((at) => view.getInt32(at, true));
  if (strideW! < 1 || strideH! < 1) return undefined;
  const size = (d: number, k: number, stride: number): number => stride * (d - 1) + k - (padding === 1 ? Math.max(0, k - ((d - 1) % stride) - 1) : 0);
  return [[x![0]!, size(x![1]!, w![1]!, strideH!), size(x![2]!, w![2]!, strideW!), w![0]!]];
};

/** TRANSPOSE_CONV: its first input is the output shape. */
const transposeConv: ShapeRule = (node) => [constInts(node, 0)];

const UNARY = [
  'ABS', 'CAST', 'CEIL', 'COS', 'DEQUANTIZE', 'ELU', 'EXP', 'FLOOR', 'GELU', 'HARD_SWISH', 'L2_NORMALIZATION', 'LEAKY_RELU',
  'LOCAL_RESPONSE_NORMALIZATION', 'LOG', 'LOG_SOFTMAX', 'LOGICAL_NOT', 'LOGISTIC', 'NEG', 'QUANTIZE', 'RELU', 'RELU6',
  'RELU_0_TO_1', 'RELU_N1_TO_1', 'ROUND', 'RSQRT', 'SIGN', 'SIN', 'SOFTMAX', 'SQRT', 'SQUARE', 'TANH', 'ZEROS_LIKE', 'ONES_LIKE',
  'REVERSE_V2', 'CUMSUM',
];
const BINARY = [
  'ADD', 'DIV', 'EQUAL', 'FLOOR_DIV', 'FLOOR_MOD', 'GREATER', 'GREATER_EQUAL', 'LESS', 'LESS_EQUAL', 'LOGICAL_AND', 'LOGICAL_OR',
  'MAXIMUM', 'MINIMUM', 'MUL', 'NOT_EQUAL', 'POW', 'PRELU', 'SQUARED_DIFFERENCE', 'SUB',
];

/** Output shapes by operator, from the inputs' static shapes (and constant inputs and options where they matter). */
const SHAPE_RULES: Readonly<Record<string, ShapeRule>> = {
  ...Object.fromEntries(UNARY.map((op) => [op, sameAsFirst])),
  ...Object.fromEntries(BINARY.map((op) => [op, broadcastTwo])),
  CONV_2D: conv2d,
  DEPTHWISE_CONV_2D: conv2d,
  AVERAGE_POOL_2D: pool2d,
  MAX_POOL_2D: pool2d,
  L2_POOL_2D: pool2d,
  MEAN: reduce,
  SUM: reduce,
  REDUCE_MAX: reduce,
  REDUCE_MIN: reduce,
  REDUCE_PROD: reduce,
  REDUCE_ANY: reduce,
  REDUCE_ALL: reduce,
  RESHAPE: reshape,
  FULLY_CONNECTED: fullyConnected,
  CONCATENATION: concatenation,
  PAD: pad,
  PADV2: pad,
  MIRROR_PAD: pad,
  RESIZE_BILINEAR: resize,
  RESIZE_NEAREST_NEIGHBOR: resize,
  TRANSPOSE: transpose,
  SQUEEZE: squeeze,
  EXPAND_DIMS: expandDims,
  SPACE_TO_DEPTH: spaceToDepth,
  DEPTH_TO_SPACE: spaceToDepth,
  ARG_MAX: argMinMax,
  ARG_MIN: argMinMax,
  SPLIT: split,
  SPLIT_V: splitV,
  BATCH_MATMUL: batchMatMul,
  SLICE: slice,
  STRIDED_SLICE: stridedSlice,
  PACK: pack,
  UNPACK: unpack,
  TRANSPOSE_CONV: transposeConv,
  UNIDIRECTIONAL_SEQUENCE_LSTM: sequenceLstm,
  SVDF: svdf,
  GATHER_ND: gatherNd,
  // The sparse constant it reads declares its dense shape.
  DENSIFY: sameAsFirst,
  SPACE_TO_BATCH_ND: spaceBatch,
  BATCH_TO_SPACE_ND: spaceBatch,
  GATHER: gather,
  EMBEDDING_LOOKUP: embeddingLookup,
  TILE: tile,
  BROADCAST_TO: broadcastTo,
  SELECT: select,
  SELECT_V2: select,
  SHAPE: shapeOf,
  FILL: fill,
  TOPK_V2: topK,
};

/** Custom operators whose output shape is known (their options as the code that registers them reads them). */
const CUSTOM_SHAPE_RULES: Readonly<Record<string, ShapeRule>> = {
  Convolution2DTransposeBias: transposeConvBias,
};
