/**
 * ROIPooling-2 (max, bilinear) and PSROIPooling-1 (average, bilinear)
 * translated to ONNX, run in onnxruntime and compared with the pooling done
 * here in float32 as OpenVINO's reference implementation does it: ROI
 * coordinates rounded half away from zero and bin edges floor/ceil of float32
 * products (max, average), one bilinear sample per output pixel or per
 * sub-bin at normalized coordinates times (size - 1) (bilinear modes). Plus
 * the CPU plugin's rules where the reference has none: a ROI with batch index
 * -1 ends the list (it and the ROIs after it pool to zeros), and PSROIPooling
 * bins and samples left of or above the map are clipped or skipped.
 */
import type { DType } from '../../src/ir/dtype';
import { newOvModel, ovOp, ovParam } from '../helpers/openvino-build';
import { TranslatedRunner, expectClose, testValues, translationFailure } from '../helpers/openvino-translate';

let runner: TranslatedRunner;
beforeAll(() => {
  runner = new TranslatedRunner();
});
afterAll(() => runner.close());

const f32 = Math.fround;
/** std::round. */
const roundAway = (v: number): number => Math.sign(v) * Math.round(Math.abs(v));

type Map4 = [number, number, number, number];

interface Built {
  m: ReturnType<typeof newOvModel>;
  out: string;
}

function build(op: 'ROIPooling' | 'PSROIPooling', shape: (number | null)[], rois: number, outShape: number[], attrs: Record<string, string>, dtype: DType = 'float32'): Built {
  const m = newOvModel('net');
  const g = m.graph;
  const x = ovParam(g, 'x', shape.map((d) => d ?? 1), dtype);
  x.shape = shape;
  const r = ovParam(g, 'rois', [rois, 5], dtype);
  const node = ovOp(g, op, op === 'ROIPooling' ? 'opset2' : 'opset1', [x, r], [outShape], attrs, 'pool');
  g.outputs = [node.output(0)];
  return { m, out: node.output(0).name };
}

async function run(b: Built, shape: Map4, xs: number[], rois: number[][], dtype: DType = 'float32') {
  const got = await runner.run(b.m, { x: { dtype, shape, values: xs }, rois: { dtype, shape: [rois.length, 5], values: rois.flat() } });
  return got[b.out]!;
}

/** The ROIs that pool: those before the first whose batch index (truncated) is -1. */
function liveRois(rois: number[][]): boolean[] {
  let ended = false;
  return rois.map((r) => !(ended ||= Math.trunc(r[0]!) === -1));
}

function roiPoolMax(xs: number[], [, C, H, W]: Map4, rois: number[][], PH: number, PW: number, scale: number): number[] {
  const out: number[] = [];
  const live = liveRois(rois);
  rois.forEach((roi, r) => {
    if (!live[r]) return out.push(...Array<number>(C * PH * PW).fill(0));
    const b = Math.trunc(roi[0]!);
    const [ws, hs, we, he] = roi.slice(1).map((v) => roundAway(f32(v * f32(scale)))) as Map4;
    const binH = f32(Math.max(he - hs + 1, 1) / PH);
    const binW = f32(Math.max(we - ws + 1, 1) / PW);
    const clip = (v: number, hi: number): number => Math.min(Math.max(v, 0), hi);
    for (let c = 0; c < C; c++) {
      for (let ph = 0; ph < PH; ph++) {
        for (let pw = 0; pw < PW; pw++) {
          const h0 = clip(Math.floor(f32(ph * binH)) + hs, H);
          const h1 = clip(Math.ceil(f32((ph + 1) * binH)) + hs, H);
          const w0 = clip(Math.floor(f32(pw * binW)) + ws, W);
          const w1 = clip(Math.ceil(f32((pw + 1) * binW)) + ws, W);
          let best = h1 <= h0 || w1 <= w0 ? 0 : -Infinity;
          for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) best = Math.max(best, xs[((b * C + c) * H + h) * W + w]!);
          out.push(best);
        }
      }
    }
    return undefined;
  });
  return out;
}

/** The reference's interpolation between the four neighbours of (y, x) in plane `at` (0 <= y, x < size). */
function interpolate(at: (h: number, w: number) => number, y: number, x: number, H: number, W: number): number {
  const [top, left] = [Math.floor(y), Math.floor(x)];
  const [bottom, right] = [Math.min(Math.ceil(y), H - 1), Math.min(Math.ceil(x), W - 1)];
  const [dx, dy] = [f32(x - left), f32(y - top)];
  const upper = f32(at(top, left) + f32(f32(at(top, right) - at(top, left)) * dx));
  const lower = f32(at(bottom, left) + f32(f32(at(bottom, right) - at(bottom, left)) * dx));
  return f32(upper + f32(f32(lower - upper) * dy));
}

function roiPoolBilinear(xs: number[], [, C, H, W]: Map4, rois: number[][], PH: number, PW: number): number[] {
  const out: number[] = [];
  const live = liveRois(rois);
  const position = (start: number, end: number, size: number, pooled: number, i: number): number => {
    if (pooled === 1) return f32(0.5 * f32(start + end) * (size - 1));
    if (i === pooled - 1) return f32((size - 1) * end);
    const stride = f32(f32(f32(end - start) * (size - 1)) / (pooled - 1));
    return f32(f32(i * stride) + f32(start * (size - 1)));
  };
  rois.forEach((roi, r) => {
    const b = Math.trunc(roi[0]!);
    const [x1, y1, x2, y2] = roi.slice(1).map(f32) as Map4;
    for (let c = 0; c < C; c++) {
      for (let ph = 0; ph < PH; ph++) {
        for (let pw = 0; pw < PW; pw++) {
          const y = position(y1, y2, H, PH, ph);
          const x = position(x1, x2, W, PW, pw);
          const inside = live[r] && y >= 0 && y <= H - 1 && x >= 0 && x <= W - 1;
          out.push(inside ? interpolate((h, w) => xs[((b * C + c) * H + h) * W + w]!, y, x, H, W) : 0);
        }
      }
    }
  });
  return out;
}

function psRoiAverage(xs: number[], [, C, H, W]: Map4, rois: number[][], outputDim: number, G: number, scale: number): number[] {
  const out: number[] = [];
  const live = liveRois(rois);
  rois.forEach((roi, r) => {
    const b = Math.trunc(roi[0]!);
    const start = (v: number): number => f32(roundAway(f32(v)) * f32(scale));
    const end = (v: number): number => f32((roundAway(f32(v)) + 1) * f32(scale));
    const [sw, sh, ew, eh] = [start(roi[1]!), start(roi[2]!), end(roi[3]!), end(roi[4]!)];
    const [binW, binH] = [f32(f32(ew - sw) / G), f32(f32(eh - sh) / G)];
    for (let c = 0; c < outputDim; c++) {
      for (let ph = 0; ph < G; ph++) {
        for (let pw = 0; pw < G; pw++) {
          const channel = (c * G + ph) * G + pw;
          // The reference's bounds: start at most size - 1, end at most size; below 0 clipped as the CPU plugin does.
          const h0 = Math.max(Math.min(Math.floor(f32(sh + f32(ph * binH))), H - 1), 0);
          const w0 = Math.max(Math.min(Math.floor(f32(sw + f32(pw * binW))), W - 1), 0);
          const h1 = Math.max(Math.min(Math.ceil(f32(sh + f32((ph + 1) * binH))), H), 0);
          const w1 = Math.max(Math.min(Math.ceil(f32(sw + f32((pw + 1) * binW))), W), 0);
          if (!live[r] || h1 <= h0 || w1 <= w0) {
            out.push(0);
            continue;
          }
          let sum = 0;
          for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) sum = f32(sum + xs[((b * C + channel) * H + h) * W + w]!);
          out.push(f32(sum / ((h1 - h0) * (w1 - w0))));
        }
      }
    }
  });
  return out;
}

function psRoiBilinear(xs: number[], [, C, H, W]: Map4, rois: number[][], outputDim: number, G: number, SBX: number, SBY: number, scale: number): number[] {
  const out: number[] = [];
  const live = liveRois(rois);
  rois.forEach((roi, r) => {
    const b = Math.trunc(roi[0]!);
    const [x1, y1, x2, y2] = roi.slice(1).map((v) => f32(f32(v) * f32(scale))) as Map4;
    const [binW, binH] = [f32(f32(x2 - x1) / SBX), f32(f32(y2 - y1) / SBY)];
    const position = (binStart: number, bin: number, size: number, i: number): number =>
      G > 1 ? f32(f32(i * f32(f32(bin * (size - 1)) / (G - 1))) + f32(binStart * (size - 1))) : f32(f32(f32(f32(binStart + binStart) + bin) * (size - 1)) / 2);
    for (let c = 0; c < outputDim; c++) {
      for (let ph = 0; ph < G; ph++) {
        for (let pw = 0; pw < G; pw++) {
          let acc = 0;
          for (let by = 0; by < SBY; by++) {
            for (let bx = 0; bx < SBX; bx++) {
              const channel = (by * SBX + bx) * outputDim + c;
              const y = position(f32(y1 + f32(by * binH)), binH, H, ph);
              const x = position(f32(x1 + f32(bx * binW)), binW, W, pw);
              // The reference: x < W and y < H; left of or above the map skipped as the CPU plugin does.
              if (x >= 0 && x < W && y >= 0 && y < H) acc = f32(acc + interpolate((h, w) => xs[((b * C + channel) * H + h) * W + w]!, y, x, H, W));
            }
          }
          out.push(live[r] ? f32(acc / (SBX * SBY)) : 0);
        }
      }
    }
  });
  return out;
}

describe('ROIPooling-2, method max (MaxRoiPool)', () => {
  const shape: Map4 = [2, 3, 7, 9];
  const [PH, PW] = [3, 2];
  const rois = [
    [0, 1, 1, 9, 5], // at scale 0.5: 0.5 -> 1 and 4.5 -> 5 (half away from zero; ONNX Round would give 0 and 4)
    [1, -3, -1, 7, 16], // past the top, left and bottom edges
    [0, 12, 10, 4, 2], // end before start: a 1x1 box
    [1, 0, 0, 17, 13], // the whole map
    [1.7, 5, 3, 5, 3], // batch index truncated to 1; one pixel
  ];
  test.each([
    ['spatial_scale 0.5', 0.5],
    ['spatial_scale 1 (boxes past the map)', 1],
  ])('%s: the largest value of each bin, an empty bin 0', async (_name, scale) => {
    const b = build('ROIPooling', shape, rois.length, [rois.length, 3, PH, PW], { pooled_h: String(PH), pooled_w: String(PW), spatial_scale: String(scale), method: 'max' });
    // All negative on the second image: a bin's maximum is negative, not 0 or FLT_MIN.
    const xs = testValues(2 * 3 * 7 * 9, 7).map((v, i) => f32(i < 3 * 7 * 9 ? v : v - 2));
    const got = await run(b, shape, xs, rois);
    expect(got.shape).toEqual([rois.length, 3, PH, PW]);
    expectClose(got.values, roiPoolMax(xs, shape, rois, PH, PW, scale), 0);
  });

  test('method defaults to max; output_size stands in for pooled_h/pooled_w', async () => {
    const b = build('ROIPooling', shape, rois.length, [rois.length, 3, 2, 4], { output_size: '2,4', spatial_scale: '0.5' });
    const xs = testValues(2 * 3 * 7 * 9, 8).map(f32);
    expectClose((await run(b, shape, xs, rois)).values, roiPoolMax(xs, shape, rois, 2, 4, 0.5), 0);
  });

  test('bin edges are float32 products, as the reference computes them: 57 rows in 7 bins, the last ends at ceil(57.000004) = 58', async () => {
    const tall: Map4 = [1, 1, 64, 2];
    // Rows increase: a bin's maximum is its last row.
    const xs = Array.from({ length: 64 * 2 }, (_, i) => Math.floor(i / 2));
    const box = [[0, 0, 0, 1, 56]];
    const expected = roiPoolMax(xs, tall, box, 7, 1, 1);
    // Integer bins (OpenVINO's CPU plugin) would end the last one at row 57: maximum 56.
    expect(expected[6]).toBe(57);
    const b = build('ROIPooling', tall, 1, [1, 1, 7, 1], { pooled_h: '7', pooled_w: '1', spatial_scale: '1' });
    expectClose((await run(b, tall, xs, box)).values, expected, 0);
  });

  test('a ROI with batch index -1 ends the list: it and the ROIs after it pool to zeros', async () => {
    const listed = [[1, 0, 0, 8, 6], [-1, 0, 0, 0, 0], [0, 2, 2, 8, 6], [1, 1, 1, 3, 3]];
    const b = build('ROIPooling', shape, listed.length, [listed.length, 3, PH, PW], { pooled_h: String(PH), pooled_w: String(PW), spatial_scale: '1' });
    const xs = testValues(2 * 3 * 7 * 9, 9).map((v) => f32(v + 3));
    const got = (await run(b, shape, xs, listed)).values;
    expect(got.slice(3 * PH * PW).every((v) => v === 0)).toBe(true);
    expect(got.slice(0, 3 * PH * PW).every((v) => v > 0)).toBe(true);
    expectClose(got, roiPoolMax(xs, shape, listed, PH, PW, 1), 0);
  });

  test('f16 feature maps and ROIs are pooled in f32 and given back in f16', async () => {
    const b = build('ROIPooling', shape, rois.length, [rois.length, 3, PH, PW], { pooled_h: String(PH), pooled_w: String(PW), spatial_scale: '0.5' }, 'float16');
    // Multiples of 1/64: exact in f16.
    const xs = testValues(2 * 3 * 7 * 9, 10).map((v) => Math.round(v * 64) / 64);
    const got = await run(b, shape, xs, rois, 'float16');
    expect(got.dtype).toBe('float16');
    expectClose(got.values, roiPoolMax(xs, shape, rois, PH, PW, 0.5), 0);
  });
});

describe('ROIPooling-2, method bilinear', () => {
  const shape: Map4 = [2, 3, 6, 8];
  const rois = [
    [0, 0.1, 0.2, 0.8, 0.9],
    [1, 0, 0, 1, 1], // the whole map: the last sample exactly at the last pixel
    // i * stride + start * (size - 1) would put the last sample at 5.0000005 and 7.0000005, past the map: it is end * (size - 1).
    [0, 0.01, 0.03, 1, 1],
    [0, 0.5, -0.2, 1.3, 0.6], // partly outside: those samples are 0
    [1, 0.3, 0.35, 0.3, 0.35], // a point
    [0, 0.9, 0.7, 0.2, 0.1], // end before start
  ];
  test.each([
    ['3x4 samples', 3, 4],
    ['1x1: the box centre', 1, 1],
    ['1x5: centre rows, spread columns', 1, 5],
  ])('%s, interpolated as the reference does (spatial_scale unused)', async (_name, PH, PW) => {
    const b = build('ROIPooling', shape, rois.length, [rois.length, 3, PH, PW], { pooled_h: String(PH), pooled_w: String(PW), spatial_scale: '0.0625', method: 'bilinear' });
    const xs = testValues(2 * 3 * 6 * 8, 11).map(f32);
    const got = await run(b, shape, xs, rois);
    expect(got.shape).toEqual([rois.length, 3, PH, PW]);
    expectClose(got.values, roiPoolBilinear(xs, shape, rois, PH, PW), 1e-6);
  });

  test('dynamic batch and ROI count, and a -1 batch index ending the list', async () => {
    const b = build('ROIPooling', [null, 3, 6, 8], 4, [4, 3, 2, 3], { pooled_h: '2', pooled_w: '3', spatial_scale: '1', method: 'bilinear' });
    b.m.graph.inputs[1]!.shape = [null, 5];
    const listed = [[1, 0.1, 0.1, 0.9, 0.8], [0, 0, 0, 1, 1], [-1, 0, 0, 0, 0], [0, 0.2, 0.2, 0.4, 0.4]];
    const xs = testValues(2 * 3 * 6 * 8, 12).map((v) => f32(v + 2));
    const got = (await run(b, shape, xs, listed)).values;
    expect(got.slice(0, 2 * 18).every((v) => v > 0)).toBe(true);
    expectClose(got, roiPoolBilinear(xs, shape, listed, 2, 3), 1e-6);
  });
});

describe('PSROIPooling-1, mode average', () => {
  test('group_size 3, spatial_scale 0.5: each bin averages its own input channel', async () => {
    const shape: Map4 = [2, 18, 8, 11];
    const rois = [
      [0, 2, 3, 15, 12],
      [1, 0.5, 1.5, 20.5, 14.49], // halves round away from zero
      [0, -6, -4, 9, 7], // left of and above the map: clipped to it
      [1, 30, 2, 40, 9], // starts right of the map: the reference reads its last column
      [1, 5, 5, 5, 5], // one pixel at scale 0.5: bins under a pixel
      [0, 7, 9, 3, 1], // end before start: empty bins are 0
    ];
    const b = build('PSROIPooling', shape, rois.length, [rois.length, 2, 3, 3], { output_dim: '2', group_size: '3', spatial_scale: '0.5', mode: 'average' });
    const xs = testValues(2 * 18 * 8 * 11, 21).map(f32);
    const got = await run(b, shape, xs, rois);
    expect(got.shape).toEqual([rois.length, 2, 3, 3]);
    expectClose(got.values, psRoiAverage(xs, shape, rois, 2, 3, 0.5), 1e-5);
  });

  test('defaults (mode average, group_size 1) at R-FCN scale 1/16, with a -1 batch index ending the list', async () => {
    const shape: Map4 = [1, 3, 9, 12];
    const rois = [
      [0, 17, 33, 150, 120],
      [0, 0, 0, 191, 143],
      [-1, 0, 0, 0, 0],
      [0, 16, 16, 64, 64],
    ];
    const b = build('PSROIPooling', shape, rois.length, [rois.length, 3, 1, 1], { output_dim: '3', spatial_scale: '0.0625' });
    const xs = testValues(3 * 9 * 12, 22).map((v) => f32(v + 2));
    const got = (await run(b, shape, xs, rois)).values;
    expect(got.slice(6).every((v) => v === 0)).toBe(true);
    expectClose(got, psRoiAverage(xs, shape, rois, 3, 1, 0.0625), 1e-5);
  });
});

describe('PSROIPooling-1, mode bilinear', () => {
  test.each([
    ['group_size 3, 3x2 sub-bins', 3, 2, 3, 1],
    ['group_size 1 (each sub-bin centre), 2x2 sub-bins, spatial_scale 0.5', 1, 2, 2, 0.5],
  ])('%s: the mean of one sample per sub-bin, from the sub-bin\'s channel', async (_name, G, SBX, SBY, scale) => {
    const shape: Map4 = [2, 2 * SBX * SBY, 7, 10];
    const rois = [
      [0, 0.1, 0.2, 0.7, 0.9],
      [1, 0, 0, 1, 1],
      [1, 0.5, 0.3, 1.05, 1.1], // samples within the last pixel read the last row/column
      [0, -0.3, 0.2, 1.4, 0.6], // samples outside skipped, still divided by the sub-bin count
      [1, 0.4, 0.4, 0.4, 0.4],
    ].map((r) => [r[0]!, ...r.slice(1).map((v) => v / scale)]);
    const b = build('PSROIPooling', shape, rois.length, [rois.length, 2, G, G], {
      output_dim: '2',
      group_size: String(G),
      spatial_scale: String(scale),
      mode: 'bilinear',
      spatial_bins_x: String(SBX),
      spatial_bins_y: String(SBY),
    });
    const xs = testValues(shape.reduce((a, d) => a * d, 1), 31).map(f32);
    const got = await run(b, shape, xs, rois);
    expect(got.shape).toEqual([rois.length, 2, G, G]);
    expectClose(got.values, psRoiBilinear(xs, shape, rois, 2, G, SBX, SBY, scale), 1e-5);
  });

  test('a -1 batch index ends the list', async () => {
    const shape: Map4 = [1, 8, 5, 6];
    const rois = [[0, 0.2, 0.2, 0.8, 0.8], [-1, 0, 0, 0, 0], [0, 0, 0, 1, 1]];
    const b = build('PSROIPooling', shape, rois.length, [rois.length, 2, 2, 2], { output_dim: '2', group_size: '2', spatial_scale: '1', mode: 'bilinear', spatial_bins_x: '2', spatial_bins_y: '2' });
    const xs = testValues(8 * 5 * 6, 32).map((v) => f32(v + 2));
    const got = (await run(b, shape, xs, rois)).values;
    expect(got.slice(8).every((v) => v === 0)).toBe(true);
    expectClose(got, psRoiBilinear(xs, shape, rois, 2, 2, 2, 2, 1), 1e-5);
  });
});

test('what is not translated is refused by name', () => {
  const roi = (attrs: Record<string, string>, shape: (number | null)[] = [1, 4, 6, 6], dtype: DType = 'float32') =>
    translationFailure(build('ROIPooling', shape, 2, [2, 4, 2, 2], { pooled_h: '2', pooled_w: '2', spatial_scale: '1', ...attrs }, dtype).m);
  const ps = (attrs: Record<string, string>, shape: (number | null)[] = [1, 8, 6, 6]) =>
    translationFailure(build('PSROIPooling', shape, 2, [2, 2, 2, 2], { output_dim: '2', group_size: '2', spatial_scale: '1', ...attrs }).m);
  expect(roi({ method: 'avg' })).toContain('method="avg" is not translated (max and bilinear are)');
  expect(roi({}, [1, 4, 6, 6], 'float64')).toContain('element type float64 is not translated (f32 is, and f16 computed in f32)');
  expect(roi({ method: 'bilinear' }, [1, null, 6, 6])).toContain('input 0 needs a static channel count for method="bilinear"');
  expect(roi({ method: 'bilinear' }, [1, 4, null, 6])).toContain('input 0 needs static spatial dimensions for this translation');
  expect(ps({ mode: 'bilinear_deformable' })).toContain('mode="bilinear_deformable" is not translated (average and bilinear are)');
  expect(ps({}, [1, 9, 6, 6])).toContain('input 0 has 9 channels and output_dim * group_size * group_size is 8');
  expect(ps({ mode: 'bilinear', spatial_bins_x: '3' }, [1, 8, 6, 6])).toContain('input 0 has 8 channels and output_dim * spatial_bins_x * spatial_bins_y is 6');
  expect(ps({ spatial_scale: '0' })).toContain('spatial_scale=0 must be positive');
});
