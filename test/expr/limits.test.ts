import { ExprError, evaluate, parseExpr } from '../../src/expr';

/** The error evaluating `text` raises, with its offsets into the text. */
function evalError(text: string): { start: number; end: number; reason: string } {
  try {
    evaluate(parseExpr(text), {});
  } catch (e) {
    if (e instanceof ExprError) return { start: e.start, end: e.end, reason: e.reason };
    throw e;
  }
  throw new Error(`'${text}' evaluated without error`);
}

/** Offsets of `part` in `text`, so expected spans are computed, not guessed. */
const span = (text: string, part: string): { start: number; end: number } => ({ start: text.indexOf(part), end: text.indexOf(part) + part.length });

describe('values that would exhaust memory end in an error naming the limit', () => {
  it('broadcasting two small tensors to 10^10 elements', () => {
    const text = 'size(zeros([100000, 1]) + zeros([1, 100000]))';
    expect(evalError(text)).toEqual({
      ...span(text, 'zeros([100000, 1]) + zeros([1, 100000])'),
      reason: "'+': the result of shape [100000, 100000] (10000000000 elements) is too large (limit 268435456)",
    });
  });

  it('a broadcast inside a function call (where)', () => {
    const text = 'where(ones([100000, 1]) > 0, ones([1, 100000]), 0)';
    expect(evalError(text).reason).toBe('where(): the result of shape [100000, 100000] (10000000000 elements) is too large (limit 268435456)');
  });

  it('a list doubled by `+` (crashed the process: V8 "invalid size error")', () => {
    const text = 'range(600000) + range(600000)';
    expect(evalError(text)).toEqual({ ...span(text, text), reason: "'+' would make a list of 1200000 items (limit 1000000)" });
  });

  it('a string doubled by `+`', () => {
    const text = 's + s';
    try {
      evaluate(parseExpr(text), { lets: new Map([['s', 'x'.repeat(1 << 23) + 'y']]) });
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(ExprError);
      expect((e as ExprError).reason).toBe("'+' would make a string of 16777218 characters (limit 16777216)");
    }
  });

  it('tolist of a large tensor', () => {
    const text = 'len(tolist(zeros([1000, 1001])))';
    expect(evalError(text)).toEqual({ ...span(text, 'zeros([1000, 1001])'), reason: 'tolist(): a tensor of 1001000 elements is too large for a list (limit 1000000)' });
  });

  it('values up to the limits are fine', () => {
    expect(evaluate(parseExpr('len(range(500000) + range(500000))'), {})).toBe(1000000);
    expect(evaluate(parseExpr('len(tolist(zeros([1000, 1000])))'), {})).toBe(1000);
  });
});

describe('long axis lists take time proportional to their length', () => {
  it('unsqueeze with 100000 axes (took ~9 s: rank x axes steps)', () => {
    const t0 = Date.now();
    expect(evaluate(parseExpr('rank(unsqueeze(ones([1]), range(100000)))'), {})).toBe(100001);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('a repeated axis in a long list is still found', () => {
    const text = 'unsqueeze(ones([1]), range(20) + [3])';
    expect(evalError(text)).toEqual({ ...span(text, 'range(20) + [3]'), reason: 'unsqueeze(): axis repeated in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, ...]' });
  });
});

describe('integer powers with huge negative exponents', () => {
  it('give a float, as small ones do (3 ** -(2 ** 63) threw a RangeError from BigInt)', () => {
    expect(evaluate(parseExpr('3 ** -9223372036854775808'), {})).toBe(0);
    expect(evaluate(parseExpr('1 ** -9223372036854775807'), {})).toBe(1);
    expect(evaluate(parseExpr('2 ** -2'), {})).toBe(0.25);
  });
});
