import { isAlias, isCollection, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, Scalar, visit, type Alias, type Document, type YAMLMap, type Node as YamlNode } from 'yaml';
import { RecipeError, type RecipeLocation } from '../errors';

/**
 * A recipe file parsed with its positions: the plain data, the YAML document
 * (every field keeps its node, hence its offsets), and a line counter to turn
 * offsets into `line:col`.
 */
export interface RecipeSource {
  readonly file: string;
  readonly text: string;
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;
  /** The document as plain JSON-like data. */
  readonly data: unknown;
}

/** A path into the document: map keys and sequence indexes. */
export type DataPath = readonly (string | number)[];

/** Parses YAML text, keeping positions; YAML syntax errors become RecipeErrors. */
export function parseRecipeSource(file: string, withBom: string): { source: RecipeSource; errors: RecipeError[] } {
  // Without the byte-order mark an editor does not show, so that line 1's columns are the editor's.
  const text = withBom.startsWith('\uFEFF') ? withBom.slice(1) : withBom;
  const lines = new LineCounter();
  // `merge`: YAML 1.1 merge keys (`<<: *base`), which hand-written rule lists use to share fields.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, merge: true });
  const source: RecipeSource = { file, text, doc, lines, data: undefined };
  const errors = doc.errors.map((e) => new RecipeError(locationAt(source, e.pos[0]), `YAML: ${YAML_MESSAGES[e.code] ?? firstLine(e.message)}`, undefined, yamlHint(e.code)));
  if (errors.length === 0) errors.push(...mergeErrors(source));
  if (errors.length === 0) errors.push(...aliasErrors(source));
  let data: unknown;
  if (errors.length === 0) {
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown;
    } catch (e) {
      // What yaml refuses only while converting, beyond the cases above.
      errors.push(new RecipeError(locationAt(source, 0), `YAML: ${firstLine((e as Error).message)}`));
    }
  }
  return { source: { ...source, data }, errors };
}

/** yaml keeps a merge key as a Scalar holding Symbol('<<'). */
function isMergeKey(key: unknown): boolean {
  return isScalar(key) && (key.value === '<<' || (typeof key.value === 'symbol' && key.value.description === '<<'));
}

/**
 * Keys yaml cannot turn into data: merge keys (<<) whose value is not a map,
 * an alias of one, or a list of those (yaml throws on them while converting),
 * and keys that are collections.
 */
function mergeErrors(source: RecipeSource): RecipeError[] {
  const errors: RecipeError[] = [];
  const isMapSource = (n: unknown): boolean => isMap(isAlias(n) ? n.resolve(source.doc) : n);
  visit(source.doc, {
    Pair: (_, pair) => {
      if (isCollection(pair.key)) {
        // yaml would turn it into text with a process warning.
        errors.push(new RecipeError(locationAt(source, (pair.key as YamlNode).range?.[0] ?? 0), 'YAML: a key must be text, not a list or a map'));
        return;
      }
      if (!isMergeKey(pair.key)) return;
      const value = pair.value as YamlNode | null;
      if (isMapSource(value) || (isSeq(value) && value.items.every(isMapSource))) return;
      const at = value?.range?.[0] ?? (pair.key as YamlNode).range?.[0] ?? 0;
      errors.push(new RecipeError(locationAt(source, at), 'YAML: a merge key (<<) takes a map, an alias of a map (*name), or a list of those', undefined, 'write `<<: *base` with `&base` on a map'));
    },
  });
  return errors;
}

/** yaml's bound on alias expansion (against "billion laughs" files); a recipe has no use for more. */
const MAX_ALIAS_COUNT = 100;

/**
 * Aliases yaml would refuse only while converting to data, as exceptions: one
 * that names no anchor before it, and aliases that expand to too much (an
 * alias bomb). Each is reported at the alias that causes it.
 */
function aliasErrors(source: RecipeSource): RecipeError[] {
  const aliases: Alias[] = [];
  visit(source.doc, { Alias: (_, node) => void aliases.push(node) });
  if (aliases.length === 0) return [];
  const errors: RecipeError[] = [];
  for (const alias of aliases) {
    if (!alias.resolve(source.doc)) {
      errors.push(new RecipeError(locationAt(source, alias.range?.[0] ?? 0), `YAML: alias '*${alias.source}' names no anchor defined before it`, undefined, "an anchor is written &name before the alias *name; a pattern that starts with '*' must be quoted"));
    }
  }
  if (errors.length) return errors;
  try {
    source.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    return [];
  } catch (e) {
    if (!(e instanceof ReferenceError)) throw e;
  }
  // Point at the alias that expands to the most nodes (the first of those).
  const sizes = new Map<unknown, number>();
  const sizeOf = (node: unknown, depth: number): number => {
    if (isAlias(node)) return depth > 64 ? Infinity : sizeOf(node.resolve(source.doc), depth + 1);
    if (!isCollection(node)) return 1;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    sizes.set(node, Infinity); // an alias inside its own anchor's collection
    let n = 1;
    for (const item of node.items) n += isPair(item) ? sizeOf(item.key, depth) + sizeOf(item.value, depth) : sizeOf(item, depth);
    sizes.set(node, n);
    return n;
  };
  let worst = aliases[0]!;
  let worstSize = -1;
  for (const alias of aliases) {
    const n = sizeOf(alias, 0);
    if (n > worstSize) [worst, worstSize] = [alias, n];
  }
  return [
    new RecipeError(locationAt(source, worst.range?.[0] ?? 0), `YAML: aliases expand to too much data (more than ${MAX_ALIAS_COUNT} uses of an anchor, counting nested aliases)`, undefined, 'write the repeated part out, or use fewer aliases of aliases'),
  ];
}

/** yaml's messages that speak of its API or of JavaScript rather than of the file. */
const YAML_MESSAGES: Partial<Record<string, string>> = {
  MULTIPLE_DOCS: "a recipe file holds one YAML document; this '---' starts a second",
  RESOURCE_EXHAUSTION: 'collections are nested too deeply',
};

/** Patterns often hold `: ` (attribute blocks), which plain YAML scalars cannot. */
function yamlHint(code: string): string | undefined {
  if (code === 'MULTIPLE_DOCS') return 'split it into two files, or drop the ---';
  if (code === 'BLOCK_AS_IMPLICIT_KEY' || code === 'MULTILINE_IMPLICIT_KEY' || code === 'UNEXPECTED_TOKEN') {
    return "a pattern with an attribute block `{name: ...}` must be quoted ('...') or written as a block scalar (match: >-)";
  }
  return undefined;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

/** `file:line:col` (1-based) of a byte offset in the file. */
export function locationAt(source: Pick<RecipeSource, 'file' | 'lines'>, offset: number): RecipeLocation {
  const { line, col } = source.lines.linePos(Math.max(0, offset));
  return { file: source.file, line, col };
}

/** The YAML node at `path`, or the deepest existing ancestor (so an error still points somewhere close). */
export function nodeAt(source: RecipeSource, path: DataPath): YamlNode | null {
  let node: unknown = source.doc.contents;
  for (const key of path) {
    if (isMap(node)) {
      const value = mapValue(source, node, key);
      if (!value) return (node as YamlNode) ?? null;
      node = value;
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key];
      if (!item) return node as YamlNode;
      node = item;
    } else {
      break;
    }
  }
  return (node as YamlNode | null) ?? null;
}

/** The value node of `key` in a YAML map, also when it comes from a merge key (`<<: *base`). */
function mapValue(source: RecipeSource, map: YAMLMap, key: string | number, depth = 0): YamlNode | null {
  const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
  if (pair) return (pair.value as YamlNode | null) ?? null;
  const merge = map.items.find((p) => isMergeKey(p.key));
  if (!merge || depth > 16) return null;
  const sources = isSeq(merge.value) ? merge.value.items : [merge.value];
  for (const item of sources) {
    const base = isAlias(item) ? item.resolve(source.doc) : item;
    const value = isMap(base) ? mapValue(source, base, key, depth + 1) : null;
    if (value) return value;
  }
  return null;
}

/** The key node of the field `path` (its last element names the key), when there is one. */
export function keyNodeAt(source: RecipeSource, path: DataPath): YamlNode | null {
  const parent = nodeAt(source, path.slice(0, -1));
  const last = path[path.length - 1];
  if (!isMap(parent) || last === undefined) return null;
  const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(last));
  return pair && isScalar(pair.key) ? (pair.key as YamlNode) : null;
}

/** Where the field at `path` starts (its value; the key when asked). */
export function locationOf(source: RecipeSource, path: DataPath, at: 'value' | 'key' = 'value'): RecipeLocation {
  const node = (at === 'key' ? keyNodeAt(source, path) : null) ?? nodeAt(source, path);
  return locationAt(source, node?.range?.[0] ?? 0);
}

/**
 * Where character `offset` of a string field's value sits in the file. Patterns
 * and expressions report errors as offsets into the string; this maps them back
 * through the scalar's quoting, escapes, folding and block indentation. When
 * the scalar's text cannot be replayed exactly, the scalar's start is used.
 */
export function locationInScalar(source: RecipeSource, path: DataPath, offset: number): RecipeLocation {
  const node = nodeAt(source, path);
  if (!isScalar(node) || !node.range) return locationAt(source, node?.range?.[0] ?? 0);
  const map = scalarOffsets(source.text, node);
  if (!map) return locationAt(source, node.range[0]);
  const clamped = Math.max(0, Math.min(offset, map.length - 1));
  return locationAt(source, map[clamped] ?? node.range[0]);
}

/**
 * For each character of a string scalar's value, the file offset it comes from
 * (plus one entry for the end of the value); null when replaying the scalar's
 * source does not reproduce its value.
 */
export function scalarOffsets(text: string, node: Scalar): number[] | null {
  if (typeof node.value !== 'string' || !node.range) return null;
  const [start, end] = node.range;
  let out: { chars: string[]; offsets: number[] };
  switch (node.type) {
    case Scalar.PLAIN:
      out = replayFlow(text, start, end, 'plain');
      break;
    case Scalar.QUOTE_SINGLE:
      out = replayFlow(text, start + 1, end - 1, 'single');
      break;
    case Scalar.QUOTE_DOUBLE:
      out = replayFlow(text, start + 1, end - 1, 'double');
      break;
    case Scalar.BLOCK_LITERAL:
    case Scalar.BLOCK_FOLDED:
      out = replayBlock(text, start, end, node.type === Scalar.BLOCK_FOLDED);
      break;
    default:
      return null;
  }
  const value = node.value;
  const replayed = out.chars.join('');
  // Chomping (block scalars) only changes trailing newlines: compare without them.
  if (replayed.replace(/\n+$/, '') !== value.replace(/\n+$/, '')) return null;
  const offsets = out.offsets.slice(0, value.length);
  while (offsets.length < value.length) offsets.push(end);
  offsets.push(out.offsets[value.length] ?? end);
  return offsets;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '0': '\0', a: '\x07', b: '\b', t: '\t', '\t': '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b',
  ' ': ' ', '"': '"', '/': '/', '\\': '\\', N: '\u0085', _: '\u00a0', L: '\u2028', P: '\u2029',
};

/** Replays a plain or quoted (flow) scalar: line folding, `''` and backslash escapes. */
function replayFlow(text: string, from: number, to: number, style: 'plain' | 'single' | 'double'): { chars: string[]; offsets: number[] } {
  const chars: string[] = [];
  const offsets: number[] = [];
  const push = (c: string, at: number): void => {
    chars.push(c);
    offsets.push(at);
  };
  let i = from;
  while (i < to) {
    const c = text[i]!;
    if (c === '\n' || c === '\r') {
      // Folding: trailing blanks of the line go, a single break becomes a space,
      // n+1 breaks become n newlines, leading blanks of the next line go.
      while (chars.length > 0 && (chars[chars.length - 1] === ' ' || chars[chars.length - 1] === '\t') && offsets[offsets.length - 1]! >= lineStart(text, i)) {
        chars.pop();
        offsets.pop();
      }
      const breakAt = i;
      let breaks = 0;
      while (i < to && (text[i] === '\n' || text[i] === '\r' || text[i] === ' ' || text[i] === '\t')) {
        if (text[i] === '\n') breaks++;
        i++;
      }
      if (breaks <= 1) push(' ', breakAt);
      else for (let k = 1; k < breaks; k++) push('\n', breakAt);
      continue;
    }
    if (style === 'single' && c === "'" && text[i + 1] === "'") {
      push("'", i);
      i += 2;
      continue;
    }
    if (style === 'double' && c === '\\') {
      const e = text[i + 1] ?? '';
      if (e === '\n' || e === '\r') {
        // Escaped line break: joins the lines with nothing in between.
        i += 2;
        while (i < to && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
        continue;
      }
      const hexLength = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
      if (hexLength > 0) {
        push(String.fromCodePoint(parseInt(text.slice(i + 2, i + 2 + hexLength), 16)), i);
        i += 2 + hexLength;
        continue;
      }
      push(SIMPLE_ESCAPES[e] ?? e, i);
      i += 2;
      continue;
    }
    push(c, i);
    i++;
  }
  return { chars, offsets };
}

function lineStart(text: string, at: number): number {
  return text.lastIndexOf('\n', at - 1) + 1;
}

/** Replays a block scalar (`|` or `>`): strips the content indentation, folds lines for `>`. */
function replayBlock(text: string, from: number, to: number, folded: boolean): { chars: string[]; offsets: number[] } {
  const chars: string[] = [];
  const offsets: number[] = [];
  const headerEnd = text.indexOf('\n', from);
  if (headerEnd < 0 || headerEnd >= to) return { chars, offsets };
  const header = text.slice(from, headerEnd).replace(/#.*$/, '');
  const explicit = /[1-9]/.exec(header);
  const lines: { start: number; end: number }[] = [];
  for (let s = headerEnd + 1; s < to; ) {
    const nl = text.indexOf('\n', s);
    const e = nl < 0 || nl > to ? to : nl;
    // A CRLF file: the '\r' belongs to the line break, not to the line's text.
    lines.push({ start: s, end: e > s && text[e - 1] === '\r' ? e - 1 : e });
    s = e + 1;
  }
  // The block's indentation: its parent's plus the explicit indicator, else the first non-empty line's.
  let indent: number;
  if (explicit) {
    indent = leadingSpaces(text.slice(lineStart(text, from), from)) + Number(explicit[0]);
  } else {
    const first = lines.find((l) => text.slice(l.start, l.end).trim() !== '');
    indent = first ? leadingSpaces(text.slice(first.start, first.end)) : 0;
  }
  let previous: 'none' | 'text' | 'more' | 'empty' = 'none';
  let pendingBreak = -1;
  let pendingEmpty: number[] = [];
  for (const l of lines) {
    const raw = text.slice(l.start, l.end);
    const isEmpty = raw.trim() === '';
    if (isEmpty) {
      pendingEmpty.push(l.start);
      continue;
    }
    const contentStart = l.start + Math.min(indent, leadingSpaces(raw));
    const moreIndented = leadingSpaces(raw) > indent || raw[indent] === '\t';
    if (previous !== 'none') {
      if (!folded) {
        chars.push('\n');
        offsets.push(pendingBreak);
        for (const at of pendingEmpty) {
          chars.push('\n');
          offsets.push(at);
        }
      } else if (pendingEmpty.length === 0 && previous === 'text' && !moreIndented) {
        chars.push(' ');
        offsets.push(pendingBreak);
      } else {
        const breaks = previous === 'text' && !moreIndented ? pendingEmpty.length : pendingEmpty.length + 1;
        for (let k = 0; k < breaks; k++) {
          chars.push('\n');
          offsets.push(pendingEmpty[k] ?? pendingBreak);
        }
      }
    }
    pendingEmpty = [];
    for (let i = contentStart; i < l.end; i++) {
      chars.push(text[i]!);
      offsets.push(i);
    }
    pendingBreak = l.end;
    previous = moreIndented ? 'more' : 'text';
  }
  if (previous !== 'none') {
    chars.push('\n');
    offsets.push(pendingBreak);
  }
  return { chars, offsets };
}

function leadingSpaces(s: string): number {
  let n = 0;
  while (s[n] === ' ') n++;
  return n;
}
