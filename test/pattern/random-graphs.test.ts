import { Graph, Node, Value } from '../../src/ir';
import { compilePattern, parsePattern } from '../../src/pattern';

/**
 * The matcher against brute force on random graphs of commutative and unary
 * ops: every operand order is enumerated by hand, so backtracking (a shared
 * capture inside two commutative ops) is checked on many shapes at once.
 */

function randomGraph(seed: number, size: number): Graph {
  let s = seed;
  const next = (n: number): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
  const g = new Graph('random');
  const values: Value[] = [];
  for (let i = 0; i < 4; i++) values.push(g.addValue(`in${i}`));
  g.inputs = [...values];
  const ops = ['Add', 'Mul', 'Relu', 'Add', 'Mul'];
  for (let i = 0; i < size; i++) {
    const op = ops[next(ops.length)]!;
    // Mostly recent values, so that chains form; sometimes the same value twice.
    const pick = (): Value => values[values.length - 1 - next(Math.min(values.length, 6))]!;
    const a = pick();
    const inputs = op === 'Relu' ? [a] : [a, next(5) === 0 ? a : pick()];
    values.push(g.addNode({ op, name: `n${i}`, inputs, outputs: [`v${i}`] }).output(0));
  }
  return g;
}

const producer = (v: Value | null, op: string): Node | undefined => (v?.producer?.op === op ? v.producer : undefined);
const orders = [[0, 1], [1, 0]] as const;

/** `Mul(Add($a, $b), $a)` by hand. */
function mulAddShared(n: Node): boolean {
  if (n.op !== 'Mul') return false;
  return orders.some(([i, j]) => {
    const add = producer(n.input(i), 'Add');
    return !!add && orders.some(([p]) => add.input(p) === n.input(j));
  });
}

/** `Add(Mul($x, $y), Mul($y, $x))` by hand. */
function symmetricProducts(n: Node): boolean {
  if (n.op !== 'Add') return false;
  return orders.some(([i, j]) => {
    const m1 = producer(n.input(i), 'Mul');
    const m2 = producer(n.input(j), 'Mul');
    if (!m1 || !m2) return false;
    return orders.some(([p, q]) => orders.some(([r, t]) => m2.input(r) === m1.input(q) && m2.input(t) === m1.input(p)));
  });
}

/** `Relu(Add($x, $x))` by hand. */
function reluOfDouble(n: Node): boolean {
  const add = n.op === 'Relu' ? producer(n.input(0), 'Add') : undefined;
  return !!add && add.input(0) === add.input(1);
}

describe('random graphs: matcher == brute force', () => {
  const cases: [string, (n: Node) => boolean][] = [
    ['Mul(Add($a, $b), $a)', mulAddShared],
    ['Add(Mul($x, $y), Mul($y, $x))', symmetricProducts],
    ['Relu(Add($x, $x))', reluOfDouble],
  ];

  test.each(cases)('%s', (text, byHand) => {
    const pattern = compilePattern(parsePattern(text), { format: 'onnx', allowSharedIntermediates: true });
    let matches = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const g = randomGraph(seed, 150);
      for (const n of g.nodes) {
        const got = pattern.match(n).ok;
        if (got !== byHand(n)) throw new Error(`seed ${seed}, node ${n.name}: matcher says ${got}`);
        if (got) matches++;
      }
    }
    // enough positives for the comparison to mean something
    expect(matches).toBeGreaterThan(20);
  });
});
