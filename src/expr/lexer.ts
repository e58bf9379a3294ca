import { ExprError } from './errors';

/** A token of the expression language. */
export type Token =
  | { kind: 'number'; value: number | bigint; integer: boolean; start: number; end: number }
  | { kind: 'string'; value: string; start: number; end: number }
  | { kind: 'ident'; value: string; start: number; end: number }
  | { kind: 'capture'; value: string; start: number; end: number }
  | { kind: 'op'; value: string; start: number; end: number }
  | { kind: 'eof'; value: ''; start: number; end: number };

/** Longest operators first, so `**` wins over `*` and `<=` over `<`. */
const OPERATORS = ['**', '//', '==', '!=', '<=', '>=', '+', '-', '*', '/', '%', '<', '>', '(', ')', '[', ']', ','];

/** Characters people type from other languages, with what to write instead. */
const FOREIGN: ReadonlyArray<readonly [string, string]> = [
  ['&&', "write 'and' instead of '&&'"],
  ['||', "write 'or' instead of '||'"],
  ['!', "write 'not x' instead of '!x', or '!=' for inequality"],
  ['=', "'=' is not an operator; write '==' to compare"],
  ['?', "write the conditional as 'a if cond else b'"],
  [':', "write the conditional as 'a if cond else b'; slices are written slice(t, starts, ends)"],
  ['&', "write 'and' instead of '&'"],
  ['|', "write 'or' instead of '|'"],
  ['^', "write '**' for a power"],
];

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isIdentStart = (c: string | undefined): boolean => c !== undefined && /[A-Za-z_]/.test(c);
const isIdentPart = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_]/.test(c);

/** Splits expression text into tokens; the last token is always `eof`. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const start = i;
    if (isDigit(c) || (c === '.' && isDigit(text[i + 1]))) {
      tokens.push(readNumber(text, start));
      i = tokens[tokens.length - 1]!.end;
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
        throw new ExprError(start, start + 1, "'$' must be followed by a capture name", 'captures are written $name, e.g. $x or $scale');
      }
      while (isIdentPart(text[i])) i++;
      tokens.push({ kind: 'capture', value: text.slice(start + 1, i), start, end: i });
      continue;
    }
    if (c === '"' || c === "'") {
      tokens.push(readString(text, start));
      i = tokens[tokens.length - 1]!.end;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (op) {
      tokens.push({ kind: 'op', value: op, start, end: i + op.length });
      i += op.length;
      continue;
    }
    const foreign = FOREIGN.find(([f]) => text.startsWith(f, i));
    if (foreign) {
      throw new ExprError(start, start + foreign[0].length, `'${foreign[0]}' is not part of the expression language`, foreign[1]);
    }
    throw new ExprError(start, start + 1, `unexpected character '${c}'`);
  }
  tokens.push({ kind: 'eof', value: '', start: text.length, end: text.length });
  return tokens;
}

function readNumber(text: string, start: number): Token {
  let i = start;
  let integer = true;
  while (isDigit(text[i])) i++;
  if (text[i] === '.') {
    integer = false;
    i++;
    while (isDigit(text[i])) i++;
  }
  if (text[i] === 'e' || text[i] === 'E') {
    let j = i + 1;
    if (text[j] === '+' || text[j] === '-') j++;
    if (!isDigit(text[j])) {
      throw new ExprError(start, j, `malformed number '${text.slice(start, j)}': the exponent has no digits`, 'write e.g. 1e-5');
    }
    integer = false;
    i = j;
    while (isDigit(text[i])) i++;
  }
  if (isIdentStart(text[i])) {
    let j = i;
    while (isIdentPart(text[j])) j++;
    throw new ExprError(start, j, `malformed number '${text.slice(start, j)}'`);
  }
  const raw = text.slice(start, i);
  let value: number | bigint = Number(raw);
  if (integer && !Number.isSafeInteger(value)) value = BigInt(raw);
  return { kind: 'number', value, integer, start, end: i };
}

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", '0': '\0' };

function readString(text: string, start: number): Token {
  const quote = text[start];
  let i = start + 1;
  let value = '';
  for (;;) {
    const c = text[i];
    if (c === undefined) {
      throw new ExprError(start, text.length, 'unterminated string', `close it with ${quote}`);
    }
    if (c === quote) break;
    if (c === '\\') {
      const e = text[i + 1];
      const replacement = e === undefined ? undefined : ESCAPES[e];
      if (replacement === undefined) {
        throw new ExprError(i, Math.min(i + 2, text.length), `unknown escape '\\${e ?? ''}' in string`, 'known escapes: \\n \\t \\r \\\\ \\" \\\' \\0');
      }
      value += replacement;
      i += 2;
      continue;
    }
    value += c;
    i++;
  }
  return { kind: 'string', value, start, end: i + 1 };
}
