import { BytesData, Graph, Node, Tensor, attr } from '../../src/ir';
import type { Attr, FormatId } from '../../src/ir';
import { evaluate, parseExpr } from '../../src/expr';
import { compilePattern, expressionEnv, parsePattern } from '../../src/pattern';
import type { MatchResult } from '../../src/pattern';

function compile(text: string, format: FormatId = 'onnx', allowSharedIntermediates = false) {
  return compilePattern(parsePattern(text), { format, allowSharedIntermediates });
}

function matchAt(text: string, node: Node, format: FormatId = 'onnx'): MatchResult {
  return compile(text, format).match(node);
}

function ok(r: MatchResult) {
  if (!r.ok) throw new Error(`expected a match, got: ${r.reason}`);
  return r.bindings;
}

function reason(r: MatchResult): string {
  if (r.ok) throw new Error('expected no match');
  return r.reason;
}

/** x -> BatchNormalization(x, scale, bias, mean, var) -> Relu, with the stats as initializers. */
function batchNormGraph(opts: { epsilon?: number; meanFromInput?: boolean } = {}) {
  const g = new Graph('main');
  const x = g.addValue('x', { dtype: 'float32', shape: [1, 2, 4, 4] });
  const mean = opts.meanFromInput ? g.addValue('mean_in', { dtype: 'float32', shape: [2] }) : g.addConstant('mean', Tensor.from('float32', [2], [0.5, -1]));
  g.inputs = opts.meanFromInput ? [x, mean] : [x];
  const scale = g.addConstant('scale', Tensor.from('float32', [2], [2, 3]));
  const bias = g.addConstant('bias', Tensor.from('float32', [2], [0, 1]));
  const v = g.addConstant('var', Tensor.from('float32', [2], [1, 4]));
  const attrs: Record<string, Attr> = opts.epsilon === undefined ? {} : { epsilon: attr.float(opts.epsilon) };
  const bn = g.addNode({ op: 'BatchNormalization', name: 'bn0', inputs: [x, scale, bias, mean, v], outputs: ['y'], attrs });
  const relu = g.addNode({ op: 'Relu', name: 'relu0', inputs: [bn.output(0)], outputs: ['z'] });
  g.outputs = [relu.output(0)];
  return { g, x, bn, relu, scale, mean };
}

describe('match: captures and constants', () => {
  const BN = 'BatchNormalization($x, $scale:const, $bias:const, $mean:const, $var:const){epsilon: $eps}';

  test('binds values, constant tensors and an attribute', () => {
    const { bn, x, scale } = batchNormGraph({ epsilon: 1e-3 });
    const b = ok(matchAt(BN, bn));
    expect(b.values.get('x')).toBe(x);
    expect(b.values.get('scale')).toBe(scale);
    expect([...b.consts.get('scale')!.toFloat64()]).toEqual([2, 3]);
    expect(b.attrs.get('eps')).toEqual({ kind: 'float', value: 1e-3 });
    expect(b.matchedNodes.map((n) => n.name)).toEqual(['bn0']);
    expect(b.root).toBe(bn);
  });

  test('an absent attribute binds the ONNX default (BatchNormalization epsilon = 1e-5)', () => {
    const { bn } = batchNormGraph();
    expect(ok(matchAt(BN, bn)).attrs.get('eps')).toEqual({ kind: 'float', value: 1e-5 });
  });

  test("an attribute that names the caller's (ONNX function body) neither binds nor compares, and says so", () => {
    const { bn } = batchNormGraph({ epsilon: 1e-3 });
    bn.attrs.set('epsilon', { kind: 'ref', value: 'eps' });
    expect(reason(matchAt(BN, bn))).toContain("attribute 'epsilon' of BatchNormalization 'bn0' is the caller's ('eps' of the function)");
    expect(reason(matchAt('BatchNormalization($x, $s, $b, $m, $v){epsilon: 1e-3}', bn))).toContain("is the caller's");
    // A pattern that does not ask for the attribute still matches (the driver decides about the node).
    expect(matchAt('BatchNormalization($x, $s, $b, $m, $v)', bn).ok).toBe(true);
  });

  test('a non-constant input fails :const with a reason naming the input', () => {
    const { bn } = batchNormGraph({ meanFromInput: true });
    expect(reason(matchAt(BN, bn))).toBe("input 3 of BatchNormalization 'bn0' is not constant");
  });

  test('a constant of a data type recipe does not know fails :const, saying so (not a refusal later)', () => {
    const g = new Graph('main');
    const x = g.addValue('x');
    g.inputs = [x];
    // As read from a file whose tensor names a data_type code of a newer ONNX: the bytes are kept.
    const k = g.addConstant('k', new Tensor('undefined', [4], new BytesData(new Uint8Array(16))));
    const mul = g.addNode({ op: 'Mul', name: 'm', inputs: [x, k], outputs: ['y'] });
    expect(reason(matchAt('Mul($x, $k:const)', mul))).toBe("input 1 of Mul 'm' is a constant of data type 'undefined', whose elements recipe cannot read");
    // Without :const the value still binds: it is only its elements that cannot be read.
    expect(ok(matchAt('Mul($x, $k)', mul)).values.get('k')).toBe(k);
  });

  test('an ONNX Constant node output counts as constant, its tensor is bound', () => {
    const g = new Graph('main');
    const x = g.addValue('x');
    g.inputs = [x];
    const c = g.addNode({ op: 'Constant', name: 'c', outputs: ['two'], attrs: { value_float: attr.float(2) } });
    const ci = g.addNode({ op: 'Constant', name: 'ci', outputs: ['ints'], attrs: { value_ints: attr.ints([1, 2]) } });
    const mul = g.addNode({ op: 'Mul', name: 'm', inputs: [x, c.output(0)], outputs: ['y'] });
    const b = ok(matchAt('Mul($x, $k:const)', mul));
    expect(b.consts.get('k')!.dtype).toBe('float32');
    expect([...b.consts.get('k')!.toFloat64()]).toEqual([2]);
    // The Constant node is not part of the match: it stays for other readers, cleanup removes it otherwise.
    expect(b.matchedNodes.map((n) => n.name)).toEqual(['m']);
    const add = g.addNode({ op: 'Add', name: 'a', inputs: [x, ci.output(0)], outputs: ['z'] });
    expect(ok(matchAt('Add($x, $k:const)', add)).consts.get('k')!.dtype).toBe('int64');
    // through an Identity (as PyTorch exports read weights) it is still constant
    const id = g.addNode({ op: 'Identity', name: 'id', inputs: [c.output(0)], outputs: ['two_again'] });
    const mul2 = g.addNode({ op: 'Mul', name: 'm2', inputs: [x, id.output(0)], outputs: ['y2'] });
    const b2 = ok(matchAt('Mul($x, $k:const)', mul2));
    expect(b2.values.get('k')).toBe(id.output(0));
    expect([...b2.consts.get('k')!.toFloat64()]).toEqual([2]);
    // in TFLite there is no Constant op: a node output is not constant
    expect(reason(matchAt('Mul($x, $k:const)', mul, 'tflite'))).toBe("input 1 of Mul 'm' is not constant");
  });

  test('a number operand matches a constant whose elements all equal it (float32 rounding)', () => {
    const g = new Graph('main');
    const x = g.addValue('x');
    const k = g.addConstant('k', Tensor.scalar('float32', 0.16666667));
    const k2 = g.addConstant('k2', Tensor.scalar('float32', 0.16666666));
    const m1 = g.addNode({ op: 'Mul', name: 'm1', inputs: [x, k], outputs: ['a'] });
    const m2 = g.addNode({ op: 'Mul', name: 'm2', inputs: [x, k2], outputs: ['b'] });
    expect(matchAt('Mul($x, 0.16666667)', m1).ok).toBe(true);
    expect(reason(matchAt('Mul($x, 0.16666667)', m2))).toBe("input 1 of Mul 'm2' is not a constant 0.16666667");
  });
});

describe('match: float16 weights widened on load count as constants', () => {
  /** x -> op(x, widen(k16)) where k16 is a float16 constant and widen is the given node; returns the reader. */
  function widened(op: string, widen: { op: string; attrs?: Record<string, Attr>; dtype?: 'float32' | 'float64' }, k: Tensor) {
    const g = new Graph('main');
    const x = g.addValue('x', { dtype: 'float32', shape: [2] });
    g.inputs = [x];
    const k16 = g.addConstant('k16', k);
    const w = g.addNode({ op: widen.op, name: 'widen', inputs: [k16], outputs: ['k'], attrs: widen.attrs ?? {} });
    if (widen.dtype) w.output(0).dtype = widen.dtype;
    return g.addNode({ op, name: 'reader', inputs: [x, w.output(0)], outputs: ['y'] });
  }
  const half = (values: number[], dtype: 'float16' | 'bfloat16' | 'float32' = 'float16') => Tensor.from(dtype, [values.length], values);

  test('OpenVINO: a Const f16 read through Convert to f32 (the decompression OpenVINO writes by default)', () => {
    const mul = widened('Multiply', { op: 'Convert', attrs: { destination_type: attr.string('f32') } }, half([0.5, -3]));
    const b = ok(matchAt('Multiply($x, $k:const)', mul, 'openvino'));
    expect(b.consts.get('k')!.dtype).toBe('float32');
    expect([...b.consts.get('k')!.toFloat64()]).toEqual([0.5, -3]);
    // the value bound is the Convert's output, what the reader reads; the Convert is not part of the match
    expect(b.values.get('k')!.producer!.op).toBe('Convert');
    expect(b.matchedNodes.map((n) => n.name)).toEqual(['reader']);
    // a number operand sees the widened values too
    expect(matchAt('Multiply($x, 2)', widened('Multiply', { op: 'Convert', attrs: { destination_type: attr.string('f32') } }, half([2, 2])), 'openvino').ok).toBe(true);
    // bfloat16 to f32 and f32 to f64 widen exactly as well
    expect(ok(matchAt('Multiply($x, $k:const)', widened('Multiply', { op: 'Convert', attrs: { destination_type: attr.string('f32') } }, half([1.5], 'bfloat16')), 'openvino')).consts.get('k')!.dtype).toBe('float32');
    expect(ok(matchAt('Multiply($x, $k:const)', widened('Multiply', { op: 'Convert', attrs: { destination_type: attr.string('f64') } }, half([0.1], 'float32')), 'openvino')).consts.get('k')!.dtype).toBe('float64');
  });

  test('OpenVINO: a Convert that narrows or changes the kind is not a constant (its values would need rounding)', () => {
    for (const [from, to] of [['float32', 'f16'], ['float16', 'i32'], ['float16', 'f16'], ['float32', 'f32']] as const) {
      const mul = widened('Multiply', { op: 'Convert', attrs: { destination_type: attr.string(to) } }, half([0.5], from));
      expect(reason(matchAt('Multiply($x, $k:const)', mul, 'openvino'))).toBe("input 1 of Multiply 'reader' is not constant");
    }
  });

  test('TFLite: a float16 buffer read through DEQUANTIZE (float16 quantization); not an int8 one', () => {
    const mul = widened('MUL', { op: 'DEQUANTIZE', dtype: 'float32' }, half([0.25, 8]));
    const b = ok(matchAt('MUL($x, $k:const)', mul, 'tflite'));
    expect(b.consts.get('k')!.dtype).toBe('float32');
    expect([...b.consts.get('k')!.toFloat64()]).toEqual([0.25, 8]);
    const int8 = widened('MUL', { op: 'DEQUANTIZE', dtype: 'float32' }, Tensor.from('int8', [2], [1, 2]));
    expect(reason(matchAt('MUL($x, $k:const)', int8, 'tflite'))).toBe("input 1 of MUL 'reader' is not constant");
  });

  test('ONNX: a float16 initializer read through Cast to float or double; not a Cast to an integer or to float16', () => {
    const b = ok(matchAt('Mul($x, $k:const)', widened('Mul', { op: 'Cast', attrs: { to: attr.int(1) } }, half([4, -0.5]))));
    expect(b.consts.get('k')!.dtype).toBe('float32');
    expect([...b.consts.get('k')!.toFloat64()]).toEqual([4, -0.5]);
    expect(ok(matchAt('Mul($x, $k:const)', widened('Mul', { op: 'Cast', attrs: { to: attr.int(11) } }, half([4])))).consts.get('k')!.dtype).toBe('float64');
    for (const [to, from] of [[7, 'float16'], [10, 'float32'], [1, 'float32']] as const) {
      const mul = widened('Mul', { op: 'Cast', attrs: { to: attr.int(to) } }, half([4], from));
      expect(reason(matchAt('Mul($x, $k:const)', mul))).toBe("input 1 of Mul 'reader' is not constant");
    }
  });
});

describe('match: structure', () => {
  test('a value captured twice must be the same value', () => {
    const g = new Graph('main');
    const x = g.addValue('x');
    const y = g.addValue('y');
    const sig = g.addNode({ op: 'Sigmoid', name: 's', inputs: [x], outputs: ['sx'] });
    const swish = g.addNode({ op: 'Mul', name: 'swish', inputs: [x, sig.output(0)], outputs: ['o1'] });
    const sig2 = g.addNode({ op: 'Sigmoid', name: 's2', inputs: [y], outputs: ['sy'] });
    const notSwish = g.addNode({ op: 'Mul', name: 'other', inputs: [x, sig2.output(0)], outputs: ['o2'] });
    const p = 'Mul($x, Sigmoid($x))';
    const b = ok(matchAt(p, swish));
    expect(b.matchedNodes.map((n) => n.name)).toEqual([sig.name, swish.name]);
    const r = matchAt(p, notSwish);
    // Both operand orders were tried; the closest miss is reported.
    expect(reason(r)).toMatch(/input 0 of Sigmoid 's2' is 'y', not the value already bound to \$x \('x'\)|input 1 of Mul 'other'/);
  });

  test('commutative ops match in either operand order, per format', () => {
    const g = new Graph('main');
    const x = g.addValue('x');
    const w = g.addConstant('w', Tensor.scalar('float32', 3));
    const add = g.addNode({ op: 'Add', name: 'a', inputs: [w, x], outputs: ['y'] });
    const sub = g.addNode({ op: 'Sub', name: 's', inputs: [w, x], outputs: ['z'] });
    const b = ok(matchAt('Add($x, $w:const)', add));
    expect(b.values.get('x')).toBe(x);
    expect(b.values.get('w')).toBe(w);
    expect(reason(matchAt('Sub($x, $w:const)', sub))).toBe("input 1 of Sub 's' is not constant");
    const tfl = g.addNode({ op: 'ADD', name: 't', inputs: [w, x], outputs: ['t'] });
    expect(matchAt('ADD($x, $w:const)', tfl, 'tflite').ok).toBe(true);
    const ov = g.addNode({ op: 'Multiply', name: 'o', inputs: [w, x], outputs: ['o'] });
    expect(matchAt('Multiply($x, $w:const)', ov, 'openvino').ok).toBe(true);
    // Multiply is not commutative in the ONNX table (no such op there)
    expect(matchAt('Multiply($x, $w:const)', ov, 'onnx').ok).toBe(false);
  });

  test('commutative retry does not leak bindings from the failed order', () => {
    // Add(Relu(a), Relu(b)) against Add(Relu($p), Relu($p)): must fail both ways, binding nothing.
    const g = new Graph('main');
    const a = g.addValue('a');
    const bv = g.addValue('b');
    const r1 = g.addNode({ op: 'Relu', name: 'r1', inputs: [a], outputs: ['ra'] });
    const r2 = g.addNode({ op: 'Relu', name: 'r2', inputs: [bv], outputs: ['rb'] });
    const add = g.addNode({ op: 'Add', name: 'add', inputs: [r1.output(0), r2.output(0)], outputs: ['s'] });
    expect(matchAt('Add(Relu($p), Relu($p))', add).ok).toBe(false);
    const b = ok(matchAt('Add(Relu($p), Relu($q)@second)', add));
    expect(b.values.get('p')).toBe(a);
    expect(b.nodes.get('second')).toBe(r2);
    // pinning $q through another operand forces the swapped order
    const mul = g.addNode({ op: 'Mul', name: 'mul', inputs: [add.output(0), bv], outputs: ['m'] });
    const b2 = ok(compile('Mul(Add(Relu($p), Relu($q)), $q)', 'onnx').match(mul));
    expect(b2.values.get('q')).toBe(bv);
    expect(b2.values.get('p')).toBe(a);
    expect(b2.matchedNodes.map((n) => n.name)).toEqual([r1.name, r2.name, add.name, mul.name]);
  });

  test('alternatives, wildcard ops, node and output captures', () => {
    const g = new Graph('main');
    const x = g.addValue('x');
    const w = g.addConstant('w', Tensor.from('float32', [1, 1, 1, 1], [1]));
    const conv = g.addNode({ op: 'ConvTranspose', name: 'ct', inputs: [x, w], outputs: ['c'] });
    const relu = g.addNode({ op: 'Relu', name: 'r', inputs: [conv.output(0)], outputs: ['y'] });
    const b = ok(matchAt('Relu|Clip($t=Conv|ConvTranspose($x, $w)@conv)@act', relu));
    expect(b.nodes.get('conv')).toBe(conv);
    expect(b.nodes.get('act')).toBe(relu);
    expect(b.values.get('t')).toBe(conv.output(0));
    expect(ok(matchAt('*(*($x, $_))', relu)).values.get('x')).toBe(x);
    expect(reason(matchAt('Relu(Conv($x, $w))', relu))).toBe("ConvTranspose 'ct' is not Conv");
    expect(reason(matchAt('Relu(Conv($x, $w))', conv))).toBe("ConvTranspose 'ct' is not Relu");
    expect(reason(matchAt('Relu(Relu($x))', relu))).toBe("ConvTranspose 'ct' is not Relu");
    expect(reason(matchAt('Relu(Relu($x))', g.addNode({ op: 'Relu', name: 'r0', inputs: [x], outputs: ['q'] }))))
      .toBe("input 0 of Relu 'r0' ('x') is not produced by a node, not Relu");
  });

  test('output index of a multi-output node', () => {
    const g = new Graph('main');
    const x = g.addValue('x');
    g.inputs = [x];
    const split = g.addNode({ op: 'Split', name: 'sp', inputs: [x], outputs: ['s0', 's1'] });
    const relu = g.addNode({ op: 'Relu', name: 'r', inputs: [split.output(1)], outputs: ['y'] });
    expect(reason(matchAt('Relu(Split($x))', relu))).toBe("input 0 of Relu 'r' is output 1 of Split 'sp', the pattern expects output 0");
    expect(matchAt('Relu(Split($x)[1])', relu).ok).toBe(true);
    // once the other output has a reader, the Split is shared with the rest of the graph
    g.addNode({ op: 'Neg', name: 'n', inputs: [split.output(0)], outputs: ['n0'] });
    expect(reason(matchAt('Relu(Split($x)[1])', relu))).toBe("value 's0' of Split 'sp' is also read by Neg 'n', outside the pattern");
    expect(compile('Relu(Split($x)[1])', 'onnx', true).match(relu).ok).toBe(true);
  });

  test('variadic captures take the rest of the inputs; optional and absent inputs', () => {
    const g = new Graph('main');
    const [a, b, c] = ['a', 'b', 'c'].map((n) => g.addValue(n)) as [ReturnType<Graph['addValue']>, ReturnType<Graph['addValue']>, ReturnType<Graph['addValue']>];
    const concat = g.addNode({ op: 'Concat', name: 'cat', inputs: [a, b, c], outputs: ['y'], attrs: { axis: attr.int(1) } });
    expect(ok(matchAt('Concat($first, $rest...){axis: 1}', concat)).lists.get('rest')!.map((v) => v?.name)).toEqual(['b', 'c']);
    expect(ok(matchAt('Concat($all...)', concat)).lists.get('all')!.map((v) => v?.name)).toEqual(['a', 'b', 'c']);
    expect(reason(matchAt('Concat($p, $q)', concat))).toBe("Concat 'cat' has 3 inputs, the pattern expects 2");
    expect(reason(matchAt('Concat($all...){axis: 0}', concat))).toBe("attribute 'axis' of Concat 'cat' is 1, not 0");

    // $parts:const... binds the tensors too, and wants every one constant (a Constant node's output is one)
    const k1 = g.addConstant('k1', Tensor.from('int64', [1], [4]));
    const k2node = g.addNode({ op: 'Constant', name: 'k2', inputs: [], outputs: ['k2'], attrs: { value: attr.tensor(Tensor.from('int64', [2], [5, 6])) } });
    const consts = g.addNode({ op: 'Concat', name: 'consts', inputs: [k1, k2node.output(0)], outputs: ['kk'], attrs: { axis: attr.int(0) } });
    const bound = ok(matchAt('Concat($parts:const...)', consts));
    expect(bound.lists.get('parts')).toEqual([k1, k2node.output(0)]);
    expect(bound.listConsts.get('parts')!.map((t) => [...t.toFloat64()])).toEqual([[4], [5, 6]]);
    expect(reason(matchAt('Concat($first, $parts:const...)', concat))).toBe("input 1 of Concat 'cat' is not constant");

    const clip = g.addNode({ op: 'Clip', name: 'clip', inputs: [a, null, c], outputs: ['z'] });
    const m = ok(matchAt('Clip($x, $lo?, $hi?)', clip));
    expect(m.values.get('lo')).toBeNull();
    expect(m.values.get('hi')).toBe(c);
    expect(ok(matchAt('Clip($x, _, $hi)', clip)).values.get('hi')).toBe(c);
    expect(reason(matchAt('Clip($x, $lo, $hi)', clip))).toBe("input 1 of Clip 'clip' is missing");
    expect(reason(matchAt('Clip($x, $lo?, _)', clip))).toBe("input 2 of Clip 'clip' is present, the pattern expects it absent (_)");
    // trailing optional inputs that are absent altogether match $x? too
    const clip2 = g.addNode({ op: 'Clip', name: 'clip2', inputs: [a], outputs: ['w'] });
    expect(ok(matchAt('Clip($x, $lo?, $hi?)', clip2)).values.get('hi')).toBeNull();
  });

  test('attribute conditions: literals, alternatives, defaults, optional binds, the same attribute twice', () => {
    const g = new Graph('main');
    const x = g.addValue('x');
    const resize = g.addNode({ op: 'Resize', name: 'rs', inputs: [x], outputs: ['y'], attrs: { mode: attr.string('linear'), axes: attr.ints([2, 3]) } });
    expect(matchAt('Resize($x){mode: "nearest"|"linear", axes: [2, 3]}', resize).ok).toBe(true);
    expect(reason(matchAt('Resize($x){mode: "cubic"}', resize))).toBe('attribute \'mode\' of Resize \'rs\' is "linear", not "cubic"');
    // absent attribute with an ONNX default
    expect(matchAt('Resize($x){coordinate_transformation_mode: "half_pixel"}', resize).ok).toBe(true);
    expect(reason(matchAt('Resize($x){antialias: 1}', resize))).toBe("Resize 'rs' has no attribute 'antialias'");
    const b = ok(matchAt('Resize($x){antialias: $aa?, extrapolation: $e = 0.5}', resize));
    expect(b.attrs.get('aa')).toBeNull();
    expect(b.attrs.get('e')).toEqual({ kind: 'float', value: 0.5 });
    const conv = g.addNode({ op: 'Conv', name: 'cv', inputs: [x], outputs: ['c'], attrs: { group: attr.int(1), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) } });
    expect(matchAt('Conv($x){group: 1, strides: [2, 2]}', conv).ok).toBe(true);
    expect(matchAt('Conv($x){group: true}', conv).ok).toBe(true);
    const pool = g.addNode({ op: 'MaxPool', name: 'mp', inputs: [conv.output(0)], outputs: ['p'], attrs: { strides: attr.ints([2, 2]) } });
    expect(matchAt('MaxPool(Conv($x){strides: $s}){strides: $s}', pool).ok).toBe(true);
    pool.attrs.set('strides', attr.ints([1, 1]));
    expect(reason(matchAt('MaxPool(Conv($x){strides: $s}){strides: $s}', pool)))
      .toBe("attribute 'strides' of Conv 'cv' differs from the value already bound to $s");
  });

  test('attributes kept as text (OpenVINO) compare by value', () => {
    const g = new Graph('main');
    const x = g.addValue('x');
    const conv = g.addNode({ op: 'Convolution', name: 'c', inputs: [x], outputs: ['y'], attrs: {
      strides: attr.string('2,2'), pads_begin: attr.string('0, 0'), auto_pad: attr.string('explicit'), epsilon: attr.string('1e-05'), keep: attr.string('true'),
    } });
    const ok1 = (p: string): boolean => matchAt(p, conv, 'openvino').ok;
    expect(ok1('Convolution($x){strides: [2, 2], pads_begin: [0, 0], auto_pad: "explicit", epsilon: 0.00001, keep: true}')).toBe(true);
    expect(ok1('Convolution($x){strides: [1, 1]}')).toBe(false);
    expect(ok1('Convolution($x){strides: [2, 2, 2]}')).toBe(false);
    expect(ok1('Convolution($x){auto_pad: 1}')).toBe(false);
    expect(ok1('Convolution($x){keep: false}')).toBe(false);
    expect(ok1('Convolution($x){epsilon: 0.001}')).toBe(false);
  });

  test('floats compare at float32 precision', () => {
    const g = new Graph('main');
    const x = g.addValue('x');
    const lr = g.addNode({ op: 'LeakyRelu', name: 'l', inputs: [x], outputs: ['y'], attrs: { alpha: attr.float(Math.fround(0.1)) } });
    expect(matchAt('LeakyRelu($x){alpha: 0.1}', lr).ok).toBe(true);
    expect(matchAt('LeakyRelu($x){alpha: 0.2}', lr).ok).toBe(false);
  });

  test('domains: ai.onnx is the default domain; others must match', () => {
    const g = new Graph('main');
    const x = g.addValue('x');
    const gelu = g.addNode({ op: 'Gelu', domain: 'com.microsoft', name: 'g', inputs: [x], outputs: ['y'] });
    const relu = g.addNode({ op: 'Relu', name: 'r', inputs: [x], outputs: ['z'] });
    expect(matchAt('com.microsoft::Gelu($x)', gelu).ok).toBe(true);
    expect(matchAt('Gelu($x)', gelu).ok).toBe(true);
    expect(matchAt('ai.onnx::Relu($x)', relu).ok).toBe(true);
    expect(reason(matchAt('ai.onnx::Gelu($x)', gelu))).toBe("Gelu 'g' is not ai.onnx::Gelu");
  });
});

describe('match: intermediate values read outside the pattern', () => {
  test('refused by default with the reader named; allowed on request; graph outputs too', () => {
    const { g, bn, relu } = batchNormGraph();
    const p = 'Relu(BatchNormalization($x, $s, $b, $m, $v))';
    expect(ok(matchAt(p, relu)).matchedNodes.map((n) => n.name)).toEqual([bn.name, relu.name]);
    const other = g.addNode({ op: 'Sigmoid', name: 'sig', inputs: [bn.output(0)], outputs: ['o'] });
    expect(reason(matchAt(p, relu))).toBe("value 'y' of BatchNormalization 'bn0' is also read by Sigmoid 'sig', outside the pattern");
    expect(compile(p, 'onnx', true).match(relu).ok).toBe(true);
    g.removeNode(other);
    g.outputs = [...g.outputs, bn.output(0)];
    expect(reason(matchAt(p, relu))).toBe("value 'y' of BatchNormalization 'bn0' is a graph output, so the pattern cannot consume it");
  });

  test('use counts of captured intermediate values are visible to conditions', () => {
    const { g, bn, relu } = batchNormGraph();
    g.addNode({ op: 'Sigmoid', name: 'sig', inputs: [bn.output(0)], outputs: ['o'] });
    const m = compile('Relu($t=BatchNormalization($x, $s, $b, $m, $v))@r', 'onnx', true).match(relu);
    const b = ok(m);
    const env = { captures: expressionEnv(b) };
    expect(evaluate(parseExpr('uses($t)'), env)).toBe(2);
    expect(evaluate(parseExpr('uses($x)'), env)).toBe(1);
    expect(evaluate(parseExpr('is_output($t)'), env)).toBe(false);
    expect(evaluate(parseExpr('name($r)'), env)).toBe('relu0');
    // a :const capture is its tensor in expressions
    expect(evaluate(parseExpr('shape($s)'), { captures: expressionEnv(ok(compile('BatchNormalization($x, $s:const, $b, $m, $v)').match(bn))) })).toEqual([2]);
  });

  test('a value read twice inside the pattern is not shared', () => {
    const g = new Graph('main');
    const x = g.addValue('x');
    const sig = g.addNode({ op: 'Sigmoid', name: 's', inputs: [x], outputs: ['sx'] });
    const mul = g.addNode({ op: 'Mul', name: 'm', inputs: [sig.output(0), sig.output(0)], outputs: ['y'] });
    expect(matchAt('Mul($a=Sigmoid($x), $a)', mul).ok).toBe(true);
  });
});

describe('compilePattern', () => {
  test('captures list kinds and offsets; rootOps for the op index', () => {
    const text = 'Relu|Clip($t=Conv($x, $w:const, $b?)@conv, $rest...){alpha: $a}';
    const c = compile(text);
    expect(c.rootOps).toEqual(['Relu', 'Clip']);
    const kinds = Object.fromEntries([...c.captures].map(([n, i]) => [n, i.kind]));
    expect(kinds).toEqual({ t: 'value', conv: 'node', x: 'value', w: 'const', b: 'value', rest: 'values-list', a: 'attr' });
    const w = c.captures.get('w')!;
    expect(text.slice(w.start, w.end)).toBe('$w:const');
    expect(c.captures.get('b')!.optional).toBe(true);
    expect(compile('*($x)').rootOps).toBe('*');
  });

  test('a name used with two meanings is an error at its second use', () => {
    const text = 'Conv($x, $w){group: $x}';
    try {
      compile(text);
      throw new Error('expected an error');
    } catch (e) {
      const err = e as { start: number; end: number; reason: string };
        expect(err.reason).toBe("'$x' is used as an attribute here but as a value at offset 5");
      expect(text.slice(err.start, err.end)).toBe('$x');
    }
  });
});
