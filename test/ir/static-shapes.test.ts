/**
 * The shape arithmetic of src/ir/static-shapes.ts with unknown sizes: NaN
 * stands for one while carryStaticShapes probes a rule (probedShapes).
 */
import { Graph } from '../../src/ir/graph';
import { broadcastStatic, carryStaticShapes, matmulShape, reshaped, type ShapeRule } from '../../src/ir/static-shapes';

const NaN_ = Number.NaN;

test('broadcasting: an unknown size takes a known one, and stays unknown against 1 or another unknown', () => {
  expect(broadcastStatic([[NaN_, 3], [4, 1]])).toEqual([4, 3]);
  expect(broadcastStatic([[4, 1], [NaN_, 3]])).toEqual([4, 3]);
  expect(broadcastStatic([[NaN_, 3], [1, 3]])).toEqual([NaN_, 3]);
  expect(broadcastStatic([[NaN_], [NaN_]])).toEqual([NaN_]);
  expect(() => broadcastStatic([[NaN_, 3], [2, 4]])).toThrow(/do not broadcast/);
});

test('a reshape of an unknown count leaves its -1 unknown, and refuses two', () => {
  expect(reshaped(NaN_, [2, -1, 4])).toEqual([2, NaN_, 4]);
  expect(reshaped(NaN_, [2, 4])).toEqual([2, 4]);
  expect(reshaped(NaN_, [-1, -1])).toBeUndefined();
  expect(reshaped(24, [2, -1, 4])).toEqual([2, 3, 4]);
});

test('a matrix product whose inner size is unknown on one side still has its outer sizes', () => {
  expect(matmulShape([NaN_, 5, NaN_], [7, 3], false, false)).toEqual([NaN_, 5, 3]);
  expect(matmulShape([2, 5, 4], [7, 3], false, false)).toBeUndefined();
});

describe('carryStaticShapes over an unknown size', () => {
  const graphWith = (rule: ShapeRule): { run: () => unknown; out: () => unknown } => {
    const g = new Graph('main');
    const x = g.addValue('x', { dtype: 'float32', shape: [1, null] });
    const y = g.addValue('y', { dtype: 'float32', shape: undefined });
    g.addNode({ op: 'Probe', name: 'probe', inputs: [x], outputs: [y] });
    g.inputs = [x];
    g.outputs = [y];
    return { run: () => carryStaticShapes(g, () => rule), out: () => y.shape };
  };

  test('a size clamped to a bound (min(n, 100)) stays unknown, though every large n gives 100', () => {
    const clamped = graphWith((_n, [x]) => [[x![0]!, Math.min(x![1]!, 100)]]);
    clamped.run();
    expect(clamped.out()).toEqual([1, null]);
  });

  test('a size a comparison hides from NaN (n > 100 ? 100 : n) is caught by the two large probes', () => {
    const compared = graphWith((_n, [x]) => [[x![0]!, x![1]! > 5000 ? 5000 : x![1]! > 100 ? 100 : x![1]!]]);
    compared.run();
    // NaN gives n (unknown), 4099 and 4111 give 100: the runs disagree, so the size stays unknown.
    expect(compared.out()).toEqual([1, null]);
    const hidden = graphWith((_n, [x]) => [[x![0]!, x![1]! > 100 ? 100 : 7]]);
    hidden.run();
    // NaN > 100 is false (7), the large probes give 100: unknown again.
    expect(hidden.out()).toEqual([1, null]);
  });

  test('sizes that do not depend on the unknown one are filled, and a rule that throws on a probe fills nothing', () => {
    const independent = graphWith((_n, [x]) => [[x![0]!, 8, x![1]! * 2]]);
    expect(independent.run()).toEqual({ filled: 1, stuck: [] });
    expect(independent.out()).toEqual([1, 8, null]);
    const throwing = graphWith((_n, [x]) => {
      if (Number.isNaN(x![1]!)) throw new Error('needs a size');
      return [[1, 8]];
    });
    expect(throwing.run()).toEqual({ filled: 0, stuck: [] });
    expect(throwing.out()).toBeUndefined();
  });
});
