/**
 * The shortcut of `elementwise` for same-shape float tensors (and the byte
 * reads and writes of small float tensors it relies on) against the general
 * broadcasting path: the same dtype, shape and bytes on random inputs, for
 * operands the shortcut takes and for those it must leave to the general path.
 */
import { Tensor } from '../../src/ir';
import { BytesData } from '../../src/ir/tensor';
import type { DType } from '../../src/ir/dtype';
import { evaluate, parseExpr, tensorElements } from '../../src/expr';
import { SCRATCH_ELEMENTS, floatTensor, numbersFor } from '../../src/expr/values';
import { BINARY_OPS, NEGATE } from '../../src/expr/functions';
import { ElementwiseSpec, Operand, broadcastElementwise, elementwise } from '../../src/expr/tensor-math';

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const at = { start: 0, end: 1 };
const SQRT: ElementwiseSpec = { name: 'sqrt()', result: 'float', num: Math.sqrt };
const WHERE: ElementwiseSpec = { name: 'where()', result: 'common', num: (x, y, z) => (x ? y : z), typed: [1, 2] };
const SPECS: ElementwiseSpec[] = [...Object.values(BINARY_OPS), NEGATE, SQRT, WHERE];

/** Tensor bytes at an odd offset of a larger buffer, as a model file's initializers often are. */
function unaligned(t: Tensor): Tensor {
  const bytes = t.data.bytes();
  const file = new Uint8Array(bytes.byteLength + 3);
  file.set(bytes, 3);
  return new Tensor(t.dtype, [...t.shape], new BytesData(file.subarray(3)));
}

function tensor(next: () => number, dtype: DType, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const special = [0, -0, 1, -1, NaN, Infinity, -Infinity, 1e-5, 3.4e38, 1e-45];
  const data = Array.from({ length: n }, () => {
    const r = next();
    if (r < 0.1) return special[Math.floor(next() * special.length)]!;
    const x = (next() - 0.5) * 20;
    return dtype.startsWith('float') ? x : Math.trunc(x);
  });
  const t = dtype === 'int64' ? Tensor.from(dtype, shape, data.map((x) => BigInt(Number.isFinite(x) ? Math.trunc(x) : 0))) : Tensor.from(dtype, shape, data);
  return next() < 0.5 ? unaligned(t) : t;
}

function scalar(next: () => number): number {
  const r = next();
  if (r < 0.2) return Math.floor(next() * 10) - 5;
  if (r < 0.25) return NaN;
  return (next() - 0.5) * 100;
}

function same(a: Tensor, b: Tensor): void {
  expect(a.dtype).toBe(b.dtype);
  expect(a.shape).toEqual(b.shape);
  expect([...a.data.bytes()]).toEqual([...b.data.bytes()]);
}

function operandsFor(next: () => number, spec: ElementwiseSpec, dtypes: DType[], shapes: number[][]): Operand[] {
  const arity = spec === NEGATE || spec === SQRT ? 1 : spec === WHERE ? 3 : 2;
  return Array.from({ length: arity }, (_, k) => {
    if (k > 0 && next() < 0.3) return scalar(next);
    const dtype = dtypes[Math.floor(next() * dtypes.length)]!;
    const shape = shapes[Math.floor(next() * shapes.length)]!;
    return tensor(next, dtype, shape);
  });
}

function agree(spec: ElementwiseSpec, operands: Operand[]): boolean {
  let expected: Tensor | Error;
  try {
    expected = broadcastElementwise(spec, operands, at);
  } catch (e) {
    expected = e as Error;
  }
  if (expected instanceof Error) {
    expect(() => elementwise(spec, operands, at)).toThrow(expected.message);
    return false;
  }
  same(elementwise(spec, operands, at), expected);
  return true;
}

describe('elementwise: the same-shape float shortcut agrees with the general path', () => {
  test('same-shape float32 and float64 operands, small and large, with plain numbers', () => {
    const next = random(7);
    let compared = 0;
    for (let round = 0; round < 600; round++) {
      const spec = SPECS[round % SPECS.length]!;
      const dtype: DType = round % 3 === 0 ? 'float64' : 'float32';
      // 4 elements stay under the small-tensor byte limit; 24 and 3x7 go past it.
      const shape = [[4], [24], [3, 7], [], [1]][round % 5]!;
      if (agree(spec, operandsFor(next, spec, [dtype], [shape]))) compared++;
    }
    expect(compared).toBeGreaterThan(500);
  });

  test('operands the shortcut must leave alone: broadcasting, mixed dtypes, float16, ints, int64, booleans', () => {
    const next = random(11);
    const dtypes: DType[] = ['float32', 'float64', 'float16', 'int32', 'int64', 'uint8', 'bool'];
    const shapes = [[4], [1, 4], [3, 1], [3, 4], [], [1]];
    let compared = 0;
    for (let round = 0; round < 1500; round++) {
      const spec = SPECS[round % SPECS.length]!;
      const operands = operandsFor(next, spec, dtypes, shapes);
      if (next() < 0.1) operands[operands.length - 1] = next() < 0.5;
      if (agree(spec, operands)) compared++;
    }
    expect(compared).toBeGreaterThan(1000);
  });

  test('a float32 result is rounded once per operation, as a float32 array stores it', () => {
    const x = Tensor.from('float32', [2], [1, 3]);
    const third = elementwise(BINARY_OPS['/']!, [x, 3], at);
    expect([...tensorElements(third)]).toEqual([Math.fround(1 / 3), 1]);
    expect(third.dtype).toBe('float32');
  });
});

describe('small float tensors read without a view', () => {
  test('elements of float32/float64 tensors at any byte offset equal their decoded values', () => {
    const next = random(3);
    for (let round = 0; round < 200; round++) {
      const dtype: DType = round % 2 ? 'float32' : 'float64';
      const t = tensor(next, dtype, [Math.floor(next() * 20)]);
      expect([...tensorElements(t)]).toEqual([...t.toFloat64()]);
    }
  });
});

describe('computed float tensors (elements kept as numbers, bytes encoded on demand)', () => {
  test('bytes and elements equal those of the IR encoder, for small and large tensors', () => {
    const next = random(5);
    for (let round = 0; round < 300; round++) {
      const dtype = round % 2 ? 'float32' : 'float64';
      const n = round % 3 === 0 ? 40 : Math.floor(next() * 16);
      const values = Array.from({ length: n }, () => (next() < 0.1 ? [NaN, Infinity, -0, 1e-46, 3.5e38][round % 5]! : (next() - 0.5) * 1e4));
      const computed = floatTensor(dtype, [n], Float64Array.from(values));
      const encoded = Tensor.from(dtype, [n], values);
      expect(computed.data.byteLength).toBe(encoded.data.byteLength);
      expect([...computed.data.bytes()]).toEqual([...encoded.data.bytes()]);
      expect([...tensorElements(computed)]).toEqual([...encoded.toFloat64()]);
    }
  });
});

describe('small computed float tensors (elements kept in a plain array)', () => {
  test('numbersFor reads them into the scratch, large ones as kept; both equal the encoded elements', () => {
    const next = random(11);
    const scratch = new Float64Array(SCRATCH_ELEMENTS);
    for (let round = 0; round < 200; round++) {
      const dtype = round % 2 ? 'float32' : 'float64';
      const n = round % 4 === 0 ? 17 + Math.floor(next() * 30) : Math.floor(next() * (dtype === 'float32' ? 17 : 9));
      const values = Array.from({ length: n }, () => (next() - 0.5) * 1e3);
      const computed = floatTensor(dtype, [n], Float64Array.from(values));
      const want = [...Tensor.from(dtype, [n], values).toFloat64()];
      const read = numbersFor(computed, scratch);
      expect([...read.subarray(0, n)]).toEqual(want);
      expect(read === scratch).toBe(n * (dtype === 'float32' ? 4 : 8) <= 64);
      // A later read of another tensor into the same scratch leaves the computed tensor as it was.
      numbersFor(floatTensor(dtype, [n], new Float64Array(n).fill(7)), scratch);
      expect([...tensorElements(computed)]).toEqual(want);
      expect([...computed.data.bytes()]).toEqual([...Tensor.from(dtype, [n], values).data.bytes()]);
    }
  });

  test('a NaN keeps its sign and payload bits in the written bytes (a plain array would make it the canonical NaN)', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const src = new Float64Array([1, 0, 2, 0]);
      src[1] = -NaN;
      src[3] = NaN;
      const computed = floatTensor(dtype, [4], Float64Array.from(src));
      expect([...computed.data.bytes()]).toEqual([...Tensor.from(dtype, [4], src).data.bytes()]);
      expect([...computed.data.bytes()]).not.toEqual([...Tensor.from(dtype, [4], [1, NaN, 2, NaN]).data.bytes()]);
    }
  });

  test('arithmetic on computed tensors equals arithmetic on the same elements read from bytes', () => {
    const next = random(12);
    for (let round = 0; round < 100; round++) {
      const dtype = round % 2 ? 'float32' : 'float64';
      const n = 1 + Math.floor(next() * 24);
      const a = Array.from({ length: n }, () => next() * 10);
      const b = Array.from({ length: n }, () => next() * 10 + 1);
      const computed = { a: floatTensor(dtype, [n], Float64Array.from(a)), b: floatTensor(dtype, [n], Float64Array.from(b)) };
      const encoded = { a: Tensor.from(dtype, [n], a), b: Tensor.from(dtype, [n], b) };
      for (const text of ['$a / sqrt($b + 1e-5)', '$b - $a * ($a / $b)', '$a * $b', 'unsqueeze($a - $b * 2, [1, 2])']) {
        const x = evaluate(parseExpr(text), { captures: computed }) as Tensor;
        const y = evaluate(parseExpr(text), { captures: encoded }) as Tensor;
        expect(x.shape).toEqual(y.shape);
        expect([...x.data.bytes()]).toEqual([...y.data.bytes()]);
      }
    }
  });
});
