import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { Graph, Model, Tensor, StringData, attr, printGraph, printModel, validate } from '../../src/ir';
import type { Attr } from '../../src/ir';
import { GraphTextError, parseGraph, parseModel } from '../../src/ir/text/parse';
import { readModel } from '../../src/formats';
import { ONNX_TESTDATA, corpusOnnxModels, corpusTfliteModels, corpusOpenvinoModels, findFiles } from '../helpers/corpus';

/** A graph with every kind of line and attribute the printer writes. */
function everything(): Model {
  const g = new Graph('main');
  const x = g.addValue('x', { dtype: 'float32', shape: ['N', 3, null, 4] });
  const flag = g.addValue('flag', { dtype: 'bool', shape: [] });
  const untyped = g.addValue('raw');
  const initIn = g.addConstant('in_const', Tensor.from('float32', [2], [0.5, -2]));
  g.inputs = [x, flag, untyped, initIn];
  const w = g.addConstant('w0', Tensor.from('float32', [4, 3, 3, 3], Array.from({ length: 108 }, (_, i) => i / 7)));
  const eps = g.addConstant('eps', Tensor.from('float32', [], [1e-5]));
  const ints = g.addConstant('idx', Tensor.from('int64', [3], [1n, -2n, 9007199254740993n]));
  const half = g.addConstant('h', Tensor.from('float16', [2], [0.099975586, -65504]));
  const special = g.addConstant('special', Tensor.from('float64', [3], [NaN, Infinity, -Infinity]));
  const b = g.addConstant('mask', Tensor.from('bool', [2, 2], [1, 0, 0, 1]));
  const u8 = g.addConstant('q', Tensor.from('uint8', [1], [255]));
  const strs = g.addConstant('labels', new Tensor('string', [2], new StringData([Buffer.from('a'), Buffer.from('b c')])));
  const weird = g.addConstant('weird name:1', Tensor.from('int32', [1], [7]));
  const conv = g.addNode({
    op: 'Conv', name: 'conv0', inputs: [x, w, null], outputs: [g.addValue('c0', { dtype: 'float32', shape: ['N', 4, null, 4] })],
    attrs: { pads: attr.ints([1, 1, 1, 1]), group: attr.int(1), dilations: attr.ints([]) },
  });
  const gelu = g.addNode({ op: 'Gelu', domain: 'com.microsoft', name: '', inputs: [conv.output(0)], outputs: [g.addValue('y', { dtype: 'float32' })] });
  const allAttrs: Record<string, Attr> = {
    f: attr.float(0.1),
    f2: attr.float(3),
    fbig: attr.float(1e30),
    fnan: attr.float(NaN),
    i: attr.int(-3),
    ibig: attr.int(9223372036854775807n),
    bt: attr.bool(true),
    bf: attr.bool(false),
    s: attr.string('he said "hi"\n'),
    by: { kind: 'bytes', value: Uint8Array.from([0, 255, 16]) },
    fs: attr.floats([1, 0.25, -1e-7]),
    is: attr.ints([0, -1, 9223372036854775807n]),
    ss: attr.strings(['a', '', 'x,y']),
    t: attr.tensor(Tensor.from('int32', [2, 1], [4, 5])),
    tbig: attr.tensor(Tensor.from('float32', [3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9])),
    ts: { kind: 'tensors', value: [Tensor.from('float32', [1], [2]), Tensor.scalar('int64', 3)] },
    op: { kind: 'opaque', value: { anything: 1 } },
    'quoted key': attr.int(1),
  };
  const mixed = g.addNode({ op: 'Custom Op', domain: 'my.domain', name: 'in', inputs: [gelu.output(0), eps, ints, half, special, b, u8, strs, weird, initIn], outputs: ['m0', 'm1'], attrs: allAttrs });
  g.addNode({ op: 'Assign', name: 'sink', inputs: [mixed.output(0)], outputs: [] });
  g.addNode({ op: 'Sink', inputs: [mixed.output(1)], outputs: [] });

  // If with two subgraphs reading an outer value; a Loop body with a nested If.
  const thenG = new Graph('then', g);
  const t1 = thenG.addNode({ op: 'Relu', name: 'tr', inputs: [mixed.output(0)], outputs: ['t_out'] });
  thenG.outputs = [t1.output(0)];
  const elseG = new Graph('else', g);
  const k = elseG.addConstant('k', Tensor.scalar('float32', 2));
  const e1 = elseG.addNode({ op: 'Mul', name: 'em', inputs: [mixed.output(0), k], outputs: ['e_out'] });
  elseG.outputs = [e1.output(0)];
  const iff = g.addNode({ op: 'If', name: 'if0', inputs: [flag], outputs: ['z'], attrs: { then_branch: attr.graph(thenG), else_branch: attr.graph(elseG), note: attr.string('x') } });
  const body = new Graph('body', g);
  const iter = body.addValue('iter', { dtype: 'int64', shape: [] });
  const cond = body.addValue('cond', { dtype: 'bool', shape: [] });
  body.inputs = [iter, cond];
  const inner = new Graph('inner', body);
  const ir = inner.addNode({ op: 'Identity', inputs: [iter], outputs: ['ii'] });
  inner.outputs = [ir.output(0)];
  const nested = body.addNode({ op: 'If', name: 'if1', inputs: [cond], outputs: ['bo'], attrs: { then_branch: attr.graph(inner), else_branch: attr.graph(inner) } });
  body.outputs = [cond, nested.output(0)];
  const loop = g.addNode({ op: 'Loop', name: 'loop', inputs: [null, flag], outputs: ['lo'], attrs: { body: attr.graph(body) } });
  const one = new Graph('one', g);
  one.outputs = [];
  const scan = g.addNode({ op: 'Multi', name: 'multi', inputs: [], outputs: ['mo'], attrs: { branches: { kind: 'graphs', value: [thenG, elseG] }, single: { kind: 'graphs', value: [] } } });
  g.outputs = [iff.output(0), loop.output(0), scan.output(0), mixed.output(1)];
  const model = new Model('onnx', g);
  model.opsets = [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }];
  return model;
}

/** Every constant tensor of a model by the digest the printer shows for it. */
function tensorsByDigest(model: Model): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const add = (t: Tensor): void => {
    out.set(createHash('sha256').update(t.data.bytes()).digest('hex').slice(0, 8), t);
  };
  for (const g of [...model.allGraphs(), ...model.functions.flatMap((f) => f.body.walkGraphs())]) {
    for (const v of g.values) if (v.const) add(v.const);
    for (const n of g.nodes) for (const a of n.attrs.values()) {
      if (a.kind === 'tensor') add(a.value);
      if (a.kind === 'tensors') a.value.forEach(add);
    }
  }
  return out;
}

function error(fn: () => unknown): GraphTextError {
  try {
    fn();
  } catch (e) {
    if (e instanceof GraphTextError) return e;
    throw e;
  }
  throw new Error('expected a GraphTextError');
}

describe('parseModel / parseGraph round trip', () => {
  test('every line and attribute kind: print(parse(print(m))) === print(m)', () => {
    const m = everything();
    const text = printModel(m);
    const byDigest = tensorsByDigest(m);
    const back = parseModel(text, { constants: (d) => byDigest.get(d.digest)! });
    expect(printModel(back)).toBe(text);
    expect(validate(back.graph)).toEqual([]);
    // structure, not only text: links, subgraph parents, outer-scope reads
    const iff = back.graph.nodes.find((n) => n.name === 'if0')!;
    const thenG = (iff.attrs.get('then_branch') as { value: Graph }).value;
    expect(thenG.parent).toBe(back.graph);
    expect(thenG.nodes[0]!.input(0)!.graph).toBe(back.graph);
    // read by the sink and by the branches (printed, hence parsed, once per node holding them)
    expect(back.graph.findValue('m0')!.consumers.map((n) => n.name).sort()).toEqual(['em', 'em', 'sink', 'tr', 'tr']);
    expect(back.graph.nodes.find((n) => n.name === 'conv0')!.inputs[2]).toBeNull();
    expect(back.opsets).toEqual(m.opsets);
    expect(back.graph.inputs.map((v) => v.name)).toEqual(['x', 'flag', 'raw', 'in_const']);
  });

  test('with a larger inline limit every numeric constant is inline and parses without help', () => {
    const m = everything();
    const text = printModel(m, { inlineLimit: 1000 });
    // only the string tensor stays a digest
    expect(text.match(/#[0-9a-f]{8}/g)).toHaveLength(1);
    const labels = m.graph.findValue('labels')!.const!;
    const back = parseModel(text, { constants: (d) => (d.dtype === 'string' ? labels : Tensor.scalar('float32', 0)) });
    expect(printModel(back, { inlineLimit: 1000 })).toBe(text);
  });

  test('a printed graph parses back with parseGraph', () => {
    const m = everything();
    const byDigest = tensorsByDigest(m);
    const text = printGraph(m.graph, { inlineLimit: 200 });
    expect(printGraph(parseGraph(text, { constants: (d) => byDigest.get(d.digest)! }), { inlineLimit: 200 })).toBe(text);
  });

  test('functions: a block each after the graphs, with opsets, formal attributes and defaults, a body; references as @name', () => {
    const text = `model onnx
opsets ai.onnx:17, local:1
graph main
  in x: float32[2]
  c: y = local::Scale(x) {k: 3.0}
  out y
function local::Scale overload "v 2"
  opsets ai.onnx:17
  attr k = 2.0
  attr "in"
  in X
  const one: float32[] = [1.0]
  attr: K = Constant() {other: @"in", value_float: @k}
  m: Y = Mul(X, K)
  out Y
function Plain
  in A
  out A
`;
    const m = parseModel(text);
    expect(printModel(m)).toBe(text);
    const [scale, plain] = m.functions;
    expect([scale!.domain, scale!.name, scale!.overload, scale!.opsets]).toEqual(['local', 'Scale', 'v 2', [{ domain: '', version: 17 }]]);
    expect(scale!.attributes).toEqual([{ name: 'k', default: { kind: 'float', value: 2 } }, { name: 'in' }]);
    // \`attr: K = ...\` is a node labelled attr, not a formal attribute.
    const k = scale!.body.nodes[0]!;
    expect([k.name, k.attr('value_float'), k.attr('other')]).toEqual(['attr', { kind: 'ref', value: 'k' }, { kind: 'ref', value: 'in' }]);
    expect(scale!.body.nodes[1]!.input(0)).toBe(scale!.body.inputs[0]);
    expect(scale!.body.parent).toBeUndefined();
    expect([plain!.domain, plain!.body.outputs[0]]).toEqual(['', plain!.body.inputs[0]]);
  });

  test('hand-written text: any consistent indentation, blank lines, comments, forward references', () => {
    const g = parseGraph(`
      graph t
          # a comment
          in x: float32[2]

          y = Relu(z)
          z = Neg(x)
          out y
    `);
    expect(printGraph(g)).toBe('graph t\n  in x: float32[2]\n  y = Relu(z)\n  z = Neg(x)\n  out y\n');
    expect(g.nodes[0]!.input(0)!.producer!.op).toBe('Neg');
  });
});

describe('constants written as a digest', () => {
  const text = 'graph g\n  const w: float32[2, 3] = #0123abcd\n  const n: int64[4] = #89abcdef\n  y = Mul(w, w)\n  out y\n';

  test('are refused without a way to fill them', () => {
    const e = error(() => parseGraph(text));
    expect([e.line, e.col]).toEqual([2, 28]);
    expect(e.reason).toBe("constant 'w' is a digest (#0123abcd) without values");
    expect(e.hint).toMatch(/constants: 'zeros' or 'random'/);
  });

  test('zeros and random fill the declared dtype and shape, deterministically', () => {
    const zeros = parseGraph(text, { constants: 'zeros' });
    expect([...zeros.findValue('w')!.const!.toFloat64()]).toEqual([0, 0, 0, 0, 0, 0]);
    const a = parseGraph(text, { constants: 'random' });
    const b = parseGraph(text, { constants: 'random' });
    const w = [...a.findValue('w')!.const!.toFloat64()];
    expect(w).toEqual([...b.findValue('w')!.const!.toFloat64()]);
    expect(new Set(w).size).toBe(6);
    expect(w.every((x) => x >= -1 && x < 1)).toBe(true);
    const n = [...a.findValue('n')!.const!.toBigInt64()];
    expect(n.every((x) => x >= -3n && x <= 3n)).toBe(true);
    expect(a.findValue('n')!.const!.shape).toEqual([4]);
  });
});

describe('syntax errors name line and column', () => {
  test.each([
    ['graph g\n  y = Relu(x\n', 2, 13, "expected ',' or ')' after an input, found the end of the line"],
    ['graph g\n  in x: float33[2]\n', 2, 9, "expected a type such as float32[N, 3], found 'float33'"],
    ['graph g\n  in x\n  y = Relu(q)\n', 3, 12, "unknown value 'q'"],
    ['graph g\n  in x\n  out q\n', 3, 7, "unknown value 'q'"],
    ['graph g\n  in x\n   y = Relu(x)\n', 3, 4, 'expected indentation of 2 spaces like the line above, found 3'],
    ['graph g\n  const c: float32[3] = [1.0, 2.0]\n', 2, 26, "constant 'c' of shape [3] holds 3 value(s), the text gives 2"],
    ['graph g\n  in x\n  y = Relu(x) {alpha 0.1}\n', 3, 22, "expected ':' after attribute 'alpha', found '0.1'"],
    ['graph g\n  in x\n  y = Relu(x) {alpha: abc}\n', 3, 23, "'abc' is not an attribute value"],
    ['graph g\n  in x\n  y = Relu(x) $\n', 3, 15, "unexpected character '$'"],
    ['graph g\n  in x\n  y = If(x) {\n    then_branch:\n      graph t\n        out x\n', 3, 13, "the '{' of this node is never closed"],
    ['graph g\n  in x\n  y = Relu(x) {s: "ab}\n', 3, 19, 'unterminated string'],
    ['graph g\n  in out\n', 2, 6, "expected the input name, found 'out'"],
    ['graph g\ngraph h\n', 2, 1, "unexpected 'graph' after the end of the graph"],
    ['model onnx\ngraph g\n', 1, 1, 'this is the text of a model'],
    ['', 1, 1, 'empty graph text'],
    ['graph g\n  in x: float32[2\n', 2, 18, "expected ',' or ']' between dimensions, found the end of the line"],
    ['graph g\n  const c = [1.0]\n', 2, 9, "constant 'c' needs a dtype"],
    ['graph g\n  const c: float32[1]\n', 2, 22, "expected '=' after constant 'c', found the end of the line"],
    ['graph g\n  const c: int64[1] = [1.5]\n', 2, 24, "'1.5' is not an integer"],
    ['graph g\n  in x\n  y = Relu(x) {a: b"zz"}\n', 3, 20, 'bytes are written as b"<hex digits>"'],
    ['graph g\n  in x\n  y = Relu(x) {a: 1, a: 2}\n', 3, 22, "attribute 'a' is given twice"],
    ['graph g\n  in x\n  y = Relu(x) {\n    body:\n      y = Relu(x)\n  }\n', 5, 7, "expected 'graph' under attribute 'body', found 'y'"],
    ['graph g\n  graph h\n', 2, 3, "a graph cannot stand here: subgraphs are attributes of a node, under 'name:'"],
    ['graph g\n  in x\n  y = (x)\n', 3, 7, "expected an op name, found '('"],
  ])('%j', (text, line, col, reason) => {
    const e = error(() => parseGraph(text));
    expect({ line: e.line, col: e.col, reason: e.reason }).toEqual({ line, col, reason });
    expect(e.message).toBe(`${line}:${col}: ${reason}`);
  });

  test('model header errors', () => {
    expect(error(() => parseModel('model keras\ngraph g\n')).reason).toBe("unknown format 'keras'");
    expect(error(() => parseModel('model onnx\nopsets ai.onnx:x\ngraph g\n')).reason).toBe("opset version 'x' is not a number");
    expect(error(() => parseModel('model onnx\n')).reason).toBe('a model needs at least one graph');
  });

  test('undeclared names can be created on request (to read back a broken graph)', () => {
    const g = parseGraph('graph g\n  y = Relu(ghost)\n  out y\n', { undeclared: 'create' });
    expect(validate(g)).toEqual(["node '' (Relu) input 0 reads 'ghost', which nothing produces"]);
  });
});

describe('real models round trip through the text', () => {
  // libonnx-testdata: every control-flow model (subgraphs) and a spread of the rest
  const testdata = findFiles(ONNX_TESTDATA, ['.onnx']);
  const onnx = [...corpusOnnxModels(), ...testdata.filter((f, i) => /test_(if|loop|scan|range|sequence_map)/.test(f) || i % 25 === 0)];
  const files = [...onnx, ...corpusTfliteModels().slice(0, 4), ...corpusOpenvinoModels().filter((f) => fs.existsSync(f.replace(/\.xml$/, '.bin'))).slice(0, 3)]
    .filter((f) => fs.statSync(f).size < 30_000_000);

  let read = 0;

  test('there are real models to try', () => {
    expect(onnx.length).toBeGreaterThan(10);
  });

  test.each(files.map((f) => [f.replace(/.*\/(test\/\.corpus|shared\/corpus|data)\//, ''), f]))('%s', (_short, file) => {
    let model: Model;
    try {
      model = readModel(file);
    } catch {
      return; // not this test's subject: the codec tests cover unreadable files (counted below)
    }
    read++;
    const text = printModel(model);
    const byDigest = tensorsByDigest(model);
    const back = parseModel(text, { constants: (d) => byDigest.get(d.digest)!, undeclared: 'create' });
    expect(printModel(back)).toBe(text);
  });

  test('most of them could be read (else this file tested little)', () => {
    expect(read).toBeGreaterThan(files.length / 2);
  });
});
