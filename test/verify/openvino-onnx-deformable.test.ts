/**
 * DeformableConvolution-1 and -8 translated to ONNX (bilinear samples
 * gathered at the offset positions, then a grouped 1x1 Conv), run in
 * onnxruntime and compared with the deformable convolution computed here as
 * the specification defines it, y(p) = sum_k w_k x(p + p_k + dp_k) m_k, with
 * the sampling rules of OpenVINO's reference implementation: without
 * bilinear_interpolation_pad a position is used when 0 <= y < H and
 * 0 <= x < W and its upper neighbour stays on the last row/column; with it,
 * when -1 < y < H and -1 < x < W, neighbours outside the image being zero.
 */
import type { DType } from '../../src/ir/dtype';
import { newOvModel, ovConst, ovOp, ovParam } from '../helpers/openvino-build';
import { TranslatedRunner, expectClose, testValues, translationFailure } from '../helpers/openvino-translate';

let runner: TranslatedRunner;
beforeAll(() => {
  runner = new TranslatedRunner();
});
afterAll(() => runner.close());

interface Case {
  N: number;
  C: number;
  H: number;
  W: number;
  O: number;
  KH: number;
  KW: number;
  strides: [number, number];
  dilations: [number, number];
  /** pads_begin and pads_end as written on the layer (ignored unless auto_pad is explicit). */
  padsBegin: [number, number];
  padsEnd: [number, number];
  autoPad?: 'explicit' | 'valid' | 'same_upper' | 'same_lower';
  group: number;
  deformableGroup: number;
  opset: 'opset1' | 'opset8';
  mask: boolean;
  biPad?: boolean;
  /** Offsets drawn from [-offsetRange, offsetRange). */
  offsetRange: number;
}

/** The pads the layer's auto_pad gives (the specification: SAME pads to ceil(size / stride), the odd pixel at the end for same_upper). */
function padsOf(c: Case): { begin: number[]; end: number[] } {
  const mode = c.autoPad ?? 'explicit';
  if (mode === 'explicit') return { begin: c.padsBegin, end: c.padsEnd };
  if (mode === 'valid') return { begin: [0, 0], end: [0, 0] };
  const begin: number[] = [];
  const end: number[] = [];
  [c.H, c.W].forEach((size, i) => {
    const kernel = (i === 0 ? c.KH : c.KW) - 1;
    const total = Math.max(0, (Math.ceil(size / c.strides[i]!) - 1) * c.strides[i]! + kernel * c.dilations[i]! + 1 - size);
    const first = mode === 'same_upper' ? Math.floor(total / 2) : Math.ceil(total / 2);
    begin.push(first);
    end.push(total - first);
  });
  return { begin, end };
}

function outputSize(c: Case): [number, number] {
  const { begin, end } = padsOf(c);
  const along = (size: number, kernel: number, i: number): number => Math.floor((size + begin[i]! + end[i]! - (kernel - 1) * c.dilations[i]! - 1) / c.strides[i]!) + 1;
  return [along(c.H, c.KH, 0), along(c.W, c.KW, 1)];
}

/** Bilinear value of one channel (`at(y, x)`) at (y, x), as OpenVINO's reference interpolates a position it uses. */
function bilinear(at: (y: number, x: number) => number, y: number, x: number, H: number, W: number, zeroPadded: boolean): number {
  const y1 = zeroPadded ? Math.floor(y) : Math.max(Math.floor(y), 0);
  const x1 = zeroPadded ? Math.floor(x) : Math.max(Math.floor(x), 0);
  const y2 = zeroPadded ? y1 + 1 : Math.min(Math.ceil(y), H - 1);
  const x2 = zeroPadded ? x1 + 1 : Math.min(Math.ceil(x), W - 1);
  const [dx, dy] = [x - x1, y - y1];
  const pixel = (i: number, j: number): number => (i >= 0 && i < H && j >= 0 && j < W ? at(i, j) : 0);
  return (1 - dx) * (1 - dy) * pixel(y1, x1) + (1 - dx) * dy * pixel(y2, x1) + dx * (1 - dy) * pixel(y1, x2) + dx * dy * pixel(y2, x2);
}

function deformableConvRef(c: Case, data: number[], offsets: number[], filters: number[], mask: number[] | undefined): number[] {
  const { N, C, H, W, O, KH, KW } = c;
  const [OH, OW] = outputSize(c);
  const { begin } = padsOf(c);
  const K = KH * KW;
  const [perGroupIn, perGroupOut, perDeformable] = [C / c.group, O / c.group, C / c.deformableGroup];
  const out: number[] = [];
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / perGroupOut);
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) {
          let sum = 0;
          for (let ci = 0; ci < perGroupIn; ci++) {
            const ch = g * perGroupIn + ci;
            const dg = Math.floor(ch / perDeformable);
            const at = (i: number, j: number): number => data[((n * C + ch) * H + i) * W + j]!;
            for (let ky = 0; ky < KH; ky++) {
              for (let kx = 0; kx < KW; kx++) {
                const k = ky * KW + kx;
                const offsetAt = (channel: number): number => offsets[((n * c.deformableGroup * 2 * K + channel) * OH + oy) * OW + ox]!;
                const y = oy * c.strides[0] - begin[0]! + ky * c.dilations[0] + offsetAt(dg * 2 * K + 2 * k);
                const x = ox * c.strides[1] - begin[1]! + kx * c.dilations[1] + offsetAt(dg * 2 * K + 2 * k + 1);
                const used = c.biPad ? Math.trunc(y) > -1 && Math.trunc(y) < H && Math.trunc(x) > -1 && Math.trunc(x) < W : y >= 0 && y < H && x >= 0 && x < W;
                if (!used) continue;
                const m = mask ? mask[((n * c.deformableGroup * K + dg * K + k) * OH + oy) * OW + ox]! : 1;
                sum += bilinear(at, y, x, H, W, c.biPad ?? false) * filters[((o * perGroupIn + ci) * KH + ky) * KW + kx]! * m;
              }
            }
          }
          out.push(sum);
        }
      }
    }
  }
  return out;
}

function attrsOf(c: Case): Record<string, string> {
  const attrs: Record<string, string> = {
    strides: c.strides.join(','),
    dilations: c.dilations.join(','),
    pads_begin: c.padsBegin.join(','),
    pads_end: c.padsEnd.join(','),
    auto_pad: c.autoPad ?? 'explicit',
    group: String(c.group),
    deformable_group: String(c.deformableGroup),
  };
  if (c.biPad !== undefined) attrs.bilinear_interpolation_pad = String(c.biPad);
  return attrs;
}

/** The layer with data, offsets (and mask) as Parameters and the filters a Const; `dynamicBatch` declares N dynamic. */
function model(c: Case, filters: number[], dtype: DType = 'float32', dynamicBatch = false) {
  const m = newOvModel('net');
  const g = m.graph;
  const [OH, OW] = outputSize(c);
  const K = c.KH * c.KW;
  const param = (name: string, shape: number[]): ReturnType<typeof ovParam> => {
    const v = ovParam(g, name, shape, dtype);
    if (dynamicBatch) v.shape = [null, ...shape.slice(1)];
    return v;
  };
  const inputs = [
    param('data', [c.N, c.C, c.H, c.W]),
    param('offsets', [c.N, c.deformableGroup * 2 * K, OH, OW]),
    ovConst(g, 'filters', dtype, [c.O, c.C / c.group, c.KH, c.KW], filters),
  ];
  if (c.mask) inputs.push(param('mask', [c.N, c.deformableGroup * K, OH, OW]));
  const node = ovOp(g, 'DeformableConvolution', c.opset, inputs, [[c.N, c.O, OH, OW]], attrsOf(c), 'dconv');
  g.outputs = [node.output(0)];
  return { m, out: node.output(0).name };
}

/** Seeded inputs for `c`, float32-exact. */
function inputsOf(c: Case, seed: number) {
  const [OH, OW] = outputSize(c);
  const K = c.KH * c.KW;
  const f = (xs: number[]): number[] => xs.map(Math.fround);
  return {
    data: f(testValues(c.N * c.C * c.H * c.W, seed)),
    offsets: f(testValues(c.N * c.deformableGroup * 2 * K * OH * OW, seed + 1, -c.offsetRange, c.offsetRange)),
    filters: f(testValues(c.O * (c.C / c.group) * K, seed + 2)),
    mask: c.mask ? f(testValues(c.N * c.deformableGroup * K * OH * OW, seed + 3, 0, 1)) : undefined,
  };
}

async function check(c: Case, seed: number, dtype: DType = 'float32', dynamicBatch = false, tol = 1e-5): Promise<void> {
  const { data, offsets, filters, mask } = inputsOf(c, seed);
  const { m, out } = model(c, filters, dtype, dynamicBatch);
  const [OH, OW] = outputSize(c);
  const K = c.KH * c.KW;
  const feeds: Record<string, { dtype: DType; shape: number[]; values: number[] }> = {
    data: { dtype, shape: [c.N, c.C, c.H, c.W], values: data },
    offsets: { dtype, shape: [c.N, c.deformableGroup * 2 * K, OH, OW], values: offsets },
  };
  if (mask) feeds.mask = { dtype, shape: [c.N, c.deformableGroup * K, OH, OW], values: mask };
  const got = (await runner.run(m, feeds))[out]!;
  expect(got.shape).toEqual([c.N, c.O, OH, OW]);
  expect(got.dtype).toBe(dtype);
  expectClose(got.values, deformableConvRef(c, data, offsets, filters, mask), tol);
}

const BASE: Case = {
  N: 2, C: 3, H: 5, W: 7, O: 4, KH: 3, KW: 2,
  strides: [1, 1], dilations: [1, 1], padsBegin: [0, 0], padsEnd: [0, 0],
  group: 1, deformableGroup: 1, opset: 'opset1', mask: false, offsetRange: 2,
};

test.each([
  ['DeformableConvolution-1, defaults (non-square image and kernel, batch 2)', {}],
  ['DeformableConvolution-1, pads 1,2 / 2,1, strides 2,1, dilations 1,2', { padsBegin: [1, 2], padsEnd: [2, 1], strides: [2, 1], dilations: [1, 2] }],
  ['DeformableConvolution-1, group 3 and deformable_group 3 (depthwise-like)', { C: 6, O: 3, group: 3, deformableGroup: 3 }],
  ['DeformableConvolution-1, group 2 and deformable_group 3 (groups that do not line up)', { C: 6, O: 4, group: 2, deformableGroup: 3 }],
  ['DeformableConvolution-8 without mask, bilinear_interpolation_pad absent (false)', { opset: 'opset8' }],
  ['DeformableConvolution-8 with mask, group 2, deformable_group 2, pads 1,1 / 1,1', { opset: 'opset8', mask: true, C: 4, O: 6, group: 2, deformableGroup: 2, padsBegin: [1, 1], padsEnd: [1, 1] }],
  ['DeformableConvolution-8, bilinear_interpolation_pad=true, offsets up to 3 pixels', { opset: 'opset8', biPad: true, offsetRange: 3 }],
  ['DeformableConvolution-8, bilinear_interpolation_pad=true with mask, deformable_group 3, stride 2', { opset: 'opset8', biPad: true, mask: true, C: 3, deformableGroup: 3, strides: [2, 2] }],
  ['DeformableConvolution-8, bilinear_interpolation_pad=false written out, with mask', { opset: 'opset8', biPad: false, mask: true, offsetRange: 3 }],
  ['auto_pad same_upper, strides 2 (pads ignored)', { autoPad: 'same_upper', strides: [2, 2], padsBegin: [3, 3], padsEnd: [3, 3] }],
  ['auto_pad same_lower, strides 2, dilations 2,1', { autoPad: 'same_lower', strides: [2, 2], dilations: [2, 1], KH: 2, KW: 3 }],
  ['auto_pad valid (pads ignored)', { autoPad: 'valid', padsBegin: [2, 2], padsEnd: [1, 1] }],
] as const)('%s', async (_name, change) => {
  const c: Case = { ...BASE, ...(change as Partial<Case>) };
  for (const seed of [5, 41]) await check(c, seed);
});

test('a dynamic batch dimension', async () => {
  await check({ ...BASE, opset: 'opset8', mask: true }, 9, 'float32', true);
});

test('float16 layers are computed in float32 and rounded to float16', async () => {
  await check({ ...BASE, opset: 'opset8', mask: true }, 13, 'float16', false, 5e-3);
});

test.each([false, true])('sampling positions on and around the image edges, bilinear_interpolation_pad=%s', async (biPad) => {
  // A 1x1 kernel: output pixel (i, j) samples (i + dy, j + dx). The offsets put the 12 samples on a corner, on the
  // last pixel, between the last pixel and the edge, on the edges (-1, H, W), just and far outside, and inside.
  const c: Case = { ...BASE, N: 1, C: 2, O: 2, H: 3, W: 4, KH: 1, KW: 1, opset: 'opset8', biPad, offsetRange: 0 };
  const targets: [number, number][] = [
    [0, 0], [-0.25, 1.5], [1.5, -0.75], [2.5, 3.5], [2, 3], [3, 1],
    [1, 4], [-1, 2], [1.25, 3.999], [0.5, 2.25], [2.75, 0.1], [-1.5, -1.5],
  ];
  const offsets = [0, 1].flatMap((axis) => targets.map((target, cell) => target[axis]! - (axis === 0 ? Math.floor(cell / c.W) : cell % c.W)).map(Math.fround));
  const data = testValues(c.C * c.H * c.W, 77).map(Math.fround);
  const filters = [1, 0, 0.5, -2];
  const { m, out } = model(c, filters);
  const got = (await runner.run(m, { data: { shape: [1, 2, 3, 4], values: data }, offsets: { shape: [1, 2, 3, 4], values: offsets } }))[out]!;
  const expected = deformableConvRef(c, data, offsets, filters, undefined);
  // The positions cover zeros (unused) and values (used) in both modes.
  expect(expected.some((v) => v === 0)).toBe(true);
  expect(expected.filter((v) => v !== 0).length).toBeGreaterThanOrEqual(12);
  expectClose(got.values, expected, 1e-5);
});

test('what is not translated is refused by name', () => {
  const filters = inputsOf(BASE, 1).filters;
  const refusal = (change: Partial<Case>, dtype: DType = 'float32'): string => translationFailure(model({ ...BASE, ...change }, filters, dtype).m);
  expect(refusal({ autoPad: 'foo' as Case['autoPad'] })).toContain('auto_pad="foo" is not translated (explicit, valid, same_upper and same_lower are)');
  expect(refusal({}, 'int32')).toContain('element type int32 is not translated (f32 is, and f16 computed in f32)');
  expect(refusal({ opset: 'opset99' as Case['opset'] })).toContain('DeformableConvolution of opset99 is not translated (opset1 and opset8 are)');

  const wrongOffsets = model(BASE, filters);
  wrongOffsets.m.graph.inputs[1]!.shape = [2, 12, 3, 5];
  expect(translationFailure(wrongOffsets.m)).toContain('input 1 (offsets) is [12, 3, 5] per image and the attributes give [12, 3, 6]');

  const spatialDynamic = model(BASE, filters);
  spatialDynamic.m.graph.inputs[0]!.shape = [2, 3, null, 7];
  expect(translationFailure(spatialDynamic.m)).toContain('input 0 needs static spatial dimensions for this translation');

  const volumetric = newOvModel('net');
  const g = volumetric.graph;
  const node = ovOp(g, 'DeformableConvolution', 'opset8', [ovParam(g, 'x', [1, 2, 4, 4, 4]), ovParam(g, 'o', [1, 48, 3, 3, 3]), ovParam(g, 'w', [2, 2, 2, 2, 2])], [[1, 2, 3, 3, 3]], attrsOf(BASE));
  g.outputs = [node.output(0)];
  expect(translationFailure(volumetric)).toContain('input 0 must have rank 4 (the translation is of 2D deformable convolutions)');

  const dynamicFilters = newOvModel('net');
  const h = dynamicFilters.graph;
  const w = ovParam(h, 'w', [4, 3, 3, 2]);
  w.shape = [null, 3, 3, 2];
  const layer = ovOp(h, 'DeformableConvolution', 'opset1', [ovParam(h, 'x', [2, 3, 5, 7]), ovParam(h, 'o', [2, 12, 3, 6]), w], [[2, 4, 3, 6]], attrsOf(BASE));
  h.outputs = [layer.output(0)];
  expect(translationFailure(dynamicFilters)).toContain('the filters (input 2) need a static shape for this translation');
});
