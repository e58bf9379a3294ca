/**
 * Detection and miscellaneous OpenVINO ops translated to ONNX
 * (src/verify/openvino-onnx/ops/detection.ts), each checked against values
 * this file computes from the OpenVINO specification.
 */
import { newOvModel, ovConst, ovOp, ovParam } from '../helpers/openvino-build';
import { expectClose, TranslatedRunner, testValues, translationFailure } from '../helpers/openvino-translate';
import type { DType } from '../../src/ir/dtype';
import type { Graph, Node, Value } from '../../src/ir/graph';
import type { Model } from '../../src/ir/model';

let runner: TranslatedRunner;
beforeAll(() => {
  runner = new TranslatedRunner();
});
afterAll(() => runner.close());

/** Declares the element type of a layer's first output (ovOp gives it that of input 0). */
function typed(node: Node, dtype: DType): Node {
  node.output(0).dtype = dtype;
  return node;
}

/** [H, W] as a Const, or as StridedSlice(ShapeOf(a static parameter), 2, 4). */
function sizeInput(g: Graph, name: string, hw: [number, number], viaShape: boolean): Value {
  if (!viaShape) return ovConst(g, name, 'int64', [2], hw);
  const p = ovParam(g, name, [1, 3, ...hw]);
  const shape = ovOp(g, 'ShapeOf', 'opset3', [p], [[4]], { output_type: 'i64' }, `${name}_shape`).output(0);
  shape.dtype = 'int64';
  const b = ovConst(g, `${name}_b`, 'int64', [1], [2]);
  const e = ovConst(g, `${name}_e`, 'int64', [1], [4]);
  const s = ovConst(g, `${name}_s`, 'int64', [1], [1]);
  const sl = ovOp(g, 'StridedSlice', 'opset1', [shape, b, e, s], [[2]], { begin_mask: '0', end_mask: '0', new_axis_mask: '', shrink_axis_mask: '', ellipsis_mask: '' }, `${name}_hw`).output(0);
  sl.dtype = 'int64';
  return sl;
}

/** PriorBox as the specification describes it (SSD form), in doubles. */
function priorBoxRef(
  H: number, W: number, IH: number, IW: number,
  o: { min: number[]; max: number[]; ar: number[]; flip: boolean; clip: boolean; step: number; offset: number; variance: number[]; minMaxOrder: boolean; scaleAll: boolean },
): number[] {
  const ratios = [1];
  for (const r of o.ar) {
    if (ratios.includes(r)) continue;
    ratios.push(r);
    if (o.flip) ratios.push(1 / r);
  }
  let step = o.step;
  let mins = o.min;
  if (!o.scaleAll) {
    step = step === -1 ? IH / H : step * IH;
    mins = mins.map((s) => s * IH);
  }
  const boxes: number[] = [];
  for (let h = 0; h < H; h++) {
    for (let w = 0; w < W; w++) {
      const cx = step === 0 ? ((w + 0.5) * IW) / W : (w + o.offset) * step;
      const cy = step === 0 ? ((h + 0.5) * IH) / H : (h + o.offset) * step;
      const add = (bw: number, bh: number): void => {
        boxes.push((cx - bw / 2) / IW, (cy - bh / 2) / IH, (cx + bw / 2) / IW, (cy + bh / 2) / IH);
      };
      mins.forEach((s, k) => {
        add(s, s);
        const big = (): void => {
          if (k < o.max.length) add(Math.sqrt(s * o.max[k]!), Math.sqrt(s * o.max[k]!));
        };
        const rest = (): void => {
          if (!o.scaleAll && k !== mins.length - 1) return;
          const base = mins[o.scaleAll ? k : 0]!;
          for (const r of ratios.slice(1)) add(base * Math.sqrt(r), base / Math.sqrt(r));
        };
        if (o.minMaxOrder) {
          big();
          rest();
        } else {
          rest();
          big();
        }
      });
    }
  }
  const out = o.clip ? boxes.map((x) => Math.min(1, Math.max(0, x))) : boxes;
  const v = o.variance.length === 0 ? [0.1] : o.variance;
  return [...out, ...out.map((_, i) => (v.length === 1 ? v[0]! : v[i % 4]!))];
}

describe('PriorBox', () => {
  const base = { min: [4], max: [9], ar: [2], flip: true, clip: false, step: 0, offset: 0.5, variance: [0.1, 0.1, 0.2, 0.2], minMaxOrder: true, scaleAll: true };

  it('PriorBox-1 from Const sizes: min, max, then flipped aspect ratios per cell, step from the image size', async () => {
    const m = newOvModel('net');
    const g = m.graph;
    const pb = ovOp(g, 'PriorBox', 'opset1', [sizeInput(g, 'fm', [2, 3], false), sizeInput(g, 'img', [30, 40], false)], [[2, 2 * 3 * 4 * 4]], {
      min_size: '4', max_size: '9', aspect_ratio: '2', flip: 'true', clip: 'false', step: '0', offset: '0.5', variance: '0.1,0.1,0.2,0.2',
    }, 'pb');
    typed(pb, 'float32');
    g.outputs = [pb.output(0)];
    const out = await runner.run(m, {});
    expect(out.pb_out!.shape).toEqual([2, 96]);
    expectClose(out.pb_out!.values, priorBoxRef(2, 3, 30, 40, base));
  });

  it('PriorBox-8 from ShapeOf of static tensors: aspect ratios before max (min_max_aspect_ratios_order=false), step and offset, clip, one variance', async () => {
    const m = newOvModel('net');
    const g = m.graph;
    const pb = ovOp(g, 'PriorBox', 'opset8', [sizeInput(g, 'fm', [2, 2], true), sizeInput(g, 'img', [32, 32], true)], [[2, 2 * 2 * 4 * 4]], {
      min_size: '10', max_size: '20', aspect_ratio: '2,3', flip: 'false', clip: 'true', step: '16', offset: '0.5', variance: '0.2',
      min_max_aspect_ratios_order: 'false', scale_all_sizes: 'true',
    }, 'pb');
    typed(pb, 'float32');
    g.outputs = [pb.output(0)];
    const out = await runner.run(m, { fm: { shape: [1, 3, 2, 2], values: testValues(12) }, img: { shape: [1, 3, 32, 32], values: testValues(3072) } });
    expectClose(out.pb_out!.values, priorBoxRef(2, 2, 32, 32, { ...base, min: [10], max: [20], ar: [2, 3], flip: false, clip: true, step: 16, variance: [0.2], minMaxOrder: false }));
  });

  it('PriorBox scale_all_sizes=false (MXNet): sizes and step (-1: image/feature) in image heights, aspect ratios once, from the first size', async () => {
    const m = newOvModel('net');
    const g = m.graph;
    const pb = ovOp(g, 'PriorBox', 'opset1', [sizeInput(g, 'fm', [2, 2], false), sizeInput(g, 'img', [20, 20], false)], [[2, 2 * 2 * 3 * 4]], {
      min_size: '0.2,0.4', aspect_ratio: '2', flip: 'false', clip: 'false', step: '-1', offset: '0.5', scale_all_sizes: 'false',
    }, 'pb');
    typed(pb, 'float32');
    g.outputs = [pb.output(0)];
    const out = await runner.run(m, {});
    expectClose(out.pb_out!.values, priorBoxRef(2, 2, 20, 20, { ...base, min: [0.2, 0.4], max: [], ar: [2], flip: false, step: -1, variance: [], scaleAll: false }));
  });

  it('refuses the density form and sizes not known before running', () => {
    const m = newOvModel('net');
    const g = m.graph;
    const pb = ovOp(g, 'PriorBox', 'opset1', [sizeInput(g, 'fm', [2, 2], false), sizeInput(g, 'img', [20, 20], false)], [[2, 16]], { min_size: '2', density: '2', fixed_size: '4', offset: '0.5' }, 'pb');
    typed(pb, 'float32');
    g.outputs = [pb.output(0)];
    expect(translationFailure(m)).toBe("cannot translate OpenVINO layer 'pb' (PriorBox, opset1) to ONNX: fixed_size is not translated (only min_size/max_size/aspect_ratio priors are)");

    const m2 = newOvModel('net');
    const g2 = m2.graph;
    const hw = ovParam(g2, 'hw', [2], 'int64');
    const pb2 = ovOp(g2, 'PriorBox', 'opset8', [hw, sizeInput(g2, 'img', [20, 20], false)], [[2, 16]], { min_size: '2', offset: '0.5' }, 'pb');
    g2.outputs = [pb2.output(0)];
    expect(translationFailure(m2)).toBe(
      "cannot translate OpenVINO layer 'pb' (PriorBox, opset8) to ONNX: the feature map size (input 0) must be a constant or the shape of a statically shaped tensor for this translation",
    );
  });
});

describe('PriorBoxClustered', () => {
  function ref(H: number, W: number, IH: number, IW: number, widths: number[], heights: number[], stepW: number, stepH: number, offset: number, clip: boolean, variance: number[]): number[] {
    const sw = stepW === 0 ? IW / W : stepW;
    const sh = stepH === 0 ? IH / H : stepH;
    const boxes: number[] = [];
    for (let h = 0; h < H; h++) {
      for (let w = 0; w < W; w++) {
        const cx = (w + offset) * sw;
        const cy = (h + offset) * sh;
        widths.forEach((bw, s) => boxes.push((cx - bw / 2) / IW, (cy - heights[s]! / 2) / IH, (cx + bw / 2) / IW, (cy + heights[s]! / 2) / IH));
      }
    }
    const out = clip ? boxes.map((x) => Math.min(1, Math.max(0, x))) : boxes;
    return [...out, ...out.map((_, i) => (variance.length === 1 ? variance[0]! : variance[i % 4]!))];
  }

  it('computes one box per width/height pair per cell (steps from the image size, no clip, four variances)', async () => {
    const m = newOvModel('net');
    const g = m.graph;
    const pb = ovOp(g, 'PriorBoxClustered', 'opset1', [sizeInput(g, 'fm', [2, 3], true), sizeInput(g, 'img', [24, 30], false)], [[2, 2 * 3 * 2 * 4]], {
      width: '4,8', height: '6,3', clip: 'false', offset: '0.5', variance: '0.1,0.1,0.2,0.2',
    }, 'pb');
    typed(pb, 'float32');
    g.outputs = [pb.output(0)];
    const out = await runner.run(m, { fm: { shape: [1, 3, 2, 3], values: testValues(18) } });
    expectClose(out.pb_out!.values, ref(2, 3, 24, 30, [4, 8], [6, 3], 0, 0, 0.5, false, [0.1, 0.1, 0.2, 0.2]));
  });

  it('uses step when step_w and step_h are 0, clips, and repeats a single variance', async () => {
    const m = newOvModel('net');
    const g = m.graph;
    const pb = ovOp(g, 'PriorBoxClustered', 'opset1', [sizeInput(g, 'fm', [2, 2], false), sizeInput(g, 'img', [16, 16], false)], [[2, 2 * 2 * 1 * 4]], {
      width: '12', height: '5', clip: 'true', step: '8', step_w: '0', step_h: '0', offset: '0', variance: '0.3',
    }, 'pb');
    typed(pb, 'float32');
    g.outputs = [pb.output(0)];
    const out = await runner.run(m, {});
    expectClose(out.pb_out!.values, ref(2, 2, 16, 16, [12], [5], 8, 8, 0, true, [0.3]));
  });

  it('refuses only one of step_w and step_h', () => {
    const m = newOvModel('net');
    const g = m.graph;
    const pb = ovOp(g, 'PriorBoxClustered', 'opset1', [sizeInput(g, 'fm', [2, 2], false), sizeInput(g, 'img', [16, 16], false)], [[2, 16]], { width: '1', height: '1', step_w: '4', offset: '0.5' }, 'pb');
    typed(pb, 'float32');
    g.outputs = [pb.output(0)];
    expect(translationFailure(m)).toBe("cannot translate OpenVINO layer 'pb' (PriorBoxClustered, opset1) to ONNX: step_w=4 with step_h=0 is not translated (both 0 or both set)");
  });
});

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

describe('RegionYolo', () => {
  it('do_softmax (YOLOv2): sigmoid of x, y and objectness, softmax over the classes, w and h kept, flattened from axis 1 to 3', async () => {
    const [R, coords, classes, H, W] = [2, 4, 3, 2, 2];
    const K = coords + classes + 1;
    const m = newOvModel('net');
    const g = m.graph;
    const x = ovParam(g, 'x', [1, R * K, H, W]);
    const ry = ovOp(g, 'RegionYolo', 'opset1', [x], [[1, R * K * H * W]], { coords: '4', classes: '3', num: '2', do_softmax: 'true', mask: '', axis: '1', end_axis: '3' }, 'ry');
    g.outputs = [ry.output(0)];
    const xs = testValues(R * K * H * W, 5, -3, 3).map(Math.fround);
    const out = await runner.run(m, { x: { shape: [1, R * K, H, W], values: xs } });
    const at = (r: number, k: number, p: number): number => xs[(r * K + k) * H * W + p]!;
    const expected = xs.slice();
    for (let r = 0; r < R; r++) {
      for (let p = 0; p < H * W; p++) {
        for (const k of [0, 1, coords]) expected[(r * K + k) * H * W + p] = sigmoid(at(r, k, p));
        const e = Array.from({ length: classes }, (_, c) => Math.exp(at(r, coords + 1 + c, p)));
        const sum = e.reduce((a, b) => a + b, 0);
        e.forEach((v, c) => (expected[(r * K + coords + 1 + c) * H * W + p] = v / sum));
      }
    }
    expect(out.ry_out!.shape).toEqual([1, R * K * H * W]);
    expectClose(out.ry_out!.values, expected);
  });

  it('YOLOv3 form (do_softmax false, mask): sigmoid of x, y, objectness and every class score, shape kept', async () => {
    const [R, coords, classes, H, W] = [2, 4, 2, 1, 3];
    const K = coords + classes + 1;
    const m = newOvModel('net');
    const g = m.graph;
    const x = ovParam(g, 'x', [2, R * K, H, W]);
    const ry = ovOp(g, 'RegionYolo', 'opset1', [x], [[2, R * K, H, W]], { coords: '4', classes: '2', num: '6', do_softmax: 'false', mask: '0,2', axis: '1', end_axis: '3' }, 'ry');
    g.outputs = [ry.output(0)];
    const xs = testValues(2 * R * K * H * W, 9, -3, 3).map(Math.fround);
    const out = await runner.run(m, { x: { shape: [2, R * K, H, W], values: xs } });
    const expected = xs.map((v, i) => {
      const k = Math.floor(i / (H * W)) % K;
      return k === 2 || k === 3 ? v : sigmoid(v);
    });
    expect(out.ry_out!.shape).toEqual([2, R * K, H, W]);
    expectClose(out.ry_out!.values, expected);
  });

  it('refuses a channel count that is not regions x (coords + classes + 1)', () => {
    const m = newOvModel('net');
    const g = m.graph;
    const x = ovParam(g, 'x', [1, 10, 2, 2]);
    const ry = ovOp(g, 'RegionYolo', 'opset1', [x], [[1, 10, 2, 2]], { coords: '4', classes: '2', num: '3', do_softmax: 'false', mask: '0,1' }, 'ry');
    g.outputs = [ry.output(0)];
    expect(translationFailure(m)).toBe("cannot translate OpenVINO layer 'ry' (RegionYolo, opset1) to ONNX: input 0 has 10 channels, not 2 regions x 7 (coords + classes + 1)");
  });
});

describe('ReorgYolo', () => {
  it('moves stride x stride blocks into channels the way the reference indexes them', async () => {
    const [N, C, H, W, s] = [2, 8, 2, 4, 2];
    const m = newOvModel('net');
    const g = m.graph;
    const x = ovParam(g, 'x', [N, C, H, W]);
    const ry = ovOp(g, 'ReorgYolo', 'opset2', [x], [[N, C * s * s, H / s, W / s]], { stride: '2' }, 'ry');
    g.outputs = [ry.output(0)];
    const xs = Array.from({ length: N * C * H * W }, (_, i) => i);
    const out = await runner.run(m, { x: { shape: [N, C, H, W], values: xs } });
    // The specification's loop: the input read as [N, C/s², H*s, W*s], the output written as [N, C, H, W].
    const c2 = C / (s * s);
    const expected = new Array<number>(xs.length);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        for (let h = 0; h < H; h++) {
          for (let w = 0; w < W; w++) {
            const off = Math.floor(c / c2);
            const src = ((n * c2 + (c % c2)) * H * s + h * s + Math.floor(off / s)) * W * s + w * s + (off % s);
            expected[((n * C + c) * H + h) * W + w] = xs[src]!;
          }
        }
      }
    }
    expect(out.ry_out!.shape).toEqual([N, C * s * s, H / s, W / s]);
    expect(out.ry_out!.values).toEqual(expected);
  });
});

describe('Roll', () => {
  async function rolled(shape: number[], shift: number[], axes: number[]): Promise<number[]> {
    const m = newOvModel('net');
    const g = m.graph;
    const x = ovParam(g, 'x', shape);
    const r = ovOp(g, 'Roll', 'opset7', [x, ovConst(g, 'shift', 'int64', [shift.length], shift), ovConst(g, 'axes', 'int64', [axes.length], axes)], [shape], {}, 'roll');
    g.outputs = [r.output(0)];
    const n = shape.reduce((a, b) => a * b, 1);
    const out = await runner.run(m, { x: { shape, values: Array.from({ length: n }, (_, i) => i) } });
    return out.roll_out!.values;
  }
  /** out[i] = in[i - shift (mod n)] on every rolled axis. */
  function ref(shape: number[], shift: number[], axes: number[]): number[] {
    const total = shape.map(() => 0);
    axes.forEach((a, i) => (total[a < 0 ? a + shape.length : a]! += shift[shift.length === 1 ? 0 : i]!));
    const n = shape.reduce((a, b) => a * b, 1);
    return Array.from({ length: n }, (_, flat) => {
      let rest = flat;
      let src = 0;
      let stride = 1;
      for (let d = shape.length - 1; d >= 0; d--) {
        const i = rest % shape[d]!;
        rest = Math.floor(rest / shape[d]!);
        src += ((((i - total[d]!) % shape[d]!) + shape[d]!) % shape[d]!) * stride;
        stride *= shape[d]!;
      }
      return src;
    });
  }
  it('rolls several axes by their own shifts (negative ones, negative axes, shifts beyond the size)', async () => {
    expect(await rolled([2, 3, 4], [1, -2, 7], [0, -1, 1])).toEqual(ref([2, 3, 4], [1, -2, 7], [0, -1, 1]));
  });
  it('applies a single shift to every axis, and adds up the shifts of a repeated axis', async () => {
    expect(await rolled([3, 4], [2], [0, 1])).toEqual(ref([3, 4], [2], [0, 1]));
    expect(await rolled([5], [2, 1], [0, 0])).toEqual(ref([5], [2, 1], [0, 0]));
  });
});

describe('GridSample', () => {
  type Opts = { align: boolean; mode: 'bilinear' | 'nearest' | 'bicubic'; padding: 'zeros' | 'border' | 'reflection' };
  /** The specification's sampling: denormalize, interpolate, and pad each pixel index that falls outside. */
  function ref(data: number[], [N, C, H, W]: [number, number, number, number], grid: number[], [Ho, Wo]: [number, number], o: Opts): number[] {
    const denorm = (v: number, n: number): number => (o.align ? ((v + 1) * (n - 1)) / 2 : ((v + 1) * n - 1) / 2);
    const reflect = (i: number, n: number): number => {
      if (o.align) {
        const p = n === 1 ? 1 : 2 * (n - 1);
        const r = Math.abs(i) % p;
        return r >= n ? p - r : r;
      }
      const r = ((i % (2 * n)) + 2 * n) % (2 * n);
      return r >= n ? 2 * n - 1 - r : r;
    };
    const pixel = (n: number, c: number, y: number, x: number): number => {
      if (o.padding === 'zeros') return y < 0 || x < 0 || y >= H || x >= W ? 0 : data[((n * C + c) * H + y) * W + x]!;
      if (o.padding === 'border') return data[((n * C + c) * H + Math.min(Math.max(y, 0), H - 1)) * W + Math.min(Math.max(x, 0), W - 1)]!;
      return data[((n * C + c) * H + reflect(y, H)) * W + reflect(x, W)]!;
    };
    const roundEven = (v: number): number => {
      const f = Math.floor(v);
      const d = v - f;
      return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
    };
    const cubic = (r: number): number[] => {
      const A = -0.75;
      const k = (d: number): number => {
        const a = Math.abs(d);
        return a <= 1 ? (A + 2) * a ** 3 - (A + 3) * a ** 2 + 1 : a < 2 ? A * a ** 3 - 5 * A * a ** 2 + 8 * A * a - 4 * A : 0;
      };
      return [k(r + 1), k(r), k(1 - r), k(2 - r)];
    };
    const out: number[] = [];
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        for (let i = 0; i < Ho * Wo; i++) {
          const x = denorm(grid[(n * Ho * Wo + i) * 2]!, W);
          const y = denorm(grid[(n * Ho * Wo + i) * 2 + 1]!, H);
          if (o.mode === 'nearest') {
            out.push(pixel(n, c, roundEven(y), roundEven(x)));
            continue;
          }
          const x0 = Math.floor(x);
          const y0 = Math.floor(y);
          const dx = x - x0;
          const dy = y - y0;
          if (o.mode === 'bilinear') {
            out.push((1 - dy) * ((1 - dx) * pixel(n, c, y0, x0) + dx * pixel(n, c, y0, x0 + 1)) + dy * ((1 - dx) * pixel(n, c, y0 + 1, x0) + dx * pixel(n, c, y0 + 1, x0 + 1)));
            continue;
          }
          const cx = cubic(dx);
          const cy = cubic(dy);
          let v = 0;
          for (let j = 0; j < 4; j++) for (let k = 0; k < 4; k++) v += cy[j]! * cx[k]! * pixel(n, c, y0 - 1 + j, x0 - 1 + k);
          out.push(v);
        }
      }
    }
    return out;
  }

  function build(o: Opts): Model {
    const m = newOvModel('net');
    const g = m.graph;
    const x = ovParam(g, 'x', [1, 2, 3, 4]);
    const grid = ovParam(g, 'grid', [1, 3, 5, 2]);
    const gs = ovOp(g, 'GridSample', 'opset9', [x, grid], [[1, 2, 3, 5]], { align_corners: String(o.align), mode: o.mode, padding_mode: o.padding }, 'gs');
    g.outputs = [gs.output(0)];
    return m;
  }

  const cases: Opts[] = [
    { align: false, mode: 'bilinear', padding: 'zeros' },
    { align: true, mode: 'bilinear', padding: 'border' },
    { align: false, mode: 'bilinear', padding: 'reflection' },
    { align: true, mode: 'bilinear', padding: 'reflection' },
    { align: false, mode: 'nearest', padding: 'zeros' },
    { align: true, mode: 'nearest', padding: 'border' },
    { align: false, mode: 'nearest', padding: 'reflection' },
    { align: false, mode: 'bicubic', padding: 'zeros' },
    { align: true, mode: 'bicubic', padding: 'zeros' },
    { align: false, mode: 'bicubic', padding: 'reflection' },
    { align: true, mode: 'bicubic', padding: 'reflection' },
  ];
  it.each(cases)('samples like the specification: %o', async (o) => {
    const data = testValues(24, 21, -2, 2).map(Math.fround);
    // Coordinates beyond [-1, 1] too, so that every padding mode is exercised.
    const grid = testValues(30, 22, -1.7, 1.7).map(Math.fround);
    grid[0] = 0; // a pixel centre or half-way point (nearest's tie)
    grid[1] = 1 / 3;
    const out = await runner.run(build(o), { x: { shape: [1, 2, 3, 4], values: data }, grid: { shape: [1, 3, 5, 2], values: grid } });
    expectClose(out.gs_out!.values, ref(data, [1, 2, 3, 4], grid, [3, 5], o), 1e-4);
  });

  it('refuses bicubic with border padding (ONNX clamps the coordinate, OpenVINO the pixel indices)', () => {
    expect(translationFailure(build({ align: false, mode: 'bicubic', padding: 'border' }))).toBe(
      "cannot translate OpenVINO layer 'gs' (GridSample, opset9) to ONNX: mode=\"bicubic\" with padding_mode=\"border\" is not translated (ONNX clamps the coordinate, OpenVINO each pixel index: they differ near the border)",
    );
  });
});

describe('Eye', () => {
  it('puts ones on the diagonal_index diagonal, over a batch shape, in output_type', async () => {
    const m = newOvModel('net');
    const g = m.graph;
    const rows = ovConst(g, 'rows', 'int64', [], [3]);
    const cols = ovConst(g, 'cols', 'int64', [1], [4]);
    const diag = ovConst(g, 'diag', 'int64', [], [1]);
    const batch = ovConst(g, 'batch', 'int32', [1], [2]);
    const e = ovOp(g, 'Eye', 'opset9', [rows, cols, diag, batch], [[2, 3, 4]], { output_type: 'f32' }, 'eye');
    const e2 = ovOp(g, 'Eye', 'opset9', [cols, rows, ovConst(g, 'neg', 'int32', [], [-2])], [[4, 3]], { output_type: 'i32' }, 'eye2');
    typed(e, 'float32');
    typed(e2, 'int32');
    g.outputs = [e.output(0), e2.output(0)];
    const out = await runner.run(m, {});
    const plane = (r: number, c: number, d: number): number[] => Array.from({ length: r * c }, (_, i) => (i % c) - Math.floor(i / c) === d ? 1 : 0);
    expect(out.eye_out!).toEqual({ shape: [2, 3, 4], values: [...plane(3, 4, 1), ...plane(3, 4, 1)], dtype: 'float32' });
    expect(out.eye2_out!).toEqual({ shape: [4, 3], values: plane(4, 3, -2), dtype: 'int32' });
  });
});

describe('Bucketize', () => {
  function ref(xs: number[], buckets: number[], right: boolean): number[] {
    // The index i of the bucket: buckets[i-1] < x <= buckets[i] (right bound) or buckets[i-1] <= x < buckets[i].
    return xs.map((x) => {
      let i = 0;
      while (i < buckets.length && (right ? buckets[i]! < x : buckets[i]! <= x)) i++;
      return i;
    });
  }
  it.each([true, false])('with_right_bound=%s, i64 and i32 outputs, values on the boundaries', async (right) => {
    const m = newOvModel('net');
    const g = m.graph;
    const x = ovParam(g, 'x', [2, 5]);
    const buckets = [-1, 0, 0.5, 2];
    const b = ovConst(g, 'b', 'float32', [4], buckets);
    const o = ovOp(g, 'Bucketize', 'opset3', [x, b], [[2, 5]], { output_type: 'i64', with_right_bound: String(right) }, 'bk');
    const o32 = ovOp(g, 'Bucketize', 'opset3', [x, b], [[2, 5]], { output_type: 'i32', with_right_bound: String(right) }, 'bk32');
    typed(o, 'int64');
    typed(o32, 'int32');
    g.outputs = [o.output(0), o32.output(0)];
    const xs = [-2, -1, -0.5, 0, 0.25, 0.5, 1, 2, 3, -1.5];
    const out = await runner.run(m, { x: { shape: [2, 5], values: xs } });
    expect(out.bk_out!).toEqual({ shape: [2, 5], values: ref(xs, buckets, right), dtype: 'int64' });
    expect(out.bk32_out!).toEqual({ shape: [2, 5], values: ref(xs, buckets, right), dtype: 'int32' });
  });

  it('compares integer data with float buckets', async () => {
    const m = newOvModel('net');
    const g = m.graph;
    const x = ovParam(g, 'x', [4], 'int32');
    const b = ovConst(g, 'b', 'float32', [2], [1.5, 3]);
    const o = typed(ovOp(g, 'Bucketize', 'opset3', [x, b], [[4]], {}, 'bk'), 'int64');
    g.outputs = [o.output(0)];
    const out = await runner.run(m, { x: { dtype: 'int32', shape: [4], values: [1, 2, 3, 4] } });
    expect(out.bk_out!.values).toEqual([0, 1, 1, 2]);
  });
});

describe('NonMaxSuppression', () => {
  const f = Math.fround;
  /** OpenVINO's IoU of two corner boxes [y1, x1, y2, x2], taken as given (no corner sorting), in float32. */
  function iou(a: number[], b: number[]): number {
    const areaA = f(f(a[2]! - a[0]!) * f(a[3]! - a[1]!));
    const areaB = f(f(b[2]! - b[0]!) * f(b[3]! - b[1]!));
    if (areaA <= 0 || areaB <= 0) return 0;
    const ih = Math.max(f(Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!)), 0);
    const iw = Math.max(f(Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!)), 0);
    const inter = f(ih * iw);
    return f(inter / f(f(areaA + areaB) - inter));
  }
  /** The specification's hard NMS, per batch and class: by score (ties: lower box first), greedy, at most maxPerClass. */
  function ref(boxes: number[][][], scores: number[][][], maxPerClass: number, iouThreshold: number, scoreThreshold: number, atLeast: boolean): number[][] {
    const out: number[][] = [];
    scores.forEach((perClass, b) => {
      perClass.forEach((s, c) => {
        const order = s.map((v, i) => [v, i] as const).filter(([v]) => v > scoreThreshold).sort((p, q) => q[0] - p[0] || p[1] - q[1]);
        const kept: number[] = [];
        for (const [, i] of order) {
          if (kept.length >= maxPerClass) break;
          if (kept.some((k) => (atLeast ? iou(boxes[b]![i]!, boxes[b]![k]!) >= iouThreshold : iou(boxes[b]![i]!, boxes[b]![k]!) > iouThreshold))) continue;
          kept.push(i);
        }
        for (const i of kept) out.push([b, c, i]);
      });
    });
    return out;
  }

  function build(opset: string, attrs: Record<string, string>, thresholds: { iou: number; score?: number; sigma?: number }, shape: [number, number, number]): Model {
    const [B, C, N] = shape;
    const m = newOvModel('net');
    const g = m.graph;
    const boxes = ovParam(g, 'boxes', [B, N, 4]);
    const scores = ovParam(g, 'scores', [B, C, N]);
    const inputs = [boxes, scores, ovConst(g, 'max', 'int64', [], [3]), ovConst(g, 'iou', 'float32', [], [thresholds.iou])];
    if (thresholds.score !== undefined) inputs.push(ovConst(g, 'score', 'float32', [], [thresholds.score]));
    if (thresholds.sigma !== undefined) inputs.push(ovConst(g, 'sigma', 'float32', [], [thresholds.sigma]));
    const nms = ovOp(g, 'NonMaxSuppression', opset, inputs, [[1, 3], [1, 3], [1]], attrs, 'nms');
    const outType = attrs.output_type === 'i32' ? 'int32' : 'int64';
    nms.output(0).dtype = outType;
    nms.output(1).dtype = 'float32';
    nms.output(2).dtype = outType;
    g.outputs = [...nms.outputs];
    return m;
  }

  // Batch 0: boxes 0 and 1 overlap with IoU exactly 1/3; 2 is far away; 3 is flipped (y2 < y1) on top of 0; 4 has zero area.
  // Scores: ties (lower box first), scores at the threshold 0.3 (dropped), a class cut at 3 boxes (batch 0, class 1).
  const boxes = [
    [[0, 0, 1, 2], [0, 1, 1, 3], [5, 5, 6, 6], [1, 0, 0, 2], [0, 0, 0, 2]],
    [[0, 0, 2, 2], [0.5, 0.5, 2.5, 2.5], [0, 0, 2, 2.1], [3, 3, 4, 4], [2, 2, 0, 0]],
  ];
  const scores = [
    [[0.9, 0.8, 0.3, 0.95, 0.35], [0.35, 0.6, 0.6, 0.5, 0.7]],
    [[0.5, 0.7, 0.65, 0.4, 0.99], [0.6, 0.6, 0.6, 0.6, 0.3]],
  ];
  const feeds = { boxes: { shape: [2, 5, 4], values: boxes.flat(2) }, scores: { shape: [2, 2, 5], values: scores.flat(2) } };

  it.each([
    ['opset9', false],
    ['opset5', true],
  ] as const)('%s selects per batch and class, by score, suppressing flipped/empty boxes by nothing, and gives scores and the count', async (opset, atLeast) => {
    const third = f(1 / 3);
    const m = build(opset, { box_encoding: 'corner', sort_result_descending: 'false', output_type: 'i32' }, { iou: third, score: 0.3 }, [2, 2, 5]);
    const out = await runner.run(m, feeds);
    const expected = ref(boxes, scores, 3, third, f(0.3), atLeast);
    expect(out.nms_out0!).toEqual({ shape: [expected.length, 3], values: expected.flat(), dtype: 'int32' });
    expectClose(out.nms_out1!.values, expected.flatMap(([b, c, i]) => [b!, c!, f(scores[b!]![c!]![i!]!)]), 1e-6);
    expect(out.nms_out2!).toEqual({ shape: [1], values: [expected.length], dtype: 'int32' });
    // The two versions differ on box 1 of batch 0, class 0 (IoU with box 0 exactly at the threshold).
    expect(expected.some(([b, c, i]) => b === 0 && c === 0 && i === 1)).toBe(!atLeast);
  });

  it('turns center boxes into corners as OpenVINO does (negative sizes overlap nothing); no score_threshold means 0', async () => {
    const center = [
      [[1, 0.5, 2, 1], [1.5, 0.5, 2, 1], [1, 0.5, -2, 1], [4, 4, 1, 1]],
    ];
    const toCorners = (b: number[]): number[] => [f(b[1]! - f(b[3]! / 2)), f(b[0]! - f(b[2]! / 2)), f(b[1]! + f(b[3]! / 2)), f(b[0]! + f(b[2]! / 2))];
    const sc = [[[0.9, 0.8, 0.95, 0]]];
    const m = build('opset9', { box_encoding: 'center', sort_result_descending: 'false' }, { iou: 0.2 }, [1, 1, 4]);
    const out = await runner.run(m, { boxes: { shape: [1, 4, 4], values: center.flat(2) }, scores: { shape: [1, 1, 4], values: sc.flat(2) } });
    const expected = ref([center[0]!.map(toCorners)], sc, 3, f(0.2), 0, false);
    expect(out.nms_out0!).toEqual({ shape: [expected.length, 3], values: expected.flat(), dtype: 'int64' });
  });

  it('refuses sort_result_descending=true and soft NMS', () => {
    expect(translationFailure(build('opset9', {}, { iou: 0.5 }, [1, 1, 4]))).toBe(
      "cannot translate OpenVINO layer 'nms' (NonMaxSuppression, opset9) to ONNX: sort_result_descending=true is not translated (ONNX keeps the per-batch, per-class order; false is translated)",
    );
    expect(translationFailure(build('opset5', { sort_result_descending: 'false' }, { iou: 0.5, score: 0, sigma: 0.5 }, [1, 1, 4]))).toBe(
      "cannot translate OpenVINO layer 'nms' (NonMaxSuppression, opset5) to ONNX: soft_nms_sigma=0.5 (soft NMS) is not translated (0, hard NMS, is)",
    );
  });
});
