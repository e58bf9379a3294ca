import { rankOf } from '../../src/ir/rank';
import { parseGraph } from '../../src/ir/text/parse';
import type { Graph, Value } from '../../src/ir/graph';

/** The value named `name` in `g`. */
function value(g: Graph, name: string): Value {
  const v = g.findValue(name);
  if (!v) throw new Error(`no value '${name}'`);
  return v;
}

describe('rankOf: ONNX values without a declared shape', () => {
  const g = parseGraph(`
    graph main
      in x: float32[1, 3, 8, 8]
      in u: float32
      const w: float32[4, 3, 1, 1] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
      const s: int64[2] = [1, -1]
      const bias: float32[4] = [0.0, 0.0, 0.0, 0.0]
      conv: c = Conv(u, w)
      relu: r = Relu(c)
      k: k = Constant() {value: tensor float32[4, 1, 1] [1.0, 2.0, 3.0, 4.0]}
      kf: kf = Constant() {value_floats: [1.0, 2.0]}
      kv: kv = Constant() {value_float: 2.0}
      add: a = Add(r, k)
      addu: au = Add(u, bias)
      cat: cat = Concat(u, r) {axis: 1}
      reshape: flat = Reshape(r, s)
      reshapeu: flatu = Reshape(r, u)
      gemm: gm = Gemm(flat, u)
      bn: b, bmean = BatchNormalization(x, bias, bias, bias, bias)
      pool: p, idx = MaxPool(r) {kernel_shape: [2, 2]}
      custom: q = com.example::Mystery(r)
      sig: sq = Sigmoid(q)
  `);

  test('the declared shape, when there is one', () => {
    expect(rankOf(value(g, 'x'), 'onnx')).toBe(4);
    expect(rankOf(value(g, 's'), 'onnx')).toBe(1);
    expect(rankOf(value(g, 'u'), 'onnx')).toBeUndefined();
  });

  test('a Conv output has the rank of its weight; elementwise ops keep the rank of their input', () => {
    expect(rankOf(value(g, 'c'), 'onnx')).toBe(4);
    expect(rankOf(value(g, 'r'), 'onnx')).toBe(4);
    expect(rankOf(value(g, 'p'), 'onnx')).toBe(4);
  });

  test('Constant nodes, by the attribute that holds the value', () => {
    expect(rankOf(value(g, 'k'), 'onnx')).toBe(3);
    expect(rankOf(value(g, 'kf'), 'onnx')).toBe(1);
    expect(rankOf(value(g, 'kv'), 'onnx')).toBe(0);
  });

  test('broadcasting takes the largest rank, and needs every input rank', () => {
    expect(rankOf(value(g, 'a'), 'onnx')).toBe(4);
    expect(rankOf(value(g, 'au'), 'onnx')).toBeUndefined();
  });

  test('Concat takes any input whose rank is known; Reshape the length of a constant target; Gemm is 2', () => {
    expect(rankOf(value(g, 'cat'), 'onnx')).toBe(4);
    expect(rankOf(value(g, 'flat'), 'onnx')).toBe(2);
    expect(rankOf(value(g, 'flatu'), 'onnx')).toBeUndefined();
    expect(rankOf(value(g, 'gm'), 'onnx')).toBe(2);
  });

  test('outputs whose rank the input does not fix, and ops of other domains, are unknown', () => {
    expect(rankOf(value(g, 'b'), 'onnx')).toBe(4);
    expect(rankOf(value(g, 'bmean'), 'onnx')).toBeUndefined();
    expect(rankOf(value(g, 'idx'), 'onnx')).toBeUndefined();
    expect(rankOf(value(g, 'q'), 'onnx')).toBeUndefined();
    expect(rankOf(value(g, 'sq'), 'onnx')).toBeUndefined();
  });

  test('only ONNX is inferred: TFLite and OpenVINO declare every shape', () => {
    expect(rankOf(value(g, 'r'), 'tflite')).toBeUndefined();
    expect(rankOf(value(g, 'x'), 'openvino')).toBe(4);
  });

  test('the walk up is bounded: a chain of 100 undeclared Relus ends undefined, not in a deep recursion', () => {
    const lines = ['graph chain', '  in x: float32[1, 2]', '  r0: v0 = Relu(x)'];
    for (let i = 1; i < 100; i++) lines.push(`  r${i}: v${i} = Relu(v${i - 1})`);
    const chain = parseGraph(lines.join('\n'));
    expect(rankOf(value(chain, 'v10'), 'onnx')).toBe(2);
    expect(rankOf(value(chain, 'v99'), 'onnx')).toBeUndefined();
  });
});
