import { ExprScope, Kind, checkExpr, parseExpr } from '../../src/expr';

const scope: ExprScope = {
  captures: { x: 'value', scale: 'tensor', var: 'tensor', eps: 'number', n: 'node', axis: 'int', name: 'string', ins: 'list', a: 'unknown' },
  lets: { k: 'tensor', count: 'int' },
};

const kindOf = (text: string, s: ExprScope = scope): Kind => {
  const r = checkExpr(parseExpr(text), s);
  expect(r.errors.map((e) => e.reason)).toEqual([]);
  return r.kind;
};

/** Every error as [start, end, reason] (and the hint when asked). */
const errorsOf = (text: string, s: ExprScope = scope): [number, number, string][] =>
  checkExpr(parseExpr(text), s).errors.map((e) => [e.start, e.end, e.reason]);
const hintsOf = (text: string, s: ExprScope = scope): (string | undefined)[] => checkExpr(parseExpr(text), s).errors.map((e) => e.hint);

describe('kinds of well-formed expressions', () => {
  test.each<[string, Kind]>([
    ['$scale / sqrt($var + $eps)', 'tensor'],
    ['$scale - $var * k', 'tensor'],
    ['unsqueeze(k, [1, 2])', 'tensor'],
    ['$eps > 0 and $eps < 1e-2', 'bool'],
    ['is_close($eps, 0.16666667, 1e-6)', 'bool'],
    ['rank($x) == 4', 'bool'],
    ['shape($x)', 'list'],
    ['shape($x)[0]', 'unknown'],
    ['$axis + 1', 'int'],
    ['$axis / 2', 'number'],
    ['count * 2 + 1', 'int'],
    ['$eps * 2', 'number'],
    ['-$axis', 'int'],
    ['-k', 'tensor'],
    ['k[0]', 'tensor'],
    ['$name + "_folded"', 'string'],
    ['dtype($x)', 'dtype'],
    ['dtype($x) == float16', 'bool'],
    ['cast(k, dtype($x))', 'tensor'],
    ['range($axis)', 'list'],
    ['split(k, 2, 0)', 'list'],
    ['[1, 2] + range(3)', 'list'],
    ['1 if $eps > 0 else 2', 'int'],
    ['1 if $eps > 0 else 2.5', 'number'],
    ['k if true else "s"', 'unknown'],
    ['$a * 2', 'unknown'],
    ['sqrt($a)', 'unknown'],
    ['sqrt($eps)', 'number'],
    ['abs($axis)', 'int'],
    ['max(1, $axis)', 'int'],
    ['max(1, k)', 'tensor'],
    ['k == 0', 'tensor'],
    ['$x == 0', 'tensor'],
    ['$x == $x', 'bool'],
    ['uses($x) == 1', 'bool'],
    ['matches($n, "block*/conv")', 'bool'],
    ['attr($n, "axis")', 'unknown'],
    ['format() == "onnx"', 'bool'],
    ['len($ins) > 2', 'bool'],
    ['tensor([1, 2], "float16")', 'tensor'],
    ['slice(k, [0], [1], none, [1])', 'tensor'],
  ])('%s is %s', (text, kind) => {
    expect(kindOf(text)).toBe(kind);
  });
});

describe('errors, each with its exact range', () => {
  test.each<[string, [number, number, string][]]>([
    ['$scale / $varr', [[9, 14, "unbound capture '$varr'"]]],
    ['$y + 1', [[0, 2, "unbound capture '$y'"]]],
    ['kk * 2', [[0, 2, "unknown name 'kk'"]]],
    ['scale * 2', [[0, 5, "unknown name 'scale'"]]],
    ['sqrt * 2', [[0, 4, "unknown name 'sqrt'"]]],
    ['1 + sqr(k)', [[4, 7, "unknown function 'sqr'"]]],
    ['sqrt(k, 2)', [[8, 9, 'sqrt() takes 1 argument, got 2']]],
    ['slice(k, [0], [1], [0], [1], 7, 8)', [[29, 33, 'slice() takes 3 to 5 arguments, got 7']]],
    ['slice(k)', [[0, 8, 'slice() takes 3 to 5 arguments, got 1']]],
    ['max(k)', [[0, 6, 'max() takes at least 2 arguments, got 1']]],
    ['format(1)', [[7, 8, 'format() takes 0 arguments, got 1']]],
    ['sqrt("a")', [[5, 8, 'sqrt() argument 1 (x) must be a number, an int, a tensor, a graph value or a list, not a string']]],
    ['sqrt($n)', [[5, 7, 'sqrt() argument 1 (x) must be a number, an int, a tensor, a graph value or a list, not a node']]],
    ['cast(k, 3)', [[8, 9, 'cast() argument 2 (dtype) must be a dtype or a string, not an int']]],
    ['range(k)', [[6, 7, 'range() argument 1 (a) must be an int, not a tensor']]],
    ['uses(k)', [[5, 6, 'uses() argument 1 (v) must be a graph value, not a tensor']]],
    ['concat(k, 0)', [[7, 8, 'concat() argument 1 (tensors) must be a list, not a tensor']]],
    ['reshape(k, none)', [[11, 15, 'reshape() argument 2 (shape) must be a list, an int, a tensor or a graph value, not none']]],
    ['$n + 1', [[0, 2, "cannot apply '+' to a node"]]],
    ['1 * none', [[4, 8, "cannot apply '*' to none"]]],
    ['-"a"', [[1, 4, "cannot apply unary '-' to a string"]]],
    ['$name + 1', [[0, 9, "cannot apply '+' to a string and an int"]]],
    ['$name * 2', [[0, 9, "cannot apply '*' to a string and an int"]]],
    ['[1] * [2]', [[0, 9, "'*' is not defined on two lists"]]],
    ['k["a"]', [[2, 5, 'an index must be an integer, got a string']]],
    ['$n[0]', [[0, 2, 'cannot index a node']]],
    ['$eps < "a"', [[0, 10, "cannot apply '<' to a number and a string"]]],
    ['cast(k, "float61")', [[8, 17, 'unknown dtype "float61"']]],
    ['tensor([1], "half")', [[12, 18, 'unknown dtype "half"']]],
  ])('%s', (text, expected) => {
    expect(errorsOf(text)).toEqual(expected);
  });

  test('every error is reported, not just the first', () => {
    expect(errorsOf('sqr($q) + nope + sqrt(1, 2)')).toEqual([
      [4, 6, "unbound capture '$q'"],
      [0, 3, "unknown function 'sqr'"],
      [10, 14, "unknown name 'nope'"],
      [25, 26, 'sqrt() takes 1 argument, got 2'],
    ]);
  });

  test('hints', () => {
    expect(hintsOf('$scal')).toEqual(["did you mean '$scale'?"]);
    expect(hintsOf('$zzz')).toEqual(['the pattern captures $x, $scale, $var, $eps, $n, $axis, $name, $ins, $a']);
    expect(hintsOf('$x', { captures: {} })).toEqual(['the pattern captures nothing']);
    expect(hintsOf('sqr(k)')).toEqual(["did you mean 'sqrt'?"]);
    expect(hintsOf('unsqeeze(k, 0)')).toEqual(["did you mean 'unsqueeze'?"]);
    expect(hintsOf('foo(k)')).toEqual(['see docs/expressions.md for the functions']);
    expect(hintsOf('sqrt')).toEqual(["'sqrt' is a function: call it as sqrt(...)"]);
    expect(hintsOf('kk')).toEqual(["did you mean 'k'?"]);
    expect(hintsOf('scale')).toEqual(["captures are written with a '$': $scale"]);
    expect(hintsOf('zzz')).toEqual(['a name must be defined by an earlier let entry; captures are written $name']);
    expect(hintsOf('slice(k)')).toEqual(['call it as slice(t, starts, ends, axes?, steps?)']);
    expect(hintsOf('$name + 1')).toEqual(['turn the other side into text with str(...)']);
    expect(hintsOf('cast(k, "float61")')).toEqual(["did you mean 'float64'?"]);
    expect(hintsOf('cast(k, "half")')).toEqual(["did you mean 'float16'?"]);
    expect(hintsOf('cast(k, "xyzzy")')).toEqual(['dtypes: float32, float16, bfloat16, float64, int8, int16, int32, int64, uint8, bool, ...']);
    expect(hintsOf('$n + 1')).toEqual(['a node has no value; read its output or an attribute, e.g. attr($n, "axis")']);
  });

  test('unknown kinds pass every check; none passes for optional parameters only', () => {
    expect(errorsOf('sqrt($a) + $a * 2 + range($a) + $a[0]')).toEqual([]);
    expect(errorsOf('$a * "s"')).toEqual([[5, 8, "cannot apply '*' to a string"]]);
    expect(errorsOf('clip(k, none, 1) + squeeze(k, none)')).toEqual([]);
  });

  test('a scope given as Maps works the same', () => {
    const r = checkExpr(parseExpr('$w * k'), { captures: new Map([['w', 'tensor']]), lets: new Map([['k', 'number']]) });
    expect(r).toEqual({ kind: 'tensor', errors: [] });
  });
});
