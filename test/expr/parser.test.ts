import { Expr, ExprError, evaluate, parseExpr, tokenize, underline, walk } from '../../src/expr';

/** The tree as an S-expression, so precedence shows in the test text. */
function sexpr(e: Expr): string {
  switch (e.type) {
    case 'number':
      return String(e.value) + (typeof e.value === 'bigint' ? 'n' : '');
    case 'string':
      return JSON.stringify(e.value);
    case 'bool':
      return String(e.value);
    case 'none':
      return 'none';
    case 'capture':
      return `$${e.name}`;
    case 'name':
      return e.name;
    case 'list':
      return `[${e.items.map(sexpr).join(' ')}]`;
    case 'call':
      return `(${e.callee}() ${e.args.map(sexpr).join(' ')})`.replace(' )', ')');
    case 'unary':
      return `(${e.op} ${sexpr(e.operand)})`;
    case 'binary':
      return `(${e.op} ${sexpr(e.left)} ${sexpr(e.right)})`;
    case 'conditional':
      return `(if ${sexpr(e.test)} ${sexpr(e.then)} ${sexpr(e.otherwise)})`;
    case 'index':
      return `(at ${sexpr(e.object)} ${sexpr(e.index)})`;
  }
}

const parse = (text: string): string => sexpr(parseExpr(text));

/** The error a parse throws, as [start, end, reason]. */
function parseError(text: string): [number, number, string, string | undefined] {
  try {
    parseExpr(text);
  } catch (e) {
    if (e instanceof ExprError) return [e.start, e.end, e.reason, e.hint];
    throw e;
  }
  throw new Error(`'${text}' parsed without error`);
}

describe('precedence and associativity', () => {
  test.each([
    ['1 + 2 * 3', '(+ 1 (* 2 3))'],
    ['(1 + 2) * 3', '(* (+ 1 2) 3)'],
    ['1 - 2 - 3', '(- (- 1 2) 3)'],
    ['8 / 4 / 2', '(/ (/ 8 4) 2)'],
    ['7 // 2 % 3', '(% (// 7 2) 3)'],
    ['2 ** 3 ** 2', '(** 2 (** 3 2))'],
    ['-2 ** 2', '(- (** 2 2))'],
    ['2 ** -1', '(** 2 (- 1))'],
    ['-$x * 2', '(* (- $x) 2)'],
    ['--1', '(- (- 1))'],
    ['+1', '(+ 1)'],
    ['a + b == c * d', '(== (+ a b) (* c d))'],
    ['$eps > 0 and $eps < 1e-2', '(and (> $eps 0) (< $eps 0.01))'],
    ['a or b and c', '(or a (and b c))'],
    ['a and b or c', '(or (and a b) c)'],
    ['not a == b', '(not (== a b))'],
    ['not a and b', '(and (not a) b)'],
    ['not not a', '(not (not a))'],
    ['a if c else b', '(if c a b)'],
    ['a if c else b if d else e', '(if c a (if d b e))'],
    ['x + 1 if x > 0 and y else -x', '(if (and (> x 0) y) (+ x 1) (- x))'],
    ['shape($x)[0] * 2', '(* (at (shape() $x) 0) 2)'],
    ['-x[0]', '(- (at x 0))'],
    ['x[0][1]', '(at (at x 0) 1)'],
    ['[1, 2][-1]', '(at [1 2] (- 1))'],
    ['2 ** x[1]', '(** 2 (at x 1))'],
    ['f(a, b + 1, [c])', '(f() a (+ b 1) [c])'],
    ['unsqueeze(k, [1, 2],)', '(unsqueeze() k [1 2])'],
    ['range()', '(range())'],
    ['[]', '[]'],
    ['[1, [2, 3]]', '[1 [2 3]]'],
    ['x[a if b else c]', '(at x (if b a c))'],
    ['(a if b else c) + 1', '(+ (if b a c) 1)'],
  ])('%s', (text, expected) => {
    expect(parse(text)).toBe(expected);
  });
});

describe('literals', () => {
  test.each([
    ['0', 0, true],
    ['42', 42, true],
    ['1.5', 1.5, false],
    ['.5', 0.5, false],
    ['1.', 1, false],
    ['1e-5', 1e-5, false],
    ['2E+3', 2000, false],
    ['1.5e3', 1500, false],
    ['inf', Infinity, false],
  ])('number %s', (text, value, integer) => {
    const e = parseExpr(text);
    expect(e).toMatchObject({ type: 'number', value, integer });
  });

  test('nan', () => {
    const e = parseExpr('nan');
    expect(e.type === 'number' && Number.isNaN(e.value)).toBe(true);
  });

  test('integers beyond 2^53 are bigints, exactly', () => {
    expect(parseExpr('9223372036854775807')).toMatchObject({ type: 'number', value: 9223372036854775807n, integer: true });
    expect(parseExpr('9007199254740991')).toMatchObject({ value: 9007199254740991 });
    expect(parseExpr('9007199254740993')).toMatchObject({ value: 9007199254740993n });
  });

  test('strings with both quotes and escapes', () => {
    expect(parseExpr('"float16"')).toMatchObject({ type: 'string', value: 'float16' });
    expect(parseExpr("'a\"b'")).toMatchObject({ type: 'string', value: 'a"b' });
    expect(parseExpr('"a\\"b\\n\\t\\\\"')).toMatchObject({ type: 'string', value: 'a"b\n\t\\' });
    expect(parseExpr('""')).toMatchObject({ type: 'string', value: '' });
  });

  test('true, false, none; names and captures', () => {
    expect(parse('[true, false, none, $x, k, float16, $x_1]')).toBe('[true false none $x k float16 $x_1]');
  });
});

describe('positions', () => {
  /** Each node as "type text" where text is the slice its offsets cover. */
  function spans(text: string): string[] {
    const out: string[] = [];
    walk(parseExpr(text), (n) => out.push(`${n.type} ${text.slice(n.start, n.end)}`));
    return out;
  }

  test('every node kind covers exactly its text', () => {
    const text = '  sqrt($var + 1e-5) * [k, "s", true, none][0] if not $a else -x ** 2 ';
    expect(spans(text)).toEqual([
      'conditional sqrt($var + 1e-5) * [k, "s", true, none][0] if not $a else -x ** 2',
      'binary sqrt($var + 1e-5) * [k, "s", true, none][0]',
      'call sqrt($var + 1e-5)',
      'binary $var + 1e-5',
      'capture $var',
      'number 1e-5',
      'index [k, "s", true, none][0]',
      'list [k, "s", true, none]',
      'name k',
      'string "s"',
      'bool true',
      'none none',
      'number 0',
      'unary not $a',
      'capture $a',
      'unary -x ** 2',
      'binary x ** 2',
      'name x',
      'number 2',
    ]);
  });

  test('parentheses belong to the node they enclose', () => {
    expect(spans('( a + b )*c').slice(0, 2)).toEqual(['binary ( a + b )*c', 'binary ( a + b )']);
  });

  test('a call records where its name is, a binary node where its operator is', () => {
    const call = parseExpr('  max(a, b)');
    expect(call).toMatchObject({ type: 'call', calleeStart: 2, calleeEnd: 5, start: 2, end: 11 });
    const bin = parseExpr('a  // b');
    expect(bin).toMatchObject({ type: 'binary', op: '//', opStart: 3, opEnd: 5 });
  });

  test('tokens have offsets too', () => {
    expect(tokenize('$a<=1').map((t) => [t.kind, t.start, t.end])).toEqual([
      ['capture', 0, 2], ['op', 2, 4], ['number', 4, 5], ['eof', 5, 5],
    ]);
  });
});

describe('syntax errors: message and exact offsets', () => {
  test.each<[string, number, number, string]>([
    ['', 0, 0, 'empty expression'],
    ['   ', 0, 3, 'empty expression'],
    ['1 +', 3, 3, 'unexpected end of the expression'],
    ['(1 + 2', 0, 1, "'(' is never closed"],
    ['f(1, 2', 1, 2, "'(' is never closed"],
    ['[1, 2', 0, 1, "'[' is never closed"],
    ['x[0', 1, 2, "'[' is never closed"],
    ['(1 + 2]', 6, 7, "expected ')' to close the '(' at offset 0, got ']'"],
    ['f(a b)', 4, 5, "expected ')' to close the '(' at offset 1, got 'b'"],
    ['1 2', 2, 3, 'unexpected number 2 after the end of the expression'],
    ['a )', 2, 3, "unexpected ')' after the end of the expression"],
    ['* 2', 0, 1, "expected an expression, got '*'"],
    ['f(, 1)', 2, 3, "expected an expression before ','"],
    ['[1,,2]', 3, 4, "expected an expression before ','"],
    ['x[]', 1, 3, 'empty index'],
    ['$', 0, 1, "'$' must be followed by a capture name"],
    ['1 + $ 2', 4, 5, "'$' must be followed by a capture name"],
    ['$_ + 1', 0, 2, "'$_' matches anything and binds nothing; it cannot be read in an expression"],
    ['"abc', 0, 4, 'unterminated string'],
    ['"a\\qb"', 2, 4, "unknown escape '\\q' in string"],
    ['1e', 0, 2, "malformed number '1e': the exponent has no digits"],
    ['1e+', 0, 3, "malformed number '1e+': the exponent has no digits"],
    ['12abc', 0, 5, "malformed number '12abc'"],
    ['a @ b', 2, 3, "unexpected character '@'"],
    ['a = 1', 2, 3, "'=' is not part of the expression language"],
    ['a && b', 2, 4, "'&&' is not part of the expression language"],
    ['a || b', 2, 4, "'||' is not part of the expression language"],
    ['!a', 0, 1, "'!' is not part of the expression language"],
    ['c ? a : b', 2, 3, "'?' is not part of the expression language"],
    ['x[1:2]', 3, 4, "':' is not part of the expression language"],
    ['2 ^ 3', 2, 3, "'^' is not part of the expression language"],
    ['0 < x < 1', 6, 7, 'comparisons cannot be chained'],
    ['a == b != c', 7, 9, 'comparisons cannot be chained'],
    ['a if b', 6, 6, "expected 'else' of the 'if' at offset 2, got the end of the expression"],
    ['a if b then c', 7, 11, "expected 'else' of the 'if' at offset 2, got 'then'"],
    ['else', 0, 4, "expected an expression, got 'else'"],
    ['a and or b', 6, 8, "expected an expression, got 'or'"],
    ['True', 0, 4, "unknown word 'True'"],
    ['x if True else None', 5, 9, "unknown word 'True'"],
  ])('%j', (text, start, end, reason) => {
    const [s, e, r] = parseError(text);
    expect([s, e, r]).toEqual([start, end, reason]);
  });

  test('hints say what to write instead', () => {
    expect(parseError('a = 1')[3]).toBe("'=' is not an operator; write '==' to compare");
    expect(parseError('a && b')[3]).toBe("write 'and' instead of '&&'");
    expect(parseError('c ? a : b')[3]).toBe("write the conditional as 'a if cond else b'");
    expect(parseError('0 < x < 1')[3]).toBe("write 'a < b and b < c', or in_range(x, lo, hi)");
    expect(parseError('True')[3]).toBe("write 'true' in lower case");
    expect(parseError('f(a b)')[3]).toBe("a ',' or an operator is missing before it");
    expect(parseError('1 2')[3]).toBe('an operator or a comma is missing before it');
  });

  test('underline shows the range under the text', () => {
    const text = '$scale / sqrt($var + $eps';
    const [start, end] = parseError(text);
    expect(underline(text, { start, end })).toBe(`${text}\n             ^`);
  });
});

describe('nesting limits', () => {
  test.each([
    ['parentheses', '('.repeat(300) + '1' + ')'.repeat(300)],
    ['unary minus', '-'.repeat(300) + '1'],
    ['operator chain', Array(300).fill('1').join(' + ')],
    ['right-associative powers', Array(300).fill('2').join(' ** ')],
    ['conditionals', Array(300).fill('1 if true else').join(' ') + ' 0'],
    ['index chain', 'x' + '[0]'.repeat(300)],
    ['lists', '['.repeat(300) + ']'.repeat(300)],
    ['calls', 'abs('.repeat(300) + '1' + ')'.repeat(300)],
  ])('%s beyond 256 levels are refused with a position', (_name, text) => {
    const [start, end, reason, hint] = parseError(text);
    expect(reason).toBe('the expression is nested too deeply (more than 256 levels)');
    expect(hint).toBe('split it into let entries');
    expect(start).toBeGreaterThan(0);
    expect(end).toBeLessThanOrEqual(text.length);
  });

  test('100 levels are fine', () => {
    expect(evaluate(parseExpr(Array(120).fill('1').join(' + ')))).toBe(120);
    expect(evaluate(parseExpr('abs('.repeat(100) + '-1' + ')'.repeat(100)))).toBe(1);
    expect(() => parseExpr('('.repeat(100) + '1' + ')'.repeat(100))).not.toThrow();
    expect(() => parseExpr(Array(100).fill('1').join(' + '))).not.toThrow();
  });
});

