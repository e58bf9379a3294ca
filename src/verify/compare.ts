/** How one array of elements differs from a reference array. */
export interface ElementDiff {
  /** Largest |reference - other| (Infinity when a NaN meets a number). */
  maxAbsDiff: number;
  /** Largest |reference - other| / |reference| where |reference| is above atol: near 0 a rounding difference is a large ratio that says nothing. */
  maxRelDiff: number;
  /** Elements beyond atol + rtol * |reference|. */
  beyond: number;
  /** Index of the first of them, or -1. */
  firstBeyond: number;
}

/**
 * Compares `other` with `reference` element by element: within tolerance when
 * |reference - other| <= atol + rtol * |reference|. NaN equals NaN, equal
 * infinities are equal, and NaN against a number is an infinite difference.
 * One comparison for rule tests, `recipe verify` and the runtime tests.
 */
export function diffElements(reference: ArrayLike<number>, other: ArrayLike<number>, atol: number, rtol: number): ElementDiff {
  const diff: ElementDiff = { maxAbsDiff: 0, maxRelDiff: 0, beyond: 0, firstBeyond: -1 };
  for (let i = 0; i < reference.length; i++) {
    const p = reference[i]!;
    const q = other[i]!;
    if (p === q || (Number.isNaN(p) && Number.isNaN(q))) continue;
    const d = Number.isNaN(p) || Number.isNaN(q) ? Infinity : Math.abs(p - q);
    if (d > diff.maxAbsDiff) diff.maxAbsDiff = d;
    if (Math.abs(p) > atol && d / Math.abs(p) > diff.maxRelDiff) diff.maxRelDiff = d / Math.abs(p);
    if (!(d <= atol + rtol * Math.abs(p))) {
      diff.beyond++;
      if (diff.firstBeyond < 0) diff.firstBeyond = i;
    }
  }
  return diff;
}
