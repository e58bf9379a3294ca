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
import { TranslatedRunner, testValues } from '../helpers/openvino-translate';

let runner: TranslatedRunner;
beforeAll(() => {
  runner = new TranslatedRunner();
});
afterAll(() => runner.close());

// ---- small tensor helpers -------------------------------------------------

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** Every multi-index of `shape`, row-major. */
function indices(shape: readonly number[]): number[][] {
  const out: number[][] = [];
  const n = size(shape);
  const st = stridesOf(shape);
  for (let f = 0; f < n; f++) out.push(shape.map((d, i) => Math.floor(f / st[i]!) % d));
  return out;
}

const at = (values: readonly number[], shape: readonly number[], idx: readonly number[]): number => values[idx.reduce((a, x, i) => a + x * stridesOf(shape)[i]!, 0)]!;

function expectClose(actual: readonly number[], expected: readonly number[], tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    if (Math.abs(a - expected[i]!) > tol * Math.max(1, Math.abs(expected[i]!))) {
      throw new Error(`element ${i}: got ${a}, expected ${expected[i]} (got [${actual.join(', ')}], expected [${expected.join(', ')}])`);
    }
  });
}

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
function geometry(H: number, k: number, s: number, d: number, mode: PadMode, pb: number, pe: number, rounding: 'floor' | 'ceil' = 'floor'): { out: number; begin: number } {
  const eff = (k - 1) * d + 1;
  if (mode === 'same_upper' || mode === 'same_lower') {
    const out = Math.ceil(H / s);
    const total = Math.max(0, (out - 1) * s + eff - H);
    return { out, begin: mode === 'same_upper' ? Math.floor(total / 2) : Math.ceil(total / 2) };
  }
  if (mode === 'valid') pb = pe = 0;
  const span = (H + pb + pe - eff) / s;
  return { out: (rounding === 'ceil' ? Math.ceil(span) : Math.floor(span)) + 1, begin: pb };
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

  it('refuses a window that covers padding only, rounding_type ceil_torch, another opset and a declared shape the spec does not give', () => {
    const build = (opset: string, attrs: Record<string, string>, out = [1, 1, 3]) => (g: Graph) => {
      const x = ovParam(g, 'x', [1, 1, 4]);
      const pool = ovOp(g, 'MaxPool', opset, [x], opset === 'opset1' ? [out] : [out, out], attrs, 'pool');
      g.outputs = [...pool.outputs];
    };
    expect(refusal(build('opset1', { kernel: '1', strides: '2', pads_begin: '0', pads_end: '1', rounding_type: 'ceil' }))).toBe(
      "cannot translate OpenVINO layer 'pool' (MaxPool, opset1) to ONNX: pooling window 2 of spatial axis 0 covers padding only",
    );
    expect(refusal(build('opset14', { kernel: '2', strides: '2', rounding_type: 'ceil_torch' }))).toBe(
      "cannot translate OpenVINO layer 'pool' (MaxPool, opset14) to ONNX: rounding_type=\"ceil_torch\" is not translated (floor and ceil are)",
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
