/**
 * DetectionOutput-1/-8 translated to ONNX (src/verify/openvino-onnx/ops/detection.ts),
 * checked against a plain-loop DetectionOutput written from the OpenVINO
 * specification and its reference implementation (decode, per-class greedy
 * NMS over the top_k candidates, keep_top_k over all classes, rows by image,
 * class and score, one end row of image -1 and zeros after it).
 *
 * The inputs are pseudo-random (no IoU sits on the threshold). Equal scores
 * within a class go to the lower prior in both; equal scores of two classes
 * of one prior are left open by the reference's std::sort at keep_top_k (the
 * translation takes the lower class), so no test has them.
 */
import { newOvModel, ovOp, ovParam } from '../helpers/openvino-build';
import { expectClose, TranslatedRunner, testValues, translationFailure } from '../helpers/openvino-translate';
import type { Model } from '../../src/ir/model';

let runner: TranslatedRunner;
beforeAll(() => {
  runner = new TranslatedRunner();
});
afterAll(() => runner.close());

const f = Math.fround;
const CORNER = 'caffe.PriorBoxParameter.CORNER';
const CENTER = 'caffe.PriorBoxParameter.CENTER_SIZE';

interface Opts {
  opset: 'opset1' | 'opset8';
  B: number;
  P: number;
  C: number;
  PB: number;
  share: boolean;
  bg: number;
  topK: number;
  keepTopK: number;
  code: string;
  encoded: boolean;
  normalized: boolean;
  inputH: number;
  inputW: number;
  nms: number;
  conf: number;
  clipBefore: boolean;
  clipAfter: boolean;
  decrease: boolean;
}

const base: Opts = {
  opset: 'opset8', B: 1, P: 5, C: 3, PB: 1, share: true, bg: 0, topK: -1, keepTopK: -1, code: CENTER, encoded: false, normalized: true,
  inputH: 1, inputW: 1, nms: 0.3, conf: 0.2, clipBefore: false, clipAfter: false, decrease: false,
};

type Box = [number, number, number, number];

/** What the reference computes, with counts of what NMS suppressed and keep_top_k cut (so a test can check it exercised them). */
function reference(o: Opts, loc: number[], conf: number[], priors: number[], N: number): { out: number[]; suppressed: number; cut: number; inverted: number } {
  const L = o.share ? 1 : o.C;
  const ps = o.normalized ? 4 : 5;
  const R = o.encoded ? 1 : 2;
  let suppressed = 0;
  let cut = 0;
  let inverted = 0;
  const rows: number[][] = [];
  for (let i = 0; i < o.B; i++) {
    const pb = o.PB === 1 ? 0 : i;
    const prior = (p: number): Box => {
      const at = pb * R * o.P * ps + p * ps + (o.normalized ? 0 : 1);
      const b = [0, 1, 2, 3].map((k) => priors[at + k]!) as Box;
      return o.normalized ? b : [f(b[0] / o.inputW), f(b[1] / o.inputH), f(b[2] / o.inputW), f(b[3] / o.inputH)];
    };
    const variance = (p: number): number[] => [0, 1, 2, 3].map((k) => (o.encoded ? 1 : priors[pb * R * o.P * ps + o.P * ps + p * 4 + k]!));
    const decoded = (l: number, p: number): Box => {
      const at = i * o.P * L * 4 + p * L * 4 + l * 4;
      const [x0, y0, x1, y1] = [0, 1, 2, 3].map((k) => loc[at + k]!) as Box;
      const [px0, py0, px1, py1] = prior(p);
      const v = variance(p);
      const mv = (k: number, x: number): number => (o.encoded ? x : f(v[k]! * x));
      let b: Box;
      if (o.code === CORNER) {
        b = [f(px0 + mv(0, x0)), f(py0 + mv(1, y0)), f(px1 + mv(2, x1)), f(py1 + mv(3, y1))];
      } else {
        const pw = f(px1 - px0);
        const ph = f(py1 - py0);
        const pcx = f(f(px0 + px1) / 2);
        const pcy = f(f(py0 + py1) / 2);
        const cx = f(f(mv(0, x0) * pw) + pcx);
        const cy = f(f(mv(1, y0) * ph) + pcy);
        const w = f(f(Math.exp(mv(2, x1))) * pw);
        const h = f(f(Math.exp(mv(3, y1))) * ph);
        b = [f(cx - f(w / 2)), f(cy - f(h / 2)), f(cx + f(w / 2)), f(cy + f(h / 2))];
      }
      return o.clipBefore ? (b.map((x) => Math.max(0, Math.min(1, x))) as Box) : b;
    };
    const score = (c: number, p: number): number => conf[i * o.P * o.C + p * o.C + c]!;
    const size = (b: Box): number => (b[2] < b[0] || b[3] < b[1] ? 0 : f(f(b[2] - b[0]) * f(b[3] - b[1])));
    const iou = (a: Box, b: Box): number => {
      if (b[0] > a[2] || b[2] < a[0] || b[1] > a[3] || b[3] < a[1]) return 0;
      const w = f(Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
      const h = f(Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
      if (!(w > 0 && h > 0)) return 0;
      const inter = f(w * h);
      return f(inter / f(f(size(a) + size(b)) - inter));
    };
    const boxOf = (c: number, p: number): Box => decoded(o.share ? 0 : c, p);
    const byScore = (a: { s: number; p: number }, b: { s: number; p: number }): number => b.s - a.s || a.p - b.p;
    /** Greedy NMS over candidates already sorted by score. */
    const nms = (c: number, cands: number[], kept: number[]): void => {
      for (const p of cands) {
        if (kept.some((k) => iou(boxOf(c, p), boxOf(c, k)) > f(o.nms))) suppressed++;
        else kept.push(p);
      }
    };
    const indices = new Map<number, number[]>();
    if (!o.decrease) {
      for (let c = 0; c < o.C; c++) {
        if (c === o.bg) continue;
        let cands = Array.from({ length: o.P }, (_, p) => ({ s: score(c, p), p })).filter((x) => x.s > f(o.conf)).sort(byScore);
        if (o.topK > -1) cands = cands.slice(0, o.topK);
        const kept: number[] = [];
        nms(c, cands.map((x) => x.p), kept);
        indices.set(c, kept);
      }
    } else {
      const cands: { s: number; p: number; c: number }[] = [];
      for (let p = 0; p < o.P; p++) {
        let best = -1;
        let id = 0;
        for (let c = 1; c < o.C; c++) {
          if (o.bg > -1 && c === o.bg) continue;
          if (score(c, p) > best) [best, id] = [score(c, p), c];
        }
        if (id > 0 && best >= f(o.conf)) cands.push({ s: best, p, c: id });
      }
      cands.sort(byScore);
      for (const x of o.topK > -1 ? cands.slice(0, o.topK) : cands) {
        const kept = indices.get(x.c) ?? [];
        indices.set(x.c, kept);
        nms(x.c, [x.p], kept);
      }
    }
    let dets = [...indices].flatMap(([c, ps_]) => ps_.map((p) => ({ c, p, s: score(c, p) })));
    if (o.keepTopK > -1 && dets.length > o.keepTopK) {
      cut += dets.length - o.keepTopK;
      const best = [...dets].sort(byScore).slice(0, o.keepTopK);
      dets = dets.filter((d) => best.includes(d));
    }
    // By class, then score (the reference's map of classes, each in NMS order).
    dets.sort((a, b) => a.c - b.c || b.s - a.s);
    for (const d of dets) {
      let b = boxOf(d.c, d.p);
      if (b[2] < b[0] || b[3] < b[1]) inverted++;
      if (o.clipAfter) b = b.map((x) => Math.max(0, Math.min(1, x))) as Box;
      rows.push([i, o.decrease ? d.c - 1 : d.c, d.s, ...b]);
    }
  }
  const out = new Array<number>(N * 7).fill(0);
  rows.forEach((r, k) => out.splice(k * 7, 7, ...r));
  if (rows.length < N) out[rows.length * 7] = -1;
  return { out, suppressed, cut, inverted };
}

/** The declared output rows, as OpenVINO's shape inference gives them. */
function rowsOf(o: Opts): number {
  if (o.keepTopK > 0) return o.B * o.keepTopK;
  if (o.topK > 0) return o.B * o.topK * o.C;
  return o.B * o.P * o.C;
}

function build(o: Opts, extra: Record<string, string> = {}, arm = false): Model {
  const m = newOvModel('net');
  const g = m.graph;
  const L = o.share ? 1 : o.C;
  const ps = o.normalized ? 4 : 5;
  const loc = ovParam(g, 'loc', [o.B, o.P * L * 4]);
  const conf = ovParam(g, 'conf', [o.B, o.P * o.C]);
  const priors = ovParam(g, 'priors', [o.PB, o.encoded ? 1 : 2, o.P * ps]);
  const attrs: Record<string, string> = {
    background_label_id: String(o.bg), top_k: String(o.topK), keep_top_k: String(o.keepTopK), code_type: o.code,
    share_location: String(o.share), variance_encoded_in_target: String(o.encoded), normalized: String(o.normalized),
    input_height: String(o.inputH), input_width: String(o.inputW), nms_threshold: String(o.nms), confidence_threshold: String(o.conf),
    clip_before_nms: String(o.clipBefore), clip_after_nms: String(o.clipAfter), decrease_label_id: String(o.decrease), objectness_score: '0',
    ...(o.opset === 'opset1' ? { num_classes: String(o.C) } : {}),
    ...extra,
  };
  const armInputs = arm ? [ovParam(g, 'arm_conf', [o.B, o.P * 2]), ovParam(g, 'arm_loc', [o.B, o.P * 4])] : [];
  const node = ovOp(g, 'DetectionOutput', o.opset, [loc, conf, priors, ...armInputs], [[1, 1, rowsOf(o), 7]], attrs, 'det');
  g.outputs = [node.output(0)];
  return m;
}

/** Priors of sensible boxes (corners in order), in pixels when not normalized, with variances; `seed` varies them. */
function priorsFor(o: Opts, seed: number): number[] {
  const ps = o.normalized ? 4 : 5;
  const out: number[] = [];
  const r = testValues(o.PB * o.P * 4, seed, 0, 1);
  const v = testValues(o.PB * o.P * 4, seed + 7, 0.1, 0.3);
  for (let n = 0; n < o.PB; n++) {
    for (let p = 0; p < o.P; p++) {
      const [a, b, c, d] = r.slice((n * o.P + p) * 4, (n * o.P + p) * 4 + 4) as Box;
      const cx = 0.3 + 0.4 * a;
      const cy = 0.3 + 0.4 * b;
      const w = 0.2 + 0.3 * c;
      const h = 0.2 + 0.3 * d;
      const box = [f(cx - w / 2), f(cy - h / 2), f(cx + w / 2), f(cy + h / 2)];
      const scaled = o.normalized ? box : [box[0]! * o.inputW, box[1]! * o.inputH, box[2]! * o.inputW, box[3]! * o.inputH].map(f);
      if (!o.normalized) out.push(n);
      out.push(...scaled);
    }
    if (!o.encoded) {
      out.push(...v.slice(n * o.P * 4, (n + 1) * o.P * 4).map(f));
      if (!o.normalized) out.push(...new Array<number>(o.P).fill(0));
    }
  }
  return out;
}

/**
 * Runs the translation of `o` on pseudo-random inputs (box logits in
 * ±`spread`) and compares it with the reference; `without` names options
 * that must matter on these inputs: the reference with each of them changed
 * gives another output.
 */
async function check(
  o: Opts, seed: number, without: Partial<Opts>[] = [], spread = 0.6, edit?: (conf: number[]) => void,
): Promise<{ suppressed: number; cut: number; count: number; inverted: number; out: number[] }> {
  const L = o.share ? 1 : o.C;
  const loc = testValues(o.B * o.P * L * 4, seed, -spread, spread).map(f);
  const conf = testValues(o.B * o.P * o.C, seed + 1, 0, 1).map(f);
  edit?.(conf);
  const priors = priorsFor(o, seed + 2);
  const N = rowsOf(o);
  const ref = reference(o, loc, conf, priors, N);
  for (const w of without) {
    const other = reference({ ...o, ...w }, loc, conf, priors, N).out;
    expect({ changed: w, same: other.every((x, i) => x === ref.out[i]) }).toEqual({ changed: w, same: false });
  }
  const ps = o.normalized ? 4 : 5;
  const got = await runner.run(build(o), {
    loc: { shape: [o.B, o.P * L * 4], values: loc },
    conf: { shape: [o.B, o.P * o.C], values: conf },
    priors: { shape: [o.PB, o.encoded ? 1 : 2, o.P * ps], values: priors },
  });
  expect(got.det_out!.shape).toEqual([1, 1, N, 7]);
  expectClose(got.det_out!.values, ref.out, 1e-5);
  let count = 0;
  while (count < N && ref.out[count * 7] !== -1) count++;
  return { suppressed: ref.suppressed, cut: ref.cut, count, inverted: ref.inverted, out: ref.out };
}

describe('DetectionOutput', () => {
  // Each case names options the inputs are sensitive to (the reference's output changes with them).
  it.each([
    ['CENTER_SIZE, shared locations, background 0', {}, [{ code: CORNER }, { bg: -1 }, { encoded: true }]],
    ['CORNER, shared locations', { code: CORNER, nms: 0.2 }, [{ code: CENTER }, { nms: 0.9 }]],
    ['CENTER_SIZE, a location per class', { share: false }, [{ code: CORNER }]],
    ['CORNER, a location per class, no background', { share: false, code: CORNER, bg: -1, nms: 0.2 }, [{ bg: 0 }, { nms: 0.9 }]],
    ['variance encoded in target', { encoded: true, nms: 0.2 }, [{ code: CORNER }]],
    ['variance encoded in target, CORNER, per class', { encoded: true, code: CORNER, share: false, nms: 0.15 }, [{ nms: 0.9 }]],
    ['two images, one prior set (opset1)', { opset: 'opset1', B: 2, P: 4 }, [{ bg: 1 }]],
    ['two images, a prior set each, background 2', { B: 2, PB: 2, bg: 2, P: 4 }, [{ bg: 0 }]],
    ['unnormalized priors (batch index column) over input_width/height', { normalized: false, inputW: 300, inputH: 200 }, [{ inputW: 200 }]],
  ] as const)('%s', async (_, over, without) => {
    const o: Opts = { ...base, ...over };
    const r = await check(o, 11, [...without]);
    expect(r.count).toBeGreaterThan(0);
  });

  it.each([
    ['clip before and after NMS', { clipBefore: true, clipAfter: true, nms: 0.2, P: 6, conf: 0 }, [{ clipBefore: false }]],
    ['clip before NMS only', { clipBefore: true, share: false }, [{ clipBefore: false }]],
    ['clip after NMS only, CORNER', { clipAfter: true, code: CORNER }, [{ clipAfter: false }]],
  ] as const)('%s, logits pushing boxes out of [0, 1]', async (_, over, without) => {
    const o: Opts = { ...base, ...over };
    const r = await check(o, 17, [...without], 4);
    expect(r.count).toBeGreaterThan(0);
  });

  it('NMS suppresses boxes and the confidence threshold drops scores (both exercised)', async () => {
    const o: Opts = { ...base, P: 6, nms: 0.45, conf: 0.4 };
    const r = await check(o, 2, [{ nms: 0.95 }, { conf: 0 }]);
    expect(r.suppressed).toBeGreaterThan(0);
  });

  it('CORNER logits that invert boxes (max < min): those overlap nothing in the reference', async () => {
    const o: Opts = { ...base, code: CORNER, P: 6, nms: 0.1, conf: 0 };
    const r = await check(o, 31, [{ nms: 0.95 }], 2);
    expect(r.inverted).toBeGreaterThan(0);
    expect(r.suppressed).toBeGreaterThan(0);
  });

  it('top_k limits the NMS candidates per class before suppression', async () => {
    const o: Opts = { ...base, P: 6, topK: 2, nms: 0.2, conf: 0 };
    const r = await check(o, 5, [{ topK: -1 }]);
    expect(r.count).toBeGreaterThan(0);
  });

  it('keep_top_k keeps the best detections of each image over all classes', async () => {
    const o: Opts = { ...base, B: 2, P: 6, keepTopK: 3, nms: 0.7, conf: 0.1, share: false };
    const r = await check(o, 9, [{ keepTopK: 4 }]);
    expect(r.cut).toBeGreaterThan(0);
    expect(r.count).toBe(6);
  });

  it('keep_top_k with top_k, opset1, background -1', async () => {
    const o: Opts = { ...base, opset: 'opset1', P: 6, topK: 2, keepTopK: 4, bg: -1, nms: 0.5, conf: 0.05 };
    const r = await check(o, 21, [{ topK: 6 }, { keepTopK: 5 }, { bg: 0 }]);
    expect(r.cut).toBeGreaterThan(0);
  });

  it.each([
    ['background 0', { conf: 0.6 }, [{ decrease: false }, { conf: 0 }]],
    ['no background, top_k 3 over all priors, a location per class', { bg: -1, topK: 3, share: false, nms: 0.9 }, [{ topK: -1 }]],
    ['keep_top_k 2', { keepTopK: 2, nms: 0.9 }, [{ keepTopK: 3 }]],
    ['background 2 of 4 classes, two images', { bg: 2, C: 4, B: 2, PB: 2, nms: 0.2 }, [{ bg: -1 }, { nms: 0.9 }]],
  ] as const)('decrease_label_id (MXNet): each prior under its best class from 1, labels one less, %s', async (_, over, without) => {
    const o: Opts = { ...base, decrease: true, P: 6, conf: 0.3, ...over };
    const r = await check(o, 13, [...without]);
    expect(r.count).toBeGreaterThan(0);
  });

  it.each([
    ['Caffe', false, [{ topK: 1 }]],
    ['MXNet', true, [{ topK: -1 }]],
  ] as const)('%s: equal scores of one class go to the lower prior (top_k, NMS and keep_top_k)', async (_, decrease, without) => {
    // Scores repeat every third prior but differ between the classes of one prior, the one tie the reference leaves open.
    const levels = [
      [0.1, 0.7, 0.4],
      [0.2, 0.5, 0.6],
      [0.3, 0.45, 0.35],
    ];
    const o: Opts = { ...base, decrease, P: 6, topK: 2, keepTopK: 3, nms: 0.9, conf: 0.2 };
    await check(o, 19, [...without], 0.6, (conf) => {
      for (let p = 0; p < o.P; p++) for (let c = 0; c < o.C; c++) conf[p * o.C + c] = f(levels[p % 3]![c]!);
    });
  });

  it.each([
    ['Caffe drops', false],
    ['MXNet (decrease_label_id) keeps', true],
  ] as const)('%s a score equal to confidence_threshold', async (_, decrease) => {
    // Prior 0's class 1 score is set to the threshold (and class 2 below it, so it is prior 0's best class); no NMS.
    const o: Opts = { ...base, decrease, P: 4, conf: 0.5, nms: 1 };
    const r = await check(o, 7, [], 0.6, (conf) => {
      conf[1] = f(0.5);
      conf[2] = f(0.25);
    });
    const rows = Array.from({ length: r.count }, (_, k) => r.out.slice(k * 7, k * 7 + 7));
    expect(rows.some((row) => row[2] === f(0.5))).toBe(decrease);
  });

  it.each([
    ['an unknown element type', { dtype: 'float16' }, 'input 0 is float16 (f32 is translated)'],
    ['rank-3 box logits', { loc: [1, 5, 4] }, 'box_logits (input 0) have rank 3 (2 is valid)'],
    ['a dynamic batch', { loc: [-1, 20] }, 'input 0 needs a static shape for this translation'],
    ['different batches', { conf: [2, 15] }, 'box_logits have 1 images and class_preds 2'],
    ['rank-2 proposals', { priors: [2, 20] }, 'proposals have rank 2 (3 is valid)'],
    ['proposals not a multiple of the prior size', { priors: [1, 2, 22] }, 'proposals hold 22 values per row, not a multiple of 4'],
    ['a proposal batch that is neither 1 nor the images', { priors: [3, 2, 20] }, 'proposals have batch 3 for 1 images (1 or 1 is translated)'],
    ['no variance row', { priors: [1, 1, 20] }, 'proposals have no variance row and variance_encoded_in_target is false'],
    [
      'per-image proposals with a variance row the reference skips',
      { loc: [2, 20], conf: [2, 15], priors: [2, 2, 20], attrs: { variance_encoded_in_target: 'true' } },
      'proposals [2, 2, 20] with variance_encoded_in_target=true are not translated (the reference steps through them differently)',
    ],
    ['no priors', { loc: [1, 0], conf: [1, 0], priors: [1, 2, 0] }, 'there are no priors'],
    ['opset1 without num_classes', { opset: 'opset1', attrs: { num_classes: undefined } }, 'num_classes is missing'],
    ['opset1 num_classes against class_preds', { opset: 'opset1', attrs: { num_classes: '4' } }, 'class_preds hold 15 values per image, not 5 priors x 4 classes'],
    ['class_preds not a multiple of the priors', { conf: [1, 14] }, 'class_preds hold 14 values per image, not a multiple of 5 priors'],
    ['box logits of the wrong size', { loc: [1, 24] }, 'box_logits hold 24 values per image, not 5 priors x 1 location classes x 4'],
    ['no keep_top_k', { attrs: { keep_top_k: undefined } }, 'keep_top_k is missing'],
    ['no nms_threshold', { attrs: { nms_threshold: undefined } }, 'nms_threshold is missing'],
    ['top_k 0', { attrs: { top_k: '0' } }, 'top_k=0 with keep_top_k=-1 is not translated (0 keeps nothing)'],
  ] as const)('refuses %s', (_, over, why) => {
    const v = over as { dtype?: 'float16'; loc?: readonly number[]; conf?: readonly number[]; priors?: readonly number[]; opset?: string; attrs?: Record<string, string | undefined> };
    const m = newOvModel('net');
    const g = m.graph;
    const attrs: Record<string, string> = { keep_top_k: '-1', nms_threshold: '0.5', normalized: 'true', num_classes: '3' };
    for (const [k, x] of Object.entries(v.attrs ?? {})) {
      if (x === undefined) delete attrs[k];
      else attrs[k] = x;
    }
    const inputs = [
      ovParam(g, 'loc', [...(v.loc ?? [1, 20])], v.dtype),
      ovParam(g, 'conf', [...(v.conf ?? [1, 15])], v.dtype),
      ovParam(g, 'priors', [...(v.priors ?? [1, 2, 20])], v.dtype),
    ];
    if (v.loc?.[0] === -1) inputs[0]!.shape = [null, 20];
    g.outputs = [ovOp(g, 'DetectionOutput', v.opset ?? 'opset8', inputs, [[1, 1, 5, 7]], attrs, 'det').output(0)];
    expect(translationFailure(m)).toBe(`cannot translate OpenVINO layer 'det' (DetectionOutput, ${v.opset ?? 'opset8'}) to ONNX: ${why}`);
  });

  it('refuses the five-input ARM form, unknown code types, and other opsets', () => {
    expect(translationFailure(build(base, {}, true))).toBe(
      "cannot translate OpenVINO layer 'det' (DetectionOutput, opset8) to ONNX: 5 inputs are not translated (the three-input form is; the five-input ARM form with objectness_score is not)",
    );
    expect(translationFailure(build(base, { code_type: 'caffe.PriorBoxParameter.CORNER_SIZE' }))).toBe(
      "cannot translate OpenVINO layer 'det' (DetectionOutput, opset8) to ONNX: code_type=\"caffe.PriorBoxParameter.CORNER_SIZE\" is not translated (caffe.PriorBoxParameter.CORNER and caffe.PriorBoxParameter.CENTER_SIZE are)",
    );
    expect(translationFailure(build({ ...base, opset: 'opset3' as 'opset1' }))).toBe(
      "cannot translate OpenVINO layer 'det' (DetectionOutput, opset3) to ONNX: DetectionOutput of opset3 is not translated (opset1 and opset8 are)",
    );
    expect(translationFailure(build({ ...base, keepTopK: 0 }))).toBe(
      "cannot translate OpenVINO layer 'det' (DetectionOutput, opset8) to ONNX: top_k=-1 with keep_top_k=0 is not translated (0 keeps nothing)",
    );
  });
});
