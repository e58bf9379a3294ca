import { Graph, Tensor } from '../../src/ir';
import { PatternSyntaxError } from '../../src/pattern/errors';
import { checkReplacement, compilePattern, instantiate, parsePattern, parseReplacement } from '../../src/pattern';

/** A graph `y = Relu(x)` with a constant `n` beside it; builds `replacement` at the Relu and returns the error it raises, with its offsets. */
function buildError(replacement: string, n = 0): { start: number; end: number; reason: string } {
  const g = new Graph('main');
  const x = g.addValue('x', { dtype: 'float32', shape: [1, 4] });
  g.inputs = [x];
  const relu = g.addNode({ op: 'Relu', name: 'relu', inputs: [x], outputs: [g.addValue('y', { dtype: 'float32', shape: [1, 4] })] });
  g.outputs = [relu.output(0)];
  const c = g.addConstant('n', Tensor.from('int64', [], [BigInt(n)]));
  const add = g.addNode({ op: 'Add', name: 'add', inputs: [relu.output(0), c], outputs: [g.addValue('z', { dtype: 'float32', shape: [1, 4] })] });
  g.outputs = [add.output(0)];
  const m = compilePattern(parsePattern('Add(Relu($x), $n:const)'), { format: 'onnx' }).match(add);
  if (!m.ok) throw new Error(m.reason);
  const reuse = [...add.outputs];
  add.setOutputs([]);
  const nodesBefore = g.nodes.length;
  try {
    instantiate(parseReplacement(replacement), { graph: g, bindings: m.bindings, lets: new Map(), reuseOutputs: reuse });
  } catch (e) {
    if (!(e instanceof PatternSyntaxError)) throw e;
    // Planning failed: nothing was added to the graph.
    expect(g.nodes.length).toBe(nodesBefore);
    return { start: e.start, end: e.end, reason: e.reason };
  }
  throw new Error(`'${replacement}' was built without error`);
}

const span = (text: string, part: string): { start: number; end: number } => ({ start: text.indexOf(part), end: text.indexOf(part) + part.length });

describe('a replacement that would build too much is refused, naming the limit', () => {
  it('a fold whose count comes from a model constant', () => {
    const text = 'fold acc = $x for i in range(item($n)): Abs(acc)';
    expect(buildError(text, 200000)).toEqual({ ...span(text, 'Abs(acc)'), reason: 'the replacement would build more than 100000 nodes (limit 100000)' });
  });

  it('nested loops, each small', () => {
    const text = 'Concat(for i in range(1000): Concat(for j in range(1000): Abs($x)){axis: 0}){axis: 0}';
    expect(buildError(text).reason).toBe('the replacement would build more than 100000 nodes (limit 100000)');
  });

  it('a count beyond the iteration limit (was an "Invalid array length" RangeError)', () => {
    const text = 'Concat(for i in 1e15: $x){axis: 0}';
    expect(buildError(text)).toEqual({ ...span(text, '1e15'), reason: 'cannot iterate 1000000000000000 times (limit 1000000)' });
  });

  it('a loop giving a node more inputs than the limit (was "Maximum call stack size exceeded")', () => {
    const text = 'Concat(for i in zeros([1000000]): $x){axis: 0}';
    expect(buildError(text)).toEqual({ ...span(text, 'for i in zeros([1000000]): $x'), reason: 'the loop gives 100001 inputs or more (limit 100000)' });
  });

  it('a statement with a huge number of outputs (ran out of memory)', () => {
    const text = 'a[item($n)] = Split($x); a[0]';
    expect(buildError(text, 100000000)).toEqual({ ...span(text, 'item($n)'), reason: '100000000 outputs are too many for one node (limit 100000)' });
  });
});

describe('hints stay short', () => {
  it('an unbound name in a rule whose pattern binds 2000 names lists the first 12', () => {
    const pattern = compilePattern(parsePattern(`Concat(${Array.from({ length: 2000 }, (_, i) => `$x${i}`).join(', ')})`), { format: 'onnx' });
    const problems = checkReplacement(parseReplacement('Abs($y)'), { captures: pattern.captures, lets: [] });
    expect(problems.map((p) => [p.reason, p.hint])).toEqual([
      ['$y is not bound by the pattern', 'the pattern binds $x0, $x1, $x2, $x3, $x4, $x5, $x6, $x7, $x8, $x9, $x10, $x11, ... (2000 names)'],
    ]);
  });
});
