/**
 * OpenVINO ops that move data without computing on it: Concat, Split,
 * Reshape, Transpose, Squeeze/Unsqueeze, Gather*, ShapeOf, slices, Broadcast,
 * Tile, Pad, Interpolate, DepthToSpace/SpaceToDepth, Range, scatters
 * (SliceScatter too), reversals, ShuffleChannels, SearchSorted (and Einsum,
 * which ONNX has as is).
 */
import { dtypeOfElementType } from '../../../formats/openvino/element-types';
import { attr } from '../../../ir/attr';
import { DTYPES, type DType } from '../../../ir/dtype';
import type { Node, Value } from '../../../ir/graph';
import { registerTranslators, type Translation } from '../translation';
import { normalizeAxis, onnxTypeOf, onnxTypeOfElementType, toInt64 } from './common';

/**
 * A bound past every dimension, for ONNX Slice starts/ends. (INT64_MAX read
 * from a constant comes back as 2^63; `t.int64s` saturates it.)
 */
const BIG = 2 ** 62;

/** Input `i` as a 1-D int64 ONNX value (a Const is rewritten, a computed scalar or list is cast and flattened). */
function int64List(node: Node, t: Translation, i: number): Value {
  if (t.constInput(node, i)) return t.int64s(t.constInts(node, i));
  const v = toInt64(t, t.input(node, i), t.inputDType(node, i));
  return t.inputRank(node, i) === 1 ? v : t.add1('Reshape', [v, t.int64s([-1])]);
}


function unsqueeze(t: Translation, v: Value, axes: number[]): Value {
  return axes.length === 0 ? v : t.add1('Unsqueeze', [v, t.int64s(axes)]);
}

function squeeze(t: Translation, v: Value, axes: number[]): Value {
  return axes.length === 0 ? v : t.add1('Squeeze', [v, t.int64s(axes)]);
}

/** OpenVINO masks are lists of 0/1 per entry of `begin`; a missing entry is 0. */
function maskOf(node: Node, t: Translation, name: string, n: number): boolean[] {
  const m = t.ints(node, name) ?? [];
  return Array.from({ length: n }, (_, i) => (m[i] ?? 0) !== 0);
}

/** StridedSlice-1 as ONNX Slice (ranged and shrunk dimensions), Squeeze (shrunk ones) and Unsqueeze (new axes). */
function stridedSlice(node: Node, t: Translation): Value[] {
  const rank = t.requireRank(node, 0);
  const begin = t.constInts(node, 1);
  const end = t.constInts(node, 2);
  const n = begin.length;
  if (end.length !== n) t.fail(node, `begin has ${n} values and end ${end.length}`);
  const strides = node.inputs[3] ? t.constInts(node, 3) : begin.map(() => 1);
  if (strides.length !== n) t.fail(node, `begin has ${n} values and strides ${strides.length}`);
  const beginMask = maskOf(node, t, 'begin_mask', n);
  const endMask = maskOf(node, t, 'end_mask', n);
  const newAxis = maskOf(node, t, 'new_axis_mask', n);
  const shrink = maskOf(node, t, 'shrink_axis_mask', n);
  const ellipsis = maskOf(node, t, 'ellipsis_mask', n);
  if (ellipsis.filter(Boolean).length > 1) t.fail(node, 'ellipsis_mask has more than one bit set');
  // Entries that consume an input dimension (ellipsis aside).
  const consuming = Array.from({ length: n }, (_, i) => !newAxis[i] && !ellipsis[i]).filter(Boolean).length;
  if (consuming > rank) t.fail(node, `the slice addresses ${consuming} dimensions of a rank-${rank} input`);
  const starts: number[] = [];
  const ends: number[] = [];
  const axes: number[] = [];
  const steps: number[] = [];
  const shrunk: number[] = [];
  const inserted: number[] = [];
  let inDim = 0;
  let outDim = 0;
  for (let i = 0; i < n; i++) {
    const flags = [newAxis[i], shrink[i], ellipsis[i]].filter(Boolean).length;
    if (flags > 1) t.fail(node, `entry ${i} sets more than one of new_axis_mask, shrink_axis_mask and ellipsis_mask`);
    if (ellipsis[i]) {
      const covered = rank - consuming;
      inDim += covered;
      outDim += covered;
    } else if (newAxis[i]) {
      inserted.push(outDim++);
    } else if (shrink[i]) {
      if (beginMask[i]) t.fail(node, `entry ${i} sets both shrink_axis_mask and begin_mask`);
      if (strides[i] !== 1) t.fail(node, `entry ${i} sets shrink_axis_mask with stride ${strides[i]} (only 1 is translated)`);
      const b = begin[i]!;
      starts.push(b);
      ends.push(b === -1 ? BIG : b + 1);
      axes.push(inDim);
      steps.push(1);
      shrunk.push(inDim++);
    } else {
      const s = strides[i]!;
      if (s === 0) t.fail(node, `entry ${i} has stride 0`);
      starts.push(beginMask[i] ? (s > 0 ? 0 : BIG) : begin[i]!);
      ends.push(endMask[i] ? (s > 0 ? BIG : -BIG) : end[i]!);
      axes.push(inDim++);
      steps.push(s);
      outDim++;
    }
  }
  let v = t.input(node, 0);
  if (axes.length > 0) v = t.add1('Slice', [v, t.int64s(starts), t.int64s(ends), t.int64s(axes), t.int64s(steps)]);
  return [unsqueeze(t, squeeze(t, v, shrunk), inserted)];
}

/** Pads one axis the `symmetric` way (the border element repeated): reversed slices of the edges, concatenated. */
function symmetricPad(t: Translation, v: Value, axis: number, before: number, after: number): Value {
  const parts: Value[] = [];
  if (before > 0) parts.push(t.add1('Slice', [v, t.int64s([before - 1]), t.int64s([-BIG]), t.int64s([axis]), t.int64s([-1])]));
  parts.push(v);
  if (after > 0) parts.push(t.add1('Slice', [v, t.int64s([-1]), t.int64s([-1 - after]), t.int64s([axis]), t.int64s([-1])]));
  return parts.length === 1 ? v : t.add1('Concat', parts, { axis });
}

/** Pad-1 (non-negative pads) and Pad-12 (a negative pad crops). */
function pad(node: Node, t: Translation): Value[] {
  const rank = t.requireRank(node, 0);
  const mode = (t.str(node, 'pad_mode') ?? 'constant').trim();
  if (!['constant', 'edge', 'reflect', 'symmetric'].includes(mode)) t.fail(node, `pad_mode="${mode}" is not translated`);
  const before = t.constInts(node, 1);
  const after = t.constInts(node, 2);
  if (before.length !== rank || after.length !== rank) t.fail(node, `pads_begin and pads_end need ${rank} values (one per dimension)`);
  const negative = [...before, ...after].some((p) => p < 0);
  if (negative && node.domain === 'opset1') t.fail(node, 'Pad-1 takes no negative pads');
  if (negative && (mode === 'reflect' || mode === 'symmetric')) t.fail(node, `negative pads with pad_mode="${mode}" are not translated`);
  let v = t.input(node, 0);
  if (negative) {
    const axes = before.map((_, i) => i);
    const starts = before.map((p) => Math.max(0, -p));
    const ends = after.map((p) => (p < 0 ? p : BIG));
    v = t.add1('Slice', [v, t.int64s(starts), t.int64s(ends), t.int64s(axes)]);
  }
  const pb = before.map((p) => Math.max(0, p));
  const pe = after.map((p) => Math.max(0, p));
  if (mode === 'symmetric') {
    for (let a = 0; a < rank; a++) v = symmetricPad(t, v, a, pb[a]!, pe[a]!);
    return [v];
  }
  if (mode !== 'constant') return [t.add1('Pad', [v, t.int64s([...pb, ...pe])], { mode })];
  let value: Value | null = null;
  if (node.inputs[3]) {
    value = t.input(node, 3);
    if (t.inputRank(node, 3) !== 0) value = t.add1('Reshape', [value, t.int64s([])]);
  }
  return [t.add1('Pad', value ? [v, t.int64s([...pb, ...pe]), value] : [v, t.int64s([...pb, ...pe])], { mode })];
}

const INTERPOLATE_MODES: Record<string, string> = { nearest: 'nearest', linear_onnx: 'linear', cubic: 'cubic' };
const COORDINATE_MODES = ['half_pixel', 'pytorch_half_pixel', 'asymmetric', 'tf_half_pixel_for_nn', 'align_corners'];
const NEAREST_MODES = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];

/**
 * Interpolate-1 as OpenVINO runs it: its ConvertInterpolate1ToInterpolate4
 * pass (src/common/transformations) makes it an Interpolate-4 by sizes with
 * nearest_mode "simple" (round down where an axis grows, up where it
 * shrinks), linear as linear_onnx below rank 5, cubic with a = -0.75, and
 * the coordinates align_corners when asked; else half_pixel for linear
 * unless the input is 4D and the axes are exactly {2, 3}, where it stays
 * asymmetric (as for nearest and cubic). align_corners defaults to true.
 */
function interpolate1(node: Node, t: Translation): Value[] {
  const rank = t.requireRank(node, 0);
  const mode = (t.str(node, 'mode') ?? t.fail(node, 'no mode')).trim();
  const onnxMode =
    mode === 'nearest' ? 'nearest' : mode === 'cubic' ? 'cubic' : mode === 'linear_onnx' || (mode === 'linear' && rank < 5) ? 'linear' : t.fail(node, `mode="${mode}" is not translated for rank ${rank}`);
  if (t.bool(node, 'antialias')) t.fail(node, 'antialias="true" is not translated');
  for (const p of ['pads_begin', 'pads_end']) if ((t.ints(node, p) ?? []).some((x) => x !== 0)) t.fail(node, `non-zero ${p} are not translated`);
  const axes = (t.ints(node, 'axes') ?? t.fail(node, 'no axes')).map((a) => normalizeAxis(node, t, a, rank));
  const sizes = t.constInts(node, 1);
  if (sizes.length !== axes.length) t.fail(node, `${sizes.length} target sizes for ${axes.length} axes`);
  const shape = t.staticShape(node, 0);
  const alignCorners = t.bool(node, 'align_corners') ?? true;
  const imageAxes = rank === 4 && axes.length === 2 && [...axes].sort().join() === '2,3';
  const coord = alignCorners ? 'align_corners' : onnxMode === 'linear' && !imageAxes ? 'half_pixel' : 'asymmetric';
  let nearest: string | undefined;
  if (onnxMode === 'nearest') {
    const grows = axes.some((a, i) => sizes[i]! > shape[a]!);
    const shrinks = axes.some((a, i) => sizes[i]! < shape[a]!);
    if (grows && shrinks) t.fail(node, 'nearest_mode "simple" on axes that grow and shrink at once is not translated');
    nearest = shrinks ? 'ceil' : 'floor';
  }
  const out = [...shape];
  axes.forEach((a, i) => (out[a] = sizes[i]!));
  const attrs = {
    mode: onnxMode,
    coordinate_transformation_mode: coord,
    nearest_mode: nearest,
    cubic_coeff_a: onnxMode === 'cubic' ? attr.float(-0.75) : undefined,
  };
  return [t.add1('Resize', [t.input(node, 0), null, null, t.int64s(out)], attrs)];
}

/** Interpolate-4 and -11 as ONNX Resize-13 (which has no axes input: sizes and scales are written out for every dimension). */
function interpolate(node: Node, t: Translation): Value[] {
  if (node.domain === 'opset1') return interpolate1(node, t);
  const v4 = node.domain === 'opset4';
  if (!v4 && node.domain !== 'opset11') t.fail(node, 'only Interpolate-1, -4 and -11 are translated');
  const rank = t.requireRank(node, 0);
  const mode = (t.str(node, 'mode') ?? t.fail(node, 'no mode')).trim();
  const onnxMode = INTERPOLATE_MODES[mode] ?? t.fail(node, `mode="${mode}" is not translated (nearest, linear_onnx and cubic are)`);
  const calc = (t.str(node, 'shape_calculation_mode') ?? t.fail(node, 'no shape_calculation_mode')).trim();
  if (calc !== 'sizes' && calc !== 'scales') t.fail(node, `shape_calculation_mode="${calc}" is not translated`);
  const coord = (t.str(node, 'coordinate_transformation_mode') ?? 'half_pixel').trim();
  if (!COORDINATE_MODES.includes(coord)) t.fail(node, `coordinate_transformation_mode="${coord}" is not translated`);
  const nearest = (t.str(node, 'nearest_mode') ?? 'round_prefer_floor').trim();
  if (mode === 'nearest' && !NEAREST_MODES.includes(nearest)) t.fail(node, `nearest_mode="${nearest}" is not translated`);
  if (t.bool(node, 'antialias')) t.fail(node, 'antialias="true" is not translated');
  for (const p of ['pads_begin', 'pads_end']) if ((t.ints(node, p) ?? []).some((x) => x !== 0)) t.fail(node, `non-zero ${p} are not translated`);
  const cubeCoeff = t.float(node, 'cube_coeff') ?? -0.75;
  const valuesInput = v4 ? (calc === 'sizes' ? 1 : 2) : 1;
  const axesInput = v4 ? 3 : 2;
  const axes = node.inputs[axesInput] ? t.constInts(node, axesInput).map((a) => normalizeAxis(node, t, a, rank)) : Array.from({ length: rank }, (_, i) => i);
  const given = t.constNumbers(node, valuesInput);
  if (given.length !== axes.length) t.fail(node, `${calc} has ${given.length} values for ${axes.length} axes`);
  const shape = t.knownShape(node, 0);
  const attrs = {
    mode: onnxMode,
    coordinate_transformation_mode: coord,
    nearest_mode: mode === 'nearest' ? nearest : undefined,
    cubic_coeff_a: mode === 'cubic' ? attr.float(cubeCoeff) : undefined,
  };
  if (calc === 'sizes') {
    if (shape) {
      const sizes = [...shape];
      axes.forEach((a, i) => (sizes[a] = given[i]!));
      return [t.add1('Resize', [t.input(node, 0), null, null, t.int64s(sizes)], attrs)];
    }
    // A dynamic dimension (a batch) keeps its size: the input's shape with the sizes of the axes written in.
    const sizes = t.add1('ScatterElements', [t.add1('Shape', [t.input(node, 0)]), t.int64s(axes), t.int64s(given)], { axis: 0 });
    return [t.add1('Resize', [t.input(node, 0), null, null, sizes], attrs)];
  }
  const declared = t.inputShape(node, 0);
  const scales = Array.from({ length: rank }, () => 1);
  axes.forEach((a, i) => {
    const s = Math.fround(given[i]!);
    scales[a] = s;
    // The specification takes the coordinate scale as output / input size and sizes the
    // output floor(d * scale); onnxruntime uses the scale given. Translated only where
    // the two agree: d * scale is a whole number.
    const d = declared?.[a];
    if (typeof d !== 'number') t.fail(node, 'shape_calculation_mode="scales" needs the input dimensions of the axes');
    const out = Math.floor(Math.fround(d * s));
    if (out !== Math.floor(d * s + 1e-5) || Math.fround(out / d) !== s) t.fail(node, `scale ${s} of axis ${a} (size ${d}) does not give a whole output size`);
  });
  return [t.add1('Resize', [t.input(node, 0), null, t.constant('float32', [rank], scales)], attrs)];
}

/** Types ONNX Range computes in onnxruntime. */
const RANGE_TYPES: readonly DType[] = ['float32', 'float64', 'int16', 'int32', 'int64'];

/**
 * Range-4: the specification casts start, stop and step to output_type first
 * (towards zero). Computed inputs are translated when they already have that
 * type; constants when the cast changes nothing (a fractional value cast to an
 * integer type is refused: the element count would differ between readings).
 */
function range(node: Node, t: Translation): Value[] {
  const typeName = (t.str(node, 'output_type') ?? t.fail(node, 'no output_type')).trim();
  const dtype = dtypeOfElementType(typeName);
  if (!dtype || !RANGE_TYPES.includes(dtype)) t.fail(node, `output_type="${typeName}" is not translated (f32, f64, i16, i32, i64 are)`);
  const isFloat = DTYPES[dtype].kind === 'float';
  const scalars = [0, 1, 2].map((i) => {
    if (t.inputDType(node, i) === dtype) {
      const v = t.input(node, i);
      return t.inputRank(node, i) === 0 ? v : t.add1('Reshape', [v, t.int64s([])]);
    }
    const c = t.constInput(node, i);
    if (!c || c.size !== 1) t.fail(node, `input ${i} is ${t.inputDType(node, i)}, not ${dtype}, and not a constant scalar`);
    const x = c.toFloat64()[0]!;
    if (!isFloat && !Number.isInteger(x)) t.fail(node, `input ${i} (${x}) is not a whole number for output_type="${typeName}"`);
    return t.scalar(dtype, x);
  });
  return [t.add1('Range', scalars)];
}

/** ScatterUpdate-3 as ScatterND on the data with `axis` moved first (and the index dimensions of the updates moved first). */
function scatterUpdate(node: Node, t: Translation): Value[] {
  const r = t.requireRank(node, 0);
  const ri = t.requireRank(node, 1);
  const axis = normalizeAxis(node, t, t.constInts(node, 3)[0] ?? t.fail(node, 'no axis'), r);
  if (t.requireRank(node, 2) !== r - 1 + ri) t.fail(node, `updates must have rank ${r - 1 + ri}`);
  const indices = t.add1('Unsqueeze', [toInt64(t, t.input(node, 1), t.inputDType(node, 1)), t.int64s([-1])]);
  if (axis === 0) return [t.add1('ScatterND', [t.input(node, 0), indices, t.input(node, 2)])];
  const seq = (from: number, n: number): number[] => Array.from({ length: Math.max(0, n) }, (_, i) => from + i);
  const data = t.add1('Transpose', [t.input(node, 0)], { perm: [axis, ...seq(0, axis), ...seq(axis + 1, r - axis - 1)] });
  const updates = t.add1('Transpose', [t.input(node, 2)], { perm: [...seq(axis, ri), ...seq(0, axis), ...seq(axis + ri, r - axis - 1)] });
  const scattered = t.add1('ScatterND', [data, indices, updates]);
  return [t.add1('Transpose', [scattered], { perm: [...seq(1, axis), 0, ...seq(axis + 1, r - axis - 1)] })];
}

/** ReverseSequence-1 as the ONNX op, which wants the batch and sequence axes among the first two (others are transposed there and back). */
function reverseSequence(node: Node, t: Translation): Value[] {
  const r = t.requireRank(node, 0);
  const b = normalizeAxis(node, t, t.int(node, 'batch_axis') ?? 0, r);
  const s = normalizeAxis(node, t, t.int(node, 'seq_axis') ?? 1, r);
  if (b === s) t.fail(node, 'batch_axis and seq_axis are the same axis');
  const lengths = toInt64(t, t.input(node, 1), t.inputDType(node, 1));
  if (b < 2 && s < 2) return [t.add1('ReverseSequence', [t.input(node, 0), lengths], { batch_axis: b, time_axis: s })];
  const perm = [b, s, ...Array.from({ length: r }, (_, i) => i).filter((i) => i !== b && i !== s)];
  const inverse = perm.map((_, i) => perm.indexOf(i));
  const moved = t.add1('Transpose', [t.input(node, 0)], { perm });
  const reversed = t.add1('ReverseSequence', [moved, lengths], { batch_axis: 0, time_axis: 1 });
  return [t.add1('Transpose', [reversed], { perm: inverse })];
}

/** DepthToSpace / SpaceToDepth of a 4-D input as the ONNX ops (or, for SpaceToDepth depth_first, Reshape-Transpose-Reshape). */
function blockMode(node: Node, t: Translation): { mode: string; bs: number } {
  const mode = (t.str(node, 'mode') ?? t.fail(node, 'no mode')).trim();
  if (mode !== 'blocks_first' && mode !== 'depth_first') t.fail(node, `mode="${mode}" is not translated`);
  const bs = t.int(node, 'block_size') ?? 1;
  if (t.requireRank(node, 0) !== 4) t.fail(node, 'only 4-D inputs are translated');
  return { mode, bs };
}

/** Scatter*Update of later opsets take a `reduction`; only `none` (plain replacement, the default) is translated. */
function noReduction(node: Node, t: Translation): void {
  const reduction = (t.str(node, 'reduction') ?? 'none').trim().toLowerCase();
  if (reduction !== 'none') t.fail(node, `reduction="${reduction}" is not translated (none is)`);
}

/** The block, begin and end inputs of SpaceToBatch / BatchToSpace-2: one entry per dimension, the batch's 1, 0 and 0. */
function blocksOf(node: Node, t: Translation, rank: number): { block: number[]; begin: number[]; end: number[] } {
  const [block, begin, end] = [t.constInts(node, 1), t.constInts(node, 2), t.constInts(node, 3)];
  if ([block, begin, end].some((l) => l.length !== rank)) t.fail(node, `block_shape, and the pads or crops, want ${rank} entries (the data's rank)`);
  if (block[0] !== 1 || begin[0] !== 0 || end[0] !== 0) t.fail(node, 'the batch dimension is neither blocked nor padded in the specification');
  if (block.some((b) => b < 1)) t.fail(node, 'block_shape holds a size below 1');
  return { block, begin, end };
}

/**
 * SpaceToBatch-2 by its specification: zero-pad, split each spatial dimension
 * into (size / block, block), move the block parts in front of the batch,
 * merge them into it.
 */
function spaceToBatch(node: Node, t: Translation): Value[] {
  const shape = t.staticShape(node, 0);
  const n = shape.length;
  const { block, begin, end } = blocksOf(node, t, n);
  const padded = shape.map((d, i) => d + begin[i]! + end[i]!);
  if (padded.some((d, i) => d % block[i]! !== 0)) t.fail(node, `the padded shape [${padded.join(', ')}] is not a multiple of block_shape [${block.join(', ')}]`);
  let x = t.input(node, 0);
  if ([...begin, ...end].some((p) => p !== 0)) x = t.add1('Pad', [x, t.int64s([...begin, ...end])]);
  const spatial = Array.from({ length: n - 1 }, (_, k) => k + 1);
  x = t.add1('Reshape', [x, t.int64s([padded[0]!, ...spatial.flatMap((i) => [padded[i]! / block[i]!, block[i]!])])]);
  const perm = [...spatial.map((i) => 2 * i), 0, ...spatial.map((i) => 2 * i - 1)];
  x = t.add1('Transpose', [x], { perm });
  const blocks = block.reduce((a, b) => a * b, 1);
  return [t.add1('Reshape', [x, t.int64s([padded[0]! * blocks, ...spatial.map((i) => padded[i]! / block[i]!)])])];
}

/**
 * BatchToSpace-2 by its specification: split the batch into the blocks and
 * the rest, interleave each block with its spatial dimension, merge them,
 * then crop.
 */
function batchToSpace(node: Node, t: Translation): Value[] {
  const shape = t.staticShape(node, 0);
  const n = shape.length;
  const { block, begin, end } = blocksOf(node, t, n);
  const blocks = block.reduce((a, b) => a * b, 1);
  if (shape[0]! % blocks !== 0) t.fail(node, `the batch ${shape[0]} is not a multiple of the block's ${blocks} elements`);
  const spatial = Array.from({ length: n - 1 }, (_, k) => k + 1);
  let x = t.add1('Reshape', [t.input(node, 0), t.int64s([...spatial.map((i) => block[i]!), shape[0]! / blocks, ...spatial.map((i) => shape[i]!)])]);
  x = t.add1('Transpose', [x], { perm: [n - 1, ...spatial.flatMap((i) => [n - 1 + i, i - 1])] });
  const full = [shape[0]! / blocks, ...spatial.map((i) => shape[i]! * block[i]!)];
  x = t.add1('Reshape', [x, t.int64s(full)]);
  if ([...begin, ...end].every((c) => c === 0)) return [x];
  return [t.add1('Slice', [x, t.int64s(begin), t.int64s(full.map((d, i) => d - end[i]!)), t.int64s(full.map((_, i) => i))])];
}

/** Element types whose values ONNX Less and LessOrEqual compare in onnxruntime, and the exact widening of the others. */
const COMPARED_AS: Partial<Record<DType, DType>> = {
  float32: 'float32', float64: 'float64', int32: 'int32', int64: 'int64',
  float16: 'float32', bfloat16: 'float32', int8: 'int32', int16: 'int32', uint8: 'int32', uint16: 'int32', uint32: 'int64',
};

/**
 * SearchSorted-15: the reference's std::lower_bound over the innermost
 * dimension of the sorted sequence, with `<` (right_mode false: the first
 * index whose element is not below the value) or `<=` (right_mode true: the
 * first one above it). On a sorted row that index is the number of elements
 * below (not above) the value: every value is compared with every element of
 * its row and the hits summed. A 1-D sequence serves every value; otherwise
 * the leading dimensions of the sequence and the values pair rows with values.
 */
function searchSorted(node: Node, t: Translation): Value[] {
  const right = t.bool(node, 'right_mode') ?? false;
  const declared = t.outputDType(node, 0);
  const outType = (t.str(node, 'output_type') ?? (declared === 'int32' ? 'i32' : 'i64')).trim();
  if (outType !== 'i64' && outType !== 'i32') t.fail(node, `output_type="${outType}" is not translated (i64 and i32 are)`);
  const d = t.inputDType(node, 0) ?? t.fail(node, 'the element type of the sorted sequence is not declared');
  const compared = COMPARED_AS[d] ?? t.fail(node, `the inputs are ${d}: SearchSorted is translated for floats and integers up to u32, i64`);
  const widen = (i: number): Value => {
    const v = t.input(node, i);
    return compared === d ? v : t.add1('Cast', [v], { to: onnxTypeOf(node, t, compared) });
  };
  const rank = t.requireRank(node, 0);
  // Values [..., M, 1] against rows [..., 1, N] (or the one row [N]): hits [..., M, N].
  const values = unsqueeze(t, widen(1), [-1]);
  const rows = rank === 1 ? widen(0) : unsqueeze(t, widen(0), [-2]);
  const hits = t.add1(right ? 'LessOrEqual' : 'Less', [rows, values]);
  const index = t.add1('ReduceSum', [t.add1('Cast', [hits], { to: onnxTypeOf(node, t, 'int64') }), t.int64s([-1])], { keepdims: 0 });
  return [outType === 'i64' ? index : t.add1('Cast', [index], { to: onnxTypeOf(node, t, 'int32') })];
}

/**
 * SliceScatter-15: data with the elements Slice-8 would take (start, stop,
 * step, axes: ONNX Slice's own rules of clamping and negative steps) replaced
 * by updates, in order. The flat positions of data, sliced the same way,
 * say where each update goes in the flattened data.
 */
function sliceScatter(node: Node, t: Translation): Value[] {
  const data = t.input(node, 0);
  const shape = t.add1('Shape', [data]);
  const positions = t.add1('Reshape', [t.add1('Range', [t.scalar('int64', 0), t.add1('Size', [data]), t.scalar('int64', 1)]), shape]);
  const axes = node.inputs[5] ? int64List(node, t, 5) : null;
  const picked = t.add1('Slice', [positions, int64List(node, t, 2), int64List(node, t, 3), axes, int64List(node, t, 4)]);
  const flat = t.int64s([-1]);
  const scattered = t.add1('ScatterElements', [t.add1('Reshape', [data, flat]), t.add1('Reshape', [picked, flat]), t.add1('Reshape', [t.input(node, 1), flat])], { axis: 0 });
  return [t.add1('Reshape', [scattered, shape])];
}

registerTranslators({
  Concat: (node, t) => {
    const rank = t.requireRank(node, 0);
    const axis = normalizeAxis(node, t, t.int(node, 'axis') ?? 0, rank);
    return [t.add1('Concat', node.inputs.map((_, i) => t.input(node, i)), { axis })];
  },
  // Input 1 is the axis; `num_splits` equal parts (ONNX Split-13 splits equally into as many parts as it has outputs).
  Split: (node, t) => {
    const rank = t.requireRank(node, 0);
    const axis = normalizeAxis(node, t, t.constInts(node, 1)[0]!, rank);
    const parts = t.int(node, 'num_splits') ?? t.fail(node, 'no num_splits');
    return t.add('Split', [t.input(node, 0)], { axis }, parts);
  },
  // Input 1 the axis, input 2 the lengths (one may be -1: the rest).
  VariadicSplit: (node, t) => {
    const rank = t.requireRank(node, 0);
    const axis = normalizeAxis(node, t, t.constInts(node, 1)[0]!, rank);
    const lengths = t.constInts(node, 2);
    const shape = t.inputShape(node, 0);
    if (lengths.includes(-1)) {
      const dim = shape?.[axis];
      const total = typeof dim === 'number' ? dim : t.fail(node, 'a -1 length needs a static split axis');
      const known = lengths.filter((l) => l !== -1).reduce((a, b) => a + b, 0);
      lengths[lengths.indexOf(-1)] = total - known;
    }
    return t.add('Split', [t.input(node, 0), t.int64s(lengths)], { axis }, lengths.length);
  },
  // special_zero: a 0 in the target shape copies the input's dimension (ONNX's allowzero=0); otherwise it is a 0.
  Reshape: (node, t) => {
    const specialZero = t.bool(node, 'special_zero') ?? false;
    const target = toInt64(t, t.input(node, 1), t.inputDType(node, 1));
    return [t.add1('Reshape', [t.input(node, 0), target], { allowzero: specialZero ? 0 : 1 })];
  },
  Transpose: (node, t) => {
    const order = t.constInput(node, 1);
    // An empty order reverses the dimensions, as ONNX's default perm does.
    if (order && order.size === 0) return [t.add1('Transpose', [t.input(node, 0)])];
    return [t.add1('Transpose', [t.input(node, 0)], { perm: t.constInts(node, 1) })];
  },
  // Without axes (or with an empty list) every dimension of size 1 goes; a listed dimension known not to be 1 stays (Squeeze-1 since OpenVINO 2024.3).
  Squeeze: (node, t) => {
    const rank = t.requireRank(node, 0);
    const axesConst = t.constInput(node, 1);
    if (!node.inputs[1] || (axesConst && axesConst.size === 0)) return [t.add1('Squeeze', [t.input(node, 0)])];
    if (!axesConst) return [t.add1('Squeeze', [t.input(node, 0), int64List(node, t, 1)])];
    const shape = t.inputShape(node, 0);
    const axes = [...new Set(t.constInts(node, 1).map((a) => normalizeAxis(node, t, a, rank)))].filter((a) => {
      const d = shape?.[a];
      return typeof d !== 'number' || d === 1;
    });
    return [squeeze(t, t.input(node, 0), axes)];
  },
  Unsqueeze: (node, t) => [t.add1('Unsqueeze', [t.input(node, 0), int64List(node, t, 1)])],
  // Gather-1 (no batch_dims), -7 and -8 (batch_dims; -8 defines negative indices, which ONNX counts from the end as well).
  SpaceToBatch: spaceToBatch,
  BatchToSpace: batchToSpace,

  // OneHot-1 ignores a negative index (all off_value); ONNX counts it from the end, so it is moved past
  // the end, where ONNX ignores it too. OneHot-16 does either (negative_indices_mode).
  OneHot: (node, t) => {
    const axis = t.int(node, 'axis') ?? t.fail(node, 'no axis');
    const mode = node.domain === 'opset16' ? (t.str(node, 'negative_indices_mode') ?? 'ignore_negative').trim().toLowerCase() : 'ignore_negative';
    if (mode !== 'ignore_negative' && mode !== 'normalize') t.fail(node, `negative_indices_mode="${mode}" is not translated`);
    const indexType = t.inputDType(node, 0) ?? t.fail(node, 'the element type of the indices is not declared');
    const depth = t.input(node, 1);
    let indices = t.input(node, 0);
    if (mode === 'ignore_negative') {
      const pastEnd = t.add1('Cast', [depth], { to: onnxTypeOf(node, t, indexType) });
      indices = t.add1('Where', [t.add1('Less', [indices, t.scalar(indexType, 0)]), pastEnd, indices]);
    }
    const one = t.int64s([1]);
    const offOn = t.add1('Concat', [t.add1('Reshape', [t.input(node, 3), one]), t.add1('Reshape', [t.input(node, 2), one])], { axis: 0 });
    return [t.add1('OneHot', [indices, depth, offOn], { axis })];
  },
  Gather: (node, t) => {
    const rank = t.requireRank(node, 0);
    const axis = normalizeAxis(node, t, t.constInts(node, 2)[0] ?? t.fail(node, 'no axis'), rank);
    let batchDims = node.domain === 'opset1' ? 0 : t.int(node, 'batch_dims') ?? 0;
    if (batchDims < 0) batchDims += t.requireRank(node, 1);
    if (batchDims === 0) return [t.add1('Gather', [t.input(node, 0), t.input(node, 1)], { axis })];
    if (axis !== batchDims) t.fail(node, `batch_dims=${batchDims} with axis=${axis} is not translated (only axis equal to batch_dims is)`);
    const indices = t.add1('Unsqueeze', [toInt64(t, t.input(node, 1), t.inputDType(node, 1)), t.int64s([-1])]);
    return [t.add1('GatherND', [t.input(node, 0), indices], { batch_dims: batchDims })];
  },
  ShapeOf: (node, t) => {
    const type = node.domain === 'opset1' ? 'i64' : (t.str(node, 'output_type') ?? 'i64').trim();
    const shape = t.add1('Shape', [t.input(node, 0)]);
    if (type === 'i64') return [shape];
    if (type !== 'i32') t.fail(node, `output_type="${type}" is not translated (i64 and i32 are)`);
    return [t.add1('Cast', [shape], { to: onnxTypeOfElementType(node, t, 'i32') })];
  },
  StridedSlice: stridedSlice,
  // Slice-8: data, start, stop, step, axes (optional), as ONNX Slice takes them (starts, ends, axes, steps).
  Slice: (node, t) => {
    const axes = node.inputs[4] ? int64List(node, t, 4) : null;
    return [t.add1('Slice', [t.input(node, 0), int64List(node, t, 1), int64List(node, t, 2), axes, int64List(node, t, 3)])];
  },
  // Broadcast-1 / -3: numpy (the target shape), bidirectional (-3: both ways, ONNX Expand), explicit (data dimension i goes to output axis axes_mapping[i]).
  Broadcast: (node, t) => {
    const mode = (t.str(node, 'mode') ?? 'numpy').trim();
    const target = int64List(node, t, 1);
    if (mode === 'numpy' || (mode === 'bidirectional' && node.domain !== 'opset1')) return [t.add1('Expand', [t.input(node, 0), target])];
    if (mode !== 'explicit') t.fail(node, `mode="${mode}" is not translated`);
    const length = t.constInput(node, 1)?.size ?? t.inputShape(node, 1)?.[0];
    const outRank = typeof length === 'number' ? length : t.fail(node, 'mode="explicit" needs the length of the target shape');
    const mapping = t.constInts(node, 2);
    if (mapping.length !== t.requireRank(node, 0)) t.fail(node, 'axes_mapping needs one axis per data dimension');
    if (mapping.some((a, i) => a < 0 || a >= outRank || (i > 0 && a <= mapping[i - 1]!))) t.fail(node, `axes_mapping ${mapping.join(',')} is not increasing within the output rank (others are not translated)`);
    const missing = Array.from({ length: outRank }, (_, i) => i).filter((i) => !mapping.includes(i));
    return [t.add1('Expand', [unsqueeze(t, t.input(node, 0), missing), target])];
  },
  // Repeats shorter than the rank repeat the last dimensions; longer ones add leading dimensions to the data.
  Tile: (node, t) => {
    const rank = t.requireRank(node, 0);
    if (!t.constInput(node, 1)) {
      if (t.inputShape(node, 1)?.[0] !== rank) t.fail(node, 'computed repeats must have one value per data dimension');
      return [t.add1('Tile', [t.input(node, 0), int64List(node, t, 1)])];
    }
    const repeats = t.constInts(node, 1);
    const data = unsqueeze(t, t.input(node, 0), Array.from({ length: Math.max(0, repeats.length - rank) }, (_, i) => i));
    const full = [...Array.from({ length: Math.max(0, rank - repeats.length) }, () => 1), ...repeats];
    return [t.add1('Tile', [data, t.int64s(full)])];
  },
  Pad: pad,
  // Einsum-7: the same equation language as ONNX's (explicit and implicit output, ellipsis, repeated labels).
  Einsum: (node, t) => {
    const equation = (t.str(node, 'equation') ?? t.fail(node, 'no equation')).replace(/\s+/g, '');
    return [t.add1('Einsum', node.inputs.map((_, i) => t.input(node, i)), { equation })];
  },
  Range: (node, t) => (node.domain === 'opset4' ? range(node, t) : t.fail(node, 'only Range-4 is translated')),
  GatherElements: (node, t) => {
    const axis = normalizeAxis(node, t, t.int(node, 'axis') ?? t.fail(node, 'no axis'), t.requireRank(node, 0));
    return [t.add1('GatherElements', [t.input(node, 0), t.input(node, 1)], { axis })];
  },
  // GatherND-8 is ONNX's; GatherND-5 flattens the batch dimensions of the output into one.
  GatherND: (node, t) => {
    const batchDims = t.int(node, 'batch_dims') ?? 0;
    const gathered = t.add1('GatherND', [t.input(node, 0), toInt64(t, t.input(node, 1), t.inputDType(node, 1))], { batch_dims: batchDims });
    if (node.domain === 'opset8' || batchDims === 0) return [gathered];
    if (node.domain !== 'opset5') t.fail(node, 'only GatherND-5 and GatherND-8 are translated');
    const rest = t.add1('Slice', [t.add1('Shape', [gathered]), t.int64s([batchDims]), t.int64s([BIG])]);
    return [t.add1('Reshape', [gathered, t.add1('Concat', [t.int64s([-1]), rest], { axis: 0 })])];
  },
  ScatterUpdate: scatterUpdate,
  // ScatterNDUpdate-3 (and -15 without a reduction): ONNX ScatterND.
  ScatterNDUpdate: (node, t) => {
    noReduction(node, t);
    return [t.add1('ScatterND', [t.input(node, 0), toInt64(t, t.input(node, 1), t.inputDType(node, 1)), t.input(node, 2)])];
  },
  // ScatterElementsUpdate-3 (and -12 without a reduction): the axis is input 3.
  ScatterElementsUpdate: (node, t) => {
    noReduction(node, t);
    const axis = normalizeAxis(node, t, t.constInts(node, 3)[0] ?? t.fail(node, 'the axis input is empty'), t.requireRank(node, 0));
    return [t.add1('ScatterElements', [t.input(node, 0), toInt64(t, t.input(node, 1), t.inputDType(node, 1)), t.input(node, 2)], { axis })];
  },
  // NonZero-3: [rank, count] indices in row-major order, as ONNX's (int64); output_type i32 casts.
  NonZero: (node, t) => {
    const type = (t.str(node, 'output_type') ?? 'i64').trim();
    if (type !== 'i64' && type !== 'i32') t.fail(node, `output_type="${type}" is not translated (i64 and i32 are)`);
    const found = t.add1('NonZero', [t.input(node, 0)]);
    return [type === 'i64' ? found : t.add1('Cast', [found], { to: 6 })];
  },
  /**
   * Unique-10: ONNX Unique gives the same four outputs (the unique elements,
   * sorted or in order of first occurrence; the index of each one's first
   * occurrence; for each input element the index of its unique one; the
   * counts), whole tensors when there is no axis; the index and count types
   * are int64 there, cast to index_element_type and count_element_type.
   */
  Unique: (node, t) => {
    const sorted = t.bool(node, 'sorted') ?? true;
    const axis = node.inputs.length > 1 && node.inputs[1] ? normalizeAxis(node, t, t.constInts(node, 1)[0] ?? t.fail(node, 'the axis input is empty'), t.requireRank(node, 0)) : undefined;
    const [y, indices, inverse, counts] = t.add('Unique', [t.input(node, 0)], { sorted: sorted ? 1 : 0, ...(axis === undefined ? {} : { axis }) }, 4);
    const typed = (v: Value, attrName: string): Value => {
      const type = (t.str(node, attrName) ?? 'i64').trim();
      if (type === 'i64') return v;
      if (type !== 'i32') t.fail(node, `${attrName}="${type}" is not translated (i64 and i32 are)`);
      return t.add1('Cast', [v], { to: onnxTypeOf(node, t, 'int32') });
    };
    return [y!, typed(indices!, 'index_element_type'), typed(inverse!, 'index_element_type'), typed(counts!, 'count_element_type')];
  },
  ReverseSequence: reverseSequence,
  // Reverse-1: axes as indices (mode index) or as a boolean mask per dimension (mode mask).
  Reverse: (node, t) => {
    const rank = t.requireRank(node, 0);
    const mode = (t.str(node, 'mode') ?? t.fail(node, 'no mode')).trim();
    const given = t.constInts(node, 1);
    if (mode !== 'index' && mode !== 'mask') t.fail(node, `mode="${mode}" is not translated`);
    const axes = mode === 'index' ? given.map((a) => normalizeAxis(node, t, a, rank)) : given.flatMap((m, i) => (m ? [i] : []));
    if (axes.length === 0) return [t.add1('Identity', [t.input(node, 0)])];
    return [t.add1('Slice', [t.input(node, 0), t.int64s(axes.map(() => -1)), t.int64s(axes.map(() => -BIG)), t.int64s(axes), t.int64s(axes.map(() => -1))])];
  },
  // Channels split into `group` rows, transposed to columns: reshape, transpose, reshape back.
  ShuffleChannels: (node, t) => {
    const shape = t.knownShape(node, 0) ?? t.fail(node, 'a static input shape is needed');
    const axis = normalizeAxis(node, t, t.int(node, 'axis') ?? 1, shape.length);
    const group = t.int(node, 'group') ?? 1;
    const c = shape[axis]!;
    if (group < 1 || c % group !== 0) t.fail(node, `group ${group} does not divide ${c} channels`);
    const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
    const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const split = t.add1('Reshape', [t.input(node, 0), t.int64s([outer, group, c / group, inner])]);
    const swapped = t.add1('Transpose', [split], { perm: [0, 2, 1, 3] });
    return [t.add1('Reshape', [swapped, t.int64s(shape)])];
  },
  Interpolate: interpolate,
  SearchSorted: searchSorted,
  SliceScatter: sliceScatter,
  DepthToSpace: (node, t) => {
    const { mode, bs } = blockMode(node, t);
    return [t.add1('DepthToSpace', [t.input(node, 0)], { blocksize: bs, mode: mode === 'blocks_first' ? 'DCR' : 'CRD' })];
  },
  SpaceToDepth: (node, t) => {
    const { mode, bs } = blockMode(node, t);
    if (mode === 'blocks_first') return [t.add1('SpaceToDepth', [t.input(node, 0)], { blocksize: bs })];
    const [n, c, h, w] = t.knownShape(node, 0) ?? t.fail(node, 'mode="depth_first" needs a static input shape');
    const split = t.add1('Reshape', [t.input(node, 0), t.int64s([n!, c!, h! / bs, bs, w! / bs, bs])]);
    const moved = t.add1('Transpose', [split], { perm: [0, 1, 3, 5, 2, 4] });
    return [t.add1('Reshape', [moved, t.int64s([n!, c! * bs * bs, h! / bs, w! / bs])])];
  },
});
