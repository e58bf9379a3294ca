import { evaluate, parseExpr } from '../../src/expr';
import type { ExprValue } from '../../src/expr';
import { Graph, Tensor, attr, cleanup, parseGraph, printGraph, toposort, validate } from '../../src/ir';
import type { Node, Value } from '../../src/ir';
import {
  checkReplacement, compilePattern, expressionEnv, instantiate, parsePattern, parseReplacement,
} from '../../src/pattern';
import type { Bindings } from '../../src/pattern';

/** Evaluates `let` entries in order, as the rule compiler does. */
function evalLets(bindings: Bindings, lets: Record<string, string>): Map<string, ExprValue> {
  const out = new Map<string, ExprValue>();
  const captures = expressionEnv(bindings);
  for (const [name, text] of Object.entries(lets)) out.set(name, evaluate(parseExpr(text), { captures, lets: out }));
  return out;
}

/** Matches at `root`, builds the replacement the way the driver does, removes the root, cleans up. */
function rewrite(root: Node, pattern: string, replacement: string, lets: Record<string, string> = {}) {
  const g = root.graph;
  const m = compilePattern(parsePattern(pattern), { format: 'onnx' }).match(root);
  if (!m.ok) throw new Error(m.reason);
  const repl = parseReplacement(replacement);
  const problems = checkReplacement(repl, { captures: compilePattern(parsePattern(pattern), { format: 'onnx' }).captures, lets: Object.keys(lets) });
  if (problems.length) throw problems[0];
  const reuse = [...root.outputs];
  root.setOutputs([]);
  const built = instantiate(repl, { graph: g, bindings: m.bindings, lets: evalLets(m.bindings, lets), reuseOutputs: reuse });
  if (built.outputs[0] !== reuse[0]) reuse[0]!.replaceAllUsesWith(built.outputs[0]!);
  g.removeNode(root);
  cleanup(g);
  toposort(g);
  expect(validate(g, { uniqueNames: true, ordered: true })).toEqual([]);
  return built;
}

function floats(v: Value | null | undefined): number[] {
  return [...v!.const!.toFloat64()].map((x) => Math.round(x * 1e6) / 1e6);
}

describe('instantiate', () => {
  test('BatchNormalization -> Mul + Add: reused output, constants computed by let', () => {
    const g = new Graph('main');
    const x = g.addValue('x', { dtype: 'float32', shape: [1, 2, 4, 4] });
    g.inputs = [x];
    const c = (name: string, v: number[]) => g.addConstant(name, Tensor.from('float32', [2], v));
    const bn = g.addNode({
      op: 'BatchNormalization', name: 'bn0', inputs: [x, c('scale', [2, 3]), c('bias', [0, 1]), c('mean', [0.5, -1]), c('var', [1, 4])],
      outputs: [g.addValue('y', { dtype: 'float32', shape: [1, 2, 4, 4] })], attrs: { epsilon: attr.float(0) },
    });
    const y = bn.output(0);
    g.outputs = [y];
    const built = rewrite(bn,
      'BatchNormalization($x, $scale:const, $bias:const, $mean:const, $var:const){epsilon: $eps}',
      'Add(Mul($x, unsqueeze(k, [1, 2])), unsqueeze(c, [1, 2]))',
      { k: '$scale / sqrt($var + $eps)', c: '$bias - $mean * k' });
    expect(built.outputs).toEqual([y]);
    expect(y.producer?.op).toBe('Add');
    expect(y.producer?.name).toBe('bn0');
    expect(g.outputs[0]).toBe(y);
    const mul = y.producer!.input(0)!.producer!;
    expect(mul.op).toBe('Mul');
    expect(mul.input(0)).toBe(x);
    // k = scale / sqrt(var) = [2, 1.5]; c = bias - mean * k = [-1, 2.5]
    expect(floats(mul.input(1))).toEqual([2, 1.5]);
    expect(mul.input(1)!.shape).toEqual([2, 1, 1]);
    expect(floats(y.producer!.input(1))).toEqual([-1, 2.5]);
    expect(printGraph(g)).toBe(`graph main
  in x: float32[1, 2, 4, 4]
  const bn0/k: float32[2, 1, 1] = [2.0, 1.5]
  const bn0/c: float32[2, 1, 1] = [-1.0, 2.5]
  bn0/Mul: bn0/Mul/out = Mul(x, bn0/k)
  bn0: y: float32[1, 2, 4, 4] = Add(bn0/Mul/out, bn0/c)
  out y
`);
  });

  test('fold: Pow(x, 4) -> three Muls; a plain number takes its sibling dtype', () => {
    const g = new Graph('main');
    const x = g.addValue('x', { dtype: 'float16', shape: [3] });
    g.inputs = [x];
    const pow = g.addNode({ op: 'Pow', name: 'p', inputs: [x, g.addConstant('n', Tensor.scalar('float32', 4))], outputs: ['y'] });
    g.outputs = [pow.output(0)];
    rewrite(pow, 'Pow($x, $n:const)', 'Add(fold acc = $x for i in range(item($n) - 1): Mul(acc, $x), 0.5)');
    expect(printGraph(g)).toBe(`graph main
  in x: float16[3]
  const p/const: float16[] = [0.5]
  p/Mul: p/Mul/out = Mul(x, x)
  p/Mul_1: p/Mul_1/out = Mul(p/Mul/out, x)
  p/Mul_2: p/Mul_2/out = Mul(p/Mul_1/out, x)
  p: y = Add(p/Mul_2/out, p/const)
  out y
`);
  });

  test('with no sibling dtype known, a number written as a float is float32 and an integer int64', () => {
    const consts = (replacement: string) => {
      const g = new Graph('main');
      const x = g.addValue('x');
      g.inputs = [x];
      const acos = g.addNode({ op: 'Acos', name: 'a', inputs: [x], outputs: ['y'] });
      g.outputs = [acos.output(0)];
      rewrite(acos, 'Acos($x)', replacement);
      return g.values.filter((v) => v.const).map((v) => v.const!.dtype);
    };
    expect(consts('Sub(1.0, Abs($x))')).toEqual(['float32']);
    expect(consts('Sub([2, 1e0], Abs($x))')).toEqual(['float32']);
    expect(consts('Sub(1, Abs($x))')).toEqual(['int64']);
  });

  test('the dtype of an undeclared value is asked only for a plain number beside it (the walk up the graph costs)', () => {
    const asked = (replacement: string): string[] => {
      const g = new Graph('main');
      const x = g.addValue('x');
      g.inputs = [x];
      const acos = g.addNode({ op: 'Acos', name: 'a', inputs: [x], outputs: ['y'] });
      g.outputs = [acos.output(0)];
      const pattern = compilePattern(parsePattern('Acos($x)'), { format: 'onnx' });
      const m = pattern.match(acos);
      if (!m.ok) throw new Error(m.reason);
      const names: string[] = [];
      const reuse = [...acos.outputs];
      acos.setOutputs([]);
      instantiate(parseReplacement(replacement), {
        graph: g, bindings: m.bindings, reuseOutputs: reuse,
        undeclaredDType: (v) => (names.push(v.name), 'float16'),
      });
      return names;
    };
    expect(asked('Mul($x, Abs($x))')).toEqual([]);
    expect(asked('Sub(1.0, Abs($x))')).toEqual(['x']);
  });

  test('statements with several outputs and for: a grouped Conv into per-group Convs + Concat', () => {
    const g = new Graph('main');
    const x = g.addValue('x', { dtype: 'float32', shape: [1, 4, 5, 5] });
    g.inputs = [x];
    const w = g.addConstant('w', Tensor.from('float32', [4, 2, 1, 1], [1, 2, 3, 4, 5, 6, 7, 8]));
    const conv = g.addNode({ op: 'Conv', name: 'gc', inputs: [x, w], outputs: ['y'], attrs: { group: attr.int(2), kernel_shape: attr.ints([1, 1]) } });
    g.outputs = [conv.output(0)];
    rewrite(conv, 'Conv($x, $w:const){group: $g, kernel_shape: $k}', `
      xs[$g] = Split($x){axis: 1, num_outputs: $g}
      Concat(for i in range($g): Conv(xs[i], slice($w, [i * 2], [i * 2 + 2], [0])){kernel_shape: $k, group: 1}){axis: 1}`);
    expect(printGraph(g)).toBe(`graph main
  in x: float32[1, 4, 5, 5]
  const gc/w: float32[2, 2, 1, 1] = [1.0, 2.0, 3.0, 4.0]
  const gc/w_1: float32[2, 2, 1, 1] = [5.0, 6.0, 7.0, 8.0]
  gc/Split: gc/Split/out0, gc/Split/out1 = Split(x) {axis: 1, num_outputs: 2}
  gc/Conv: gc/Conv/out = Conv(gc/Split/out0, gc/w) {group: 1, kernel_shape: [1, 1]}
  gc/Conv_1: gc/Conv_1/out = Conv(gc/Split/out1, gc/w_1) {group: 1, kernel_shape: [1, 1]}
  gc: y = Concat(gc/Conv/out, gc/Conv_1/out) {axis: 1}
  out y
`);
  });

  test('a root with several outputs: the result node gets as many, each reused in order', () => {
    const g = parseGraph(`graph main
  in x: float32[1, 4]
  sp: a: float32[1, 2], b: float32[1, 2] = Split(x) {axis: 1}
  ra = Relu(a)
  rb = Neg(b)
  out ra
  out rb
`);
    const split = g.nodes[0]!;
    const [a, b] = split.outputs;
    rewrite(split, 'Split($x){axis: 1}', 'Split(Identity($x)){axis: 1, num_outputs: 2}');
    expect(a!.producer!.op).toBe('Split');
    expect(a!.producer).toBe(b!.producer);
    expect(a!.producer!.outputs).toEqual([a, b]);
    expect(printGraph(g)).toBe(`graph main
  in x: float32[1, 4]
  sp/Identity: sp/Identity/out = Identity(x)
  sp: a: float32[1, 2], b: float32[1, 2] = Split(sp/Identity/out) {axis: 1, num_outputs: 2}
  ra = Relu(a)
  rb = Neg(b)
  out ra
  out rb
`);
  });

  test('a root with several outputs and a result of the wrong shape is refused before anything is built', () => {
    const g = parseGraph('graph main\n  in x\n  sp: a, b = Split(x)\n  out a\n  out b\n');
    const split = g.nodes[0]!;
    const before = printGraph(g);
    const m = compilePattern(parsePattern('Split($x)'), { format: 'onnx' }).match(split);
    if (!m.ok) throw new Error(m.reason);
    const attempt = (text: string) => () => instantiate(parseReplacement(text), { graph: g, bindings: m.bindings, reuseOutputs: [...split.outputs] });
    expect(attempt('s[3] = Split($x)\ns')).toThrow('the result node has 3 outputs, the matched root 2');
    expect(attempt('s[2] = Split($x)\ns[1]')).toThrow('the matched root has 2 outputs: the result must be output 0 of a node with as many');
    expect(printGraph(g)).toBe(before);
  });

  test('declareTypes gives new values a dtype (and an elementwise shape) from the op tables', () => {
    const g = parseGraph(`graph main
  in x: float16[N, 1, 4]
  in y: float16[3, 1]
  r: z: float16[N, 3, 4] = Relu(x)
  out z
`);
    const relu = g.nodes[0]!;
    const m = compilePattern(parsePattern('Relu($x)'), { format: 'tflite' }).match(relu);
    if (!m.ok) throw new Error(m.reason);
    const reuse = [...relu.outputs];
    relu.setOutputs([]);
    const text = `
      s = Add($x, y2)
      e = Equal(s, $x)
      sh = Shape(s)
      c = Conv(s, s)
      Concat(s, e, sh, c)`;
    const y = g.findValue('y')!;
    const built = instantiate(parseReplacement(text.replace('y2', 'y_value')), {
      graph: g, bindings: m.bindings, reuseOutputs: reuse, declareTypes: true,
      lets: new Map([['y_value', y]]),
    });
    const byOp = new Map(built.nodes.map((n) => [n.op, n.output(0)]));
    expect([byOp.get('Add')!.dtype, byOp.get('Add')!.shape]).toEqual(['float16', ['N', 3, 4]]);
    expect([byOp.get('Equal')!.dtype, byOp.get('Equal')!.shape]).toEqual(['bool', ['N', 3, 4]]);
    expect([byOp.get('Shape')!.dtype, byOp.get('Shape')!.shape]).toEqual([undefined, undefined]);
    expect([byOp.get('Conv')!.dtype, byOp.get('Conv')!.shape]).toEqual(['float16', undefined]);
    // without the option nothing is declared
    built.undo();
    const plain = instantiate(parseReplacement('Add($x, $x)'), { graph: g, bindings: m.bindings, reuseOutputs: reuse });
    expect(plain.nodes).toHaveLength(1);
    const inner = instantiate(parseReplacement('Neg(Add($x, $x))'), { graph: g, bindings: m.bindings, reuseOutputs: [g.addValue('other')] });
    expect(inner.nodes[0]!.output(0).dtype).toBeUndefined();
  });

  test('declareTypes: an unknown size (an IR -1, a TFLite shape_signature -1) broadcasts as unknown, not as 1', () => {
    const g = new Graph('main');
    const x = g.addValue('x', { dtype: 'float32', shape: [null, 3, 4] });
    const one = g.addValue('one', { dtype: 'float32', shape: [4] });
    const r = g.addNode({ op: 'Relu', name: 'r', inputs: [x], outputs: ['y'] });
    g.inputs = [x, one];
    g.outputs = [r.output(0)];
    const m = compilePattern(parsePattern('Relu($x)'), { format: 'openvino' }).match(r);
    if (!m.ok) throw new Error(m.reason);
    const built = instantiate(parseReplacement('Negative(Multiply(Multiply($x, $x), one_value))'), {
      graph: g, bindings: m.bindings, reuseOutputs: [g.addValue('other')], declareTypes: true, lets: new Map([['one_value', one]]),
    });
    expect(built.nodes.slice(0, 2).map((n) => n.output(0).shape)).toEqual([[null, 3, 4], [null, 3, 4]]);
  });

  test('a replacement that is one captured value: the caller rewires the readers', () => {
    const g = new Graph('main');
    const x = g.addValue('x');
    g.inputs = [x];
    const id = g.addNode({ op: 'Identity', name: 'id', inputs: [x], outputs: ['y'] });
    const r = g.addNode({ op: 'Relu', name: 'r', inputs: [id.output(0)], outputs: ['z'] });
    g.outputs = [r.output(0)];
    const built = rewrite(id, 'Identity($x)', '$x');
    expect(built.nodes).toEqual([]);
    expect(built.outputs[0]).toBe(x);
    expect(r.input(0)).toBe(x);
  });

  test('undo removes what was built and gives the outputs back', () => {
    const g = new Graph('main');
    const x = g.addValue('x');
    g.inputs = [x];
    const relu = g.addNode({ op: 'Relu', name: 'r', inputs: [x], outputs: ['y'] });
    g.outputs = [relu.output(0)];
    const y = relu.output(0);
    const before = printGraph(g);
    const m = compilePattern(parsePattern('Relu($x)'), { format: 'onnx' }).match(relu);
    if (!m.ok) throw new Error(m.reason);
    // the root still produces y: instantiate takes it over
    const built = instantiate(parseReplacement('Max($x, 0.0)'), { graph: g, bindings: m.bindings, reuseOutputs: [y] });
    expect(y.producer?.op).toBe('Max');
    expect(relu.outputs.length).toBe(0);
    built.undo();
    expect(printGraph(g)).toBe(before);
    expect(y.producer).toBe(relu);
  });

  test('an evaluation error leaves the graph untouched', () => {
    const g = new Graph('main');
    const x = g.addValue('x');
    g.inputs = [x];
    const relu = g.addNode({ op: 'Relu', name: 'r', inputs: [x], outputs: ['y'] });
    g.outputs = [relu.output(0)];
    const before = printGraph(g);
    const m = compilePattern(parsePattern('Relu($x)'), { format: 'onnx' }).match(relu);
    if (!m.ok) throw new Error(m.reason);
    expect(() => instantiate(parseReplacement('Add(Relu($x), sqrt("a"))'), { graph: g, bindings: m.bindings, reuseOutputs: [relu.output(0)] })).toThrow();
    expect(printGraph(g)).toBe(before);
    expect(g.valueCount).toBe(2);
  });
});

describe('$n(...): a new node with the op, domain and attributes of a captured node', () => {
  const graphText = `graph main
  in x: float32[2, 3]
  lr: a: float32[2, 3] = LeakyRelu(x) {alpha: 0.2}
  n: y: float32[2, 3] = Neg(a)
  out y
`;

  test('the copy takes new inputs, keeps every attribute, gets a fresh name and no native record', () => {
    const g = parseGraph(graphText);
    const [lr, neg] = g.nodes as [Node, Node];
    lr.native = { format: 'test', bytes: 'of the old node' };
    const built = rewrite(neg, 'Neg(LeakyRelu($x)@act)', '$act(Neg($x))');
    expect(printGraph(g)).toBe(`graph main
  in x: float32[2, 3]
  n/Neg: n/Neg/out = Neg(x)
  n: y: float32[2, 3] = LeakyRelu(n/Neg/out) {alpha: 0.2}
  out y
`);
    const copy = built.nodes[1]!;
    expect(copy).not.toBe(lr);
    expect(copy.native).toBeUndefined();
    expect(copy.attr('alpha')).toEqual({ kind: 'float', value: expect.closeTo(0.2, 6) });
    // an inner copy is named like any other new node
    const g2 = parseGraph(graphText);
    rewrite(g2.nodes[1]!, 'Neg(LeakyRelu($x)@act)', 'Neg($act($x))');
    expect(printGraph(g2)).toContain('n/LeakyRelu: n/LeakyRelu/out = LeakyRelu(x) {alpha: 0.2}');
  });

  test('the domain is copied, and the attributes of any kind', () => {
    const g = parseGraph(`graph main
  in x: float32[4]
  f: a: float32[4] = custom::Filter(x) {mode: "edge", taps: [1, 2, 1], gain: 0.5, on: 1}
  r: y: float32[4] = Relu(a)
  out y
`);
    const before = g.nodes[0]!;
    rewrite(g.nodes[1]!, 'Relu(*($x)@f)', '$f(Relu($x))');
    const copy = g.findValue('y')!.producer!;
    expect([copy.op, copy.domain]).toEqual(['Filter', 'custom']);
    expect([...copy.attrs]).toEqual([...before.attrs]);
  });

  test('attributes written on the copy override the copied ones, keeping their kind; none removes one', () => {
    const attrsAfter = (replacement: string): string => {
      const g = parseGraph(graphText);
      rewrite(g.nodes[1]!, 'Neg(LeakyRelu($x)@act){}', replacement, { k: '3' });
      return printGraph(g).split('\n').find((l) => l.includes('= LeakyRelu'))!.replace(/^.*LeakyRelu\(/, 'LeakyRelu(');
    };
    // 1 is written as an int, but alpha is a float on the copied node
    expect(attrsAfter('$act($x){alpha: 1}')).toBe('LeakyRelu(x) {alpha: 1.0}');
    expect(attrsAfter('$act($x){alpha: k / 4}')).toBe('LeakyRelu(x) {alpha: 0.75}');
    expect(attrsAfter('$act($x){alpha: none}')).toBe('LeakyRelu(x)');
    expect(attrsAfter('$act($x){extra: [1, 2]}')).toBe('LeakyRelu(x) {alpha: 0.2, extra: [1, 2]}');
  });

  test('a statement can name a copy, and the root itself can be copied', () => {
    const g = parseGraph(graphText);
    rewrite(g.nodes[1]!, 'Neg($a)@root', 'twice = $root($root($a))\nAbs(twice)');
    expect(printGraph(g)).toBe(`graph main
  in x: float32[2, 3]
  lr: a: float32[2, 3] = LeakyRelu(x) {alpha: 0.2}
  n/Neg: n/Neg/out = Neg(a)
  n/Neg_1: n/Neg_1/out = Neg(n/Neg/out)
  n: y: float32[2, 3] = Abs(n/Neg_1/out)
  out y
`);
  });
});

describe('checkReplacement', () => {
  const captures = compilePattern(parsePattern('Concat($x, $rest...){axis: $axis}@cat'), { format: 'onnx' }).captures;

  test.each([
    ['Relu($y)', '$y is not bound by the pattern', '$y'],
    ['Relu($X)', '$X is not bound by the pattern', '$X'],
    ['Add($x, k2)', "unknown name 'k2'", 'k2'],
    ['Concat($rest)', '$rest is a list of inputs', '$rest'],
    ['Concat($x...)', '$x is one value, not a variadic capture: it cannot be spread with ...', '$x...'],
    ['Relu($cat)', '$cat is a node, not a value', '$cat'],
    ['Concat(for i in range(3): Add($x, j))', "unknown name 'j'", 'j'],
    ['Add($x, sqr(k))', "unknown function 'sqr'", 'sqr'],
    ['Concat(for i in range(2): $x, Add($x, i))', "unknown name 'i'", 'i'],
    ['Add(fold a = $x for i in range(2): Mul(a, $x), a)', "unknown name 'a'", 'a'],
    // inside an expression, src/expr's checker says it in its own words
    ['s[$nope] = Split($x)\ns', "unbound capture '$nope'", '$nope'],
    ['Relu($x){alpha: $missing * 2}', "unbound capture '$missing'", '$missing'],
    ['$nope($x)', '$nope is not bound by the pattern', '$nope'],
    ['Relu($Cat($x))', '$Cat is not bound by the pattern', '$Cat'],
    ['$x($x)', '$x is a value, not a node: only a node captured with Op(...)@x can be copied', '$x'],
    ['$rest($x)', '$rest is a list of inputs, not a node: only a node captured with Op(...)@rest can be copied', '$rest'],
    ['$axis($x)', '$axis is an attribute, not a node: only a node captured with Op(...)@axis can be copied', '$axis'],
  ])('%j', (text, message, offending) => {
    const errors = checkReplacement(parseReplacement(text), { captures, lets: ['k'] });
    expect(errors.map((e) => e.reason)).toContain(message);
    const e = errors.find((x) => x.reason === message)!;
    expect(text.slice(e.start, e.end)).toBe(offending);
  });

  test('a node used as a value: the hint says how to copy it', () => {
    const errors = checkReplacement(parseReplacement('Relu($cat)'), { captures, lets: [] });
    expect(errors.map((e) => [e.reason, e.hint])).toEqual([['$cat is a node, not a value', '$cat(...) makes a copy of it on new inputs']]);
  });

  test('a correct replacement has no problems', () => {
    const text = 'Concat(for i in range(2): Add($x, k * i), $rest..., $rest[0], $axis, $cat($x){axis: 0}){axis: $axis}';
    expect(checkReplacement(parseReplacement(text), { captures, lets: ['k'] })).toEqual([]);
  });
});

describe('a list of results, one per output of the root', () => {
  function splitGraph(readMiddle: boolean) {
    const g = new Graph('main');
    const x = g.addValue('x', { dtype: 'float32', shape: [6] });
    g.inputs = [x];
    const split = g.addNode({ op: 'Split', name: 's', inputs: [x], outputs: ['a', 'b', 'c'], attrs: { axis: attr.int(0) } });
    const [a, b, c] = split.outputs as Value[];
    const r = g.addNode({ op: 'Relu', name: 'r', inputs: [a!], outputs: ['ra'] });
    g.outputs = readMiddle ? [r.output(0), b!, c!] : [r.output(0), c!];
    return { g, split, a: a!, b: b!, c: c! };
  }

  test('outputs of different new nodes become the root values themselves; `_` drops an unread one', () => {
    const { g, split, a, c } = splitGraph(false);
    const built = rewrite(split, 'Split($x)', 'h[2] = Split($x){axis: 0}\n(h[0], _, Neg(h[1]))');
    expect(built.outputs[0]).toBe(a);
    expect(built.outputs[2]).toBe(c);
    expect(a.producer?.op).toBe('Split');
    expect(a.producer?.name).toBe('s');
    expect(a.producer?.outputs).toHaveLength(2);
    expect(c.producer?.op).toBe('Neg');
    expect(g.outputs).toEqual([g.findValue('ra'), c]);
  });

  test('`_` for an output that is still read is refused, and the root keeps its outputs', () => {
    const { split, a, b, c } = splitGraph(true);
    const m = compilePattern(parsePattern('Split($x)'), { format: 'onnx' }).match(split);
    if (!m.ok) throw new Error(m.reason);
    const reuse = [...split.outputs];
    expect(() => instantiate(parseReplacement('h[2] = Split($x)\n(h[0], _, h[1])'), { graph: split.graph, bindings: m.bindings, reuseOutputs: reuse }))
      .toThrow(/output 1 \('b'\) of the matched root is still read/);
    expect(split.outputs).toEqual([a, b, c]);
    expect(split.graph.nodes.map((n) => n.op)).toEqual(['Split', 'Relu']);
  });

  test('the list must have one entry per output of the root', () => {
    const { split } = splitGraph(false);
    expect(() => rewrite(split, 'Split($x)', 'h[2] = Split($x)\n(h[0], h[1])')).toThrow(/the matched root has 3 output\(s\), the list of results gives 2/);
  });

  test('a `for` gives one result per item, alone or among other entries, and must give as many as the root has outputs', () => {
    const { split, a, b, c } = splitGraph(true);
    const built = rewrite(split, 'Split($x)', '(for i in range(3): Mul($x, i + 1))');
    expect(built.outputs).toEqual([a, b, c]);
    expect([a, b, c].map((v) => v.producer?.op)).toEqual(['Mul', 'Mul', 'Mul']);
    expect(c.producer!.input(1)!.const!.toFloat64()[0]).toBe(3);
    const { split: again } = splitGraph(true);
    expect(rewrite(again, 'Split($x)', '(Neg($x), for i in range(2): Mul($x, i))').outputs.map((v) => v.producer?.op)).toEqual(['Neg', 'Mul', 'Mul']);
    const { split: short } = splitGraph(true);
    expect(() => rewrite(short, 'Split($x)', '(for i in range(2): Neg($x))')).toThrow(/the matched root has 3 output\(s\), the list of results gives 2/);
  });

  test('a list of results parses with positions and checks its names', () => {
    const ast = parseReplacement('v[2] = Split($x)\n(v[0], _, $y)');
    expect(ast.results).toHaveLength(3);
    const problems = checkReplacement(ast, { captures: compilePattern(parsePattern('Split($x)'), { format: 'onnx' }).captures, lets: [] });
    expect(problems.map((p) => p.message)).toEqual([expect.stringMatching(/\$y is not bound/)]);
    expect(() => parseReplacement('(Relu($x), Neg($x)')).toThrow(/expected '\)' after the list of results/);
  });
});
