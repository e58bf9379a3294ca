import { DTYPES, type DType } from '../ir/dtype';
import { Tensor } from '../ir/tensor';

/** A small deterministic generator (mulberry32): the same seed gives the same inputs everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A tensor of `shape` with elements drawn from `next`: floats uniform in
 * [lo, hi), integers rounded down from that range, bools 0 or 1.
 */
export function randomTensor(dtype: DType, shape: readonly number[], [lo, hi]: readonly [number, number], next: () => number): Tensor {
  const count = shape.reduce((a, b) => a * b, 1);
  const kind = DTYPES[dtype].kind;
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const r = lo + (hi - lo) * next();
    values[i] = kind === 'float' ? r : kind === 'bool' ? (next() < 0.5 ? 0 : 1) : Math.floor(r);
  }
  const data = dtype === 'int64' || dtype === 'uint64' ? BigInt64Array.from(values, (x) => BigInt(x)) : values;
  return Tensor.from(dtype, [...shape], data);
}
