/**
 * The ONNX translation of OpenVINO's neural-network ops (src/verify/openvino-onnx/ops/nn.ts),
 * run in onnxruntime and compared with values computed here, in plain
 * TypeScript, from the OpenVINO operation specifications (and, for MaxPool-8,
 * with the spec's own examples).
 */
import type { DType } from '../../src/ir/dtype';
import type { Graph, Value } from '../../src/ir/graph';
import { openvinoToOnnx } from '../../src/verify/openvino-onnx';
import { newOvModel, ovConst, ovOp, ovParam } from '../helpers/openvino-build';
import { expectClose, sizeOf as size, stridesOf, TranslatedRunner, testValues } from '../helpers/openvino-translate';

let runner: TranslatedRunner;
beforeAll(() => {
  runner = new TranslatedRunner();
});
afterAll(() => runner.close());

// ---- small tensor helpers -------------------------------------------------

/** Every multi-index of `shape`, row-major. */
function indices(shape: readonly number[]): number[][] {
  const out: number[][] = [];
  const n = size(shape);
  const st = stridesOf(shape);
  for (let f = 0; f < n; f++) out.push(shape.map((d, i) => Math.floor(f / st[i]!) % d));
  return out;
}

const at = (values: readonly number[], shape: readonly number[], idx: readonly number[]): number => values[idx.reduce((a, x, i) => a + x * stridesOf(shape)[i]!, 0)]!;


const f32 = (xs: readonly number[]): number[] => xs.map(Math.fround);

/** One layer of `op` on Parameter `x` (and Const inputs), run through the translation. */
async function runOne(
  op: string,
  opset: string,
  xShape: number[],
  xs: number[],
  consts: { dtype: DType; shape: number[]; values: number[] }[],
  outShapes: number[][],
  attrs: Record<string, string>,
  outDTypes: DType[] = [],
): Promise<{ shape: number[]; values: number[]; dtype: string }[]> {
  const m = newOvModel('net');
  const g = m.graph;
  const x = ovParam(g, 'x', xShape);
  const inputs: Value[] = [x, ...consts.map((c, i) => ovConst(g, `c${i}`, c.dtype, c.shape, c.values))];
  const node = ovOp(g, op, opset, inputs, outShapes, attrs, 'layer');
  outDTypes.forEach((d, i) => {
    node.outputs[i]!.dtype = d;
  });
  g.outputs = [...node.outputs];
  const out = await runner.run(m, { x: { shape: xShape, values: xs } });
  return node.outputs.map((v) => out[v.name]!);
}

function refusal(build: (g: Graph) => void): string {
  const m = newOvModel('net');
  build(m.graph);
  try {
    openvinoToOnnx(m);
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}

// ---- convolution and pooling geometry, from the specs ----------------------

type PadMode = 'explicit' | 'valid' | 'same_upper' | 'same_lower';

/** Output size and pads_begin of one spatial axis (Convolution-1 / MaxPool-8 spec formulas). */
function geometry(H: number, k: number, s: number, d: number, mode: PadMode, pb: number, pe: number, rounding: 'floor' | 'ceil' | 'ceil_torch' = 'floor'): { out: number; begin: number } {
  const eff = (k - 1) * d + 1;
  if (mode === 'same_upper' || mode === 'same_lower') {
    const out = Math.ceil(H / s);
    const total = Math.max(0, (out - 1) * s + eff - H);
    return { out, begin: mode === 'same_upper' ? Math.floor(total / 2) : Math.ceil(total / 2) };
  }
  if (mode === 'valid') pb = pe = 0;
  const span = (H + pb + pe - eff) / s;
  const out = (rounding === 'floor' ? Math.floor(span) : Math.ceil(span)) + 1;
  // ceil_torch (the pooling spec of opset 14): a last window that would start in the end padding is dropped.
  return { out: rounding === 'ceil_torch' && (out - 1) * s >= H + pb ? out - 1 : out, begin: pb };
}

/** GroupConvolution-1 by its definition (Convolution-1 is G = 1); weights [G, Cout/G, Cin/G, k...]. */
function groupConvRef(xShape: number[], xs: number[], wShape: number[], ws: number[], strides: number[], dilations: number[], begin: number[], outSpatial: number[]): { shape: number[]; values: number[] } {
  const [G, coutG, cinG] = wShape as [number, number, number];
  const kernel = wShape.slice(3);
  const outShape = [xShape[0]!, G * coutG, ...outSpatial];
  const values = indices(outShape).map(([n, oc, ...o]) => {
    const g = Math.floor(oc! / coutG);
    let sum = 0;
    for (let ic = 0; ic < cinG; ic++) {
      for (const k of indices(kernel)) {
        const pos = o.map((oi, i) => oi * strides[i]! + k[i]! * dilations[i]! - begin[i]!);
        if (pos.some((p, i) => p < 0 || p >= xShape[2 + i]!)) continue;
        sum += at(xs, xShape, [n!, g * cinG + ic, ...pos]) * at(ws, wShape, [g, oc! % coutG, ic, ...k]);
      }
    }
    return sum;
  });
  return { shape: outShape, values };
}

/** MaxPool-8 / AvgPool-1 by their definition: values (and max's flattened indices) over the real input elements of each window. */
function poolRef(
  kind: 'max' | 'avg',
  xShape: number[],
  xs: number[],
  kernel: number[],
  strides: number[],
  dilations: number[],
  begin: number[],
  outSpatial: number[],
  excludePad = true,
): { shape: number[]; values: number[]; indices: number[] } {
  const outShape = [...xShape.slice(0, 2), ...outSpatial];
  const vals: number[] = [];
  const idxs: number[] = [];
  const st = stridesOf(xShape);
  for (const [n, c, ...o] of indices(outShape)) {
    let best = -Infinity;
    let bestAt = -1;
    let sum = 0;
    let count = 0;
    for (const k of indices(kernel)) {
      const pos = o.map((oi, i) => oi * strides[i]! + k[i]! * dilations[i]! - begin[i]!);
      if (pos.some((p, i) => p < 0 || p >= xShape[2 + i]!)) continue;
      const flat = [n!, c!, ...pos].reduce((a, x, i) => a + x * st[i]!, 0);
      const v = xs[flat]!;
      if (v > best) {
        best = v;
        bestAt = flat;
      }
      sum += v;
      count++;
    }
    vals.push(kind === 'max' ? best : sum / (excludePad ? count : size(kernel)));
    idxs.push(bestAt);
  }
  return { shape: outShape, values: vals, indices: idxs };
}

// ---- Convolution / GroupConvolution ----------------------------------------

describe('Convolution and GroupConvolution', () => {
  const cases: { name: string; x: number[]; w: number[]; strides: number[]; dilations: number[]; mode: PadMode; pb: number[]; pe: number[]; group?: boolean }[] = [
    { name: '2-D explicit pads, strides 2x1, dilations 1x2', x: [1, 2, 5, 6], w: [3, 2, 3, 2], strides: [2, 1], dilations: [1, 2], mode: 'explicit', pb: [1, 0], pe: [2, 1] },
    { name: '1-D same_upper, stride 2 (odd total padding at the end)', x: [2, 2, 7], w: [2, 2, 4], strides: [2], dilations: [1], mode: 'same_upper', pb: [9], pe: [9] },
    { name: '2-D same_lower, stride 2 (odd total padding at the beginning)', x: [1, 1, 5, 4], w: [2, 1, 2, 3], strides: [2, 2], dilations: [1, 1], mode: 'same_lower', pb: [0, 0], pe: [0, 0] },
    { name: '3-D valid (pads_begin/pads_end ignored), dilation 2', x: [1, 2, 4, 5, 3], w: [2, 2, 2, 2, 1], strides: [1, 2, 1], dilations: [2, 1, 1], mode: 'valid', pb: [1, 1, 1], pe: [1, 1, 1] },
    { name: 'same_upper with a stride larger than the kernel (no negative padding)', x: [1, 1, 6], w: [1, 1, 1], strides: [4], dilations: [1], mode: 'same_upper', pb: [0], pe: [0] },
  ];
  for (const c of cases) {
    it(`Convolution: ${c.name}`, async () => {
      const xs = f32(testValues(size(c.x), 11));
      const ws = f32(testValues(size(c.w), 12));
      const geo = c.x.slice(2).map((H, i) => geometry(H, c.w[2 + i]!, c.strides[i]!, c.dilations[i]!, c.mode, c.pb[i]!, c.pe[i]!));
      const want = groupConvRef(c.x, xs, [1, ...c.w], ws, c.strides, c.dilations, geo.map((g) => g.begin), geo.map((g) => g.out));
      const [out] = await runOne('Convolution', 'opset1', c.x, xs, [{ dtype: 'float32', shape: c.w, values: ws }], [want.shape], {
        strides: c.strides.join(','),
        dilations: c.dilations.join(','),
        pads_begin: c.pb.join(','),
        pads_end: c.pe.join(','),
        auto_pad: c.mode,
      });
      expect(out!.shape).toEqual(want.shape);
      expectClose(out!.values, want.values);
    });
  }

  it('Convolution: same_upper with weights whose port a rewrite left without dimensions (ONNX SAME_UPPER)', async () => {
    const m = newOvModel('net');
    const g = m.graph;
    const xShape = [1, 1, 5, 4];
    const wShape = [2, 1, 2, 3];
    const xs = f32(testValues(size(xShape), 13));
    const ws = f32(testValues(size(wShape), 14).map(Math.abs));
    const x = ovParam(g, 'x', xShape);
    const relu = ovOp(g, 'Relu', 'opset1', [ovConst(g, 'w', 'float32', wShape, ws)], [wShape], {}, 'relu');
    relu.outputs[0]!.shape = undefined;
    const geo = [5, 4].map((H, i) => geometry(H, wShape[2 + i]!, 2, 1, 'same_upper', 0, 0));
    const want = groupConvRef(xShape, xs, [1, ...wShape], ws, [2, 2], [1, 1], geo.map((q) => q.begin), geo.map((q) => q.out));
    g.outputs = [ovOp(g, 'Convolution', 'opset1', [x, relu.output(0)], [want.shape], { strides: '2,2', dilations: '1,1', pads_begin: '0,0', pads_end: '0,0', auto_pad: 'same_upper' }, 'conv').output(0)];
    const out = await runner.run(m, { x: { shape: xShape, values: xs } });
    expectClose(out.conv_out!.values, want.values);
  });

  it('GroupConvolution: weights [G, Cout/G, Cin/G, k...], 2 groups, same_lower, stride 2', async () => {
    const xShape = [1, 4, 5, 5];
    const wShape = [2, 3, 2, 2, 2];
    const xs = f32(testValues(size(xShape), 21));
    const ws = f32(testValues(size(wShape), 22));
    const geo = [5, 5].map((H) => geometry(H, 2, 2, 1, 'same_lower', 0, 0));
    const want = groupConvRef(xShape, xs, wShape, ws, [2, 2], [1, 1], geo.map((g) => g.begin), geo.map((g) => g.out));
    const [out] = await runOne('GroupConvolution', 'opset1', xShape, xs, [{ dtype: 'float32', shape: wShape, values: ws }], [want.shape], {
      strides: '2,2', dilations: '1,1', pads_begin: '0,0', pads_end: '0,0', auto_pad: 'same_lower',
    });
    expect(out!.shape).toEqual([1, 6, 3, 3]);
    expectClose(out!.values, want.values);
  });

  it('GroupConvolution: depthwise 1-D (G = C, one channel each), explicit pads, dilation 2', async () => {
    const xShape = [2, 3, 6];
    const wShape = [3, 1, 1, 3];
    const xs = f32(testValues(size(xShape), 23));
    const ws = f32(testValues(size(wShape), 24));
    const geo = geometry(6, 3, 1, 2, 'explicit', 2, 1);
    const want = groupConvRef(xShape, xs, wShape, ws, [1], [2], [geo.begin], [geo.out]);
    const [out] = await runOne('GroupConvolution', 'opset1', xShape, xs, [{ dtype: 'float32', shape: wShape, values: ws }], [want.shape], {
      strides: '1', dilations: '2', pads_begin: '2', pads_end: '1',
    });
    expect(out!.shape).toEqual([2, 3, 5]);
    expectClose(out!.values, want.values);
  });
});

// ---- MaxPool / AvgPool --------------------------------------------------------

describe('MaxPool', () => {
  const spec3x3 = [-1, 2, 3, 4, 5, -6, -7, 8, 9];
  const examples: { name: string; x: number[]; xs: number[]; attrs: Record<string, string>; out: number[]; values: number[]; indices: number[] }[] = [
    // The spec prints -6 (index 5) at [1, 3]; that window covers input rows 0-1 of column 2, [3, -6], whose maximum is 3 (index 2).
    { name: 'example 1 (explicit pads)', x: [1, 1, 3, 3], xs: spec3x3, attrs: { strides: '1,1', pads_begin: '1,1', pads_end: '1,1', kernel: '2,2', rounding_type: 'floor', auto_pad: 'explicit' }, out: [1, 1, 4, 4],
      values: [-1, 2, 3, 3, 4, 5, 5, 3, 4, 8, 9, 9, -7, 8, 9, 9], indices: [0, 1, 2, 2, 3, 4, 4, 2, 3, 7, 8, 8, 6, 7, 8, 8] },
    { name: 'example 2 (1-D valid)', x: [1, 1, 7], xs: [-1, 2, 3, 5, -7, 9, 1], attrs: { strides: '1', kernel: '3', rounding_type: 'floor', auto_pad: 'valid' }, out: [1, 1, 5],
      values: [3, 5, 5, 9, 9], indices: [2, 3, 3, 5, 5] },
    { name: 'example 3 (same_lower)', x: [1, 1, 3, 3], xs: spec3x3, attrs: { strides: '1,1', kernel: '2,2', rounding_type: 'floor', auto_pad: 'same_lower' }, out: [1, 1, 3, 3],
      values: [-1, 2, 3, 4, 5, 5, 4, 8, 9], indices: [0, 1, 2, 3, 4, 4, 3, 7, 8] },
    { name: 'example 4 (same_upper, two channels)', x: [1, 2, 3, 3], xs: [...spec3x3, 2, -1, 5, 6, -7, 1, 8, 2, -3], attrs: { strides: '1,1', kernel: '2,2', rounding_type: 'floor', auto_pad: 'same_upper' }, out: [1, 2, 3, 3],
      values: [5, 5, 3, 8, 9, 9, 8, 9, 9, 6, 5, 5, 8, 2, 1, 8, 2, -3], indices: [4, 4, 2, 7, 8, 8, 7, 8, 8, 12, 11, 11, 15, 16, 14, 15, 16, 17] },
    { name: 'example 5 (valid, ceil)', x: [1, 1, 3, 3], xs: spec3x3, attrs: { strides: '2,2', kernel: '2,2', rounding_type: 'ceil', auto_pad: 'valid' }, out: [1, 1, 2, 2],
      values: [5, 3, 8, 9], indices: [4, 2, 7, 8] },
    { name: 'example 6 (dilations 2, explicit pads)', x: [1, 1, 3, 3], xs: [1, 2, 3, 4, 5, 6, 7, 8, 9], attrs: { strides: '1,1', kernel: '2,2', dilations: '2,2', rounding_type: 'floor', auto_pad: 'explicit', pads_begin: '1,1', pads_end: '1,1' }, out: [1, 1, 3, 3],
      values: [5, 6, 5, 8, 9, 8, 5, 6, 5], indices: [4, 5, 4, 7, 8, 7, 4, 5, 4] },
    { name: 'example 7 (axis 2)', x: [1, 2, 3, 3], xs: Array.from({ length: 18 }, (_, i) => i + 1), attrs: { strides: '1,1', kernel: '2,2', dilations: '1,1', rounding_type: 'floor', auto_pad: 'explicit', pads_begin: '0,0', pads_end: '0,0', axis: '2' }, out: [1, 2, 2, 2],
      values: [5, 6, 8, 9, 14, 15, 17, 18], indices: [4, 5, 7, 8, 4, 5, 7, 8] },
  ];
  for (const e of examples) {
    it(`MaxPool-8, the spec's ${e.name}: values and indices`, async () => {
      const [values, idx] = await runOne('MaxPool', 'opset8', e.x, e.xs, [], [e.out, e.out], e.attrs, ['float32', 'int64']);
      expect(values!.shape).toEqual(e.out);
      expect(values!.values).toEqual(e.values);
      expect(idx!.dtype).toBe('int64');
      expect(idx!.values).toEqual(e.indices);
    });
  }

  it('MaxPool-8: index_element_type i32, axis 1 and -1 (indices counted from that axis on), random 2-D input, batch 2', async () => {
    const x = [2, 2, 4, 5];
    const xs = f32(testValues(size(x), 31));
    const want = poolRef('max', x, xs, [2, 3], [2, 1], [1, 1], [1, 1], [3, 5]);
    for (const [axis, bound] of [['1', 40], ['-1', 5]] as const) {
      const [values, idx] = await runOne('MaxPool', 'opset8', x, xs, [], [want.shape, want.shape], {
        strides: '2,1', kernel: '2,3', pads_begin: '1,1', pads_end: '1,1', axis, index_element_type: 'i32',
      }, ['float32', 'int32']);
      expect(values!.values).toEqual(want.values);
      expect(idx!.dtype).toBe('int32');
      expect(idx!.values).toEqual(want.indices.map((i) => i % bound));
    }
  });

  it('MaxPool-1: one output; rounding_type ceil with explicit pads clips the last window at the border', async () => {
    const x = [1, 2, 6, 6];
    const xs = f32(testValues(size(x), 32));
    const geo = [geometry(6, 2, 2, 1, 'explicit', 1, 0, 'ceil'), geometry(6, 3, 2, 1, 'explicit', 0, 0, 'ceil')];
    expect(geo.map((g) => g.out)).toEqual([4, 3]);
    const want = poolRef('max', x, xs, [2, 3], [2, 2], [1, 1], geo.map((g) => g.begin), geo.map((g) => g.out));
    const [out] = await runOne('MaxPool', 'opset1', x, xs, [], [want.shape], { strides: '2,2', kernel: '2,3', pads_begin: '1,0', pads_end: '0,0', rounding_type: 'ceil' });
    expect(out!.shape).toEqual(want.shape);
    expect(out!.values).toEqual(want.values);
  });

  it('MaxPool-8: 3-D pooling with dilations and same_upper', async () => {
    const x = [1, 1, 4, 3, 5];
    const xs = f32(testValues(size(x), 33));
    const geo = [4, 3, 5].map((H, i) => geometry(H, 2, [1, 2, 2][i]!, [2, 1, 2][i]!, 'same_upper', 0, 0));
    const want = poolRef('max', x, xs, [2, 2, 2], [1, 2, 2], [2, 1, 2], geo.map((g) => g.begin), geo.map((g) => g.out));
    const [out] = await runOne('MaxPool', 'opset8', x, xs, [], [want.shape, want.shape], { strides: '1,2,2', kernel: '2,2,2', dilations: '2,1,2', auto_pad: 'same_upper' }, ['float32', 'int64']);
    expect(out!.shape).toEqual(want.shape);
    expect(out!.values).toEqual(want.values);
  });

  it('refuses a window that covers padding only, an unknown rounding_type, another opset and a declared shape the spec does not give', () => {
    const build = (opset: string, attrs: Record<string, string>, out = [1, 1, 3]) => (g: Graph) => {
      const x = ovParam(g, 'x', [1, 1, 4]);
      const pool = ovOp(g, 'MaxPool', opset, [x], opset === 'opset1' ? [out] : [out, out], attrs, 'pool');
      g.outputs = [...pool.outputs];
    };
    expect(refusal(build('opset1', { kernel: '1', strides: '2', pads_begin: '0', pads_end: '1', rounding_type: 'ceil' }))).toBe(
      "cannot translate OpenVINO layer 'pool' (MaxPool, opset1) to ONNX: pooling window 2 of spatial axis 0 covers padding only",
    );
    expect(refusal(build('opset14', { kernel: '2', strides: '2', rounding_type: 'round' }))).toBe(
      "cannot translate OpenVINO layer 'pool' (MaxPool, opset14) to ONNX: rounding_type=\"round\" is not translated (floor, ceil and ceil_torch are)",
    );
    expect(refusal(build('opset99', { kernel: '2' }))).toBe(
      "cannot translate OpenVINO layer 'pool' (MaxPool, opset99) to ONNX: MaxPool of opset99 is not translated (opset1, opset8 and opset14 are)",
    );
    expect(refusal(build('opset1', { kernel: '2', strides: '1' }, [1, 1, 4]))).toBe(
      "cannot translate OpenVINO layer 'pool' (MaxPool, opset1) to ONNX: the declared output dimension 2 is 4, the spec gives 3",
    );
    expect(refusal(build('opset8', { kernel: '2', index_element_type: 'u8' }))).toBe(
      "cannot translate OpenVINO layer 'pool' (MaxPool, opset8) to ONNX: index_element_type=\"u8\" is not translated (i64 and i32 are)",
    );
  });
});

describe('rounding_type ceil_torch (MaxPool-14, AvgPool-14, as PyTorch ceil_mode)', () => {
  // Height 5 (kernel 3, stride 2, pads 1/1): ceil keeps a third window that starts inside the input.
  // Width 4 (kernel 2, stride 2, pads 0/1): ceil would add a third window starting at 4, in the end
  // padding; ceil_torch drops it (ceil refuses it: that window covers padding only).
  const x = [1, 2, 5, 4];
  const kernel = [3, 2];
  const strides = [2, 2];
  const geo = [geometry(5, 3, 2, 1, 'explicit', 1, 1, 'ceil_torch'), geometry(4, 2, 2, 1, 'explicit', 0, 1, 'ceil_torch')];
  const attrs = { kernel: '3,2', strides: '2,2', pads_begin: '1,0', pads_end: '1,1', rounding_type: 'ceil_torch' };

  it('the spec geometry: 3 x 2 windows (ceil would make 3 x 3)', () => {
    expect(geo.map((g) => g.out)).toEqual([3, 2]);
    expect(geometry(4, 2, 2, 1, 'explicit', 0, 1, 'ceil').out).toBe(3);
  });

  it('MaxPool-14: values and indices', async () => {
    const xs = f32(testValues(size(x), 34));
    const want = poolRef('max', x, xs, kernel, strides, [1, 1], geo.map((g) => g.begin), geo.map((g) => g.out));
    const [values, idx] = await runOne('MaxPool', 'opset14', x, xs, [], [want.shape, want.shape], attrs, ['float32', 'int64']);
    expect(values!.shape).toEqual([1, 2, 3, 2]);
    expect(values!.values).toEqual(want.values);
    expect(idx!.values).toEqual(want.indices);
  });

  it('AvgPool-14, exclude-pad true: each window averages its real elements', async () => {
    const xs = f32(testValues(size(x), 35));
    const want = poolRef('avg', x, xs, kernel, strides, [1, 1], geo.map((g) => g.begin), geo.map((g) => g.out), true);
    const [out] = await runOne('AvgPool', 'opset14', x, xs, [], [want.shape], { ...attrs, 'exclude-pad': 'true' });
    expect(out!.shape).toEqual([1, 2, 3, 2]);
    expectClose(out!.values, want.values);
  });
});

/** AdaptiveAvgPool-8 / AdaptiveMaxPool-8 by the spec: bin i of n over L is [floor(i L / n), ceil((i + 1) L / n)). */
function adaptiveRef(kind: 'avg' | 'max', xShape: number[], xs: number[], out: number[]): { shape: number[]; values: number[] } {
  const outShape = [...xShape.slice(0, 2), ...out];
  const values = indices(outShape).map(([n, c, ...o]) => {
    const starts = o.map((i, a) => Math.floor((i * xShape[2 + a]!) / out[a]!));
    const ends = o.map((i, a) => Math.ceil(((i + 1) * xShape[2 + a]!) / out[a]!));
    const cells = indices(ends.map((e, a) => e - starts[a]!)).map((k) => at(xs, xShape, [n!, c!, ...k.map((v, a) => v + starts[a]!)]));
    return kind === 'max' ? Math.max(...cells) : cells.reduce((a, b) => a + b, 0) / cells.length;
  });
  return { shape: outShape, values };
}

describe('AdaptiveAvgPool-8 and AdaptiveMaxPool-8', () => {
  const cases: { name: string; x: number[]; out: number[] }[] = [
    { name: '2-D, bins that overlap (7 -> 3) and one axis kept (5 -> 5)', x: [2, 3, 7, 5], out: [3, 5] },
    { name: '2-D to 1 x 1 (the global pool of torchvision classifiers)', x: [1, 4, 6, 6], out: [1, 1] },
    { name: '1-D, 10 -> 4', x: [1, 2, 10], out: [4] },
    { name: '3-D, 4 x 5 x 3 -> 2 x 3 x 1', x: [1, 1, 4, 5, 3], out: [2, 3, 1] },
  ];
  for (const c of cases) {
    it(`AdaptiveAvgPool: ${c.name}`, async () => {
      const xs = f32(testValues(size(c.x), 51));
      const want = adaptiveRef('avg', c.x, xs, c.out);
      const [got] = await runOne('AdaptiveAvgPool', 'opset8', c.x, xs, [{ dtype: 'int64', shape: [c.out.length], values: c.out }], [want.shape], {});
      expect(got!.shape).toEqual(want.shape);
      expectClose(got!.values, want.values);
    });
    it(`AdaptiveMaxPool (values; the indices unread): ${c.name}`, async () => {
      const xs = f32(testValues(size(c.x), 52));
      const want = adaptiveRef('max', c.x, xs, c.out);
      const m = newOvModel('net');
      const g = m.graph;
      const input = ovParam(g, 'x', c.x);
      const sizes = ovConst(g, 'sizes', 'int32', [c.out.length], c.out);
      const pool = ovOp(g, 'AdaptiveMaxPool', 'opset8', [input, sizes], [want.shape, want.shape], { index_element_type: 'i64' }, 'pool');
      pool.outputs[1]!.dtype = 'int64';
      g.outputs = [pool.output(0)];
      const got = (await runner.run(m, { x: { shape: c.x, values: xs } }))[pool.output(0).name]!;
      expect(got.shape).toEqual(want.shape);
      expect(got.values).toEqual(want.values);
    });
  }

  it('refuses an AdaptiveMaxPool whose indices are read, and output sizes that do not fit the input', () => {
    expect(refusal((g) => {
      const x = ovParam(g, 'x', [1, 1, 4, 4]);
      const pool = ovOp(g, 'AdaptiveMaxPool', 'opset8', [x, ovConst(g, 's', 'int64', [2], [2, 2])], [[1, 1, 2, 2], [1, 1, 2, 2]], {}, 'pool');
      g.outputs = [...pool.outputs];
    })).toBe("cannot translate OpenVINO layer 'pool' (AdaptiveMaxPool, opset8) to ONNX: its indices output is read, and only the values are translated");
    expect(refusal((g) => {
      const x = ovParam(g, 'x', [1, 1, 4, 4]);
      g.outputs = [ovOp(g, 'AdaptiveAvgPool', 'opset8', [x, ovConst(g, 's', 'int64', [1], [2])], [[1, 1, 2]], {}, 'pool').output(0)];
    })).toBe("cannot translate OpenVINO layer 'pool' (AdaptiveAvgPool, opset8) to ONNX: output_shape has 1 values for 2 spatial axes");
  });
});

describe('AvgPool', () => {
  const cases: { name: string; x: number[]; kernel: number[]; strides: number[]; mode: PadMode; pb: number[]; pe: number[]; rounding: 'floor' | 'ceil'; excludePad: boolean }[] = [
    { name: 'explicit pads, exclude-pad true', x: [1, 2, 5, 5], kernel: [3, 2], strides: [2, 2], mode: 'explicit', pb: [1, 1], pe: [1, 0], rounding: 'floor', excludePad: true },
    { name: 'explicit pads, exclude-pad false (padding counted)', x: [1, 2, 5, 5], kernel: [3, 2], strides: [2, 2], mode: 'explicit', pb: [1, 1], pe: [1, 0], rounding: 'floor', excludePad: false },
    { name: 'ceil rounding, exclude-pad true (the clipped window averages its real elements)', x: [2, 1, 6], kernel: [3], strides: [2], mode: 'explicit', pb: [0], pe: [0], rounding: 'ceil', excludePad: true },
    { name: 'same_upper, exclude-pad false', x: [1, 1, 5, 4], kernel: [2, 3], strides: [2, 1], mode: 'same_upper', pb: [0, 0], pe: [0, 0], rounding: 'floor', excludePad: false },
    { name: 'same_lower, exclude-pad true', x: [1, 1, 5, 4], kernel: [2, 3], strides: [2, 1], mode: 'same_lower', pb: [0, 0], pe: [0, 0], rounding: 'floor', excludePad: true },
    { name: '3-D valid', x: [1, 1, 3, 4, 5], kernel: [2, 2, 3], strides: [1, 2, 2], mode: 'valid', pb: [1, 1, 1], pe: [1, 1, 1], rounding: 'floor', excludePad: false },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const xs = f32(testValues(size(c.x), 41));
      const geo = c.x.slice(2).map((H, i) => geometry(H, c.kernel[i]!, c.strides[i]!, 1, c.mode, c.pb[i]!, c.pe[i]!, c.rounding));
      const want = poolRef('avg', c.x, xs, c.kernel, c.strides, c.kernel.map(() => 1), geo.map((g) => g.begin), geo.map((g) => g.out), c.excludePad);
      const [out] = await runOne('AvgPool', 'opset1', c.x, xs, [], [want.shape], {
        kernel: c.kernel.join(','), strides: c.strides.join(','), pads_begin: c.pb.join(','), pads_end: c.pe.join(','),
        auto_pad: c.mode, rounding_type: c.rounding, 'exclude-pad': String(c.excludePad),
      });
      expect(out!.shape).toEqual(want.shape);
      expectClose(out!.values, want.values);
    });
  }

  it('refuses exclude-pad false when ceil rounding clips a window', () => {
    expect(refusal((g) => {
      const x = ovParam(g, 'x', [1, 1, 6]);
      g.outputs = [ovOp(g, 'AvgPool', 'opset1', [x], [[1, 1, 3]], { kernel: '3', strides: '2', rounding_type: 'ceil', 'exclude-pad': 'false' }, 'pool').output(0)];
    })).toBe("cannot translate OpenVINO layer 'pool' (AvgPool, opset1) to ONNX: exclude-pad=\"false\" with windows that rounding_type=\"ceil\" clips is not translated");
  });
});

// ---- MatMul -------------------------------------------------------------------

/** MatMul-1 by its definition: transposes swap the last two axes of rank >= 2 operands; rank 1 is [1, K] (A) or [K, 1] (B), removed after; batch dims broadcast. */
function matmulRef(aShape: number[], a: number[], bShape: number[], b: number[], ta: boolean, tb: boolean): { shape: number[]; values: number[] } {
  const transpose = (shape: number[], v: number[]): [number[], number[]] => {
    const r = shape.length;
    const ts = [...shape.slice(0, r - 2), shape[r - 1]!, shape[r - 2]!];
    return [ts, indices(ts).map((i) => at(v, shape, [...i.slice(0, r - 2), i[r - 1]!, i[r - 2]!]))];
  };
  let [as, av, bs, bv] = [aShape, a, bShape, b];
  if (ta && as.length >= 2) [as, av] = transpose(as, av);
  if (tb && bs.length >= 2) [bs, bv] = transpose(bs, bv);
  const a1 = as.length === 1;
  const b1 = bs.length === 1;
  if (a1) as = [1, as[0]!];
  if (b1) bs = [bs[0]!, 1];
  const batchRank = Math.max(as.length, bs.length) - 2;
  const pad = (s: number[]): number[] => [...new Array<number>(batchRank - (s.length - 2)).fill(1), ...s];
  const [pa, pb] = [pad(as), pad(bs)];
  const batch = pa.slice(0, batchRank).map((d, i) => Math.max(d, pb[i]!));
  const [M, K, N] = [pa[batchRank]!, pa[batchRank + 1]!, pb[batchRank + 1]!];
  const shape = [...batch, M, N];
  const values = indices(shape).map((i) => {
    const bi = i.slice(0, batchRank);
    let sum = 0;
    for (let k = 0; k < K; k++) {
      sum += at(av, pa, [...bi.map((x, j) => (pa[j] === 1 ? 0 : x)), i[batchRank]!, k]) * at(bv, pb, [...bi.map((x, j) => (pb[j] === 1 ? 0 : x)), k, i[batchRank + 1]!]);
    }
    return sum;
  });
  const out = shape.filter((_, j) => !((a1 && j === batchRank) || (b1 && j === batchRank + 1)));
  return { shape: out, values };
}

describe('MatMul', () => {
  const cases: [string, number[], number[], boolean, boolean][] = [
    ['2-D x 2-D', [2, 3], [3, 4], false, false],
    ['transpose_a', [3, 2], [3, 4], true, false],
    ['transpose_b', [2, 3], [4, 3], false, true],
    ['both transposed, batched A [2, 3, 2] with a 2-D B broadcast', [2, 3, 2], [4, 3], true, true],
    ['batch broadcast [2, 1, 2, 3] x [3, 3, 2]', [2, 1, 2, 3], [3, 3, 2], false, false],
    ['rank-1 A (transpose_a ignored)', [3], [2, 3, 4], true, false],
    ['rank-1 B (transpose_b ignored)', [2, 4, 3], [3], false, true],
    ['rank-1 x rank-1', [4], [4], false, false],
  ];
  for (const [name, aShape, bShape, ta, tb] of cases) {
    it(name, async () => {
      const a = f32(testValues(size(aShape), 51));
      const b = f32(testValues(size(bShape), 52));
      const want = matmulRef(aShape, a, bShape, b, ta, tb);
      const [out] = await runOne('MatMul', 'opset1', aShape, a, [{ dtype: 'float32', shape: bShape, values: b }], [want.shape], { transpose_a: String(ta), transpose_b: String(tb) });
      expect(out!.shape).toEqual(want.shape);
      expectClose(out!.values, want.values);
    });
  }
});

// ---- BatchNormInference, Softmax, LogSoftmax -----------------------------------

describe('BatchNormInference', () => {
  const xShape = [2, 3, 2, 2];
  const xs = f32(testValues(size(xShape), 61));
  const [gamma, beta, mean] = [f32([0.5, -1, 2]), f32([0.1, 0, -0.3]), f32([0.2, -0.1, 0])];
  const variance = f32([0.25, 1, 4]);
  const want = indices(xShape).map(([, c], i) => gamma[c!]! * ((xs[i]! - mean[c!]!) / Math.sqrt(variance[c!]! + Math.fround(1e-3))) + beta[c!]!);
  const c3 = (values: number[]) => ({ dtype: 'float32' as DType, shape: [3], values });

  it('opset5: inputs data, gamma, beta, mean, variance', async () => {
    const [out] = await runOne('BatchNormInference', 'opset5', xShape, xs, [c3(gamma), c3(beta), c3(mean), c3(variance)], [xShape], { epsilon: '0.001' });
    expectClose(out!.values, want);
  });

  it('opset1: inputs gamma, beta, data, mean, variance', async () => {
    const m = newOvModel('net');
    const g = m.graph;
    const x = ovParam(g, 'x', xShape);
    const ins = [ovConst(g, 'gamma', 'float32', [3], gamma), ovConst(g, 'beta', 'float32', [3], beta), x, ovConst(g, 'mean', 'float32', [3], mean), ovConst(g, 'var', 'float32', [3], variance)];
    g.outputs = [ovOp(g, 'BatchNormInference', 'opset1', ins, [xShape], { epsilon: '0.001' }, 'bn').output(0)];
    const out = await runner.run(m, { x: { shape: xShape, values: xs } });
    expectClose(out.bn_out!.values, want);
  });

  it('refuses an opset1 layer whose data is not input 2', () => {
    expect(refusal((g) => {
      const x = ovParam(g, 'x', xShape);
      const ins = [x, ...['g', 'b', 'm', 'v'].map((n) => ovConst(g, n, 'float32', [3], [1, 1, 1]))];
      g.outputs = [ovOp(g, 'BatchNormInference', 'opset1', ins, [xShape], { epsilon: '0.001' }, 'bn').output(0)];
    })).toBe("cannot translate OpenVINO layer 'bn' (BatchNormInference, opset1) to ONNX: opset1 inputs must be gamma, beta, data, mean, variance (1-D, 1-D, rank >= 2, 1-D, 1-D)");
  });
});

/** Softmax (or log-softmax) along `axis` by its definition. */
function softmaxRef(shape: number[], xs: number[], axis: number, log: boolean): number[] {
  const st = stridesOf(shape);
  return indices(shape).map((i, flat) => {
    const base = flat - i[axis]! * st[axis]!;
    const row = Array.from({ length: shape[axis]! }, (_, j) => xs[base + j * st[axis]!]!);
    const max = Math.max(...row);
    const denom = row.reduce((a, v) => a + Math.exp(v - max), 0);
    return log ? xs[flat]! - max - Math.log(denom) : Math.exp(xs[flat]! - max) / denom;
  });
}

describe('Softmax and LogSoftmax', () => {
  const shape = [2, 3, 4];
  const xs = f32(testValues(size(shape), 71, -3, 3));
  it('Softmax-1: default axis 1', async () => {
    const [out] = await runOne('Softmax', 'opset1', shape, xs, [], [shape], {});
    expectClose(out!.values, softmaxRef(shape, xs, 1, false));
  });
  it('Softmax-8: axis -1 and axis 0', async () => {
    const [last] = await runOne('Softmax', 'opset8', shape, xs, [], [shape], { axis: '-1' });
    expectClose(last!.values, softmaxRef(shape, xs, 2, false));
    const [first] = await runOne('Softmax', 'opset8', shape, xs, [], [shape], { axis: '0' });
    expectClose(first!.values, softmaxRef(shape, xs, 0, false));
  });
  it('LogSoftmax-5: axis -2', async () => {
    const [out] = await runOne('LogSoftmax', 'opset5', shape, xs, [], [shape], { axis: '-2' });
    expectClose(out!.values, softmaxRef(shape, xs, 1, true));
  });
  it('refuses a negative axis on Softmax-1', () => {
    expect(refusal((g) => {
      const x = ovParam(g, 'x', shape);
      g.outputs = [ovOp(g, 'Softmax', 'opset1', [x], [shape], { axis: '-1' }, 'sm').output(0)];
    })).toBe("cannot translate OpenVINO layer 'sm' (Softmax, opset1) to ONNX: axis -1: Softmax-1 takes no negative axis");
  });
});

// ---- Reduce*, MVN, NormalizeL2 -------------------------------------------------

/** Reduces `xs` over `axes` (normalized) with `f` applied to each group, keeping reduced dims as 1. */
function reduceRef(shape: number[], xs: number[], axes: number[], f: (group: number[]) => number): { kept: number[]; values: number[] } {
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const groups = new Map<number, number[]>();
  const kst = stridesOf(kept);
  indices(shape).forEach((i, flat) => {
    const key = i.reduce((a, x, j) => a + (axes.includes(j) ? 0 : x) * kst[j]!, 0);
    const list = groups.get(key);
    if (list) list.push(xs[flat]!);
    else groups.set(key, [xs[flat]!]);
  });
  return { kept, values: Array.from({ length: size(kept) }, (_, k) => f(groups.get(k)!)) };
}

describe('Reduce*', () => {
  const shape = [2, 3, 4];
  const xs = f32(testValues(size(shape), 81, -2, 2));
  const ops: [string, (g: number[]) => number][] = [
    ['ReduceMean', (g) => g.reduce((a, b) => a + b, 0) / g.length],
    ['ReduceSum', (g) => g.reduce((a, b) => a + b, 0)],
    ['ReduceMax', (g) => Math.max(...g)],
    ['ReduceMin', (g) => Math.min(...g)],
    ['ReduceProd', (g) => g.reduce((a, b) => a * b, 1)],
    ['ReduceL1', (g) => g.reduce((a, b) => a + Math.abs(b), 0)],
    ['ReduceL2', (g) => Math.sqrt(g.reduce((a, b) => a + b * b, 0))],
  ];
  for (const [op, f] of ops) {
    it(`${op}: axes [2, 0] without keep_dims, [-2] with keep_dims, [] (the identity)`, async () => {
      const opset = op === 'ReduceL1' || op === 'ReduceL2' ? 'opset4' : 'opset1';
      const a = reduceRef(shape, xs, [0, 2], f);
      const [dropped] = await runOne(op, opset, shape, xs, [{ dtype: 'int64', shape: [2], values: [2, 0] }], [[3]], { keep_dims: 'false' });
      expect(dropped!.shape).toEqual([3]);
      expectClose(dropped!.values, a.values);
      const b = reduceRef(shape, xs, [1], f);
      const [kept] = await runOne(op, opset, shape, xs, [{ dtype: 'int32', shape: [1], values: [-2] }], [b.kept], { keep_dims: 'true' });
      expect(kept!.shape).toEqual([2, 1, 4]);
      expectClose(kept!.values, b.values);
      const [same] = await runOne(op, opset, shape, xs, [{ dtype: 'int64', shape: [0], values: [] }], [shape], { keep_dims: 'false' });
      expect(same!.shape).toEqual(shape);
      expect(same!.values).toEqual(xs);
    });
  }
});

/** MVN by the MVN-6 spec: subtract the mean over axes; divide by sqrt(var + eps) or sqrt(var) + eps. */
function mvnRef(shape: number[], xs: number[], axes: number[], normalizeVariance: boolean, eps: number, inside: boolean): number[] {
  const mean = reduceRef(shape, xs, axes, (g) => g.reduce((a, b) => a + b, 0) / g.length);
  const variance = reduceRef(shape, xs, axes, (g) => {
    const m = g.reduce((a, b) => a + b, 0) / g.length;
    return g.reduce((a, b) => a + (b - m) ** 2, 0) / g.length;
  });
  return indices(shape).map((i, flat) => {
    const k = i.map((x, j) => (axes.includes(j) ? 0 : x));
    const d = xs[flat]! - at(mean.values, mean.kept, k);
    if (!normalizeVariance) return d;
    const v = at(variance.values, variance.kept, k);
    return d / (inside ? Math.sqrt(v + eps) : Math.sqrt(v) + eps);
  });
}

describe('MVN', () => {
  const shape = [2, 3, 2, 2];
  const xs = f32(testValues(size(shape), 91, -2, 2));
  it('MVN-6: axes [2, 3], eps inside_sqrt', async () => {
    const [out] = await runOne('MVN', 'opset6', shape, xs, [{ dtype: 'int64', shape: [2], values: [2, 3] }], [shape], { normalize_variance: 'true', eps: '0.01', eps_mode: 'inside_sqrt' });
    expectClose(out!.values, mvnRef(shape, xs, [2, 3], true, Math.fround(0.01), true), 1e-4);
  });
  it('MVN-6: axes [1, -1], eps outside_sqrt', async () => {
    const [out] = await runOne('MVN', 'opset6', shape, xs, [{ dtype: 'int32', shape: [2], values: [1, -1] }], [shape], { normalize_variance: 'true', eps: '0.01', eps_mode: 'outside_sqrt' });
    expectClose(out!.values, mvnRef(shape, xs, [1, 3], true, Math.fround(0.01), false), 1e-4);
  });
  it('MVN-6: normalize_variance false (mean subtraction only)', async () => {
    const [out] = await runOne('MVN', 'opset6', shape, xs, [{ dtype: 'int64', shape: [1], values: [0] }], [shape], { normalize_variance: 'false', eps: '0.01', eps_mode: 'inside_sqrt' });
    expectClose(out!.values, mvnRef(shape, xs, [0], false, 0, true));
  });
  it('MVN-1 (opset2), normalize_variance false: across_channels false and true, reduction_axes', async () => {
    const [spatial] = await runOne('MVN', 'opset2', shape, xs, [], [shape], { across_channels: 'false', normalize_variance: 'false', eps: '1e-9' });
    expectClose(spatial!.values, mvnRef(shape, xs, [2, 3], false, 0, true));
    const [across] = await runOne('MVN', 'opset2', shape, xs, [], [shape], { across_channels: 'true', normalize_variance: 'false', eps: '1e-9' });
    expectClose(across!.values, mvnRef(shape, xs, [1, 2, 3], false, 0, true));
    const [listed] = await runOne('MVN', 'opset2', shape, xs, [], [shape], { reduction_axes: '0,-1', normalize_variance: 'false', eps: '1e-9' });
    expectClose(listed!.values, mvnRef(shape, xs, [0, 3], false, 0, true));
  });
  it('refuses MVN-1 with normalize_variance true', () => {
    expect(refusal((g) => {
      const x = ovParam(g, 'x', shape);
      g.outputs = [ovOp(g, 'MVN', 'opset2', [x], [shape], { across_channels: 'true', normalize_variance: 'true', eps: '1e-9' }, 'mvn').output(0)];
    })).toBe("cannot translate OpenVINO layer 'mvn' (MVN, opset2) to ONNX: MVN-1 with normalize_variance=\"true\" is not translated (its spec and OpenVINO disagree on where eps goes)");
  });
});

describe('NormalizeL2', () => {
  const shape = [2, 3, 2];
  const xs = f32(testValues(size(shape), 101, -2, 2));
  const ref = (axes: number[], eps: number, mode: 'add' | 'max'): number[] => {
    const sums = reduceRef(shape, xs, axes, (g) => g.reduce((a, b) => a + b * b, 0));
    return indices(shape).map((i, flat) => {
      const s = at(sums.values, sums.kept, i.map((x, j) => (axes.includes(j) ? 0 : x)));
      return xs[flat]! / Math.sqrt(mode === 'add' ? s + eps : Math.max(s, eps));
    });
  };
  it('axes [1], eps_mode add', async () => {
    const [out] = await runOne('NormalizeL2', 'opset1', shape, xs, [{ dtype: 'int64', shape: [1], values: [1] }], [shape], { eps: '0.5', eps_mode: 'add' });
    expectClose(out!.values, ref([1], 0.5, 'add'));
  });
  it('axes [-1, 0], eps_mode max (a large eps wins for small sums)', async () => {
    const [out] = await runOne('NormalizeL2', 'opset1', shape, xs, [{ dtype: 'int32', shape: [2], values: [-1, 0] }], [shape], { eps: '3', eps_mode: 'max' });
    const want = ref([2, 0], 3, 'max');
    expectClose(out!.values, want);
  });
  it('empty axes: each element divided by its own magnitude', async () => {
    const [out] = await runOne('NormalizeL2', 'opset1', shape, xs, [{ dtype: 'int64', shape: [0], values: [] }], [shape], { eps: '1e-12', eps_mode: 'add' });
    expectClose(out!.values, ref([], 1e-12, 'add'));
  });
});

// ---- ConvolutionBackpropData / GroupConvolutionBackpropData -------------------

/** GroupConvolutionBackpropData-1 by its definition (ConvolutionBackpropData is G = 1): each input element scatters x * w into output position x * stride + k * dilation - pads_begin. */
function backpropRef(xShape: number[], xs: number[], wShape: number[], ws: number[], strides: number[], dilations: number[], begin: number[], outSpatial: number[]): { shape: number[]; values: number[] } {
  const [G, cinG, coutG] = wShape as [number, number, number];
  const kernel = wShape.slice(3);
  const shape = [xShape[0]!, G * coutG, ...outSpatial];
  const out = new Array<number>(size(shape)).fill(0);
  const st = stridesOf(shape);
  indices(xShape).forEach(([n, c, ...p], flat) => {
    const g = Math.floor(c! / cinG);
    for (let oc = 0; oc < coutG; oc++) {
      for (const k of indices(kernel)) {
        const pos = p.map((x, i) => x * strides[i]! + k[i]! * dilations[i]! - begin[i]!);
        if (pos.some((y, i) => y < 0 || y >= outSpatial[i]!)) continue;
        const o = [n!, g * coutG + oc, ...pos].reduce((a, x, i) => a + x * st[i]!, 0);
        out[o] = out[o]! + xs[flat]! * at(ws, wShape, [g, c! % cinG, oc, ...k]);
      }
    }
  });
  return { shape, values: out };
}

describe('ConvolutionBackpropData and GroupConvolutionBackpropData', () => {
  const natural = (X: number, k: number, s: number, d: number, op: number): number => s * (X - 1) + (k - 1) * d + 1 + op;

  it('ConvolutionBackpropData 2-D: strides 2, explicit pads, output_padding, dilation', async () => {
    const xShape = [1, 2, 3, 3];
    const wShape = [2, 3, 3, 2];
    const xs = f32(testValues(size(xShape), 111));
    const ws = f32(testValues(size(wShape), 112));
    const out = [natural(3, 3, 2, 1, 1) - 1 - 0, natural(3, 2, 2, 2, 0) - 0 - 1];
    const want = backpropRef(xShape, xs, [1, ...wShape], ws, [2, 2], [1, 2], [1, 0], out);
    const [got] = await runOne('ConvolutionBackpropData', 'opset1', xShape, xs, [{ dtype: 'float32', shape: wShape, values: ws }], [want.shape], {
      strides: '2,2', dilations: '1,2', pads_begin: '1,0', pads_end: '0,1', output_padding: '1,0', auto_pad: 'explicit',
    });
    expect(got!.shape).toEqual([1, 3, 7, 6]);
    expectClose(got!.values, want.values);
  });

  it('ConvolutionBackpropData 1-D: auto_pad valid without output_shape pads nothing', async () => {
    const xShape = [2, 1, 4];
    const wShape = [1, 2, 3];
    const xs = f32(testValues(size(xShape), 113));
    const ws = f32(testValues(size(wShape), 114));
    const want = backpropRef(xShape, xs, [1, ...wShape], ws, [3], [1], [0], [natural(4, 3, 3, 1, 0)]);
    const [got] = await runOne('ConvolutionBackpropData', 'opset1', xShape, xs, [{ dtype: 'float32', shape: wShape, values: ws }], [want.shape], {
      strides: '3', dilations: '1', pads_begin: '1', pads_end: '1', auto_pad: 'valid',
    });
    expectClose(got!.values, want.values);
  });

  for (const [mode, beginOf] of [['same_upper', (p: number) => p - Math.floor(p / 2)], ['same_lower', (p: number) => Math.floor(p / 2)], ['explicit', (p: number) => Math.floor(p / 2)]] as const) {
    it(`ConvolutionBackpropData with an output_shape input, auto_pad ${mode} (odd total padding)`, async () => {
      const xShape = [1, 1, 3, 2];
      const wShape = [1, 2, 3, 3];
      const xs = f32(testValues(size(xShape), 115));
      const ws = f32(testValues(size(wShape), 116));
      const outSpatial = [6, 4];
      const total = [natural(3, 3, 2, 1, 0) - 6, natural(2, 3, 2, 1, 0) - 4];
      expect(total).toEqual([1, 1]);
      const want = backpropRef(xShape, xs, [1, ...wShape], ws, [2, 2], [1, 1], total.map(beginOf), outSpatial);
      const [got] = await runOne('ConvolutionBackpropData', 'opset1', xShape, xs, [
        { dtype: 'float32', shape: wShape, values: ws },
        { dtype: 'int64', shape: [2], values: outSpatial },
      ], [want.shape], { strides: '2,2', dilations: '1,1', pads_begin: '5,5', pads_end: '5,5', auto_pad: mode });
      expect(got!.shape).toEqual([1, 2, 6, 4]);
      expectClose(got!.values, want.values);
    });
  }

  it('GroupConvolutionBackpropData: weights [G, C_in/G, C_out/G, k...], 2 groups, strides 2, explicit pads', async () => {
    const xShape = [1, 4, 2, 3];
    const wShape = [2, 2, 3, 2, 2];
    const xs = f32(testValues(size(xShape), 117));
    const ws = f32(testValues(size(wShape), 118));
    const out = [natural(2, 2, 2, 1, 0) - 1, natural(3, 2, 2, 1, 0) - 1];
    const want = backpropRef(xShape, xs, wShape, ws, [2, 2], [1, 1], [1, 0], out);
    const [got] = await runOne('GroupConvolutionBackpropData', 'opset1', xShape, xs, [{ dtype: 'float32', shape: wShape, values: ws }], [want.shape], {
      strides: '2,2', dilations: '1,1', pads_begin: '1,0', pads_end: '0,1',
    });
    expect(got!.shape).toEqual([1, 6, 3, 5]);
    expectClose(got!.values, want.values);
  });

  it('refuses an output_shape larger than the unpadded output, and a declared shape the spec does not give', () => {
    const build = (consts: [number[], number[]][], outShape: number[]) => (g: Graph) => {
      const x = ovParam(g, 'x', [1, 1, 3]);
      const ins = [x, ...consts.map(([shape, values], i) => ovConst(g, `c${i}`, i === 0 ? 'float32' : 'int64', shape, values))];
      g.outputs = [ovOp(g, 'ConvolutionBackpropData', 'opset1', ins, [outShape], { strides: '1', dilations: '1', pads_begin: '0', pads_end: '0' }, 'deconv').output(0)];
    };
    expect(refusal(build([[[1, 1, 2], [1, 1]], [[1], [9]]], [1, 1, 9]))).toBe(
      "cannot translate OpenVINO layer 'deconv' (ConvolutionBackpropData, opset1) to ONNX: an output_shape larger than the unpadded output is not translated",
    );
    expect(refusal(build([[[1, 1, 2], [1, 1]]], [1, 1, 5]))).toBe(
      "cannot translate OpenVINO layer 'deconv' (ConvolutionBackpropData, opset1) to ONNX: the declared output dimension 2 is 5, the spec gives 4",
    );
  });
});

// ---- LRN, TopK, CumSum -----------------------------------------------------------

describe('LRN', () => {
  /** LRN-1 by the spec: sum of squares over [i - size/2, i + size/2] (integer division) on each axis, clipped. */
  function lrnRef(shape: number[], xs: number[], axes: number[], alpha: number, beta: number, bias: number, sz: number): number[] {
    const half = Math.floor(sz / 2);
    return indices(shape).map((i, flat) => {
      const region = axes.map((a) => [Math.max(0, i[a]! - half), Math.min(shape[a]!, i[a]! + half + 1)] as const);
      let sum = 0;
      for (const r of indices(region.map(([lo, hi]) => hi - lo))) {
        const j = [...i];
        axes.forEach((a, q) => {
          j[a] = region[q]![0] + r[q]!;
        });
        sum += at(xs, shape, j) ** 2;
      }
      return xs[flat]! / (bias + (alpha / sz ** axes.length) * sum) ** beta;
    });
  }
  const shape = [2, 5, 3, 3];
  const xs = f32(testValues(size(shape), 121, -2, 2));
  for (const [axes, sz] of [[[1], 3], [[1], 4], [[2, 3], 3], [[3, 2], 2]] as const) {
    it(`axes [${axes.join(', ')}], size ${sz}`, async () => {
      const [out] = await runOne('LRN', 'opset1', shape, xs, [{ dtype: 'int64', shape: [axes.length], values: [...axes] }], [shape], { alpha: '0.5', beta: '0.75', bias: '1.5', size: String(sz) });
      expectClose(out!.values, lrnRef(shape, xs, [...axes].sort(), 0.5, 0.75, 1.5, sz), 1e-5);
    });
  }
  it('refuses axes other than [1] or all the spatial ones', () => {
    expect(refusal((g) => {
      const x = ovParam(g, 'x', shape);
      g.outputs = [ovOp(g, 'LRN', 'opset1', [x, ovConst(g, 'axes', 'int64', [1], [2])], [shape], { alpha: '1', beta: '1', bias: '1', size: '3' }, 'lrn').output(0)];
    })).toBe("cannot translate OpenVINO layer 'lrn' (LRN, opset1) to ONNX: axes [2] are not translated ([1] and all the spatial axes are)");
  });
});

describe('TopK', () => {
  const shape = [2, 6];
  const xs = f32(testValues(size(shape), 131));
  /** TopK by the spec: the k largest (or smallest) along the last axis, ordered by value or by index. */
  const ref = (k: number, mode: 'max' | 'min', sort: 'value' | 'index'): { values: number[]; indices: number[] } => {
    const values: number[] = [];
    const idx: number[] = [];
    for (let r = 0; r < shape[0]!; r++) {
      const row = xs.slice(r * 6, r * 6 + 6).map((v, i) => ({ v, i }));
      row.sort((a, b) => (mode === 'max' ? b.v - a.v : a.v - b.v));
      const top = row.slice(0, k);
      if (sort === 'index') top.sort((a, b) => a.i - b.i);
      values.push(...top.map((e) => e.v));
      idx.push(...top.map((e) => e.i));
    }
    return { values, indices: idx };
  };
  for (const [opset, mode, sort, type] of [['opset1', 'max', 'value', undefined], ['opset3', 'min', 'index', 'i64'], ['opset11', 'max', 'index', 'i32'], ['opset11', 'min', 'value', 'i64']] as const) {
    it(`${opset}: mode ${mode}, sort ${sort}, index_element_type ${type ?? '(default i32)'}`, async () => {
      const attrs: Record<string, string> = { axis: '-1', mode, sort };
      if (type) attrs.index_element_type = type;
      const [values, idx] = await runOne('TopK', opset, shape, xs, [{ dtype: 'int64', shape: [], values: [3] }], [[2, 3], [2, 3]], attrs, ['float32', type === 'i64' ? 'int64' : 'int32']);
      const want = ref(3, mode, sort);
      expect(values!.values).toEqual(want.values);
      expect(idx!.dtype).toBe(type === 'i64' ? 'int64' : 'int32');
      expect(idx!.values).toEqual(want.indices);
    });
  }
  it('refuses sort none', () => {
    expect(refusal((g) => {
      const x = ovParam(g, 'x', shape);
      const topk = ovOp(g, 'TopK', 'opset3', [x, ovConst(g, 'k', 'int64', [], [2])], [[2, 2], [2, 2]], { axis: '1', mode: 'max', sort: 'none' }, 'topk');
      g.outputs = [topk.output(0)];
    })).toBe("cannot translate OpenVINO layer 'topk' (TopK, opset3) to ONNX: sort=\"none\" is not translated (value and index are; none leaves the order to the plugin)");
  });
});

describe('CumSum', () => {
  const shape = [2, 4];
  const xs = f32(testValues(size(shape), 141));
  /** CumSum-3 by the spec along axis 1: inclusive or exclusive, forward or reverse. */
  const ref = (exclusive: boolean, reverse: boolean): number[] =>
    indices(shape).map(([r, c]) => {
      let sum = 0;
      for (let j = 0; j < 4; j++) {
        const inRange = reverse ? (exclusive ? j > c! : j >= c!) : exclusive ? j < c! : j <= c!;
        if (inRange) sum += xs[r! * 4 + j]!;
      }
      return sum;
    });
  for (const [exclusive, reverse] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    it(`axis 1 (i32 input), exclusive ${exclusive}, reverse ${reverse}`, async () => {
      const [out] = await runOne('CumSum', 'opset3', shape, xs, [{ dtype: 'int32', shape: [], values: [1] }], [shape], { exclusive: String(exclusive), reverse: String(reverse) });
      expectClose(out!.values, ref(exclusive, reverse));
    });
  }
  it('no axis input: axis 0', async () => {
    const [out] = await runOne('CumSum', 'opset3', shape, xs, [], [shape], {});
    expectClose(out!.values, xs.map((v, i) => (i < 4 ? v : v + xs[i - 4]!)));
  });
});
