/**
 * The XML layer under the OpenVINO codec writes an element the writer left
 * unchanged as the text it was read from. Property test: random documents in
 * random layouts (quotes, entities, comments, CDATA, processing instructions,
 * '>' and '/' inside attribute values, CRLF), a random part of each changed,
 * written and read back: the tree read back is the changed tree, and every
 * unchanged element's text is in the output as it was.
 */
import { cloneElement, detectStyle, isElement, parseXml, sameTree, serializeXml, sourceTextOf, type XmlElement, type XmlNode } from '../../../src/formats/openvino/xml';
import { seededRandom } from '../../../src/ir/random';

type Random = () => number;
const pick = <T>(r: Random, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;

const NAMES = ['layer', 'port', 'dim', 'data', 'rt_info', 'attribute', 'edge', 'input', 'output'];
const VALUES = ['1', 'a>b', 'x/y', "it's", 'say "hi"', 'a&b', '1,2,3', '', '-1', 'é'];

function attrValue(r: Random, value: string): string {
  // The same value in one of the spellings XML allows.
  const quote = value.includes('"') || (!value.includes("'") && r() < 0.3) ? "'" : '"';
  let text = value.replace(/&/g, pick(r, ['&amp;', '&#38;'])).replace(/</g, '&lt;');
  if (r() < 0.3) text = text.replace(/>/g, '&gt;');
  text = quote === '"' ? text.replace(/"/g, '&quot;') : text.replace(/'/g, '&apos;');
  return `${quote}${text}${quote}`;
}

/** A random element as text (the layout chosen at random) and its depth-first element count. */
function element(r: Random, depth: number, indent: string, nl: string): string {
  const name = pick(r, NAMES);
  const attrs = Array.from({ length: Math.floor(r() * 3) }, (_, i) => `${pick(r, [' ', '  ', nl + indent + '  '])}k${i}=${attrValue(r, pick(r, VALUES))}`).join('');
  const space = pick(r, ['', ' ']);
  const kids = depth < 4 ? Math.floor(r() * 4) : 0;
  if (kids === 0 && r() < 0.6) return `${indent}<${name}${attrs}${space}/>`;
  const inner: string[] = [];
  for (let i = 0; i < kids; i++) {
    const roll = r();
    if (roll < 0.1) inner.push(`${indent}  <!-- note <b>${i}</b> -->`);
    else if (roll < 0.15) inner.push(`${indent}  <?pi ${i}?>`);
    else inner.push(element(r, depth + 1, indent + pick(r, ['  ', '\t', '    ']), nl));
  }
  if (kids === 0) return `${indent}<${name}${attrs}>${pick(r, ['7', 'a &lt; b', '<![CDATA[x > y]]>'])}</${name}>`;
  return `${indent}<${name}${attrs}${space}>${nl}${inner.join(nl)}${nl}${indent}</${name}${space}>`;
}

function elementsOf(el: XmlElement, into: XmlElement[] = []): XmlElement[] {
  into.push(el);
  for (const c of el.children) if (isElement(c)) elementsOf(c, into);
  return into;
}

let keptInAll = 0;
// The seeds must exercise the kept-text path, not only the regenerated one.
afterAll(() => expect(keptInAll).toBeGreaterThan(100));

test.each(Array.from({ length: 60 }, (_, i) => i + 1))('seed %i: a document written after a change reads back as the changed tree, unchanged elements as they were', (seed) => {
  const r = seededRandom(seed);
  const nl = r() < 0.5 ? '\r\n' : '\n';
  const body = Array.from({ length: 1 + Math.floor(r() * 4) }, () => element(r, 1, '  ', nl)).join(nl);
  const text = `<?xml version="1.0"?>${nl}<net name="n" version="11">${nl}${body}${nl}</net>${r() < 0.5 ? nl : ''}`;
  const doc = parseXml(text);

  // The writer works on clones; change a random few of them.
  const root = cloneElement(doc.root);
  const all = elementsOf(root);
  const changed = new Set<XmlElement>();
  for (const el of all) {
    if (el === root || r() > 0.15) continue;
    if (r() < 0.5) el.attrs.changed = 'yes';
    else el.children.push({ name: 'added', attrs: {}, children: [] } as XmlNode);
    changed.add(el);
  }
  const written = serializeXml({ declaration: doc.declaration, root }, detectStyle(text));
  const back = parseXml(written);
  expect(sameTree(back.root, root)).toBe(true);

  // An element with no change inside it is written as its text was read.
  const originals = elementsOf(doc.root);
  const unchangedInside = (el: XmlElement): boolean => !changed.has(el) && el.children.every((c) => !isElement(c) || unchangedInside(c));
  let kept = 0;
  all.forEach((el, k) => {
    if (!unchangedInside(el)) return;
    const original = originals[k]!;
    expect(sameTree(el, original)).toBe(true);
    expect(sourceTextOf(el)).toBe(sourceTextOf(original));
    expect(written).toContain(sourceTextOf(original));
    kept++;
  });
  keptInAll += kept;
  // Nothing changed: the document comes back as it was, to the byte.
  if (changed.size === 0) expect(written).toBe(text);
  // Newly written lines end as the source's do.
  expect(written.replace(/\r\n/g, '')).not.toContain(nl === '\r\n' ? '\n' : '\r');
});

test('CDATA is text as written (no entities decoded in it); text outside it is trimmed and decoded', () => {
  const doc = parseXml('<net><a> x &lt; y <![CDATA[ p &amp; q ]]></a></net>');
  expect((doc.root.children[0] as XmlElement).children).toEqual([{ text: 'x < y' }, { text: ' p &amp; q ' }]);
});
