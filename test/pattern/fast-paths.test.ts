/**
 * The fast paths of matching and of a rule's expressions: patterns that can
 * never try a second operand order are matched by plain recursion (the same
 * bindings, order and closest miss as the backtracking search), a kind of
 * capture the pattern does not have is an empty map, and CaptureTable gives
 * an expression what expressionEnv gave it, without a Map per match.
 */
import { Graph, Node, Tensor, attr } from '../../src/ir';
import type { FormatId } from '../../src/ir';
import { evaluate, parseExpr } from '../../src/expr';
import { CaptureTable, compilePattern, expressionEnv, parsePattern } from '../../src/pattern';
import type { Bindings, MatchResult } from '../../src/pattern';

function matchAt(text: string, node: Node, format: FormatId = 'onnx'): MatchResult {
  return compilePattern(parsePattern(text), { format }).match(node);
}

function ok(r: MatchResult): Bindings {
  if (!r.ok) throw new Error(`expected a match, got: ${r.reason}`);
  return r.bindings;
}

/** x, w -> Conv -> BatchNormalization -> Relu, the statistics as initializers, `bad` a graph input in place of the mean. */
function convBn(opts: { meanFromInput?: boolean } = {}) {
  const g = new Graph('main');
  const x = g.addValue('x', { dtype: 'float32', shape: [1, 2, 4, 4] });
  const w = g.addConstant('w', Tensor.from('float32', [2, 2, 1, 1], [1, 0, 0, 1]));
  const b = g.addConstant('b', Tensor.from('float32', [2], [0, 0]));
  const mean = opts.meanFromInput ? g.addValue('mean_in') : g.addConstant('mean', Tensor.from('float32', [2], [0.5, -1]));
  g.inputs = opts.meanFromInput ? [x, mean] : [x];
  const conv = g.addNode({ op: 'Conv', name: 'conv', inputs: [x, w, b], outputs: ['c'], attrs: { strides: attr.ints([1, 1]) } });
  const stats = ['scale', 'bias', 'var'].map((n) => g.addConstant(n, Tensor.from('float32', [2], [1, 2])));
  const bn = g.addNode({ op: 'BatchNormalization', name: 'bn', inputs: [conv.output(0), stats[0]!, stats[1]!, mean, stats[2]!], outputs: ['y'] });
  const relu = g.addNode({ op: 'Relu', name: 'relu', inputs: [bn.output(0)], outputs: ['z'] });
  g.outputs = [relu.output(0)];
  return { g, x, w, conv, bn, relu };
}

const CONV_BN = 'Relu(BatchNormalization($c=Conv($x, $w:const, $rest...){strides: $s}@conv, $scale:const, $bias:const, $mean:const, $var:const){epsilon: $eps = 1e-5})';

describe('matching without backtracking', () => {
  test('binds as written, in the order bound, producers first in matchedNodes', () => {
    const { conv, bn, relu, x, w } = convBn();
    const b = ok(matchAt(CONV_BN, relu));
    expect(b.matchedNodes).toEqual([conv, bn, relu]);
    expect([...b.values.keys()]).toEqual(['c', 'x', 'w', 'scale', 'bias', 'mean', 'var']);
    expect(b.values.get('x')).toBe(x);
    expect(b.values.get('w')).toBe(w);
    expect([...b.consts.keys()]).toEqual(['w', 'scale', 'bias', 'mean', 'var']);
    expect(b.lists.get('rest')).toEqual([conv.input(2)]);
    expect(b.nodes.get('conv')).toBe(conv);
    expect(b.attrs.get('s')).toEqual(attr.ints([1, 1]));
    expect(b.attrs.get('eps')).toEqual({ kind: 'float', value: 1e-5 });
  });

  test('reports the miss reached after the most checks, deep inside the pattern', () => {
    const { relu } = convBn({ meanFromInput: true });
    const r = matchAt(CONV_BN, relu);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe("input 3 of BatchNormalization 'bn' is not constant");
    const { relu: relu2 } = convBn();
    const wrongAttr = matchAt('Relu(BatchNormalization(Conv($x, $w:const, $b){strides: [2, 2]}, $s, $t, $m, $v))', relu2);
    expect(wrongAttr.ok).toBe(false);
    if (!wrongAttr.ok) expect(wrongAttr.reason).toBe("attribute 'strides' of Conv 'conv' is [1, 1], not [2, 2]");
  });

  test('an intermediate read outside the pattern is still refused', () => {
    const { g, bn, relu } = convBn();
    g.addNode({ op: 'Neg', name: 'tap', inputs: [bn.output(0)], outputs: ['t'] });
    const r = matchAt('Relu(BatchNormalization($x, $a, $b, $c, $d))', relu);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe("value 'y' of BatchNormalization 'bn' is also read by Neg 'tap', outside the pattern");
  });

  test('a kind of capture the pattern does not have is an empty map', () => {
    const { bn } = convBn();
    const b = ok(matchAt('BatchNormalization($x, $a, $b, $c, $d)', bn));
    expect(b.nodes.size).toBe(0);
    expect(b.lists.size).toBe(0);
    expect(b.attrs.size).toBe(0);
    expect(b.consts.size).toBe(0);
  });

  test('a commutative op still matches its operands in the other order', () => {
    const g = new Graph('main');
    const x = g.addValue('x');
    g.inputs = [x];
    const k = g.addConstant('k', Tensor.scalar('float32', 2));
    const neg = g.addNode({ op: 'Neg', name: 'neg', inputs: [x], outputs: ['n'] });
    const mul = g.addNode({ op: 'Mul', name: 'mul', inputs: [k, neg.output(0)], outputs: ['m'] });
    const b = ok(matchAt('Mul(Neg($x), $k:const)', mul));
    expect(b.values.get('k')).toBe(k);
    expect(b.matchedNodes).toEqual([neg, mul]);
    // The same shape with an op that is not commutative does not swap.
    const sub = g.addNode({ op: 'Sub', name: 'sub', inputs: [k, neg.output(0)], outputs: ['s'] });
    const r = matchAt('Sub(Neg($x), $k:const)', sub);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe("input 0 of Sub 'sub' ('k') is a constant, not Neg");
  });
});

describe('CaptureTable', () => {
  test('gives what expressionEnv gives, for every kind of capture', () => {
    const { relu } = convBn();
    const b = ok(matchAt(CONV_BN, relu));
    const table = new CaptureTable(b);
    const env = expressionEnv(b);
    for (const [name, v] of env) {
      expect(table.has(name)).toBe(true);
      expect(table.get(name)).toEqual(v);
    }
    expect(new Set(table.keys())).toEqual(new Set(env.keys()));
    expect(table.has('nope')).toBe(false);
    expect(table.get('nope')).toBeUndefined();
    // A :const capture is its tensor; the list a copy.
    expect(table.get('w')).toBeInstanceOf(Tensor);
    expect(table.get('rest')).not.toBe(b.lists.get('rest'));
    const k = evaluate(parseExpr('$scale / sqrt($var + $eps)'), { captures: table });
    expect(k).toEqual(evaluate(parseExpr('$scale / sqrt($var + $eps)'), { captures: env }));
  });

  test('an absent optional capture is none, and text attributes become numbers only when asked', () => {
    const g = new Graph('main');
    const x = g.addValue('x');
    g.inputs = [x];
    const clip = g.addNode({ op: 'Clip', name: 'clip', inputs: [x], outputs: ['y'] });
    const b = ok(matchAt('Clip($x, $lo?, $hi?)', clip));
    const table = new CaptureTable(b);
    expect(table.get('lo')).toBeNull();
    expect(table.has('lo')).toBe(true);

    const n = g.addNode({ op: 'Layer', domain: 'opset1', name: 'l', inputs: [x], outputs: ['z'], attrs: { eps: attr.string('1e-05'), strides: attr.string('2, 2'), mode: attr.string('max') } });
    const c = ok(matchAt('opset1::Layer($x){eps: $eps, strides: $s, mode: $m}', n, 'openvino'));
    const text = new CaptureTable(c, true);
    expect(text.get('eps')).toBe(1e-5);
    expect(text.get('s')).toEqual([2, 2]);
    expect(text.get('m')).toBe('max');
    expect(new CaptureTable(c).get('eps')).toBe('1e-05');
  });
});
