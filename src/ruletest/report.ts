import * as path from 'node:path';
import type { FileResult } from './run';

/** Totals over a test run. */
export interface Totals {
  files: number;
  cases: number;
  passed: number;
  failed: number;
  /** Files that could not be used at all. */
  broken: number;
  /** Rules without a case, over all files. */
  untested: number;
}

/** Counts cases and files. */
export function totals(results: readonly FileResult[]): Totals {
  const cases = results.flatMap((r) => r.cases);
  const passed = cases.filter((c) => c.ok).length;
  const untested = results.reduce((n, r) => n + r.untested.length, 0);
  return { files: results.length, cases: cases.length, passed, failed: cases.length - passed, broken: results.filter((r) => r.errors.length > 0).length, untested };
}

/**
 * The text report of `recipe test`: per file, one line per case (`ok`/`FAIL`,
 * applications, numeric difference), and under a failing case its problems and
 * the diff of graph text. Paths are relative to `cwd`.
 */
export function formatResults(results: readonly FileResult[], cwd = process.cwd()): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(path.relative(cwd, r.file) || r.file);
    for (const e of r.errors) {
      lines.push(`  ERROR ${e.message}`);
      if (e.hint) lines.push(`    hint: ${e.hint}`);
    }
    for (const c of r.cases) {
      const num = c.numeric?.ran
        ? `, ${c.numeric.backend} max |diff| ${c.numeric.maxAbsDiff.toPrecision(3)}${c.numeric.mismatch > 0 ? `, ${percent(c.numeric.beyondShare)} of an output beyond it (${percent(c.numeric.mismatch)} allowed)` : ''}${c.numeric.expect === 'different' ? ' (expected to differ)' : ''}`
        : c.numeric ? `, numeric not run${c.ok ? `: ${c.numeric.reason}` : ''}` : '';
      const snap = c.snapshot === 'written' ? ', snapshot written' : c.snapshot === 'updated' ? ', snapshot updated' : '';
      lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.kind === 'rewrites' ? 'rewrites' : 'keeps   '} ${c.name} [${c.rule}] (${c.applied} applied${num}${snap})`);
      if (!c.ok) {
        for (const p of c.problems) lines.push(`       ${p}`);
        if (c.diff) lines.push(...c.diff.replace(/\n$/, '').split('\n').map((l) => `       ${l}`));
      }
    }
    for (const id of r.untested) lines.push(`  FAIL rule ${id} has no case: add a rewrite (or keep) case with \`rule: ${id}\``);
    if (r.obsolete.length) lines.push(`  note: snapshot entries without a case: ${r.obsolete.join(', ')} (removed by -u)`);
  }
  const t = totals(results);
  lines.push(
    `${t.passed} passed, ${t.failed} failed, ${t.cases} case(s) in ${t.files} file(s)${t.broken ? `, ${t.broken} file(s) with errors` : ''}${t.untested ? `, ${t.untested} rule(s) without a case` : ''}`,
  );
  return lines.join('\n') + '\n';
}

/** A share as a percentage with one decimal: 0.0712 -> '7.1%'. */
function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}
