/**
 * OpenVINO ops that move image patches to channels and back:
 * ExtractImagePatches-3 (im2col, as a pad and one strided slice per point of
 * the patch) and Col2Im-15 (its inverse, summing where blocks overlap, as
 * a ScatterElements that adds).
 */
import type { DType } from '../../../ir/dtype';
import type { Node } from '../../../ir/graph';
import { registerTranslators, type Translation, type Translator } from '../translation';

/** A two-value attribute (one per spatial axis), `fallback` when absent. */
function pair(node: Node, t: Translation, name: string, fallback?: [number, number]): [number, number] {
  const values = t.ints(node, name) ?? fallback;
  if (!values) t.fail(node, `attribute ${name} is missing`);
  if (values.length !== 2) t.fail(node, `${name} has ${values.length} values: one per spatial axis (2) is translated`);
  return [values[0]!, values[1]!];
}

/** The element types onnxruntime's ScatterElements adds (not float16) and OpenVINO's Col2Im takes. */
const SUMMED_TYPES: ReadonlySet<DType> = new Set(['float32', 'float64', 'int8', 'int32', 'int64', 'uint8', 'uint32', 'uint64']);

/**
 * Col2Im-15: data [N, C * kh * kw, L] (or unbatched [C * kh * kw, L]), L
 * blocks, rows x cols as the dilated kernel moves by the strides over the
 * padded image. Point (i, j) of block (r, q) of channel c, column
 * c * kh * kw + i * kw + j, is added to pixel (r * stride - pad_begin +
 * i * dilation, ...) of the image [N, C, output_size] when that is inside it.
 *
 * ONNX Col2Im is opset 18 and the translation writes opset 17: this is
 * ScatterElements adding each channel's kh * kw * L points, in the data's
 * order (that of OpenVINO's reference), to the pixels a table made here
 * names; points in the padding go to one extra pixel, then dropped.
 */
const col2im: Translator = (node, t) => {
  const rank = t.requireRank(node, 0);
  if (rank !== 2 && rank !== 3) t.fail(node, `the data has rank ${rank}: [N, C * kernel points, L] and [C * kernel points, L] are translated`);
  const d = t.inputDType(node, 0) ?? t.fail(node, 'input 0 has no declared element type');
  if (!SUMMED_TYPES.has(d)) t.fail(node, `input 0 is ${d}: ${[...SUMMED_TYPES].join(', ')} are translated`);
  const [height, width] = constPair(node, t, 1, 'output_size');
  const kernel = constPair(node, t, 2, 'kernel_size');
  const strides = pair(node, t, 'strides', [1, 1]);
  const dilations = pair(node, t, 'dilations', [1, 1]);
  const padsBegin = pair(node, t, 'pads_begin', [0, 0]);
  const padsEnd = pair(node, t, 'pads_end', [0, 0]);
  if ([...kernel, ...strides, ...dilations].some((v) => v < 1)) t.fail(node, `kernel_size ${kernel.join(',')}, strides ${strides.join(',')} and dilations ${dilations.join(',')} must be positive`);
  const blocks = [0, 1].map((a) => Math.floor(([height, width][a]! + padsBegin[a]! + padsEnd[a]! - dilations[a]! * (kernel[a]! - 1) - 1) / strides[a]!) + 1);
  const [rows, cols] = [blocks[0]!, blocks[1]!];
  if (rows < 1 || cols < 1) t.fail(node, `the image holds ${rows} x ${cols} blocks (none is not translated)`);
  const declared = t.inputShape(node, 0)?.[rank - 1];
  if (typeof declared === 'number' && declared !== rows * cols) t.fail(node, `the data has ${declared} blocks where output_size and the attributes give ${rows * cols}`);

  const pixels = height * width;
  const perChannel = kernel[0] * kernel[1] * rows * cols;
  const target = new Array<number>(perChannel);
  for (let p = 0; p < perChannel; p++) {
    const block = p % (rows * cols);
    const point = Math.floor(p / (rows * cols));
    const y = Math.floor(block / cols) * strides[0] - padsBegin[0] + Math.floor(point / kernel[1]) * dilations[0];
    const x = (block % cols) * strides[1] - padsBegin[1] + (point % kernel[1]) * dilations[1];
    target[p] = y >= 0 && y < height && x >= 0 && x < width ? y * width + x : pixels;
  }
  const batched = rank === 3 ? t.input(node, 0) : t.add1('Unsqueeze', [t.input(node, 0), t.int64s([0])]);
  const points = t.add1('Reshape', [batched, t.int64s([0, -1, perChannel])]);
  const pointsShape = t.add1('Shape', [points]);
  const imageShape = t.add1('Concat', [t.add1('Slice', [pointsShape, t.int64s([0]), t.int64s([2])]), t.int64s([pixels + 1])], { axis: 0 });
  const zeros = t.add1('Expand', [t.scalar(d, 0), imageShape]);
  const indices = t.add1('Expand', [t.constant('int64', [1, 1, perChannel], target), pointsShape]);
  const summed = t.add1('ScatterElements', [zeros, indices, points], { axis: 2, reduction: 'add' });
  const inside = t.add1('Slice', [summed, t.int64s([0]), t.int64s([pixels]), t.int64s([2])]);
  return [t.add1('Reshape', [inside, t.int64s(rank === 3 ? [0, 0, height, width] : [-1, height, width])])];
};

/** A constant input of two values (one per spatial axis). */
function constPair(node: Node, t: Translation, i: number, name: string): [number, number] {
  const values = t.constInts(node, i);
  if (values.length !== 2) t.fail(node, `${name} has ${values.length} values: one per spatial axis (2) is translated`);
  return [values[0]!, values[1]!];
}

/**
 * The patches along one spatial axis and the zeros before the first, as
 * OpenVINO's shape inference and reference compute them. `valid`: as many
 * patches as fit, counted with C's division (truncated towards zero, so a
 * patch that does not fit still gives one output, read as zeros past the
 * edge). `same_*`: ceil(size / stride) patches, the padding they need split
 * in two halves, the odd one after (`same_upper`) or before (`same_lower`).
 */
function patchAxis(mode: string, size: number, patch: number, stride: number, rate: number): { count: number; before: number } {
  const span = (patch - 1) * rate + 1;
  if (mode === 'valid') return { count: Math.max(0, Math.trunc((size - span) / stride) + 1), before: 0 };
  const count = Math.ceil(size / stride);
  const padding = (count - 1) * stride + span - size;
  if (padding <= 0) return { count, before: 0 };
  if (padding % 2 === 0) return { count, before: padding / 2 };
  return { count, before: mode === 'same_lower' ? (padding + 1) / 2 : (padding - 1) / 2 };
}

/**
 * ExtractImagePatches-3: data [N, C, H, W] -> [N, sizes[0] * sizes[1] * C,
 * rows, cols], the output channel (i * sizes[1] + j) * C + c holding point
 * (i, j) of each patch of channel c. The data is zero-padded as auto_pad
 * says (and at the end as far as the last patch reads), then each point
 * (i, j) is one strided Slice [N, C, rows, cols]; they are concatenated in
 * that order.
 */
const extractImagePatches: Translator = (node, t) => {
  const shape = t.spatialShape(node, 0);
  if (shape.length !== 4) t.fail(node, `the data has rank ${shape.length}: [N, C, H, W] is translated`);
  const sizes = pair(node, t, 'sizes');
  const strides = pair(node, t, 'strides');
  const rates = pair(node, t, 'rates');
  if ([...sizes, ...strides, ...rates].some((v) => v < 1)) t.fail(node, `sizes ${sizes.join(',')}, strides ${strides.join(',')} and rates ${rates.join(',')} must be positive`);
  const mode = (t.str(node, 'auto_pad') ?? '').trim().toLowerCase();
  if (mode !== 'valid' && mode !== 'same_upper' && mode !== 'same_lower') t.fail(node, `auto_pad="${mode}" is not translated (valid, same_upper and same_lower are)`);

  const axes = [0, 1].map((a) => ({ size: shape[2 + a]!, ...patchAxis(mode, shape[2 + a]!, sizes[a]!, strides[a]!, rates[a]!) }));
  const [rows, cols] = [axes[0]!.count, axes[1]!.count];
  if (rows === 0 || cols === 0) t.fail(node, `the output has ${rows} x ${cols} patches (an empty tensor is not translated)`);
  // The last point of the last patch, in padded coordinates, is (count - 1) * stride + (size - 1) * rate.
  const after = axes.map((a, i) => Math.max(0, (a.count - 1) * strides[i]! + (sizes[i]! - 1) * rates[i]! + 1 - a.size - a.before));
  let data = t.input(node, 0);
  if (axes.some((a) => a.before > 0) || after.some((p) => p > 0)) {
    data = t.add1('Pad', [data, t.int64s([0, 0, axes[0]!.before, axes[1]!.before, 0, 0, after[0]!, after[1]!])]);
  }
  const steps = t.int64s(strides);
  const spatialAxes = t.int64s([2, 3]);
  const points = [];
  for (let i = 0; i < sizes[0]; i++) {
    for (let j = 0; j < sizes[1]; j++) {
      const starts = [i * rates[0], j * rates[1]];
      const ends = [starts[0]! + (rows - 1) * strides[0] + 1, starts[1]! + (cols - 1) * strides[1] + 1];
      points.push(t.add1('Slice', [data, t.int64s(starts), t.int64s(ends), spatialAxes, steps]));
    }
  }
  return [points.length === 1 ? points[0]! : t.add1('Concat', points, { axis: 1 })];
};

registerTranslators({ Col2Im: col2im, ExtractImagePatches: extractImagePatches });
