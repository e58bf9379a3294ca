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
import { TranslatedRunner, testValues } from '../helpers/openvino-translate';

let runner: TranslatedRunner;
beforeAll(() => {
  runner = new TranslatedRunner();
});
afterAll(() => runner.close());

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** The coordinates of flat index `i` in a row-major tensor of `shape`. */
function coordsOf(shape: readonly number[], i: number): number[] {
  const c = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    c[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return c;
}

function flatOf(shape: readonly number[], c: readonly number[]): number {
  return c.reduce((acc, x, d) => acc * shape[d]! + x, 0);
}

/** A tensor of `shape` whose element at each coordinate is `f(coords)`. */
function build(shape: readonly number[], f: (c: number[]) => number): number[] {
  return Array.from({ length: size(shape) }, (_, i) => f(coordsOf(shape, i)));
}

/** The distinct values 0, 1, 2, ... so that every moved element is recognisable. */
const iota = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

interface Layer {
  op: string;
  opset: string;
  consts?: { dtype: DType; shape: number[]; values: number[] }[];
  out: number[][];
  attrs?: Record<string, string>;
  outDType?: DType;
}

/** One layer on Parameter `x` (then the given Const inputs); the layer is named 'layer'. */
function model(xShape: number[], layer: Layer, xType: DType = 'float32'): Model {
  const m = newOvModel('net');
  const g: Graph = m.graph;
  const x = ovParam(g, 'x', xShape, xType);
  const inputs: Value[] = [x, ...(layer.consts ?? []).map((c, i) => ovConst(g, `c${i}`, c.dtype, c.shape, c.values))];
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
