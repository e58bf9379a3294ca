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

/** NumPy broadcasting of static shapes; throws when they do not broadcast. */
export function broadcastStatic(shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let size = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + i] ?? 1;
      if (d === 1) continue;
      if (size !== 1 && size !== d) throw new Error('shapes do not broadcast');
      size = d;
    }
    out.push(size);
  }
  return out;
}

export const product = (dims: readonly number[]): number => dims.reduce((p, d) => p * d, 1);

/** The shape a reshape of `count` elements to `target` gives (one -1 is what is left), or undefined when the sizes do not fit. */
export function reshaped(count: number, target: readonly number[]): number[] | undefined {
  const known = product(target.filter((d) => d !== -1));
  const open = target.filter((d) => d === -1).length;
  if (open > 1 || (open === 1 && (known === 0 || count % known !== 0))) return undefined;
  const out = target.map((d) => (d === -1 ? count / known : d));
  return product(out) === count ? out : undefined;
}

/** Output shapes of a node from its inputs' static shapes (undefined for an input that is absent). */
export type ShapeRule = (node: Node, inputs: readonly (number[] | undefined)[]) => number[][] | undefined;

/**
 * Fills unknown sizes of a graph whose every tensor declares a shape (TFLite,
 * OpenVINO IR): nodes are visited in topological order (a rewrite earlier in
 * the bundle may have left new nodes at the end), and one whose inputs are all
 * known and whose outputs are not gets its outputs computed by its rule. A
 * computed shape that contradicts a size the file gives is left alone. Nodes
 * without a rule stop the sizes on their path; the first such ones are
 * returned, for the report. `mayFill` limits which values get a shape.
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
    const inputs = node.inputs.map((v) => (v && isStatic(v.shape) ? v.shape : undefined));
    if (node.inputs.some((v, i) => v !== null && inputs[i] === undefined)) continue;
    const rule = ruleFor(node);
    const computed = rule ? computedShapes(() => rule(node, inputs)) : undefined;
    if (!computed || computed.length !== node.outputs.length) {
      stuck.push(node);
      continue;
    }
    node.outputs.forEach((v, i) => {
      const shape = computed[i]!;
      if (isStatic(v.shape) || !agrees(v.shape, shape) || !mayFill(v)) return;
      v.shape = shape;
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
 * keep it. There it throws, and the size stays unknown.
 */
export function windowedSize(size: number, kernel: number, stride: number, dilation: number, padding: WindowPadding, rounding: 'floor' | 'ceil' = 'floor'): number {
  if (padding === 'same') return Math.ceil(size / stride);
  const effective = (kernel - 1) * dilation + 1;
  const padded = padding === 'valid' ? size : size + padding.begin + padding.end;
  if (rounding === 'floor') return Math.floor((padded - effective) / stride) + 1;
  const out = Math.ceil((padded - effective) / stride) + 1;
  const begin = padding === 'valid' ? 0 : padding.begin;
  if ((out - 1) * stride >= size + begin) throw new Error('the last window starts in the padding: runtimes disagree on its size');
  return out;
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

/** A batched matrix product: the batch axes broadcast, [m, k] x [k, n] (each operand transposed when asked); undefined when k differs. */
export function matmulShape(a: readonly number[], b: readonly number[], transposeA: boolean, transposeB: boolean): number[] | undefined {
  if (a.length < 2 || b.length < 2) return undefined;
  const [m, k1] = transposeA ? [a.at(-1)!, a.at(-2)!] : [a.at(-2)!, a.at(-1)!];
  const [k2, n] = transposeB ? [b.at(-1)!, b.at(-2)!] : [b.at(-2)!, b.at(-1)!];
  if (k1 !== k2) return undefined;
  return [...broadcastStatic([a.slice(0, -2), b.slice(0, -2)]), m, n];
}
