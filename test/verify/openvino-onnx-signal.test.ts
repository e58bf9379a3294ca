/**
 * OpenVINO DFT-7, IDFT-7, RDFT-9 and IRDFT-9 translated to ONNX DFT, run in
 * onnxruntime and compared with the transforms computed here by their
 * definition (a sum over every point, in doubles): several axes in any
 * order, axis 0 and negative axes, signal sizes that pad and trim, and the
 * inverse transforms' normalisation. Each case also checks the output shape
 * fix-shape computes for the layer. STFT-15 is compared with its definition
 * frame by frame (short windows, batches, transposed frames); fix-shape has
 * no rule for it.
 */
import { shapeRuleOf } from '../../src/formats/openvino/shapes';
import { newOvModel, ovConst, ovOp, ovParam } from '../helpers/openvino-build';
import { TranslatedRunner, expectClose, testValues, translationFailure } from '../helpers/openvino-translate';

let runner: TranslatedRunner;
beforeAll(() => {
  runner = new TranslatedRunner();
});
afterAll(() => runner.close());

/** A complex tensor: dimensions and interleaved (re, im) values, row-major. */
interface Complex {
  shape: number[];
  re: number[];
  im: number[];
}

const strides = (shape: number[]): number[] => shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));

/** The 1-D transform of `x` along `axis`, of `n` points (trimmed or zero-padded), divided by n when inverse. */
function transform(x: Complex, axis: number, n: number, inverse: boolean): Complex {
  const shape = x.shape.map((d, i) => (i === axis ? n : d));
  const size = shape.reduce((a, b) => a * b, 1);
  const inS = strides(x.shape);
  const outS = strides(shape);
  const re = new Array<number>(size).fill(0);
  const im = new Array<number>(size).fill(0);
  const sign = inverse ? 1 : -1;
  for (let o = 0; o < size; o++) {
    const idx = shape.map((_, i) => Math.floor(o / outS[i]!) % shape[i]!);
    const k = idx[axis]!;
    for (let j = 0; j < Math.min(n, x.shape[axis]!); j++) {
      const at = idx.reduce((s, v, i) => s + (i === axis ? j : v) * inS[i]!, 0);
      const angle = (sign * 2 * Math.PI * j * k) / n;
      re[o]! += x.re[at]! * Math.cos(angle) - x.im[at]! * Math.sin(angle);
      im[o]! += x.re[at]! * Math.sin(angle) + x.im[at]! * Math.cos(angle);
    }
    if (inverse) {
      re[o]! /= n;
      im[o]! /= n;
    }
  }
  return { shape, re, im };
}

const interleaved = (c: Complex): number[] => c.re.flatMap((r, i) => [r, c.im[i]!]);
const fromInterleaved = (shape: number[], v: number[]): Complex => ({ shape, re: v.filter((_, i) => i % 2 === 0), im: v.filter((_, i) => i % 2 === 1) });

/** Keeps the first `n` points along `axis`. */
function firstPoints(x: Complex, axis: number, n: number): Complex {
  const shape = x.shape.map((d, i) => (i === axis ? n : d));
  const inS = strides(x.shape);
  const outS = strides(shape);
  const size = shape.reduce((a, b) => a * b, 1);
  const pick = (arr: number[]): number[] => Array.from({ length: size }, (_, o) => arr[shape.reduce((s, d, i) => s + (Math.floor(o / outS[i]!) % d) * inS[i]!, 0)]!);
  return { shape, re: pick(x.re), im: pick(x.im) };
}

async function runOne(op: string, opset: string, inShape: number[], outShape: number[], values: number[], axes: number[], sizes?: number[]): Promise<number[]> {
  const m = newOvModel('net');
  const g = m.graph;
  const x = ovParam(g, 'x', inShape);
  const ins = [x, ovConst(g, 'axes', 'int64', [axes.length], axes)];
  if (sizes) ins.push(ovConst(g, 'sizes', 'int64', [sizes.length], sizes));
  const node = ovOp(g, op, opset, ins, [outShape], {}, 'ft');
  g.outputs = [node.output(0)];
  // fix-shape's rule computes the shape the layer declares.
  expect(shapeRuleOf(node)!(node, [inShape, [axes.length], sizes && [sizes.length]])).toEqual([outShape]);
  const out = (await runner.run(m, { x: { shape: inShape, values } })).ft_out!;
  expect(out.shape).toEqual(outShape);
  return out.values;
}

test.each([
  ['one axis', [3, 5], [1], undefined, [3, 5]],
  ['axis 0 and a negative axis, in that order', [4, 3, 2], [0, -1], undefined, [4, 3, 2]],
  ['two axes listed backwards, one padded and one trimmed', [4, 6], [1, 0], [8, 3], [3, 8]],
])('DFT-7 and IDFT-7 over %s', async (_name, dims, axes, sizes, outDims) => {
  const n = dims.reduce((a, b) => a * b, 1);
  const input: Complex = { shape: dims, re: testValues(n, 61).map(Math.fround), im: testValues(n, 62).map(Math.fround) };
  const rank = dims.length;
  for (const inverse of [false, true]) {
    let expected = input;
    axes.forEach((a, k) => {
      const axis = a < 0 ? a + rank : a;
      expected = transform(expected, axis, sizes?.[k] ?? expected.shape[axis]!, inverse);
    });
    const got = await runOne(inverse ? 'IDFT' : 'DFT', 'opset7', [...dims, 2], [...outDims, 2], interleaved(input), axes, sizes);
    expectClose(got, interleaved(expected), 2e-5);
  }
});

test.each([
  ['the last axis', [3, 8], [1], undefined, [3, 5]],
  ['an odd length, padded to 7', [2, 5], [-1], [7], [2, 4]],
  ['two axes, the one-sided one listed last', [4, 6], [1, 0], undefined, [3, 6]],
])('RDFT-9 over %s: one-sided along the last axis listed', async (_name, dims, axes, sizes, outDims) => {
  const n = dims.reduce((a, b) => a * b, 1);
  const re = testValues(n, 63).map(Math.fround);
  const rank = dims.length;
  let full: Complex = { shape: dims, re, im: re.map(() => 0) };
  axes.forEach((a, k) => {
    const axis = a < 0 ? a + rank : a;
    full = transform(full, axis, sizes?.[k] ?? full.shape[axis]!, false);
  });
  const lastAxis = axes[axes.length - 1]! < 0 ? axes[axes.length - 1]! + rank : axes[axes.length - 1]!;
  const expected = firstPoints(full, lastAxis, Math.floor(full.shape[lastAxis]! / 2) + 1);
  const got = await runOne('RDFT', 'opset9', dims, [...outDims, 2], re, axes, sizes);
  expectClose(got, interleaved(expected), 2e-5);
});

test.each([
  ['an even length: 2 (n - 1) points', 8, undefined],
  ['an odd signal size', 7, [7]],
  ['a signal size that trims the spectrum', 6, [6]],
  ['a signal size that pads it', 12, [12]],
])('IRDFT-9 inverts RDFT for %s', async (_name, size, sizes) => {
  // The spectrum of a real signal of `size` points, one-sided over 5 points, along axis 1 of [2, 5].
  const signal = testValues(2 * size, 64).map(Math.fround);
  const full = transform({ shape: [2, size], re: signal, im: signal.map(() => 0) }, 1, size, false);
  const oneSided = firstPoints(full, 1, 5);
  const got = await runOne('IRDFT', 'opset9', [2, 5, 2], [2, size], interleaved(oneSided), [1], sizes);
  // Where the one-sided spectrum holds all of the signal's (size / 2 + 1 <= 5 points), the signal comes back.
  if (Math.floor(size / 2) + 1 <= 5) expectClose(got, signal, 2e-5);
  // In every case: the real part of the inverse of the whole spectrum the definition makes.
  const kept = Math.floor(size / 2) + 1;
  const points = Array.from({ length: 2 * size }, (_, o) => {
    const row = Math.floor(o / size);
    const k = o % size;
    const src = k < kept ? k : size - k;
    const valid = src < 5;
    const re = valid ? oneSided.re[row * 5 + src]! : 0;
    const im = valid ? oneSided.im[row * 5 + src]! * (k < kept ? 1 : -1) : 0;
    return [re, im];
  });
  const whole: Complex = { shape: [2, size], re: points.map((p) => p[0]!), im: points.map((p) => p[1]!) };
  expectClose(got, transform(whole, 1, size, true).re, 2e-5);
});

test('DFT of float16 data is refused by name', async () => {
  const m = newOvModel('net');
  const g = m.graph;
  const x = ovParam(g, 'x', [4, 2], 'float16');
  g.outputs = [ovOp(g, 'DFT', 'opset7', [x, ovConst(g, 'axes', 'int64', [1], [0])], [[4, 2]], {}, 'ft').output(0)];
  await expect(runner.run(m, { x: { dtype: 'float16', shape: [4, 2], values: [1, 2, 3, 4, 5, 6, 7, 8] } })).rejects.toThrow(/'ft' \(DFT, opset7\).*float16: float32 and float64 are translated/);
});

/**
 * STFT-15 by its definition: frame f of batch b starts at f * step; its points
 * times the window (centred in frame_size points, zeros around, the odd zero
 * at the end), then the one-sided transform, [frames, points, 2] per batch
 * (or [points, frames, 2] transposed).
 */
function stftRef(signal: number[], batch: number, window: number[], frameSize: number, step: number, transposeFrames: boolean): { shape: number[]; values: number[] } {
  const length = signal.length / batch;
  const frames = Math.floor((length - frameSize) / step) + 1;
  const points = Math.floor(frameSize / 2) + 1;
  const padded = new Array<number>(frameSize).fill(0);
  const before = Math.floor((frameSize - window.length) / 2);
  window.forEach((w, i) => {
    padded[before + i] = w;
  });
  const values = new Array<number>(batch * frames * points * 2).fill(0);
  for (let b = 0; b < batch; b++) {
    for (let f = 0; f < frames; f++) {
      for (let k = 0; k < points; k++) {
        let re = 0;
        let im = 0;
        for (let n = 0; n < frameSize; n++) {
          const x = signal[b * length + f * step + n]! * padded[n]!;
          const angle = (-2 * Math.PI * k * n) / frameSize;
          re += x * Math.cos(angle);
          im += x * Math.sin(angle);
        }
        const at = transposeFrames ? (b * points + k) * frames + f : (b * frames + f) * points + k;
        values[2 * at] = re;
        values[2 * at + 1] = im;
      }
    }
  }
  return { shape: transposeFrames ? [batch, points, frames, 2] : [batch, frames, points, 2], values };
}

function stftModel(signalShape: number[], window: number[], frameSize: number, step: number, outShape: number[], attrs: Record<string, string>, dtype: 'float32' | 'float64' = 'float32') {
  const m = newOvModel('net');
  const g = m.graph;
  const x = ovParam(g, 'x', signalShape, dtype);
  const w = ovConst(g, 'window', dtype, [window.length], window);
  const size = ovConst(g, 'frame_size', 'int32', [], [frameSize]);
  const stepValue = ovConst(g, 'frame_step', 'int64', [], [step]);
  const node = ovOp(g, 'STFT', 'opset15', [x, w, size, stepValue], [outShape], attrs, 'stft');
  g.outputs = [node.output(0)];
  return m;
}

test.each<[string, number[], number, number, number, Record<string, string>]>([
  ['a 1-D signal, a window 3 shorter than the frame (the odd zero at the end)', [40], 5, 8, 3, {}],
  ['a 1-D signal, transpose_frames, a window 2 shorter', [40], 6, 8, 4, { transpose_frames: 'true' }],
  ['a batch of 2, the window as long as the frame, trailing points unused', [2, 37], 10, 10, 4, { transpose_frames: 'false' }],
  ['a batch of 3, an odd frame, steps longer than it, transposed', [3, 30], 5, 7, 9, { transpose_frames: 'true' }],
])('STFT-15 of %s', async (_name, signalShape, windowLength, frameSize, step, attrs) => {
  const batch = signalShape.length === 2 ? signalShape[0]! : 1;
  const signal = testValues(signalShape.reduce((a, b) => a * b, 1), 65).map(Math.fround);
  const window = testValues(windowLength, 66, 0, 1).map(Math.fround);
  const expected = stftRef(signal, batch, window, frameSize, step, attrs.transpose_frames === 'true');
  const outShape = signalShape.length === 2 ? expected.shape : expected.shape.slice(1);
  const m = stftModel(signalShape, window, frameSize, step, outShape, attrs);
  const out = (await runner.run(m, { x: { shape: signalShape, values: signal } })).stft_out!;
  expect(out.shape).toEqual(outShape);
  expectClose(out.values, expected.values, 2e-5);
});

test('STFT-15 of float64 data computes in float64', async () => {
  const signal = testValues(2 * 24, 67);
  const window = testValues(7, 68, 0, 1);
  const expected = stftRef(signal, 2, window, 8, 3, false);
  const m = stftModel([2, 24], window, 8, 3, expected.shape, { transpose_frames: 'false' }, 'float64');
  const out = (await runner.run(m, { x: { dtype: 'float64', shape: [2, 24], values: signal } })).stft_out!;
  expect(out.dtype).toBe('float64');
  expectClose(out.values, expected.values, 1e-12);
});

test('STFT-15 with a window longer than the frame, a computed frame_size or a 3-D signal is refused by name', () => {
  expect(translationFailure(stftModel([40], testValues(9, 1), 8, 2, [17, 5, 2], {}))).toMatch(/'stft' \(STFT, opset15\).*the window has 9 points: 1 to frame_size \(8\) are allowed/);
  expect(translationFailure(stftModel([2, 3, 40], testValues(8, 1), 8, 2, [2, 3, 17, 5, 2], {}))).toMatch(/the signal has rank 3: \[length\] and \[batch, length\] are translated/);
  const m = newOvModel('net');
  const g = m.graph;
  const x = ovParam(g, 'x', [40]);
  const size = ovParam(g, 'size', [], 'int64');
  const node = ovOp(g, 'STFT', 'opset15', [x, ovConst(g, 'w', 'float32', [8], testValues(8, 1)), size, ovConst(g, 'step', 'int64', [], [2])], [[17, 5, 2]], {}, 'stft');
  g.outputs = [node.output(0)];
  expect(translationFailure(m)).toMatch(/input 2 must be a constant for this translation/);
});
