import { isFloat } from '../../ir/dtype';
import type { Graph, Node, Value } from '../../ir/graph';
import {
  axisIn,
  broadcastStatic,
  carryStaticShapes,
  concatShape,
  concatenatedValues,
  einsumShape,
  elementwiseValues,
  gatheredNdShape,
  gatheredShape,
  integerArithmetic,
  maskedSlicedValues,
  matmulShape,
  pickedValues,
  product,
  reducedShape,
  reducedValue,
  reshaped,
  slicedLength,
  staticShapeValues,
  squeezedShape,
  transposedShape,
  unsqueezedShape,
  valuesFromShapes,
  windowedSize,
  type ShapeRule,
  type ShapeValueStep,
  type WindowPadding,
} from '../../ir/static-shapes';
import { bodyIfReadable, entriesOf, outputEntries, type PortMapEntry } from './bodies';
import { BODY_TAGS, type BodyTag, type OvBody } from './native';
import { priorBoxesPerCell } from './priors';

/**
 * Sizes that follow from fixed sizes, carried through the OpenVINO layers
 * whose output shape recipe can compute (convolutions and pools, elementwise
 * layers with numpy broadcasting, Reshape, Transpose, Concat, MatMul,
 * reductions, ...): fixing a Parameter's batch otherwise leaves every port
 * after it at -1 in the IR, which then contradicts itself. Layers not in the
 * table stop the sizes on their path (OpenVINO infers them again on load).
 */
export function propagateStaticShapes(graph: Graph): { filled: number; stuck: Node[] } {
  let filled = 0;
  // Sizes reach a body through its layer's inputs, and come back through its
  // Results: carry the graph, fill the bodies' Parameters, carry the bodies,
  // and carry the graph again past the layers whose outputs now follow.
  for (let round = 0; ; round++) {
    const r = carryStaticShapes(graph, shapeRuleOf);
    filled += r.filled;
    let inBodies = 0;
    for (const node of graph.nodes) {
      for (const tag of BODY_TAGS) {
        const body = bodyIfReadable(node, tag);
        if (!body) continue;
        const given = fillBodyParameters(node, tag, body);
        if (given > 0 || round === 0) inBodies += given + propagateStaticShapes(body.graph).filled;
      }
    }
    filled += inBodies;
    if (inBodies === 0 || round >= MAX_BODY_ROUNDS) return { filled, stuck: r.stuck };
  }
}

/** Rounds of carrying sizes into bodies and back (one per nesting level is enough; the bound is for safety). */
const MAX_BODY_ROUNDS = 8;

/**
 * Gives a body's Parameters the sizes of the layer inputs they take, where
 * they declare none: the whole input, or for a sliced one (TensorIterator)
 * its part along the axis. Returns how many sizes it gave.
 */
function fillBodyParameters(node: Node, tag: BodyTag, body: OvBody): number {
  let given = 0;
  for (const e of entriesOf(node, tag, 'input') ?? []) {
    const p = body.parameters.get(e.layer);
    const i = Number(e.port);
    const input = Number.isInteger(i) && i >= 0 ? node.inputs[i] : undefined;
    if (!p?.shape || !input?.shape || e.purpose !== undefined || p.shape.length !== input.shape.length) continue;
    const axis = e.axis === undefined ? undefined : e.axis < 0 ? e.axis + input.shape.length : e.axis;
    const wanted = input.shape.map((d, k) => (k === axis ? e.partSize : d));
    const next = p.shape.map((d, k) => {
      const w = wanted[k];
      if (typeof d === 'number' && d >= 0) return d;
      if (typeof w !== 'number' || w < 0) return d;
      given++;
      return w;
    });
    if (next.some((d, k) => d !== p.shape![k])) p.shape = next;
  }
  return given;
}

/**
 * The number of iterations a TensorIterator's sliced input of `size` elements
 * gives, one element at a time in either direction (what Model Optimizer
 * writes); NaN for other slicing, whose steps the specification leaves open.
 */
function slicedIterations(e: PortMapEntry, size: number): number {
  if (e.partSize !== 1 || Math.abs(e.stride) !== 1) return Number.NaN;
  const at = (x: number): number => (x < 0 ? x + size : x);
  return Math.abs(at(e.end) - at(e.start)) + 1;
}

/**
 * Output shapes of a layer with a body, from the shapes its body Results
 * declare: the last iteration's value, or every iteration's concatenated
 * along the entry's axis (`iterations` of them; NaN when not known).
 */
function outputsFromResults(node: Node, tag: BodyTag, iterations: number): number[][] | undefined {
  const body = bodyIfReadable(node, tag);
  const outs = entriesOf(node, tag, 'output');
  if (!body || !outs) return undefined;
  const entries = outputEntries(outs.filter((e) => e.purpose === undefined));
  if (entries.length !== node.outputs.length) return undefined;
  return entries.map((e) => {
    const shape = body.results.get(e.layer)?.shape;
    if (!isStaticShape(shape)) throw new Error(`body Result ${e.layer} has no static shape`);
    if (e.axis === undefined) return [...shape];
    const axis = axisIn(e.axis, shape.length);
    return shape.map((d, k) => (k === axis ? d * iterations : d));
  });
}

function isStaticShape(shape: readonly (number | string | null)[] | undefined): shape is number[] {
  return shape !== undefined && shape.every((d) => typeof d === 'number' && d >= 0);
}

/**
 * The Fourier transforms (DFT-7, IDFT-7, RDFT-9, IRDFT-9): the signal
 * dimensions (a complex input's without its trailing 2), each transformed
 * axis of signal_size points where given. RDFT keeps size / 2 + 1 points of
 * the last axis listed and adds the complex dimension; IRDFT makes
 * signal_size points of it (2 (n - 1) by default) and drops it.
 */
function fourier(kind: 'complex' | 'real-to-complex' | 'complex-to-real'): ShapeRule {
  return (node, [x]) => {
    if (!x) return undefined;
    const signal = kind === 'real-to-complex' ? [...x] : x.slice(0, -1);
    const axes = constInts(node, 1).map((a) => axisIn(a, signal.length));
    const sizes = node.inputs.length > 2 && node.input(2) ? constInts(node, 2) : axes.map(() => -1);
    if (sizes.length !== axes.length) return undefined;
    const last = axes[axes.length - 1];
    const out = [...signal];
    axes.forEach((a, k) => {
      const given = sizes[k]!;
      if (kind === 'complex-to-real' && a === last) out[a] = given >= 0 ? given : 2 * (signal[a]! - 1);
      else if (given >= 0) out[a] = given;
      if (kind === 'real-to-complex' && a === last) out[a] = Math.floor(out[a]! / 2) + 1;
    });
    return [kind === 'complex-to-real' ? out : [...out, 2]];
  };
}

/** TensorIterator-1: as many iterations as the sliced inputs have parts. */
const tensorIterator: ShapeRule = (node, inputs) => {
  let iterations = Number.NaN;
  for (const e of entriesOf(node, 'body', 'input') ?? []) {
    if (e.axis === undefined) continue;
    const shape = inputs[Number(e.port)];
    if (!shape) return undefined;
    iterations = slicedIterations(e, shape[axisIn(e.axis, shape.length)]!);
  }
  return outputsFromResults(node, 'body', iterations);
};

/**
 * Loop-5: a concatenated output has one part per iteration, known only when
 * the trip count is a constant and the loop cannot stop early (its condition
 * and its body's are constant true).
 */
const loop: ShapeRule = (node) => {
  const trip = node.input(0)?.const;
  const isTrue = (v: Value | null | undefined): boolean => v?.const !== undefined && v.const.size === 1 && v.const.toFloat64()[0] !== 0;
  const body = bodyIfReadable(node, 'body');
  const condition = entriesOf(node, 'body', 'output')?.find((e) => e.purpose === 'execution_condition');
  const runsAll = isTrue(node.input(1)) && (condition === undefined || isTrue(body?.results.get(condition.layer)));
  const count = trip && trip.size === 1 ? trip.toFloat64()[0]! : Number.NaN;
  return outputsFromResults(node, 'body', runsAll && count >= 0 ? count : Number.NaN);
};

/** If-8: both branches must declare the same shapes. */
const ifLayer: ShapeRule = (node) => {
  const a = outputsFromResults(node, 'then_body', Number.NaN);
  const b = outputsFromResults(node, 'else_body', Number.NaN);
  if (!a || !b || a.some((s, i) => s.length !== b[i]!.length || s.some((d, k) => d !== b[i]![k]))) return undefined;
  return a;
};

/** The rule that computes a node's output shapes, where the table has one. */
export function shapeRuleOf(node: Node): ShapeRule | undefined {
  return SHAPE_RULES[node.op];
}

/** A `<data>` attribute as text ("2,2", "numpy", "true"). */
function text(node: Node, name: string): string | undefined {
  const a = node.attr(name);
  if (!a) return undefined;
  if (a.kind === 'string') return a.value;
  if (a.kind === 'int' || a.kind === 'float') return String(a.value);
  if (a.kind === 'ints' || a.kind === 'floats') return a.value.join(',');
  if (a.kind === 'bool') return String(a.value);
  return undefined;
}

function numbers(node: Node, name: string): number[] | undefined {
  const t = text(node, name);
  if (t === undefined) return undefined;
  if (t.trim() === '') return [];
  const list = t.split(',').map((x) => Number(x.trim()));
  return list.every((x) => Number.isFinite(x)) ? list : undefined;
}

function flag(node: Node, name: string): boolean {
  return /^(true|1)$/i.test(text(node, name) ?? '');
}

/** The operators shapeValueStep evaluates: what fold-shapes may turn into constants. */
export const SHAPE_VALUE_OPS: ReadonlySet<string> = new Set([
  'ShapeOf', 'Convert', 'Squeeze', 'Unsqueeze', 'Reshape', 'Concat', 'Gather', 'StridedSlice', 'Slice', 'Add', 'Subtract', 'Multiply', 'Divide',
  'Maximum', 'Minimum', 'Equal', 'NotEqual', 'Less', 'LessEqual', 'Greater', 'GreaterEqual', 'Select', 'Floor', 'Ceiling',
  'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceSum',
]);

/** The comparisons among SHAPE_VALUE_OPS, as 1 and 0. */
const COMPARISONS: Readonly<Record<string, (x: number, y: number) => boolean>> = {
  Equal: (x, y) => x === y,
  NotEqual: (x, y) => x !== y,
  Less: (x, y) => x < y,
  LessEqual: (x, y) => x <= y,
  Greater: (x, y) => x > y,
  GreaterEqual: (x, y) => x >= y,
};

/** The values of `v` where they follow from constants and static shapes (shapeValueStep), flattened. */
export function shapeValuesOf(v: Value): number[] | undefined {
  return valuesFromShapes(v, shapeValueStep);
}

/**
 * The integers of input `i`: a Const, or a small integer tensor the graph
 * computes from shapes (shapeValueStep), as IRs of dynamic models compute a
 * Reshape's target: Concat(Gather(ShapeOf(x), 0), -1).
 */
function constInts(node: Node, i: number): number[] {
  const ints = valuesFromShapes(node.input(i), shapeValueStep);
  if (!ints) throw new Error('not a constant');
  return ints;
}

/**
 * One layer of a small integer tensor computed from shapes: ShapeOf of a
 * static shape, Convert, Gather on axis 0, Concat, Squeeze, Unsqueeze,
 * Reshape, 1-D StridedSlice and Slice, and integer Add, Subtract, Multiply and
 * Divide (a batch times a channel count). Undefined for anything else.
 */
const shapeValueStep: ShapeValueStep = (p, input) => {
  switch (p.op) {
    case 'ShapeOf':
      return staticShapeValues(p.input(0));
    case 'Convert':
    case 'Squeeze':
    case 'Unsqueeze':
    case 'Reshape':
      return input(0);
    case 'Concat':
      return concatenatedValues(p.inputs.map((_, i) => input(i)));
    case 'Gather': {
      const [data, indices, axis] = [input(0), input(1), input(2)];
      if (!data || !indices || axis?.length !== 1 || axis[0] !== 0 || Number(text(p, 'batch_dims') ?? 0) !== 0) return undefined;
      if ((p.input(0)?.shape?.length ?? 1) !== 1) return undefined;
      return pickedValues(data, indices);
    }
    case 'StridedSlice':
    case 'Slice': {
      const [data, begin, end, step] = [input(0), input(1), input(2), p.input(3) ? input(3) : [1]];
      if (!data || begin?.length !== 1 || end?.length !== 1 || step?.length !== 1 || step[0] === 0) return undefined;
      const masked = (name: string): boolean => p.op === 'StridedSlice' && (numbers(p, name) ?? [])[0] === 1;
      if (['new_axis_mask', 'shrink_axis_mask', 'ellipsis_mask'].some(masked)) return undefined;
      return maskedSlicedValues(data, begin[0]!, end[0]!, step[0]!, masked('begin_mask'), masked('end_mask'));
    }
    case 'Add':
    case 'Subtract':
    case 'Multiply':
    case 'Divide': {
      const [a, b] = [input(0), input(1)];
      const floor = !/^(false|0)$/i.test((text(p, 'm_pythondiv') ?? 'true').trim());
      const dtype = p.outputs[0]?.dtype;
      const float = dtype !== undefined && isFloat(dtype);
      const op = p.op;
      const apply = (x: number, y: number): number | undefined => {
        if (op === 'Add') return x + y;
        if (op === 'Subtract') return x - y;
        if (op === 'Multiply') return x * y;
        if (y === 0) return undefined;
        // A float Divide (a shape converted to f32) keeps the fraction.
        if (float) return x / y;
        return floor ? Math.floor(x / y) : Math.trunc(x / y);
      };
      return a && b ? integerArithmetic(a, b, apply) : undefined;
    }
    case 'Maximum':
    case 'Minimum': {
      const [a, b] = [input(0), input(1)];
      return a && b ? integerArithmetic(a, b, p.op === 'Maximum' ? Math.max : Math.min) : undefined;
    }
    case 'Equal':
    case 'NotEqual':
    case 'Less':
    case 'LessEqual':
    case 'Greater':
    case 'GreaterEqual': {
      const [a, b] = [input(0), input(1)];
      const test = COMPARISONS[p.op]!;
      return a && b ? integerArithmetic(a, b, (x, y) => (test(x, y) ? 1 : 0)) : undefined;
    }
    // Select of shape values: a dimension taken from one shape where a condition on another holds.
    case 'Select': {
      const [c, a, b] = [input(0), input(1), input(2)];
      return c && a && b ? elementwiseValues([c, a, b], ([test, x, y]) => (test !== 0 ? x! : y!)) : undefined;
    }
    // A size divided as a float, rounded back to an integer.
    case 'Floor':
    case 'Ceiling': {
      const x = input(0);
      return x?.map(p.op === 'Floor' ? Math.floor : Math.ceil);
    }
    // A whole shape reduced to one number: the longer side, a pixel count.
    case 'ReduceMax':
    case 'ReduceMin':
    case 'ReduceProd':
    case 'ReduceSum': {
      const [x, axes] = [input(0), input(1)];
      if (!x || axes?.length !== 1 || (axes[0] !== 0 && axes[0] !== -1) || (p.input(0)?.shape?.length ?? 1) > 1) return undefined;
      const reduced = reducedValue(p.op, x);
      return reduced === undefined ? undefined : [reduced];
    }
    default:
      return undefined;
  }
};

const sameAsFirst: ShapeRule = (node, [x]) => (node.outputs.length === 1 ? [x!] : undefined);

const elementwise: ShapeRule = (node, inputs) => {
  const [a, b] = inputs as number[][];
  const mode = (text(node, 'auto_broadcast') ?? 'numpy').toLowerCase();
  if (mode === 'none') return a!.length === b!.length && a!.every((d, i) => d === b![i]) ? [a!] : undefined;
  return mode === 'numpy' ? [broadcastStatic([a!, b!])] : undefined;
};

/** Output sizes along the spatial axes of a convolution or a pool. */
function windowed(node: Node, x: readonly number[], kernel: readonly number[]): number[] {
  const rounding = (text(node, 'rounding_type') ?? 'floor').toLowerCase();
  if (rounding !== 'floor' && rounding !== 'ceil' && rounding !== 'ceil_torch') throw new Error(`rounding_type ${rounding}`);
  const strides = numbers(node, 'strides') ?? kernel.map(() => 1);
  const dilations = numbers(node, 'dilations') ?? kernel.map(() => 1);
  const begin = numbers(node, 'pads_begin') ?? kernel.map(() => 0);
  const end = numbers(node, 'pads_end') ?? kernel.map(() => 0);
  const autoPad = (text(node, 'auto_pad') ?? 'explicit').toLowerCase();
  if (kernel.length !== x.length - 2) throw new Error('kernel rank');
  const same = autoPad === 'same_upper' || autoPad === 'same_lower';
  if (!same && autoPad !== 'valid' && autoPad !== 'explicit' && autoPad !== 'notset') throw new Error(`auto_pad ${autoPad}`);
  return kernel.map((k, i) => {
    const padding: WindowPadding = same ? 'same' : autoPad === 'valid' ? 'valid' : { begin: begin[i]!, end: end[i]! };
    return windowedSize(x[i + 2]!, k, strides[i]!, dilations[i]!, padding, rounding);
  });
}

const convolution: ShapeRule = (node, [x, w]) => {
  const grouped = node.op === 'GroupConvolution';
  const channels = grouped ? w![0]! * w![1]! : w![0]!;
  const kernel = w!.slice(grouped ? 3 : 2);
  return [[x![0]!, channels, ...windowed(node, x!, kernel)]];
};

const pool: ShapeRule = (node, [x]) => {
  const kernel = numbers(node, 'kernel');
  if (!kernel) return undefined;
  const out = [x![0]!, x![1]!, ...windowed(node, x!, kernel)];
  return node.outputs.map(() => out);
};

/** AdaptiveAvgPool, AdaptiveMaxPool: batch and channels, then the spatial sizes asked for (both outputs of the max). */
const adaptivePool: ShapeRule = (node, [x]) => {
  const sizes = constInts(node, 1);
  if (sizes.length !== x!.length - 2) throw new Error('output_shape rank');
  const out = [x![0]!, x![1]!, ...sizes];
  return node.outputs.map(() => out);
};

/** ROIAlign and ROIPooling: one pooled_h x pooled_w map of the data's channels per box. */
const roiPool: ShapeRule = (node, [x, rois]) => {
  const [h, w] = [numbers(node, 'pooled_h')?.[0], numbers(node, 'pooled_w')?.[0]];
  if (h === undefined || w === undefined) return undefined;
  return [[rois![0]!, x![1]!, h, w]];
};

/**
 * Proposal-1 and -4: post_nms_topn boxes [batch index, x1, y1, x2, y2] per
 * image, padded when fewer survive, and (Proposal-4) their scores.
 */
const proposal: ShapeRule = (node, [scores]) => {
  const topN = numbers(node, 'post_nms_topn')?.[0];
  if (topN === undefined) return undefined;
  const rows = scores![0]! * topN;
  return node.outputs.map((_, i) => (i === 0 ? [rows, 5] : [rows]));
};

/** BatchNormInference: opset 5 takes the data first; opset 1 as (gamma, beta, data, mean, variance). */
const batchNorm: ShapeRule = (node, inputs) => [node.domain === 'opset1' ? inputs[2]! : inputs[0]!];

const concat: ShapeRule = (node, inputs) => [concatShape(inputs as number[][], Number(text(node, 'axis') ?? 0))];

const reshape: ShapeRule = (node, [x]) => {
  const special = flag(node, 'special_zero');
  const shape = reshaped(product(x!), constInts(node, 1).map((d, i) => (d === 0 && special ? x![i]! : d)));
  return shape ? [shape] : undefined;
};

const transpose: ShapeRule = (node, [x]) => [transposedShape(x!, constInts(node, 1))];

const matmul: ShapeRule = (node, [a, b]) => {
  const shape = matmulShape(a!, b!, flag(node, 'transpose_a'), flag(node, 'transpose_b'));
  return shape ? [shape] : undefined;
};

const squeeze: ShapeRule = (node, [x]) => [squeezedShape(x!, node.input(1) ? constInts(node, 1) : undefined)];

const unsqueeze: ShapeRule = (node, [x]) => [unsqueezedShape(x!, constInts(node, 1))];

const reduce: ShapeRule = (node, [x]) => [reducedShape(x!, constInts(node, 1), flag(node, 'keep_dims'))];

const split: ShapeRule = (node, [x]) => {
  const axis = axisIn(constInts(node, 1)[0]!, x!.length);
  const parts = Number(text(node, 'num_splits'));
  if (!Number.isInteger(parts) || parts < 1 || x![axis]! % parts !== 0 || parts !== node.outputs.length) return undefined;
  return node.outputs.map(() => x!.map((d, i) => (i === axis ? d / parts : d)));
};

const variadicSplit: ShapeRule = (node, [x]) => {
  const axis = axisIn(constInts(node, 1)[0]!, x!.length);
  const lengths = constInts(node, 2);
  const given = lengths.filter((l) => l !== -1).reduce((a, b) => a + b, 0);
  const rest = x![axis]! - given;
  if (lengths.length !== node.outputs.length || lengths.filter((l) => l === -1).length > 1 || rest < 0) return undefined;
  return lengths.map((l) => x!.map((d, i) => (i === axis ? (l === -1 ? rest : l) : d)));
};

const shapeOf: ShapeRule = (_node, [x]) => [[x!.length]];

/** Pad: (data, pads_begin, pads_end[, value]). */
const pad: ShapeRule = (node, [x]) => {
  const begin = constInts(node, 1);
  const end = constInts(node, 2);
  if (begin.length !== x!.length || end.length !== x!.length) return undefined;
  return [x!.map((d, i) => d + begin[i]! + end[i]!)];
};

const tile: ShapeRule = (node, [x]) => {
  const repeats = constInts(node, 1);
  // Repeats longer than the rank add leading axes; shorter ones repeat the last axes.
  const rank = Math.max(x!.length, repeats.length);
  const dims = [...Array<number>(rank - x!.length).fill(1), ...x!];
  const times = [...Array<number>(rank - repeats.length).fill(1), ...repeats];
  return [dims.map((d, i) => d * times[i]!)];
};

/** Gather: (data, indices, axis); batch_dims 0 only. */
const gather: ShapeRule = (node, [data, indices]) => {
  if (Number(text(node, 'batch_dims') ?? 0) !== 0) return undefined;
  return [gatheredShape(data!, indices!, constInts(node, 2)[0]!)];
};

/** Broadcast: numpy mode gives the target shape (the data must fit it), bidirectional mode both shapes broadcast together. */
const broadcast: ShapeRule = (node, [x]) => {
  const mode = (text(node, 'mode') ?? 'numpy').toLowerCase();
  const target = constInts(node, 1);
  if (mode === 'bidirectional') return [broadcastStatic([x!, target])];
  if (mode !== 'numpy' || target.length < x!.length) return undefined;
  const fits = x!.every((d, i) => d === 1 || d === target[target.length - x!.length + i]);
  return fits ? [target] : undefined;
};

/** OpenVINO masks are lists of 0/1, one per entry of `begin`; a missing entry is 0. */
function mask(node: Node, name: string, n: number): boolean[] {
  const m = numbers(node, name) ?? [];
  return Array.from({ length: n }, (_, i) => (m[i] ?? 0) !== 0);
}

/**
 * StridedSlice-1 (data, begin, end[, strides]) with NumPy's rules: a
 * begin_mask or end_mask bit takes the whole side of its axis, a
 * new_axis_mask bit inserts an axis of 1, a shrink_axis_mask bit drops its
 * axis, and the ellipsis stands for the axes no entry names.
 */
const stridedSlice: ShapeRule = (node, [x]) => {
  const begin = constInts(node, 1);
  const end = constInts(node, 2);
  const n = begin.length;
  const strides = node.input(3) ? constInts(node, 3) : begin.map(() => 1);
  if (end.length !== n || strides.length !== n) return undefined;
  const masks = ['begin_mask', 'end_mask', 'new_axis_mask', 'shrink_axis_mask', 'ellipsis_mask'].map((m) => mask(node, m, n));
  const [beginMask, endMask, newAxis, shrink, ellipsis] = masks;
  const consuming = begin.filter((_, i) => !newAxis![i] && !ellipsis![i]).length;
  if (consuming > x!.length || ellipsis!.filter(Boolean).length > 1) return undefined;
  const out: number[] = [];
  let axis = 0;
  for (let i = 0; i < n; i++) {
    if (ellipsis![i]) {
      const covered = x!.length - consuming;
      out.push(...x!.slice(axis, axis + covered));
      axis += covered;
    } else if (newAxis![i]) {
      out.push(1);
    } else if (shrink![i]) {
      axis++;
    } else {
      const d = x![axis++]!;
      const step = strides[i]!;
      const from = beginMask![i] ? (step > 0 ? 0 : d) : begin[i]!;
      const to = endMask![i] ? (step > 0 ? d : -d - 1) : end[i]!;
      out.push(slicedLength(d, from, to, step));
    }
  }
  return [[...out, ...x!.slice(axis)]];
};

/** Slice-8 (data, start, stop, step[, axes]), as ONNX's Slice. */
const slice8: ShapeRule = (node, [x]) => {
  const starts = constInts(node, 1);
  const stops = constInts(node, 2);
  const steps = constInts(node, 3);
  const axes = node.input(4) ? constInts(node, 4) : starts.map((_, i) => i);
  if (stops.length !== starts.length || steps.length !== starts.length || axes.length !== starts.length) return undefined;
  const out = [...x!];
  axes.forEach((a, i) => {
    const at = axisIn(a, x!.length);
    out[at] = slicedLength(x![at]!, starts[i]!, stops[i]!, steps[i]!);
  });
  return [out];
};

/**
 * (Group)ConvolutionBackpropData: the output_shape input where there is one,
 * else stride x (size - 1) + the dilated kernel + output_padding, less the
 * explicit pads (other auto_pad modes pad nothing without output_shape).
 * Weights [C_in, C_out, k...], grouped [G, C_in/G, C_out/G, k...].
 */
const backpropData: ShapeRule = (node, [x, w]) => {
  const grouped = node.op === 'GroupConvolutionBackpropData';
  const channels = grouped ? w![0]! * w![2]! : w![1]!;
  const kernel = w!.slice(grouped ? 3 : 2);
  if (kernel.length !== x!.length - 2) return undefined;
  if (node.input(2)) {
    const wanted = constInts(node, 2);
    return wanted.length === kernel.length ? [[x![0]!, channels, ...wanted]] : undefined;
  }
  const strides = numbers(node, 'strides') ?? kernel.map(() => 1);
  const dilations = numbers(node, 'dilations') ?? kernel.map(() => 1);
  const outputPadding = numbers(node, 'output_padding') ?? kernel.map(() => 0);
  const explicit = ['explicit', 'notset'].includes((text(node, 'auto_pad') ?? 'explicit').toLowerCase());
  const begin = explicit ? (numbers(node, 'pads_begin') ?? kernel.map(() => 0)) : kernel.map(() => 0);
  const end = explicit ? (numbers(node, 'pads_end') ?? kernel.map(() => 0)) : kernel.map(() => 0);
  const sizes = kernel.map((k, i) => strides[i]! * (x![i + 2]! - 1) + (k - 1) * dilations[i]! + 1 + outputPadding[i]! - begin[i]! - end[i]!);
  return [[x![0]!, channels, ...sizes]];
};

/** DepthToSpace and SpaceToDepth (NCHW...): channels traded for block_size along every spatial axis. */
const depthSpace: ShapeRule = (node, [x]) => {
  const block = Number(text(node, 'block_size') ?? 1);
  const spatial = x!.length - 2;
  const factor = block ** spatial;
  if (node.op === 'DepthToSpace') return [[x![0]!, x![1]! / factor, ...x!.slice(2).map((d) => d * block)]];
  return [[x![0]!, x![1]! * factor, ...x!.slice(2).map((d) => d / block)]];
};

/** TopK (data, k; axis an attribute): values and indices, the axis cut to k. */
const topK: ShapeRule = (node, [x]) => {
  const axis = axisIn(Number(text(node, 'axis') ?? -1), x!.length);
  const k = constInts(node, 1)[0]!;
  const out = x!.map((d, i) => (i === axis ? k : d));
  return node.outputs.map(() => out);
};

/** Select (condition, then, else): the three broadcast (numpy, the default). */
const select: ShapeRule = (node, inputs) => {
  const numpy = (text(node, 'auto_broadcast') ?? 'numpy').toLowerCase() === 'numpy';
  return numpy ? [broadcastStatic(inputs as number[][])] : undefined;
};

/**
 * GatherND-8: the indices' outer axes, then the data axes after the batch
 * axes and the indexed ones; GatherND-5 flattens the batch axes into one.
 */
const gatherNd: ShapeRule = (node, [data, indices]) => {
  const batch = Number(text(node, 'batch_dims') ?? 0);
  const out = gatheredNdShape(data!, indices!, batch);
  if (!out) return undefined;
  if (node.domain !== 'opset5' || batch === 0) return [out];
  return [[product(out.slice(0, batch)), ...out.slice(batch)]];
};

/** GridSample-9: the data's batch and channels, the grid's output sizes ([N, H_out, W_out, 2]). */
const gridSample: ShapeRule = (_node, [x, grid]) => [[x![0]!, x![1]!, ...grid!.slice(1, -1)]];

/** Einsum-7: the shape its equation gives. */
const einsum: ShapeRule = (node, inputs) => [einsumShape(text(node, 'equation') ?? '', inputs as number[][])];

/** GatherElements: the shape of the indices. */
const gatherElements: ShapeRule = (_node, [, indices]) => [indices!];

/**
 * Range-4 (start, stop, step): ceil((stop - start) / step) elements, none
 * when that is negative. An integer output_type casts the three first: a
 * fractional one is left out.
 */
const range: ShapeRule = (node) => {
  const [start, stop, step] = [0, 1, 2].map((i) => constInts(node, i)[0]!);
  const integral = /^[iu]\d/.test((text(node, 'output_type') ?? '').trim());
  if (step === 0 || (integral && ![start, stop, step].every((v) => Number.isInteger(v)))) return undefined;
  return [[Math.max(0, Math.ceil((stop! - start!) / step!))]];
};

/**
 * LSTMSequence, GRUSequence, RNNSequence (batch first: X [batch, seq,
 * input]): Y [batch, directions, seq, hidden] and the last states [batch,
 * directions, hidden]. The cells (LSTMCell, GRUCell, RNNCell): [batch, hidden].
 */
const recurrent: ShapeRule = (node, [x]) => {
  const hidden = Number(text(node, 'hidden_size'));
  if (!Number.isInteger(hidden) || hidden < 1) return undefined;
  if (node.op.endsWith('Cell')) return node.outputs.map(() => [x![0]!, hidden]);
  const directions = (text(node, 'direction') ?? 'forward').toLowerCase() === 'bidirectional' ? 2 : 1;
  const [batch, seq] = [x![0]!, x![1]!];
  return node.outputs.map((_, i) => (i === 0 ? [batch, directions, seq, hidden] : [batch, directions, hidden]));
};

/**
 * PriorBox (-1, -8; the min_size form) and PriorBoxClustered: [2, 4 x cells x
 * boxes per cell], the cells read from the output_size input (a Const, or the
 * feature map's ShapeOf sliced). PriorBox's fixed_size / density form is left
 * out.
 */
const priorBox: ShapeRule = (node) => {
  const [h, w] = constInts(node, 0);
  if (h === undefined || w === undefined) return undefined;
  let perCell: number;
  if (node.op === 'PriorBoxClustered') {
    perCell = (numbers(node, 'width') ?? [1]).length;
  } else {
    if (['fixed_size', 'fixed_ratio', 'density'].some((a) => (numbers(node, a) ?? []).length > 0)) return undefined;
    const scaleAll = !/^(false|0)$/i.test((text(node, 'scale_all_sizes') ?? 'true').trim());
    const minSizes = (numbers(node, 'min_size') ?? []).length;
    perCell = priorBoxesPerCell(numbers(node, 'aspect_ratio') ?? [], flag(node, 'flip'), minSizes, (numbers(node, 'max_size') ?? []).length, scaleAll);
  }
  return [[2, 4 * h * w * perCell]];
};

/**
 * DetectionOutput (the three-input form): [1, 1, rows, 7], the rows as
 * OpenVINO's shape inference counts them: images x keep_top_k, else images
 * x top_k x classes, else images x priors x classes.
 */
const detectionOutput: ShapeRule = (node, [locations, confidences, proposals]) => {
  if (node.inputs.length !== 3 || proposals!.length !== 3) return undefined;
  const images = locations![0]!;
  const priors = proposals![2]! / (flag(node, 'normalized') ? 4 : 5);
  const classes = node.domain === 'opset1' ? Number(text(node, 'num_classes')) : confidences![1]! / priors;
  const keepTopK = (numbers(node, 'keep_top_k') ?? [-1])[0]!;
  const topK = Number(text(node, 'top_k') ?? -1);
  const rows = keepTopK > 0 ? images * keepTopK : topK > 0 ? images * topK * classes : images * priors * classes;
  return [[1, 1, rows, 7]];
};

/**
 * RegionYolo: YOLOv3's form (do_softmax false) keeps the input's shape; YOLOv2's
 * (do_softmax, the default) flattens the axes from `axis` to `end_axis`.
 */
const regionYolo: ShapeRule = (node, [x]) => {
  const softmax = !/^(false|0)$/i.test((text(node, 'do_softmax') ?? 'true').trim());
  if (!softmax) return [x!];
  const axis = axisIn(Number(text(node, 'axis') ?? 1), x!.length);
  const endAxis = axisIn(Number(text(node, 'end_axis') ?? 3), x!.length);
  if (endAxis < axis) return undefined;
  return [[...x!.slice(0, axis), product(x!.slice(axis, endAxis + 1)), ...x!.slice(endAxis + 1)]];
};

/** ReorgYolo (stride s): [N, C x s², H / s, W / s]. */
const reorgYolo: ShapeRule = (node, [x]) => {
  const s = (numbers(node, 'stride') ?? [])[0];
  if (s === undefined || s < 1 || x!.length !== 4) return undefined;
  return [[x![0]!, x![1]! * s * s, x![2]! / s, x![3]! / s]];
};

/**
 * Interpolate-1 (data, target sizes; `axes` an attribute, as IR v10 of the
 * Myriad years writes upsampling), -4 (data, sizes, scales[, axes]) and -11
 * (data, sizes or scales[, axes]): the sizes at the axes, or floor(size x
 * scale) after the pads. Interpolate-1 with pads is left out.
 */
const interpolate: ShapeRule = (node, [x]) => {
  if (node.domain === 'opset1') {
    if ([...(numbers(node, 'pads_begin') ?? []), ...(numbers(node, 'pads_end') ?? [])].some((p) => p !== 0)) return undefined;
    const axes = (numbers(node, 'axes') ?? []).map((a) => axisIn(a, x!.length));
    const sizes = constInts(node, 1);
    if (axes.length === 0 || sizes.length !== axes.length) return undefined;
    const out = [...x!];
    axes.forEach((a, i) => (out[a] = sizes[i]!));
    return [out];
  }
  if (node.domain !== 'opset4' && node.domain !== 'opset11') return undefined;
  const rank = x!.length;
  const padsBegin = numbers(node, 'pads_begin') ?? [];
  const padsEnd = numbers(node, 'pads_end') ?? [];
  const padded = x!.map((d, i) => d + (padsBegin[i] ?? 0) + (padsEnd[i] ?? 0));
  const v4 = node.domain === 'opset4';
  const calc = (text(node, 'shape_calculation_mode') ?? '').trim();
  if (calc !== 'sizes' && calc !== 'scales') return undefined;
  const axesInput = v4 ? 3 : 2;
  const axes = node.input(axesInput) ? constInts(node, axesInput).map((a) => axisIn(a, rank)) : x!.map((_, i) => i);
  const values = v4 ? constantFloats(node, calc === 'sizes' ? 1 : 2) : constantFloats(node, 1);
  if (values.length !== axes.length) return undefined;
  const out = [...padded];
  // OpenVINO adds 1e-5 before rounding down: a scale stored a little below its value (2/3) still gives the size it stands for.
  axes.forEach((a, i) => {
    out[a] = calc === 'sizes' ? values[i]! : Math.floor(padded[a]! * values[i]! + 1e-5);
  });
  return [out];
};

/** The numbers of a Const input (scales are floats). */
function constantFloats(node: Node, i: number): number[] {
  const t = node.input(i)?.const;
  if (!t) return constInts(node, i);
  return Array.from(t.toFloat64());
}

const UNARY = [
  'Abs', 'Acos', 'Asin', 'Atan', 'Ceiling', 'Clamp', 'Convert', 'ConvertLike', 'Cos', 'Elu', 'Erf', 'Exp', 'FakeQuantize', 'Floor',
  'Gelu', 'HSigmoid', 'HSwish', 'Log', 'LogicalNot', 'LogSoftmax', 'LRN', 'Mish', 'MVN', 'Negative', 'NormalizeL2', 'PRelu', 'Relu',
  'ReLU', 'Round', 'Selu', 'Sigmoid', 'Sign', 'Sin', 'SoftMax', 'Softmax', 'SoftPlus', 'SoftSign', 'Sqrt', 'Swish', 'Tan', 'Tanh',
  // A state's value has the shape of what initializes it (ReadValue) or is stored (Assign).
  'ReadValue', 'Assign',
  'Acosh', 'Asinh', 'Atanh', 'Cosh', 'Sinh', 'HardSigmoid', 'CumSum', 'Reverse', 'ReverseSequence', 'Roll', 'ShuffleChannels', 'Bucketize',
  // The scatters write into a copy of their data (input 0).
  'ScatterUpdate', 'ScatterElementsUpdate', 'ScatterNDUpdate',
];
const ELEMENTWISE = [
  'Add', 'Divide', 'Equal', 'FloorMod', 'Greater', 'GreaterEqual', 'Less', 'LessEqual', 'LogicalAnd', 'LogicalOr', 'LogicalXor',
  'Maximum', 'Minimum', 'Mod', 'Multiply', 'NotEqual', 'Power', 'SquaredDifference', 'Subtract',
];

const SHAPE_RULES: Readonly<Record<string, ShapeRule>> = {
  ...Object.fromEntries(UNARY.map((op) => [op, sameAsFirst])),
  ...Object.fromEntries(ELEMENTWISE.map((op) => [op, elementwise])),
  Convolution: convolution,
  GroupConvolution: convolution,
  TensorIterator: tensorIterator,
  Loop: loop,
  If: ifLayer,
  DFT: fourier('complex'),
  IDFT: fourier('complex'),
  RDFT: fourier('real-to-complex'),
  IRDFT: fourier('complex-to-real'),
  MaxPool: pool,
  AvgPool: pool,
  AdaptiveAvgPool: adaptivePool,
  AdaptiveMaxPool: adaptivePool,
  ROIAlign: roiPool,
  ROIPooling: roiPool,
  Proposal: proposal,
  BatchNormInference: batchNorm,
  Concat: concat,
  Reshape: reshape,
  Transpose: transpose,
  MatMul: matmul,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  ShapeOf: shapeOf,
  Pad: pad,
  Tile: tile,
  Gather: gather,
  Broadcast: broadcast,
  Interpolate: interpolate,
  Split: split,
  VariadicSplit: variadicSplit,
  StridedSlice: stridedSlice,
  Slice: slice8,
  ConvolutionBackpropData: backpropData,
  GroupConvolutionBackpropData: backpropData,
  DepthToSpace: depthSpace,
  SpaceToDepth: depthSpace,
  TopK: topK,
  Select: select,
  GatherElements: gatherElements,
  GatherND: gatherNd,
  GridSample: gridSample,
  Einsum: einsum,
  Range: range,
  RegionYolo: regionYolo,
  PriorBox: priorBox,
  PriorBoxClustered: priorBox,
  DetectionOutput: detectionOutput,
  ReorgYolo: reorgYolo,
  ...Object.fromEntries(['LSTMSequence', 'GRUSequence', 'RNNSequence', 'LSTMCell', 'GRUCell', 'RNNCell'].map((op) => [op, recurrent])),
  ...Object.fromEntries(['ReduceL1', 'ReduceL2', 'ReduceMax', 'ReduceMean', 'ReduceMin', 'ReduceProd', 'ReduceSum'].map((op) => [op, reduce])),
};
