/**
 * SearchSorted-15, SliceScatter-15 and BitwiseLeftShift/BitwiseRightShift-15
 * translated to ONNX, run in onnxruntime and compared with what the
 * specification computes here: a binary search (std::lower_bound with < or
 * <=) per value, numpy's out[slices] = updates, and C++'s shifts on every
 * integer type (two's complement wrap-around on the left, arithmetic on the
 * right).
 */
import type { DType } from '../../src/ir/dtype';
import { Tensor } from '../../src/ir/tensor';
import { newOvModel, ovConst, ovOp, ovParam } from '../helpers/openvino-build';
import { TranslatedRunner, coordsOf, flatOf, sizeOf, testValues, translationFailure } from '../helpers/openvino-translate';

let runner: TranslatedRunner;
beforeAll(() => {
  runner = new TranslatedRunner();
});
afterAll(() => runner.close());

describe('SearchSorted', () => {
  /** std::lower_bound over row[0..n) with `before(element, value)`: the first index where it is false. */
  function lowerBound(row: number[], value: number, before: (e: number, v: number) => boolean): number {
    let [lo, hi] = [0, row.length];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(row[mid]!, value)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  function searchRef(sorted: number[], sortedShape: number[], values: number[], valuesShape: number[], right: boolean): number[] {
    const n = sortedShape[sortedShape.length - 1]!;
    const m = valuesShape[valuesShape.length - 1] ?? 1;
    const before = right ? (e: number, v: number) => e <= v : (e: number, v: number) => e < v;
    return values.map((v, i) => {
      const row = sortedShape.length === 1 ? 0 : Math.floor(i / m);
      return lowerBound(sorted.slice(row * n, row * n + n), v, before);
    });
  }

  /** Rows of `n` ascending values with repeats (whole numbers, so values can hit them exactly). */
  function sortedRows(rows: number, n: number, seed: number): number[] {
    const out: number[] = [];
    for (let r = 0; r < rows; r++) out.push(...testValues(n, seed + r, -10, 10).map(Math.round).sort((a, b) => a - b));
    return out;
  }

  function model(sortedShape: number[], valuesShape: number[], dtype: DType, attrs: Record<string, string>, outType: DType = 'int64') {
    const m = newOvModel('net');
    const g = m.graph;
    const sorted = ovParam(g, 'sorted', sortedShape, dtype);
    const values = ovParam(g, 'values', valuesShape, dtype);
    const node = ovOp(g, 'SearchSorted', 'opset15', [sorted, values], [valuesShape], attrs, 'search');
    node.output(0).dtype = outType;
    g.outputs = [node.output(0)];
    return { m, out: node.output(0).name };
  }

  test.each([
    ['1-D sequence, values of rank 3, right_mode default (false)', [9], [2, 3, 4], 'float32', {}, false],
    ['1-D sequence, right_mode true', [9], [2, 3, 4], 'float32', { right_mode: 'true' }, true],
    ['batched [2, 3, 7] rows, 5 values each, right_mode false', [2, 3, 7], [2, 3, 5], 'float32', { right_mode: 'false' }, false],
    ['batched rows, right_mode true, i32', [2, 3, 7], [2, 3, 5], 'int32', { right_mode: 'true' }, true],
    ['batched rows, f16 (compared as f32)', [4, 6], [4, 3], 'float16', { right_mode: 'true' }, true],
    ['u8 (compared as i32), left', [4, 6], [4, 3], 'uint8', {}, false],
  ] as const)('%s', async (_name, sortedShape, valuesShape, dtype, attrs, right) => {
    const n = sortedShape[sortedShape.length - 1]!;
    const unsigned = dtype === 'uint8';
    let sorted = sortedRows(sizeOf(sortedShape) / n, n, 7);
    // Values on the elements, between them and beyond both ends.
    let values = testValues(sizeOf(valuesShape), 13, -12, 12).map((v, i) => (i % 2 === 0 ? Math.round(v) : dtype.startsWith('float') ? v : Math.round(v)));
    if (dtype === 'float32') values = values.map(Math.fround);
    if (dtype === 'float16') values = values.map((v) => Math.round(v * 4) / 4);
    if (unsigned) [sorted, values] = [sorted.map((v) => v + 12), values.map((v) => v + 12)];
    const { m, out } = model([...sortedShape], [...valuesShape], dtype, attrs);
    const got = (await runner.run(m, { sorted: { dtype, shape: [...sortedShape], values: sorted }, values: { dtype, shape: [...valuesShape], values } }))[out]!;
    expect(got.dtype).toBe('int64');
    expect(got.shape).toEqual(valuesShape);
    expect(got.values).toEqual(searchRef(sorted, [...sortedShape], values, [...valuesShape], right));
  });

  test('output_type i32 (the attribute, or the type the output port declares)', async () => {
    const sorted = [1, 2, 2, 2, 5, 8];
    const values = [2, 0, 9, 5];
    for (const attrs of [{ output_type: 'i32' }, {}] as Record<string, string>[]) {
      const { m, out } = model([6], [4], 'float32', attrs, 'int32');
      const got = (await runner.run(m, { sorted: { shape: [6], values: sorted }, values: { shape: [4], values } }))[out]!;
      expect(got.dtype).toBe('int32');
      expect(got.values).toEqual([1, 0, 6, 4]);
    }
  });

  test('u64 inputs and other output types are refused by name', () => {
    expect(translationFailure(model([4], [2], 'uint64', {}).m)).toContain('the inputs are uint64: SearchSorted is translated for floats and integers up to u32, i64');
    expect(translationFailure(model([4], [2], 'float32', { output_type: 'u8' }).m)).toContain('output_type="u8" is not translated (i64 and i32 are)');
  });
});

describe('SliceScatter', () => {
  /** The indices a Slice-8 entry takes along a dimension of `dim` (Python's slice.indices). */
  function sliceIndices(start: number, stop: number, step: number, dim: number): number[] {
    const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
    const norm = (v: number): number => (v < 0 ? v + dim : v);
    const out: number[] = [];
    if (step > 0) {
      for (let i = clamp(norm(start), 0, dim), end = clamp(norm(stop), 0, dim); i < end; i += step) out.push(i);
    } else {
      for (let i = clamp(norm(start), -1, dim - 1), end = clamp(norm(stop), -1, dim - 1); i > end; i += step) out.push(i);
    }
    return out;
  }

  /** out = copy(data); out[slices] = updates, element by element over the updates. */
  function sliceScatterRef(data: number[], shape: number[], updates: number[], start: number[], stop: number[], step: number[], axes: number[]): { out: number[]; updatesShape: number[] } {
    const picked = shape.map((d) => Array.from({ length: d }, (_, i) => i));
    axes.forEach((a, k) => {
      const axis = a < 0 ? a + shape.length : a;
      picked[axis] = sliceIndices(start[k]!, stop[k]!, step[k]!, shape[axis]!);
    });
    const updatesShape = picked.map((p) => p.length);
    const out = [...data];
    updates.forEach((u, i) => {
      const at = coordsOf(updatesShape, i).map((c, d) => picked[d]![c]!);
      out[flatOf(shape, at)] = u;
    });
    return { out, updatesShape };
  }

  const INT64_MAX = 2 ** 63 - 1;

  test.each([
    ['the spec example 1: the first row', [2, 5], [0], [1], [1], [0], true],
    ['the spec example 2: every second column, start and stop clamped', [2, 5], [-25], [25], [2], [1], true],
    ['the spec example 3: both axes, no axes input', [3, 5], [0, 1], [3, 5], [2, 2], null, true],
    ['backwards with a negative step, negative axis', [2, 4, 6], [-1], [0], [-2], [-1], true],
    ['to the end with INT64_MAX, three axes in another order', [2, 4, 6], [1, -3, 0], [INT64_MAX, 100, 2], [3, 1, 1], [2, 1, 0], true],
    ['reversed axis from the end to the front (INT64_MIN-like stop)', [3, 4], [10], [-100], [-1], [1], true],
    ['computed start and stop (i32 inputs)', [3, 6], [1, 5], [3, 0], [1, -2], [0, 1], false],
  ] as const)('%s', async (_name, shape, start, stop, step, axes, constant) => {
    const m = newOvModel('net');
    const g = m.graph;
    const x = ovParam(g, 'x', [...shape]);
    const data = testValues(sizeOf(shape), 17).map(Math.fround);
    const { updatesShape } = sliceScatterRef(data, [...shape], [], [...start], [...stop], [...step], axes ? [...axes] : start.map((_, i) => i));
    const updates = testValues(sizeOf(updatesShape), 23, 10, 20).map(Math.fround);
    const u = ovParam(g, 'u', updatesShape);
    const k = start.length;
    const inputs = [x, u];
    if (constant) {
      // As bigints: 2^63 - 1 is no double.
      const int64s = (name: string, v: readonly number[]) => g.addConstant(name, Tensor.from('int64', [k], v.map((x) => (x === INT64_MAX ? 2n ** 63n - 1n : BigInt(x)))));
      inputs.push(int64s('start', start), int64s('stop', stop));
    } else {
      inputs.push(ovParam(g, 'start', [k], 'int32'), ovParam(g, 'stop', [k], 'int32'));
    }
    inputs.push(ovConst(g, 'step', 'int32', [k], step));
    if (axes) inputs.push(ovConst(g, 'axes', 'int32', [k], axes));
    const node = ovOp(g, 'SliceScatter', 'opset15', inputs, [[...shape]], {}, 'scatter');
    g.outputs = [node.output(0)];
    const feeds: Parameters<TranslatedRunner['run']>[1] = { x: { shape: [...shape], values: data }, u: { shape: updatesShape, values: updates } };
    if (!constant) Object.assign(feeds, { start: { dtype: 'int32', shape: [k], values: start }, stop: { dtype: 'int32', shape: [k], values: stop } });
    const got = (await runner.run(m, feeds))[node.output(0).name]!;
    expect(got.shape).toEqual(shape);
    const expected = sliceScatterRef(data, [...shape], updates, [...start], [...stop], [...step], axes ? [...axes] : start.map((_, i) => i)).out;
    expect(got.values).toEqual(expected);
    // Some but not all elements were replaced.
    expect(got.values.filter((v, i) => v !== data[i]).length).toBe(updates.length);
  });
});

describe('BitwiseLeftShift and BitwiseRightShift', () => {
  const TYPES: DType[] = ['uint8', 'uint16', 'uint32', 'uint64', 'int8', 'int16', 'int32', 'int64'];

  /** C++'s a << b and a >> b in a `bits`-bit type: the exact shift, wrapped to the type (>> of a negative is arithmetic: floor). */
  function shiftRef(a: number, b: number, dtype: DType, left: boolean): number {
    const bits = Number(dtype.replace(/\D/g, ''));
    const wrap = dtype.startsWith('uint') ? (v: bigint) => BigInt.asUintN(bits, v) : (v: bigint) => BigInt.asIntN(bits, v);
    return Number(wrap(left ? BigInt(a) << BigInt(b) : BigInt(a) >> BigInt(b)));
  }

  function model(op: string, dtype: DType, attrs: Record<string, string> = {}) {
    const m = newOvModel('net');
    const g = m.graph;
    const a = ovParam(g, 'a', [2, 3, 4], dtype);
    const b = ovParam(g, 'b', [3, 1], dtype);
    const node = ovOp(g, op, 'opset15', [a, b], [[2, 3, 4]], attrs, 'shift');
    g.outputs = [node.output(0)];
    return { m, out: node.output(0).name };
  }

  test.each(TYPES.flatMap((d) => [['BitwiseLeftShift', d] as const, ['BitwiseRightShift', d] as const]))('%s on %s: numpy broadcasting, every shift below the width', async (op, dtype) => {
    const bits = Number(dtype.replace(/\D/g, ''));
    const signed = dtype.startsWith('int');
    // Extremes of the type (within doubles' exact range) and ordinary values, negative ones for signed types.
    const top = Math.min(2 ** (signed ? bits - 1 : bits) - 1, 2 ** 50);
    const bottom = signed ? -Math.min(2 ** (bits - 1), 2 ** 50) : 0;
    const a = testValues(24, 5, bottom, top).map(Math.round);
    [a[0], a[1], a[2], a[3]] = [top, bottom, -1 * (signed ? 1 : 0), 1];
    const b = [0, Math.floor(bits / 2) + 1, bits - 1];
    const { m, out } = model(op, dtype);
    const got = (await runner.run(m, { a: { dtype, shape: [2, 3, 4], values: a }, b: { dtype, shape: [3, 1], values: b } }))[out]!;
    expect(got.dtype).toBe(dtype);
    expect(got.shape).toEqual([2, 3, 4]);
    // b [3, 1] broadcasts along the last axis of a [2, 3, 4]: row r of each matrix shifts by b[r].
    expect(got.values).toEqual(a.map((v, i) => shiftRef(v, b[Math.floor(i / 4) % 3]!, dtype, op === 'BitwiseLeftShift')));
  });

  test('floats and pdpd broadcasting are refused by name', () => {
    expect(translationFailure(model('BitwiseLeftShift', 'float32').m)).toContain('input 0 is float32: BitwiseLeftShift is translated for integers of 8 to 64 bits');
    expect(translationFailure(model('BitwiseRightShift', 'int32', { auto_broadcast: 'pdpd' }).m)).toContain('auto_broadcast="pdpd" is not translated (numpy and none are)');
  });
});
