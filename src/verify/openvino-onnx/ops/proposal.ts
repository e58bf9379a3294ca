/**
 * Proposal-1 and -4, the region proposal layer of Faster R-CNN (Caffe, and
 * the TensorFlow Object Detection API with framework="tensorflow"), as
 * OpenVINO's reference implementation and CPU plugin compute it, in float32,
 * operation by operation:
 *
 * 1. Anchors: per ratio then per scale (anchor = ratio·scales + scale), a box
 *    around the centre of a base_size square; Caffe rounds the ratio widths
 *    and heights (half away from zero) and counts sizes with a +1 offset;
 *    TensorFlow does not round, has no offset and shifts every anchor by
 *    -base_size/2. The anchors sit at (w·feat_stride, h·feat_stride), TensorFlow
 *    swapping x and y, and with it image_shape's height and width. They
 *    depend only on attributes and H, W: computed here, into initializers.
 * 2. Per anchor and cell (proposal (h·W + w)·A + a), the foreground score
 *    (channel A + a of class_probs) and the box decoded from the deltas
 *    (channel 4a + k of bbox_deltas, divided by box_coordinate_scale and
 *    box_size_scale): TensorFlow first clips the anchor to [0, image size];
 *    clip_before_nms clips the decoded box to [0, image size - offset]; a
 *    box narrower or lower than min_size times image_shape's scale gets
 *    score 0 (it stays a candidate).
 * 3. The pre_nms_topn best scores (TopK; on equal scores the lower proposal
 *    first, an order the reference's std::partial_sort leaves unspecified).
 * 4. OpenVINO's own greedy NMS, not ONNX NonMaxSuppression (whose IoU has no
 *    +1 offset): the best box left is kept and removes every later box whose
 *    IoU with it is above nms_thresh (IoU 0 for boxes that do not touch),
 *    until post_nms_topn are kept. An ONNX Loop of post_nms_topn iterations
 *    picks the first box still alive each time.
 * 5. Rows [image, x0, y0, x1, y1] (clip_after_nms clamps to [0, image size],
 *    normalize divides by it), post_nms_topn per image; when fewer boxes are
 *    kept the rest are zeros, except the image index of the first of them,
 *    -1. Proposal-4's second output holds the kept boxes' scores, then zeros.
 *
 * Only f32 tensors, static C, H and W, and a 1-D image_shape of 3 or 4 values
 * are translated.
 */
import { codeOfDtype } from '../../../formats/onnx/schema';
import { attr } from '../../../ir/attr';
import { Graph, type Node, type Value } from '../../../ir/graph';
import { registerTranslators, type Translation } from '../translation';

const f32 = Math.fround;
const FLOAT = codeOfDtype('float32')!;
const BOOL = codeOfDtype('bool')!;

interface ProposalAttrs {
  baseSize: number;
  preNmsTopN: number;
  postNmsTopN: number;
  nmsThresh: number;
  featStride: number;
  minSize: number;
  ratios: number[];
  scales: number[];
  clipBeforeNms: boolean;
  clipAfterNms: boolean;
  normalize: boolean;
  boxSizeScale: number;
  boxCoordinateScale: number;
  tensorflow: boolean;
}

function readAttrs(node: Node, t: Translation): ProposalAttrs {
  const required = <T>(name: string, value: T | undefined): T => value ?? t.fail(node, `attribute ${name} is required`);
  const positive = (name: string): number => {
    const v = required(name, t.int(node, name));
    if (v <= 0) t.fail(node, `${name}=${v} is not translated (a positive integer is)`);
    return v;
  };
  const framework = (t.str(node, 'framework') ?? '').trim();
  if (framework !== '' && framework !== 'tensorflow') t.fail(node, `framework="${framework}" is not translated ("" (Caffe) and "tensorflow" are)`);
  const ratios = required('ratio', t.floats(node, 'ratio')).map(f32);
  const scales = required('scale', t.floats(node, 'scale')).map(f32);
  if (ratios.length === 0 || scales.length === 0) t.fail(node, 'ratio and scale need at least one value each');
  const minSize = required('min_size', t.int(node, 'min_size'));
  if (minSize < 0) t.fail(node, `min_size=${minSize} is negative`);
  return {
    baseSize: positive('base_size'),
    preNmsTopN: positive('pre_nms_topn'),
    postNmsTopN: positive('post_nms_topn'),
    nmsThresh: f32(required('nms_thresh', t.float(node, 'nms_thresh'))),
    featStride: positive('feat_stride'),
    minSize,
    ratios,
    scales,
    clipBeforeNms: t.bool(node, 'clip_before_nms') ?? true,
    clipAfterNms: t.bool(node, 'clip_after_nms') ?? false,
    normalize: t.bool(node, 'normalize') ?? false,
    boxSizeScale: f32(t.float(node, 'box_size_scale') ?? 1),
    boxCoordinateScale: f32(t.float(node, 'box_coordinate_scale') ?? 1),
    tensorflow: framework === 'tensorflow',
  };
}

/** C's roundf: half away from zero. */
function roundHalfAway(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

/** The anchor boxes [x0, y0, x1, y1] relative to a cell's origin, in anchor order (ratio-major), as generate_anchors computes them in float32. */
function baseAnchors(a: ProposalAttrs): [number, number, number, number][] {
  const offset = a.tensorflow ? 0 : 1;
  const base = f32(a.baseSize);
  const baseArea = f32(a.baseSize * a.baseSize);
  const halfBase = f32(base * 0.5);
  const center = f32(0.5 * f32(base - offset));
  const anchors: [number, number, number, number][] = [];
  for (const ratio of a.ratios) {
    let ratioW = f32(Math.sqrt(f32(baseArea / ratio)));
    let ratioH = f32(ratioW * ratio);
    if (!a.tensorflow) {
      ratioW = roundHalfAway(ratioW);
      ratioH = roundHalfAway(f32(ratioW * ratio));
    }
    for (const scale of a.scales) {
      const halfW = f32(0.5 * f32(f32(ratioW * scale) - offset));
      const halfH = f32(0.5 * f32(f32(ratioH * scale) - offset));
      const box: [number, number, number, number] = [f32(center - halfW), f32(center - halfH), f32(center + halfW), f32(center + halfH)];
      anchors.push(a.tensorflow ? (box.map((c) => f32(c - halfBase)) as [number, number, number, number]) : box);
    }
  }
  return anchors;
}

/** The anchor corners of every proposal ((h·W + w)·A + anchor), as four [P] initializers. */
function anchorCorners(t: Translation, a: ProposalAttrs, H: number, W: number): Value[] {
  const anchors = baseAnchors(a);
  const P = H * W * anchors.length;
  const corners = [0, 1, 2, 3].map(() => new Array<number>(P));
  let p = 0;
  for (let h = 0; h < H; h++) {
    for (let w = 0; w < W; w++) {
      const x = f32((a.tensorflow ? h : w) * a.featStride);
      const y = f32((a.tensorflow ? w : h) * a.featStride);
      for (const [x0, y0, x1, y1] of anchors) {
        corners[0]![p] = f32(x + x0);
        corners[1]![p] = f32(y + y0);
        corners[2]![p] = f32(x + x1);
        corners[3]![p] = f32(y + y1);
        p++;
      }
    }
  }
  return corners.map((c) => t.constant('float32', [P], c));
}

/** max(0, min(v, limit)), the reference's clamp. */
function clampTo(t: Translation, v: Value, limit: Value): Value {
  return t.add1('Max', [t.add1('Min', [v, limit]), t.scalar('float32', 0)]);
}

/** hi - lo + offset: a box side as the reference measures it. */
function side(t: Translation, lo: Value, hi: Value, offset: Value): Value {
  return t.add1('Add', [t.add1('Sub', [hi, lo]), offset]);
}

/** Boxes by corner, [N, P] (or [N, K] once sorted) each, and their scores. */
interface Boxes {
  x0: Value;
  y0: Value;
  x1: Value;
  y1: Value;
  score: Value;
}

/** image_shape's entries as scalars: height and width (swapped for TensorFlow, as x and y are), and the min-size scales. */
interface ImageInfo {
  height: Value;
  width: Value;
  scaleHeight: Value;
  scaleWidth: Value;
}

/** Steps 1-2: decoded (and clipped) boxes and their min-size-filtered foreground scores. */
function decodeProposals(t: Translation, node: Node, a: ProposalAttrs, A: number, H: number, W: number, image: ImageInfo, offset: Value): Boxes {
  const P = A * H * W;
  const probs = t.input(node, 0);
  const foreground = t.add1('Slice', [probs, t.int64s([A]), t.int64s([2 * A]), t.int64s([1])]);
  const score = t.add1('Reshape', [t.add1('Transpose', [foreground], { perm: [0, 2, 3, 1] }), t.int64s([-1, P])]);
  // [N, 4A, H, W] -> [4, N, H, W, A]: delta k of proposal p at [k, n, p].
  const deltas = t.add1('Reshape', [t.input(node, 1), t.int64s([-1, A, 4, H, W])]);
  const byKind = t.add1('Reshape', [t.add1('Transpose', [deltas], { perm: [2, 0, 3, 4, 1] }), t.int64s([4, -1, P])]);
  const delta = (k: number, scale: number): Value => t.add1('Div', [t.add1('Gather', [byKind, t.constant('int64', [], [k])], { axis: 0 }), t.scalar('float32', scale)]);
  const [dx, dy, dw, dh] = [delta(0, a.boxCoordinateScale), delta(1, a.boxCoordinateScale), delta(2, a.boxSizeScale), delta(3, a.boxSizeScale)];

  let [x0, y0, x1, y1] = anchorCorners(t, a, H, W) as [Value, Value, Value, Value];
  if (a.tensorflow) {
    [x0, x1] = [clampTo(t, x0, image.width), clampTo(t, x1, image.width)];
    [y0, y1] = [clampTo(t, y0, image.height), clampTo(t, y1, image.height)];
  }
  const half = t.scalar('float32', 0.5);
  const decode = (lo: Value, hi: Value, d: Value, dLog: Value): [Value, Value] => {
    const size = side(t, lo, hi, offset);
    const centre = t.add1('Add', [lo, t.add1('Mul', [half, size])]);
    const predCentre = t.add1('Add', [t.add1('Mul', [d, size]), centre]);
    const predHalf = t.add1('Mul', [half, t.add1('Mul', [t.add1('Exp', [dLog]), size])]);
    return [t.add1('Sub', [predCentre, predHalf]), t.add1('Add', [predCentre, predHalf])];
  };
  let [bx0, bx1] = decode(x0, x1, dx, dw);
  let [by0, by1] = decode(y0, y1, dy, dh);
  if (a.clipBeforeNms) {
    const maxX = t.add1('Sub', [image.width, offset]);
    const maxY = t.add1('Sub', [image.height, offset]);
    [bx0, bx1] = [clampTo(t, bx0, maxX), clampTo(t, bx1, maxX)];
    [by0, by1] = [clampTo(t, by0, maxY), clampTo(t, by1, maxY)];
  }
  const minSize = t.scalar('float32', a.minSize);
  const wide = t.add1('LessOrEqual', [t.add1('Mul', [minSize, image.scaleWidth]), side(t, bx0, bx1, offset)]);
  const high = t.add1('LessOrEqual', [t.add1('Mul', [minSize, image.scaleHeight]), side(t, by0, by1, offset)]);
  const kept = t.add1('Mul', [t.add1('Cast', [t.add1('And', [wide, high])], { to: FLOAT }), score]);
  return { x0: bx0, y0: by0, x1: bx1, y1: by1, score: kept };
}

function imageInfo(t: Translation, node: Node, tensorflow: boolean): ImageInfo {
  const shape = t.knownShape(node, 2);
  if (!shape || shape.length !== 1 || (shape[0] !== 3 && shape[0] !== 4)) {
    t.fail(node, `image_shape (input 2) of shape [${(t.inputShape(node, 2) ?? []).join(', ')}] is not translated ([3] and [4] are)`);
  }
  const info = t.input(node, 2);
  const at = (i: number): Value => t.add1('Gather', [info, t.constant('int64', [], [i])], { axis: 0 });
  const scaleHeight = at(2);
  return {
    height: at(tensorflow ? 1 : 0),
    width: at(tensorflow ? 0 : 1),
    scaleHeight,
    scaleWidth: shape[0] === 4 ? at(3) : scaleHeight,
  };
}

/** `v` as a new output of subgraph `g`, typed (ONNX wants subgraph outputs typed). */
function bodyOutput(tb: Translation, g: Graph, v: Value, dtype: 'float32' | 'int64' | 'bool', name: string): Value {
  const out = g.addValue(tb.freshName(name), { dtype });
  g.addNode({ op: 'Identity', name: tb.freshName('Identity'), inputs: [v], outputs: [out] });
  return out;
}

/**
 * Step 4 on the K sorted candidates of each image ([N, K] columns): an ONNX
 * Loop of `rounds` iterations carrying which candidates are alive (1 or 0);
 * each iteration keeps the first alive one and removes it and the boxes it
 * overlaps by more than nms_thresh. Returns [N, rounds] kept candidate
 * indices and whether each is a kept box (1) or past the end (0).
 */
function greedyNms(t: Translation, sorted: Boxes, K: number, rounds: number, nmsThresh: number, offset: Value): { picks: Value; valid: Value } {
  const { x0, y0, x1, y1 } = sorted;
  const area = t.add1('Mul', [side(t, x0, x1, offset), side(t, y0, y1, offset)]);
  const allAlive = t.add1('Expand', [t.scalar('float32', 1), t.add1('Shape', [sorted.score])]);

  const g = new Graph(t.freshName('proposal_nms'), t.onnx);
  const tb = t.nested(g);
  const iter = g.addValue(tb.freshName('iter'), { dtype: 'int64', shape: [] });
  const condIn = g.addValue(tb.freshName('cond'), { dtype: 'bool', shape: [] });
  const alive = g.addValue(tb.freshName('alive'), { dtype: 'float32', shape: [null, K] });
  g.inputs.push(iter, condIn, alive);

  // ArgMax gives the first maximum: the best-scored candidate still alive (any, when none is: then valid is 0).
  const pick = tb.add1('ArgMax', [alive], { axis: 1, keepdims: 1 });
  const valid = tb.add1('GatherElements', [alive, pick], { axis: 1 });
  const picked = (v: Value): Value => tb.add1('GatherElements', [v, pick], { axis: 1 });
  const [px0, py0, px1, py1, pArea] = [picked(x0), picked(y0), picked(x1), picked(y1), picked(area)];
  const le = (p: Value, q: Value): Value => tb.add1('LessOrEqual', [p, q]);
  const and = (p: Value, q: Value): Value => tb.add1('And', [p, q]);
  const touching = and(and(le(px0, x1), le(py0, y1)), and(le(x0, px1), le(y0, py1)));
  const overlapSide = (lo1: Value, lo2: Value, hi1: Value, hi2: Value): Value =>
    tb.add1('Max', [side(tb, tb.add1('Max', [lo1, lo2]), tb.add1('Min', [hi1, hi2]), offset), tb.scalar('float32', 0)]);
  const inter = tb.add1('Mul', [overlapSide(px0, x0, px1, x1), overlapSide(py0, y0, py1, y1)]);
  const iou = tb.add1('Div', [inter, tb.add1('Sub', [tb.add1('Add', [pArea, area]), inter])]);
  const overlap = tb.add1('Where', [touching, iou, tb.scalar('float32', 0)]);
  const suppressed = tb.add1('Less', [tb.scalar('float32', nmsThresh), overlap]);
  const isPick = tb.add1('Equal', [tb.constant('int64', [K], Array.from({ length: K }, (_, i) => i)), pick]);
  const stays = tb.add1('Cast', [tb.add1('Not', [tb.add1('Or', [suppressed, isPick])])], { to: FLOAT });
  const aliveNext = tb.add1('Mul', [alive, stays]);
  const flat = (v: Value): Value => tb.add1('Squeeze', [v, tb.int64s([1])]);
  g.outputs = [
    bodyOutput(tb, g, condIn, 'bool', 'cond_out'),
    bodyOutput(tb, g, aliveNext, 'float32', 'alive_next'),
    bodyOutput(tb, g, flat(pick), 'int64', 'pick'),
    bodyOutput(tb, g, flat(valid), 'float32', 'valid'),
  ];
  const [, picks, valids] = t.add('Loop', [t.scalar('int64', rounds), null, allAlive], { body: attr.graph(g) }, 3) as [Value, Value, Value];
  return { picks: t.add1('Transpose', [picks], { perm: [1, 0] }), valid: t.add1('Transpose', [valids], { perm: [1, 0] }) };
}

function proposal(node: Node, t: Translation): Value[] {
  if (node.domain !== 'opset1' && node.domain !== 'opset4') t.fail(node, `Proposal of ${node.domain} is not translated (opset1 and opset4 are)`);
  for (let i = 0; i < 3; i++) {
    const dtype = t.inputDType(node, i);
    if (dtype !== 'float32') t.fail(node, `input ${i} is ${dtype ?? 'of unknown element type'} (f32 is translated)`);
  }
  const a = readAttrs(node, t);
  const [, C, H, W] = t.spatialShape(node, 0);
  if (t.inputRank(node, 0) !== 4 || C === undefined || C < 0 || H === undefined || W === undefined) {
    t.fail(node, 'class_probs (input 0) must be [N, 2A, H, W] with static 2A, H and W');
  }
  const A = a.ratios.length * a.scales.length;
  if (C !== 2 * A) t.fail(node, `class_probs has ${C} channels, not 2 x ${A} anchors (${a.ratios.length} ratios x ${a.scales.length} scales)`);
  const deltaShape = t.inputShape(node, 1);
  if (!deltaShape || deltaShape.length !== 4 || deltaShape[1] !== 4 * A || deltaShape[2] !== H || deltaShape[3] !== W) {
    t.fail(node, `bbox_deltas (input 1) must be [N, ${4 * A}, ${H}, ${W}] with static channels, H and W`);
  }
  const P = A * H * W;
  if (P === 0) t.fail(node, 'the feature map is empty');
  const image = imageInfo(t, node, a.tensorflow);
  const offset = t.scalar('float32', a.tensorflow ? 0 : 1);

  const boxes = decodeProposals(t, node, a, A, H, W, image, offset);
  const K = Math.min(P, a.preNmsTopN);
  const [topScores, order] = t.add('TopK', [boxes.score, t.int64s([K])], { axis: 1, largest: 1, sorted: 1 }, 2) as [Value, Value];
  const byOrder = (v: Value, indices: Value): Value => t.add1('GatherElements', [v, indices], { axis: 1 });
  const sorted: Boxes = { x0: byOrder(boxes.x0, order), y0: byOrder(boxes.y0, order), x1: byOrder(boxes.x1, order), y1: byOrder(boxes.y1, order), score: topScores };
  const T = a.postNmsTopN;
  const { picks, valid } = greedyNms(t, sorted, K, T, a.nmsThresh, offset);

  const isValid = t.add1('Cast', [valid], { to: BOOL });
  const zero = t.scalar('float32', 0);
  const column = (v: Value, limit: Value): Value => {
    let c = byOrder(v, picks);
    if (a.clipAfterNms) c = clampTo(t, c, limit);
    if (a.normalize) c = t.add1('Div', [c, limit]);
    return t.add1('Where', [isValid, c, zero]);
  };
  // The image index, and -1 in the first row past the kept boxes (kept boxes are a prefix).
  const batch = t.add1('Gather', [t.add1('Shape', [boxes.score]), t.constant('int64', [], [0])], { axis: 0 });
  const imageIndex = t.add1('Unsqueeze', [t.add1('Cast', [t.add1('Range', [t.constant('int64', [], [0]), batch, t.constant('int64', [], [1])])], { to: FLOAT }), t.int64s([1])]);
  const keptCount = t.add1('ReduceSum', [valid, t.int64s([1])], { keepdims: 1 });
  const rowNumbers = t.constant('float32', [T], Array.from({ length: T }, (_, i) => i));
  const endMark = t.add1('Where', [t.add1('Equal', [rowNumbers, keptCount]), t.scalar('float32', -1), zero]);
  const first = t.add1('Where', [isValid, imageIndex, endMark]);
  const columns = [first, column(sorted.x0, image.width), column(sorted.y0, image.height), column(sorted.x1, image.width), column(sorted.y1, image.height)];
  const rows = t.add1('Concat', columns.map((c) => t.add1('Unsqueeze', [c, t.int64s([2])])), { axis: 2 });
  const rois = t.add1('Reshape', [rows, t.int64s([-1, 5])]);
  if (node.outputs.length < 2) return [rois];
  const scores = t.add1('Where', [isValid, byOrder(sorted.score, picks), zero]);
  return [rois, t.add1('Reshape', [scores, t.int64s([-1])])];
}

registerTranslators({ Proposal: proposal });
