/**
 * Detection and miscellaneous OpenVINO ops: box priors, non-maximum
 * suppression, YOLO regions, and ops ONNX spells differently (Roll, GridSample...).
 *
 * PriorBox, PriorBoxClustered and Eye take sizes, not data: OpenVINO models
 * feed them Consts or shapes of static tensors (ShapeOf -> StridedSlice), so
 * they are computed here, at translation time, into an ONNX initializer
 * (`foldInts` follows those small shape subgraphs; anything else is refused).
 */
import { dtypeOfElementType } from '../../../formats/openvino/element-types';
import { priorBoxesPerCell } from '../../../formats/openvino/priors';
import { attr } from '../../../ir/attr';
import type { Node, Value } from '../../../ir/graph';
import { registerTranslators, type Translation } from '../translation';
import { normalizeAxis, onnxTypeOf, onnxTypeOfElementType } from './common';

const f32 = Math.fround;

/** A slice of a list with numpy/OpenVINO StridedSlice bounds (`ignoreBegin`/`ignoreEnd`: the mask bits). */
function slice1d(xs: number[], begin: number, end: number, step: number, ignoreBegin: boolean, ignoreEnd: boolean): number[] | undefined {
  const n = xs.length;
  if (step === 0) return undefined;
  const at = (i: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, i < 0 ? i + n : i));
  const start = ignoreBegin ? (step > 0 ? 0 : n - 1) : step > 0 ? at(begin, 0, n) : at(begin, -1, n - 1);
  const stop = ignoreEnd ? (step > 0 ? n : -1) : step > 0 ? at(end, 0, n) : at(end, -1, n - 1);
  const out: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(xs[i]!);
  return out;
}

/**
 * The integer values of `v` when they are known before running the model: a
 * Const, the ShapeOf of a tensor whose declared shape is static, or a small
 * shape computation on those (Convert, StridedSlice/Slice/Gather of a 1-D
 * list, Concat, Squeeze/Unsqueeze/Reshape of a list). Undefined otherwise.
 */
function foldInts(v: Value | null | undefined, depth = 0): number[] | undefined {
  if (!v || depth > 64) return undefined;
  if (v.const) return Array.from(v.const.toFloat64(), (x) => Math.trunc(x));
  const p = v.producer;
  if (!p || p.outputs.indexOf(v) !== 0) return undefined;
  const arg = (i: number): number[] | undefined => foldInts(p.inputs[i], depth + 1);
  const mask = (name: string, i: number): boolean => {
    const a = p.attrs.get(name);
    if (!a || a.kind !== 'string' || a.value.trim() === '') return false;
    return Number(a.value.split(',')[i] ?? 0) !== 0;
  };
  switch (p.op) {
    case 'ShapeOf': {
      const s = p.inputs[0]?.shape;
      return s && s.every((d) => typeof d === 'number') ? (s as number[]) : undefined;
    }
    case 'Convert':
    case 'Squeeze':
    case 'Unsqueeze':
    case 'Reshape':
      return arg(0);
    case 'StridedSlice': {
      const [data, begin, end] = [arg(0), arg(1), arg(2)];
      const stride = p.inputs[3] ? arg(3) : [1];
      if (!data || !begin || !end || !stride || begin.length !== 1 || end.length !== 1 || stride.length !== 1) return undefined;
      if (['new_axis_mask', 'shrink_axis_mask', 'ellipsis_mask'].some((m) => mask(m, 0))) return undefined;
      return slice1d(data, begin[0]!, end[0]!, stride[0]!, mask('begin_mask', 0), mask('end_mask', 0));
    }
    case 'Slice': {
      const [data, start, stop, step] = [arg(0), arg(1), arg(2), arg(3)];
      const axes = p.inputs[4] ? arg(4) : [0];
      if (!data || !start || !stop || !step || !axes || start.length !== 1 || stop.length !== 1 || step.length !== 1) return undefined;
      if (axes.length !== 1 || (axes[0] !== 0 && axes[0] !== -1)) return undefined;
      return slice1d(data, start[0]!, stop[0]!, step[0]!, false, false);
    }
    case 'Gather': {
      const [data, indices, axis] = [arg(0), arg(1), arg(2)];
      if (!data || !indices || !axis || (axis[0] !== 0 && axis[0] !== -1)) return undefined;
      const picked = indices.map((i) => data[i < 0 ? i + data.length : i]);
      return picked.every((x) => x !== undefined) ? (picked as number[]) : undefined;
    }
    case 'Concat': {
      const parts = p.inputs.map((_, i) => arg(i));
      return parts.every((x) => x !== undefined) ? (parts as number[][]).flat() : undefined;
    }
    default:
      return undefined;
  }
}

/** Input `i` as integers known at translation time; fails (naming `what`) otherwise. */
function staticInts(node: Node, t: Translation, i: number, what: string): number[] {
  const values = foldInts(node.inputs[i]);
  if (!values) t.fail(node, `${what} (input ${i}) must be a constant or the shape of a statically shaped tensor for this translation`);
  return values;
}

/** `[height, width]` from input `i` (the feature map or image size of the box priors). */
function sizePair(node: Node, t: Translation, i: number, what: string): [number, number] {
  const v = staticInts(node, t, i, what);
  if (v.length !== 2) t.fail(node, `${what} (input ${i}) has ${v.length} values, not [height, width]`);
  return [v[0]!, v[1]!];
}

/** The box-prior output, [2, 4 * priors]: the boxes, then the variances. */
function priorsOutput(node: Node, t: Translation, boxes: number[], variance: number[]): Value {
  const n = boxes.length;
  const declared = t.outputShape(node, 0);
  if (declared && declared.length === 2 && typeof declared[1] === 'number' && declared[1] !== n) {
    t.fail(node, `the layer declares ${declared[1]} box values and the specification gives ${n}`);
  }
  const vars = Array.from({ length: n }, (_, i) => (variance.length === 1 ? variance[0]! : variance[i % 4]!));
  return t.constant('float32', [2, n], [...boxes, ...vars]);
}

function readVariance(node: Node, t: Translation): number[] {
  const variance = (t.floats(node, 'variance') ?? []).map(f32);
  if (variance.length !== 0 && variance.length !== 1 && variance.length !== 4) t.fail(node, `variance has ${variance.length} values (0, 1 or 4 are valid)`);
  return variance.length === 0 ? [f32(0.1)] : variance;
}

/**
 * PriorBox-1 and -8 (min/max sizes and aspect ratios, the SSD form), as the
 * OpenVINO specification and its reference implementation compute them, in
 * float32 arithmetic. PriorBox-1 orders each cell's boxes min, max, then
 * aspect ratios (PriorBox-8's min_max_aspect_ratios_order=true). The
 * fixed_size/fixed_ratio/density form is not translated.
 */
function priorBox(node: Node, t: Translation): Value[] {
  if (node.domain !== 'opset1' && node.domain !== 'opset8') t.fail(node, `PriorBox of ${node.domain} is not translated (opset1 and opset8 are)`);
  for (const a of ['fixed_size', 'fixed_ratio', 'density']) {
    if ((t.floats(node, a) ?? []).length > 0) t.fail(node, `${a} is not translated (only min_size/max_size/aspect_ratio priors are)`);
  }
  const [H, W] = sizePair(node, t, 0, 'the feature map size');
  const [IH, IW] = sizePair(node, t, 1, 'the image size');
  const flip = t.bool(node, 'flip') ?? false;
  const clip = t.bool(node, 'clip') ?? false;
  const scaleAll = t.bool(node, 'scale_all_sizes') ?? true;
  const minMaxOrder = node.domain === 'opset8' ? (t.bool(node, 'min_max_aspect_ratios_order') ?? true) : true;
  const offset = f32(t.float(node, 'offset') ?? 0);
  let step = f32(t.float(node, 'step') ?? 0);
  let minSizes = (t.floats(node, 'min_size') ?? []).map(f32);
  const maxSizes = (t.floats(node, 'max_size') ?? []).map(f32);
  const variance = readVariance(node, t);
  if (maxSizes.length > minSizes.length) t.fail(node, `max_size has more values (${maxSizes.length}) than min_size (${minSizes.length})`);
  if (!scaleAll && maxSizes.length > 0) t.fail(node, 'scale_all_sizes=false with max_size is not translated (the specification counts no max-size boxes then)');

  const ratios = [1];
  for (const r of (t.floats(node, 'aspect_ratio') ?? []).map(f32)) {
    if (ratios.some((x) => Math.abs(r - x) < 1e-6)) continue;
    ratios.push(r);
    if (flip) ratios.push(f32(1 / r));
  }
  // The output size the specification gives (the reference's number_of_priors).
  const perCell = priorBoxesPerCell(t.floats(node, 'aspect_ratio') ?? [], flip, minSizes.length, maxSizes.length, scaleAll);

  if (!scaleAll) {
    // The MXNet form: step and sizes are fractions of the image height.
    step = step === -1 ? f32(IH / H) : f32(step * IH);
    minSizes = minSizes.map((s) => f32(s * IH));
  }
  const iwi = f32(1 / IW);
  const ihi = f32(1 / IH);
  const stepX = step === 0 ? f32(IW / W) : step;
  const stepY = step === 0 ? f32(IH / H) : step;
  const boxes: number[] = [];
  for (let h = 0; h < H; h++) {
    for (let w = 0; w < W; w++) {
      const cx = step === 0 ? f32(f32(w + 0.5) * stepX) : f32(f32(offset + w) * step);
      const cy = step === 0 ? f32(f32(h + 0.5) * stepY) : f32(f32(offset + h) * step);
      const box = (bw: number, bh: number): void => {
        boxes.push(f32(f32(cx - bw) * iwi), f32(f32(cy - bh) * ihi), f32(f32(cx + bw) * iwi), f32(f32(cy + bh) * ihi));
      };
      minSizes.forEach((minSize, k) => {
        const half = f32(minSize * 0.5);
        box(half, half);
        const maxBox = (): void => {
          if (k >= maxSizes.length) return;
          const s = f32(f32(Math.sqrt(f32(minSize * maxSizes[k]!))) * 0.5);
          box(s, s);
        };
        const ratioBoxes = (): void => {
          if (!scaleAll && k !== minSizes.length - 1) return;
          const base = f32(minSizes[scaleAll ? k : 0]! * 0.5);
          for (const r of ratios) {
            if (Math.abs(r - 1) < 1e-6) continue;
            const sr = f32(Math.sqrt(r));
            box(f32(base * sr), f32(base / sr));
          }
        };
        if (minMaxOrder) {
          maxBox();
          ratioBoxes();
        } else {
          ratioBoxes();
          maxBox();
        }
      });
    }
  }
  if (boxes.length !== H * W * perCell * 4) t.fail(node, `the attributes give ${boxes.length / 4 / Math.max(1, H * W)} boxes per cell and the specification's output size ${perCell}`);
  const out = clip ? boxes.map((x) => Math.min(Math.max(x, 0), 1)) : boxes;
  return [priorsOutput(node, t, out, variance)];
}

/** PriorBoxClustered-1: one box per (width, height) pair around each cell centre. */
function priorBoxClustered(node: Node, t: Translation): Value[] {
  const [H, W] = sizePair(node, t, 0, 'the feature map size');
  const [IH, IW] = sizePair(node, t, 1, 'the image size');
  for (const a of ['img_h', 'img_w']) if ((t.float(node, a) ?? 0) !== 0) t.fail(node, `${a} other than 0 is not translated (the image size comes from input 1)`);
  const widths = (t.floats(node, 'width') ?? [1]).map(f32);
  const heights = (t.floats(node, 'height') ?? [1]).map(f32);
  if (widths.length !== heights.length) t.fail(node, `width has ${widths.length} values and height ${heights.length}`);
  const clip = t.bool(node, 'clip') ?? true;
  const offset = f32(t.float(node, 'offset') ?? 0.5);
  const step = f32(t.float(node, 'step') ?? 0);
  let stepW = f32(t.float(node, 'step_w') ?? 0);
  let stepH = f32(t.float(node, 'step_h') ?? 0);
  if ((stepW === 0) !== (stepH === 0)) t.fail(node, `step_w=${stepW} with step_h=${stepH} is not translated (both 0 or both set)`);
  if (stepW === 0) stepW = stepH = step;
  if (stepW === 0) {
    stepW = f32(IW / W);
    stepH = f32(IH / H);
  }
  const variance = readVariance(node, t);
  const boxes: number[] = [];
  const clamp = (x: number): number => (clip ? Math.min(Math.max(x, 0), 1) : x);
  for (let h = 0; h < H; h++) {
    for (let w = 0; w < W; w++) {
      const cx = f32(f32(w + offset) * stepW);
      const cy = f32(f32(h + offset) * stepH);
      widths.forEach((bw, s) => {
        const hw = f32(bw / 2);
        const hh = f32(heights[s]! / 2);
        boxes.push(clamp(f32(f32(cx - hw) / IW)), clamp(f32(f32(cy - hh) / IH)), clamp(f32(f32(cx + hw) / IW)), clamp(f32(f32(cy + hh) / IH)));
      });
    }
  }
  return [priorsOutput(node, t, boxes, variance)];
}

/**
 * RegionYolo-0: per region, sigmoid of x, y and the objectness; the class
 * scores softmaxed over the classes (do_softmax, YOLOv2, every `num` region,
 * the output flattened from axis to end_axis) or each sigmoided (YOLOv3, the
 * regions of `mask`, shape kept).
 */
function regionYolo(node: Node, t: Translation): Value[] {
  const rank = t.requireRank(node, 0);
  if (rank !== 4) t.fail(node, `input 0 has rank ${rank} (RegionYolo takes [N, C, H, W])`);
  const coords = t.int(node, 'coords') ?? 4;
  const classes = t.int(node, 'classes') ?? 80;
  const num = t.int(node, 'num') ?? 1;
  const softmax = t.bool(node, 'do_softmax') ?? true;
  const mask = t.ints(node, 'mask') ?? [];
  if (coords < 2) t.fail(node, `coords=${coords} is not translated (2 or more are)`);
  const regions = softmax ? num : mask.length;
  const entry = coords + classes + 1;
  const c = t.inputShape(node, 0)?.[1];
  if (typeof c !== 'number') t.fail(node, 'the channel dimension of input 0 must be static');
  if (c !== regions * entry) t.fail(node, `input 0 has ${c} channels, not ${regions} regions x ${entry} (coords + classes + 1)`);
  const x = t.input(node, 0);
  const r = t.add1('Reshape', [x, t.int64s([0, regions, entry, -1])]);
  const sizes = [2, coords - 2, 1, classes];
  const kept = sizes.map((s, i) => [s, i] as const).filter(([s]) => s > 0);
  const parts = t.add('Split', [r, t.int64s(kept.map(([s]) => s))], { axis: 2 }, kept.length);
  const done = parts.map((part, k) => {
    const which = kept[k]![1];
    if (which === 1) return part;
    if (which === 3 && softmax) return t.add1('Softmax', [part], { axis: 2 });
    return t.add1('Sigmoid', [part]);
  });
  const joined = done.length === 1 ? done[0]! : t.add1('Concat', done, { axis: 2 });
  const shape = t.add1('Shape', [x]);
  if (!softmax) return [t.add1('Reshape', [joined, shape])];
  const axis = normalizeAxis(node, t, t.int(node, 'axis') ?? 1, 4);
  const endAxis = normalizeAxis(node, t, t.int(node, 'end_axis') ?? 3, 4);
  if (endAxis < axis) t.fail(node, `end_axis ${endAxis} is before axis ${axis}`);
  const pieces: Value[] = [];
  if (axis > 0) pieces.push(t.add1('Slice', [shape, t.int64s([0]), t.int64s([axis])]));
  pieces.push(t.int64s([-1]));
  if (endAxis < 3) pieces.push(t.add1('Slice', [shape, t.int64s([endAxis + 1]), t.int64s([4])]));
  return [t.add1('Reshape', [joined, pieces.length === 1 ? pieces[0]! : t.add1('Concat', pieces, { axis: 0 })])];
}

/**
 * ReorgYolo-0 (stride s): the reference reads the [N, C, H, W] input as
 * [N, C/s², H·s, W·s] and writes element (c, h, w) of an [N, C, H, W] view from
 * (c mod C/s², h·s + (c div C/s²) div s, w·s + (c div C/s²) mod s): a reshape,
 * a transpose and a reshape to [N, C·s², H/s, W/s].
 */
function reorgYolo(node: Node, t: Translation): Value[] {
  const strides = t.ints(node, 'stride') ?? [];
  if (strides.length === 0 || strides.some((s) => s !== strides[0]) || strides[0]! < 1) t.fail(node, `stride="${strides.join(',')}" is not translated (one positive stride)`);
  const s = strides[0]!;
  const shape = t.inputShape(node, 0);
  if (!shape || shape.length !== 4 || shape.slice(1).some((d) => typeof d !== 'number')) t.fail(node, 'input 0 must be [N, C, H, W] with static C, H and W');
  const [C, H, W] = shape.slice(1) as number[];
  if (C! % (s * s) !== 0 || H! % s !== 0 || W! % s !== 0) t.fail(node, `input [N, ${C}, ${H}, ${W}] does not divide by stride ${s}`);
  const c2 = C! / (s * s);
  const v6 = t.add1('Reshape', [t.input(node, 0), t.int64s([0, c2, H!, s, W!, s])]);
  const moved = t.add1('Transpose', [v6], { perm: [0, 3, 5, 1, 2, 4] });
  return [t.add1('Reshape', [moved, t.int64s([0, C! * s * s, H! / s, W! / s])])];
}

/** Roll-7: per rolled axis (shifts of a repeated axis add up), the last `shift mod n` elements moved to the front with Slice + Concat. */
function roll(node: Node, t: Translation): Value[] {
  const rank = t.requireRank(node, 0);
  const shifts = t.constInts(node, 1);
  const axes = t.constInts(node, 2);
  if (shifts.length !== 1 && shifts.length !== axes.length) t.fail(node, `shift has ${shifts.length} values and axes ${axes.length}`);
  const total = new Map<number, number>();
  axes.forEach((a, i) => {
    const axis = normalizeAxis(node, t, a, rank);
    total.set(axis, (total.get(axis) ?? 0) + shifts[shifts.length === 1 ? 0 : i]!);
  });
  const shape = t.inputShape(node, 0);
  let v = t.input(node, 0);
  for (const [axis, shift] of [...total].sort((a, b) => a[0] - b[0])) {
    const n = shape?.[axis];
    if (typeof n !== 'number') t.fail(node, `dimension ${axis} of input 0 must be static to roll it`);
    if (n === 0) continue;
    const k = ((shift % n) + n) % n;
    if (k === 0) continue;
    const ax = t.int64s([axis]);
    const tail = t.add1('Slice', [v, t.int64s([n - k]), t.int64s([n]), ax]);
    const head = t.add1('Slice', [v, t.int64s([0]), t.int64s([n - k]), ax]);
    v = t.add1('Concat', [tail, head], { axis });
  }
  return [v === t.input(node, 0) ? t.add1('Identity', [v]) : v];
}

/**
 * GridSample-9 as ONNX GridSample-16. Both denormalize the grid the same way
 * (align_corners), round nearest half to even, use A = -0.75 for bicubic, and
 * pad out-of-range pixels the same way, with one exception: with `border`
 * ONNX clamps the sampling coordinate before bicubic interpolation while
 * OpenVINO clamps each of the 16 pixel indices, so bicubic + border differ
 * near the edges and are refused.
 */
function gridSample(node: Node, t: Translation): Value[] {
  const align = t.bool(node, 'align_corners') ?? false;
  const mode = (t.str(node, 'mode') ?? 'bilinear').trim();
  const padding = (t.str(node, 'padding_mode') ?? 'zeros').trim();
  if (!['bilinear', 'bicubic', 'nearest'].includes(mode)) t.fail(node, `mode="${mode}" is not translated`);
  if (!['zeros', 'border', 'reflection'].includes(padding)) t.fail(node, `padding_mode="${padding}" is not translated`);
  if (mode === 'bicubic' && padding === 'border') {
    t.fail(node, 'mode="bicubic" with padding_mode="border" is not translated (ONNX clamps the coordinate, OpenVINO each pixel index: they differ near the border)');
  }
  if (padding === 'reflection' && align) {
    // OpenVINO reflects a size-1 dimension onto index 0; ONNX divides by the zero range.
    const shape = t.inputShape(node, 0);
    const hw = shape?.slice(2);
    if (!hw || hw.length !== 2 || hw.some((d) => typeof d !== 'number' || d < 2)) t.fail(node, 'padding_mode="reflection" with align_corners needs static H and W of 2 or more');
  }
  return [t.add1('GridSample', [t.input(node, 0), t.input(node, 1)], { align_corners: align ? 1 : 0, mode, padding_mode: padding })];
}

/** Eye-9 from sizes known at translation time: ones where column - row = diagonal_index, over the batch_shape. */
function eye(node: Node, t: Translation): Value[] {
  const one = (i: number, what: string): number => {
    const v = staticInts(node, t, i, what);
    if (v.length !== 1) t.fail(node, `${what} (input ${i}) has ${v.length} values, not 1`);
    return v[0]!;
  };
  const rows = one(0, 'num_rows');
  const cols = one(1, 'num_columns');
  const diag = one(2, 'diagonal_index');
  const batch = node.inputs[3] ? staticInts(node, t, 3, 'batch_shape') : [];
  if (rows < 0 || cols < 0 || batch.some((d) => d < 0)) t.fail(node, 'negative sizes');
  const typeName = (t.str(node, 'output_type') ?? '').trim();
  const dtype = dtypeOfElementType(typeName);
  if (!dtype) t.fail(node, `output_type="${typeName}" is not an element type`);
  onnxTypeOf(node, t, dtype);
  const count = batch.reduce((a, b) => a * b, 1);
  const plane = Array.from({ length: rows * cols }, (_, i) => (i % cols) - Math.floor(i / cols) === diag ? 1 : 0);
  // Copied element by element: a spread of a large plane overflows the stack.
  const values = new Array<number>(count * plane.length);
  for (let b = 0; b < count; b++) for (let i = 0; i < plane.length; i++) values[b * plane.length + i] = plane[i]!;
  return [t.constant(dtype, [...batch, rows, cols], values)];
}

/**
 * Bucketize-3: the bucket index of each value is the number of boundaries
 * below it (with_right_bound: buckets[i-1] < x <= buckets[i]) or at or below
 * it (buckets[i-1] <= x < buckets[i]); counted by comparing against every
 * boundary and summing.
 */
function bucketize(node: Node, t: Translation): Value[] {
  const right = t.bool(node, 'with_right_bound') ?? true;
  const outType = (t.str(node, 'output_type') ?? 'i64').trim();
  if (outType !== 'i64' && outType !== 'i32') t.fail(node, `output_type="${outType}" is not translated (i64 and i32 are)`);
  const bRank = t.inputRank(node, 1);
  if (bRank !== undefined && bRank !== 1) t.fail(node, `buckets have rank ${bRank} (1 is valid)`);
  let x = t.input(node, 0);
  let buckets = t.input(node, 1);
  const xt = t.inputDType(node, 0);
  const bt = t.inputDType(node, 1);
  if (!xt || !bt) t.fail(node, 'the element types of the inputs must be known');
  if (xt !== bt) {
    x = t.add1('Cast', [x], { to: onnxTypeOf(node, t, 'float64') });
    buckets = t.add1('Cast', [buckets], { to: onnxTypeOf(node, t, 'float64') });
  }
  const column = t.add1('Unsqueeze', [x, t.int64s([-1])]);
  // right bound: count the buckets b < x (the reference's lower_bound); left: those with not x < b (upper_bound).
  const below = right ? t.add1('Greater', [column, buckets]) : t.add1('Not', [t.add1('Less', [column, buckets])]);
  const counts = t.add1('ReduceSum', [t.add1('Cast', [below], { to: onnxTypeOf(node, t, 'int64') }), t.int64s([-1])], { keepdims: 0 });
  return [outType === 'i64' ? counts : t.add1('Cast', [counts], { to: onnxTypeOfElementType(node, t, 'i32') })];
}

/** The largest float32 below `x` (x a positive float32): `iou >= x` is `iou > below(x)` for float32 IoUs. */
function float32Below(x: number): number {
  const b = new Float32Array([x]);
  const u = new Uint32Array(b.buffer);
  u[0] = u[0]! - 1;
  return b[0]!;
}

/** A scalar Const input as a number (`fallback` when the port is absent). */
function constScalar(node: Node, t: Translation, i: number, what: string, fallback: number): number {
  if (!node.inputs[i]) return fallback;
  const c = t.constInput(node, i);
  if (!c || c.size !== 1) t.fail(node, `${what} (input ${i}) must be a constant scalar for this translation`);
  return c.toFloat64()[0]!;
}

/**
 * NonMaxSuppression-5 and -9 (hard NMS, sort_result_descending=false) as ONNX
 * NonMaxSuppression-11, which selects the same boxes in the same order (per
 * batch, per class, by descending score, ties by box index) when fed what
 * OpenVINO compares:
 * - OpenVINO reads corner boxes as given ([y1, x1, y2, x2]; a box with
 *   y2 <= y1 or x2 <= x1 overlaps nothing), ONNX sorts each box's corners
 *   first: such boxes become all-zero boxes, which ONNX never suppresses by
 *   nor suppresses; center boxes are turned into corners as OpenVINO does;
 * - NMS-5 suppresses at IoU >= iou_threshold, ONNX and NMS-9 at IoU >
 *   iou_threshold: for NMS-5 the threshold is lowered by one float32 step;
 * - an absent score_threshold is 0 in OpenVINO (scores <= 0 dropped) and none
 *   in ONNX: it is always given.
 * The outputs: selected_indices, selected_scores ([batch, class, score]) and
 * valid_outputs, sized to the boxes selected (OpenVINO's dynamic shape).
 * Soft NMS (soft_nms_sigma != 0) and sort_result_descending=true (a sort across
 * batches and classes whose ties the reference breaks within 1e-6) are refused.
 */
function nonMaxSuppression(node: Node, t: Translation): Value[] {
  if (node.domain !== 'opset5' && node.domain !== 'opset9') t.fail(node, `NonMaxSuppression of ${node.domain} is not translated (opset5 and opset9 are)`);
  const encoding = (t.str(node, 'box_encoding') ?? 'corner').trim();
  if (encoding !== 'corner' && encoding !== 'center') t.fail(node, `box_encoding="${encoding}" is not translated`);
  if (t.bool(node, 'sort_result_descending') ?? true) {
    t.fail(node, 'sort_result_descending=true is not translated (ONNX keeps the per-batch, per-class order; false is translated)');
  }
  const outType = (t.str(node, 'output_type') ?? 'i64').trim();
  if (outType !== 'i64' && outType !== 'i32') t.fail(node, `output_type="${outType}" is not translated (i64 and i32 are)`);
  const sigma = constScalar(node, t, 5, 'soft_nms_sigma', 0);
  if (sigma !== 0) t.fail(node, `soft_nms_sigma=${sigma} (soft NMS) is not translated (0, hard NMS, is)`);
  const iou = f32(constScalar(node, t, 3, 'iou_threshold', 0));
  const scoreThreshold = f32(constScalar(node, t, 4, 'score_threshold', 0));
  const atLeast = node.domain === 'opset5';
  if (atLeast ? !(iou > 0) : !(iou >= 0)) {
    t.fail(node, `iou_threshold=${iou} is not translated (ONNX never suppresses by a box that does not overlap; ${atLeast ? 'above 0' : '0 or more'} is)`);
  }
  const boxesType = t.inputDType(node, 0);
  const scoresType = t.inputDType(node, 1);
  if (boxesType !== 'float32' || scoresType !== 'float32') t.fail(node, `boxes and scores must be f32 (got ${boxesType ?? 'unknown'} and ${scoresType ?? 'unknown'})`);

  let boxes = t.input(node, 0);
  const [c0, c1, c2, c3] = t.add('Split', [boxes, t.int64s([1, 1, 1, 1])], { axis: 2 }, 4) as [Value, Value, Value, Value];
  let corners: [Value, Value, Value, Value];
  if (encoding === 'center') {
    // [x_center, y_center, width, height] -> [y1, x1, y2, x2]
    const half = t.scalar('float32', 2);
    const hw = t.add1('Div', [c2, half]);
    const hh = t.add1('Div', [c3, half]);
    corners = [t.add1('Sub', [c1, hh]), t.add1('Sub', [c0, hw]), t.add1('Add', [c1, hh]), t.add1('Add', [c0, hw])];
    boxes = t.add1('Concat', corners, { axis: 2 });
  } else {
    corners = [c0, c1, c2, c3];
  }
  const proper = t.add1('And', [t.add1('Greater', [corners[2], corners[0]]), t.add1('Greater', [corners[3], corners[1]])]);
  boxes = t.add1('Where', [proper, boxes, t.scalar('float32', 0)]);

  const maxPerClass = node.inputs[2]
    ? t.add1('Reshape', [t.inputDType(node, 2) === 'int64' ? t.input(node, 2) : t.add1('Cast', [t.input(node, 2)], { to: onnxTypeOf(node, t, 'int64') }), t.int64s([1])])
    : t.int64s([0]);
  const onnxIou = atLeast ? float32Below(iou) : iou;
  const selected = t.add1('NonMaxSuppression', [boxes, t.input(node, 1), maxPerClass, t.constant('float32', [1], [onnxIou]), t.constant('float32', [1], [scoreThreshold])], { center_point_box: 0 });

  const toOut = (v: Value): Value => (outType === 'i64' ? v : t.add1('Cast', [v], { to: onnxTypeOfElementType(node, t, 'i32') }));
  const score = t.add1('Unsqueeze', [t.add1('GatherND', [t.input(node, 1), selected]), t.int64s([1])]);
  const batchClass = t.add1('Cast', [t.add1('Slice', [selected, t.int64s([0]), t.int64s([2]), t.int64s([1])])], { to: onnxTypeOf(node, t, 'float32') });
  const scores = t.add1('Concat', [batchClass, score], { axis: 1 });
  const valid = t.add1('Slice', [t.add1('Shape', [selected]), t.int64s([0]), t.int64s([1])]);
  return [toOut(selected), scores, toOut(valid)];
}

const CORNER = 'caffe.PriorBoxParameter.CORNER';
const CENTER_SIZE = 'caffe.PriorBoxParameter.CENTER_SIZE';

/**
 * DetectionOutput-1 and -8 (the SSD head) as OpenVINO's reference computes
 * it, in float32, for the three-input form:
 *
 * 1. box_logits [B, P·L·4] (L = 1 with share_location, else the classes) are
 *    decoded against the priors [1 or B, 1 or 2, P·4 or P·5] (CORNER: prior
 *    + variance·logit; CENTER_SIZE: centre shifted by variance·logit·size,
 *    size scaled by exp(variance·logit)), in the reference's operation order;
 *    optionally clipped to [0, 1] (clip_before_nms).
 * 2. Per image and class (the background class left out; decrease_label_id:
 *    each prior's best class from 1 on, kept when its score >= the
 *    threshold), the top_k highest scores are NMS candidates (a TopK mask),
 *    and ONNX NonMaxSuppression, run on [B·C] single-class batches, keeps
 *    those above confidence_threshold whose IoU with every kept box is at
 *    most nms_threshold. ONNX and the reference both order by score with the
 *    lower prior first on ties, compare `score > threshold` and `IoU >
 *    threshold`, and compute the IoU with the same float32 operations; an
 *    inverted box (max < min) overlaps nothing in the reference and is
 *    zeroed for the NMS (onnxruntime would sort its corners).
 * 3. keep_top_k: per image, the keep_top_k best detections (score, then
 *    prior) over all classes, found with a TopK over a dense [B, P·C] score
 *    map (ties between classes of one prior, unspecified in the reference,
 *    go to the lower class).
 * 4. Rows (image, label, score, xmin, ymin, xmax, ymax) by image, class and
 *    NMS order (clip_after_nms clamps the box), then one row of image -1 and
 *    zeros up to the N rows of OpenVINO's shape inference (B·keep_top_k,
 *    else B·top_k·C, else B·P·C; the reference leaves the rows after the
 *    end row 0).
 *
 * The five-input form (objectness_score, the ARM cascade) and element types
 * other than f32 are refused.
 */
function detectionOutput(node: Node, t: Translation): Value[] {
  if (node.domain !== 'opset1' && node.domain !== 'opset8') t.fail(node, `DetectionOutput of ${node.domain} is not translated (opset1 and opset8 are)`);
  if (node.inputs.length !== 3) t.fail(node, `${node.inputs.length} inputs are not translated (the three-input form is; the five-input ARM form with objectness_score is not)`);
  for (let i = 0; i < 3; i++) {
    const dt = t.inputDType(node, i);
    if (dt !== 'float32') t.fail(node, `input ${i} is ${dt ?? 'of an unknown type'} (f32 is translated)`);
  }
  const [B, locWidth] = shape2(node, t, 0, 'box_logits');
  const [B2, confWidth] = shape2(node, t, 1, 'class_preds');
  const priorsShape = t.staticShape(node, 2);
  if (priorsShape.length !== 3) t.fail(node, `proposals have rank ${priorsShape.length} (3 is valid)`);
  const [PB, R, priorWidth] = priorsShape as [number, number, number];
  if (B2 !== B) t.fail(node, `box_logits have ${B} images and class_preds ${B2}`);

  const normalized = t.bool(node, 'normalized') ?? false;
  const encoded = t.bool(node, 'variance_encoded_in_target') ?? false;
  const share = t.bool(node, 'share_location') ?? true;
  const codeType = (t.str(node, 'code_type') ?? CORNER).trim();
  if (codeType !== CORNER && codeType !== CENTER_SIZE) t.fail(node, `code_type="${codeType}" is not translated (${CORNER} and ${CENTER_SIZE} are)`);
  const priorSize = normalized ? 4 : 5;
  if (priorWidth % priorSize !== 0) t.fail(node, `proposals hold ${priorWidth} values per row, not a multiple of ${priorSize}`);
  const P = priorWidth / priorSize;
  if (PB !== 1 && PB !== B) t.fail(node, `proposals have batch ${PB} for ${B} images (1 or ${B} is translated)`);
  if (!encoded && R < 2) t.fail(node, 'proposals have no variance row and variance_encoded_in_target is false');
  if (PB > 1 && R !== (encoded ? 1 : 2)) t.fail(node, `proposals [${PB}, ${R}, ${priorWidth}] with variance_encoded_in_target=${encoded} are not translated (the reference steps through them differently)`);
  if (P === 0) t.fail(node, 'there are no priors');

  let C: number;
  if (node.domain === 'opset1') {
    const n = t.int(node, 'num_classes');
    if (n === undefined) t.fail(node, 'num_classes is missing');
    C = n;
    if (confWidth !== P * C) t.fail(node, `class_preds hold ${confWidth} values per image, not ${P} priors x ${C} classes`);
  } else {
    if (confWidth % P !== 0) t.fail(node, `class_preds hold ${confWidth} values per image, not a multiple of ${P} priors`);
    C = confWidth / P;
  }
  if (C < 1) t.fail(node, `${C} classes`);
  const L = share ? 1 : C;
  if (locWidth !== P * L * 4) t.fail(node, `box_logits hold ${locWidth} values per image, not ${P} priors x ${L} location classes x 4`);

  const bg = t.int(node, 'background_label_id') ?? 0;
  const topK = t.int(node, 'top_k') ?? -1;
  const keepTopKs = t.ints(node, 'keep_top_k');
  if (!keepTopKs || keepTopKs.length === 0) t.fail(node, 'keep_top_k is missing');
  const keepTopK = keepTopKs[0]!;
  const nmsThreshold = t.float(node, 'nms_threshold');
  if (nmsThreshold === undefined) t.fail(node, 'nms_threshold is missing');
  const confThreshold = f32(t.float(node, 'confidence_threshold') ?? 0);
  const clipBefore = t.bool(node, 'clip_before_nms') ?? false;
  const clipAfter = t.bool(node, 'clip_after_nms') ?? false;
  const decrease = t.bool(node, 'decrease_label_id') ?? false;
  if (topK === 0 || keepTopK === 0) t.fail(node, `top_k=${topK} with keep_top_k=${keepTopK} is not translated (0 keeps nothing)`);

  // The output rows as OpenVINO's shape inference computes them from the attributes and input shapes.
  const N = keepTopK > 0 ? B * keepTopK : topK > 0 ? B * topK * C : B * P * C;

  const i64 = (xs: number[]): Value => t.int64s(xs);
  // Large fills as an Expand of a scalar, not initializers of B·P·C values (SSD300: 8732 priors x 21 classes).
  const filled = (dtype: 'float32' | 'bool', x: number, shape: number[]): Value => t.add1('Expand', [t.scalar(dtype, x), i64(shape)]);
  const fconst = (x: number): Value => t.scalar('float32', x);
  const NEG_INF = fconst(-Infinity);

  // Decoding: everything [B or 1, L or 1, P, 1] per coordinate.
  const loc4 = t.add1('Transpose', [t.add1('Reshape', [t.input(node, 0), i64([B, P, L, 4])])], { perm: [0, 2, 1, 3] });
  const priors = t.input(node, 2);
  const boxRow = t.add1('Reshape', [t.add1('Slice', [priors, i64([0]), i64([1]), i64([1])]), i64([PB, 1, P, priorSize])]);
  let priorBox = priorSize === 4 ? boxRow : t.add1('Slice', [boxRow, i64([1]), i64([5]), i64([3])]);
  if (!normalized) {
    const w = f32(t.int(node, 'input_width') ?? 1);
    const h = f32(t.int(node, 'input_height') ?? 1);
    priorBox = t.add1('Div', [priorBox, t.constant('float32', [4], [w, h, w, h])]);
  }
  const split4 = (v: Value): Value[] => t.add('Split', [v, i64([1, 1, 1, 1])], { axis: 3 }, 4);
  const [pxmin, pymin, pxmax, pymax] = split4(priorBox) as [Value, Value, Value, Value];
  const [lx0, ly0, lx1, ly1] = split4(loc4) as [Value, Value, Value, Value];
  let vars: Value[] | undefined;
  if (!encoded) {
    const varRow = t.add1('Slice', [priors, i64([1, 0]), i64([2, P * 4]), i64([1, 2])]);
    vars = split4(t.add1('Reshape', [varRow, i64([PB, 1, P, 4])]));
  }
  const scaled = (k: number, v: Value): Value => (vars ? t.add1('Mul', [vars[k]!, v]) : v);
  const two = fconst(2);
  let coords: Value[];
  if (codeType === CORNER) {
    coords = [t.add1('Add', [pxmin, scaled(0, lx0)]), t.add1('Add', [pymin, scaled(1, ly0)]), t.add1('Add', [pxmax, scaled(2, lx1)]), t.add1('Add', [pymax, scaled(3, ly1)])];
  } else {
    const pw = t.add1('Sub', [pxmax, pxmin]);
    const ph = t.add1('Sub', [pymax, pymin]);
    const pcx = t.add1('Div', [t.add1('Add', [pxmin, pxmax]), two]);
    const pcy = t.add1('Div', [t.add1('Add', [pymin, pymax]), two]);
    const cx = t.add1('Add', [t.add1('Mul', [scaled(0, lx0), pw]), pcx]);
    const cy = t.add1('Add', [t.add1('Mul', [scaled(1, ly0), ph]), pcy]);
    const halfW = t.add1('Div', [t.add1('Mul', [t.add1('Exp', [scaled(2, lx1)]), pw]), two]);
    const halfH = t.add1('Div', [t.add1('Mul', [t.add1('Exp', [scaled(3, ly1)]), ph]), two]);
    coords = [t.add1('Sub', [cx, halfW]), t.add1('Sub', [cy, halfH]), t.add1('Add', [cx, halfW]), t.add1('Add', [cy, halfH])];
  }
  let boxes = t.add1('Concat', coords, { axis: 3 });
  if (clipBefore) boxes = t.add1('Clip', [boxes, fconst(0), fconst(1)]);
  // [B·C, P, 4]: one NMS batch per image and class.
  const boxesBC = t.add1('Reshape', [t.add1('Expand', [boxes, i64([B, C, P, 4])]), i64([B * C, P, 4])]);
  const [bx0, by0, bx1, by1] = t.add('Split', [boxesBC, i64([1, 1, 1, 1])], { axis: 2 }, 4) as [Value, Value, Value, Value];
  const upright = t.add1('And', [t.add1('GreaterOrEqual', [bx1, bx0]), t.add1('GreaterOrEqual', [by1, by0])]);
  const nmsBoxes = t.add1('Where', [upright, boxesBC, fconst(0)]);

  // Scores [B, C, P].
  let scores = t.add1('Transpose', [t.add1('Reshape', [t.input(node, 1), i64([B, P, C])])], { perm: [0, 2, 1] });
  const classMask = (keep: (c: number) => boolean): Value => t.constant('bool', [1, C, 1], Array.from({ length: C }, (_, c) => (keep(c) ? 1 : 0)));
  const topKMask = (s: Value, lanes: number): Value => {
    const idx = t.add('TopK', [s, i64([topK])], { axis: 2, largest: 1, sorted: 1 }, 2)[1]!;
    const ones = t.add1('Expand', [t.constant('bool', [1, 1, 1], [1]), i64([B, lanes, topK])]);
    const none = filled('bool', 0, [B, lanes, P]);
    return t.add1('ScatterElements', [none, idx, ones], { axis: 2 });
  };
  let scoreThreshold = confThreshold;
  if (!decrease) {
    if (bg >= 0 && bg < C) scores = t.add1('Where', [classMask((c) => c !== bg), scores, NEG_INF]);
    if (topK > 0 && topK < P) scores = t.add1('Where', [topKMask(scores, C), scores, NEG_INF]);
  } else {
    // Each prior's best class from 1 on (the lowest of equal ones), a candidate when its score is >= the threshold and > -1.
    const eligible = t.add1('Where', [classMask((c) => c >= 1 && c !== bg), scores, NEG_INF]);
    const best = t.add1('ArgMax', [eligible], { axis: 1, keepdims: 1 });
    const bestScore = t.add1('ReduceMax', [eligible], { axes: [1], keepdims: 1 });
    const ok = t.add1('And', [t.add1('GreaterOrEqual', [bestScore, fconst(confThreshold)]), t.add1('Greater', [bestScore, fconst(-1)])]);
    let cand = t.add1('Where', [ok, bestScore, NEG_INF]);
    if (topK > 0 && topK < P) cand = t.add1('Where', [topKMask(cand, 1), cand, NEG_INF]);
    const isBest = t.add1('Equal', [best, t.constant('int64', [1, C, 1], Array.from({ length: C }, (_, c) => c))]);
    const hasClass = classMask((c) => c >= 1 && c !== bg);
    scores = t.add1('Where', [t.add1('And', [isBest, hasClass]), cand, NEG_INF]);
    // Candidates are finite and above -1: the largest float32 below everything keeps them all.
    scoreThreshold = -3.4028234663852886e38;
  }
  const scoresBC = t.add1('Reshape', [scores, i64([B * C, 1, P])]);
  const selected = t.add1('NonMaxSuppression', [nmsBoxes, scoresBC, i64([P]), t.constant('float32', [1], [f32(nmsThreshold)]), t.constant('float32', [1], [scoreThreshold])], { center_point_box: 0 });

  const col = (k: number): Value => t.add1('Slice', [selected, i64([k]), i64([k + 1]), i64([1])]);
  const bc = col(0);
  const prior = col(2);
  const bcp = t.add1('Concat', [bc, prior], { axis: 1 });
  let image = t.add1('Div', [bc, i64([C])]);
  let label = t.add1('Mod', [bc, i64([C])]);
  let score = t.add1('GatherND', [t.add1('Reshape', [scores, i64([B * C, P])]), bcp]);
  let box = t.add1('GatherND', [boxesBC, bcp]);

  if (keepTopK > 0 && keepTopK < P * C) {
    // Dense [B, P·C] map of the kept scores (-inf elsewhere), its keep_top_k best per image, and each detection's flag in it.
    const flat = t.add1('Add', [t.add1('Mul', [prior, i64([C])]), label]);
    const at = t.add1('Concat', [image, flat], { axis: 1 });
    const dense = t.add1('ScatterND', [filled('float32', -Infinity, [B, P * C]), at, score]);
    const [values, idx] = t.add('TopK', [dense, i64([keepTopK])], { axis: 1, largest: 1, sorted: 1 }, 2) as [Value, Value];
    const real = t.add1('Greater', [values, NEG_INF]);
    const mark = t.add1('ScatterElements', [filled('bool', 0, [B, P * C]), idx, real], { axis: 1 });
    const keep = t.add1('GatherND', [mark, at]);
    const pick = (v: Value): Value => t.add1('Compress', [v, keep], { axis: 0 });
    [image, label, score, box] = [pick(image), pick(label), pick(score), pick(box)];
  }
  if (decrease) label = t.add1('Sub', [label, i64([1])]);
  const asFloat = (v: Value): Value => t.add1('Cast', [v], { to: onnxTypeOf(node, t, 'float32') });
  if (clipAfter) box = t.add1('Clip', [box, fconst(0), fconst(1)]);
  const rows = t.add1('Concat', [asFloat(image), asFloat(label), t.add1('Unsqueeze', [score, i64([1])]), box], { axis: 1 });
  const end = t.constant('float32', [1, 7], [-1, 0, 0, 0, 0, 0, 0]);
  const zeros = filled('float32', 0, [N, 7]);
  const padded = t.add1('Slice', [t.add1('Concat', [rows, end, zeros], { axis: 0 }), i64([0]), i64([N]), i64([0])]);
  return [t.add1('Reshape', [padded, i64([1, 1, N, 7])])];
}

/** A static [a, b] input shape. */
function shape2(node: Node, t: Translation, i: number, what: string): [number, number] {
  const s = t.staticShape(node, i);
  if (s.length !== 2) t.fail(node, `${what} (input ${i}) have rank ${s.length} (2 is valid)`);
  return [s[0]!, s[1]!];
}

/**
 * ROIAlign-3 and -9 as ONNX RoiAlign-16, which OpenVINO's own reader maps
 * the other way: aligned_mode asymmetric (ROIAlign-3's only one) is ONNX's
 * output_half_pixel, half_pixel is half_pixel. Average pooling only: the two
 * runtimes' max modes take the maximum at different points of the
 * interpolation.
 */
function roiAlign(node: Node, t: Translation): Value[] {
  const mode = (t.str(node, 'mode') ?? t.fail(node, 'no mode')).trim().toLowerCase();
  if (mode !== 'avg') t.fail(node, `mode="${mode}" is not translated (avg is)`);
  const aligned = node.domain === 'opset9' ? (t.str(node, 'aligned_mode') ?? 'asymmetric').trim().toLowerCase() : 'asymmetric';
  const coordinates = aligned === 'asymmetric' ? 'output_half_pixel' : aligned === 'half_pixel' ? 'half_pixel' : t.fail(node, `aligned_mode="${aligned}" is not translated (asymmetric and half_pixel are)`);
  const indices = t.add1('Cast', [t.input(node, 2)], { to: 7 });
  return [
    t.add1('RoiAlign', [t.input(node, 0), t.input(node, 1), indices], {
      mode: 'avg',
      coordinate_transformation_mode: coordinates,
      output_height: t.int(node, 'pooled_h') ?? t.fail(node, 'no pooled_h'),
      output_width: t.int(node, 'pooled_w') ?? t.fail(node, 'no pooled_w'),
      sampling_ratio: t.int(node, 'sampling_ratio') ?? 0,
      spatial_scale: attr.float(t.float(node, 'spatial_scale') ?? t.fail(node, 'no spatial_scale')),
    }),
  ];
}

registerTranslators({
  PriorBox: priorBox,
  PriorBoxClustered: priorBoxClustered,
  RegionYolo: regionYolo,
  ReorgYolo: reorgYolo,
  Roll: roll,
  GridSample: gridSample,
  Eye: eye,
  Bucketize: bucketize,
  NonMaxSuppression: nonMaxSuppression,
  DetectionOutput: detectionOutput,
  ROIAlign: roiAlign,
});
