/**
 * ExtractImagePatches-3 and Col2Im-15 translated to ONNX, run in onnxruntime
 * and compared with the patches gathered and the blocks summed here by the
 * specification's definitions: each auto_pad mode (with the odd padding on
 * either side), rates, non-square sizes and strides, batches, the unbatched
 * Col2Im, and blocks that overlap or fall in the padding.
 */
import type { DType } from '../../src/ir/dtype';
import { newOvModel, ovConst, ovOp, ovParam } from '../helpers/openvino-build';
import { TranslatedRunner, expectClose, testValues, translationFailure } from '../helpers/openvino-translate';

let runner: TranslatedRunner;
beforeAll(() => {
  runner = new TranslatedRunner();
});
afterAll(() => runner.close());

interface PatchAttrs {
  sizes: [number, number];
  strides: [number, number];
  rates: [number, number];
  autoPad: 'valid' | 'same_upper' | 'same_lower';
}

/**
 * The patches along one axis and the zeros before the first: `valid`, as
 * many as fit (OpenVINO's shape inference divides in C, truncating towards
 * zero); `same_*`, ceil(size / stride), the padding they need halved, the odd
 * zero at the end (same_upper) or the beginning (same_lower).
 */
function axisOf(size: number, patch: number, stride: number, rate: number, autoPad: PatchAttrs['autoPad']): { count: number; before: number } {
  const span = (patch - 1) * rate + 1;
  if (autoPad === 'valid') return { count: Math.max(0, Math.trunc((size - span) / stride) + 1), before: 0 };
  const count = Math.ceil(size / stride);
  const total = Math.max(0, (count - 1) * stride + span - size);
  return { count, before: autoPad === 'same_upper' ? Math.floor(total / 2) : Math.ceil(total / 2) };
}

/** ExtractImagePatches by the definition: output channel (i * sizes[1] + j) * C + c is point (i, j) of the patches of channel c; zeros outside the image. */
function extractRef(x: number[], [N, C, H, W]: number[], a: PatchAttrs): { shape: number[]; values: number[] } {
  const rows = axisOf(H!, a.sizes[0], a.strides[0], a.rates[0], a.autoPad);
  const cols = axisOf(W!, a.sizes[1], a.strides[1], a.rates[1], a.autoPad);
  const channels = a.sizes[0] * a.sizes[1] * C!;
  const values: number[] = [];
  for (let n = 0; n < N!; n++) {
    for (let oc = 0; oc < channels; oc++) {
      const c = oc % C!;
      const i = Math.floor(oc / C! / a.sizes[1]);
      const j = Math.floor(oc / C!) % a.sizes[1];
      for (let r = 0; r < rows.count; r++) {
        for (let q = 0; q < cols.count; q++) {
          const y = r * a.strides[0] - rows.before + i * a.rates[0];
          const z = q * a.strides[1] - cols.before + j * a.rates[1];
          values.push(y >= 0 && y < H! && z >= 0 && z < W! ? x[((n * C! + c) * H! + y) * W! + z]! : 0);
        }
      }
    }
  }
  return { shape: [N!, channels, rows.count, cols.count], values };
}

function extractModel(shape: (number | null)[], outShape: number[], attrs: Record<string, string>, dtype: DType = 'float32') {
  const m = newOvModel('net');
  const g = m.graph;
  const x = g.addValue('x', { dtype, shape });
  g.inputs.push(x);
  const node = ovOp(g, 'ExtractImagePatches', 'opset3', [x], [outShape], attrs, 'patches');
  g.outputs = [node.output(0)];
  return m;
}

const patchAttrs = (a: PatchAttrs): Record<string, string> => ({ sizes: a.sizes.join(','), strides: a.strides.join(','), rates: a.rates.join(','), auto_pad: a.autoPad });

test.each<[string, number[], PatchAttrs]>([
  ['valid, 3x3 patches 5 apart', [1, 1, 10, 10], { sizes: [3, 3], strides: [5, 5], rates: [1, 1], autoPad: 'valid' }],
  ['valid, non-square patches, strides and rates, a batch of 2 with 3 channels', [2, 3, 9, 11], { sizes: [2, 3], strides: [3, 2], rates: [2, 1], autoPad: 'valid' }],
  ['same_upper, odd padding (the extra zero at the end)', [1, 2, 10, 10], { sizes: [4, 4], strides: [9, 9], rates: [1, 1], autoPad: 'same_upper' }],
  ['same_lower, odd padding (the extra zero at the beginning)', [2, 2, 10, 10], { sizes: [4, 4], strides: [9, 9], rates: [1, 1], autoPad: 'same_lower' }],
  ['same_upper with rates and unequal axes', [1, 3, 7, 12], { sizes: [3, 2], strides: [2, 5], rates: [2, 3], autoPad: 'same_upper' }],
  ['same_lower where the strides need no padding', [1, 2, 6, 8], { sizes: [2, 2], strides: [2, 2], rates: [1, 1], autoPad: 'same_lower' }],
  ['valid, a patch longer than the image (one output, zeros past the edge)', [1, 2, 3, 8], { sizes: [2, 2], strides: [2, 3], rates: [3, 1], autoPad: 'valid' }],
])('ExtractImagePatches-3, %s', async (_name, shape, a) => {
  const x = testValues(shape.reduce((p, d) => p * d, 1), 91).map(Math.fround);
  const expected = extractRef(x, shape, a);
  const m = extractModel(shape, expected.shape, patchAttrs(a));
  const out = (await runner.run(m, { x: { shape, values: x } })).patches_out!;
  expect(out.shape).toEqual(expected.shape);
  expectClose(out.values, expected.values, 0);
});

test("ExtractImagePatches-3 gives the specification's example 5: channels innermost, then patch columns, then rows", async () => {
  // Two 5x5 maps holding 1..25 and 26..50, 2x2 patches 3 apart.
  const x = Array.from({ length: 50 }, (_, i) => i + 1);
  const m = extractModel([1, 2, 5, 5], [1, 8, 2, 2], { sizes: '2,2', strides: '3,3', rates: '1,1', auto_pad: 'valid' });
  const out = (await runner.run(m, { x: { shape: [1, 2, 5, 5], values: x } })).patches_out!;
  expect(out.values).toEqual([1, 4, 16, 19, 26, 29, 41, 44, 2, 5, 17, 20, 27, 30, 42, 45, 6, 9, 21, 24, 31, 34, 46, 49, 7, 10, 22, 25, 32, 35, 47, 50]);
});

test('ExtractImagePatches-3 of int32 data and of a dynamic batch', async () => {
  const a: PatchAttrs = { sizes: [2, 2], strides: [1, 2], rates: [1, 1], autoPad: 'same_upper' };
  const x = testValues(2 * 2 * 5 * 5, 92, -100, 100).map((v) => Math.round(v) | 0);
  const expected = extractRef(x, [2, 2, 5, 5], a);
  const ints = (await runner.run(extractModel([2, 2, 5, 5], expected.shape, patchAttrs(a), 'int32'), { x: { dtype: 'int32', shape: [2, 2, 5, 5], values: x } })).patches_out!;
  expect(ints.dtype).toBe('int32');
  expect(ints.values).toEqual(expected.values);
  const dynamic = (await runner.run(extractModel([null, 2, 5, 5], [-1, ...expected.shape.slice(1)], patchAttrs(a)), { x: { shape: [2, 2, 5, 5], values: x } })).patches_out!;
  expect(dynamic.shape).toEqual(expected.shape);
  expect(dynamic.values).toEqual(expected.values);
});

test('ExtractImagePatches-3 with an unknown auto_pad, dynamic image dimensions or no patches is refused by name', () => {
  const attrs = { sizes: '2,2', strides: '1,1', rates: '1,1', auto_pad: 'valid' };
  expect(translationFailure(extractModel([1, 1, 4, 4], [1, 4, 3, 3], { ...attrs, auto_pad: 'explicit' }))).toMatch(
    /'patches' \(ExtractImagePatches, opset3\).*auto_pad="explicit" is not translated \(valid, same_upper and same_lower are\)/,
  );
  expect(translationFailure(extractModel([1, 1, null, 4], [1, 4, -1, 3], attrs))).toMatch(/input 0 needs static spatial dimensions for this translation/);
  expect(translationFailure(extractModel([1, 1, 4, 4], [1, 4, 0, 0], { ...attrs, sizes: '3,3', rates: '3,3', strides: '2,2' }))).toMatch(
    /the output has 0 x 0 patches \(an empty tensor is not translated\)/,
  );
  expect(translationFailure(extractModel([1, 1, 4, 4], [1, 4, 3, 3], { strides: '1,1', rates: '1,1', auto_pad: 'valid' }))).toMatch(/attribute sizes is missing/);
});

interface BlockAttrs {
  outputSize: [number, number];
  kernel: [number, number];
  strides?: [number, number];
  dilations?: [number, number];
  padsBegin?: [number, number];
  padsEnd?: [number, number];
}

/** Blocks along one axis: (size + pads - dilated kernel) / stride + 1. */
function blocksAlong(a: BlockAttrs, axis: 0 | 1): number {
  const span = (a.dilations?.[axis] ?? 1) * (a.kernel[axis] - 1) + 1;
  return Math.floor((a.outputSize[axis] + (a.padsBegin?.[axis] ?? 0) + (a.padsEnd?.[axis] ?? 0) - span) / (a.strides?.[axis] ?? 1)) + 1;
}

/** Col2Im by the definition: column c * kh * kw + i * kw + j of block (r, q) adds to pixel (r * stride - pad + i * dilation, ...) of channel c when inside. */
function col2imRef(data: number[], batch: number, channels: number, a: BlockAttrs): number[] {
  const [H, W] = a.outputSize;
  const [kh, kw] = a.kernel;
  const [rows, cols] = [blocksAlong(a, 0), blocksAlong(a, 1)];
  const out = new Array<number>(batch * channels * H * W).fill(0);
  for (let n = 0; n < batch; n++) {
    for (let column = 0; column < channels * kh * kw; column++) {
      const c = Math.floor(column / (kh * kw));
      const i = Math.floor(column / kw) % kh;
      const j = column % kw;
      for (let r = 0; r < rows; r++) {
        for (let q = 0; q < cols; q++) {
          const y = r * (a.strides?.[0] ?? 1) - (a.padsBegin?.[0] ?? 0) + i * (a.dilations?.[0] ?? 1);
          const x = q * (a.strides?.[1] ?? 1) - (a.padsBegin?.[1] ?? 0) + j * (a.dilations?.[1] ?? 1);
          if (y < 0 || y >= H || x < 0 || x >= W) continue;
          out[((n * channels + c) * H + y) * W + x]! += data[((n * channels * kh * kw + column) * rows + r) * cols + q]!;
        }
      }
    }
  }
  return out;
}

function col2imModel(dataShape: number[], outShape: number[], a: BlockAttrs, indexType: DType = 'int64', dtype: DType = 'float32') {
  const m = newOvModel('net');
  const g = m.graph;
  const x = ovParam(g, 'x', dataShape, dtype);
  const attrs: Record<string, string> = {};
  if (a.strides) attrs.strides = a.strides.join(',');
  if (a.dilations) attrs.dilations = a.dilations.join(',');
  if (a.padsBegin) attrs.pads_begin = a.padsBegin.join(',');
  if (a.padsEnd) attrs.pads_end = a.padsEnd.join(',');
  const outputSize = ovConst(g, 'output_size', indexType, [2], a.outputSize);
  const kernel = ovConst(g, 'kernel_size', indexType, [2], a.kernel);
  const node = ovOp(g, 'Col2Im', 'opset15', [x, outputSize, kernel], [outShape], attrs, 'col2im');
  g.outputs = [node.output(0)];
  return m;
}

test.each<[string, number, number, BlockAttrs, DType]>([
  ['default strides, dilations and pads, overlapping blocks', 2, 3, { outputSize: [5, 6], kernel: [2, 2] }, 'int64'],
  ['strides, dilations and pads, non-square, i32 sizes', 1, 2, { outputSize: [7, 9], kernel: [3, 2], strides: [2, 3], dilations: [2, 1], padsBegin: [1, 2], padsEnd: [2, 1] }, 'int32'],
  ['pads that drop blocks at the edges, a batch of 3', 3, 1, { outputSize: [4, 5], kernel: [3, 3], strides: [1, 2], dilations: [1, 1], padsBegin: [2, 1], padsEnd: [0, 3] }, 'int64'],
])('Col2Im-15, %s', async (_name, batch, channels, a, indexType) => {
  const columns = channels * a.kernel[0] * a.kernel[1];
  const blocks = blocksAlong(a, 0) * blocksAlong(a, 1);
  const data = testValues(batch * columns * blocks, 93).map(Math.fround);
  const outShape = [batch, channels, ...a.outputSize];
  const out = (await runner.run(col2imModel([batch, columns, blocks], outShape, a, indexType), { x: { shape: [batch, columns, blocks], values: data } })).col2im_out!;
  expect(out.shape).toEqual(outShape);
  expectClose(out.values, col2imRef(data, batch, channels, a), 1e-6);
});

test('Col2Im-15 of unbatched data [C * kernel points, L]', async () => {
  const a: BlockAttrs = { outputSize: [6, 5], kernel: [2, 3], strides: [2, 1], dilations: [1, 2], padsBegin: [0, 1], padsEnd: [1, 1] };
  const columns = 2 * 2 * 3;
  const blocks = blocksAlong(a, 0) * blocksAlong(a, 1);
  const data = testValues(columns * blocks, 94).map(Math.fround);
  const out = (await runner.run(col2imModel([columns, blocks], [2, 6, 5], a), { x: { shape: [columns, blocks], values: data } })).col2im_out!;
  expect(out.shape).toEqual([2, 6, 5]);
  expectClose(out.values, col2imRef(data, 1, 2, a), 1e-6);
});

test('Col2Im-15 of int32 data with sizes given as i32', async () => {
  const a: BlockAttrs = { outputSize: [5, 4], kernel: [2, 2], strides: [1, 2], padsEnd: [0, 1] };
  const blocks = blocksAlong(a, 0) * blocksAlong(a, 1);
  const data = testValues(2 * 8 * blocks, 95, -50, 50).map((v) => Math.round(v) | 0);
  const out = (await runner.run(col2imModel([2, 8, blocks], [2, 2, 5, 4], a, 'int32', 'int32'), { x: { dtype: 'int32', shape: [2, 8, blocks], values: data } })).col2im_out!;
  expect(out.dtype).toBe('int32');
  expect(out.values).toEqual(col2imRef(data, 2, 2, a));
});

test('Col2Im-15 of float16 data, of rank 4, with a computed output_size, three strides or the wrong block count is refused by name', () => {
  const a: BlockAttrs = { outputSize: [4, 4], kernel: [2, 2] };
  expect(translationFailure(col2imModel([1, 4, 9], [1, 1, 4, 4], a, 'int64', 'float16'))).toMatch(
    /'col2im' \(Col2Im, opset15\).*input 0 is float16: float32, float64, int8, int32, int64, uint8, uint32, uint64 are translated/,
  );
  expect(translationFailure(col2imModel([1, 1, 4, 9], [1, 1, 1, 4, 4], a))).toMatch(/the data has rank 4: \[N, C \* kernel points, L\] and \[C \* kernel points, L\] are translated/);
  expect(translationFailure(col2imModel([1, 4, 8], [1, 1, 4, 4], a))).toMatch(/the data has 8 blocks where output_size and the attributes give 9/);
  const strided = col2imModel([1, 4, 9], [1, 1, 4, 4], a);
  strided.graph.nodes.find((n) => n.op === 'Col2Im')!.attrs.set('strides', { kind: 'string', value: '1,1,1' });
  expect(translationFailure(strided)).toMatch(/strides has 3 values: one per spatial axis \(2\) is translated/);
  const m = newOvModel('net');
  const g = m.graph;
  const size = ovParam(g, 'size', [2], 'int64');
  const node = ovOp(g, 'Col2Im', 'opset15', [ovParam(g, 'x', [1, 4, 9]), size, ovConst(g, 'k', 'int64', [2], [2, 2])], [[1, 1, 4, 4]], {}, 'col2im');
  g.outputs = [node.output(0)];
  expect(translationFailure(m)).toMatch(/input 1 must be a constant for this translation/);
});
