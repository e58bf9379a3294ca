/**
 * Values inferStaticShapes works out from static shapes, as fold-shapes folds
 * them: the rounding ops, a float Cast to an integer type, Where.
 */
import { inferStaticShapes } from '../../../src/formats/onnx/shapes';
import { parseModel } from '../../../src/ir/text/parse';

/** The value of `name` in a graph whose input x is float32[1, 3, 10, 7]. */
function valueOf(body: string, name: string): number[] | undefined {
  const model = parseModel(`model onnx
opsets ai.onnx:17
graph main
  in x: float32[1, 3, 10, 7]
  const three: int64[] = [3]
  s: sh: int64[4] = Shape(x)
  g: w: int64[] = Gather(sh, three)
  c: wf = Cast(w) {to: 1}
${body.trim().split('\n').map((l) => `  ${l.trim()}`).join('\n')}
  out x
`);
  const v = model.graph.values.find((x) => x.name === name);
  return v ? inferStaticShapes(model.graph, 17).valueOf(v) : undefined;
}

test.each([
  ['Floor', 3],
  ['Ceil', 4],
  ['Round', 4], // 3.5: halves go to the even neighbour
])('%s of a width divided as a float (7 / 2)', (op, expected) => {
  expect(valueOf(`const two: float32[] = [2.0]\nd: half = Div(wf, two)\nr: y = ${op}(half)`, 'y')).toEqual([expected]);
});

test('Round sends 2.5 to 2 and -3.5 to -4, as ONNX does', () => {
  expect(valueOf(`const k: float32[2] = [-4.5, 4.5]\nsub: h = Sub(wf, k)\nr: y = Round(h)`, 'h')).toEqual([11.5, 2.5]);
  expect(valueOf(`const k: float32[2] = [-4.5, 4.5]\nsub: h = Sub(wf, k)\nr: y = Round(h)`, 'y')).toEqual([12, 2]);
  expect(valueOf(`const k: float32[] = [10.5]\nsub: h = Sub(wf, k)\nr: y = Round(h)`, 'y')).toEqual([-4]);
});

test('a float cast to an integer type drops its fraction', () => {
  expect(valueOf(`const two: float32[] = [2.0]\nd: half = Div(wf, two)\nc2: n = Cast(half) {to: 7}`, 'n')).toEqual([3]);
});

test('an integer Div truncates, a float one keeps the fraction', () => {
  expect(valueOf(`const two: int64[] = [2]\nd: half = Div(w, two)`, 'half')).toEqual([3]);
  expect(valueOf(`const two: float32[] = [2.0]\nd: half = Div(wf, two)`, 'half')).toEqual([3.5]);
});

test('Where picks per element between two shape values', () => {
  expect(valueOf(`const m1: int64[4] = [-1, 3, -1, -1]\nconst ones: int64[4] = [1, 1, 1, 1]\ne: neg = Equal(sh, m1)\nwh: t = Where(neg, ones, sh)`, 't')).toEqual([1, 1, 10, 7]);
});

test.each([
  ['ReduceMax', 10],
  ['ReduceMin', 1],
  ['ReduceSum', 21],
  ['ReduceProd', 210],
])('%s of the whole shape', (op, expected) => {
  expect(valueOf(`r: y = ${op}(sh) {keepdims: 0}`, 'y')).toEqual([expected]);
});

test('a Reduce over some axes of a 2-D value is left alone', () => {
  expect(valueOf(`const t: int64[2] = [2, 2]\nrs: m = Reshape(sh, t)\nr: y = ReduceMax(m) {axes: [1]}`, 'y')).toBeUndefined();
});
