import { parsePattern, parseReplacement, PatternSyntaxError } from '../../src/pattern';
import type { NodePattern } from '../../src/pattern';

/** The error `fn` throws, checked to be a PatternSyntaxError. */
function syntaxError(fn: () => unknown): PatternSyntaxError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PatternSyntaxError) return e;
    throw e;
  }
  throw new Error('expected a PatternSyntaxError');
}

/** The offending text of an error, for readable assertions. */
function at(text: string, e: PatternSyntaxError): string {
  return text.slice(e.start, e.end);
}

describe('parsePattern', () => {
  test('the BatchNorm pattern: args, const captures, attribute binding', () => {
    const text = 'BatchNormalization($x, $scale:const, $bias:const, $mean:const, $var:const){epsilon: $eps}';
    const ast = parsePattern(text);
    const root = ast.root;
    expect(root.ops).toEqual([{ domain: undefined, op: 'BatchNormalization', start: 0, end: 18 }]);
    expect(root.args!.map((a) => (a.kind === 'capture' ? `${a.name}${a.constOnly ? ':const' : ''}` : a.kind))).toEqual([
      'x', 'scale:const', 'bias:const', 'mean:const', 'var:const',
    ]);
    const eps = root.attrs[0]!;
    expect(eps.name).toBe('epsilon');
    expect(eps.value).toMatchObject({ kind: 'bind', name: 'eps', optional: false });
    expect(text.slice(eps.value.start, eps.value.end)).toBe('$eps');
    expect(text.slice(root.start, root.end)).toBe(text);
  });

  test('alternatives, wildcard op, domains, nested nodes, captures of nodes and outputs', () => {
    const text = 'Relu|Clip($t=Conv|ConvTranspose(*($a), com.microsoft::Gelu($b)@g, $bias?)[0]@conv, $rest...)';
    // [0] on a nested node selects its output; `$t=` binds that output value.
    const root = parsePattern(text).root;
    expect((root.ops as readonly { op: string }[]).map((o) => o.op)).toEqual(['Relu', 'Clip']);
    const conv = root.args![0] as NodePattern;
    expect(conv.valueCapture?.name).toBe('t');
    expect(conv.nodeCapture?.name).toBe('conv');
    expect(text.slice(conv.nodeCapture!.start, conv.nodeCapture!.end)).toBe('@conv');
    expect(conv.output).toBe(0);
    expect((conv.ops as readonly { op: string }[]).map((o) => o.op)).toEqual(['Conv', 'ConvTranspose']);
    const [any, gelu, bias] = conv.args!;
    expect(any).toMatchObject({ kind: 'node', ops: '*' });
    expect(gelu).toMatchObject({ kind: 'node', ops: [{ domain: 'com.microsoft', op: 'Gelu' }], nodeCapture: { name: 'g' } });
    expect(bias).toMatchObject({ kind: 'capture', name: 'bias', optional: true });
    expect(root.args![1]).toMatchObject({ kind: 'variadic', name: 'rest' });
  });

  test('attribute literals, alternatives, defaults and optional binds', () => {
    const text = 'Resize($x, _, $s:const){mode: "nearest"|"linear", antialias: 0, cubic_coeff_a: -0.75, axes: $axes?, exclude_outside: $e = 0, pads: [1, -1]}';
    const root = parsePattern(text).root;
    expect(root.args![1]).toMatchObject({ kind: 'absent' });
    const attrs = Object.fromEntries(root.attrs.map((a) => [a.name, a.value]));
    expect(attrs.mode).toMatchObject({ kind: 'equals', alternatives: [{ type: 'string', value: 'nearest' }, { type: 'string', value: 'linear' }] });
    expect(attrs.antialias).toMatchObject({ kind: 'equals', alternatives: [{ type: 'number', value: 0, integer: true }] });
    expect(attrs.cubic_coeff_a).toMatchObject({ kind: 'equals', alternatives: [{ type: 'number', value: -0.75, integer: false }] });
    expect(attrs.axes).toMatchObject({ kind: 'bind', name: 'axes', optional: true });
    expect(attrs.exclude_outside).toMatchObject({ kind: 'bind', name: 'e', default: { type: 'number', value: 0 } });
    expect(attrs.pads).toMatchObject({ kind: 'equals', alternatives: [{ type: 'list', items: [{ value: 1 }, { value: -1 }] }] });
  });

  test('line breaks anywhere in a pattern (a YAML block scalar), with comments', () => {
    const text = 'BatchNormalization($x,   # the input\n  $s:const, $b:const, $m:const, $v:const)\n  {epsilon: $eps}\n';
    const root = parsePattern(text).root;
    expect(root.args).toHaveLength(5);
    expect(root.attrs[0]!.name).toBe('epsilon');
  });

  test('a number operand and an op without parentheses', () => {
    const root = parsePattern('Mul($x, HardSigmoid, 0.16666667)').root;
    expect(root.args![1]).toMatchObject({ kind: 'node', args: null });
    expect(root.args![2]).toMatchObject({ kind: 'literal', value: 0.16666667 });
  });

  test.each([
    ['', 'empty pattern', ''],
    ['relu($x)', "a pattern must start with an op name, not 'relu'", 'relu'],
    ['$x', "a pattern must start with an op name, not '$x'", '$x'],
    ['Relu($x', "expected ',' or ')' after an input, found the end of the text", ''],
    ['Relu($x))', "unexpected ')' after the pattern", ')'],
    ['Add($x $y)', "expected ',' or ')' after an input, found '$y'", '$y'],
    ['Concat($xs..., $y)', 'a variadic capture must be the last input', '$xs...'],
    ['Relu($x:cons)', "expected 'const' after ':', found 'cons'", 'cons'],
    ['Relu(x)', "'x' is not an input pattern", 'x'],
    ['Relu($)', "'$' must be followed by a capture name", '$'],
    ['Relu($x){alpha $a}', "expected ':' after attribute name 'alpha', found '$a'", '$a'],
    ['Relu($x){alpha: 1, alpha: 2}', "attribute 'alpha' is given twice", 'alpha'],
    ['Relu($x){alpha: }', 'expected a literal (number, "string", true/false or a [list]), found \'}\'', '}'],
    ['Relu($x){mode: "nearest}', 'unterminated string', '"nearest}'],
    ['Relu(Conv($x)@)', "expected a name after '@', found ')'", ')'],
    ['$y=Relu($x)', 'the root of a pattern cannot bind its output value', '$y'],
    ['Relu(Split($x)[a])', "expected an output index, found 'a'", 'a'],
    ['Relu($x) ~', "unexpected character '~'", '~'],
    ['Relu(1x)', "malformed number '1x'", '1x'],
    ['Relu(|Conv)', "expected an input pattern, found '|'", '|'],
    ['Conv|($x)', "expected an op name, found '('", '('],
    ['Relu(conv($x))', "'conv' is not an input pattern", 'conv'],
  ])('syntax error in %j', (text, message, offending) => {
    const e = syntaxError(() => parsePattern(text));
    expect(e.reason).toBe(message);
    expect(at(text, e)).toBe(offending);
  });

  test('errors carry hints where one helps', () => {
    const e = syntaxError(() => parsePattern('Relu(x)'));
    expect(e.hint).toMatch(/did you mean \$x\?/);
  });
});

describe('parseReplacement', () => {
  test('the BatchNorm replacement: nodes, captures and expressions', () => {
    const text = 'Add(Mul($x, unsqueeze(k, [1, 2])), unsqueeze(c, [1, 2]))';
    const ast = parseReplacement(text);
    expect(ast.statements).toEqual([]);
    const add = ast.result;
    if (add.kind !== 'node') throw new Error('expected a node');
    expect(add.op).toMatchObject({ op: 'Add' });
    const [mul, c] = add.args;
    if (mul?.kind !== 'node' || c?.kind !== 'expr') throw new Error('unexpected shape');
    expect(mul.args[0]).toMatchObject({ kind: 'ref', name: 'x', capture: true });
    expect(mul.args[1]).toMatchObject({ kind: 'expr', text: 'unsqueeze(k, [1, 2])' });
    expect(c.text).toBe('unsqueeze(c, [1, 2])');
    // expression offsets are offsets into the replacement text
    expect(c.expr.start).toBe(text.indexOf('unsqueeze(c'));
    expect(c.expr.type === 'call' && text.slice(c.expr.calleeStart, c.expr.calleeEnd)).toBe('unsqueeze');
  });

  test('statements, outputs by index, for and fold', () => {
    const text = `parts[g] = Split($x){axis: 1, num_outputs: g}
y = Relu($x)
Concat(for i in range(g): Conv(parts[i], slice($w, [i * 4], [i * 4 + 4]), y), fold acc = $x for j in range(n - 1): Mul(acc, $x)){axis: 1}`;
    const ast = parseReplacement(text);
    expect(ast.statements.map((s) => s.target.name)).toEqual(['parts', 'y']);
    expect(ast.statements[0]!.outputCount?.text).toBe('g');
    const concat = ast.result;
    if (concat.kind !== 'node') throw new Error('expected a node');
    const [loop, fold] = concat.args;
    if (loop?.kind !== 'for' || fold?.kind !== 'fold') throw new Error('expected for and fold');
    expect(loop.iterable.text).toBe('range(g)');
    const conv = loop.body;
    if (conv.kind !== 'node') throw new Error('expected a node');
    expect(conv.args[0]).toMatchObject({ kind: 'ref', name: 'parts', capture: false, index: { text: 'i' } });
    expect(conv.args[1]).toMatchObject({ kind: 'expr', text: 'slice($w, [i * 4], [i * 4 + 4])' });
    expect(conv.args[2]).toMatchObject({ kind: 'ref', name: 'y' });
    expect(fold.accumulator.name).toBe('acc');
    expect(fold.init).toMatchObject({ kind: 'ref', name: 'x', capture: true });
    expect(fold.body).toMatchObject({ kind: 'node', args: [{ kind: 'ref', name: 'acc' }, { kind: 'ref', name: 'x' }] });
    expect(concat.attrs[0]).toMatchObject({ name: 'axis', value: { kind: 'literal', literal: { type: 'number', value: 1 } } });
  });

  test('comments inside expressions keep the offsets of what follows', () => {
    const text = 'Add($x, sqrt($v  # the variance\n  + "#not a comment"))';
    const ast = parseReplacement(text);
    if (ast.result.kind !== 'node') throw new Error('expected a node');
    const e = ast.result.args[1]!;
    if (e.kind !== 'expr' || e.expr.type !== 'call') throw new Error('expected a call');
    const sum = e.expr.args[0]!;
    if (sum.type !== 'binary' || sum.right.type !== 'string') throw new Error('expected a sum with a string');
    expect(sum.right.value).toBe('#not a comment');
    expect(text.slice(sum.right.start, sum.right.end)).toBe('"#not a comment"');
  });

  test('$n(...) names the op of a captured node, with its span; a statement may name it', () => {
    const text = 'y = $act($x){alpha: 0.5}\nAdd($act(y), $x)';
    const ast = parseReplacement(text);
    const first = ast.statements[0]!.value;
    expect(first.op).toEqual({ copyOf: 'act', start: 4, end: 8 });
    expect(first.args).toMatchObject([{ kind: 'ref', name: 'x', capture: true }]);
    expect(first.attrs).toMatchObject([{ name: 'alpha', value: { kind: 'literal', literal: { value: 0.5 } } }]);
    if (ast.result.kind !== 'node') throw new Error('expected a node');
    const inner = ast.result.args[0]!;
    expect(inner).toMatchObject({ kind: 'node', op: { copyOf: 'act' }, args: [{ kind: 'ref', name: 'y' }] });
    expect(text.slice(inner.start, inner.end)).toBe('$act(y)');
  });

  test('attribute values keep 1 and 1.0 apart; expressions where not literal', () => {
    const ast = parseReplacement('Gemm($a, $b){alpha: 1.0, transB: 1, beta: $beta * 2, name: "x", perm: [0, 2, 1]}');
    if (ast.result.kind !== 'node') throw new Error('expected a node');
    const v = Object.fromEntries(ast.result.attrs.map((a) => [a.name, a.value]));
    expect(v.alpha).toMatchObject({ kind: 'literal', literal: { type: 'number', value: 1, integer: false } });
    expect(v.transB).toMatchObject({ kind: 'literal', literal: { type: 'number', value: 1, integer: true } });
    expect(v.beta).toMatchObject({ kind: 'expr', text: '$beta * 2' });
    expect(v.name).toMatchObject({ kind: 'literal', literal: { type: 'string', value: 'x' } });
  });

  test('a capture followed by more expression is an expression; spread and absent inputs', () => {
    const ast = parseReplacement('Concat($xs..., $y * 2, _, $y)');
    if (ast.result.kind !== 'node') throw new Error('expected a node');
    expect(ast.result.args.map((a) => a.kind)).toEqual(['spread', 'expr', 'none', 'ref']);
  });

  test.each([
    ['', 'empty replacement', ''],
    ['Add($x, )', "expected an input, found ')'", ')'],
    ['Add($x, sqrt($v + ))', "expected an expression, got ')'", ')'],
    ['Add($x, $y', "expected ',' or ')' after an input, found the end of the text", ''],
    ['Relu', "op 'Relu' needs its inputs in parentheses", 'Relu'],
    ['y = Relu($x)', 'a replacement must end with its result', 'y = Relu($x)'],
    ['y = 3\nRelu(y)', "expected an op after 'y =', found number 3", '3'],
    ['y = Relu($x) Relu(y)', "expected a new line or ';' after the statement, found 'Relu'", 'Relu'],
    ['y = Relu($x)\ny = Relu(y)\ny', "'y' is already defined", 'y'],
    ['Concat(for i range(3): $x)', "expected 'in' after the loop variable, found 'range'", 'range'],
    ['Concat(for i in range(3) $x)', "unexpected '$x' after the end of the expression", '$x'],
    ['Concat(for i in range(3), $x)', "expected ':' after what to iterate over, found ','", ','],
    ['fold a = $x i in range(2): Mul(a, $x)', "unexpected 'i' after the end of the expression", 'i'],
    ['fold a = Relu($x) i in range(2): Mul(a, $x)', "expected 'for' after the initial value of the fold, found 'i'", 'i'],
    ['Add($x, $x && 1)', "'&&' is not part of the expression language", '&&'],
    ['Add($x){axis 1}', "expected ':' after attribute name 'axis', found number 1", '1'],
    ['Add($x){axis: }', "expected an attribute value, found '}'", '}'],
    ['Add($x){axis: 1 2}', 'unexpected number 2 after the end of the expression', '2'],
    ['fold = $x for i in range(2): Mul($x, $x)', "'fold' is a reserved word", 'fold'],
    ['Add(fold 1 = $x for i in range(2): Mul($x, $x), $x)', "expected the accumulator name after 'fold', found number 1", '1'],
    ['Concat(for in range(2): $x)', "expected a loop variable name, found 'in'", 'in'],
    ['com.microsoft::(x)', "expected an op name, found '('", '('],
    ['xs[2] = 3\nxs', "expected an op after 'xs =', found number 3", '3'],
    ['for = Relu($x)\nfor', "'for' is a reserved word", 'for'],
    ['$_($x)', '$_ is not a node to copy', '$_'],
    ['Relu($act($x) $x)', "expected ',' or ')' after an input, found '$x'", '$x'],
    ['$act($x', "expected ',' or ')' after an input, found the end of the text", ''],
  ])('syntax error in %j', (text, message, offending) => {
    const e = syntaxError(() => parseReplacement(text));
    expect(e.reason).toBe(message);
    expect(at(text, e)).toBe(offending);
  });
});
