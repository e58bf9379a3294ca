import { Graph, Model, printModel } from '../../src/ir';
import { diffGraphTexts } from '../../src/ir/text/diff';

const lines = (...l: string[]): string => l.join('\n') + '\n';

describe('diffGraphTexts', () => {
  test('the same text: no diff', () => {
    const t = lines('model onnx', 'graph g', '  a = Relu(x)', '  out a');
    expect(diffGraphTexts(t, t, ['a', 'b'])).toEqual({ text: '', removed: 0, added: 0 });
  });

  test('a replaced node: removed and added lines with context, under the graph they belong to', () => {
    const before = lines('model onnx', 'graph g', '  in x', '  a = Relu(x)', '  b = Abs(a)', '  c = Neg(b)', '  out c');
    const after = lines('model onnx', 'graph g', '  in x', '  a = Relu(x)', '  s = Mul(a, a)', '  b = Sqrt(s)', '  c = Neg(b)', '  out c');
    const d = diffGraphTexts(before, after, ['before.onnx', 'after.onnx'], 1);
    expect(d.text).toBe(lines('--- before.onnx', '+++ after.onnx', '@@ graph g @@', '   a = Relu(x)', '-  b = Abs(a)', '+  s = Mul(a, a)', '+  b = Sqrt(s)', '   c = Neg(b)'));
    expect([d.removed, d.added]).toEqual([1, 2]);
  });

  test('changes far apart make separate hunks; changes close together one; a nested graph heads its own hunk', () => {
    const body = (k: string) => ['  n = If(c) {', '    then_branch:', '      graph then', `        t = ${k}`, '        out t', '  }'];
    const mid = Array.from({ length: 10 }, (_, i) => `  m${i} = Relu(m${i - 1})`);
    const before = lines('graph g', '  a = Abs(x)', ...mid, ...body('Neg(x)'), '  out n');
    const after = lines('graph g', '  a = Sqrt(x)', ...mid, ...body('Sign(x)'), '  out n');
    const d = diffGraphTexts(before, after, ['1', '2'], 1);
    const hunks = d.text.split('\n').filter((l) => l.startsWith('@@'));
    expect(hunks).toEqual(['@@ graph g @@', '@@ graph then @@']);
    expect(d.text).toContain('-        t = Neg(x)\n+        t = Sign(x)\n');
    // with a context wider than the gap, one hunk
    expect(diffGraphTexts(before, after, ['1', '2'], 8).text.split('\n').filter((l) => l.startsWith('@@'))).toHaveLength(1);
  });

  test('a line that moved is removed where it was and added where it is; repeated lines count one for one', () => {
    const before = lines('graph g', '  a = Relu(x)', '  b = Neg(x)', '  out a', '  out b');
    const after = lines('graph g', '  b = Neg(x)', '  a = Relu(x)', '  out a', '  out b', '  out b');
    const d = diffGraphTexts(before, after, ['1', '2'], 0);
    expect(d.text.split('\n').filter((l) => /^[-+] /.test(l))).toEqual(['-  a = Relu(x)', '+  a = Relu(x)', '+  out b']);
    expect([d.removed, d.added]).toEqual([1, 2]);
  });
});

describe('graph text of a large graph', () => {
  test('one line moved far up (an exporter that appends a node its first reader needs, sorted by the rewrite): that line alone is shown moved', () => {
    const chain = Array.from({ length: 50 }, (_, i) => `  m${i} = Relu(${i === 0 ? 'c' : `m${i - 1}`})`);
    const before = lines('graph g', '  in x', ...chain, '  c = Cast(x)', '  out m49');
    const after = lines('graph g', '  in x', '  c = Cast(x)', ...chain, '  out m49');
    const d = diffGraphTexts(before, after, ['1', '2'], 0);
    expect(d.text.split('\n').filter((l) => /^[-+] /.test(l))).toEqual(['+  c = Cast(x)', '-  c = Cast(x)']);
    expect([d.removed, d.added]).toEqual([1, 1]);
  });

  test('a graph of 200k nodes prints (one array of lines, no spread of them as arguments) and diffs against itself', () => {
    const g = new Graph('big');
    let v = g.addValue('x', { dtype: 'float32', shape: [1] });
    g.inputs = [v];
    for (let i = 0; i < 200_000; i++) v = g.addNode({ op: 'Relu', name: `r${i}`, inputs: [v], outputs: [`v${i}`] }).output(0);
    g.outputs = [v];
    const model = new Model('onnx', g);
    const text = printModel(model);
    expect(text.split('\n')).toHaveLength(200_000 + 5);
    expect(diffGraphTexts(text, text, ['a', 'b'])).toEqual({ text: '', removed: 0, added: 0 });
  });
});
