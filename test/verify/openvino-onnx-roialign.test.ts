/**
 * ROIAlign-3 and -9 translated to ONNX RoiAlign, run in onnxruntime and
 * compared with the pooling done here as Mask R-CNN's RoIAlign computes it
 * (bilinear samples on a grid in each bin, averaged), in both coordinate
 * alignments and with a fixed and an adaptive sampling grid.
 */
import { newOvModel, ovConst, ovOp, ovParam } from '../helpers/openvino-build';
import { TranslatedRunner, expectClose, testValues } from '../helpers/openvino-translate';
import { openvinoToOnnx } from '../../src/verify/openvino-onnx';

let runner: TranslatedRunner;
beforeAll(() => {
  runner = new TranslatedRunner();
});
afterAll(() => runner.close());

const [N, C, H, W] = [2, 3, 7, 9];
const [PH, PW] = [3, 2];
// Inside the map, past its edges, small (under a pixel) and on the second image.
const ROIS = [
  [1, 1, 6, 5],
  [-2, 3, 10, 9],
  [4.2, 2.1, 4.6, 2.5],
  [0, 0, 8, 6],
];
const BATCH = [0, 0, 1, 1];

function bilinear(x: number[], n: number, c: number, yIn: number, xIn: number): number {
  if (yIn < -1 || yIn > H || xIn < -1 || xIn > W) return 0;
  let y = Math.max(yIn, 0);
  let xx = Math.max(xIn, 0);
  let y0 = Math.floor(y);
  let x0 = Math.floor(xx);
  let y1 = y0 + 1;
  let x1 = x0 + 1;
  if (y0 >= H - 1) y = y0 = y1 = H - 1;
  if (x0 >= W - 1) xx = x0 = x1 = W - 1;
  const [ly, lx] = [y - y0, xx - x0];
  const at = (i: number, j: number): number => x[((n * C + c) * H + i) * W + j]!;
  return (1 - ly) * (1 - lx) * at(y0, x0) + (1 - ly) * lx * at(y0, x1) + ly * (1 - lx) * at(y1, x0) + ly * lx * at(y1, x1);
}

function roiAlignRef(x: number[], scale: number, ratio: number, halfPixel: boolean): number[] {
  const out: number[] = [];
  ROIS.forEach((roi, r) => {
    const offset = halfPixel ? 0.5 : 0;
    const [x1, y1, x2, y2] = roi.map((v) => v * scale - offset) as [number, number, number, number];
    const roiW = halfPixel ? x2 - x1 : Math.max(x2 - x1, 1);
    const roiH = halfPixel ? y2 - y1 : Math.max(y2 - y1, 1);
    const [binH, binW] = [roiH / PH, roiW / PW];
    const gridH = ratio > 0 ? ratio : Math.ceil(roiH / PH);
    const gridW = ratio > 0 ? ratio : Math.ceil(roiW / PW);
    for (let c = 0; c < C; c++) {
      for (let ph = 0; ph < PH; ph++) {
        for (let pw = 0; pw < PW; pw++) {
          let sum = 0;
          for (let iy = 0; iy < gridH; iy++) {
            for (let ix = 0; ix < gridW; ix++) {
              sum += bilinear(x, BATCH[r]!, c, y1 + ph * binH + ((iy + 0.5) * binH) / gridH, x1 + pw * binW + ((ix + 0.5) * binW) / gridW);
            }
          }
          out.push(sum / (gridH * gridW));
        }
      }
    }
  });
  return out;
}

function model(opset: 'opset3' | 'opset9', attrs: Record<string, string>) {
  const m = newOvModel('net');
  const g = m.graph;
  const x = ovParam(g, 'x', [N, C, H, W]);
  const rois = ovConst(g, 'rois', 'float32', [ROIS.length, 4], ROIS.flat());
  const batch = ovConst(g, 'batch', 'int32', [BATCH.length], BATCH);
  const node = ovOp(g, 'ROIAlign', opset, [x, rois, batch], [[ROIS.length, C, PH, PW]], { pooled_h: String(PH), pooled_w: String(PW), mode: 'avg', ...attrs }, 'roi');
  g.outputs = [node.output(0)];
  return { m, out: node.output(0).name };
}

test.each([
  ['ROIAlign-3 (asymmetric), sampling_ratio 2, scale 1', 'opset3', { sampling_ratio: '2', spatial_scale: '1' }, 1, 2, false],
  ['ROIAlign-3, adaptive sampling (ratio 0), scale 0.5', 'opset3', { sampling_ratio: '0', spatial_scale: '0.5' }, 0.5, 0, false],
  ['ROIAlign-9, aligned_mode half_pixel, sampling_ratio 2', 'opset9', { sampling_ratio: '2', spatial_scale: '1', aligned_mode: 'half_pixel' }, 1, 2, true],
  ['ROIAlign-9, aligned_mode asymmetric, adaptive sampling', 'opset9', { sampling_ratio: '0', spatial_scale: '1', aligned_mode: 'asymmetric' }, 1, 0, false],
] as const)('%s: the average of bilinear samples per bin', async (_name, opset, attrs, scale, ratio, halfPixel) => {
  const { m, out } = model(opset, attrs);
  const xs = testValues(N * C * H * W, 81).map(Math.fround);
  const got = (await runner.run(m, { x: { shape: [N, C, H, W], values: xs } }))[out]!;
  expect(got.shape).toEqual([ROIS.length, C, PH, PW]);
  expectClose(got.values, roiAlignRef(xs, scale, ratio, halfPixel), 1e-5);
});

test('max pooling and half_pixel_for_nn are refused by name', () => {
  expect(() => openvinoToOnnx(model('opset3', { sampling_ratio: '2', spatial_scale: '1', mode: 'max' }).m)).toThrow('mode="max" is not translated (avg is)');
  expect(() => openvinoToOnnx(model('opset9', { sampling_ratio: '2', spatial_scale: '1', aligned_mode: 'half_pixel_for_nn' }).m)).toThrow(
    'aligned_mode="half_pixel_for_nn" is not translated (asymmetric and half_pixel are)',
  );
});
