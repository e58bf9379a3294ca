import { parsePattern, parseReplacement } from '../../src/pattern';
import { PatternSyntaxError } from '../../src/pattern/errors';
import { toAttr } from '../../src/expr';
import { ExprError } from '../../src/expr';

/** The syntax error parsing `text` raises: offsets and reason. */
function parseError(parse: (t: string) => unknown, text: string): { start: number; end: number; reason: string } {
  try {
    parse(text);
  } catch (e) {
    if (e instanceof PatternSyntaxError) return { start: e.start, end: e.end, reason: e.reason };
    throw e;
  }
  throw new Error(`'${text}' parsed without error`);
}

const span = (text: string, part: string): { start: number; end: number } => ({ start: text.indexOf(part), end: text.indexOf(part) + part.length });

describe('attribute literals no attribute can hold are syntax errors at the literal (were a RangeError at apply, or silently wrapped)', () => {
  it.each([
    ['Transpose($x){perm: [[0, 1], 2]}', '[0, 1]', 'a list attribute holds numbers or strings, not lists'],
    ['Transpose($x){perm: [0, "a"]}', '"a"', 'a list attribute holds numbers or strings, not both'],
    ['Transpose($x){perm: [true]}', 'true', 'a list attribute holds numbers or strings, not true/false'],
    ['LeakyRelu($x){alpha: $a = [1, [2]]}', '[2]', 'a list attribute holds numbers or strings, not lists'],
    ['Concat($x){axis: 99999999999999999999}', '99999999999999999999', 'the integer 99999999999999999999 does not fit in 64 bits'],
    ['Concat($x){axis: -9223372036854775809}', '9223372036854775809', 'the integer -9223372036854775809 does not fit in 64 bits'],
  ])('%s', (text, part, reason) => {
    expect(parseError(parsePattern, text)).toEqual({ ...span(text, part), reason });
  });

  it('the int64 bounds themselves are fine', () => {
    expect(() => parsePattern('Concat($x){axis: -9223372036854775808}')).not.toThrow();
    expect(() => parsePattern('Concat($x){axis: 9223372036854775807}')).not.toThrow();
  });

  it('an int literal beyond 64 bits in a replacement is an error, not an expression', () => {
    const text = 'Concat($x){axis: 99999999999999999999}';
    expect(parseError(parseReplacement, text)).toEqual({ ...span(text, '99999999999999999999'), reason: 'the integer 99999999999999999999 does not fit in 64 bits' });
  });

  it('a nested list in a replacement is read as an expression (it may make a tensor attribute)', () => {
    expect(() => parseReplacement('Constant(){value: [[1, 2], [3, 4]]}')).not.toThrow();
  });

  it("20000 '-' signs are one error, not a stack overflow", () => {
    const text = `Concat($x){axis: ${'-'.repeat(20000)}1}`;
    expect(parseError(parsePattern, text)).toEqual({ start: 17, end: 19, reason: "'-' must be followed by a number" });
  });
});

describe('an expression value too wide for an int attribute', () => {
  const at = { start: 3, end: 9 };
  it.each<[unknown, string | undefined]>([
    [2n ** 70n, undefined],
    [2 ** 70, 'int'],
    [[1, 2n ** 63n], undefined],
    [[2 ** 64], 'ints'],
  ])('%p as %s is an error (was written wrapped: 2 ** 70 as 0)', (v, like) => {
    try {
      toAttr(v as never, like as never, at);
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(ExprError);
      expect({ start: (e as ExprError).start, end: (e as ExprError).end }).toEqual(at);
      expect((e as ExprError).reason).toMatch(/^\d+ does not fit in a 64-bit integer attribute$/);
    }
  });

  it('int64 bounds and floats pass', () => {
    expect(toAttr(-(2n ** 63n))).toEqual({ kind: 'int', value: -(2n ** 63n) });
    expect(toAttr([2n ** 63n - 1n, 1])).toEqual({ kind: 'ints', value: [2n ** 63n - 1n, 1] });
    expect(toAttr(2 ** 70, 'float')).toEqual({ kind: 'float', value: 2 ** 70 });
  });
});
