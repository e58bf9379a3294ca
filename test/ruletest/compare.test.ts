import { compareOutputs } from '../../src/ruletest';
import type { NumericSpec } from '../../src/ruletest/spec';
import { Tensor } from '../../src/ir';

const spec = (over: Partial<NumericSpec>): NumericSpec => ({
  seed: 1, range: [-2, 2], inputs: {}, dims: {}, shapes: {}, tolerance: 0.5, rtol: 0, mismatch: 0, expect: 'same', ...over,
});
// 2 of 10 class indices change.
const before = Tensor.from('int64', [10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(BigInt));
const after = Tensor.from('int64', [10], [0, 1, 2, 3, 4, 5, 6, 7, 1, 2].map(BigInt));
const run = { names: ['classes'], before: [before], after: [after] };

test('mismatch: the share of elements allowed beyond the tolerance', () => {
  expect(compareOutputs(run, spec({})).ok).toBe(false);
  expect(compareOutputs(run, spec({ mismatch: 0.2 }))).toMatchObject({ ok: true, beyondShare: 0.2 });
  const refused = compareOutputs(run, spec({ mismatch: 0.1 }));
  expect(refused.ok).toBe(false);
  expect(refused.problem).toBe("outputs differ by up to 7, beyond the tolerance 0.5; 2 of the 10 elements of 'classes' differ, more than the 0.1 allowed (mismatch)");
});

test('expect: different needs more differing elements than mismatch allows', () => {
  expect(compareOutputs(run, spec({ mismatch: 0.1, expect: 'different' })).ok).toBe(true);
  expect(compareOutputs(run, spec({ mismatch: 0.2, expect: 'different' })).ok).toBe(false);
});
