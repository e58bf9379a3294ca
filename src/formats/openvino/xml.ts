import { XMLParser, XMLValidator } from 'fast-xml-parser';

/**
 * A small ordered XML tree: what the OpenVINO codec reads, keeps and writes.
 * Attribute order and child order are kept as written, because an unchanged
 * model must be written back as the same tree.
 */
export interface XmlElement {
  readonly name: string;
  /** Attributes in document order, values with entities decoded. */
  attrs: Record<string, string>;
  children: XmlNode[];
}

/** Text between tags (kept only where not whitespace), or a comment. */
export type XmlNode = XmlElement | { readonly text: string } | { readonly comment: string };

/** A parsed document: the `<?xml ...?>` declaration's attributes (if any), the root, and the comments around it. */
export interface XmlDocument {
  declaration?: Record<string, string>;
  root: XmlElement;
  /** Comments before the root element (after the declaration), in order. */
  before?: string[];
  /** Comments after the root element. */
  after?: string[];
}

/** How a document was laid out, so a rewritten file looks like its source. */
export interface XmlStyle {
  /** One level of indentation (a tab or some spaces). */
  indent: string;
  /** `<a x="1" />` (OpenVINO's pugixml) or `<a x="1"/>` (Model Optimizer). */
  spaceBeforeSlash: boolean;
  /** `<?xml version="1.0" ?>` or `<?xml version="1.0"?>`. */
  spaceInDeclaration: boolean;
  /** Line ends: `\n`, or `\r\n` in a file written on Windows. Default `\n`. */
  newline?: '\n' | '\r\n';
  /** Whether the last line ends with a line end. Default true. */
  finalNewline?: boolean;
}

/**
 * Where a parsed element stands in the text it was read from, and which
 * parsed element a clone made for writing copies. The serializer writes an
 * element that is still the same tree as its original as the original's
 * text, so that what a rewrite leaves alone keeps its layout to the byte (odd
 * indentation, entities, comments inside). Symbol-keyed fields, set when the
 * element is made: no side table entry per element (an IR can have a million).
 */
const TEXT = Symbol('xml text');
const START = Symbol('xml start');
const END = Symbol('xml end');
const ORIGIN = Symbol('xml origin');

/** The text a document was parsed from; `lined` is false when its elements' offsets could not be trusted. */
interface ParsedText {
  readonly text: string;
  lined: boolean;
}

interface WithSource {
  [TEXT]?: ParsedText;
  [START]?: number;
  [END]?: number;
  [ORIGIN]?: XmlElement;
}

/** A parse failure with its 1-based line and column. */
export class XmlSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly col: number,
  ) {
    super(message);
  }
}

export function isElement(n: XmlNode): n is XmlElement {
  return (n as XmlElement).name !== undefined;
}

/** Child elements of `el` named `name`, in order. */
export function childElements(el: XmlElement, name?: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of el.children) if (isElement(c) && (name === undefined || c.name === name)) out.push(c);
  return out;
}

/** The first child element named `name`. */
export function childElement(el: XmlElement, name: string): XmlElement | undefined {
  for (const c of el.children) if (isElement(c) && c.name === name) return c;
  return undefined;
}

/** The text content of an element (its text children joined). */
export function textOf(el: XmlElement): string {
  let s = '';
  for (const c of el.children) if ('text' in c) s += c.text;
  return s;
}

/**
 * Elements may nest this deep. An IR nests a body three levels below the
 * `<layers>` around it (`<layer>`, `<body>`, `<layers>`), which leaves room
 * for 30 nested TensorIterator/Loop/If bodies; deeper input is refused rather
 * than exhausting the stack of the recursive walks over the tree.
 */
export const MAX_DEPTH = 100;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: true,
  // Entities are decoded by decodeEntities below: only the five XML ones and
  // character references, never DOCTYPE-defined ones.
  processEntities: false,
  commentPropName: '#comment',
  ignoreDeclaration: false,
  // Kept so the declaration comes through; other processing instructions are skipped in convert().
  ignorePiTags: false,
  maxNestedTags: MAX_DEPTH,
});

type FxpNode = Record<string, unknown>;

/** Parses an XML text; throws XmlSyntaxError on malformed input. */
export function parseXml(text: string): XmlDocument {
  // A DOCTYPE can define entities that expand without bound; IR files never have one.
  const doctype = /<!DOCTYPE/i.exec(text);
  if (doctype) {
    const { line, col } = lineColAt(text, doctype.index);
    throw new XmlSyntaxError('a DOCTYPE is not allowed in an OpenVINO IR file', line, col);
  }
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) {
    // The validator reports elements left open at the end as a JSON list of their names, at line 1.
    const open = /^Invalid '\[(.*)\]' found\.$/s.exec(valid.err.msg);
    if (open) {
      const names = [...open[1]!.matchAll(/"([^"]*)"/g)].map((m) => `<${m[1]}>`);
      const { line, col } = lineColAt(text, text.length);
      throw new XmlSyntaxError(`the file ends before ${names.join(' > ')} ${names.length === 1 ? 'is' : 'are'} closed (truncated?)`, line, col);
    }
    throw new XmlSyntaxError(valid.err.msg, valid.err.line, valid.err.col);
  }
  let raw: FxpNode[];
  try {
    raw = parser.parse(text) as FxpNode[];
  } catch (e) {
    // The validator accepted the text, so what the parser refuses is a limit (nesting depth).
    const { line, col } = lineColAt(text, deepestOpening(text));
    const message = /nested/i.test((e as Error).message) ? `elements are nested deeper than ${MAX_DEPTH} levels` : (e as Error).message;
    throw new XmlSyntaxError(message, line, col);
  }
  const ranges = elementRanges(text);
  const positions: Positions = { parsed: { text, lined: true }, starts: ranges.starts, ends: ranges.ends, next: 0 };
  let declaration: Record<string, string> | undefined;
  let root: XmlElement | undefined;
  const before: string[] = [];
  const after: string[] = [];
  for (const n of raw) {
    if ('?xml' in n) declaration = decodeAttrs(n[':@']);
    else if ('#comment' in n) (root ? after : before).push(commentText(n));
    else if (!('#text' in n) && !isPi(n)) {
      const el = convert(n, positions);
      if (root) throw new XmlSyntaxError(`a second root element <${el.name}>`, 1, 1);
      root = el;
    }
  }
  if (!root) throw new XmlSyntaxError('no root element', 1, 1);
  // Every element was given the next range in document order: the counts must agree too.
  if (positions.next !== positions.starts.length) positions.parsed.lined = false;
  const doc: XmlDocument = { declaration, root };
  if (before.length > 0) doc.before = before;
  if (after.length > 0) doc.after = after;
  return doc;
}

/**
 * Start and end offsets of every element of a well-formed text, in the order
 * their start tags come (the parsed tree's preorder).
 */
function elementRanges(text: string): { starts: number[]; ends: number[] } {
  const starts: number[] = [];
  const ends: number[] = [];
  const open: number[] = [];
  const skipPast = (from: number, marker: string): number => {
    const at = text.indexOf(marker, from);
    return at < 0 ? text.length : at + marker.length;
  };
  let i = 0;
  for (let lt = text.indexOf('<', i); lt >= 0; lt = text.indexOf('<', i)) {
    if (text.startsWith('<!--', lt)) i = skipPast(lt + 4, '-->');
    else if (text.startsWith('<![CDATA[', lt)) i = skipPast(lt + 9, ']]>');
    else if (text.startsWith('<?', lt)) i = skipPast(lt + 2, '?>');
    else if (text.startsWith('<!', lt)) i = skipPast(lt + 2, '>');
    else if (text.charCodeAt(lt + 1) === 0x2f /* / */) {
      i = skipPast(lt + 2, '>');
      const k = open.pop();
      if (k !== undefined) ends[k] = i;
    } else {
      // A start tag: a '>' inside a quoted attribute value does not end it.
      let j = lt + 1;
      let quote = 0;
      for (; j < text.length; j++) {
        const c = text.charCodeAt(j);
        if (quote) {
          if (c === quote) quote = 0;
        } else if (c === 0x22 || c === 0x27) quote = c;
        else if (c === 0x3e /* > */) break;
      }
      const selfClosing = text.charCodeAt(j - 1) === 0x2f;
      starts.push(lt);
      ends.push(selfClosing ? j + 1 : -1);
      if (!selfClosing) open.push(starts.length - 1);
      i = j + 1;
    }
  }
  return { starts, ends };
}

/** The element ranges of a text being parsed, handed out in document order as convert() makes elements. */
interface Positions {
  readonly parsed: ParsedText;
  readonly starts: number[];
  readonly ends: number[];
  next: number;
}

/** Where the element that first passes MAX_DEPTH opens (0 when none does): for the error's line and column. */
function deepestOpening(text: string): number {
  let depth = 0;
  const tags = /<(\/?)([A-Za-z_][^\s/>]*)[^>]*?(\/?)>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>/g;
  for (let m = tags.exec(text); m; m = tags.exec(text)) {
    if (m[2] === undefined) continue;
    if (m[1] === '/') depth--;
    else if (m[3] !== '/' && ++depth > MAX_DEPTH) return m.index;
  }
  return 0;
}

function commentText(n: FxpNode): string {
  const c = n['#comment'] as FxpNode[];
  return c.map((x) => String(x['#text'] ?? '')).join('');
}

function convert(n: FxpNode, positions: Positions): XmlElement {
  const name = Object.keys(n).find((k) => k !== ':@');
  if (name === undefined) throw new XmlSyntaxError('empty element', 1, 1);
  const kids = n[name] as FxpNode[];
  const at = positions.next++;
  const start = positions.starts[at] ?? -1;
  const end = positions.ends[at] ?? -1;
  // Each range must be the element it is given to; else the text is not what was parsed.
  if (end < 0 || !positions.parsed.text.startsWith(`<${name}`, start)) positions.parsed.lined = false;
  const children: XmlNode[] = [];
  for (const k of kids) {
    if ('#text' in k) {
      const t = String(k['#text']);
      if (t.trim() !== '') children.push({ text: decodeEntities(t) });
    } else if ('#comment' in k) {
      children.push({ comment: commentText(k) });
    } else if (!isPi(k)) {
      children.push(convert(k, positions));
    }
  }
  const el: XmlElement & WithSource = { name, attrs: decodeAttrs(n[':@']), children, [TEXT]: positions.parsed, [START]: start, [END]: end };
  return el;
}

function isPi(n: FxpNode): boolean {
  return Object.keys(n).some((k) => k.startsWith('?'));
}

function decodeAttrs(a: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (a && typeof a === 'object') {
    for (const [k, v] of Object.entries(a as Record<string, unknown>)) out[k] = decodeEntities(String(v));
  }
  return out;
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decodes the five predefined entities and numeric character references; leaves anything else as written. */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, body: string) => {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return Number.isFinite(code) && code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED[body] ?? whole;
  });
}

function escapeAttr(s: string): string {
  return s.replace(/[&<>"\u0000-\u001f]/g, (c) => {
    switch (c) {
      case '&': return '&amp;';
      case '<': return '&lt;';
      case '>': return '&gt;';
      case '"': return '&quot;';
      default: return `&#${c.charCodeAt(0)};`;
    }
  });
}

function escapeText(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

/** Guesses the layout of an XML text from its first lines. */
export function detectStyle(text: string): XmlStyle {
  const indentMatch = /\n([ \t]+)</.exec(text.slice(0, 4096));
  const indent = indentMatch?.[1] ?? '\t';
  const closings = text.slice(0, 65536).match(/\S?\/>/g) ?? [];
  const spaced = closings.filter((c) => c === '/>' || c.startsWith(' ')).length;
  const firstLineEnd = text.indexOf('\n');
  return {
    indent: indent.startsWith('\t') ? '\t' : indent.length > 8 ? '  ' : indent,
    spaceBeforeSlash: closings.length > 0 && spaced * 2 > closings.length,
    spaceInDeclaration: /^\ufeff?<\?xml[^?]*\s\?>/.test(text),
    newline: firstLineEnd > 0 && text.charCodeAt(firstLineEnd - 1) === 0x0d ? '\r\n' : '\n',
    finalNewline: text.length === 0 || text.endsWith('\n'),
  };
}

export const DEFAULT_STYLE: XmlStyle = { indent: '\t', spaceBeforeSlash: true, spaceInDeclaration: false, newline: '\n', finalNewline: true };

/**
 * Writes a document as indented text, one element per line, text-only
 * elements inline; an element that is still what was read is written as it
 * was read.
 */
export function serializeXml(doc: XmlDocument, style: XmlStyle = DEFAULT_STYLE): string {
  const nl = style.newline ?? '\n';
  const parts: string[] = [];
  if (doc.declaration) {
    parts.push(`<?xml${attrText(doc.declaration)}${style.spaceInDeclaration ? ' ' : ''}?>${nl}`);
  }
  for (const c of doc.before ?? []) parts.push(`<!--${c}-->${nl}`);
  writeElement(doc.root, 0, style, nl, parts);
  for (const c of doc.after ?? []) parts.push(`<!--${c}-->${nl}`);
  const text = parts.join('');
  return style.finalNewline === false && text.endsWith(nl) ? text.slice(0, -nl.length) : text;
}

/** The text a parsed element (or the element a clone was made from) was read from; undefined for an element made otherwise. */
export function sourceTextOf(el: XmlElement): string | undefined {
  const placed = el as WithSource;
  const origin = (placed[ORIGIN] ?? el) as XmlElement & WithSource;
  const parsed = origin[TEXT];
  return parsed?.lined ? parsed.text.slice(origin[START]!, origin[END]!) : undefined;
}

/**
 * The read text of a clone that is still the tree it was cloned from, with
 * the indentation of its line; else undefined. (A parsed element itself may
 * have been edited in place since, so only clones are trusted.)
 */
function asRead(el: XmlElement): string | undefined {
  const origin = (el as WithSource)[ORIGIN] as (XmlElement & WithSource) | undefined;
  const parsed = origin?.[TEXT];
  if (!origin || !parsed?.lined || !sameTree(el, origin)) return undefined;
  const { text } = parsed;
  const start = origin[START]!;
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  const lead = text.slice(lineStart, start);
  return (/^[ \t]*$/.test(lead) ? lead : '') + text.slice(start, origin[END]!);
}

function attrText(attrs: Record<string, string>): string {
  let s = '';
  for (const [k, v] of Object.entries(attrs)) s += ` ${k}="${escapeAttr(v)}"`;
  return s;
}

function writeElement(el: XmlElement, depth: number, style: XmlStyle, nl: string, parts: string[]): void {
  const read = asRead(el);
  if (read !== undefined) {
    parts.push(read, nl);
    return;
  }
  const pad = style.indent.repeat(depth);
  const open = `${pad}<${el.name}${attrText(el.attrs)}`;
  if (el.children.length === 0) {
    parts.push(`${open}${style.spaceBeforeSlash ? ' ' : ''}/>${nl}`);
    return;
  }
  if (el.children.every((c) => 'text' in c)) {
    parts.push(`${open}>${escapeText(textOf(el))}</${el.name}>${nl}`);
    return;
  }
  parts.push(`${open}>${nl}`);
  for (const c of el.children) {
    if (isElement(c)) writeElement(c, depth + 1, style, nl, parts);
    else if ('text' in c) parts.push(`${pad}${style.indent}${escapeText(c.text)}${nl}`);
    else parts.push(`${pad}${style.indent}<!--${c.comment}-->${nl}`);
  }
  parts.push(`${pad}</${el.name}>${nl}`);
}

/** True when two trees have the same names, attributes (in order), text and comments. */
export function sameTree(a: XmlNode, b: XmlNode): boolean {
  if (isElement(a) || isElement(b)) {
    if (!isElement(a) || !isElement(b) || a.name !== b.name) return false;
    const ka = Object.keys(a.attrs);
    const kb = Object.keys(b.attrs);
    if (ka.length !== kb.length) return false;
    for (let i = 0; i < ka.length; i++) {
      const k = ka[i]!;
      if (k !== kb[i] || a.attrs[k] !== b.attrs[k]) return false;
    }
    if (a.children.length !== b.children.length) return false;
    for (let i = 0; i < a.children.length; i++) if (!sameTree(a.children[i]!, b.children[i]!)) return false;
    return true;
  }
  if ('text' in a) return 'text' in b && a.text === b.text;
  return 'comment' in b && a.comment === b.comment;
}

/** A deep copy, so a written tree never aliases the tree kept from reading; it keeps its original's place in the text read. */
export function cloneElement(el: XmlElement): XmlElement {
  const children = el.children.map((c) => (isElement(c) ? cloneElement(c) : c));
  const placed = el as WithSource;
  const origin = placed[ORIGIN] ?? (placed[TEXT] ? el : undefined);
  if (!origin) return { name: el.name, attrs: { ...el.attrs }, children };
  const copy: XmlElement & WithSource = { name: el.name, attrs: { ...el.attrs }, children, [ORIGIN]: origin };
  return copy;
}

/** 1-based line and column of a character offset. */
export function lineColAt(text: string, index: number): { line: number; col: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < index && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  }
  return { line, col: index - last };
}
