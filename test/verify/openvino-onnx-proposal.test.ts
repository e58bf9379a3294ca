/**
 * Proposal-1 and -4 translated to ONNX (decoding with elementwise ops, TopK,
 * a Loop for OpenVINO's greedy NMS), run in onnxruntime and compared with
 * the layer computed here in plain loops as OpenVINO's reference
 * implementation does, in float32: Caffe and TensorFlow anchors, clipping
 * before and after NMS, normalized boxes, the min-size filter, and fewer
 * kept boxes than post_nms_topn (zero rows, the first marked -1).
 *
 * Scores are distinct, so the order of the sort (unspecified for ties in the
 * reference) is the same everywhere; each case checks that it exercises what
 * it is named for (boxes suppressed, filtered, clipped, rows left empty).
 */
import { newOvModel, ovOp, ovParam } from '../helpers/openvino-build';
import { TranslatedRunner, expectClose, testValues, translationFailure } from '../helpers/openvino-translate';
import type { DType } from '../../src/ir/dtype';

let runner: TranslatedRunner;
beforeAll(() => {
  runner = new TranslatedRunner();
});
afterAll(() => runner.close());

const f32 = Math.fround;

interface Case {
  framework: '' | 'tensorflow';
  baseSize: number;
  featStride: number;
  ratios: number[];
  scales: number[];
  preNmsTopN: number;
  postNmsTopN: number;
  nmsThresh: number;
  minSize: number;
  clipBeforeNms?: boolean;
  clipAfterNms?: boolean;
  normalize?: boolean;
  boxSizeScale?: number;
  boxCoordinateScale?: number;
  N: number;
  H: number;
  W: number;
  image: number[];
}

/** The layer's `<data>` attributes (the optional ones only when a case sets them). */
function attrsOf(c: Case): Record<string, string> {
  const attrs: Record<string, string> = {
    base_size: String(c.baseSize),
    feat_stride: String(c.featStride),
    ratio: c.ratios.join(','),
    scale: c.scales.join(','),
    pre_nms_topn: String(c.preNmsTopN),
    post_nms_topn: String(c.postNmsTopN),
    nms_thresh: String(c.nmsThresh),
    min_size: String(c.minSize),
  };
  if (c.framework) attrs.framework = c.framework;
  if (c.clipBeforeNms !== undefined) attrs.clip_before_nms = String(c.clipBeforeNms);
  if (c.clipAfterNms !== undefined) attrs.clip_after_nms = String(c.clipAfterNms);
  if (c.normalize !== undefined) attrs.normalize = String(c.normalize);
  if (c.boxSizeScale !== undefined) attrs.box_size_scale = String(c.boxSizeScale);
  if (c.boxCoordinateScale !== undefined) attrs.box_coordinate_scale = String(c.boxCoordinateScale);
  return attrs;
}

/** C's roundf (half away from zero). */
const roundf = (x: number): number => Math.sign(x) * Math.round(Math.abs(x));

/** What the reference computes, with counts that show what a case exercised. */
interface Expected {
  rois: number[];
  scores: number[];
  kept: number[];
  suppressed: number;
  filtered: number;
  zeroScoredCandidates: number;
  clippedBefore: number;
  clippedAfter: number;
}

function referenceProposal(c: Case, probs: number[], deltas: number[]): Expected {
  const tf = c.framework === 'tensorflow';
  const offset = tf ? 0 : 1;
  const { N, H, W, image } = c;
  // generate_anchors: [x0, y0, x1, y1] per (ratio, scale).
  const anchors: number[][] = [];
  const baseArea = f32(c.baseSize * c.baseSize);
  const center = f32(0.5 * f32(c.baseSize - offset));
  for (const ratio of c.ratios.map(f32)) {
    let ratioW = f32(Math.sqrt(f32(baseArea / ratio)));
    let ratioH = f32(ratioW * ratio);
    if (!tf) {
      ratioW = roundf(ratioW);
      ratioH = roundf(f32(ratioW * ratio));
    }
    for (const scale of c.scales.map(f32)) {
      const sw = f32(0.5 * f32(f32(ratioW * scale) - offset));
      const sh = f32(0.5 * f32(f32(ratioH * scale) - offset));
      let box = [f32(center - sw), f32(center - sh), f32(center + sw), f32(center + sh)];
      if (tf) box = box.map((v) => f32(v - f32(c.baseSize * 0.5)));
      anchors.push(box);
    }
  }
  const A = anchors.length;
  const imgH = f32(image[tf ? 1 : 0]!);
  const imgW = f32(image[tf ? 0 : 1]!);
  const scaleH = f32(image[2]!);
  const scaleW = f32(image.length === 4 ? image[3]! : image[2]!);
  const minH = f32(c.minSize * scaleH);
  const minW = f32(c.minSize * scaleW);
  const bcs = f32(c.boxCoordinateScale ?? 1);
  const bss = f32(c.boxSizeScale ?? 1);
  const P = A * H * W;
  const K = Math.min(P, c.preNmsTopN);
  const T = c.postNmsTopN;
  const clamp = (v: number, hi: number): number => Math.max(0, Math.min(v, hi));
  const out: Expected = { rois: [], scores: [], kept: [], suppressed: 0, filtered: 0, zeroScoredCandidates: 0, clippedBefore: 0, clippedAfter: 0 };

  for (let n = 0; n < N; n++) {
    const proposals: { box: number[]; score: number }[] = [];
    for (let h = 0; h < H; h++) {
      for (let w = 0; w < W; w++) {
        const x = f32((tf ? h : w) * c.featStride);
        const y = f32((tf ? w : h) * c.featStride);
        for (let a = 0; a < A; a++) {
          const delta = (k: number): number => deltas[((n * 4 * A + a * 4 + k) * H + h) * W + w]!;
          const [dx, dy] = [f32(delta(0) / bcs), f32(delta(1) / bcs)];
          const [dw, dh] = [f32(delta(2) / bss), f32(delta(3) / bss)];
          const score = probs[((n * 2 * A + A + a) * H + h) * W + w]!;
          let [x0, y0, x1, y1] = [f32(x + anchors[a]![0]!), f32(y + anchors[a]![1]!), f32(x + anchors[a]![2]!), f32(y + anchors[a]![3]!)];
          if (tf) [x0, y0, x1, y1] = [clamp(x0, imgW), clamp(y0, imgH), clamp(x1, imgW), clamp(y1, imgH)];
          const ww = f32(f32(x1 - x0) + offset);
          const hh = f32(f32(y1 - y0) + offset);
          const cx = f32(f32(dx * ww) + f32(x0 + f32(0.5 * ww)));
          const cy = f32(f32(dy * hh) + f32(y0 + f32(0.5 * hh)));
          const pw = f32(f32(Math.exp(dw)) * ww);
          const ph = f32(f32(Math.exp(dh)) * hh);
          let box = [f32(cx - f32(0.5 * pw)), f32(cy - f32(0.5 * ph)), f32(cx + f32(0.5 * pw)), f32(cy + f32(0.5 * ph))];
          if (c.clipBeforeNms ?? true) {
            const limits = [f32(imgW - offset), f32(imgH - offset), f32(imgW - offset), f32(imgH - offset)];
            const clipped = box.map((v, i) => clamp(v, limits[i]!));
            if (clipped.some((v, i) => v !== box[i])) out.clippedBefore++;
            box = clipped;
          }
          const big = minW <= f32(f32(box[2]! - box[0]!) + offset) && minH <= f32(f32(box[3]! - box[1]!) + offset);
          if (!big) out.filtered++;
          proposals.push({ box, score: big ? score : 0 });
        }
      }
    }
    // A stable sort: equal scores keep the proposal order.
    const candidates = proposals.map((p, i) => ({ ...p, i })).sort((p, q) => q.score - p.score || p.i - q.i).slice(0, K);
    out.zeroScoredCandidates += candidates.filter((p) => p.score === 0).length;
    const dead = new Array<boolean>(K).fill(false);
    const kept: number[] = [];
    for (let i = 0; i < K && kept.length < T; i++) {
      if (dead[i]) continue;
      kept.push(i);
      if (kept.length === T) break;
      const [x0i, y0i, x1i, y1i] = candidates[i]!.box as [number, number, number, number];
      for (let j = i + 1; j < K; j++) {
        const [x0j, y0j, x1j, y1j] = candidates[j]!.box as [number, number, number, number];
        let iou = 0;
        if (x0i <= x1j && y0i <= y1j && x0j <= x1i && y0j <= y1i) {
          const iw = Math.max(0, f32(f32(Math.min(x1i, x1j) - Math.max(x0i, x0j)) + offset));
          const ih = Math.max(0, f32(f32(Math.min(y1i, y1j) - Math.max(y0i, y0j)) + offset));
          const inter = f32(iw * ih);
          const areaI = f32(f32(f32(x1i - x0i) + offset) * f32(f32(y1i - y0i) + offset));
          const areaJ = f32(f32(f32(x1j - x0j) + offset) * f32(f32(y1j - y0j) + offset));
          iou = f32(inter / f32(f32(areaI + areaJ) - inter));
        }
        if (f32(c.nmsThresh) < iou && !dead[j]) {
          dead[j] = true;
          out.suppressed++;
        }
      }
    }
    out.kept.push(kept.length);
    for (let r = 0; r < T; r++) {
      if (r >= kept.length) {
        out.rois.push(r === kept.length ? -1 : 0, 0, 0, 0, 0);
        out.scores.push(0);
        continue;
      }
      const p = candidates[kept[r]!]!;
      let box = p.box;
      if (c.clipAfterNms) {
        const limits = [imgW, imgH, imgW, imgH];
        const clipped = box.map((v, i) => clamp(v, limits[i]!));
        if (clipped.some((v, i) => v !== box[i])) out.clippedAfter++;
        box = clipped;
      }
      if (c.normalize) box = box.map((v, i) => f32(v / (i % 2 === 0 ? imgW : imgH)));
      out.rois.push(n, ...box);
      out.scores.push(p.score);
    }
  }
  return out;
}

/** Values in (0, 1), all different (ties would leave the reference's sort order unspecified). */
function distinctScores(count: number, seed: number): number[] {
  const keys = testValues(count, seed);
  const order = keys.map((k, i) => [k, i] as const).sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  const out = new Array<number>(count);
  order.forEach(([, i], rank) => {
    out[i] = f32((rank + 1) / (count + 1));
  });
  return out;
}

function model(c: Case, opset: 'opset1' | 'opset4', dtype: DType = 'float32', attrs = attrsOf(c)) {
  const A = c.ratios.length * c.scales.length;
  const m = newOvModel('net');
  const g = m.graph;
  const probs = ovParam(g, 'probs', [c.N, 2 * A, c.H, c.W], dtype);
  const deltas = ovParam(g, 'deltas', [c.N, 4 * A, c.H, c.W], dtype);
  const image = ovParam(g, 'image', [c.image.length], dtype);
  const rows = c.N * c.postNmsTopN;
  const node = ovOp(g, 'Proposal', opset, [probs, deltas, image], opset === 'opset4' ? [[rows, 5], [rows]] : [[rows, 5]], attrs, 'proposal');
  g.outputs = [...node.outputs];
  return { m, outs: node.outputs.map((v) => v.name) };
}

async function runCase(c: Case, opset: 'opset1' | 'opset4', seed: number, given?: { probs: number[]; deltas: number[] }): Promise<Expected> {
  const A = c.ratios.length * c.scales.length;
  const probs = given?.probs ?? distinctScores(c.N * 2 * A * c.H * c.W, seed);
  const deltas = given?.deltas ?? testValues(c.N * 4 * A * c.H * c.W, seed + 1, -0.6, 0.6).map(f32);
  const { m, outs } = model(c, opset);
  const got = await runner.run(m, {
    probs: { shape: [c.N, 2 * A, c.H, c.W], values: probs },
    deltas: { shape: [c.N, 4 * A, c.H, c.W], values: deltas },
    image: { shape: [c.image.length], values: c.image },
  });
  const expected = referenceProposal(c, probs, deltas);
  const rois = got[outs[0]!]!;
  expect(rois.shape).toEqual([c.N * c.postNmsTopN, 5]);
  expectClose(rois.values, expected.rois, 1e-5);
  if (opset === 'opset4') {
    const scores = got[outs[1]!]!;
    expect(scores.shape).toEqual([c.N * c.postNmsTopN]);
    expectClose(scores.values, expected.scores, 1e-6);
  }
  return expected;
}

// Caffe's Faster R-CNN: 9 anchors of base 16 at stride 16, here 3 ratios x 2 scales on a small map.
const CAFFE: Case = {
  framework: '',
  baseSize: 16,
  featStride: 16,
  ratios: [0.5, 1, 2],
  scales: [2, 4],
  preNmsTopN: 120,
  postNmsTopN: 30,
  nmsThresh: 0.7,
  minSize: 4,
  N: 2,
  H: 5,
  W: 7,
  image: [75, 100, 1],
};

// The TensorFlow Object Detection API's: base 256, scales 0.25..1, on a non-square map and image.
const TENSORFLOW: Case = {
  framework: 'tensorflow',
  baseSize: 256,
  featStride: 16,
  ratios: [0.5, 1, 2],
  scales: [0.125, 0.25, 0.5],
  preNmsTopN: 100,
  postNmsTopN: 25,
  nmsThresh: 0.6,
  minSize: 2,
  N: 2,
  H: 6,
  W: 4,
  image: [90, 60, 1],
};

test('Proposal-1, Caffe anchors, defaults (clip before NMS): the rows [image, x0, y0, x1, y1] of the kept boxes', async () => {
  const e = await runCase(CAFFE, 'opset1', 11);
  expect(e.suppressed).toBeGreaterThan(0);
  expect(e.clippedBefore).toBeGreaterThan(0);
  expect(e.kept).toEqual([30, 30]);
});

test('Proposal-4, Caffe anchors, clip after NMS, normalize, box scales, [4] image_shape with two scales: boxes and scores', async () => {
  const c: Case = { ...CAFFE, H: 4, W: 6, clipBeforeNms: false, clipAfterNms: true, normalize: true, boxSizeScale: 2, boxCoordinateScale: 0.5, minSize: 6, image: [60, 90, 1.5, 0.75] };
  const e = await runCase(c, 'opset4', 21);
  expect(e.suppressed).toBeGreaterThan(0);
  expect(e.clippedAfter).toBeGreaterThan(0);
  expect(e.clippedBefore).toBe(0);
});

test('Proposal-4, TensorFlow anchors (no +1, shifted, x along H, clipped first), non-square map and image', async () => {
  const e = await runCase(TENSORFLOW, 'opset4', 31);
  expect(e.suppressed).toBeGreaterThan(0);
  expect(e.clippedBefore).toBeGreaterThan(0);
  expect(e.kept).toEqual([25, 25]);
});

test('Proposal-1, TensorFlow anchors, no clip before NMS, clip after and normalize, [4] image_shape', async () => {
  const c: Case = { ...TENSORFLOW, H: 3, W: 5, clipBeforeNms: false, clipAfterNms: true, normalize: true, image: [40, 70, 1, 2] };
  const e = await runCase(c, 'opset1', 41);
  expect(e.suppressed).toBeGreaterThan(0);
  expect(e.clippedAfter).toBeGreaterThan(0);
});

test('fewer boxes than post_nms_topn (pre_nms_topn smaller, or NMS removing most): zero rows, the first with image -1, zero scores', async () => {
  const fewCandidates = await runCase({ ...CAFFE, preNmsTopN: 12, postNmsTopN: 20 }, 'opset4', 51);
  expect(Math.max(...fewCandidates.kept)).toBeLessThanOrEqual(12);
  const heavyNms = await runCase({ ...TENSORFLOW, preNmsTopN: 1000, postNmsTopN: 100, nmsThresh: 0.2 }, 'opset4', 61);
  expect(heavyNms.kept.every((k) => k > 0 && k < 100)).toBe(true);
  expect(heavyNms.zeroScoredCandidates).toBe(0);
});

test('min_size (times image_shape scales) zeroes the scores of small boxes, which fall out of the candidates', async () => {
  const e = await runCase({ ...CAFFE, minSize: 30, image: [75, 100, 1.25, 0.5], preNmsTopN: 20, postNmsTopN: 15, nmsThresh: 0.5 }, 'opset4', 71);
  expect(e.filtered).toBeGreaterThan(0);
  expect(e.zeroScoredCandidates).toBe(0);
});

test('Caffe NMS: boxes less than a pixel apart do not overlap, though the +1 sizes would give them an intersection', async () => {
  // One 16x16 anchor per cell of a 1x2 map ([0, 0, 15, 15] and [16, 0, 31, 15]),
  // moved to about [-0.5, -0.5, 9.5, 9.5] and [10, -0.5, 20, 9.5]: x1 of the first is below x0 of
  // the second, and the +1 intersection (0.5 x 11 over 2 x 121 - 5.5, about 0.023) is above nms_thresh.
  const c: Case = { ...CAFFE, ratios: [1], scales: [1], N: 1, H: 1, W: 2, preNmsTopN: 2, postNmsTopN: 2, nmsThresh: 0.01, minSize: 0, clipBeforeNms: false, image: [100, 100, 1] };
  const logW = f32(Math.log(10 / 16));
  const deltas = [f32(-3.5 / 16), f32(-9 / 16), f32(-3.5 / 16), f32(-3.5 / 16), logW, logW, logW, logW];
  const e = await runCase(c, 'opset4', 0, { probs: [0.1, 0.2, 0.9, 0.8].map(f32), deltas });
  expect(e.kept).toEqual([2]);
  expect(e.rois[6]! - e.rois[3]!).toBeCloseTo(0.5, 3);
});

test('refused: unknown framework, f16, anchors that do not match the channels, image_shape of 2 values, dynamic H, other opsets', () => {
  expect(translationFailure(model(CAFFE, 'opset1', 'float32', { ...attrsOf(CAFFE), framework: 'mxnet' }).m)).toContain('framework="mxnet" is not translated ("" (Caffe) and "tensorflow" are)');
  expect(translationFailure(model(CAFFE, 'opset4', 'float16').m)).toContain('input 0 is float16 (f32 is translated)');
  expect(translationFailure(model(CAFFE, 'opset1', 'float32', { ...attrsOf(CAFFE), scale: '2,4,8' }).m)).toContain('class_probs has 12 channels, not 2 x 9 anchors (3 ratios x 3 scales)');
  expect(translationFailure(model({ ...CAFFE, image: [75, 100] }, 'opset1').m)).toContain('image_shape (input 2) of shape [2] is not translated ([3] and [4] are)');
  const dynamic = model(CAFFE, 'opset1');
  dynamic.m.graph.inputs[0]!.shape = [2, 12, null, 7];
  expect(translationFailure(dynamic.m)).toContain('input 0 needs static spatial dimensions for this translation');
  const other = model(CAFFE, 'opset1');
  other.m.graph.nodes[0]!.domain = 'opset9';
  expect(translationFailure(other.m)).toContain('Proposal of opset9 is not translated (opset1 and opset4 are)');
});
