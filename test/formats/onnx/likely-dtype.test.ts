/**
 * likelyDType: the dtype of an ONNX intermediate that declares none, as in
 * every PyTorch export. A replacement's plain numbers and `dtype()` read it.
 */
import { likelyDType } from '../../../src/formats/onnx/shapes';
import { parseGraph } from '../../../src/ir';

const graph = parseGraph(`
  graph main
    in x: float16[2, 3]
    in c: bool[2, 3]
    in i: int64[2]
    const w: float16[3, 3] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
    conv = MatMul(x, w)
    act = Tanh(conv)
    picked = Where(c, act, x)
    idx = ArgMax(act)
    drop, mask = Dropout(act)
    lo, hi = Split(act)
    big = Cast(act) {to: 1}
    shaped = Reshape(big, i)
    odd = com.example::Mystery(act)
    after = Relu(odd)
    out picked
    out idx
    out drop
    out mask
    out lo
    out hi
    out shaped
    out after
`);
const value = (name: string) => {
  const v = graph.values.find((x) => x.name === name);
  if (!v) throw new Error(`no value ${name}`);
  return v;
};

test.each([
  ['conv', 'float16'], // MatMul follows its data input
  ['act', 'float16'], // through a chain of ops
  ['picked', 'float16'], // Where follows its second input, not the bool condition
  ['idx', 'int64'], // ArgMax makes indices
  ['drop', 'float16'],
  ['lo', 'float16'],
  ['hi', 'float16'], // every output of Split
  ['big', 'float32'], // Cast's `to`
  ['shaped', 'float32'], // Reshape keeps its data's dtype, not the shape's int64
])('%s is %s', (name, dtype) => {
  expect(likelyDType(value(name))).toBe(dtype);
});

test.each([
  ['mask'], // Dropout's second output is a bool mask: not guessed from its input
  ['odd'], // an op of another domain
  ['after'], // nor what follows it
])('%s is not guessed', (name) => {
  expect(likelyDType(value(name))).toBeUndefined();
});
