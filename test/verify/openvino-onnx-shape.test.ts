/**
 * The ONNX translation of OpenVINO's data-movement ops
 * (src/verify/openvino-onnx/ops/shape.ts), run in onnxruntime and compared
 * with values computed here from the OpenVINO specification.
 */
import type { DType } from '../../src/ir/dtype';
import type { Graph, Value } from '../../src/ir/graph';
import type { Model } from '../../src/ir/model';
import { openvinoToOnnx } from '../../src/verify/openvino-onnx';
import { newOvModel, ovConst, ovOp, ovParam } from '../helpers/openvino-build';
import { coordsOf, expectClose as closeWithin, flatOf, sizeOf as size, TranslatedRunner, testValues } from '../helpers/openvino-translate';

const expectClose = (actual: number[], expected: number[]): void => closeWithin(actual, expected, 5e-6);

let runner: TranslatedRunner;
beforeAll(() => {
  runner = new TranslatedRunner();
});
afterAll(() => runner.close());

/** A tensor of `shape` whose element at each coordinate is `f(coords)`. */
function build(shape: readonly number[], f: (c: number[]) => number): number[] {
  return Array.from({ length: size(shape) }, (_, i) => f(coordsOf(shape, i)));
}

/** The distinct values 0, 1, 2, ... so that every moved element is recognisable. */
const iota = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

interface Layer {
  op: string;
  opset: string;
  consts?: { dtype: DType; shape: number[]; values: number[] | bigint[] }[];
  out: number[][];
  attrs?: Record<string, string>;
  outDType?: DType;
}

/** One layer on Parameter `x` (then the given Const inputs); the layer is named 'layer'. */
function model(xShape: number[], layer: Layer, xType: DType = 'float32'): Model {
  const m = newOvModel('net');
  const g: Graph = m.graph;
  const x = ovParam(g, 'x', xShape, xType);
  const inputs: Value[] = [x, ...(layer.consts ?? []).map((c, i) => ovConst(g, `c${i}`, c.dtype, c.shape, c.values as number[]))];
  const node = ovOp(g, layer.op, layer.opset, inputs, layer.out, layer.attrs ?? {}, 'layer');
  if (layer.outDType) for (const o of node.outputs) o.dtype = layer.outDType;
  g.outputs = [...node.outputs];
  return m;
}

async function run(xShape: number[], xs: number[], layer: Layer, xType: DType = 'float32'): Promise<{ shape: number[]; values: number[] }[]> {
  const m = model(xShape, layer, xType);
  const out = await runner.run(m, { x: { dtype: xType, shape: xShape, values: xs } });
  return m.graph.outputs.map((v) => out[v.name]!);
}

const i64 = (values: number[], shape = [values.length]) => ({ dtype: 'int64' as DType, shape, values });
const i32 = (values: number[], shape = [values.length]) => ({ dtype: 'int32' as DType, shape, values });
const f32 = (values: number[], shape = [values.length]) => ({ dtype: 'float32' as DType, shape, values });

function refusal(xShape: number[], layer: Layer): string {
  try {
    openvinoToOnnx(model(xShape, layer));
  } catch (e) {
    return (e as Error).message;
  }
  return 'translated';
}

const prefix = (op: string, opset: string): string => `cannot translate OpenVINO layer 'layer' (${op}, ${opset}) to ONNX: `;

describe('Concat, Split, VariadicSplit, Reshape, Transpose', () => {
  it('Concat on a negative axis', async () => {
    const m = newOvModel('net');
    const g = m.graph;
    const a = ovParam(g, 'a', [2, 2]);
    const b = ovParam(g, 'b', [2, 1]);
    const node = ovOp(g, 'Concat', 'opset1', [a, b], [[2, 3]], { axis: '-1' }, 'layer');
    g.outputs = [node.output(0)];
    const out = await runner.run(m, { a: { shape: [2, 2], values: [1, 2, 3, 4] }, b: { shape: [2, 1], values: [5, 6] } });
    expect(out.layer_out!.values).toEqual([1, 2, 5, 3, 4, 6]);
  });

  it('Split into num_splits equal parts on a negative axis', async () => {
    const xs = iota(12);
    const outs = await run([2, 6], xs, { op: 'Split', opset: 'opset1', consts: [i64([-1], [])], out: [[2, 2], [2, 2], [2, 2]], attrs: { num_splits: '3' } });
    expect(outs.map((o) => o.values)).toEqual([[0, 1, 6, 7], [2, 3, 8, 9], [4, 5, 10, 11]]);
  });

  it('VariadicSplit with a -1 length (the rest) and i32 lengths', async () => {
    const xs = iota(12);
    const outs = await run([6, 2], xs, { op: 'VariadicSplit', opset: 'opset1', consts: [i32([0], []), i32([1, -1, 2])], out: [[1, 2], [3, 2], [2, 2]] });
    expect(outs.map((o) => o.values)).toEqual([[0, 1], [2, 3, 4, 5, 6, 7], [8, 9, 10, 11]]);
    expect(outs.map((o) => o.shape)).toEqual([[1, 2], [3, 2], [2, 2]]);
  });

  it('Reshape with special_zero true: a 0 copies the input dimension, -1 takes the rest', async () => {
    const xs = iota(24);
    const [o] = await run([2, 3, 4], xs, { op: 'Reshape', opset: 'opset1', consts: [i64([0, -1])], out: [[2, 12]], attrs: { special_zero: 'true' } });
    expect(o!.shape).toEqual([2, 12]);
    expect(o!.values).toEqual(xs);
  });

  it('Reshape with special_zero false: -1 takes the rest; i32 target shape', async () => {
    const xs = iota(24);
    const [o] = await run([2, 3, 4], xs, { op: 'Reshape', opset: 'opset1', consts: [i32([4, -1, 2])], out: [[4, 3, 2]], attrs: { special_zero: 'false' } });
    expect(o!.shape).toEqual([4, 3, 2]);
    expect(o!.values).toEqual(xs);
  });

  it('Reshape with special_zero false: a 0 is an empty dimension', () => {
    // onnxruntime cannot take an empty model input here, so only the translation is checked: allowzero=1.
    const onnx = openvinoToOnnx(model([0, 3], { op: 'Reshape', opset: 'opset1', consts: [i64([3, 0])], out: [[3, 0]], attrs: { special_zero: 'false' } }));
    const reshape = onnx.graph.nodes.find((n) => n.op === 'Reshape')!;
    expect(reshape.attrs.get('allowzero')).toEqual({ kind: 'int', value: 1 });
  });

  it('Transpose with an order, and with an empty order (reversed dimensions)', async () => {
    const shape = [2, 3, 4];
    const xs = iota(24);
    const [o] = await run(shape, xs, { op: 'Transpose', opset: 'opset1', consts: [i64([1, 2, 0])], out: [[3, 4, 2]] });
    expect(o!.values).toEqual(build([3, 4, 2], ([a, b, c]) => flatOf(shape, [c!, a!, b!])));
    const [r] = await run(shape, xs, { op: 'Transpose', opset: 'opset1', consts: [i64([], [0])], out: [[4, 3, 2]] });
    expect(r!.shape).toEqual([4, 3, 2]);
    expect(r!.values).toEqual(build([4, 3, 2], ([a, b, c]) => flatOf(shape, [c!, b!, a!])));
  });
});

describe('Squeeze, Unsqueeze, Gather, ShapeOf', () => {
  it('Squeeze without axes removes every dimension of size 1', async () => {
    const [o] = await run([1, 3, 1, 2], iota(6), { op: 'Squeeze', opset: 'opset1', out: [[3, 2]] });
    expect(o).toEqual({ shape: [3, 2], values: iota(6), dtype: 'float32' });
  });

  it('Squeeze with negative axes; an axis whose dimension is not 1 stays', async () => {
    const [o] = await run([1, 3, 1, 2], iota(6), { op: 'Squeeze', opset: 'opset1', consts: [i64([-2, 1])], out: [[1, 3, 2]] });
    expect(o!.shape).toEqual([1, 3, 2]);
    const [s] = await run([1, 3, 1, 2], iota(6), { op: 'Squeeze', opset: 'opset1', consts: [i32([0], [])], out: [[3, 1, 2]] });
    expect(s!.shape).toEqual([3, 1, 2]);
  });

  it('Unsqueeze with negative axes (counted in the output rank)', async () => {
    const [o] = await run([3, 2], iota(6), { op: 'Unsqueeze', opset: 'opset1', consts: [i64([0, -1])], out: [[1, 3, 2, 1]] });
    expect(o!.shape).toEqual([1, 3, 2, 1]);
    expect(o!.values).toEqual(iota(6));
  });

  it('Gather-8 on a negative axis with negative indices', async () => {
    const shape = [2, 3];
    const idx = [2, -1, 0, -3];
    const [o] = await run(shape, iota(6), { op: 'Gather', opset: 'opset8', consts: [i64(idx, [2, 2]), i64([-1], [])], out: [[2, 2, 2]] });
    expect(o!.values).toEqual(build([2, 2, 2], ([a, b, c]) => flatOf(shape, [a!, (idx[b! * 2 + c!]! + 3) % 3])));
  });

  it('Gather-1 with i32 indices (the axis from input 2)', async () => {
    const [o] = await run([3, 2], iota(6), { op: 'Gather', opset: 'opset1', consts: [i32([2, 0]), i64([0], [])], out: [[2, 2]] });
    expect(o!.values).toEqual([4, 5, 0, 1]);
  });

  it('Gather-7 / -8 with batch_dims equal to the axis', async () => {
    const shape = [2, 3, 2];
    const idx = [0, 2, 1, -1];
    for (const opset of ['opset7', 'opset8']) {
      const values = opset === 'opset7' ? idx.map((i) => (i + 3) % 3) : idx;
      const [o] = await run(shape, iota(12), { op: 'Gather', opset, consts: [i32(values, [2, 2]), i64([1], [])], out: [[2, 2, 2]], attrs: { batch_dims: '-1' } });
      expect(o!.values).toEqual(build([2, 2, 2], ([b, i, c]) => flatOf(shape, [b!, (idx[b! * 2 + i!]! + 3) % 3, c!])));
    }
  });

  it('refuses Gather with batch_dims below the axis', () => {
    expect(refusal([2, 3, 2], { op: 'Gather', opset: 'opset8', consts: [i64([0, 1], [2, 1]), i64([2], [])], out: [[2, 3, 1]], attrs: { batch_dims: '1' } })).toBe(
      `${prefix('Gather', 'opset8')}batch_dims=1 with axis=2 is not translated (only axis equal to batch_dims is)`,
    );
  });

  it('ShapeOf-1 gives i64, ShapeOf-3 the output_type', async () => {
    const [a] = await run([2, 3, 5], iota(30), { op: 'ShapeOf', opset: 'opset1', out: [[3]], outDType: 'int64' });
    expect(a).toEqual({ shape: [3], values: [2, 3, 5], dtype: 'int64' });
    const [b] = await run([2, 3, 5], iota(30), { op: 'ShapeOf', opset: 'opset3', out: [[3]], outDType: 'int32', attrs: { output_type: 'i32' } });
    expect(b).toEqual({ shape: [3], values: [2, 3, 5], dtype: 'int32' });
  });
});

/** The input indices a (begin, end, stride) range takes along a dimension of `d`, masks applied (Python's slice rules). */
function rangeOf(d: number, begin: number | undefined, end: number | undefined, k: number): number[] {
  let s: number;
  let e: number;
  if (k > 0) {
    s = begin === undefined ? 0 : begin < 0 ? Math.max(0, begin + d) : Math.min(begin, d);
    e = end === undefined ? d : end < 0 ? Math.max(0, end + d) : Math.min(end, d);
  } else {
    s = begin === undefined ? d - 1 : begin < 0 ? Math.max(-1, begin + d) : Math.min(begin, d - 1);
    e = end === undefined ? -1 : end < 0 ? Math.max(-1, end + d) : Math.min(end, d - 1);
  }
  const out: number[] = [];
  for (let i = s; k > 0 ? i < e : i > e; i += k) out.push(i);
  return out;
}

interface SliceMasks {
  begin_mask?: number[];
  end_mask?: number[];
  new_axis_mask?: number[];
  shrink_axis_mask?: number[];
  ellipsis_mask?: number[];
}

/** StridedSlice-1 as its specification defines it: the output shape and, per output axis, the input indices (null for a new axis). */
function stridedSliceRef(shape: number[], xs: number[], begin: number[], end: number[], strides: number[], m: SliceMasks): { shape: number[]; values: number[] } {
  const bit = (mask: number[] | undefined, i: number): boolean => (mask?.[i] ?? 0) === 1;
  const picks: (number[] | null)[] = []; // per output axis
  const inAxisOfOut: number[] = [];
  const fixed = new Map<number, number>(); // input axis -> the one index a shrink keeps
  const consuming = begin.filter((_, i) => !bit(m.new_axis_mask, i) && !bit(m.ellipsis_mask, i)).length;
  let a = 0;
  for (let i = 0; i < begin.length; i++) {
    if (bit(m.ellipsis_mask, i)) {
      for (let k = 0; k < shape.length - consuming; k++, a++) {
        picks.push(rangeOf(shape[a]!, undefined, undefined, 1));
        inAxisOfOut.push(a);
      }
    } else if (bit(m.new_axis_mask, i)) {
      picks.push(null);
      inAxisOfOut.push(-1);
    } else if (bit(m.shrink_axis_mask, i)) {
      fixed.set(a, (begin[i]! + shape[a]!) % shape[a]!);
      a++;
    } else {
      picks.push(rangeOf(shape[a]!, bit(m.begin_mask, i) ? undefined : begin[i], bit(m.end_mask, i) ? undefined : end[i], strides[i]!));
      inAxisOfOut.push(a++);
    }
  }
  for (; a < shape.length; a++) {
    picks.push(rangeOf(shape[a]!, undefined, undefined, 1));
    inAxisOfOut.push(a);
  }
  const outShape = picks.map((p) => (p ? p.length : 1));
  const values = build(outShape, (c) => {
    const at = shape.map((_, d) => fixed.get(d) ?? 0);
    c.forEach((x, o) => {
      const p = picks[o];
      if (p) at[inAxisOfOut[o]!] = p[x]!;
    });
    return xs[flatOf(shape, at)]!;
  });
  return { shape: outShape, values };
}

const maskAttrs = (m: SliceMasks, n: number): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const k of ['begin_mask', 'end_mask', 'new_axis_mask', 'shrink_axis_mask', 'ellipsis_mask'] as const) out[k] = (m[k] ?? new Array<number>(n).fill(0)).join(',');
  return out;
};

describe('StridedSlice, Slice', () => {
  const shape = [3, 4, 5];
  const xs = iota(60);
  const cases: { name: string; begin: number[]; end: number[]; strides: number[]; masks: SliceMasks }[] = [
    { name: 'plain ranges with negative begin and end', begin: [1, -3, 0], end: [3, -1, 5], strides: [1, 1, 2], masks: {} },
    { name: 'begin_mask and end_mask with a negative stride', begin: [0, 3, 0], end: [0, 0, 0], strides: [1, -1, -2], masks: { begin_mask: [1, 0, 1], end_mask: [1, 1, 1] } },
    { name: 'negative stride from a negative begin, INT64_MAX-like end', begin: [-1, 0, 0], end: [-4, 2 ** 62, 0], strides: [-1, 1, 1], masks: { end_mask: [0, 0, 1] } },
    { name: 'shrink_axis_mask at -1 and new_axis_mask', begin: [0, -1, 1], end: [0, 0, 3], strides: [1, 1, 1], masks: { new_axis_mask: [1, 0, 0], shrink_axis_mask: [0, 1, 0] } },
    { name: 'ellipsis_mask then a shrink on the last axis', begin: [0, 2], end: [0, 3], strides: [1, 1], masks: { ellipsis_mask: [1, 0], shrink_axis_mask: [0, 1] } },
    { name: 'a new axis after an ellipsis, and fewer entries than dimensions', begin: [1, 0, 0], end: [2, 0, 0], strides: [1, 1, 1], masks: { ellipsis_mask: [0, 1, 0], new_axis_mask: [0, 0, 1] } },
    { name: 'fewer entries than dimensions (the rest taken whole)', begin: [1], end: [-1], strides: [1], masks: { begin_mask: [0], end_mask: [0] } },
  ];
  for (const c of cases) {
    it(`StridedSlice: ${c.name}`, async () => {
      const ref = stridedSliceRef(shape, xs, c.begin, c.end, c.strides, c.masks);
      const n = c.begin.length;
      const [o] = await run(shape, xs, { op: 'StridedSlice', opset: 'opset1', consts: [i64(c.begin), i64(c.end), i64(c.strides)], out: [ref.shape], attrs: maskAttrs(c.masks, n) });
      expect(o!.shape).toEqual(ref.shape);
      expect(o!.values).toEqual(ref.values);
    });
  }

  it('StridedSlice with INT64_MAX and INT64_MIN bounds (as converters write "to the end")', async () => {
    const ref = stridedSliceRef(shape, xs, [1, 3, 0], [2 ** 62, -(2 ** 62), 2 ** 62], [1, -1, 2], {});
    const big = { dtype: 'int64' as DType, shape: [3], values: [2n ** 63n - 1n, -(2n ** 63n), 2n ** 63n - 1n] };
    const [o] = await run(shape, xs, { op: 'StridedSlice', opset: 'opset1', consts: [i64([1, 3, 0]), big, i64([1, -1, 2])], out: [ref.shape], attrs: maskAttrs({}, 3) });
    expect(o!.shape).toEqual([2, 4, 3]);
    expect(o!.values).toEqual(ref.values);
  });

  it('StridedSlice without strides, masks shorter than begin, i32 bounds', async () => {
    const ref = stridedSliceRef(shape, xs, [1, 1, 1], [2, 3, 4], [1, 1, 1], { begin_mask: [0, 1] });
    const [o] = await run(shape, xs, { op: 'StridedSlice', opset: 'opset1', consts: [i32([1, 1, 1]), i32([2, 3, 4])], out: [ref.shape], attrs: { begin_mask: '0,1', end_mask: '' } });
    expect(o!.values).toEqual(ref.values);
  });

  it('refuses StridedSlice shrinking an axis with begin_mask set', () => {
    expect(refusal(shape, { op: 'StridedSlice', opset: 'opset1', consts: [i64([1]), i64([2]), i64([1])], out: [[4, 5]], attrs: { begin_mask: '1', end_mask: '0', shrink_axis_mask: '1' } })).toBe(
      `${prefix('StridedSlice', 'opset1')}entry 0 sets both shrink_axis_mask and begin_mask`,
    );
  });

  it('refuses StridedSlice shrinking an axis with a stride other than 1', () => {
    expect(refusal(shape, { op: 'StridedSlice', opset: 'opset1', consts: [i64([1]), i64([2]), i64([-1])], out: [[4, 5]], attrs: { begin_mask: '0', end_mask: '0', shrink_axis_mask: '1' } })).toBe(
      `${prefix('StridedSlice', 'opset1')}entry 0 sets shrink_axis_mask with stride -1 (only 1 is translated)`,
    );
  });

  it('refuses StridedSlice with two ellipses', () => {
    expect(refusal(shape, { op: 'StridedSlice', opset: 'opset1', consts: [i64([0, 0]), i64([0, 0]), i64([1, 1])], out: [shape], attrs: { begin_mask: '0,0', end_mask: '0,0', ellipsis_mask: '1,1' } })).toBe(
      `${prefix('StridedSlice', 'opset1')}ellipsis_mask has more than one bit set`,
    );
  });

  it('refuses StridedSlice with both new_axis_mask and shrink_axis_mask on one entry', () => {
    expect(refusal(shape, { op: 'StridedSlice', opset: 'opset1', consts: [i64([0]), i64([1]), i64([1])], out: [shape], attrs: { begin_mask: '0', end_mask: '0', new_axis_mask: '1', shrink_axis_mask: '1' } })).toBe(
      `${prefix('StridedSlice', 'opset1')}entry 0 sets more than one of new_axis_mask, shrink_axis_mask and ellipsis_mask`,
    );
  });

  it('Slice-8 with axes (one negative), a negative step and an i32 start', async () => {
    // axis 2: 4, 2 (start 4, stop 0 exclusive, step -2); axis 0: 1..2.
    const ref = build([2, 4, 2], ([a, b, c]) => xs[flatOf(shape, [a! + 1, b!, 4 - 2 * c!])]!);
    const [o] = await run(shape, xs, { op: 'Slice', opset: 'opset8', consts: [i32([4, 1]), i64([0, 2 ** 62]), i64([-2, 1]), i64([-1, 0])], out: [[2, 4, 2]] });
    expect(o!.values).toEqual(ref);
  });

  it('Slice-8 without axes', async () => {
    const ref = build([3, 2, 5], ([a, b, c]) => xs[flatOf(shape, [a!, 3 - b!, c!])]!);
    const [o] = await run(shape, xs, { op: 'Slice', opset: 'opset8', consts: [i64([0, -1]), i64([3, 1]), i64([1, -1])], out: [[3, 2, 5]] });
    expect(o!.values).toEqual(ref);
  });
});

describe('Broadcast, Tile', () => {
  it('Broadcast numpy (opset1 and opset3), with an i32 target shape', async () => {
    for (const opset of ['opset1', 'opset3']) {
      const [o] = await run([3, 1], [1, 2, 3], { op: 'Broadcast', opset, consts: [i32([2, 3, 2])], out: [[2, 3, 2]], attrs: { mode: 'numpy' } });
      expect(o!.values).toEqual(build([2, 3, 2], ([, b]) => b! + 1));
    }
  });

  it('Broadcast-3 bidirectional: the target shape may be smaller than the data', async () => {
    const [o] = await run([3, 1], [1, 2, 3], { op: 'Broadcast', opset: 'opset3', consts: [i64([1, 2])], out: [[3, 2]], attrs: { mode: 'bidirectional' } });
    expect(o).toEqual({ shape: [3, 2], values: [1, 1, 2, 2, 3, 3], dtype: 'float32' });
  });

  it('Broadcast explicit: data dimensions go to the axes_mapping axes', async () => {
    const [o] = await run([3, 1], [1, 2, 3], { op: 'Broadcast', opset: 'opset1', consts: [i64([2, 3, 4]), i64([1, 2])], out: [[2, 3, 4]], attrs: { mode: 'explicit' } });
    expect(o!.values).toEqual(build([2, 3, 4], ([, b]) => b! + 1));
    const [p] = await run([2], [5, 6], { op: 'Broadcast', opset: 'opset3', consts: [i64([2, 3]), i64([0])], out: [[2, 3]], attrs: { mode: 'explicit' } });
    expect(p!.values).toEqual([5, 5, 5, 6, 6, 6]);
  });

  it('refuses Broadcast explicit with an axes_mapping that is not increasing', () => {
    expect(refusal([3, 2], { op: 'Broadcast', opset: 'opset3', consts: [i64([2, 3]), i64([1, 0])], out: [[2, 3]], attrs: { mode: 'explicit' } })).toBe(
      `${prefix('Broadcast', 'opset3')}axes_mapping 1,0 is not increasing within the output rank (others are not translated)`,
    );
  });

  it('refuses Broadcast pdpd, and bidirectional in opset1', () => {
    expect(refusal([3], { op: 'Broadcast', opset: 'opset1', consts: [i64([2, 3])], out: [[2, 3]], attrs: { mode: 'pdpd' } })).toBe(`${prefix('Broadcast', 'opset1')}mode="pdpd" is not translated`);
    expect(refusal([3], { op: 'Broadcast', opset: 'opset1', consts: [i64([2, 3])], out: [[2, 3]], attrs: { mode: 'bidirectional' } })).toBe(`${prefix('Broadcast', 'opset1')}mode="bidirectional" is not translated`);
  });

  it('Tile with as many repeats as dimensions, fewer (the last ones), and more (leading dimensions)', async () => {
    const shape2 = [2, 3];
    const xs = iota(6);
    const [a] = await run(shape2, xs, { op: 'Tile', opset: 'opset1', consts: [i64([2, 1])], out: [[4, 3]] });
    expect(a!.values).toEqual(build([4, 3], ([r, c]) => xs[flatOf(shape2, [r! % 2, c!])]!));
    const [b] = await run(shape2, xs, { op: 'Tile', opset: 'opset1', consts: [i32([2])], out: [[2, 6]] });
    expect(b!.values).toEqual(build([2, 6], ([r, c]) => xs[flatOf(shape2, [r!, c! % 3])]!));
    const [c] = await run(shape2, xs, { op: 'Tile', opset: 'opset1', consts: [i64([2, 1, 2])], out: [[2, 2, 6]] });
    expect(c!.values).toEqual(build([2, 2, 6], ([, r, k]) => xs[flatOf(shape2, [r!, k! % 3])]!));
  });
});

/** Pad-1/-12 as the specification defines it: output coordinate c reads input c - pads_begin, out-of-range ones by the mode. */
function padRef(shape: number[], xs: number[], pb: number[], pe: number[], mode: string, value = 0): { shape: number[]; values: number[] } {
  const outShape = shape.map((d, i) => d + pb[i]! + pe[i]!);
  const values = build(outShape, (c) => {
    const at: number[] = [];
    for (let a = 0; a < shape.length; a++) {
      const d = shape[a]!;
      let i = c[a]! - pb[a]!;
      if (i < 0 || i >= d) {
        if (mode === 'constant') return value;
        if (mode === 'edge') i = Math.min(d - 1, Math.max(0, i));
        else if (mode === 'reflect') i = i < 0 ? -i : 2 * (d - 1) - i;
        else i = i < 0 ? -i - 1 : 2 * d - 1 - i;
      }
      at.push(i);
    }
    return xs[flatOf(shape, at)]!;
  });
  return { shape: outShape, values };
}

describe('Pad', () => {
  const shape = [2, 3];
  const xs = iota(6).map((x) => x + 1);
  for (const mode of ['constant', 'edge', 'reflect', 'symmetric']) {
    it(`Pad-1 pad_mode=${mode}`, async () => {
      const pb = [1, 2];
      const pe = [1, 1];
      const ref = padRef(shape, xs, pb, pe, mode);
      const [o] = await run(shape, xs, { op: 'Pad', opset: 'opset1', consts: [i64(pb), i32(pe)], out: [ref.shape], attrs: { pad_mode: mode } });
      expect(o!.shape).toEqual(ref.shape);
      expect(o!.values).toEqual(ref.values);
    });
  }

  it('Pad-1 symmetric with pads as large as the dimension', async () => {
    const ref = padRef(shape, xs, [2, 0], [0, 3], 'symmetric');
    const [o] = await run(shape, xs, { op: 'Pad', opset: 'opset1', consts: [i64([2, 0]), i64([0, 3])], out: [ref.shape], attrs: { pad_mode: 'symmetric' } });
    expect(o!.values).toEqual(ref.values);
  });

  it('Pad-1 constant with a pad_value input', async () => {
    const ref = padRef(shape, xs, [0, 1], [1, 0], 'constant', -7.5);
    const [o] = await run(shape, xs, { op: 'Pad', opset: 'opset1', consts: [i64([0, 1]), i64([1, 0]), f32([-7.5], [])], out: [ref.shape], attrs: { pad_mode: 'constant' } });
    expect(o!.values).toEqual(ref.values);
  });

  it('Pad-12 with negative pads crops (constant and edge)', async () => {
    const big = [3, 4];
    const ys = iota(12);
    for (const mode of ['constant', 'edge']) {
      const ref = padRef(big, ys, [-1, 2], [1, -3], mode, 9);
      const [o] = await run(big, ys, { op: 'Pad', opset: 'opset12', consts: [i64([-1, 2]), i64([1, -3]), f32([9], [])], out: [ref.shape], attrs: { pad_mode: mode } });
      expect(o!.shape).toEqual(ref.shape);
      expect(o!.values).toEqual(ref.values);
    }
  });

  it('refuses negative pads in Pad-1, and with reflect or symmetric in Pad-12', () => {
    expect(refusal(shape, { op: 'Pad', opset: 'opset1', consts: [i64([0, -1]), i64([0, 0])], out: [[2, 2]], attrs: { pad_mode: 'constant' } })).toBe(`${prefix('Pad', 'opset1')}Pad-1 takes no negative pads`);
    expect(refusal(shape, { op: 'Pad', opset: 'opset12', consts: [i64([0, -1]), i64([0, 1])], out: [[2, 3]], attrs: { pad_mode: 'reflect' } })).toBe(
      `${prefix('Pad', 'opset12')}negative pads with pad_mode="reflect" are not translated`,
    );
  });

  it('refuses an unknown pad_mode', () => {
    expect(refusal(shape, { op: 'Pad', opset: 'opset1', consts: [i64([0, 0]), i64([0, 0])], out: [shape], attrs: { pad_mode: 'wrap' } })).toBe(`${prefix('Pad', 'opset1')}pad_mode="wrap" is not translated`);
  });
});

interface InterpAttrs {
  mode: string;
  coord: string;
  nearest?: string;
  cubeCoeff?: number;
}

/** The input coordinate of output coordinate x along an axis, per coordinate_transformation_mode (scale = output / input). */
function originalCoordinate(mode: string, x: number, outLen: number, inLen: number): number {
  const scale = outLen / inLen;
  switch (mode) {
    case 'half_pixel': return (x + 0.5) / scale - 0.5;
    case 'pytorch_half_pixel': return outLen > 1 ? (x + 0.5) / scale - 0.5 : 0;
    case 'asymmetric': return x / scale;
    case 'tf_half_pixel_for_nn': return (x + 0.5) / scale;
    case 'align_corners': return outLen === 1 ? 0 : (x * (inLen - 1)) / (outLen - 1);
    default: throw new Error(mode);
  }
}

/** The (input index, weight) pairs output coordinate x reads along an axis, from the Interpolate-4 specification. */
function taps(a: InterpAttrs, x: number, outLen: number, inLen: number): [number, number][] {
  const clip = (i: number): number => Math.max(0, Math.min(i, inLen - 1));
  const c = originalCoordinate(a.coord, x, outLen, inLen);
  if (a.mode === 'nearest') {
    const fl = Math.floor(c);
    const half = c === fl + 0.5;
    const i = { round_prefer_floor: half ? fl : Math.round(c), round_prefer_ceil: Math.round(c), floor: fl, ceil: Math.ceil(c) }[a.nearest ?? 'round_prefer_floor']!;
    return [[clip(i), 1]];
  }
  if (a.mode === 'linear_onnx') {
    const y = Math.max(0, Math.min(c, inLen - 1));
    const i1 = clip(Math.trunc(y));
    const i2 = Math.min(i1 + 1, inLen - 1);
    if (i1 === i2) return [[i1, 0.5], [i2, 0.5]];
    return [[i1, Math.abs(y - i2)], [i2, Math.abs(y - i1)]];
  }
  const s = c - Math.floor(c);
  const k = a.cubeCoeff ?? -0.75;
  const w = [k * (s - 1) * (s - 1) * s, ((k + 2) * s - (k + 3)) * s * s + 1, ((-k - 2) * s + (2 * k + 3)) * s * s - k * s, -k * s * s * (s - 1)];
  return w.map((wi, j) => [clip(Math.floor(c) + j - 1), wi]);
}

function interpolateRef(shape: number[], xs: number[], outShape: number[], a: InterpAttrs): number[] {
  return build(outShape, (c) => {
    const perAxis = c.map((x, d) => (outShape[d] === shape[d] ? ([[x, 1]] as [number, number][]) : taps(a, x, outShape[d]!, shape[d]!)));
    let sum = 0;
    const walk = (d: number, at: number[], w: number): void => {
      if (d === shape.length) {
        sum += w * xs[flatOf(shape, at)]!;
        return;
      }
      for (const [i, wi] of perAxis[d]!) walk(d + 1, [...at, i], w * wi);
    };
    walk(0, [], 1);
    return sum;
  });
}


describe('Interpolate', () => {
  const shape = [1, 2, 3, 4];
  const xs = testValues(24, 5);

  const sizesCases: (InterpAttrs & { out: number[] })[] = [
    { mode: 'nearest', coord: 'asymmetric', nearest: 'floor', out: [5, 7] },
    { mode: 'nearest', coord: 'half_pixel', nearest: 'round_prefer_floor', out: [6, 2] },
    { mode: 'nearest', coord: 'tf_half_pixel_for_nn', nearest: 'ceil', out: [2, 6] },
    { mode: 'nearest', coord: 'align_corners', nearest: 'round_prefer_ceil', out: [5, 3] },
    { mode: 'linear_onnx', coord: 'half_pixel', out: [5, 7] },
    { mode: 'linear_onnx', coord: 'pytorch_half_pixel', out: [1, 3] },
    { mode: 'linear_onnx', coord: 'align_corners', out: [4, 6] },
    { mode: 'cubic', coord: 'asymmetric', cubeCoeff: -0.5, out: [5, 6] },
    { mode: 'cubic', coord: 'half_pixel', out: [2, 7] },
  ];
  for (const c of sizesCases) {
    it(`Interpolate-4 sizes: ${c.mode} ${c.coord} ${c.nearest ?? ''} to ${c.out.join('x')}`, async () => {
      const outShape = [1, 2, ...c.out];
      const attrs: Record<string, string> = { mode: c.mode, shape_calculation_mode: 'sizes', coordinate_transformation_mode: c.coord, pads_begin: '0,0,0,0', pads_end: '0,0,0,0', antialias: 'false' };
      if (c.nearest) attrs.nearest_mode = c.nearest;
      if (c.cubeCoeff !== undefined) attrs.cube_coeff = String(c.cubeCoeff);
      const [o] = await run(shape, xs, { op: 'Interpolate', opset: 'opset4', consts: [i32(c.out), f32([0, 0]), i64([2, 3])], out: [outShape], attrs });
      expect(o!.shape).toEqual(outShape);
      expectClose(o!.values, interpolateRef(shape, xs.map(Math.fround), outShape, c));
    });
  }

  // Interpolate-1 runs as OpenVINO's ConvertInterpolate1ToInterpolate4 makes it: nearest_mode "simple"
  // (down where an axis grows, up where it shrinks), linear as linear_onnx, cubic with -0.75, and the
  // coordinates align_corners when asked (the default), else half_pixel for linear but asymmetric for a
  // 4D input resized on exactly {2, 3}, and for nearest and cubic. (OpenVINO's linear_onnx takes the
  // spatial axes or all of them.)
  const v1Cases: { attrs: Record<string, string>; out: number[]; as: InterpAttrs }[] = [
    { attrs: { mode: 'nearest', align_corners: '0', axes: '2,3' }, out: [6, 8], as: { mode: 'nearest', coord: 'asymmetric', nearest: 'floor' } },
    { attrs: { mode: 'nearest', align_corners: '0', axes: '2,3' }, out: [2, 2], as: { mode: 'nearest', coord: 'asymmetric', nearest: 'ceil' } },
    { attrs: { mode: 'nearest', align_corners: '1', axes: '2,3' }, out: [5, 7], as: { mode: 'nearest', coord: 'align_corners', nearest: 'floor' } },
    { attrs: { mode: 'linear', align_corners: '0', axes: '2,3' }, out: [5, 7], as: { mode: 'linear_onnx', coord: 'asymmetric' } },
    { attrs: { mode: 'linear', axes: '2,3' }, out: [5, 7], as: { mode: 'linear_onnx', coord: 'align_corners' } },
    { attrs: { mode: 'linear', align_corners: '0', axes: '0,1,2,3' }, out: [5, 7], as: { mode: 'linear_onnx', coord: 'half_pixel' } },
    { attrs: { mode: 'cubic', align_corners: '0', axes: '2,3' }, out: [5, 6], as: { mode: 'cubic', coord: 'asymmetric' } },
  ];
  for (const c of v1Cases) {
    it(`Interpolate-1: ${c.attrs.mode} align_corners=${c.attrs.align_corners ?? '(default)'} axes ${c.attrs.axes} to ${c.out.join('x')}, as ${c.as.mode} ${c.as.coord} ${c.as.nearest ?? ''}`, async () => {
      const outShape = [1, 2, ...c.out];
      const target = c.attrs.axes === '0,1,2,3' ? [1, 2, ...c.out] : c.out;
      const [o] = await run(shape, xs, { op: 'Interpolate', opset: 'opset1', consts: [i64(target)], out: [outShape], attrs: { ...c.attrs, antialias: '0', pads_begin: '0', pads_end: '0' } });
      expect(o!.shape).toEqual(outShape);
      expectClose(o!.values, interpolateRef(shape, xs.map(Math.fround), outShape, c.as));
    });
  }

  it('Interpolate-11 scales on negative axes (linear_onnx, half_pixel)', async () => {
    const outShape = [1, 2, 6, 2];
    const [o] = await run(shape, xs, { op: 'Interpolate', opset: 'opset11', consts: [f32([2, 0.5]), i64([-2, -1])], out: [outShape], attrs: { mode: 'linear_onnx', shape_calculation_mode: 'scales' } });
    expectClose(o!.values, interpolateRef(shape, xs.map(Math.fround), outShape, { mode: 'linear_onnx', coord: 'half_pixel' }));
  });

  it('Interpolate-4 scales without axes (all of them), nearest', async () => {
    const outShape = [1, 2, 6, 8];
    const [o] = await run(shape, xs, { op: 'Interpolate', opset: 'opset4', consts: [i64([1, 2, 6, 8]), f32([1, 1, 2, 2])], out: [outShape], attrs: { mode: 'nearest', shape_calculation_mode: 'scales', nearest_mode: 'round_prefer_ceil' } });
    expectClose(o!.values, interpolateRef(shape, xs.map(Math.fround), outShape, { mode: 'nearest', coord: 'half_pixel', nearest: 'round_prefer_ceil' }));
  });

  it('Interpolate-11 sizes with a dynamic batch: the batch keeps its size', async () => {
    const outShape = [2, 2, 6, 8];
    const batch = [2, ...shape.slice(1)];
    const twice = [...xs, ...xs.map((v) => -v)];
    const m = model(batch, { op: 'Interpolate', opset: 'opset11', consts: [i64([6, 8]), i64([2, 3])], out: [outShape], attrs: { mode: 'nearest', shape_calculation_mode: 'sizes', nearest_mode: 'floor', coordinate_transformation_mode: 'asymmetric' } });
    m.graph.inputs[0]!.shape = [null, ...shape.slice(1)];
    const o = (await runner.run(m, { x: { shape: batch, values: twice } })).layer_out!;
    expect(o.shape).toEqual(outShape);
    const one = interpolateRef(shape, xs.map(Math.fround), [1, 2, 6, 8], { mode: 'nearest', coord: 'asymmetric', nearest: 'floor' });
    expectClose(o.values, [...one, ...one.map((v) => -v)]);
  });

  const layer = (attrs: Record<string, string>): Layer => ({ op: 'Interpolate', opset: 'opset11', consts: [f32([2, 2]), i64([2, 3])], out: [[1, 2, 6, 8]], attrs: { shape_calculation_mode: 'scales', mode: 'nearest', ...attrs } });
  it('refuses antialias, pads, mode linear, nearest_mode simple, and scales that do not give whole sizes', () => {
    const p = prefix('Interpolate', 'opset11');
    expect(refusal(shape, layer({ antialias: 'true' }))).toBe(`${p}antialias="true" is not translated`);
    expect(refusal(shape, layer({ pads_begin: '0,0,1,0' }))).toBe(`${p}non-zero pads_begin are not translated`);
    expect(refusal(shape, layer({ mode: 'linear' }))).toBe(`${p}mode="linear" is not translated (nearest, linear_onnx and cubic are)`);
    expect(refusal(shape, layer({ mode: 'bilinear_pillow' }))).toBe(`${p}mode="bilinear_pillow" is not translated (nearest, linear_onnx and cubic are)`);
    expect(refusal(shape, layer({ nearest_mode: 'simple' }))).toBe(`${p}nearest_mode="simple" is not translated`);
    const third = { op: 'Interpolate', opset: 'opset11', consts: [f32([0.5]), i64([2])], out: [[1, 2, 1, 4]], attrs: { shape_calculation_mode: 'scales', mode: 'nearest' } };
    expect(refusal(shape, third)).toBe(`${p}scale 0.5 of axis 2 (size 3) does not give a whole output size`);
  });
});

describe('DepthToSpace, SpaceToDepth', () => {
  const bs = 2;
  const inShape = [1, 8, 2, 3];
  const xs = iota(48);
  it('DepthToSpace blocks_first and depth_first', async () => {
    const outShape = [1, 2, 4, 6];
    for (const mode of ['blocks_first', 'depth_first']) {
      const [o] = await run(inShape, xs, { op: 'DepthToSpace', opset: 'opset1', out: [outShape], attrs: { mode, block_size: String(bs) } });
      const ref = build(outShape, ([n, c, y, x]) => {
        const by = y! % bs;
        const bx = x! % bs;
        const ch = mode === 'blocks_first' ? (by * bs + bx) * 2 + c! : c! * bs * bs + by * bs + bx;
        return xs[flatOf(inShape, [n!, ch, Math.floor(y! / bs), Math.floor(x! / bs)])]!;
      });
      expect(o!.values).toEqual(ref);
    }
  });

  it('SpaceToDepth blocks_first and depth_first', async () => {
    const sShape = [1, 2, 4, 6];
    const outShape = [1, 8, 2, 3];
    for (const mode of ['blocks_first', 'depth_first']) {
      const [o] = await run(sShape, xs, { op: 'SpaceToDepth', opset: 'opset1', out: [outShape], attrs: { mode, block_size: String(bs) } });
      const ref = build(outShape, ([n, ch, y, x]) => {
        const [c, by, bx] = mode === 'blocks_first' ? [ch! % 2, Math.floor(ch! / 2 / bs), Math.floor(ch! / 2) % bs] : [Math.floor(ch! / (bs * bs)), Math.floor((ch! % (bs * bs)) / bs), ch! % bs];
        return xs[flatOf(sShape, [n!, c!, y! * bs + by!, x! * bs + bx!])]!;
      });
      expect(o!.values).toEqual(ref);
    }
  });

  it('refuses inputs that are not 4-D', () => {
    expect(refusal([1, 8, 2], { op: 'DepthToSpace', opset: 'opset1', out: [[1, 2, 8]], attrs: { mode: 'blocks_first', block_size: '2' } })).toBe(`${prefix('DepthToSpace', 'opset1')}only 4-D inputs are translated`);
  });
});

describe('Range, GatherElements, GatherND, ScatterUpdate', () => {
  it('Range-4 with i32 output, positive and negative steps', async () => {
    const [a] = await run([], [2], { op: 'Range', opset: 'opset4', consts: [i32([23], []), i32([3], [])], out: [[7]], outDType: 'int32', attrs: { output_type: 'i32' } }, 'int32');
    expect(a).toEqual({ shape: [7], values: [2, 5, 8, 11, 14, 17, 20], dtype: 'int32' });
    const [b] = await run([], [23], { op: 'Range', opset: 'opset4', consts: [i64([2], []), i64([-3], [])], out: [[7]], outDType: 'int32', attrs: { output_type: 'i32' } }, 'int32');
    expect(b!.values).toEqual([23, 20, 17, 14, 11, 8, 5]);
  });

  it('Range-4 with f32 output from mixed input types', async () => {
    const [o] = await run([], [1], { op: 'Range', opset: 'opset4', consts: [f32([2.5], []), i64([1], [1])], out: [[2]], outDType: 'float32', attrs: { output_type: 'f32' } });
    expect(o!.values).toEqual([1, 2]);
    const [h] = await run([], [1], { op: 'Range', opset: 'opset4', consts: [f32([2.5], []), f32([0.5], [])], out: [[3]], outDType: 'float32', attrs: { output_type: 'f32' } });
    expect(h!.values).toEqual([1, 1.5, 2]);
  });

  it('refuses Range-4 with a fractional constant for an integer output, and Range-1', () => {
    expect(refusal([], { op: 'Range', opset: 'opset4', consts: [f32([2.5], []), f32([1], [])], out: [[2]], outDType: 'float32', attrs: { output_type: 'i32' } })).toBe(
      `${prefix('Range', 'opset4')}input 0 is float32, not int32, and not a constant scalar`,
    );
    const m = newOvModel('net');
    const g = m.graph;
    const start = ovParam(g, 'x', [], 'int32');
    const node = ovOp(g, 'Range', 'opset4', [start, ovConst(g, 'stop', 'float32', [], [2.5]), ovConst(g, 'step', 'int32', [], [1])], [[3]], { output_type: 'i32' }, 'layer');
    g.outputs = [node.output(0)];
    expect(() => openvinoToOnnx(m)).toThrow(`${prefix('Range', 'opset4')}input 1 (2.5) is not a whole number for output_type="i32"`);
    expect(refusal([], { op: 'Range', opset: 'opset1', consts: [f32([2], []), f32([1], [])], out: [[2]] })).toBe(`${prefix('Range', 'opset1')}only Range-4 is translated`);
  });

  it('GatherElements on a negative axis', async () => {
    const shape = [2, 3];
    const idx = [2, 0, 1, 1];
    const [o] = await run(shape, iota(6), { op: 'GatherElements', opset: 'opset6', consts: [i32(idx, [2, 2])], out: [[2, 2]], attrs: { axis: '-1' } });
    expect(o!.values).toEqual(build([2, 2], ([r, c]) => flatOf(shape, [r!, idx[r! * 2 + c!]!])));
  });

  it('GatherND-8 keeps the batch dimensions, GatherND-5 flattens them', async () => {
    const shape = [2, 3, 4];
    const idx = [1, 0, 2, 0, 2, 2];
    const ref = build([2, 3, 1], ([b, i]) => flatOf(shape, [b!, i!, idx[b! * 3 + i!]!]));
    const [e] = await run(shape, iota(24), { op: 'GatherND', opset: 'opset8', consts: [i32(idx, [2, 3, 1, 1])], out: [[2, 3, 1]], attrs: { batch_dims: '2' } });
    expect(e).toEqual({ shape: [2, 3, 1], values: ref, dtype: 'float32' });
    const [f] = await run(shape, iota(24), { op: 'GatherND', opset: 'opset5', consts: [i32(idx, [2, 3, 1, 1])], out: [[6, 1]], attrs: { batch_dims: '2' } });
    expect(f).toEqual({ shape: [6, 1], values: ref, dtype: 'float32' });
    const [z] = await run(shape, iota(24), { op: 'GatherND', opset: 'opset5', consts: [i64([1, 2, 0, 0], [2, 2])], out: [[2, 4]] });
    expect(z!.values).toEqual([...iota(4).map((i) => 20 + i), ...iota(4)]);
  });

  it('ScatterUpdate-3 on axis 0 and on a middle axis (negative)', async () => {
    const shape = [2, 3, 2];
    const xs = iota(12);
    const idx = [2, 0];
    const upd = iota(8).map((i) => 100 + i);
    const [o] = await run(shape, xs, { op: 'ScatterUpdate', opset: 'opset3', consts: [i32(idx), f32(upd, [2, 2, 2]), i64([-2], [])], out: [shape] });
    expect(o!.values).toEqual(build(shape, ([a, b, c]) => (idx.includes(b!) ? upd[flatOf([2, 2, 2], [a!, idx.indexOf(b!), c!])]! : xs[flatOf(shape, [a!, b!, c!])]!)));
    const [p] = await run(shape, xs, { op: 'ScatterUpdate', opset: 'opset3', consts: [i64([1], [1, 1]), f32(upd.slice(0, 6), [1, 1, 3, 2]), i64([0], [])], out: [shape] });
    expect(p!.values).toEqual([...iota(6), ...upd.slice(0, 6)]);
  });
});

describe('ReverseSequence, Reverse, ShuffleChannels', () => {
  /** ReverseSequence-1: along seq, the first seq_lengths[batch] elements reversed. */
  const reverseSeqRef = (shape: number[], xs: number[], lengths: number[], b: number, s: number): number[] =>
    build(shape, (c) => {
      const l = lengths[c[b]!]!;
      const at = [...c];
      if (c[s]! < l) at[s] = l - 1 - c[s]!;
      return xs[flatOf(shape, at)]!;
    });

  it('ReverseSequence with batch_axis 0, seq_axis 1 and with other axes (negative)', async () => {
    const shape = [3, 4, 2];
    const xs = iota(24);
    const [o] = await run(shape, xs, { op: 'ReverseSequence', opset: 'opset1', consts: [i32([1, 4, 2])], out: [shape], attrs: { batch_axis: '0', seq_axis: '1' } });
    expect(o!.values).toEqual(reverseSeqRef(shape, xs, [1, 4, 2], 0, 1));
    const [p] = await run(shape, xs, { op: 'ReverseSequence', opset: 'opset1', consts: [f32([3, 2])], out: [shape], attrs: { batch_axis: '-1', seq_axis: '0' } });
    expect(p!.values).toEqual(reverseSeqRef(shape, xs, [3, 2], 2, 0));
  });

  it('Reverse with index axes and with a mask', async () => {
    const shape = [2, 3];
    const xs = iota(6);
    const [o] = await run(shape, xs, { op: 'Reverse', opset: 'opset1', consts: [i64([-1])], out: [shape], attrs: { mode: 'index' } });
    expect(o!.values).toEqual([2, 1, 0, 5, 4, 3]);
    const m = { dtype: 'bool' as DType, shape: [2], values: [1, 1] };
    const [p] = await run(shape, xs, { op: 'Reverse', opset: 'opset1', consts: [m], out: [shape], attrs: { mode: 'mask' } });
    expect(p!.values).toEqual([5, 4, 3, 2, 1, 0]);
    const [q] = await run(shape, xs, { op: 'Reverse', opset: 'opset1', consts: [i64([], [0])], out: [shape], attrs: { mode: 'index' } });
    expect(q!.values).toEqual(xs);
  });

  it('ShuffleChannels on a negative axis', async () => {
    const shape = [1, 6, 2];
    const xs = iota(12);
    const [o] = await run(shape, xs, { op: 'ShuffleChannels', opset: 'opset1', out: [shape], attrs: { axis: '-2', group: '3' } });
    // Channel k of the output is channel (k % 3) * 2 + floor(k / 3) of the input (group rows read as columns).
    expect(o!.values).toEqual(build(shape, ([n, k, w]) => xs[flatOf(shape, [n!, (k! % 3) * 2 + Math.floor(k! / 3), w!])]!));
  });
});

describe('Einsum', () => {
  it('Einsum-7: a matrix product, a sum with a transpose, and an ellipsis', async () => {
    const m = newOvModel('net');
    const g = m.graph;
    const a = ovParam(g, 'a', [2, 3]);
    const b = ovParam(g, 'b', [3, 2]);
    const mm = ovOp(g, 'Einsum', 'opset7', [a, b], [[2, 2]], { equation: 'ij, jk -> ik' }, 'mm');
    const red = ovOp(g, 'Einsum', 'opset7', [a], [[3]], { equation: 'ij->j' }, 'red');
    const tr = ovOp(g, 'Einsum', 'opset7', [b], [[2, 3]], { equation: '...j->j...' }, 'tr');
    g.outputs = [mm.output(0), red.output(0), tr.output(0)];
    const as = testValues(6, 11).map(Math.fround);
    const bs = testValues(6, 12).map(Math.fround);
    const out = await runner.run(m, { a: { shape: [2, 3], values: as }, b: { shape: [3, 2], values: bs } });
    expectClose(out.mm_out!.values, build([2, 2], ([i, k]) => [0, 1, 2].reduce((s, j) => s + as[i! * 3 + j]! * bs[j * 2 + k!]!, 0)));
    expectClose(out.red_out!.values, build([3], ([j]) => as[j!]! + as[3 + j!]!));
    expect(out.tr_out!.values).toEqual(build([2, 3], ([j, r]) => bs[r! * 2 + j!]!));
  });
});

describe('refusals (one per reason)', () => {
  const s3 = [3, 4, 5];
  const cases: [string, number[], Layer, string][] = [
    ['StridedSlice begin/end lengths', s3, { op: 'StridedSlice', opset: 'opset1', consts: [i64([0, 0]), i64([1]), i64([1])], out: [s3], attrs: { begin_mask: '0', end_mask: '0' } }, 'begin has 2 values and end 1'],
    ['StridedSlice strides length', s3, { op: 'StridedSlice', opset: 'opset1', consts: [i64([0]), i64([1]), i64([1, 1])], out: [s3], attrs: { begin_mask: '0', end_mask: '0' } }, 'begin has 1 values and strides 2'],
    ['StridedSlice too many entries', [2], { op: 'StridedSlice', opset: 'opset1', consts: [i64([0, 0]), i64([1, 1]), i64([1, 1])], out: [[1]], attrs: { begin_mask: '0,0', end_mask: '0,0' } }, 'the slice addresses 2 dimensions of a rank-1 input'],
    ['StridedSlice stride 0', s3, { op: 'StridedSlice', opset: 'opset1', consts: [i64([0]), i64([1]), i64([0])], out: [s3], attrs: { begin_mask: '0', end_mask: '0' } }, 'entry 0 has stride 0'],
    ['Pad lengths', s3, { op: 'Pad', opset: 'opset1', consts: [i64([0]), i64([0])], out: [s3], attrs: { pad_mode: 'constant' } }, 'pads_begin and pads_end need 3 values (one per dimension)'],
    ['Interpolate-1 nearest growing and shrinking', [1, 1, 2, 4], { op: 'Interpolate', opset: 'opset1', consts: [i64([4, 2])], out: [[1, 1, 4, 2]], attrs: { axes: '2,3', mode: 'nearest', align_corners: '0' } }, 'nearest_mode "simple" on axes that grow and shrink at once is not translated'],
    ['Interpolate-1 pads', [1, 1, 2, 2], { op: 'Interpolate', opset: 'opset1', consts: [i64([4, 4])], out: [[1, 1, 4, 4]], attrs: { axes: '2,3', mode: 'nearest', pads_begin: '1' } }, 'non-zero pads_begin are not translated'],
    ['Interpolate-1 linear 5D', [1, 1, 2, 2, 2], { op: 'Interpolate', opset: 'opset1', consts: [i64([4, 4])], out: [[1, 1, 2, 4, 4]], attrs: { axes: '3,4', mode: 'linear' } }, 'mode="linear" is not translated for rank 5'],
    ['Interpolate coordinate mode', [1, 1, 2, 2], { op: 'Interpolate', opset: 'opset11', consts: [i64([4, 4]), i64([2, 3])], out: [[1, 1, 4, 4]], attrs: { mode: 'nearest', shape_calculation_mode: 'sizes', coordinate_transformation_mode: 'tf_crop_and_resize' } }, 'coordinate_transformation_mode="tf_crop_and_resize" is not translated'],
    ['Interpolate shape_calculation_mode', [1, 1, 2, 2], { op: 'Interpolate', opset: 'opset11', consts: [i64([4, 4]), i64([2, 3])], out: [[1, 1, 4, 4]], attrs: { mode: 'nearest', shape_calculation_mode: 'both' } }, 'shape_calculation_mode="both" is not translated'],
    ['Interpolate value count', [1, 1, 2, 2], { op: 'Interpolate', opset: 'opset11', consts: [i64([4]), i64([2, 3])], out: [[1, 1, 4, 4]], attrs: { mode: 'nearest', shape_calculation_mode: 'sizes' } }, 'sizes has 1 values for 2 axes'],
    ['Interpolate pads_end', [1, 1, 2, 2], { op: 'Interpolate', opset: 'opset11', consts: [i64([4, 4]), i64([2, 3])], out: [[1, 1, 4, 4]], attrs: { mode: 'cubic', shape_calculation_mode: 'sizes', pads_end: '0,0,0,1' } }, 'non-zero pads_end are not translated'],
    ['DepthToSpace mode', [1, 4, 1, 1], { op: 'DepthToSpace', opset: 'opset1', out: [[1, 1, 2, 2]], attrs: { mode: 'DCR', block_size: '2' } }, 'mode="DCR" is not translated'],
    ['ShapeOf output_type', s3, { op: 'ShapeOf', opset: 'opset3', out: [[3]], attrs: { output_type: 'f32' } }, 'output_type="f32" is not translated (i64 and i32 are)'],
    ['Broadcast explicit mapping length', [3], { op: 'Broadcast', opset: 'opset3', consts: [i64([2, 3]), i64([0, 1])], out: [[2, 3]], attrs: { mode: 'explicit' } }, 'axes_mapping needs one axis per data dimension'],
    ['Range output_type', [], { op: 'Range', opset: 'opset4', consts: [f32([2], []), f32([1], [])], out: [[2]], attrs: { output_type: 'f16' } }, 'output_type="f16" is not translated (f32, f64, i16, i32, i64 are)'],
    ['ScatterUpdate updates rank', [2, 3], { op: 'ScatterUpdate', opset: 'opset3', consts: [i64([0]), f32([1, 2, 3], [3]), i64([0], [])], out: [[2, 3]] }, 'updates must have rank 2'],
    ['ReverseSequence same axes', [2, 3], { op: 'ReverseSequence', opset: 'opset1', consts: [i64([1, 1])], out: [[2, 3]], attrs: { batch_axis: '0', seq_axis: '-2' } }, 'batch_axis and seq_axis are the same axis'],
    ['Reverse mode', [2, 3], { op: 'Reverse', opset: 'opset1', consts: [i64([0])], out: [[2, 3]], attrs: { mode: 'axes' } }, 'mode="axes" is not translated'],
    ['ShuffleChannels group', [1, 6, 2], { op: 'ShuffleChannels', opset: 'opset1', out: [[1, 6, 2]], attrs: { axis: '1', group: '4' } }, 'group 4 does not divide 6 channels'],
    ['Squeeze axis out of range', [1, 2], { op: 'Squeeze', opset: 'opset1', consts: [i64([2])], out: [[2]] }, 'axis 2 is out of range for rank 2'],
  ];
  for (const [what, shape, layer, why] of cases) {
    it(what, () => {
      expect(refusal(shape, layer)).toBe(prefix(layer.op, layer.opset) + why);
    });
  }

  it('needs static shapes where the translation writes them out', () => {
    for (const [layer, why] of [
      [{ op: 'SpaceToDepth', opset: 'opset1', out: [[1, 8, 1, 1]], attrs: { mode: 'depth_first', block_size: '2' } }, 'mode="depth_first" needs a static input shape'],
      [{ op: 'ShuffleChannels', opset: 'opset1', out: [[1, 2, 2, 2]], attrs: { group: '2' } }, 'a static input shape is needed'],
      [{ op: 'Interpolate', opset: 'opset11', consts: [f32([2, 2]), i64([2, 3])], out: [[1, 2, 4, 4]], attrs: { mode: 'nearest', shape_calculation_mode: 'scales' } }, 'shape_calculation_mode="scales" needs the input dimensions of the axes'],
    ] as [Layer, string][]) {
      const m = model([1, 2, 2, 2], layer);
      m.graph.inputs[0]!.shape = [1, 2, 'h', null];
      expect(() => openvinoToOnnx(m)).toThrow(prefix(layer.op, layer.opset) + why);
    }
  });

  it('translates computed shapes and axes (cast to int64 and flattened)', async () => {
    const m = newOvModel('net');
    const g = m.graph;
    const x = ovParam(g, 'x', [3, 1]);
    const like = ovParam(g, 'like', [2, 3, 4]);
    const shape = ovOp(g, 'ShapeOf', 'opset3', [like], [[3]], { output_type: 'i32' }, 'shape');
    shape.outputs[0]!.dtype = 'int32';
    const b = ovOp(g, 'Broadcast', 'opset3', [x, shape.output(0)], [[2, 3, 4]], { mode: 'numpy' }, 'layer');
    g.outputs = [b.output(0)];
    const out = await runner.run(m, { x: { shape: [3, 1], values: [1, 2, 3] }, like: { shape: [2, 3, 4], values: iota(24) } });
    expect(out.layer_out!.values).toEqual(build([2, 3, 4], ([, r]) => r! + 1));
  });
});
