/**
 * A line diff of two canonical graph texts (`recipe show --graph`), for
 * reading what a rewrite changed in a model: lines only in the first are
 * `-`, lines only in the second `+`, with a few unchanged lines around each
 * change and the graph they belong to in the hunk header.
 *
 * The texts are large (a line per node, 100k+ lines) and a rewrite may change
 * a third of them, so this is not an LCS: a line present in both, as many
 * times as it is present in both, is unchanged; the rest is removed or added.
 * A line that moved is shown as removed at its old place and added at its
 * new one; of two lines that do not align, the one whose copy in the other
 * text is farther away is taken as the one that moved.
 */

export interface GraphTextDiff {
  /** The diff in unified form, or '' when the texts are the same. */
  readonly text: string;
  readonly removed: number;
  readonly added: number;
}

type Tag = ' ' | '-' | '+';

export function diffGraphTexts(before: string, after: string, labels: readonly [string, string], context = 2): GraphTextDiff {
  const a = splitLines(before);
  const b = splitLines(after);
  const keptA = keptLines(a, b);
  const keptB = keptLines(b, a);
  const ops: { tag: Tag; line: string }[] = [];
  const nextInA = nextOccurrence(a);
  const nextInB = nextOccurrence(b);
  // Lines shown where one text has them, before the other text reaches its copy: shown again there.
  const movedFromA = new Counter();
  const movedFromB = new Counter();
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && !keptA[i]) {
      ops.push({ tag: '-', line: a[i++]! });
    } else if (j < b.length && !keptB[j]) {
      ops.push({ tag: '+', line: b[j++]! });
    } else if (j < b.length && movedFromA.take(b[j]!)) {
      ops.push({ tag: '+', line: b[j++]! });
    } else if (i < a.length && movedFromB.take(a[i]!)) {
      ops.push({ tag: '-', line: a[i++]! });
    } else if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ tag: ' ', line: a[i++]! });
      j++;
    } else if (i < a.length && j < b.length && nextInB(a[i]!, j) - j < nextInA(b[j]!, i) - i) {
      // a's line comes soon in b, b's line much later in a: b's line is the one that moved.
      movedFromB.add(b[j]!);
      ops.push({ tag: '+', line: b[j++]! });
    } else if (i < a.length) {
      movedFromA.add(a[i]!);
      ops.push({ tag: '-', line: a[i++]! });
    } else {
      ops.push({ tag: '+', line: b[j++]! });
    }
  }
  const removed = ops.filter((o) => o.tag === '-').length;
  const added = ops.filter((o) => o.tag === '+').length;
  if (removed === 0 && added === 0) return { text: '', removed, added };
  return { text: render(ops, labels, context), removed, added };
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Counts of lines by text. */
class Counter {
  private readonly counts = new Map<string, number>();
  add(line: string): void {
    this.counts.set(line, (this.counts.get(line) ?? 0) + 1);
  }
  /** Takes one `line` when there is one. */
  take(line: string): boolean {
    const n = this.counts.get(line) ?? 0;
    if (n === 0) return false;
    this.counts.set(line, n - 1);
    return true;
  }
}

/** A lookup of the first index at or after `from` where `lines` holds `line` (Infinity when none). */
function nextOccurrence(lines: readonly string[]): (line: string, from: number) => number {
  const at = new Map<string, number[]>();
  lines.forEach((line, k) => {
    const list = at.get(line);
    if (list) list.push(k);
    else at.set(line, [k]);
  });
  return (line, from) => {
    const list = at.get(line);
    if (!list) return Infinity;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]! < from) lo = mid + 1;
      else hi = mid;
    }
    return lo < list.length ? list[lo]! : Infinity;
  };
}

/** For each line of `lines`, whether it is one of the copies `other` has too (counted left to right). */
function keptLines(lines: readonly string[], other: readonly string[]): boolean[] {
  const available = new Map<string, number>();
  for (const line of other) available.set(line, (available.get(line) ?? 0) + 1);
  return lines.map((line) => {
    const n = available.get(line) ?? 0;
    if (n === 0) return false;
    available.set(line, n - 1);
    return true;
  });
}

/** Hunks of the changed lines with `context` unchanged lines around them, each headed by the graph it is in. */
function render(ops: readonly { tag: Tag; line: string }[], labels: readonly [string, string], context: number): string {
  const out = [`--- ${labels[0]}`, `+++ ${labels[1]}`];
  // The graph each line belongs to: the last `graph NAME` or `function NAME` line at or before it (nested bodies included).
  const graphOf: string[] = [];
  let graph = '';
  for (const op of ops) {
    const t = op.line.trim();
    if (t.startsWith('graph ') || op.line.startsWith('function ')) graph = t;
    graphOf.push(graph);
  }
  let k = 0;
  while (k < ops.length) {
    if (ops[k]!.tag === ' ') {
      k++;
      continue;
    }
    const start = Math.max(0, k - context);
    // Extend over changes closer together than twice the context.
    let end = k;
    for (;;) {
      while (end < ops.length && ops[end]!.tag !== ' ') end++;
      let next = end;
      while (next < ops.length && ops[next]!.tag === ' ') next++;
      if (next < ops.length && next - end <= 2 * context) end = next;
      else break;
    }
    const stop = Math.min(ops.length, end + context);
    out.push(`@@ ${graphOf[k] || 'model'} @@`);
    for (let x = start; x < stop; x++) out.push(`${ops[x]!.tag}${ops[x]!.line}`);
    k = stop;
  }
  return out.join('\n') + '\n';
}
