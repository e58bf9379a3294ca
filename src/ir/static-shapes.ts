import type { Graph, Node, Shape, Value } from './graph';
import { nodesInOrder } from './passes';

/**
 * Helpers of the per-format shape rules (src/formats/onnx/shapes.ts,
 * src/formats/tflite/shapes.ts), which compute static output shapes from
 * static input shapes to carry fixed sizes through a graph.
 */

/** Whether every size of `shape` is known. */
export function isStatic(shape: Shape | undefined): shape is number[] {
  return shape !== undefined && shape.every((d) => typeof d === 'number' && d >= 0);
}

/** Whether `computed` fits a declared shape: the same rank, and the same size wherever it gives one. */
export function agrees(declared: Shape | undefined, computed: readonly number[]): boolean {
  if (declared === undefined) return true;
  return declared.length === computed.length && declared.every((d, i) => typeof d !== 'number' || d < 0 || d === computed[i]);
}

/**
 * The shapes a rule computes, or undefined when it met an input it did not
 * expect (a missing constant, a bad rank: it throws) or computed a size that
 * is no size.
 */
export function computedShapes<T extends readonly (number[] | undefined)[]>(compute: () => T | undefined): T | undefined {
  try {
    const shapes = compute();
    return shapes && shapes.every((s) => s === undefined || s.every((d) => Number.isInteger(d) && d >= 0)) ? shapes : undefined;
  } catch {
    return undefined;
  }
}

/** `axis` counted from the end when negative; throws when outside the rank. */
export function axisIn(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error('axis out of range');
  return a;
}

/**
 * NumPy broadcasting of static shapes; throws when they do not broadcast. A
 * NaN size (unknown, see probedShapes) broadcasts with 1 and with itself to
 * NaN, and with a known size to that size, which it must then be or be 1.
 */
export function broadcastStatic(shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let size = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + i] ?? 1;
      if (d === 1) continue;
      if (Number.isNaN(d)) {
        if (size === 1) size = d;
        continue;
      }
      if (size !== 1 && !Number.isNaN(size) && size !== d) throw new Error('shapes do not broadcast');
      size = d;
    }
    out.push(size);
  }
  return out;
}

export const product = (dims: readonly number[]): number => dims.reduce((p, d) => p * d, 1);

/**
 * The shape a reshape of `count` elements to `target` gives (one -1 is what
 * is left), or undefined when the sizes do not fit. An unknown (NaN) count
 * leaves the -1 unknown.
 */
export function reshaped(count: number, target: readonly number[]): number[] | undefined {
  if (Number.isNaN(count)) return target.filter((d) => d === -1).length > 1 ? undefined : target.map((d) => (d === -1 ? Number.NaN : d));
  const known = product(target.filter((d) => d !== -1));
  const open = target.filter((d) => d === -1).length;
  if (open > 1 || (open === 1 && (known === 0 || count % known !== 0))) return undefined;
  const out = target.map((d) => (d === -1 ? count / known : d));
  return product(out) === count ? out : undefined;
}

/** Output shapes of a node from its inputs' static shapes (undefined for an input that is absent). */
export type ShapeRule = (node: Node, inputs: readonly (number[] | undefined)[]) => number[][] | undefined;

/**
 * Sizes stood in for the unknown ones of a shape whose rank is known, to run
 * a static rule over it. NaN carries through the arithmetic of the rules
 * (Math.min and Math.max included), so a size clamped to a bound (a slice
 * [0:100] of an unknown axis) still comes out unknown; the two primes,
 * larger than real windows, catch code that would lose a NaN (a comparison).
 * A size is known where all three runs give the same number.
 */
const PROBE_SIZES = [Number.NaN, 4099, 4111];

/**
 * Output shapes of a node whose inputs have known ranks and some unknown
 * sizes (null, or a dimension's name): `run` computes them from static
 * shapes and is called once per probe size, every unknown size set to it; an
 * output size is known where all runs agree. An output `run` leaves
 * undefined, or whose runs disagree on its rank, stays undefined; undefined
 * when a run throws or gives another number of outputs.
 */
export function probedShapes(
  inputs: readonly (Shape | undefined)[],
  outputCount: number,
  run: (probed: (number[] | undefined)[]) => readonly (readonly number[] | undefined)[] | undefined,
): (Shape | undefined)[] | undefined {
  const runs: (readonly (readonly number[] | undefined)[])[] = [];
  for (const probe of PROBE_SIZES) {
    const probed = inputs.map((s) => s?.map((d) => (typeof d === 'number' && d >= 0 ? d : probe)));
    let computed: readonly (readonly number[] | undefined)[] | undefined;
    try {
      computed = run(probed);
    } catch {
      return undefined;
    }
    if (!computed || computed.length !== outputCount) return undefined;
    runs.push(computed);
  }
  const valid = (d: number, probe: number): boolean => (Number.isNaN(probe) && Number.isNaN(d)) || (Number.isInteger(d) && d >= 0);
  return Array.from({ length: outputCount }, (_, i) => {
    const shapes = runs.map((r) => r[i]);
    const first = shapes[0];
    if (!first || shapes.some((s, k) => !s || s.length !== first.length || !s.every((d) => valid(d, PROBE_SIZES[k]!)))) return undefined;
    return first.map((d, j) => (!Number.isNaN(d) && shapes.every((s) => s![j] === d) ? d : null));
  });
}

/** `declared` with the sizes `computed` knows where it has none; undefined when the two contradict each other. */
export function merged(declared: Shape | undefined, computed: Shape): Shape | undefined {
  if (declared === undefined) return computed;
  if (declared.length !== computed.length) return undefined;
  const out: Shape = [];
  for (let i = 0; i < declared.length; i++) {
    const d = declared[i]!;
    const c = computed[i]!;
    const known = typeof d === 'number' && d >= 0;
    if (known && typeof c === 'number' && c !== d) return undefined;
    out.push(known ? d : typeof c === 'number' ? c : d);
  }
  return out;
}

const knownSizes = (shape: Shape | undefined): number => (shape ?? []).filter((d) => typeof d === 'number' && d >= 0).length;

/**
 * Fills unknown sizes of a graph whose every tensor declares a shape (TFLite,
 * OpenVINO IR): nodes are visited in topological order (a rewrite earlier in
 * the bundle may have left new nodes at the end), and one whose inputs have
 * known ranks and whose outputs have unknown sizes gets them computed by its
 * rule. Where an input has unknown sizes, only the output sizes that do not
 * depend on them are filled (probedShapes): fixing a batch of 1 in a model
 * whose time axis stays open fixes the batch of every tensor after it. A
 * computed shape that contradicts a size the file gives is left alone. Nodes
 * without a rule stop the sizes on their path; the first such ones among
 * those with static inputs are returned, for the report. `mayFill` limits
 * which values get a shape.
 */
export function carryStaticShapes(
  graph: Graph,
  ruleFor: (node: Node) => ShapeRule | undefined,
  mayFill: (v: Value) => boolean = () => true,
): { filled: number; stuck: Node[] } {
  let filled = 0;
  const stuck: Node[] = [];
  for (const node of nodesInOrder(graph)) {
    if (node.outputs.every((v) => isStatic(v.shape))) continue;
    if (node.inputs.some((v) => v !== null && v.shape === undefined)) continue;
    const allStatic = node.inputs.every((v) => v === null || isStatic(v.shape));
    const rule = ruleFor(node);
    let computed: (Shape | undefined)[] | undefined;
    if (allStatic) {
      computed = rule ? computedShapes(() => rule(node, node.inputs.map((v) => (v ? (v.shape as number[]) : undefined)))) : undefined;
      if (!computed || computed.length !== node.outputs.length) {
        stuck.push(node);
        continue;
      }
    } else {
      const partial = rule ? probedShapes(node.inputs.map((v) => v?.shape), node.outputs.length, (probed) => rule(node, probed)) : undefined;
      if (!partial) continue;
      computed = partial;
    }
    node.outputs.forEach((v, i) => {
      const shape = computed[i];
      if (!shape || isStatic(v.shape) || !mayFill(v)) return;
      const next = merged(v.shape, shape);
      if (!next || (v.shape !== undefined && knownSizes(next) === knownSizes(v.shape))) return;
      v.shape = next;
      filled++;
    });
  }
  return { filled, stuck };
}

/**
 * Declares the static shapes of the values a rewrite added without one (a
 * split convolution's slices, a Reshape's output) in a format whose file gives
 * every tensor its shape (TFLite, OpenVINO IR), where a reader shows an
 * undeclared one as a scalar. Values read from the file keep what they declare.
 */
export function declareAddedShapes(graph: Graph, ruleFor: (node: Node) => ShapeRule | undefined): number {
  return carryStaticShapes(graph, ruleFor, (v) => v.native === undefined && v.shape === undefined).filled;
}

/*
 * Shape arithmetic the three formats' rules share; each format reads its own
 * attributes and inputs and calls these.
 */

/** How a window is padded: SAME (output = ceil(size / stride)), VALID (none), or explicit pads on both sides. */
export type WindowPadding = 'same' | 'valid' | { begin: number; end: number };

/**
 * The output size of a convolution or pooling window along one axis. Rounding
 * up (a pool's ceil mode) is ambiguous where the last window would start in
 * the end padding: onnxruntime and PyTorch drop that window (OpenVINO's
 * `ceil_torch`), ONNX's shape inference before 1.16 and OpenVINO's `ceil`
 * keep it. There `ceil` throws, and the size stays unknown; `ceil_torch`
 * (OpenVINO's MaxPool-14 and AvgPool-14) drops it.
 */
export function windowedSize(size: number, kernel: number, stride: number, dilation: number, padding: WindowPadding, rounding: 'floor' | 'ceil' | 'ceil_torch' = 'floor'): number {
  if (padding === 'same') return Math.ceil(size / stride);
  const effective = (kernel - 1) * dilation + 1;
  const padded = padding === 'valid' ? size : size + padding.begin + padding.end;
  if (rounding === 'floor') return Math.floor((padded - effective) / stride) + 1;
  const out = Math.ceil((padded - effective) / stride) + 1;
  const begin = padding === 'valid' ? 0 : padding.begin;
  if ((out - 1) * stride < size + begin) return out;
  if (rounding === 'ceil_torch') return out - 1;
  throw new Error('the last window starts in the padding: runtimes disagree on its size');
}

/** `x` with `axes` reduced away, or kept as 1s. */
export function reducedShape(x: readonly number[], axes: readonly number[], keep: boolean): number[] {
  const reduced = new Set(axes.map((a) => axisIn(a, x.length)));
  return x.flatMap((d, i) => (reduced.has(i) ? (keep ? [1] : []) : [d]));
}

/** `x` without `axes`; without axes, without every axis of size 1. */
export function squeezedShape(x: readonly number[], axes?: readonly number[]): number[] {
  const drop = new Set(axes ? axes.map((a) => axisIn(a, x.length)) : x.flatMap((d, i) => (d === 1 ? [i] : [])));
  return x.filter((_, i) => !drop.has(i));
}

/** `x` with axes of size 1 inserted at `axes` (counted in the output's rank). */
export function unsqueezedShape(x: readonly number[], axes: readonly number[]): number[] {
  const rank = x.length + axes.length;
  const at = new Set(axes.map((a) => axisIn(a, rank)));
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < rank; i++) out.push(at.has(i) ? 1 : x[next++]!);
  return out;
}

/** The shapes concatenated along `axis`. */
export function concatShape(shapes: readonly (readonly number[])[], axis: number): number[] {
  const first = shapes[0]!;
  const a = axisIn(axis, first.length);
  const out = [...first];
  out[a] = shapes.reduce((sum, s) => sum + s[a]!, 0);
  return out;
}

/** `x` permuted by `perm`; an empty or absent perm reverses the axes. */
export function transposedShape(x: readonly number[], perm?: readonly number[]): number[] {
  const order = perm && perm.length ? perm : x.map((_, i) => x.length - 1 - i);
  return order.map((p) => x[axisIn(p, x.length)]!);
}

/** Gather along `axis`: the indices' shape takes that axis's place. */
export function gatheredShape(data: readonly number[], indices: readonly number[], axis: number): number[] {
  const a = axisIn(axis, data.length);
  return [...data.slice(0, a), ...indices, ...data.slice(a + 1)];
}

/**
 * GatherND (ONNX, TFLite, OpenVINO-8): the indices' outer axes, then the data
 * axes after the `batch` leading ones and the `indices[-1]` indexed ones;
 * undefined when the indices address more axes than the data has.
 */
export function gatheredNdShape(data: readonly number[], indices: readonly number[], batch: number): number[] | undefined {
  const depth = indices.at(-1)!;
  if (!Number.isInteger(batch) || batch < 0 || !Number.isInteger(depth) || batch + depth > data.length) return undefined;
  return [...indices.slice(0, -1), ...data.slice(batch + depth)];
}

/** A batched matrix product: the batch axes broadcast, [m, k] x [k, n] (each operand transposed when asked); undefined when k differs. */
export function matmulShape(a: readonly number[], b: readonly number[], transposeA: boolean, transposeB: boolean): number[] | undefined {
  if (a.length < 2 || b.length < 2) return undefined;
  const [m, k1] = transposeA ? [a.at(-1)!, a.at(-2)!] : [a.at(-2)!, a.at(-1)!];
  const [k2, n] = transposeB ? [b.at(-1)!, b.at(-2)!] : [b.at(-2)!, b.at(-1)!];
  if (k1 !== k2 && !Number.isNaN(k1) && !Number.isNaN(k2)) return undefined;
  return [...broadcastStatic([a.slice(0, -2), b.slice(0, -2)]), m, n];
}

/**
 * Elements a NumPy-style slice (ONNX Slice, OpenVINO StridedSlice and Slice)
 * takes from an axis of size `d`, from `start` to `end` by `step`: negative
 * positions count from the end, and positions past either end are clamped
 * (for a negative step, the start to [0, d - 1]).
 */
export function slicedLength(d: number, start: number, end: number, step: number): number {
  if (step === 0) throw new Error('step 0');
  let from = start < 0 ? start + d : start;
  let to = end < 0 ? end + d : end;
  if (step > 0) {
    from = Math.min(Math.max(from, 0), d);
    to = Math.min(Math.max(to, 0), d);
    return Math.max(0, Math.ceil((to - from) / step));
  }
  from = Math.min(Math.max(from, 0), d - 1);
  to = Math.min(Math.max(to, -1), d - 1);
  return Math.max(0, Math.ceil((from - to) / -step));
}

/*
 * Integer values the formats' shape rules evaluate from static shapes (a
 * Reshape target computed from a Shape): each format reads its own operators
 * and attributes and calls these.
 */

/** The most operators followed back from a shape to evaluate a value (a Reshape target is a few away). */
const MAX_SHAPE_CHAIN = 16;

/** How a format evaluates one operator from the values of its inputs (`input(i)`, undefined where unknown). */
export type ShapeValueStep = (node: Node, input: (i: number) => number[] | undefined) => number[] | undefined;

/**
 * The values of `v`, flattened, where they follow from constants and static
 * shapes: a constant's, else what `step` makes of its producer's inputs, at
 * most MAX_SHAPE_CHAIN operators back.
 */
export function valuesFromShapes(v: Value | null | undefined, step: ShapeValueStep, depth = 0): number[] | undefined {
  if (!v) return undefined;
  if (v.const) return Array.from(v.const.toFloat64());
  const producer = v.producer;
  if (!producer || depth > MAX_SHAPE_CHAIN) return undefined;
  return step(producer, (i) => valuesFromShapes(producer.input(i), step, depth + 1));
}

/** The sizes of a static shape, as a Shape/ShapeOf computes them; undefined while any is open. */
export function staticShapeValues(v: Value | null | undefined): number[] | undefined {
  const shape = v?.shape;
  return shape && isStatic(shape) ? [...shape] : undefined;
}

/** Lists joined (Concat, PACK on axis 0); undefined where one is unknown. */
export function concatenatedValues(parts: readonly (number[] | undefined)[]): number[] | undefined {
  return parts.every((x) => x !== undefined) ? (parts as number[][]).flat() : undefined;
}

/** Gather on axis 0 of a list: negative indices count from the end; undefined where one is out of range. */
export function pickedValues(data: readonly number[], indices: readonly number[]): number[] | undefined {
  const picked = indices.map((i) => data[i < 0 ? i + data.length : i]);
  return picked.every((x) => x !== undefined) ? (picked as number[]) : undefined;
}

/** A list sliced NumPy's way (see slicedLength). */
export function slicedValues(data: readonly number[], start: number, end: number, step: number): number[] {
  const d = data.length;
  const count = slicedLength(d, start, end, step);
  const from = start < 0 ? start + d : start;
  const first = Math.min(Math.max(from, 0), step > 0 ? d : d - 1);
  return Array.from({ length: count }, (_, k) => data[first + k * step]!);
}

/**
 * The elements (row-major) of a tensor of `shape` sliced along `axes`, each
 * NumPy's way (see slicedLength): ONNX Slice of a shape value that is not a
 * list (PyTorch's F.pad writes its pads as a [k, 2] table read backwards).
 */
export function slicedTable(
  data: readonly number[],
  shape: readonly number[],
  slices: readonly { axis: number; start: number; end: number; step: number }[],
): { value: number[]; shape: number[] } {
  const picks = shape.map((d) => Array.from({ length: d }, (_, i) => i));
  for (const { axis, start, end, step } of slices) picks[axis] = slicedValues(picks[axis]!, start, end, step);
  const out = picks.map((p) => p.length);
  return { value: gatheredTable(data, shape, out, (idx) => idx.map((i, a) => picks[a]![i]!)), shape: out };
}

/** The elements (row-major) of a tensor of `shape` with its axes permuted (ONNX Transpose; default: reversed). */
export function transposedTable(data: readonly number[], shape: readonly number[], perm?: readonly number[]): { value: number[]; shape: number[] } {
  const order = perm && perm.length ? perm.map((a) => axisIn(a, shape.length)) : shape.map((_, i) => shape.length - 1 - i);
  const out = transposedShape(shape, order);
  return {
    value: gatheredTable(data, shape, out, (idx) => {
      const source = new Array<number>(shape.length);
      order.forEach((from, to) => (source[from] = idx[to]!));
      return source;
    }),
    shape: out,
  };
}

/** Each element of a tensor of shape `out`, read from `data` (of `shape`) at the index `from` gives. */
function gatheredTable(data: readonly number[], shape: readonly number[], out: readonly number[], from: (idx: readonly number[]) => number[]): number[] {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const count = out.reduce((a, b) => a * b, 1);
  const idx = out.map(() => 0);
  const values: number[] = [];
  for (let n = 0; n < count; n++) {
    values.push(data[from(idx).reduce((flat, i, a) => flat + i * strides[a]!, 0)]!);
    for (let a = out.length - 1; a >= 0 && ++idx[a]! >= out[a]!; a--) idx[a] = 0;
  }
  return values;
}

/**
 * A list sliced as a strided slice with masks slices it (TFLite STRIDED_SLICE,
 * OpenVINO StridedSlice): a masked begin or end is the list's own end in the
 * step's direction.
 */
export function maskedSlicedValues(data: readonly number[], begin: number, end: number, step: number, beginMasked: boolean, endMasked: boolean): number[] {
  const from = beginMasked ? (step > 0 ? 0 : data.length) : begin;
  const to = endMasked ? (step > 0 ? data.length : -data.length - 1) : end;
  return slicedValues(data, from, to, step);
}

/**
 * `apply` over the elements of lists of the same length, a one-element list
 * standing for each (the broadcasting of shape values); undefined when the
 * lengths do not fit.
 */
export function elementwiseValues(operands: readonly (readonly number[])[], apply: (xs: number[]) => number): number[] | undefined {
  const n = Math.max(...operands.map((o) => o.length));
  if (operands.some((o) => o.length !== n && o.length !== 1)) return undefined;
  return Array.from({ length: n }, (_, i) => apply(operands.map((o) => o[o.length === 1 ? 0 : i]!)));
}

/** What ReduceMax, ReduceMin, ReduceSum and ReduceProd (ONNX's and OpenVINO's names) make of a whole list; undefined for another op. */
export function reducedValue(op: string, values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  if (op === 'ReduceMax') return Math.max(...values);
  if (op === 'ReduceMin') return Math.min(...values);
  if (op === 'ReduceSum') return values.reduce((a, b) => a + b, 0);
  if (op === 'ReduceProd') return values.reduce((a, b) => a * b, 1);
  return undefined;
}

/** Round half to even, as NumPy and ONNX Round do. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Integer arithmetic of two lists, one of them a single value or both the
 * same length; undefined where a value is no integer or `apply` gives none
 * (a division by 0).
 */
export function integerArithmetic(a: readonly number[], b: readonly number[], apply: (x: number, y: number) => number | undefined): number[] | undefined {
  if ((a.length !== b.length && a.length !== 1 && b.length !== 1) || ![...a, ...b].every(Number.isInteger)) return undefined;
  const out = Array.from({ length: Math.max(a.length, b.length) }, (_, k) => apply(a[a.length === 1 ? 0 : k]!, b[b.length === 1 ? 0 : k]!));
  return out.every((x) => x !== undefined) ? (out as number[]) : undefined;
}

/**
 * The output shape of an Einsum equation (ONNX's and OpenVINO's language):
 * each letter sized by the operands that name it, the ellipsis ('...') the
 * broadcast of the axes it stands for. Without '->' the output is the
 * ellipsis, then the letters named once, in alphabetical order. Throws where
 * the operands do not fit the equation.
 */
export function einsumShape(text: string, inputs: readonly (readonly number[])[]): number[] {
  const equation = text.replace(/\s+/g, '');
  const [lhs, given] = equation.split('->') as [string, string | undefined];
  const terms = lhs.split(',');
  if (terms.length !== inputs.length) throw new Error('operand count');
  const sizes = new Map<string, number>();
  const counts = new Map<string, number>();
  const ellipses: number[][] = [];
  terms.forEach((term, k) => {
    const shape = inputs[k]!;
    const [before, after] = term.includes('...') ? (term.split('...') as [string, string]) : [term, undefined];
    const named = before.length + (after?.length ?? 0);
    if (after === undefined ? named !== shape.length : named > shape.length) throw new Error('operand rank');
    const letters = after === undefined ? [...before] : [...before, ...Array<string>(shape.length - named).fill('.'), ...after];
    if (after !== undefined) ellipses.push(shape.slice(before.length, shape.length - after.length));
    letters.forEach((letter, i) => {
      if (letter === '.') return;
      const d = shape[i]!;
      const known = sizes.get(letter);
      // A size of 1 broadcasts against the letter's other sizes.
      if (known === undefined || known === 1) sizes.set(letter, d);
      else if (d !== 1 && d !== known) throw new Error(`letter ${letter}: ${known} and ${d}`);
      counts.set(letter, (counts.get(letter) ?? 0) + 1);
    });
  });
  const ellipsis = ellipses.length ? broadcastStatic(ellipses) : [];
  const output = given ?? `...${[...counts].filter(([, n]) => n === 1).map(([l]) => l).sort().join('')}`;
  const [outBefore, outAfter] = output.includes('...') ? (output.split('...') as [string, string]) : [output, undefined];
  const sizeOf = (letter: string): number => {
    const d = sizes.get(letter);
    if (d === undefined) throw new Error(`letter ${letter} names no operand axis`);
    return d;
  };
  return [...[...outBefore].map(sizeOf), ...(outAfter === undefined ? [] : [...ellipsis, ...[...outAfter].map(sizeOf)])];
}
