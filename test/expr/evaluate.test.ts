import { Graph, Tensor, attr } from '../../src/ir';
import { ExprError, ExprValue, evaluate, evaluateCondition, parseExpr, tensorElements } from '../../src/expr';
import type { ExprEnv } from '../../src/expr';

const ev = (text: string, env: ExprEnv = {}): ExprValue => evaluate(parseExpr(text), env);

function tensor(v: ExprValue): Tensor {
  if (!(v instanceof Tensor)) throw new Error(`expected a tensor, got ${String(v)}`);
  return v;
}

/** dtype, shape and elements (numbers, or bigints for int64) of a tensor result. */
function t(v: ExprValue): { dtype: string; shape: readonly number[]; data: (number | bigint)[] } {
  const x = tensor(v);
  return { dtype: x.dtype, shape: x.shape, data: [...tensorElements(x)] };
}

function evalError(text: string, env: ExprEnv = {}): { start: number; end: number; reason: string; hint?: string } {
  try {
    ev(text, env);
  } catch (e) {
    if (e instanceof ExprError) return { start: e.start, end: e.end, reason: e.reason, hint: e.hint };
    throw e;
  }
  throw new Error(`'${text}' evaluated without error`);
}

const f32 = (shape: number[], data: number[]): Tensor => Tensor.from('float32', shape, data);
const i64 = (shape: number[], data: (number | bigint)[]): Tensor => Tensor.from('int64', shape, data.map((x) => BigInt(x)));

describe('scalars', () => {
  test.each<[string, ExprValue]>([
    ['1 + 2 * 3', 7],
    ['7 / 2', 3.5],
    ['7 // 2', 3],
    ['-7 // 2', -4],
    ['7 % 3', 1],
    ['-7 % 3', 2],
    ['7 % -3', -2],
    ['-7.5 % 2', 0.5],
    ['2 ** 10', 1024],
    ['2 ** -1', 0.5],
    ['-2 ** 2', -4],
    ['1 < 2', true],
    ['2 <= 1', false],
    ['1 == 1.0', true],
    ['"a" + "b"', 'ab'],
    ['"abc" < "abd"', true],
    ['[1, 2] + [3]', [1, 2, 3]],
    ['[1, [2]] == [1, [2]]', true],
    ['[1, 2] != [1, 2, 3]', true],
    ['none == none', true],
    ['true + 1', 2],
    ['not 0', true],
    ['1 and 0', false],
    ['0 or "x"', true],
    ['1 if 2 > 1 else 0', 1],
    ['"yes" if [] else "no"', 'no'],
    ['[10, 20, 30][-1]', 30],
    ['"abc"[1]', 'b'],
    ['float16', 'float16'],
    ['inf > 1e308', true],
  ])('%s', (text, expected) => {
    expect(ev(text)).toEqual(expected);
  });

  test('and/or short-circuit: the other side is never evaluated', () => {
    expect(ev('false and $missing')).toBe(false);
    expect(ev('true or $missing')).toBe(true);
    expect(ev('1 if true else $missing')).toBe(1);
  });

  test('integers stay exact beyond 2^53 (as bigints)', () => {
    expect(ev('2 ** 62 + 1')).toBe(4611686018427387905n);
    expect(ev('9223372036854775807 - 1')).toBe(9223372036854775806n);
    expect(ev('9223372036854775807 // 2')).toBe(4611686018427387903n);
    expect(ev('2 ** 53 + 1')).toBe(9007199254740993n);
    expect(ev('(2 ** 53 + 2) - 2 ** 53')).toBe(2);
    expect(ev('9007199254740993 == 9007199254740992')).toBe(false);
    expect(ev('9007199254740993 > 9007199254740992')).toBe(true);
  });

  test('integer division by zero is an error at the operator', () => {
    expect(evalError('1 + 7 // 0')).toMatchObject({ start: 4, end: 10, reason: "'//': integer division by zero" });
    expect(ev('1 / 0')).toBe(Infinity);
  });
});

describe('tensor arithmetic keeps the dtype', () => {
  const x = f32([3], [1, 2, 3]);
  test('float32 with a float32 tensor and a scalar', () => {
    expect(t(ev('$x * 2 + 0.5', { captures: { x } }))).toEqual({ dtype: 'float32', shape: [3], data: [2.5, 4.5, 6.5] });
  });

  test('float16 in, float16 out, rounded as float16', () => {
    const h = Tensor.from('float16', [2], [1, 3]);
    const r = t(ev('$h / 3', { captures: { h } }));
    expect(r.dtype).toBe('float16');
    // 1/3 in float16 is 0.333251953125 (0x3555), not the double 0.333...
    expect(r.data).toEqual([0.333251953125, 1]);
  });

  test('bfloat16 in, bfloat16 out', () => {
    const b = Tensor.from('bfloat16', [2], [1, 2]);
    const r = t(ev('$b / 3', { captures: { b } }));
    expect(r.dtype).toBe('bfloat16');
    // 1/3 and 2/3 rounded to 8 significant bits.
    expect(r.data).toEqual([0.333984375, 0.66796875]);
  });

  test('int32 stays int32; a fractional scalar makes it float32', () => {
    const n = Tensor.from('int32', [3], [1, 2, 7]);
    expect(t(ev('$n * 3 - 1', { captures: { n } }))).toEqual({ dtype: 'int32', shape: [3], data: [2, 5, 20] });
    expect(t(ev('$n // 2', { captures: { n } })).data).toEqual([0, 1, 3]);
    expect(t(ev('$n * 0.5', { captures: { n } }))).toEqual({ dtype: 'float32', shape: [3], data: [0.5, 1, 3.5] });
    expect(t(ev('$n / 2', { captures: { n } })).dtype).toBe('float32');
  });

  test('int64 is exact beyond 2^53', () => {
    const big = i64([2], [9007199254740993n, -9223372036854775807n]);
    const r = t(ev('$b + 1', { captures: { b: big } }));
    expect(r).toEqual({ dtype: 'int64', shape: [2], data: [9007199254740994n, -9223372036854775806n] });
    expect(t(ev('$b // 2', { captures: { b: big } })).data).toEqual([4503599627370496n, -4611686018427387904n]);
    expect(t(ev('$b % 10', { captures: { b: big } })).data).toEqual([3n, 3n]);
    expect(t(ev('$b == 9007199254740993', { captures: { b: big } }))).toEqual({ dtype: 'bool', shape: [2], data: [1, 0] });
    expect(ev('item(reduce_max($b))', { captures: { b: big } })).toBe(9007199254740993n);
    expect(t(ev('sum($b)', { captures: { b: i64([2], [2n ** 62n, 2n ** 62n - 1n]) } })).data).toEqual([2n ** 63n - 1n]);
  });

  test('promotion between tensors', () => {
    const env = { captures: { h: Tensor.from('float16', [1], [1]), f: f32([1], [1]), i: Tensor.from('int32', [1], [1]), u: Tensor.from('uint8', [1], [1]), b: Tensor.from('bool', [1], [1]), s: Tensor.from('int8', [1], [1]) } };
    expect(t(ev('$h + $f', env)).dtype).toBe('float32');
    expect(t(ev('$f + $i', env)).dtype).toBe('float32');
    expect(t(ev('$h + $i', env)).dtype).toBe('float16');
    expect(t(ev('$u + $s', env)).dtype).toBe('int16');
    expect(t(ev('$b + $u', env)).dtype).toBe('uint8');
    expect(t(ev('$b + 1', env)).dtype).toBe('int64');
    expect(t(ev('$b * 1.5', env)).dtype).toBe('float32');
  });

  test('a scalar is rounded to the tensor dtype first (as NumPy does)', () => {
    // 1e-5 is 9.99999974737875e-6 in float32; 1 + that, rounded to float32, is 1.0000100136.
    const r = t(ev('$v + 1e-5', { captures: { v: f32([1], [1]) } }));
    expect(r.data[0]).toBe(Math.fround(1 + Math.fround(1e-5)));
  });

  test('a constant graph value takes part as its tensor', () => {
    const g = new Graph('g');
    const w = g.addConstant('w', f32([2], [4, 9]));
    expect(t(ev('sqrt($w)', { captures: { w } })).data).toEqual([2, 3]);
    const x = g.addValue('x', { dtype: 'float32', shape: ['N', 3, 8, 8] });
    expect(evalError('1 + sqrt($x)', { captures: { x } })).toEqual({
      start: 9, end: 11, reason: "sqrt(): graph value 'x' is not a constant", hint: 'math needs constant values: capture it with :const in the pattern',
    });
  });

  test('a list beside a tensor becomes a tensor of its dtype', () => {
    expect(t(ev('$x * [1, 0.5, 2]', { captures: { x } }))).toEqual({ dtype: 'float32', shape: [3], data: [1, 1, 6] });
  });
});

describe('broadcasting', () => {
  test('NumPy rules: [3,1] with [4] gives [3,4]', () => {
    const a = f32([3, 1], [1, 2, 3]);
    const b = f32([4], [10, 20, 30, 40]);
    expect(t(ev('$a * $b', { captures: { a, b } }))).toEqual({
      dtype: 'float32', shape: [3, 4], data: [10, 20, 30, 40, 20, 40, 60, 80, 30, 60, 90, 120],
    });
  });

  test('size-1 and 0-d operands', () => {
    const a = f32([2, 1, 3], [1, 2, 3, 4, 5, 6]);
    const s = Tensor.from('float32', [], [10]);
    const r = t(ev('$a + $s + tensor([[100], [200]], "float32")', { captures: { a, s } }));
    expect(r.shape).toEqual([2, 2, 3]);
    expect(r.data).toEqual([111, 112, 113, 211, 212, 213, 114, 115, 116, 214, 215, 216]);
  });

  test('a mismatch names both shapes and points at the operation', () => {
    const a = f32([2, 3], [1, 2, 3, 4, 5, 6]);
    const b = f32([2], [1, 2]);
    expect(evalError('sqrt($a) + $b * 2', { captures: { a, b } })).toEqual({
      start: 0, end: 17, reason: "'+': cannot broadcast shapes [2, 3] and [2]", hint: 'dimension -1 differs (3 vs 2); sizes must be equal or 1',
    });
    expect(evalError('where($a > 0, $b, 0)', { captures: { a, b } })).toMatchObject({ start: 0, end: 20, reason: 'where(): cannot broadcast shapes [2, 3] and [2] and []' });
  });

  test('== none and != none test for absence, a tensor (an optional input that is there) included', () => {
    const empty = f32([0], []);
    const env = { captures: { empty, absent: null, a: f32([2], [1, 2]) } };
    expect([ev('$empty == none', env), ev('none == $empty', env), ev('$empty != none', env)]).toEqual([false, false, true]);
    expect([ev('$absent == none', env), ev('$absent != none', env)]).toEqual([true, false]);
    expect(ev('$absent == none or size($absent) == 0', env)).toBe(true);
    expect(ev('$empty == none or size($empty) == 0', env)).toBe(true);
    expect(evalError('$a + none', env).reason).toBe("'+': the value is none (unknown)");
  });
});

describe('functions', () => {
  const v = f32([4], [-1.5, -0.5, 0.5, 2.5]);
  const env = { captures: { v } };
  const data = (text: string): (number | bigint)[] => t(ev(text, env)).data;

  test.each<[string, number[]]>([
    ['abs($v)', [1.5, 0.5, 0.5, 2.5]],
    ['floor($v)', [-2, -1, 0, 2]],
    ['ceil($v)', [-1, -0, 1, 3]],
    ['round($v)', [-2, -0, 0, 2]],
    ['sign($v)', [-1, -1, 1, 1]],
    ['-$v', [1.5, 0.5, -0.5, -2.5]],
    ['min($v, 0)', [-1.5, -0.5, 0, 0]],
    ['max($v, 0, tensor([1, 1, 1, 1], "float32"))', [1, 1, 1, 2.5]],
    ['clip($v, -1, 1)', [-1, -0.5, 0.5, 1]],
    ['clip($v, none, 1)', [-1.5, -0.5, 0.5, 1]],
    ['where($v > 0, $v, 0)', [0, 0, 0.5, 2.5]],
    ['$v ** 2', [2.25, 0.25, 0.25, 6.25]],
    ['pow(2, $v)', [2 ** -1.5, 2 ** -0.5, 2 ** 0.5, 2 ** 2.5].map(Math.fround)],
    ['reciprocal($v)', [-1 / 1.5, -2, 2, 0.4].map(Math.fround)],
  ])('%s', (text, expected) => {
    expect(data(text)).toEqual(expected);
  });

  test.each<[string, (x: number) => number]>([
    ['sqrt', Math.sqrt], ['exp', Math.exp], ['log', Math.log], ['sin', Math.sin], ['cos', Math.cos], ['tan', Math.tan],
    ['asin', Math.asin], ['acos', Math.acos], ['atan', Math.atan], ['tanh', Math.tanh], ['sigmoid', (x) => 1 / (1 + Math.exp(-x))],
  ])('%s is correctly rounded to float32', (name, fn) => {
    const x = f32([3], [0.25, 0.5, 0.75]);
    expect(t(ev(`${name}($x)`, { captures: { x } })).data).toEqual([0.25, 0.5, 0.75].map((e) => Math.fround(fn(Math.fround(e)))));
  });

  test('math on scalars gives numbers', () => {
    expect(ev('sqrt(16) + abs(-2) + floor(2.7) + max(1, 5, 3) + min(4, 2)')).toBe(15);
    expect(ev('round(2.5) + round(3.5) + round(-2.5)')).toBe(4);
    expect(ev('sign(-3)')).toBe(-1);
    expect(ev('clip(5, 0, 3)')).toBe(3);
  });

  test('shape questions', () => {
    const w = f32([2, 3, 1], [1, 2, 3, 4, 5, 6]);
    const e = { captures: { w } };
    expect(ev('shape($w)', e)).toEqual([2, 3, 1]);
    expect(ev('rank($w)', e)).toBe(3);
    expect(ev('size($w)', e)).toBe(6);
    expect(ev('dtype($w)', e)).toBe('float32');
    expect(ev('dtype($w) == float32 and dtype(1) == "int64"', e)).toBe(true);
    expect(ev('shape(3)')).toEqual([]);
    expect(ev('shape([[1, 2, 3]])')).toEqual([1, 3]);
    expect(ev('len([1, 2]) + len("abc") + len($w)', e)).toBe(7);
  });

  test('shape questions on a graph value use its declared shape', () => {
    const g = new Graph('g');
    const x = g.addValue('x', { dtype: 'float16', shape: ['N', 3, 224, 224] });
    const y = g.addValue('y');
    const e = { captures: { x, y } };
    expect(ev('shape($x)', e)).toEqual(['N', 3, 224, 224]);
    expect(ev('rank($x) == 4 and shape($x)[1] == 3', e)).toBe(true);
    expect(ev('size($x)', e)).toBeNull();
    expect(ev('dtype($x)', e)).toBe('float16');
    expect(ev('rank($y) == 4', e)).toBe(false);
    expect(ev('shape($y)', e)).toBeNull();
  });

  test('reductions with axes and keepdims', () => {
    const m = f32([2, 3], [1, 2, 3, 4, 5, 6]);
    const e = { captures: { m } };
    expect(t(ev('sum($m)', e))).toEqual({ dtype: 'float32', shape: [], data: [21] });
    expect(t(ev('sum($m, 0)', e))).toEqual({ dtype: 'float32', shape: [3], data: [5, 7, 9] });
    expect(t(ev('sum($m, -1, true)', e))).toEqual({ dtype: 'float32', shape: [2, 1], data: [6, 15] });
    expect(t(ev('mean($m, [0, 1])', e)).data).toEqual([3.5]);
    expect(t(ev('reduce_max($m, 1)', e)).data).toEqual([3, 6]);
    expect(t(ev('reduce_min($m, 0)', e)).data).toEqual([1, 2, 3]);
    expect(t(ev('prod($m, 1)', e)).data).toEqual([6, 120]);
    expect(t(ev('mean(tensor([1, 2]))'))).toEqual({ dtype: 'float32', shape: [], data: [1.5] });
    expect(t(ev('sum(tensor([true, true, false]))'))).toEqual({ dtype: 'int64', shape: [], data: [2n] });
    expect(evalError('sum($m, 2)', e)).toMatchObject({ start: 0, end: 10, reason: 'sum(): axis 2 is out of range for rank 2', hint: 'axes go from -2 to 1' });
  });

  test('layout: reshape, unsqueeze, squeeze, flatten, transpose', () => {
    const m = f32([2, 3], [1, 2, 3, 4, 5, 6]);
    const e = { captures: { m } };
    expect(t(ev('reshape($m, [3, -1])', e)).shape).toEqual([3, 2]);
    expect(t(ev('unsqueeze($m, [0, -1])', e)).shape).toEqual([1, 2, 3, 1]);
    expect(t(ev('unsqueeze($m, 1)', e)).shape).toEqual([2, 1, 3]);
    expect(t(ev('squeeze(unsqueeze($m, [0, 3]))', e)).shape).toEqual([2, 3]);
    expect(t(ev('squeeze(unsqueeze($m, [0, 3]), 0)', e)).shape).toEqual([2, 3, 1]);
    expect(t(ev('flatten(reshape($m, [1, 2, 3]))', e)).shape).toEqual([6]);
    expect(t(ev('flatten(reshape($m, [1, 2, 3]), 2)', e)).shape).toEqual([2, 3]);
    expect(t(ev('transpose($m)', e))).toEqual({ dtype: 'float32', shape: [3, 2], data: [1, 4, 2, 5, 3, 6] });
    const c = f32([2, 3, 2], [...Array(12).keys()]);
    expect(t(ev('transpose($c, [1, 2, 0])', { captures: { c } }))).toEqual({
      dtype: 'float32', shape: [3, 2, 2], data: [0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11],
    });
    expect(evalError('reshape($m, [4, -1])', e)).toMatchObject({ start: 0, end: 20, reason: 'reshape(): cannot reshape shape [2, 3] (6 elements) into [4, -1]' });
    expect(evalError('squeeze($m, 1)', e)).toMatchObject({ start: 12, end: 13, reason: 'squeeze(): dimension 1 of shape [2, 3] is 3, not 1' });
    expect(evalError('transpose($m, [0, 0])', e)).toMatchObject({ reason: 'transpose(): [0, 0] is not a permutation of the 2 axes of shape [2, 3]' });
  });

  test('expand follows ONNX Expand: broadcast both ways, the dtype kept', () => {
    const col = f32([2, 1], [1, -0]);
    const e = { captures: { col } };
    expect(t(ev('expand($col, [2, 3])', e))).toEqual({ dtype: 'float32', shape: [2, 3], data: [1, 1, 1, -0, -0, -0] });
    // Both ways: a shape of lower rank, or with 1 where the tensor is larger, keeps the tensor's dimension.
    expect(t(ev('expand($col, [3])', e)).shape).toEqual([2, 3]);
    expect(t(ev('expand($col, [4, 1, 1])', e)).shape).toEqual([4, 2, 1]);
    expect(t(ev('expand(tensor([7, 8]), [2, 1])'))).toEqual({ dtype: 'int64', shape: [2, 2], data: [7n, 8n, 7n, 8n] });
    expect(evalError('expand($col, [3, 3])', e)).toMatchObject({ reason: 'expand(): cannot broadcast shapes [2, 1] and [3, 3]' });
    expect(evalError('expand($col, [-1])', e)).toMatchObject({ reason: 'expand(): invalid shape [-1]' });
  });

  test('tile follows ONNX Tile: each axis repeated its count of times', () => {
    const m = f32([2, 2], [1, 2, 3, 4]);
    const e = { captures: { m } };
    expect(t(ev('tile($m, [1, 2])', e))).toEqual({ dtype: 'float32', shape: [2, 4], data: [1, 2, 1, 2, 3, 4, 3, 4] });
    expect(t(ev('tile($m, [2, 1])', e))).toEqual({ dtype: 'float32', shape: [4, 2], data: [1, 2, 3, 4, 1, 2, 3, 4] });
    expect(t(ev('tile($m, [0, 3])', e)).shape).toEqual([0, 6]);
    expect(t(ev('tile(tensor([5, 6]), [2])'))).toEqual({ dtype: 'int64', shape: [4], data: [5n, 6n, 5n, 6n] });
    expect(evalError('tile($m, [2])', e)).toMatchObject({ reason: 'tile(): 1 repeats for a tensor of rank 2' });
    expect(evalError('tile($m, [1, -1])', e)).toMatchObject({ reason: 'tile(): invalid repeats [1, -1]' });
  });

  test('slice follows ONNX: negatives, clamping, steps, axes', () => {
    const r = f32([6], [0, 1, 2, 3, 4, 5]);
    const e = { captures: { r } };
    expect(t(ev('slice($r, [1], [4])', e)).data).toEqual([1, 2, 3]);
    expect(t(ev('slice($r, [-2], [100])', e)).data).toEqual([4, 5]);
    expect(t(ev('slice($r, [5], [-100], [0], [-2])', e)).data).toEqual([5, 3, 1]);
    expect(t(ev('slice($r, [0], [9223372036854775807], [0], [2])', e)).data).toEqual([0, 2, 4]);
    const m = f32([2, 3], [1, 2, 3, 4, 5, 6]);
    expect(t(ev('slice($m, [1], [3], [1])', { captures: { m } }))).toEqual({ dtype: 'float32', shape: [2, 2], data: [2, 3, 5, 6] });
    expect(evalError('slice($m, [0, 1], [1])', { captures: { m } })).toMatchObject({ reason: 'slice(): starts, ends, axes and steps must have the same length (2, 1, 2)' });
  });

  test('concat and split are inverse', () => {
    const w = f32([4, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    const e = { captures: { w } };
    const parts = ev('split($w, 2)', e);
    expect(Array.isArray(parts) && parts.map((p) => t(p))).toEqual([
      { dtype: 'float32', shape: [2, 2], data: [1, 2, 3, 4] },
      { dtype: 'float32', shape: [2, 2], data: [5, 6, 7, 8] },
    ]);
    expect(t(ev('concat(split($w, [1, 3]), 0)', e))).toEqual(t(w));
    expect(t(ev('concat(split($w, 2, 1), -1)', e))).toEqual(t(w));
    expect(t(ev('split($w, 2, 1)[1]', e)).data).toEqual([2, 4, 6, 8]);
    expect(t(ev('concat([$w, $w], 1)', e)).shape).toEqual([4, 4]);
    expect(evalError('split($w, 3)', e)).toMatchObject({ start: 10, end: 11, reason: 'split(): dimension 0 of shape [4, 2] (4) cannot be split into 3 equal parts' });
    expect(evalError('concat([$w, transpose($w)], 0)', e)).toMatchObject({ reason: 'concat(): shapes [4, 2], [2, 4] differ outside axis 0' });
  });

  test('making tensors and converting', () => {
    expect(t(ev('tensor([[1, 2], [3, 4]])'))).toEqual({ dtype: 'int64', shape: [2, 2], data: [1n, 2n, 3n, 4n] });
    expect(t(ev('tensor([1, 2.5])'))).toEqual({ dtype: 'float32', shape: [2], data: [1, 2.5] });
    expect(t(ev('tensor([1, 2], float16)'))).toEqual({ dtype: 'float16', shape: [2], data: [1, 2] });
    expect(t(ev('scalar(3, "int32")'))).toEqual({ dtype: 'int32', shape: [], data: [3] });
    expect(t(ev('full([2, 2], 7, "uint8")'))).toEqual({ dtype: 'uint8', shape: [2, 2], data: [7, 7, 7, 7] });
    expect(t(ev('zeros([2])'))).toEqual({ dtype: 'float32', shape: [2], data: [0, 0] });
    expect(t(ev('ones([1], int64)'))).toEqual({ dtype: 'int64', shape: [1], data: [1n] });
    expect(t(ev('cast(tensor([1.7, -1.7]), "int32")'))).toEqual({ dtype: 'int32', shape: [2], data: [1, -1] });
    expect(t(ev('astype(tensor([0, 2]), "bool")'))).toEqual({ dtype: 'bool', shape: [2], data: [0, 1] });
    expect(ev('item(tensor([[2.5]]))')).toBe(2.5);
    expect(ev('tolist(tensor([[1, 2], [3, 4]]))')).toEqual([[1, 2], [3, 4]]);
    expect(ev('int(-2.7) + int(tensor([3]))')).toBe(1);
    expect(ev('float(3) / 2')).toBe(1.5);
    expect(ev('bool(0) or bool(2)')).toBe(true);
    expect(ev('str(3) + "_" + str(float16)')).toBe('3_float16');
    expect(evalError('tensor([[1, 2], [3]])')).toMatchObject({ start: 7, end: 20, reason: 'a nested list is ragged: lists of 2 and 1 items at depth 1' });
    expect(evalError('cast($x, "float17")', { captures: { x: f32([1], [1]) } })).toMatchObject({ start: 9, end: 18, reason: 'expected a dtype name, got string "float17"' });
    expect(evalError('item(tensor([1, 2]))')).toMatchObject({ start: 5, end: 19, reason: 'item(): expected one element, got an int64 tensor of shape [2]' });
  });

  test('range and len drive generated repetition', () => {
    expect(ev('range(3)')).toEqual([0, 1, 2]);
    expect(ev('range(2, 5)')).toEqual([2, 3, 4]);
    expect(ev('range(5, 0, -2)')).toEqual([5, 3, 1]);
    expect(ev('len(range(0))')).toBe(0);
    expect(evalError('range(0, 3, 0)')).toMatchObject({ start: 12, end: 13, reason: 'range(): step must not be 0' });
    expect(evalError('range(2.5)')).toMatchObject({ start: 6, end: 9, reason: 'range(): expected an integer, got a number' });
  });

  test('tests give one bool', () => {
    const slope = Tensor.from('float32', [], [1 / 6]);
    const e = { captures: { slope, w: f32([3], [1, 2, 3]) } };
    expect(ev('is_close($slope, 0.16666667, 1e-6)', e)).toBe(true);
    expect(ev('is_close($slope, 0.17, 1e-6)', e)).toBe(false);
    expect(ev('is_close($w, [1, 2, 3.0000001])', e)).toBe(true);
    expect(ev('all($w > 0) and not any($w > 2.5)', e)).toBe(false);
    expect(ev('all($w > 0) and any($w > 2.5)', e)).toBe(true);
    expect(ev('in_range($w, 1, 3) and not in_range($w, 1.5, 3)', e)).toBe(true);
    expect(ev('is_scalar($slope) and is_scalar(2) and not is_scalar($w) and is_scalar(tensor([[1]]))', e)).toBe(true);
    expect(ev('is_integer($w) and is_integer(3) and not is_integer(2.5) and not is_integer($slope)', e)).toBe(true);
    expect(ev('is_integer(tensor([1, 2], "int8"))')).toBe(true);
    expect(ev('is_dtype("bfloat16") and not is_dtype("half")')).toBe(true);
  });
});

describe('graph functions', () => {
  const g = new Graph('g');
  const x = g.addValue('input', { dtype: 'float32', shape: [1, 4] });
  g.inputs = [x];
  const w = g.addConstant('w', f32([4], [1, 2, 3, 4]));
  const mul = g.addNode({ op: 'Mul', name: 'block1/mul', inputs: [x, w], outputs: ['m'], attrs: { axis: attr.int(1), pads: attr.ints([0, 1]) } });
  const relu = g.addNode({ op: 'Relu', name: 'block1/relu', inputs: [mul.output(0)], outputs: ['r'] });
  g.addNode({ op: 'Neg', name: 'neg', inputs: [mul.output(0)], outputs: ['n'] });
  g.outputs = [relu.output(0)];
  const env = { captures: { x, w, n: mul, m: mul.output(0), r: relu.output(0) }, context: { format: 'onnx', opsets: { '': 17 }, target: 'myriad' } };

  test.each<[string, ExprValue]>([
    ['uses($m)', 2],
    ['uses($r)', 1],
    ['is_output($r) and not is_output($m)', true],
    ['is_input($x)', true],
    ['name($n) + "/" + name($m)', 'block1/mul/m'],
    ['op($n)', 'Mul'],
    ['op($m)', 'Mul'],
    ['op($x)', null],
    ['attr($n, "axis")', 1],
    ['attr($n, "pads")', [0, 1]],
    ['attr($n, "missing")', null],
    ['has_attr($n, "axis") and not has_attr($n, "group")', true],
    ['matches($n, "block1/*") and not matches(name($x), "block*")', true],
    ['is_const($w) and not is_const($x) and not is_const($n)', true],
    ['format() == "onnx" and opset() >= 13 and opset("com.microsoft") == none', true],
    ['target()', 'myriad'],
  ])('%s', (text, expected) => {
    expect(ev(text, env)).toEqual(expected);
  });

  test('without a context, format() and opset() are none', () => {
    expect(ev('format()')).toBeNull();
    expect(ev('opset()')).toBeNull();
  });

  test('a node in arithmetic is an error at the node', () => {
    expect(evalError('1 + $n', env)).toMatchObject({ start: 4, end: 6, reason: "'+': expected a number or a tensor, got node 'block1/mul' (Mul)" });
  });
});

describe('conditions', () => {
  const c = (text: string, env: ExprEnv = {}): boolean => evaluateCondition(parseExpr(text), env);

  test('bools, numbers and one-element tensors decide', () => {
    expect(c('1 < 2')).toBe(true);
    expect(c('0')).toBe(false);
    expect(c('$s > 0', { captures: { s: f32([1], [2]) } })).toBe(true);
    expect(c('$s > 0', { captures: { s: f32([1, 1], [-2]) } })).toBe(false);
    expect(c('"" or [0]')).toBe(true);
    expect(c('none')).toBe(false);
  });

  test('a larger tensor is ambiguous: the error says to use all() or any()', () => {
    expect(() => c('$w > 0', { captures: { w: f32([2], [1, 2]) } })).toThrow(ExprError);
    try {
      c('$w > 0', { captures: { w: f32([2], [1, 2]) } });
    } catch (e) {
      expect(e).toMatchObject({ start: 0, end: 6, reason: 'the truth of a bool tensor of shape [2] is ambiguous', hint: 'use all(...) or any(...)' });
    }
  });
});

describe('runtime errors point at the failing sub-expression', () => {
  test.each<[string, number, number, string]>([
    ['1 + $nope', 4, 9, "unbound capture '$nope'"],
    ['k * 2', 0, 1, "unknown name 'k'"],
    ['sqr(4)', 0, 3, "unknown function 'sqr'"],
    ['sqrt(1, 2)', 8, 9, 'sqrt() takes 1 argument, got 2'],
    ['clip()', 0, 6, 'clip() takes 1 to 3 arguments, got 0'],
    ['[1, 2][2]', 7, 8, 'index 2 is out of range for a list of 2 (length 2)'],
    ['[1, 2][0.5]', 7, 10, 'an index must be an integer, got a number'],
    ['3[0]', 0, 1, 'cannot index an int'],
    ['"a" - 1', 0, 3, `'-': expected a number or a tensor, got string "a"`],
    ['[1] * 2', 0, 7, "'*' between a list and a scalar is not defined"],
    ['[1] * [2]', 0, 9, "'*' is not defined on two lists"],
    ['-none', 1, 5, "unary '-': the value is none (unknown)"],
    ['unsqueeze(tensor([1]), [0, 0])', 23, 29, 'unsqueeze(): axis repeated in [0, 0]'],
    ['reshape(tensor([1, 2]), [1, 0.5])', 24, 32, 'reshape(): expected an integer, got a number'],
  ])('%s', (text, start, end, reason) => {
    expect(evalError(text)).toMatchObject({ start, end, reason });
  });

  test('unknown names get a did-you-mean hint', () => {
    expect(evalError('sqr(4)').hint).toBe("did you mean 'sqrt'?");
    expect(evalError('$scal', { captures: { scale: 1 } }).hint).toBe("did you mean '$scale'?");
    expect(evalError('kk + 1', { lets: { k: 1, kx: 2 } }).hint).toBe("did you mean 'k'?");
    expect(evalError('sqrt + 1').hint).toBe("'sqrt' is a function: call it as sqrt(...)");
    expect(evalError('sqrt(1, 2)').hint).toBe('call it as sqrt(x)');
  });
});

describe('integer edge cases', () => {
  test('powers: exact within int64, floats beyond, int64 tensors wrap like NumPy', () => {
    expect(ev('2 ** 63 - 1')).toBe(9223372036854775807n);
    expect(ev('3 ** 39')).toBe(4052555153018976267n);
    expect(ev('2 ** 64')).toBe(18446744073709551616n);
    expect(ev('2 ** 65')).toBe(2 ** 65);
    expect(ev('2 ** 1000')).toBe(2 ** 1000);
    expect(ev('9223372036854775807 ** 3')).toBe(Number(9223372036854775807n) ** 3);
    expect(ev('9223372036854775807 ** 100000000')).toBe(Infinity);
    expect(ev('2 ** -2')).toBe(0.25);
    const b = Tensor.from('int64', [3], [2n, 3n, -1n]);
    expect(t(ev('$b ** 63', { captures: { b } })).data).toEqual([-9223372036854775808n, BigInt.asIntN(64, 3n ** 63n), -1n]);
    expect(t(ev('$b ** 64', { captures: { b } })).data).toEqual([0n, BigInt.asIntN(64, 3n ** 64n), 1n]);
    // Square and multiply: a huge exponent costs ~40 steps, not a huge bigint.
    expect(t(ev('$b ** 100000000000', { captures: { b } })).data[2]).toBe(1n);
  });

  test('huge tensors are refused before allocating them', () => {
    expect(evalError('zeros([100000, 100000])')).toMatchObject({
      start: 6, end: 22, reason: 'zeros(): a tensor of shape [100000, 100000] (10000000000 elements) is too large (limit 268435456)',
    });
  });
});
