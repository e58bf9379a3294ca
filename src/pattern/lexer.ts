import { PatternSyntaxError } from './errors';

/** A token of pattern or replacement text; offsets are into that text. */
export type Token =
  | { kind: 'ident'; value: string; start: number; end: number }
  | { kind: 'capture'; value: string; start: number; end: number }
  | { kind: 'number'; value: number | bigint; integer: boolean; start: number; end: number }
  | { kind: 'string'; value: string; start: number; end: number }
  | { kind: 'punct'; value: string; start: number; end: number }
  /** A line break outside brackets: separates replacement statements. */
  | { kind: 'newline'; value: '\n'; start: number; end: number }
  | { kind: 'eof'; value: ''; start: number; end: number };

/** Longest first, so `::` wins over `:` and `...` over `.`. */
const PUNCT = [
  '...', '::', '==', '!=', '<=', '>=', '**', '//', '&&', '||',
  '(', ')', '{', '}', '[', ']', ',', ':', '|', '*', '@', '?', '=', ';', '+', '-', '/', '%', '<', '>', '.',
  // Not ours, but lexed so that src/expr can say what to write instead.
  '!', '&', '^',
];

const OPENERS = new Set(['(', '[', '{']);
const CLOSERS = new Set([')', ']', '}']);

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isIdentStart = (c: string | undefined): boolean => c !== undefined && /[A-Za-z_]/.test(c);
const isIdentPart = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_]/.test(c);

/** Splits pattern text into tokens; the last one is always `eof`. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const start = i;
    if (c === '\n') {
      if (depth === 0) tokens.push({ kind: 'newline', value: '\n', start, end: i + 1 });
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      // A comment runs to the end of the line (useful in block scalars).
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(text[i + 1]))) {
      const t = readNumber(text, start);
      tokens.push(t);
      i = t.end;
      continue;
    }
    if (isIdentStart(c)) {
      while (isIdentPart(text[i])) i++;
      tokens.push({ kind: 'ident', value: text.slice(start, i), start, end: i });
      continue;
    }
    if (c === '$') {
      i++;
      if (!isIdentStart(text[i])) {
        throw new PatternSyntaxError(start, start + 1, "'$' must be followed by a capture name", 'captures are written $name, e.g. $x, or $_ for "anything"');
      }
      while (isIdentPart(text[i])) i++;
      tokens.push({ kind: 'capture', value: text.slice(start + 1, i), start, end: i });
      continue;
    }
    if (c === '"' || c === "'") {
      const t = readString(text, start);
      tokens.push(t);
      i = t.end;
      continue;
    }
    const p = PUNCT.find((x) => text.startsWith(x, i));
    if (p) {
      if (OPENERS.has(p)) depth++;
      if (CLOSERS.has(p)) depth = Math.max(0, depth - 1);
      tokens.push({ kind: 'punct', value: p, start, end: i + p.length });
      i += p.length;
      continue;
    }
    throw new PatternSyntaxError(start, start + 1, `unexpected character '${c}'`);
  }
  tokens.push({ kind: 'eof', value: '', start: text.length, end: text.length });
  return tokens;
}

function readNumber(text: string, start: number): Token {
  let i = start;
  let integer = true;
  while (isDigit(text[i])) i++;
  // `1...` is not a number followed by a spread; only a digit after '.' makes a fraction.
  if (text[i] === '.' && text[i + 1] !== '.') {
    integer = false;
    i++;
    while (isDigit(text[i])) i++;
  }
  if (text[i] === 'e' || text[i] === 'E') {
    let j = i + 1;
    if (text[j] === '+' || text[j] === '-') j++;
    if (isDigit(text[j])) {
      integer = false;
      i = j;
      while (isDigit(text[i])) i++;
    }
  }
  if (isIdentStart(text[i])) {
    let j = i;
    while (isIdentPart(text[j])) j++;
    throw new PatternSyntaxError(start, j, `malformed number '${text.slice(start, j)}'`);
  }
  const lexeme = text.slice(start, i);
  let value: number | bigint = Number(lexeme);
  if (integer && !Number.isSafeInteger(value)) value = BigInt(lexeme);
  return { kind: 'number', value, integer, start, end: i };
}

function readString(text: string, start: number): Token {
  const quote = text[start];
  let i = start + 1;
  let value = '';
  while (i < text.length && text[i] !== quote) {
    if (text[i] === '\n') break;
    if (text[i] === '\\') {
      const next = text[i + 1];
      const escapes: Record<string, string> = { n: '\n', t: '\t', '\\': '\\', '"': '"', "'": "'" };
      if (next === undefined || escapes[next] === undefined) {
        throw new PatternSyntaxError(i, i + 2, `unknown escape '\\${next ?? ''}' in a string`);
      }
      value += escapes[next];
      i += 2;
      continue;
    }
    value += text[i];
    i++;
  }
  if (text[i] !== quote) throw new PatternSyntaxError(start, i, 'unterminated string', `close it with ${quote}`);
  return { kind: 'string', value, start, end: i + 1 };
}
