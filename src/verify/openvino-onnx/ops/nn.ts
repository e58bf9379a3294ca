/**
 * Neural-network OpenVINO ops: convolutions, pooling, MatMul, normalizations,
 * softmax, reductions.
 */
import { attr } from '../../../ir/attr';
import type { DType } from '../../../ir/dtype';
import type { Node, Value } from '../../../ir/graph';
import { registerTranslators, type Translation } from '../translation';
import { autoPadMode, normalizeAxis, onnxTypeOf, samePads } from './common';

/**
 * ONNX pads and auto_pad for an OpenVINO convolution: `explicit` (the
 * default) uses pads_begin/pads_end; `valid` pads nothing; `same_upper`/
 * `same_lower` are computed here when the spatial dimensions are static, else
 * left to ONNX's SAME_UPPER/SAME_LOWER (the same rule).
 */
function convPadding(node: Node, t: Translation, spatial: number, kernel: readonly number[], strides: readonly number[], dilations: readonly number[]): { pads?: number[]; auto_pad?: string } {
  const mode = autoPadMode(node, t);
  if (mode === 'valid') return { pads: new Array<number>(2 * spatial).fill(0) };
  if (mode === 'same_upper' || mode === 'same_lower') {
    const dims = t.inputShape(node, 0)?.slice(2);
    if (!dims || dims.length !== spatial || dims.some((d) => typeof d !== 'number') || kernel.length !== spatial) return { auto_pad: mode.toUpperCase() };
    const begin: number[] = [];
    const end: number[] = [];
    dims.forEach((d, i) => {
      const [b, e] = samePads(mode, d as number, strides[i]!, (kernel[i]! - 1) * dilations[i]! + 1);
      begin.push(b);
      end.push(e);
    });
    return { pads: [...begin, ...end] };
  }
  const { begin, end } = explicitPads(node, t, spatial);
  return { pads: [...begin, ...end] };
}

/** pads_begin and pads_end of an `explicit` layer (zeros when absent), `spatial` values each. */
function explicitPads(node: Node, t: Translation, spatial: number): { begin: number[]; end: number[] } {
  const begin = t.ints(node, 'pads_begin') ?? new Array<number>(spatial).fill(0);
  const end = t.ints(node, 'pads_end') ?? new Array<number>(spatial).fill(0);
  if (begin.length !== spatial || end.length !== spatial) t.fail(node, `pads_begin/pads_end need ${spatial} values each`);
  return { begin, end };
}

function spatialAttrs(node: Node, t: Translation, spatial: number): { strides: number[]; dilations: number[] } {
  const strides = t.ints(node, 'strides') ?? new Array<number>(spatial).fill(1);
  const dilations = t.ints(node, 'dilations') ?? new Array<number>(spatial).fill(1);
  if (strides.length !== spatial || dilations.length !== spatial) t.fail(node, `strides/dilations need ${spatial} values each`);
  return { strides, dilations };
}

/**
 * Explicit ONNX pads for an OpenVINO pooling layer (static input shape), in
 * floor mode: the output size OpenVINO computes (`rounding_type` floor or
 * ceil, see the MaxPool-8 spec) is reached by padding the end further, which
 * only clips windows at the padded border (`clipped` says whether any is).
 * Fails when a window would cover padding only, and when the declared output
 * shape differs from the computed one.
 */
function poolPads(node: Node, t: Translation, kernel: readonly number[], strides: readonly number[], dilations: readonly number[]): { pads: number[]; clipped: boolean } {
  const shape = t.spatialShape(node, 0);
  const spatial = shape.length - 2;
  if (kernel.length !== spatial || strides.length !== spatial || dilations.length !== spatial) t.fail(node, `kernel/strides/dilations need ${spatial} values each`);
  const rounding = (t.str(node, 'rounding_type') ?? 'floor').trim().toLowerCase();
  if (rounding !== 'floor' && rounding !== 'ceil' && rounding !== 'ceil_torch') t.fail(node, `rounding_type="${rounding}" is not translated (floor, ceil and ceil_torch are)`);
  const mode = autoPadMode(node, t);
  let begin: number[];
  let end: number[];
  if (mode === 'explicit') {
    ({ begin, end } = explicitPads(node, t, spatial));
  } else {
    begin = new Array<number>(spatial).fill(0);
    end = new Array<number>(spatial).fill(0);
  }
  const declared = t.outputShape(node, 0);
  let clipped = false;
  for (let i = 0; i < spatial; i++) {
    const size = shape[2 + i]!;
    const s = strides[i]!;
    const d = dilations[i]!;
    const k = kernel[i]!;
    if (s < 1 || d < 1 || k < 1) t.fail(node, 'kernel, strides and dilations must be positive');
    const effective = (k - 1) * d + 1;
    let out: number;
    if (mode === 'same_upper' || mode === 'same_lower') {
      [begin[i], end[i]] = samePads(mode, size, s, effective);
      out = Math.ceil(size / s);
    } else {
      const span = size + begin[i]! + end[i]! - effective;
      if (span < 0) t.fail(node, `the kernel is larger than the padded input on spatial axis ${i}`);
      out = (rounding === 'floor' ? Math.floor(span / s) : Math.ceil(span / s)) + 1;
      // ceil_torch (MaxPool-14, AvgPool-14) drops a last window that starts in the end padding, as PyTorch does.
      if (rounding === 'ceil_torch' && (out - 1) * s >= size + begin[i]!) out--;
    }
    const extra = (out - 1) * s + effective - (size + begin[i]! + end[i]!);
    if (extra > 0) {
      end[i] = end[i]! + extra;
      clipped = true;
    }
    for (let o = 0; o < out; o++) {
      let covers = false;
      for (let j = 0; j < k && !covers; j++) {
        const at = o * s + j * d - begin[i]!;
        covers = at >= 0 && at < size;
      }
      if (!covers) t.fail(node, `pooling window ${o} of spatial axis ${i} covers padding only`);
    }
    const want = declared?.[2 + i];
    if (typeof want === 'number' && want !== out) t.fail(node, `the declared output dimension ${2 + i} is ${want}, the spec gives ${out}`);
  }
  return { pads: [...begin, ...end], clipped };
}

/**
 * Adaptive pooling (AdaptiveAvgPool-8, AdaptiveMaxPool-8) of a static
 * spatial shape: output cell i of an axis of size L pools the bin
 * [floor(i * L / n), ceil((i + 1) * L / n)) of the n asked for. A mean or a
 * maximum over a box is the same taken one axis after another, so each axis
 * becomes n slices reduced along it and concatenated back.
 */
function adaptivePool(node: Node, t: Translation, reduce: 'ReduceMean' | 'ReduceMax'): Value {
  const shape = t.spatialShape(node, 0);
  const spatial = shape.length - 2;
  if (spatial < 1 || spatial > 3) t.fail(node, `input 0 has rank ${shape.length}, the spec allows 3 to 5`);
  const sizes = t.constInts(node, 1);
  if (sizes.length !== spatial) t.fail(node, `output_shape has ${sizes.length} values for ${spatial} spatial axes`);
  let x = t.input(node, 0);
  sizes.forEach((n, a) => {
    const axis = 2 + a;
    const length = shape[axis]!;
    if (n < 1) t.fail(node, `output_shape[${a}] is ${n}, not positive`);
    if (n === length) return;
    const cells: Value[] = [];
    for (let i = 0; i < n; i++) {
      const start = Math.floor((i * length) / n);
      const end = Math.ceil(((i + 1) * length) / n);
      const bin = start === 0 && end === length ? x : t.add1('Slice', [x, t.int64s([start]), t.int64s([end]), t.int64s([axis])]);
      cells.push(t.add1(reduce, [bin], { axes: [axis], keepdims: 1 }));
    }
    x = cells.length === 1 ? cells[0]! : t.add1('Concat', cells, { axis });
  });
  return x;
}

/** Swaps the last two axes of a rank-`rank` value. */
function swapLastTwo(t: Translation, v: Value, rank: number): Value {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return t.add1('Transpose', [v], { perm });
}

/** Axes input `i` (a Const), normalized for a rank-`rank` input. */
function constAxes(node: Node, t: Translation, i: number, rank: number): number[] {
  const axes = t.constInts(node, i).map((a) => normalizeAxis(node, t, a, rank));
  if (new Set(axes).size !== axes.length) t.fail(node, 'the axes repeat');
  return axes;
}

/** OpenVINO Reduce* (axes input, keep_dims): an empty axes list is the identity. */
function reduce(onnxOp: string): (node: Node, t: Translation) => Value[] {
  return (node, t) => {
    const rank = t.requireRank(node, 0);
    const axes = constAxes(node, t, 1, rank);
    const keepdims = (t.bool(node, 'keep_dims') ?? false) ? 1 : 0;
    if (axes.length === 0) return [t.add1('Identity', [t.input(node, 0)])];
    if (onnxOp === 'ReduceSum') return [t.add1('ReduceSum', [t.input(node, 0), t.int64s(axes)], { keepdims })];
    return [t.add1(onnxOp, [t.input(node, 0)], { axes, keepdims })];
  };
}

/**
 * ScaledDotProductAttention-13 by its specification's pseudo-code:
 * Softmax(Q Kᵀ * scale + bias) V, the scale 1 / sqrt(E) unless given, the
 * bias -inf above the diagonal when causal (attention_mask then ignored),
 * else -inf where a boolean mask is false or a float mask added as it is.
 */
function scaledDotProductAttention(node: Node, t: Translation): Value[] {
  const d = t.inputDType(node, 0) ?? t.fail(node, 'the element type of the query is not declared');
  const rank = t.requireRank(node, 0);
  if (rank < 2 || t.requireRank(node, 1) !== rank) t.fail(node, 'query and key must have the same rank, at least 2');
  const [q, k, v] = [t.input(node, 0), t.input(node, 1), t.input(node, 2)];
  const count = t.inputCount(node);
  const lastDims = (x: Value, from: number, to: number): Value => t.add1('Shape', [x], { start: from, end: to });
  const scale = count > 4 && node.input(4) ? t.input(node, 4) : t.add1('Reciprocal', [t.add1('Sqrt', [t.add1('Cast', [lastDims(q, rank - 1, rank)], { to: onnxTypeOf(node, t, d) })])]);
  const perm = [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
  let scores = t.add1('Mul', [t.add1('MatMul', [q, t.add1('Transpose', [k], { perm })]), scale]);
  const minusInf = t.scalar(d, -Infinity);
  if (t.bool(node, 'causal') ?? t.fail(node, 'no causal attribute')) {
    const sizes = t.add1('Concat', [lastDims(q, rank - 2, rank - 1), lastDims(k, rank - 2, rank - 1)], { axis: 0 });
    scores = t.add1('Add', [scores, t.add1('Trilu', [t.add1('Expand', [minusInf, sizes]), t.scalar('int64', 1)], { upper: 1 })]);
  } else if (count > 3 && node.input(3)) {
    const mask = t.input(node, 3);
    const bias = t.inputDType(node, 3) === 'bool' ? t.add1('Where', [mask, t.scalar(d, 0), minusInf]) : mask;
    scores = t.add1('Add', [scores, bias]);
  }
  return [t.add1('MatMul', [t.add1('Softmax', [scores], { axis: -1 }), v])];
}

/** ReduceLogicalAnd / ReduceLogicalOr-1: the int32 minimum / maximum of the booleans over the axes, back to boolean. */
function logicalReduce(onnxOp: 'ReduceMin' | 'ReduceMax'): (node: Node, t: Translation) => Value[] {
  return (node, t) => {
    const rank = t.requireRank(node, 0);
    const axes = constAxes(node, t, 1, rank);
    const keepdims = (t.bool(node, 'keep_dims') ?? false) ? 1 : 0;
    if (axes.length === 0) return [t.add1('Identity', [t.input(node, 0)])];
    const ints = t.add1('Cast', [t.input(node, 0)], { to: onnxTypeOf(node, t, 'int32') });
    return [t.add1('Cast', [t.add1(onnxOp, [ints], { axes, keepdims })], { to: onnxTypeOf(node, t, 'bool') })];
  };
}

/** (x - mean) over `axes`, divided by the standard deviation when `normalizeVariance` (eps inside or outside the square root). */
function mvn(t: Translation, x: Value, axes: number[], normalizeVariance: boolean, eps: number, insideSqrt: boolean, dtype: DType | undefined): Value {
  const centered = t.add1('Sub', [x, t.add1('ReduceMean', [x], { axes, keepdims: 1 })]);
  if (!normalizeVariance) return centered;
  const variance = t.add1('ReduceMean', [t.add1('Mul', [centered, centered])], { axes, keepdims: 1 });
  const e = t.scalar(dtype ?? 'float32', eps);
  const denominator = insideSqrt ? t.add1('Sqrt', [t.add1('Add', [variance, e])]) : t.add1('Add', [t.add1('Sqrt', [variance]), e]);
  return t.add1('Div', [centered, denominator]);
}

/**
 * ONNX ConvTranspose attributes for (Group)ConvolutionBackpropData-1, with
 * explicit pads: without an output_shape input, pads_begin/pads_end
 * (`explicit`) or none (any auto_pad); with a Const output_shape, the spec's
 * total padding, its larger half at the beginning for `same_upper`, at the
 * end otherwise. Fails when the declared output shape differs.
 */
function backpropAttrs(node: Node, t: Translation, kernel: readonly number[]): { strides: number[]; dilations: number[]; pads: number[]; output_padding: number[] } {
  const spatial = kernel.length;
  const input = t.spatialShape(node, 0);
  if (input.length !== spatial + 2) t.fail(node, `the input must have rank ${spatial + 2}`);
  const { strides, dilations } = spatialAttrs(node, t, spatial);
  const outputPadding = t.ints(node, 'output_padding') ?? new Array<number>(spatial).fill(0);
  if (outputPadding.length !== spatial) t.fail(node, `output_padding needs ${spatial} values`);
  const mode = autoPadMode(node, t);
  const natural = input.slice(2).map((x, i) => strides[i]! * (x - 1) + (kernel[i]! - 1) * dilations[i]! + 1 + outputPadding[i]!);
  let begin: number[];
  let end: number[];
  if (node.inputs.length > 2 && node.inputs[2]) {
    const wanted = t.constInts(node, 2);
    if (wanted.length !== spatial) t.fail(node, `output_shape needs ${spatial} values`);
    const total = natural.map((n, i) => n - wanted[i]!);
    if (total.some((p) => p < 0)) t.fail(node, 'an output_shape larger than the unpadded output is not translated');
    end = total.map((p) => (mode === 'same_upper' ? Math.floor(p / 2) : p - Math.floor(p / 2)));
    begin = total.map((p, i) => p - end[i]!);
  } else if (mode === 'explicit') {
    ({ begin, end } = explicitPads(node, t, spatial));
  } else {
    begin = new Array<number>(spatial).fill(0);
    end = new Array<number>(spatial).fill(0);
  }
  const declared = t.outputShape(node, 0);
  natural.forEach((n, i) => {
    const want = declared?.[2 + i];
    const got = n - begin[i]! - end[i]!;
    if (typeof want === 'number' && want !== got) t.fail(node, `the declared output dimension ${2 + i} is ${want}, the spec gives ${got}`);
  });
  return { strides, dilations, pads: [...begin, ...end], output_padding: outputPadding };
}

/** TopK's index output type: i32 (the default) or i64, as an ONNX cast target (undefined: no cast). */
function topkIndexCast(node: Node, t: Translation): number | undefined {
  const type = (t.str(node, 'index_element_type') ?? 'i32').trim().toLowerCase();
  if (type === 'i32') return 6;
  if (type !== 'i64') t.fail(node, `index_element_type="${type}" is not translated (i32 and i64 are)`);
  return undefined;
}

registerTranslators({
  // Weights [C_out, C_in, k...], as ONNX's.
  Convolution: (node, t) => {
    const spatial = t.requireRank(node, 1) - 2;
    // The kernel size matters only for SAME padding computed here; without it ONNX's SAME_* computes the same.
    const wShape = t.inputShape(node, 1);
    const kernel = wShape?.slice(2).every((d) => typeof d === 'number') ? (wShape.slice(2) as number[]) : [];
    const { strides, dilations } = spatialAttrs(node, t, spatial);
    return [t.add1('Conv', [t.input(node, 0), t.input(node, 1)], { strides, dilations, ...convPadding(node, t, spatial, kernel, strides, dilations) })];
  },
  // Weights [G, C_out/G, C_in/G, k...]; ONNX wants [C_out, C_in/G, k...] and group=G.
  GroupConvolution: (node, t) => {
    const dims = t.staticShape(node, 1);
    const kernel = dims.slice(3);
    const spatial = kernel.length;
    const groups = dims[0]!;
    const { strides, dilations } = spatialAttrs(node, t, spatial);
    const w = t.add1('Reshape', [t.input(node, 1), t.int64s([groups * dims[1]!, ...dims.slice(2)])]);
    return [t.add1('Conv', [t.input(node, 0), w], { group: groups, strides, dilations, ...convPadding(node, t, spatial, kernel, strides, dilations) })];
  },

  // MaxPool-1 (one output), -8 and -14 (values and indices; dilations; the indices flattened from `axis` on).
  MaxPool: (node, t) => {
    const version = node.domain;
    if (version !== 'opset1' && version !== 'opset8' && version !== 'opset14') t.fail(node, `MaxPool of ${version ?? 'no opset'} is not translated (opset1, opset8 and opset14 are)`);
    const shape = t.spatialShape(node, 0);
    const spatial = shape.length - 2;
    const kernel = t.ints(node, 'kernel') ?? t.fail(node, 'no kernel');
    const strides = t.ints(node, 'strides') ?? new Array<number>(spatial).fill(1);
    const dilations = version === 'opset1' ? new Array<number>(spatial).fill(1) : (t.ints(node, 'dilations') ?? new Array<number>(spatial).fill(1));
    const { pads } = poolPads(node, t, kernel, strides, dilations);
    const attrs = { kernel_shape: kernel, strides, dilations, pads };
    if (version === 'opset1' || node.outputs.length < 2) return [t.add1('MaxPool', [t.input(node, 0)], attrs)];
    const [values, flat] = t.add('MaxPool', [t.input(node, 0)], attrs, 2);
    // ONNX counts over the whole tensor (row-major, padding not counted): OpenVINO's axis 0.
    const axis = normalizeAxis(node, t, t.int(node, 'axis') ?? 0, shape.length);
    if (axis > 0 && shape.slice(axis).some((d) => d < 0)) t.fail(node, `indices from axis ${axis} need the dimensions from there on static`);
    const bound = shape.slice(axis).reduce((a, b) => a * b, 1);
    let indices = axis === 0 ? flat! : t.add1('Mod', [flat!, t.scalar('int64', bound)]);
    const indexType = (t.str(node, 'index_element_type') ?? 'i64').trim().toLowerCase();
    if (indexType === 'i32') indices = t.add1('Cast', [indices], { to: 6 });
    else if (indexType !== 'i64') t.fail(node, `index_element_type="${indexType}" is not translated (i64 and i32 are)`);
    return [values!, indices];
  },
  // AvgPool-1 and -14: exclude-pad, rounding_type floor/ceil, auto_pad.
  AvgPool: (node, t) => {
    const version = node.domain;
    if (version !== 'opset1' && version !== 'opset14') t.fail(node, `AvgPool of ${version ?? 'no opset'} is not translated (opset1 and opset14 are)`);
    const spatial = t.spatialShape(node, 0).length - 2;
    const kernel = t.ints(node, 'kernel') ?? t.fail(node, 'no kernel');
    const strides = t.ints(node, 'strides') ?? new Array<number>(spatial).fill(1);
    const excludePad = t.bool(node, 'exclude-pad') ?? false;
    const { pads, clipped } = poolPads(node, t, kernel, strides, new Array<number>(spatial).fill(1));
    // OpenVINO's divisor for a window that ceil rounding clips, padding included, is not pinned down (the reference and the plugins differ).
    if (clipped && !excludePad) t.fail(node, 'exclude-pad="false" with windows that rounding_type="ceil" clips is not translated');
    return [t.add1('AveragePool', [t.input(node, 0)], { kernel_shape: kernel, strides, pads, count_include_pad: excludePad ? 0 : 1 })];
  },

  // AdaptiveAvgPool-8: the mean of each bin.
  AdaptiveAvgPool: (node, t) => [adaptivePool(node, t, 'ReduceMean')],
  // AdaptiveMaxPool-8: the maximum of each bin. Its indices are translated only when nothing reads them.
  AdaptiveMaxPool: (node, t) => {
    const indices = node.outputs[1];
    if (indices && indices.useCount > 0) t.fail(node, 'its indices output is read, and only the values are translated');
    return [adaptivePool(node, t, 'ReduceMax')];
  },

  // transpose_a/transpose_b swap the last two axes of a rank >= 2 operand (ignored for rank 1); then numpy matmul, as ONNX's.
  MatMul: (node, t) => {
    let a = t.input(node, 0);
    let b = t.input(node, 1);
    const ra = t.requireRank(node, 0);
    const rb = t.requireRank(node, 1);
    if ((t.bool(node, 'transpose_a') ?? false) && ra >= 2) a = swapLastTwo(t, a, ra);
    if ((t.bool(node, 'transpose_b') ?? false) && rb >= 2) b = swapLastTwo(t, b, rb);
    return [t.add1('MatMul', [a, b])];
  },

  // opset1 takes (gamma, beta, data, mean, variance), as ngraph's v0 op does; opset5 (data, gamma, beta, mean, variance).
  BatchNormInference: (node, t) => {
    const eps = t.float(node, 'epsilon') ?? t.fail(node, 'no epsilon');
    if (node.domain !== 'opset1' && node.domain !== 'opset5') t.fail(node, `BatchNormInference of ${node.domain ?? 'no opset'} is not translated (opset1 and opset5 are)`);
    const order = node.domain === 'opset5' ? [0, 1, 2, 3, 4] : [2, 0, 1, 3, 4];
    if (node.domain === 'opset1' && (t.inputRank(node, 0) !== 1 || (t.inputRank(node, 2) ?? 0) < 2)) {
      t.fail(node, 'opset1 inputs must be gamma, beta, data, mean, variance (1-D, 1-D, rank >= 2, 1-D, 1-D)');
    }
    return [t.add1('BatchNormalization', order.map((i) => t.input(node, i)), { epsilon: attr.float(eps) })];
  },

  // Softmax-1 (axis >= 0) and -8 (negative axes count from the end); default axis 1.
  Softmax: (node, t) => {
    const rank = t.requireRank(node, 0);
    const axis = t.int(node, 'axis') ?? 1;
    if (node.domain === 'opset1' && axis < 0) t.fail(node, `axis ${axis}: Softmax-1 takes no negative axis`);
    return [t.add1('Softmax', [t.input(node, 0)], { axis: normalizeAxis(node, t, axis, rank) })];
  },
  LogSoftmax: (node, t) => {
    const rank = t.requireRank(node, 0);
    return [t.add1('LogSoftmax', [t.input(node, 0)], { axis: normalizeAxis(node, t, t.int(node, 'axis') ?? 1, rank) })];
  },

  ReduceMean: reduce('ReduceMean'),
  ReduceSum: reduce('ReduceSum'),
  ReduceMax: reduce('ReduceMax'),
  ReduceMin: reduce('ReduceMin'),
  ReduceProd: reduce('ReduceProd'),
  ReduceL1: reduce('ReduceL1'),
  ReduceL2: reduce('ReduceL2'),
  // On booleans: onnxruntime has no boolean ReduceMin/ReduceMax, so through int32 (all: the minimum, any: the maximum).
  ReduceLogicalAnd: logicalReduce('ReduceMin'),
  ReduceLogicalOr: logicalReduce('ReduceMax'),

  ScaledDotProductAttention: scaledDotProductAttention,

  // GroupNormalization-12: mean and variance per batch and group of channels (eps inside the square root),
  // then scale and bias per channel.
  GroupNormalization: (node, t) => {
    const rank = t.requireRank(node, 0);
    if (rank < 2) t.fail(node, `input 0 has rank ${rank}: GroupNormalization wants batch and channels first`);
    const groups = t.int(node, 'num_groups') ?? t.fail(node, 'no num_groups');
    const eps = t.float(node, 'epsilon') ?? t.fail(node, 'no epsilon');
    const x = t.input(node, 0);
    const grouped = t.add1('Reshape', [x, t.int64s([0, groups, -1])]);
    const normalized = t.add1('Reshape', [mvn(t, grouped, [2], true, eps, true, t.inputDType(node, 0)), t.add1('Shape', [x])]);
    const perChannel = t.int64s([-1, ...new Array<number>(rank - 2).fill(1)]);
    const scale = t.add1('Reshape', [t.input(node, 1), perChannel]);
    const bias = t.add1('Reshape', [t.input(node, 2), perChannel]);
    return [t.add1('Add', [t.add1('Mul', [normalized, scale]), bias])];
  },

  // MVN-6: axes input, eps inside or outside the square root. MVN-1 (opset2): across_channels or
  // reduction_axes; its spec puts eps inside the square root, OpenVINO's own MVN-1 -> MVN-6 conversion
  // outside, so only normalize_variance="false" is translated.
  MVN: (node, t) => {
    const rank = t.requireRank(node, 0);
    const normalizeVariance = t.bool(node, 'normalize_variance') ?? t.fail(node, 'no normalize_variance');
    const eps = t.float(node, 'eps') ?? t.fail(node, 'no eps');
    if (node.domain === 'opset6') {
      const axes = constAxes(node, t, 1, rank);
      if (axes.length === 0) t.fail(node, 'an empty axes input is not translated');
      const mode = (t.str(node, 'eps_mode') ?? t.fail(node, 'no eps_mode')).trim().toLowerCase();
      if (mode !== 'inside_sqrt' && mode !== 'outside_sqrt') t.fail(node, `eps_mode="${mode}" is not translated`);
      return [mvn(t, t.input(node, 0), axes, normalizeVariance, eps, mode === 'inside_sqrt', t.inputDType(node, 0))];
    }
    if (node.domain === 'opset2') {
      if (normalizeVariance) t.fail(node, 'MVN-1 with normalize_variance="true" is not translated (its spec and OpenVINO disagree on where eps goes)');
      const listed = t.ints(node, 'reduction_axes');
      let axes: number[];
      if (listed !== undefined) axes = listed.map((a) => normalizeAxis(node, t, a, rank));
      else {
        const start = (t.bool(node, 'across_channels') ?? false) ? 1 : 2;
        axes = Array.from({ length: rank - start }, (_, i) => start + i);
      }
      if (axes.length === 0) t.fail(node, 'no axes to normalize over');
      return [mvn(t, t.input(node, 0), axes, false, eps, true, t.inputDType(node, 0))];
    }
    return t.fail(node, `MVN of ${node.domain ?? 'no opset'} is not translated (opset2 and opset6 are)`);
  },

  // x / sqrt(eps_mode(sum of squares over axes, eps)); empty axes: each element's own square.
  NormalizeL2: (node, t) => {
    const rank = t.requireRank(node, 0);
    const axes = constAxes(node, t, 1, rank);
    const eps = t.float(node, 'eps') ?? t.fail(node, 'no eps');
    const mode = (t.str(node, 'eps_mode') ?? t.fail(node, 'no eps_mode')).trim().toLowerCase();
    if (mode !== 'add' && mode !== 'max') t.fail(node, `eps_mode="${mode}" is not translated (add and max are)`);
    const x = t.input(node, 0);
    const sum = t.add1('ReduceSum', [t.add1('Mul', [x, x]), t.int64s(axes)], { keepdims: 1, noop_with_empty_axes: 1 });
    const e = t.scalar(t.inputDType(node, 0) ?? 'float32', eps);
    const guarded = t.add1(mode === 'add' ? 'Add' : 'Max', [sum, e]);
    return [t.add1('Div', [x, t.add1('Sqrt', [guarded])])];
  },
  // Weights [C_in, C_out, k...], as ONNX ConvTranspose's.
  ConvolutionBackpropData: (node, t) => {
    const kernel = t.staticShape(node, 1).slice(2);
    return [t.add1('ConvTranspose', [t.input(node, 0), t.input(node, 1)], backpropAttrs(node, t, kernel))];
  },
  // Weights [G, C_in/G, C_out/G, k...]; ONNX wants [C_in, C_out/G, k...] and group=G.
  GroupConvolutionBackpropData: (node, t) => {
    const dims = t.staticShape(node, 1);
    const groups = dims[0]!;
    const w = t.add1('Reshape', [t.input(node, 1), t.int64s([groups * dims[1]!, ...dims.slice(2)])]);
    return [t.add1('ConvTranspose', [t.input(node, 0), w], { group: groups, ...backpropAttrs(node, t, dims.slice(3)) })];
  },

  // x / (bias + alpha / size^n * sum of squares over a window of side 2 * floor(size / 2) + 1 centered on x)^beta,
  // over axes [1] or all the spatial axes: the sum is an AveragePool of x^2 (zero padding counted) times the window size.
  LRN: (node, t) => {
    const shape = t.staticShape(node, 0);
    const rank = shape.length;
    const axes = constAxes(node, t, 1, rank).sort((a, b) => a - b);
    const alpha = t.float(node, 'alpha') ?? t.fail(node, 'no alpha');
    const beta = t.float(node, 'beta') ?? t.fail(node, 'no beta');
    const bias = t.float(node, 'bias') ?? t.fail(node, 'no bias');
    const size = t.int(node, 'size') ?? t.fail(node, 'no size');
    const half = Math.floor(size / 2);
    const side = 2 * half + 1;
    const x = t.input(node, 0);
    let squares = t.add1('Mul', [x, x]);
    const channels = axes.length === 1 && axes[0] === 1;
    const spatialAxes = rank > 2 && axes.length === rank - 2 && axes.every((a, i) => a === i + 2);
    if (!channels && !spatialAxes) t.fail(node, `axes [${axes.join(', ')}] are not translated ([1] and all the spatial axes are)`);
    let windows: number;
    if (channels) {
      // [N, C, rest...] -> [N, 1, C, prod(rest)]: the channel axis becomes a spatial one.
      const rest = shape.slice(2).reduce((a, b) => a * b, 1);
      squares = t.add1('Reshape', [squares, t.int64s([shape[0]!, 1, shape[1]!, rest])]);
      const pooled = t.add1('AveragePool', [squares], { kernel_shape: [side, 1], pads: [half, 0, half, 0], count_include_pad: 1 });
      squares = t.add1('Reshape', [pooled, t.int64s(shape)]);
      windows = 1;
    } else {
      const n = rank - 2;
      squares = t.add1('AveragePool', [squares], { kernel_shape: new Array<number>(n).fill(side), pads: new Array<number>(2 * n).fill(half), count_include_pad: 1 });
      windows = n;
    }
    const dtype = t.inputDType(node, 0) ?? 'float32';
    const scale = t.scalar(dtype, (alpha * side ** windows) / size ** windows);
    const base = t.add1('Add', [t.scalar(dtype, bias), t.add1('Mul', [squares, scale])]);
    return [t.add1('Div', [x, t.add1('Pow', [base, t.scalar(dtype, beta)])])];
  },

  // TopK-1/-3/-11: mode max/min, sort value (ONNX's order) or index (the k found, re-sorted by index); sort none refused.
  TopK: (node, t) => {
    const version = node.domain;
    if (version !== 'opset1' && version !== 'opset3' && version !== 'opset11') t.fail(node, `TopK of ${version ?? 'no opset'} is not translated (opset1, opset3 and opset11 are)`);
    const rank = t.requireRank(node, 0);
    const axis = normalizeAxis(node, t, t.int(node, 'axis') ?? t.fail(node, 'no axis'), rank);
    const mode = (t.str(node, 'mode') ?? t.fail(node, 'no mode')).trim().toLowerCase();
    if (mode !== 'max' && mode !== 'min') t.fail(node, `mode="${mode}" is not translated`);
    const sort = (t.str(node, 'sort') ?? 'none').trim().toLowerCase();
    if (sort !== 'value' && sort !== 'index') t.fail(node, `sort="${sort}" is not translated (value and index are; none leaves the order to the plugin)`);
    const cast = topkIndexCast(node, t);
    const k = t.constInput(node, 1) ? t.int64s([t.constInts(node, 1)[0]!]) : t.add1('Reshape', [t.add1('Cast', [t.input(node, 1)], { to: 7 }), t.int64s([1])]);
    let [values, indices] = t.add('TopK', [t.input(node, 0), k], { axis, largest: mode === 'max' ? 1 : 0, sorted: 1 }, 2);
    if (sort === 'index') {
      const [sortedIndices, order] = t.add('TopK', [indices!, k], { axis, largest: 0, sorted: 1 }, 2);
      values = t.add1('GatherElements', [values!, order!], { axis });
      indices = sortedIndices;
    }
    return [values!, cast === undefined ? indices! : t.add1('Cast', [indices!], { to: cast })];
  },

  // CumSum-3: axis input (0 when absent), exclusive, reverse: ONNX CumSum's.
  CumSum: (node, t) => {
    const axis = node.inputs.length > 1 && node.inputs[1] ? t.input(node, 1) : t.scalar('int64', 0);
    return [t.add1('CumSum', [t.input(node, 0), axis], { exclusive: (t.bool(node, 'exclusive') ?? false) ? 1 : 0, reverse: (t.bool(node, 'reverse') ?? false) ? 1 : 0 })];
  },
});
