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

/** Parses an XML text; throws XmlSyntaxError on malformed input. */
export function parseXml(text: string): XmlDocument {
  // A DOCTYPE can define entities that expand without bound; IR files never have one.
  // (Found among the few '<!' of the text: a case-insensitive regex over a large IR takes a while.)
  for (let at = text.indexOf('<!'); at >= 0; at = text.indexOf('<!', at + 2)) {
    if (text.slice(at + 2, at + 9).toUpperCase() !== 'DOCTYPE') continue;
    const { line, col } = lineColAt(text, at);
    throw new XmlSyntaxError('a DOCTYPE is not allowed in an OpenVINO IR file', line, col);
  }
  const doc = buildDocument(text);
  if (!doc.root) throw new XmlSyntaxError('no root element', 1, 1);
  return doc as XmlDocument;
}

/**
 * Builds the tree of a text in one pass, checking that it is well-formed as
 * it goes: elements with their attributes (entities decoded), text (trimmed,
 * blank text dropped, entities decoded; CDATA as written), comments;
 * processing instructions other than the declaration are skipped. Each
 * element notes its place in the text as it is made. What is not XML (a
 * closing tag that does not match, an attribute without a quoted value or
 * given twice, an unknown entity, text or a second element outside the root,
 * a tag, comment or section left open) throws an XmlSyntaxError at its line
 * and column. (fast-xml-parser's validator did this in a pass of its own: a
 * sixth of the time a large IR took to read.)
 */
function buildDocument(text: string): Partial<XmlDocument> {
  const parsed: ParsedText = { text, lined: true };
  const doc: Partial<XmlDocument> = {};
  const before: string[] = [];
  const after: string[] = [];
  const stack: XmlElement[] = [];
  // An IR repeats a dozen element names hundreds of thousands of times: one string each.
  const names = new Map<string, string>();
  const fail = (message: string, at: number): never => {
    throw new XmlSyntaxError(message, ...lineColOf(text, at));
  };
  const addText = (raw: string, decode: boolean, at: number): void => {
    const top = stack[stack.length - 1];
    const t = decode ? raw.trim() : raw;
    if (t === '') return;
    if (!top) fail(doc.root ? 'text after the root element' : 'text before the root element', at + (raw.length - raw.trimStart().length));
    top!.children.push({ text: decode ? decodeEntitiesStrictly(t, text, at + raw.indexOf(t)) : t });
  };
  const closed = (marker: string, from: number, what: string, at: number): number => {
    const end = text.indexOf(marker, from);
    return end < 0 ? fail(`${what} is not closed`, at) : end;
  };
  let i = 0;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    addText(text.slice(i, lt < 0 ? text.length : lt), true, i);
    if (lt < 0) break;
    if (text.startsWith('<!--', lt)) {
      const close = closed('-->', lt + 4, 'a comment', lt);
      const comment = text.slice(lt + 4, close);
      const top = stack[stack.length - 1];
      if (top) top.children.push({ comment });
      else (doc.root ? after : before).push(comment);
      i = close + 3;
    } else if (text.startsWith('<![CDATA[', lt)) {
      const close = closed(']]>', lt + 9, 'a CDATA section', lt);
      if (stack.length === 0) fail('a CDATA section outside the root element', lt);
      addText(text.slice(lt + 9, close), false, lt + 9);
      i = close + 3;
    } else if (text.startsWith('<?', lt)) {
      const close = closed('?>', lt + 2, 'a processing instruction', lt);
      if (/^<\?xml\s/.test(text.slice(lt, lt + 6)) && !doc.root && stack.length === 0) doc.declaration = attributesIn(text, lt + 5, close);
      i = close + 2;
    } else if (text.startsWith('<!', lt)) {
      fail(`'<!' starts neither a comment nor a CDATA section`, lt);
    } else if (text.charCodeAt(lt + 1) === 0x2f /* / */) {
      const gt = closed('>', lt + 2, 'a closing tag', lt);
      const written = text.slice(lt + 2, gt).trimEnd();
      const el = stack.pop() as (XmlElement & WithSource) | undefined;
      if (!el) fail(`the closing tag </${written}> closes nothing`, lt);
      if (el!.name !== written) fail(`the closing tag </${written}> does not close <${el!.name}> (${lineColText(text, el![START]!)})`, lt);
      el![END] = gt + 1;
      // An array grown by push keeps room for 17 items; the tree is kept while the model is: exact sizes.
      if (el!.children.length > 0) el!.children = el!.children.slice();
      i = gt + 1;
    } else {
      let j = lt + 1;
      while (j < text.length && !isNameEnd(text.charCodeAt(j))) j++;
      const written = text.slice(lt + 1, j);
      if (!isName(written)) fail(written === '' ? `'<' starts no tag` : `<${written}: not a valid element name`, lt);
      let name = names.get(written);
      if (name === undefined) names.set(written, (name = written));
      const gt = tagEnd(text, j);
      if (gt >= text.length) fail(`the tag <${name}> is not closed`, lt);
      const selfClosing = text.charCodeAt(gt - 1) === 0x2f;
      const el: XmlElement & WithSource = {
        name,
        attrs: attributesStrictly(text, j, selfClosing ? gt - 1 : gt, name),
        children: [],
        [TEXT]: parsed,
        [START]: lt,
        [END]: selfClosing ? gt + 1 : -1,
      };
      const top = stack[stack.length - 1];
      if (top) top.children.push(el);
      else if (doc.root) throw new XmlSyntaxError(`a second root element <${name}>`, ...lineColOf(text, lt));
      else doc.root = el;
      if (!selfClosing) {
        stack.push(el);
        if (stack.length > MAX_DEPTH) throw new XmlSyntaxError(`elements are nested deeper than ${MAX_DEPTH} levels`, ...lineColOf(text, lt));
      }
      i = gt + 1;
    }
  }
  if (stack.length > 0) {
    const names = stack.map((el) => `<${el.name}>`);
    fail(`the file ends before ${names.join(' > ')} ${names.length === 1 ? 'is' : 'are'} closed (truncated?)`, text.length);
  }
  if (before.length > 0) doc.before = before;
  if (after.length > 0) doc.after = after;
  return doc;
}

/** `line L, column C` of an offset, for a message that points back. */
function lineColText(text: string, index: number): string {
  const { line, col } = lineColAt(text, index);
  return `line ${line}, column ${col}`;
}

/** An XML name: a letter, '_' or ':' (or any non-ASCII character), then those, digits, '-' and '.'. */
function isName(s: string): boolean {
  return /^[A-Za-z_:\u0080-\uffff][A-Za-z0-9_:.\-\u0080-\uffff]*$/.test(s);
}

/**
 * The attributes of a tag between `from` and `to`, checked: each a name, '=',
 * and a value in matching quotes without '<', whitespace between them, none
 * given twice; values with entities decoded.
 */
function attributesStrictly(text: string, from: number, to: number, tag: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  const fail = (message: string, at: number): never => {
    throw new XmlSyntaxError(`${message} in the tag <${tag}>`, ...lineColOf(text, at));
  };
  let k = from;
  for (;;) {
    const spaced = k;
    while (k < to && isSpace(text.charCodeAt(k))) k++;
    if (k >= to) return attrs;
    if (k === spaced && k !== from) fail('attributes must be separated by whitespace', k);
    const nameStart = k;
    while (k < to && !isSpace(text.charCodeAt(k)) && text.charCodeAt(k) !== 0x3d /* = */) k++;
    const name = text.slice(nameStart, k);
    if (!isName(name)) fail(`'${name}' is not an attribute name`, nameStart);
    while (k < to && isSpace(text.charCodeAt(k))) k++;
    if (text.charCodeAt(k) !== 0x3d || k >= to) fail(`the attribute '${name}' has no value`, nameStart);
    k++;
    while (k < to && isSpace(text.charCodeAt(k))) k++;
    const quote = text.charCodeAt(k);
    if ((quote !== 0x22 && quote !== 0x27) || k >= to) fail(`the value of the attribute '${name}' is not in quotes`, k);
    const end = text.indexOf(quote === 0x22 ? '"' : "'", k + 1);
    if (end < 0 || end >= to) fail(`the value of the attribute '${name}' is not closed`, k);
    const raw = text.slice(k + 1, end);
    const lt = raw.indexOf('<');
    if (lt >= 0) fail(`'<' in the value of the attribute '${name}'`, k + 1 + lt);
    if (Object.prototype.hasOwnProperty.call(attrs, name)) fail(`the attribute '${name}' is given twice`, nameStart);
    attrs[name] = decodeEntitiesStrictly(raw, text, k + 1);
    k = end + 1;
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** decodeEntities, refusing an '&' that starts no entity XML has (at `at` in `text`, for the message). */
function decodeEntitiesStrictly(s: string, text: string, at: number): string {
  if (!s.includes('&')) return s;
  const entity = /&(?:#x([0-9a-fA-F]+)|#([0-9]+)|([A-Za-z]+));/y;
  for (let amp = s.indexOf('&'); amp >= 0; amp = s.indexOf('&', amp + 1)) {
    entity.lastIndex = amp;
    const m = entity.exec(s);
    const code = m?.[1] !== undefined ? parseInt(m[1], 16) : m?.[2] !== undefined ? parseInt(m[2], 10) : undefined;
    const known = m !== null && (m[3] !== undefined ? NAMED[m[3]] !== undefined : code! <= 0x10ffff);
    if (!known) throw new XmlSyntaxError(`'${s.slice(amp, amp + 12).split(/[\s<]/)[0]}' is not an entity (write '&amp;' for '&')`, ...lineColOf(text, at + amp));
  }
  return decodeEntities(s);
}

function lineColOf(text: string, index: number): [number, number] {
  const { line, col } = lineColAt(text, index);
  return [line, col];
}

/** Whitespace, '/' or '>': where an element name ends. */
function isNameEnd(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x2f || c === 0x3e;
}

/** The '>' that ends the tag whose attributes start at `from` (a '>' inside a quoted value does not). */
function tagEnd(text: string, from: number): number {
  let quote = 0;
  for (let j = from; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (quote) {
      if (c === quote) quote = 0;
    } else if (c === 0x22 || c === 0x27) quote = c;
    else if (c === 0x3e) return j;
  }
  return text.length;
}

/** `name="value"` pairs of a tag between `from` and `to`, values with entities decoded, in order. */
function attributesIn(text: string, from: number, to: number): Record<string, string> {
  const attrs: Record<string, string> = {};
  const pair = /\s*([^\s=/>?]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/y;
  pair.lastIndex = from;
  for (let m = pair.exec(text); m && m.index < to; m = pair.exec(text)) {
    attrs[m[1]!] = decodeEntities(m[2] ?? m[3] ?? '');
  }
  return attrs;
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
 * The read text of an element that is still what was read (a parsed element,
 * or a copy of one that is still the same tree), with the indentation of its
 * line; else undefined. Parsed elements are never edited: the OpenVINO
 * writer copies what it changes (test/formats/openvino/changes.test.ts checks).
 */
function asRead(el: XmlElement): string | undefined {
  const placed = el as WithSource;
  const origin = (placed[ORIGIN] ?? (placed[TEXT] ? el : undefined)) as (XmlElement & WithSource) | undefined;
  const parsed = origin?.[TEXT];
  if (!origin || !parsed?.lined || (origin !== el && !sameTree(el, origin))) return undefined;
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

/**
 * A copy with attributes and a list of children of its own, the children
 * themselves shared: for a writer that replaces children rather than editing
 * them. It keeps its original's place in the text read.
 */
export function shallowCopy(el: XmlElement): XmlElement {
  const placed = el as WithSource;
  const origin = placed[ORIGIN] ?? (placed[TEXT] ? el : undefined);
  if (!origin) return { name: el.name, attrs: { ...el.attrs }, children: [...el.children] };
  const copy: XmlElement & WithSource = { name: el.name, attrs: { ...el.attrs }, children: [...el.children], [ORIGIN]: origin };
  return copy;
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
