/**
 * A line diff of two texts (longest common subsequence), printed with `-` for
 * lines only in `expected`, `+` for lines only in `actual`, and `context`
 * unchanged lines around each change. Graph texts of rule tests are small
 * (tens of lines), so the quadratic table is fine.
 */
export function diffLines(expected: string, actual: string, context = 2): string {
  const a = expected.replace(/\n$/, '').split('\n');
  const b = actual.replace(/\n$/, '').split('\n');
  const n = a.length;
  const m = b.length;
  // lcs[i][j] = length of the LCS of a[i..] and b[j..].
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const ops: { mark: ' ' | '-' | '+'; line: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ mark: ' ', line: a[i]! });
      i++;
      j++;
    } else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      // Removed lines before added ones, as diff tools print them.
      ops.push({ mark: '-', line: a[i]! });
      i++;
    } else {
      ops.push({ mark: '+', line: b[j]! });
      j++;
    }
  }
  const keep = ops.map((op, k) => op.mark !== ' ' || ops.slice(Math.max(0, k - context), k + context + 1).some((o) => o.mark !== ' '));
  const out: string[] = [];
  let skipped = false;
  ops.forEach((op, k) => {
    if (keep[k]) {
      out.push(`${op.mark} ${op.line}`);
      skipped = false;
    } else if (!skipped) {
      out.push('  ...');
      skipped = true;
    }
  });
  return out.join('\n') + '\n';
}
