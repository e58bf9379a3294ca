/**
 * ROIPooling-2 (methods max and bilinear) and PSROIPooling-1 (modes average
 * and bilinear, R-FCN's position-sensitive pooling) translated to ONNX as
 * OpenVINO's reference implementation computes them, in float32.
 *
 * ROIPooling max is ONNX MaxRoiPool: onnxruntime's kernel is the same Caffe
 * code as OpenVINO's reference (coordinates rounded half away from zero,
 * bin edges floor(i * size / pooled) and ceil computed in float32, an empty
 * bin giving 0). The other three are composed: the sampling positions
 * are computed per ROI with the reference's float32 operations, and the
 * pixels gathered from the flattened feature map; PSROIPooling average sums
 * its bins from a float64 summed-area table (four gathers per bin), which
 * differs from the reference's float32 running sum by rounding only.
 *
 * Two rules come from OpenVINO's CPU plugin, where the reference gives no
 * answer: a ROI whose batch index is -1 ends the list (Proposal writes one
 * after its last box), and it and every ROI after it pool to zeros (the
 * reference stops with an error); a PSROIPooling bin or sample left of or
 * above the map is clipped to it or skipped (the reference reads outside the
 * tensor). Where the reference does answer, it is followed even where the
 * CPU plugin differs: ROIPooling max bin edges in float32 (the plugin's are
 * exact integers: 57 rows in 7 bins end the last at row 58 here, 57 there),
 * PSROIPooling average with its box size unclamped (the plugin's is at least
 * 0.1) and a bin starting right of the map reading the last column (the
 * plugin's is empty), PSROIPooling bilinear samples within the last pixel
 * (W - 1 < x < W) reading the last column (the plugin skips them).
 */
import { codeOfDtype } from '../../../formats/onnx/schema';
import { attr } from '../../../ir/attr';
import type { DType } from '../../../ir/dtype';
import type { Node, Value } from '../../../ir/graph';
import { registerTranslators, type Translation } from '../translation';

const FLOAT64 = codeOfDtype('float64')!;
const FLOAT32 = codeOfDtype('float32')!;

/** The feature maps' element type: f32, or f16 computed in f32 (as OpenVINO's CPU plugin does). */
function featureType(node: Node, t: Translation): DType {
  const dtype = t.inputDType(node, 0);
  if (dtype !== 'float32' && dtype !== 'float16') t.fail(node, `element type ${dtype ?? 'undeclared'} is not translated (f32 is, and f16 computed in f32)`);
  const roisType = t.inputDType(node, 1);
  if (roisType !== undefined && roisType !== 'float32' && roisType !== 'float16') t.fail(node, `ROIs of element type ${roisType} are not translated (f32 and f16 are)`);
  if (t.inputRank(node, 0) !== 4) t.fail(node, 'input 0 must have rank 4 ([N, C, H, W])');
  const roisShape = t.inputShape(node, 1);
  if (roisShape && (roisShape.length !== 2 || (typeof roisShape[1] === 'number' && roisShape[1] !== 5))) {
    t.fail(node, `the ROIs (input 1) are [${roisShape.join(', ')}], not [NUM_ROIS, 5]`);
  }
  return dtype;
}

function inF32(t: Translation, v: Value, dtype: DType | undefined): Value {
  return dtype === 'float32' ? v : t.add1('Cast', [v], { to: FLOAT32 });
}

function asType(t: Translation, v: Value, dtype: DType): Value {
  return dtype === 'float32' ? v : t.add1('Cast', [v], { to: codeOfDtype(dtype)! });
}

/** A positive integer attribute (`fallback` when absent). */
function positiveInt(node: Node, t: Translation, name: string, fallback?: number): number {
  const v = t.int(node, name) ?? fallback ?? t.fail(node, `no ${name}`);
  if (!Number.isInteger(v) || v < 1) t.fail(node, `${name}=${v} must be a positive integer`);
  return v;
}

function spatialScale(node: Node, t: Translation): number {
  const scale = t.float(node, 'spatial_scale') ?? t.fail(node, 'no spatial_scale');
  if (!(scale > 0)) t.fail(node, `spatial_scale=${scale} must be positive`);
  return scale;
}

/** The ROIs, [R, 5] in float32, and which of them pool at all (`live`, [R, 1]): those before the first with batch index -1. */
interface Rois {
  rows: Value;
  live: Value;
  /** [R, 1] each, float32. */
  column: (i: number) => Value;
  /** The batch index, int64 [R, 1]; 0 for the ROIs that do not pool. */
  batch: Value;
}

function readRois(node: Node, t: Translation): Rois {
  const rows = inF32(t, t.input(node, 1), t.inputDType(node, 1));
  const column = (i: number): Value => t.add1('Slice', [rows, t.int64s([i]), t.int64s([i + 1]), t.int64s([1])]);
  // static_cast<int>: float to int64 truncates too.
  const index = t.add1('Cast', [column(0)], { to: 7 });
  const terminators = t.add1('Cast', [t.add1('Equal', [index, t.scalar('int64', -1)])], { to: 7 });
  const live = t.add1('Equal', [t.add1('CumSum', [terminators, t.scalar('int64', 0)]), t.scalar('int64', 0)]);
  const batch = t.add1('Where', [live, index, t.scalar('int64', 0)]);
  return { rows, live, column, batch };
}

/** `pooled` ([R, C, PH, PW]) with the ROIs that do not pool set to zero. */
function zeroDead(t: Translation, pooled: Value, rois: Rois, zero: Value): Value {
  return t.add1('Where', [t.add1('Unsqueeze', [rois.live, t.int64s([2, 3])]), pooled, zero]);
}

/** std::round: half away from zero (ONNX Round goes to even). floor(|x| + 0.5) would round 0.49999997 up. */
function roundHalfAway(t: Translation, x: Value): Value {
  const magnitude = t.add1('Abs', [x]);
  const whole = t.add1('Floor', [magnitude]);
  const up = t.add1('Cast', [t.add1('GreaterOrEqual', [t.add1('Sub', [magnitude, whole]), t.scalar('float32', 0.5)])], { to: FLOAT32 });
  return t.add1('Mul', [t.add1('Sign', [x]), t.add1('Add', [whole, up])]);
}

/** 0, 1, ..., n - 1 as float32, shaped [1, n]. */
function steps(t: Translation, n: number, from = 0): Value {
  return t.constant('float32', [1, n], Array.from({ length: n }, (_, i) => i + from));
}

function reshape(t: Translation, v: Value, shape: number[]): Value {
  return t.add1('Reshape', [v, t.int64s(shape)]);
}

/** Float positions (integral values) clipped to [lo, hi], as int64 indices. */
function clippedIndex(t: Translation, v: Value, lo: number, hi: number): Value {
  return t.add1('Cast', [t.add1('Clip', [v, t.scalar('float32', lo), t.scalar('float32', hi)])], { to: 7 });
}

/**
 * Bilinear samples of `flat` (a feature map flattened, float32) as the
 * reference interpolates: the neighbours floor(p) and min(ceil(p), size - 1)
 * on each axis, then top = tl + (tr - tl) * dx, bottom likewise, and
 * top + (bottom - top) * dy. `plane` is the flat offset of each sample's
 * [H, W] plane; `y` and `x` broadcast against it. Positions outside
 * [0, size - 1] read clipped neighbours: the caller masks them.
 */
function bilinear(t: Translation, flat: Value, plane: Value, y: Value, x: Value, height: number, width: number): Value {
  const axis = (p: Value, size: number): { low: Value; high: Value; fraction: Value } => {
    const floor = t.add1('Clip', [t.add1('Floor', [p]), t.scalar('float32', 0), t.scalar('float32', size - 1)]);
    return { low: t.add1('Cast', [floor], { to: 7 }), high: clippedIndex(t, t.add1('Ceil', [p]), 0, size - 1), fraction: t.add1('Sub', [p, floor]) };
  };
  const ys = axis(y, height);
  const xs = axis(x, width);
  const row = (r: Value): Value => t.add1('Add', [plane, t.add1('Mul', [r, t.scalar('int64', width)])]);
  const at = (r: Value, c: Value): Value => t.add1('Gather', [flat, t.add1('Add', [r, c])], { axis: 0 });
  const [top, bottom] = [row(ys.low), row(ys.high)];
  const lerp = (a: Value, b: Value, f: Value): Value => t.add1('Add', [a, t.add1('Mul', [t.add1('Sub', [b, a]), f])]);
  const upper = lerp(at(top, xs.low), at(top, xs.high), xs.fraction);
  const lower = lerp(at(bottom, xs.low), at(bottom, xs.high), xs.fraction);
  return lerp(upper, lower, ys.fraction);
}

function between(t: Translation, p: Value, lo: number, hi: number, hiInclusive = true): Value {
  return t.add1('And', [t.add1('GreaterOrEqual', [p, t.scalar('float32', lo)]), t.add1(hiInclusive ? 'LessOrEqual' : 'Less', [p, t.scalar('float32', hi)])]);
}

/** C (-1 when dynamic), H and W of input 0; H and W must be static. */
function mapSize(node: Node, t: Translation): { channels: number; height: number; width: number } {
  const [, channels, height, width] = t.spatialShape(node, 0) as [number, number, number, number];
  return { channels, height, width };
}

/** ROIPooling-2: [NUM_ROIS, C, pooled_h, pooled_w]. */
function roiPooling(node: Node, t: Translation): Value[] {
  const dtype = featureType(node, t);
  const size = t.ints(node, 'output_size');
  const pooledH = t.int(node, 'pooled_h') ?? size?.[0] ?? t.fail(node, 'no pooled_h');
  const pooledW = t.int(node, 'pooled_w') ?? size?.[1] ?? t.fail(node, 'no pooled_w');
  if (pooledH < 1 || pooledW < 1) t.fail(node, `pooled_h=${pooledH} and pooled_w=${pooledW} must be positive`);
  const method = (t.str(node, 'method') ?? 'max').trim().toLowerCase();
  if (method !== 'max' && method !== 'bilinear') t.fail(node, `method="${method}" is not translated (max and bilinear are)`);
  const x = inF32(t, t.input(node, 0), dtype);
  const rois = readRois(node, t);
  const zero = t.scalar('float32', 0);

  if (method === 'max') {
    const scale = spatialScale(node, t);
    // MaxRoiPool checks 0 <= batch < N for every ROI, pooling or not.
    const safe = t.add1('Concat', [t.add1('Where', [rois.live, rois.column(0), zero]), t.add1('Slice', [rois.rows, t.int64s([1]), t.int64s([5]), t.int64s([1])])], { axis: 1 });
    const pooled = t.add1('MaxRoiPool', [x, safe], { pooled_shape: [pooledH, pooledW], spatial_scale: attr.float(scale) });
    return [asType(t, zeroDead(t, pooled, rois, zero), dtype)];
  }

  // bilinear: coordinates normalized to [0, 1]; spatial_scale is not used.
  const { channels, height, width } = mapSize(node, t);
  if (channels < 0) t.fail(node, 'input 0 needs a static channel count for method="bilinear"');
  // One sample per output pixel, from start * (size - 1) to end * (size - 1); the last exactly at the end.
  const positions = (start: Value, end: Value, extent: number, pooled: number): Value => {
    const span = t.scalar('float32', extent - 1);
    if (pooled === 1) return t.add1('Mul', [t.add1('Mul', [t.add1('Add', [start, end]), t.scalar('float32', 0.5)]), span]);
    const stride = t.add1('Div', [t.add1('Mul', [t.add1('Sub', [end, start]), span]), t.scalar('float32', pooled - 1)]);
    const inner = t.add1('Add', [t.add1('Mul', [steps(t, pooled), stride]), t.add1('Mul', [start, span])]);
    const last = t.constant('bool', [1, pooled], Array.from({ length: pooled }, (_, i) => (i === pooled - 1 ? 1 : 0)));
    return t.add1('Where', [last, t.add1('Mul', [end, span]), inner]);
  };
  const ys = positions(rois.column(2), rois.column(4), height, pooledH);
  const xs = positions(rois.column(1), rois.column(3), width, pooledW);
  const y = reshape(t, ys, [-1, 1, pooledH, 1]);
  const xx = reshape(t, xs, [-1, 1, 1, pooledW]);
  const planes = t.add1('Add', [
    t.add1('Mul', [reshape(t, rois.batch, [-1, 1, 1, 1]), t.scalar('int64', channels * height * width)]),
    t.constant('int64', [1, channels, 1, 1], Array.from({ length: channels }, (_, c) => c * height * width)),
  ]);
  const sampled = bilinear(t, reshape(t, x, [-1]), planes, y, xx, height, width);
  const inside = t.add1('And', [between(t, y, 0, height - 1), between(t, xx, 0, width - 1)]);
  return [asType(t, zeroDead(t, t.add1('Where', [inside, sampled, zero]), rois, zero), dtype)];
}

/** PSROIPooling-1: [NUM_ROIS, output_dim, group_size, group_size]. */
function psRoiPooling(node: Node, t: Translation): Value[] {
  const dtype = featureType(node, t);
  const mode = (t.str(node, 'mode') ?? 'average').trim().toLowerCase();
  if (mode !== 'average' && mode !== 'bilinear') t.fail(node, `mode="${mode}" is not translated (average and bilinear are)`);
  const outputDim = positiveInt(node, t, 'output_dim');
  const group = positiveInt(node, t, 'group_size', 1);
  const scale = t.scalar('float32', spatialScale(node, t));
  const binsX = mode === 'bilinear' ? positiveInt(node, t, 'spatial_bins_x', 1) : 1;
  const binsY = mode === 'bilinear' ? positiveInt(node, t, 'spatial_bins_y', 1) : 1;
  const { channels: declared, height, width } = mapSize(node, t);
  const channels = outputDim * (mode === 'average' ? group * group : binsX * binsY);
  if (declared !== -1 && declared !== channels) {
    const product = mode === 'average' ? 'output_dim * group_size * group_size' : 'output_dim * spatial_bins_x * spatial_bins_y';
    t.fail(node, `input 0 has ${declared} channels and ${product} is ${channels}`);
  }
  const x = inF32(t, t.input(node, 0), dtype);
  const rois = readRois(node, t);
  const zero = t.scalar('float32', 0);
  const batchPlanes = (planeSize: number, rank: number): Value =>
    t.add1('Mul', [reshape(t, rois.batch, [-1, ...Array<number>(rank - 1).fill(1)]), t.scalar('int64', channels * planeSize)]);

  if (mode === 'average') {
    // Bin i of a box spans [floor(start + i * bin), ceil(start + (i + 1) * bin)), the box from round(x1) * scale to (round(x2) + 1) * scale.
    const edges = (first: number, last: number, extent: number): { low: Value; high: Value; filled: Value } => {
      const start = t.add1('Mul', [roundHalfAway(t, rois.column(first)), scale]);
      const end = t.add1('Mul', [t.add1('Add', [roundHalfAway(t, rois.column(last)), t.scalar('float32', 1)]), scale]);
      const bin = t.add1('Div', [t.add1('Sub', [end, start]), t.scalar('float32', group)]);
      const low = clippedIndex(t, t.add1('Floor', [t.add1('Add', [start, t.add1('Mul', [steps(t, group), bin])])]), 0, extent - 1);
      const high = clippedIndex(t, t.add1('Ceil', [t.add1('Add', [start, t.add1('Mul', [steps(t, group, 1), bin])])]), 0, extent);
      return { low, high, filled: t.add1('Greater', [high, low]) };
    };
    const rowsOf = edges(2, 4, height);
    const colsOf = edges(1, 3, width);
    const [stride, planeSize] = [width + 1, (height + 1) * (width + 1)];
    // table[n, c, i, j]: the sum of x[n, c, :i, :j].
    const summed = t.add1('CumSum', [t.add1('CumSum', [t.add1('Cast', [x], { to: FLOAT64 }), t.scalar('int64', 2)]), t.scalar('int64', 3)]);
    const table = reshape(t, t.add1('Pad', [summed, t.int64s([0, 0, 1, 1, 0, 0, 0, 0])]), [-1]);
    // Output channel c, bin (i, j) pools input channel (c * group + i) * group + j.
    const planes = t.add1('Add', [
      batchPlanes(planeSize, 4),
      t.constant('int64', [1, outputDim, group, group], Array.from({ length: channels }, (_, k) => k * planeSize)),
    ]);
    const rowAt = (r: Value): Value => t.add1('Mul', [reshape(t, r, [-1, 1, group, 1]), t.scalar('int64', stride)]);
    const colAt = (c: Value): Value => reshape(t, c, [-1, 1, 1, group]);
    const corner = (r: Value, c: Value): Value => t.add1('Gather', [table, t.add1('Add', [t.add1('Add', [planes, rowAt(r)]), colAt(c)])], { axis: 0 });
    const sum = t.add1('Add', [
      t.add1('Sub', [t.add1('Sub', [corner(rowsOf.high, colsOf.high), corner(rowsOf.low, colsOf.high)]), corner(rowsOf.high, colsOf.low)]),
      corner(rowsOf.low, colsOf.low),
    ]);
    const area = t.add1('Mul', [reshape(t, t.add1('Sub', [rowsOf.high, rowsOf.low]), [-1, 1, group, 1]), colAt(t.add1('Sub', [colsOf.high, colsOf.low]))]);
    const mean = t.add1('Cast', [t.add1('Div', [sum, t.add1('Cast', [area], { to: FLOAT64 })])], { to: FLOAT32 });
    const filled = t.add1('And', [reshape(t, rowsOf.filled, [-1, 1, group, 1]), colAt(colsOf.filled)]);
    return [asType(t, zeroDead(t, t.add1('Where', [filled, mean, zero]), rois, zero), dtype)];
  }

  // bilinear: the box split into bins_y x bins_x bins; output pixel (i, j) averages one sample per bin, at
  // i / (group - 1) of the bin's height and j / (group - 1) of its width (its centre when group is 1),
  // sub-bin (by, bx) read from input channels (by * bins_x + bx) * output_dim + c.
  const positions = (first: number, last: number, extent: number, bins: number): { at: Value; used: Value } => {
    const span = t.scalar('float32', extent - 1);
    const start = t.add1('Mul', [rois.column(first), scale]);
    const end = t.add1('Mul', [rois.column(last), scale]);
    const bin = t.add1('Div', [t.add1('Sub', [end, start]), t.scalar('float32', bins)]);
    const binStart = reshape(t, t.add1('Add', [start, t.add1('Mul', [steps(t, bins), bin])]), [-1, bins, 1]);
    const binSize = reshape(t, bin, [-1, 1, 1]);
    let at: Value;
    if (group === 1) {
      at = t.add1('Div', [t.add1('Mul', [t.add1('Add', [t.add1('Add', [binStart, binStart]), binSize]), span]), t.scalar('float32', 2)]);
    } else {
      const stride = t.add1('Div', [t.add1('Mul', [binSize, span]), t.scalar('float32', group - 1)]);
      at = t.add1('Add', [t.add1('Mul', [reshape(t, steps(t, group), [1, 1, group]), stride]), t.add1('Mul', [binStart, span])]);
    }
    return { at, used: between(t, at, 0, extent, false) };
  };
  const ys = positions(2, 4, height, binsY);
  const xs = positions(1, 3, width, binsX);
  // Samples laid out [R, bins_y, bins_x, output_dim, group, group].
  const y = reshape(t, ys.at, [-1, binsY, 1, 1, group, 1]);
  const xx = reshape(t, xs.at, [-1, 1, binsX, 1, 1, group]);
  // Row-major over [bins_y, bins_x, output_dim], k is the input channel (by * bins_x + bx) * output_dim + c.
  const planes = t.add1('Add', [
    batchPlanes(height * width, 6),
    t.constant('int64', [1, binsY, binsX, outputDim, 1, 1], Array.from({ length: channels }, (_, k) => k * height * width)),
  ]);
  const sampled = bilinear(t, reshape(t, x, [-1]), planes, y, xx, height, width);
  const used = t.add1('And', [reshape(t, ys.used, [-1, binsY, 1, 1, group, 1]), reshape(t, xs.used, [-1, 1, binsX, 1, 1, group])]);
  const total = t.add1('ReduceSum', [t.add1('Where', [used, sampled, zero]), t.int64s([1, 2])], { keepdims: 0 });
  const mean = t.add1('Div', [total, t.scalar('float32', binsX * binsY)]);
  return [asType(t, zeroDead(t, mean, rois, zero), dtype)];
}

registerTranslators({ ROIPooling: roiPooling, PSROIPooling: psRoiPooling });
