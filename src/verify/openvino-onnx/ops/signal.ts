/**
 * OpenVINO's Fourier transforms as ONNX DFT-17: DFT-7 and IDFT-7 (complex to
 * complex), RDFT-9 (real to complex, one-sided along the last axis listed)
 * and IRDFT-9 (one-sided complex to real). OpenVINO holds a complex number
 * as a trailing dimension of 2, as ONNX does; a real input gets a trailing
 * dimension of 1. ONNX transforms one axis per node and never axis 0 (its
 * batch): the translation adds a leading axis of 1 and transforms each axis
 * in turn (the transform is separable), with `signal_size` as ONNX's
 * dft_length (zero-padded or trimmed at the end). ONNX's inverse divides by
 * the length per axis, as OpenVINO's does over all of them.
 *
 * STFT-15 is ONNX STFT-17, one-sided, on the signal with a batch axis and a
 * real-number axis added; its window is zero-padded to frame_size first
 * (ONNX wants one as long as the frame).
 */
import type { Node, Value } from '../../../ir/graph';
import { registerTranslators, type Translation, type Translator } from '../translation';

/** The transformed axes (of the data without its complex dimension) and their signal sizes, -1 where the whole axis. */
function axesAndSizes(node: Node, t: Translation, rank: number): { axes: number[]; sizes: number[] } {
  const raw = t.constInts(node, 1);
  const axes = raw.map((a) => {
    const at = a < 0 ? a + rank : a;
    if (at < 0 || at >= rank) t.fail(node, `axis ${a} is out of range for ${rank} signal dimensions`);
    return at;
  });
  if (new Set(axes).size !== axes.length) t.fail(node, `axes ${raw.join(', ')} name one axis twice`);
  const sizes = node.inputs.length > 2 && node.inputs[2] ? t.constInts(node, 2) : axes.map(() => -1);
  if (sizes.length !== axes.length) t.fail(node, `signal_size has ${sizes.length} elements for ${axes.length} axes`);
  return { axes, sizes };
}

/** The float element type ONNX DFT computes in here. */
function checkFloat(node: Node, t: Translation): void {
  const d = t.inputDType(node, 0);
  if (d !== 'float32' && d !== 'float64') t.fail(node, `input 0 is ${d ?? 'of an undeclared type'}: float32 and float64 are translated`);
}

/** One ONNX DFT along `axis` of the data with its leading axis (so axis + 1), of `size` points (-1: the axis as it is). */
function dft(t: Translation, x: Value, axis: number, size: number, flags: { inverse?: boolean; onesided?: boolean } = {}): Value {
  const length = size >= 0 ? t.scalar('int64', size) : null;
  return t.add1('DFT', length ? [x, length] : [x], { axis: axis + 1, inverse: flags.inverse ? 1 : 0, onesided: flags.onesided ? 1 : 0 });
}

/** DFT-7 and IDFT-7: data [..., 2]. */
function complexTransform(inverse: boolean): Translator {
  return (node, t) => {
    checkFloat(node, t);
    const rank = t.requireRank(node, 0) - 1;
    const { axes, sizes } = axesAndSizes(node, t, rank);
    let x = t.add1('Unsqueeze', [t.input(node, 0), t.int64s([0])]);
    axes.forEach((a, k) => {
      x = dft(t, x, a, sizes[k]!, { inverse });
    });
    return [t.add1('Squeeze', [x, t.int64s([0])])];
  };
}

/** RDFT-9: real data; the last axis listed is transformed one-sided (n / 2 + 1 points), first, while the data is still real. */
const rdft: Translator = (node, t) => {
  checkFloat(node, t);
  const rank = t.requireRank(node, 0);
  const { axes, sizes } = axesAndSizes(node, t, rank);
  let x = t.add1('Unsqueeze', [t.input(node, 0), t.int64s([0, rank + 1])]);
  const last = axes.length - 1;
  x = dft(t, x, axes[last]!, sizes[last]!, { onesided: true });
  axes.slice(0, last).forEach((a, k) => {
    x = dft(t, x, a, sizes[k]!);
  });
  return [t.add1('Squeeze', [x, t.int64s([0])])];
};

/**
 * IRDFT-9: the axes but the last listed are inverted as complex; along the
 * last, of n one-sided points, the output has signal_size points (2 (n - 1)
 * by default). Its spectrum is made whole (the first size / 2 + 1 points,
 * trimmed or zero-padded, then the conjugates of points size - k) and
 * inverted; the output is the real part.
 */
const irdft: Translator = (node, t) => {
  checkFloat(node, t);
  const d = t.inputDType(node, 0)!;
  const shape = t.staticShape(node, 0);
  const rank = shape.length - 1;
  const { axes, sizes } = axesAndSizes(node, t, rank);
  const last = axes.length - 1;
  let x = t.add1('Unsqueeze', [t.input(node, 0), t.int64s([0])]);
  axes.slice(0, last).forEach((a, k) => {
    x = dft(t, x, a, sizes[k]!, { inverse: true });
  });
  const axis = axes[last]! + 1;
  const points = shape[axes[last]!]!;
  const size = sizes[last]! >= 0 ? sizes[last]! : 2 * (points - 1);
  if (size < 1) t.fail(node, `the last axis gives ${size} output points`);
  const kept = Math.floor(size / 2) + 1;
  if (points > kept) x = t.add1('Slice', [x, t.int64s([0]), t.int64s([kept]), t.int64s([axis])]);
  else if (points < kept) {
    const pads = new Array<number>(2 * (rank + 2)).fill(0);
    pads[rank + 2 + axis] = kept - points;
    x = t.add1('Pad', [x, t.int64s(pads)]);
  }
  const mirrored = size - kept;
  if (mirrored > 0) {
    // Points size - k for k = kept .. size - 1: indices mirrored down to 1, conjugated.
    const tail = t.add1('Slice', [x, t.int64s([mirrored]), t.int64s([0]), t.int64s([axis]), t.int64s([-1])]);
    const conjugated = t.add1('Mul', [tail, t.constant(d, [2], [1, -1])]);
    x = t.add1('Concat', [x, conjugated], { axis });
  }
  x = dft(t, x, axes[last]!, -1, { inverse: true });
  const real = t.add1('Slice', [x, t.int64s([0]), t.int64s([1]), t.int64s([rank + 1])]);
  return [t.add1('Squeeze', [real, t.int64s([0, rank + 1])])];
};

/**
 * STFT-15: frames of frame_size points, frame_step apart, from the start and
 * never padded, each multiplied by the window and transformed one-sided
 * (frame_size / 2 + 1 points). A window shorter than the frame sits in its
 * middle, zeros around it (the odd zero at the end). The signal is [length]
 * or [batch, length]; the output [batch?, frames, points, 2], or [batch?,
 * points, frames, 2] with transpose_frames.
 */
const stft: Translator = (node, t) => {
  checkFloat(node, t);
  const rank = t.requireRank(node, 0);
  if (rank !== 1 && rank !== 2) t.fail(node, `the signal has rank ${rank}: [length] and [batch, length] are translated`);
  const frameSize = singleInt(node, t, 2, 'frame_size');
  const frameStep = singleInt(node, t, 3, 'frame_step');
  if (frameSize < 1) t.fail(node, `frame_size ${frameSize} is not positive`);
  if (frameStep < 1) t.fail(node, `frame_step ${frameStep} is not positive`);
  const windowShape = t.knownShape(node, 1) ?? t.fail(node, 'the window needs a static shape for this translation');
  if (windowShape.length !== 1) t.fail(node, `the window has rank ${windowShape.length}, not 1`);
  const windowLength = windowShape[0]!;
  if (windowLength < 1 || windowLength > frameSize) t.fail(node, `the window has ${windowLength} points: 1 to frame_size (${frameSize}) are allowed`);

  let window = t.input(node, 1);
  const before = Math.floor((frameSize - windowLength) / 2);
  if (windowLength < frameSize) window = t.add1('Pad', [window, t.int64s([before, frameSize - windowLength - before])]);
  const signal = t.add1('Unsqueeze', [t.input(node, 0), t.int64s(rank === 1 ? [0, 2] : [2])]);
  let y = t.add1('STFT', [signal, t.scalar('int64', frameStep), window, t.scalar('int64', frameSize)], { onesided: 1 });
  if (t.bool(node, 'transpose_frames') ?? false) y = t.add1('Transpose', [y], { perm: [0, 2, 1, 3] });
  return [rank === 1 ? t.add1('Squeeze', [y, t.int64s([0])]) : y];
};

/** The value of scalar input `i`, a constant here. */
function singleInt(node: Node, t: Translation, i: number, name: string): number {
  const values = t.constInts(node, i);
  if (values.length !== 1) t.fail(node, `${name} has ${values.length} values, not one`);
  return values[0]!;
}

registerTranslators({ DFT: complexTransform(false), IDFT: complexTransform(true), RDFT: rdft, IRDFT: irdft, STFT: stft });
