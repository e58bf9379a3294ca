import { DTYPES, type DType } from '../ir/dtype';
import { seededRandom } from '../ir/random';
import { Tensor } from '../ir/tensor';

export { seededRandom };

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
