/**
 * ConvertPromoteTypes-14 and FakeConvert-13 translated to ONNX, run in
 * onnxruntime and compared with what the specification and OpenVINO's
 * reference compute: the common type of two inputs by the promotion rules
 * (and the refusals OpenVINO raises), and the float8 formats emulated on the
 * f16 bits of the scaled data, in both destination types, with and without
 * shift, for f32 and f16 data.
 */
import type { DType } from '../../src/ir/dtype';
import { fromFloat16Bits, toFloat16Bits } from '../../src/ir/tensor';
import { newOvModel, ovConst, ovOp, ovParam } from '../helpers/openvino-build';
import { TranslatedRunner, expectClose, sizeOf, testValues, translationFailure } from '../helpers/openvino-translate';

let runner: TranslatedRunner;
beforeAll(() => {
  runner = new TranslatedRunner();
});
afterAll(() => runner.close());

describe('ConvertPromoteTypes', () => {
  interface Side {
    dtype: DType;
    shape: number[];
    values: number[];
  }

  // onnxruntime-node takes no bf16 inputs: a bf16 side is a constant.
  const fed = (side: Side): boolean => side.dtype !== 'bfloat16';

  /** The layer, its output ports declaring `common` (OpenVINO writes the promoted type there). */
  function promote(a: Side, b: Side, attrs: Record<string, string> = {}, common?: DType) {
    const m = newOvModel('net');
    const g = m.graph;
    const input = (name: string, side: Side) => (fed(side) ? ovParam(g, name, side.shape, side.dtype) : ovConst(g, name, side.dtype, side.shape, side.values));
    const x = input('a', a);
    const y = input('b', b);
    const node = ovOp(g, 'ConvertPromoteTypes', 'opset14', [x, y], [a.shape, b.shape], attrs, 'promote');
    if (common) for (const out of node.outputs) out.dtype = common;
    g.outputs = [node.output(0), node.output(1)];
    return { m, outs: [node.output(0).name, node.output(1).name] as const };
  }

  async function run(a: Side, b: Side, attrs: Record<string, string>, common: DType) {
    const { m, outs } = promote(a, b, attrs, common);
    const got = await runner.run(m, Object.fromEntries(Object.entries({ a, b }).filter(([, side]) => fed(side))));
    return [got[outs[0]]!, got[outs[1]]!] as const;
  }

  const f32 = (values: number[]): number[] => values.map(Math.fround);
  const f16 = (values: number[]): number[] => values.map((v) => fromFloat16Bits(toFloat16Bits(v)));

  test.each([
    // [a, b, attributes, common type, how a value of a reads in it, how a value of b reads in it]
    ['i8 with f32: the float (32 bits hold twice 8)', 'int8', 'float32', {}, 'float32'],
    ['i32 with u8: i32 holds every u8 value', 'int32', 'uint8', {}, 'int32'],
    ['u8 with i8, unsafe: i16', 'uint8', 'int8', { promote_unsafe: 'true' }, 'int16'],
    ['i16 with u32, unsafe: i64', 'int16', 'uint32', { promote_unsafe: 'true' }, 'int64'],
    ['u16 with i64: i64', 'uint16', 'int64', {}, 'int64'],
    ['u8 with u32: the wider', 'uint8', 'uint32', {}, 'uint32'],
    ['f16 with f64: the wider', 'float16', 'float64', {}, 'float64'],
    ['boolean with f16: f16', 'bool', 'float16', {}, 'float16'],
    ['i64 with boolean: i64', 'int64', 'bool', {}, 'int64'],
    ['f16 with i64, unsafe: f16', 'float16', 'int64', { promote_unsafe: 'true' }, 'float16'],
    ['f16 with bf16, unsafe: f32', 'float16', 'bfloat16', { promote_unsafe: 'true' }, 'float32'],
    ['u64 with i8, unsafe: u64_integer_promotion_target (default f32)', 'uint64', 'int8', { promote_unsafe: 'true' }, 'float32'],
    ['u64 with i16, unsafe, u64_integer_promotion_target i64', 'uint64', 'int16', { promote_unsafe: 'true', u64_integer_promotion_target: 'i64' }, 'int64'],
    ['equal types stay', 'int16', 'int16', {}, 'int16'],
  ] as const)('%s', async (_name, ta, tb, attrs, common) => {
    const sample = (d: DType, seed: number): number[] => {
      if (d === 'bool') return [0, 1, 1, 0, 1, 0];
      const [lo, hi] = d.startsWith('uint') ? [0, d === 'uint64' ? 2 ** 40 : d === 'uint32' ? 4e9 : d === 'uint16' ? 65535 : 255] : d.startsWith('int') ? [-128, 127] : [-300, 300];
      const raw = testValues(6, seed, lo, hi);
      // Whole numbers below 256 in magnitude are exact in bf16 (8 significant bits).
      return d.includes('int') ? raw.map(Math.round) : d === 'float16' ? f16(raw) : d === 'bfloat16' ? raw.map((v) => Math.round(v / 2)) : f32(raw);
    };
    const a = { dtype: ta as DType, shape: [2, 3], values: sample(ta, 3) };
    const b = { dtype: tb as DType, shape: [3, 2], values: sample(tb, 5) };
    const [oa, ob] = await run(a, b, attrs, common);
    expect([oa.dtype, ob.dtype]).toEqual([common, common]);
    expect([oa.shape, ob.shape]).toEqual([a.shape, b.shape]);
    // Every value converts exactly except large u64 ones into f32, which round to nearest.
    const inCommon = (values: number[]): number[] => (common === 'float32' ? f32(values) : common === 'float16' ? f16(values) : values);
    expect(oa.values).toEqual(inCommon(a.values));
    expect(ob.values).toEqual(inCommon(b.values));
  });

  test('pytorch_scalar_promotion: a scalar of the same kind takes the tensor type; integers wrap', async () => {
    const [scalar, tensor] = await run(
      { dtype: 'int64', shape: [], values: [300] },
      { dtype: 'uint8', shape: [4], values: [0, 7, 200, 255] },
      { pytorch_scalar_promotion: 'true', promote_unsafe: 'true' },
      'uint8',
    );
    expect([scalar.dtype, tensor.dtype]).toEqual(['uint8', 'uint8']);
    expect(scalar.values).toEqual([300 % 256]);
    expect(tensor.values).toEqual([0, 7, 200, 255]);
    // Mixed kinds follow the general rules whatever the ranks: f16 scalar with an i8 tensor is f16.
    const [s2, t2] = await run({ dtype: 'float16', shape: [], values: [2.5] }, { dtype: 'int8', shape: [3], values: [-3, 0, 100] }, { pytorch_scalar_promotion: 'true' }, 'float16');
    expect([s2.dtype, t2.dtype]).toEqual(['float16', 'float16']);
    expect([...s2.values, ...t2.values]).toEqual([2.5, -3, 0, 100]);
    // Without it, the same pair of integers is promoted by width: i64.
    const [s3] = await run({ dtype: 'int64', shape: [], values: [300] }, { dtype: 'int32', shape: [2], values: [1, 2] }, {}, 'int64');
    expect(s3.dtype).toBe('int64');
  });

  test('combinations OpenVINO rejects are refused with its reason', () => {
    const side = (dtype: DType, shape: number[] = [2]): Side => ({ dtype, shape, values: shape.length === 0 ? [0] : [0, 0] });
    const failure = (a: Side, b: Side, attrs: Record<string, string> = {}): string => translationFailure(promote(a, b, attrs).m);
    expect(failure(side('int8'), side('uint8'))).toContain('OpenVINO rejects i8 with u8: no signed type of its width holds every value of the unsigned one (promote_unsafe="false")');
    expect(failure(side('float16'), side('int64'))).toContain(`OpenVINO rejects f16 with i64: the float has fewer than twice the integer's bits (promote_unsafe="false")`);
    expect(failure(side('uint64'), side('int8'))).toContain('OpenVINO rejects u64 with i8: no signed type of its width');
    expect(failure(side('float16'), side('bfloat16'))).toContain('OpenVINO rejects f16 with bf16: no rule promotes them (promote_unsafe="false")');
    expect(failure(side('int64', []), side('uint8'), { pytorch_scalar_promotion: 'true' })).toContain(
      `OpenVINO rejects i64 with u8: the scalar's type does not fit the tensor's (promote_unsafe="false")`,
    );
    expect(failure(side('float8e4m3fn'), side('float8e5m2'), { promote_unsafe: 'true' })).toContain('element type f8e4m3 is not translated (ONNX opset 17 has no Cast to or from it)');
    expect(failure(side('uint64'), side('int8'), { promote_unsafe: 'true', u64_integer_promotion_target: 'i4' })).toContain('element type i4 is not translated');
  });
});

describe('FakeConvert', () => {
  /** OpenVINO's f8e5m2 emulation on f16 bits: round to 2 mantissa bits, ties to even; what reaches the infinity pattern becomes ±57344. */
  function e5m2Bits(h: number): number {
    let bits = h;
    if ((bits & 0x7c00) !== 0x7c00) {
      const below = bits & 0xff; // the 8 mantissa bits f8e5m2 drops
      const roundUp = below > 0x80 || (below === 0x80 && (bits & 0x100) !== 0);
      if (roundUp) bits += 0x100;
    }
    bits &= 0xff00;
    if ((bits & 0x7f00) === 0x7c00) bits -= 0x100;
    return bits;
  }

  /**
   * OpenVINO's f8e4m3 emulation on f16 bits: below 2^-9 flushes to +0; an
   * exponent above 8 (infinity, NaN too) or 448 and more become 448; else the
   * mantissa rounds to 3 bits, ties to even, and for exponents -7..-9 is then
   * shifted down and back (truncating to the f8e4m3 subnormal grid).
   */
  function e4m3Bits(h: number): number {
    const bits = Math.abs(fromFloat16Bits(h)) < 2 ** -9 ? 0 : h;
    const sign = bits & 0x8000;
    let exponent = ((bits & 0x7c00) >> 10) - 15;
    let mantissa = bits & 0x3ff;
    let special = (bits & 0x7c00) === 0x7c00;
    const roundable = (bits & 0x7fff) < 0x5f80;
    if (exponent > 8) {
      special = true;
      exponent = 8;
      mantissa = 0x300;
    } else if (exponent < -9) {
      exponent = -15;
      mantissa = 0;
    }
    if (exponent === 8 && mantissa >= 0x300) mantissa = 0x300;
    const below = mantissa & 0x7f;
    if (!special && roundable && (below > 0x40 || (mantissa & 0xc0) === 0xc0)) mantissa += 0x80;
    const down = exponent < -6 ? -6 - exponent : 0;
    mantissa = (((mantissa >> down) & 0xff80) << down) + ((exponent + 15) << 10);
    return (mantissa | sign) & 0xffff;
  }

  /** x rounded to f16 (as OpenVINO's float16 arithmetic rounds each result). */
  const half = (x: number): number => fromFloat16Bits(toFloat16Bits(Math.fround(x)));

  /** The reference: scale and shift in the data type, the float8 emulation on the f16 value, and back. */
  function fakeConvertRef(data: number[], dataShape: number[], scale: number[], shift: number[] | null, channels: number, dtype: 'float32' | 'float16', to: 'f8e4m3' | 'f8e5m2'): number[] {
    const round = dtype === 'float16' ? half : Math.fround;
    const inner = sizeOf(dataShape.slice(2));
    return data.map((x, i) => {
      const c = Math.floor(i / inner) % channels;
      const s = scale[c]!;
      const o = shift ? shift[c]! : 0;
      const scaled = round(round(x * s) - o);
      const bits = toFloat16Bits(scaled);
      const emulated = fromFloat16Bits(to === 'f8e4m3' ? e4m3Bits(bits) : e5m2Bits(bits));
      return round(round(emulated + o) / s);
    });
  }

  // Values at the interesting places of both formats (before scaling by 1): ties of 3 and of 2
  // mantissa bits, f8e4m3 subnormals and the flush below 2^-9, the largest values, overflow and
  // the f16 infinity, negative ones, zero; and f32 values just above a tie that f16 rounds onto
  // it (then ties to even, where rounding the f32 value would go up).
  const SPECIAL = [
    0, 1, 1.0625, 1.1875, 1.125, 1.375, 1.3, 1.0625 + 2 ** -13, 1.125 + 2 ** -13, -2.7, 0.0039, 0.0034, 0.0029, 0.0013, 0.0019, 0.0009, -0.0041, 0.012, 0.0155, 2 ** -9, 2 ** -6,
    440, 432, 448, 460, 500, 600, -1000, 52000, 57344, 60000, 61440, 65504, 70000, -1e6, Infinity, 1e-6, 3e-5, -6e-5, 0.07, 100.5,
  ];

  function model(dataShape: number[], channels: number, dtype: 'float32' | 'float16', to: string, scale: number[], shift: number[] | null) {
    const m = newOvModel('net');
    const g = m.graph;
    const x = ovParam(g, 'x', dataShape, dtype);
    const s = ovConst(g, 'scale', dtype, [1, channels, 1, 1], scale);
    const inputs = [x, s];
    if (shift) inputs.push(ovConst(g, 'shift', dtype, [1, channels, 1, 1], shift));
    const node = ovOp(g, 'FakeConvert', 'opset13', inputs, [dataShape], { destination_type: to }, 'fc');
    g.outputs = [node.output(0)];
    return { m, out: node.output(0).name };
  }

  test.each([
    ['f8e4m3, f32 data, scale only', 'f8e4m3', 'float32', false],
    ['f8e5m2, f32 data, scale only', 'f8e5m2', 'float32', false],
    ['f8e4m3, f32 data, scale and shift', 'f8e4m3', 'float32', true],
    ['f8e5m2, f32 data, scale and shift', 'f8e5m2', 'float32', true],
    ['f8e4m3, f16 data, scale and shift', 'f8e4m3', 'float16', true],
    ['f8e5m2, f16 data, scale only', 'f8e5m2', 'float16', false],
  ] as const)('%s: the reference emulation on f16 bits', async (_name, to, dtype, withShift) => {
    const C = 3;
    const shape = [2, C, 4, 128];
    const n = sizeOf(shape);
    // Channel 0 passes the special values as they are; the others scale and shift random data.
    const round = dtype === 'float16' ? half : Math.fround;
    const scale = [1, 37.5, 0.0625];
    // Shifts of many bits: (x + shift) rounds in the data type before the division.
    const shift = withShift ? [0, 3.3, -0.517].map(round) : null;
    const random = testValues(n, 29, -12, 12);
    const inner = sizeOf(shape.slice(2));
    const data = random.map((v, i) => {
      const c = Math.floor(i / inner) % C;
      const x = c === 0 ? SPECIAL[i % inner % SPECIAL.length]! : v * (i % 7 === 0 ? 0.001 : 1);
      return round(x);
    });
    const { m, out } = model(shape, C, dtype, to, scale, shift);
    const got = (await runner.run(m, { x: { dtype, shape, values: data } }))[out]!;
    expect(got.dtype).toBe(dtype);
    expect(got.shape).toEqual(shape);
    expectClose(got.values, fakeConvertRef(data, shape, scale, shift, C, dtype, to), 0);
  });

  test('the emulation itself: every finite f16 value through both formats', async () => {
    // All 63488 finite f16 bit patterns as f32 data with scale 1: the translation's arithmetic
    // against the bit-level reference, value by value.
    const finite: number[] = [];
    for (let h = 0; h < 0x10000; h++) if ((h & 0x7c00) !== 0x7c00) finite.push(fromFloat16Bits(h));
    for (const to of ['f8e4m3', 'f8e5m2'] as const) {
      const shape = [1, 1, 1, finite.length];
      const { m, out } = model(shape, 1, 'float32', to, [1], null);
      const got = (await runner.run(m, { x: { shape, values: finite } }))[out]!;
      expectClose(got.values, fakeConvertRef(finite, shape, [1], null, 1, 'float32', to), 0);
    }
  });

  test('other destination types and bf16 data are refused by name', () => {
    expect(translationFailure(model([1, 1, 2, 2], 1, 'float32', 'f4e2m1', [1], null).m)).toContain('destination_type="f4e2m1" is not translated (f8e4m3 and f8e5m2 are)');
    const m = newOvModel('net');
    const g = m.graph;
    const x = ovParam(g, 'x', [2], 'bfloat16');
    const node = ovOp(g, 'FakeConvert', 'opset13', [x, ovConst(g, 's', 'bfloat16', [1], [1])], [[2]], { destination_type: 'f8e4m3' }, 'fc');
    g.outputs = [node.output(0)];
    expect(translationFailure(m)).toContain('data is bf16: FakeConvert is translated for f32 and f16 data');
  });
});
