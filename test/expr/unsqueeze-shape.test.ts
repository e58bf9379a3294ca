import { Tensor } from '../../src/ir';
import { ExprValue, evaluate, parseExpr, tensorElements } from '../../src/expr';

const ev = (text: string, captures: Record<string, ExprValue>): Tensor => {
  const v = evaluate(parseExpr(text), { captures });
  if (!(v instanceof Tensor)) throw new Error(`expected a tensor, got ${String(v)}`);
  return v;
};

/** The shape unsqueeze() worked out the general way (a fresh array per call). */
function expectedShape(shape: readonly number[], axes: readonly number[]): number[] {
  const rank = shape.length + axes.length;
  const at = axes.map((a) => (a < 0 ? a + rank : a));
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < rank; i++) out.push(at.includes(i) ? 1 : shape[next++]!);
  return out;
}

describe('unsqueeze() shares one frozen shape between results of the same dims', () => {
  test('consecutive calls of one shape share it; a different shape gets its own, each right', () => {
    const a = Tensor.from('float32', [4], [1, 2, 3, 4]);
    const b = Tensor.from('float32', [4], [5, 6, 7, 8]);
    const first = ev('unsqueeze($a, [1, 2])', { a });
    const second = ev('unsqueeze($b, [1, 2])', { b });
    expect(first.shape).toEqual([4, 1, 1]);
    expect(second.shape).toBe(first.shape);
    expect(Object.isFrozen(first.shape)).toBe(true);
    // The data stays each tensor's own.
    expect([...tensorElements(first)]).toEqual([1, 2, 3, 4]);
    expect([...tensorElements(second)]).toEqual([5, 6, 7, 8]);
    const other = ev('unsqueeze($a, [0])', { a });
    expect(other.shape).toEqual([1, 4]);
    expect(first.shape).toEqual([4, 1, 1]);
    const third = ev('unsqueeze($a, [1, 2])', { a });
    expect(third.shape).toEqual([4, 1, 1]);
  });

  test('gives the shape of the general way for many shapes and axes, in any order of calls', () => {
    const cases: [number[], number[]][] = [
      [[4], [1, 2]], [[4], [1, 2]], [[4], [0]], [[3], [1, 2]], [[4], [-1]], [[2, 3], [0, -1]],
      [[2, 3], [1]], [[], [0]], [[], [0, 1]], [[4], [1, 2, 3]], [[4], [1, 2]], [[1], [0]], [[1], [1]],
    ];
    for (const [shape, axes] of cases) {
      const size = shape.reduce((x, y) => x * y, 1);
      const t = Tensor.from('float32', shape, Array.from({ length: size }, (_, i) => i));
      const out = ev(`unsqueeze($t, [${axes.join(', ')}])`, { t });
      expect(out.shape).toEqual(expectedShape(shape, axes));
      expect([...tensorElements(out)]).toEqual([...tensorElements(t)]);
    }
  });
});
