import type { Graph, Node, Value } from '../../ir/graph';
import { agrees, axisIn as axisOf, broadcastStatic as broadcast, computedShapes as safely, isStatic, product } from '../../ir/static-shapes';

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
  const known = new Map<Value, number[]>();
  const shapeOf = (v: Value): number[] | undefined => known.get(v) ?? (isStatic(v.shape) ? v.shape : undefined);
  // Nodes in file order, again while that helps: a file need not be sorted.
  for (let progress = true, round = 0; progress && round < 4; round++) {
    progress = false;
    for (const node of graph.nodes) {
      if (node.outputs.every((v) => shapeOf(v) !== undefined)) continue;
      const rule = node.domain === '' || node.domain === 'ai.onnx' ? SHAPE_RULES[node.op] : undefined;
      if (!rule) continue;
      const inputs = node.inputs.map((v) => (v ? shapeOf(v) : undefined));
      if (node.inputs.some((v, i) => v !== null && inputs[i] === undefined)) continue;
      const computed = safely(() => rule(node, inputs, opset));
      if (!computed) continue;
      computed.forEach((shape, i) => {
        const v = node.outputs[i];
        if (v && shape && agrees(v.shape, shape)) known.set(v, shape);
      });
      progress = true;
    }
  }
  let filled = 0;
  for (const [v, shape] of known) {
    if (v.shape === undefined || isStatic(v.shape)) continue;
    v.shape = shape;
    filled++;
  }
  return filled;
}

type ShapeRule = (node: Node, inputs: readonly (number[] | undefined)[], opset: number) => (number[] | undefined)[] | undefined;

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

function constInts(node: Node, i: number): number[] {
  const t = node.input(i)?.const;
  if (!t) throw new Error('not a constant');
  return Array.from(t.toFloat64());
}

/** Output sizes of Conv and the pools along the spatial axes (ceil_mode pools are left out). */
function windowed(node: Node, x: readonly number[], kernel: readonly number[]): number[] {
  const spatial = x.length - 2;
  if (kernel.length !== spatial) throw new Error('kernel rank');
  const strides = ints(node, 'strides') ?? kernel.map(() => 1);
  const dilations = ints(node, 'dilations') ?? kernel.map(() => 1);
  const pads = ints(node, 'pads') ?? kernel.flatMap(() => [0, 0]);
  const autoPad = str(node, 'auto_pad', 'NOTSET');
  return kernel.map((k, i) => {
    const size = x[i + 2]!;
    const s = strides[i]!;
    const effective = (k - 1) * dilations[i]! + 1;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(size / s);
    if (autoPad === 'VALID') return Math.floor((size - effective) / s) + 1;
    if (autoPad !== 'NOTSET') throw new Error(`auto_pad ${autoPad}`);
    return Math.floor((size + pads[i]! + pads[i + spatial]! - effective) / s) + 1;
  });
}

const sameAsFirst: ShapeRule = (node, [x]) => (node.outputs.length === 1 ? [x] : undefined);
const broadcastAll: ShapeRule = (_node, inputs, opset) => (opset < 7 ? undefined : [broadcast(inputs as number[][])]);

const conv: ShapeRule = (node, [x, w]) => {
  const kernel = ints(node, 'kernel_shape') ?? w!.slice(2);
  return [[x![0]!, w![0]!, ...windowed(node, x!, kernel)]];
};

const pool: ShapeRule = (node, [x]) => {
  if (int(node, 'ceil_mode', 0) !== 0) return undefined;
  const kernel = ints(node, 'kernel_shape');
  if (!kernel) return undefined;
  const out = [x![0]!, x![1]!, ...windowed(node, x!, kernel)];
  return node.outputs.map(() => out);
};

const globalPool: ShapeRule = (_node, [x]) => [[x![0]!, x![1]!, ...x!.slice(2).map(() => 1)]];

const reshape: ShapeRule = (node, [x], opset) => {
  if (opset < 5) return undefined;
  const wanted = constInts(node, 1);
  const allowZero = int(node, 'allowzero', 0) !== 0;
  const shape = wanted.map((d, i) => (d === 0 && !allowZero ? x![i]! : d));
  const known = product(shape.filter((d) => d !== -1));
  const open = shape.filter((d) => d === -1).length;
  const count = product(x!);
  if (open > 1 || (open === 1 && (known === 0 || count % known !== 0))) return undefined;
  const out = shape.map((d) => (d === -1 ? count / known : d));
  return product(out) === count ? [out] : undefined;
};

const flatten: ShapeRule = (node, [x]) => {
  const axis = int(node, 'axis', 1);
  const at = axis < 0 ? axis + x!.length : axis;
  return [[product(x!.slice(0, at)), product(x!.slice(at))]];
};

const transpose: ShapeRule = (node, [x]) => {
  const perm = ints(node, 'perm') ?? x!.map((_, i) => x!.length - 1 - i);
  return [perm.map((p) => x![axisOf(p, x!.length)]!)];
};

const concat: ShapeRule = (node, inputs) => {
  const first = inputs[0]!;
  const axis = axisOf(int(node, 'axis', 0), first.length);
  const out = [...first];
  out[axis] = inputs.reduce((sum, s) => sum + s![axis]!, 0);
  return [out];
};

const gemm: ShapeRule = (node, [a, b]) => {
  const m = int(node, 'transA', 0) ? a![1]! : a![0]!;
  const n = int(node, 'transB', 0) ? b![0]! : b![1]!;
  return [[m, n]];
};

const matmul: ShapeRule = (_node, [a, b]) => {
  if (a!.length < 2 || b!.length < 2 || a!.at(-1) !== b!.at(-2)) return undefined;
  return [[...broadcast([a!.slice(0, -2), b!.slice(0, -2)]), a!.at(-2)!, b!.at(-1)!]];
};

const axesOf = (node: Node, opset: number, since: number): number[] | undefined =>
  opset >= since ? (node.input(1) ? constInts(node, 1) : undefined) : ints(node, 'axes');

const squeeze: ShapeRule = (node, [x], opset) => {
  const axes = axesOf(node, opset, 13);
  const drop = new Set(axes ? axes.map((a) => axisOf(a, x!.length)) : x!.flatMap((d, i) => (d === 1 ? [i] : [])));
  return [x!.filter((_, i) => !drop.has(i))];
};

const unsqueeze: ShapeRule = (node, [x], opset) => {
  const axes = axesOf(node, opset, 13);
  if (!axes) return undefined;
  const rank = x!.length + axes.length;
  const at = new Set(axes.map((a) => axisOf(a, rank)));
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < rank; i++) out.push(at.has(i) ? 1 : x![next++]!);
  return [out];
};

const UNARY = [
  'Abs', 'Acos', 'Asin', 'Atan', 'BatchNormalization', 'Cast', 'Ceil', 'Celu', 'Clip', 'Cos', 'DequantizeLinear', 'Elu', 'Erf', 'Exp',
  'Floor', 'Gelu', 'HardSigmoid', 'HardSwish', 'Identity', 'InstanceNormalization', 'IsNaN', 'LeakyRelu', 'Log', 'LogSoftmax', 'LRN',
  'Mish', 'Neg', 'Not', 'PRelu', 'QuantizeLinear', 'Reciprocal', 'Relu', 'Round', 'Selu', 'Sigmoid', 'Sign', 'Sin', 'Softmax',
  'Softplus', 'Softsign', 'Sqrt', 'Tan', 'Tanh', 'ThresholdedRelu',
];
const BROADCASTING = ['Add', 'And', 'Div', 'Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'Max', 'Mean', 'Min', 'Mod', 'Mul', 'Or', 'Pow', 'Sub', 'Sum', 'Where', 'Xor'];

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
};
