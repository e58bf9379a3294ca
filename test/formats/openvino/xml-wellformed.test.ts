/**
 * The XML reader under the OpenVINO codec checks well-formedness itself, in
 * the pass that builds the tree. fast-xml-parser's validator, which it used
 * to run first, is the oracle here: over seeded damage to IR files (the
 * corpus's, and one written here) (a character deleted, one of `< > & " ' / =` put in, a closing tag
 * renamed, an attribute doubled, a cut), what the validator refuses must be
 * refused, at a line and column inside the text. The reader is stricter in
 * one way the validator is not: an entity XML does not have (`&nbsp;`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { writeModel } from '../../../src/formats';
import { parseXml, XmlSyntaxError } from '../../../src/formats/openvino/xml';
import { seededRandom } from '../../../src/ir/random';
import { openvinoComputedTargets } from '../../helpers/computed-targets';
import { corpusOpenvinoModels, tempDir } from '../../helpers/corpus';

type Damage = (text: string, r: () => number) => string;

const at = (text: string, r: () => number): number => Math.floor(r() * text.length);

const DAMAGES: readonly [string, Damage][] = [
  ['delete a character', (t, r) => {
    const i = at(t, r);
    return t.slice(0, i) + t.slice(i + 1);
  }],
  ['put in a markup character', (t, r) => {
    const i = at(t, r);
    return t.slice(0, i) + '<>&"\'/='[Math.floor(r() * 7)] + t.slice(i);
  }],
  ['rename a closing tag', (t, r) => {
    const closes = [...t.matchAll(/<\/([a-z_]+)>/g)];
    const m = closes[Math.floor(r() * closes.length)];
    return m ? t.slice(0, m.index) + `</${m[1]}x>` + t.slice(m.index + m[0].length) : t;
  }],
  ['double an attribute', (t, r) => {
    const attrs = [...t.matchAll(/ ([a-z_]+)="[^"]*"/g)];
    const m = attrs[Math.floor(r() * attrs.length)];
    return m ? t.slice(0, m.index + m[0].length) + m[0] + t.slice(m.index + m[0].length) : t;
  }],
  ['cut the text', (t, r) => t.slice(0, at(t, r))],
  ['drop a quote', (t, r) => {
    const quotes = [...t.matchAll(/"/g)];
    const m = quotes[Math.floor(r() * quotes.length)];
    return m ? t.slice(0, m.index) + t.slice(m.index! + 1) : t;
  }],
];

function ours(text: string): 'ok' | XmlSyntaxError {
  try {
    parseXml(text);
    return 'ok';
  } catch (e) {
    if (e instanceof XmlSyntaxError) return e;
    throw e;
  }
}

/** The corpus's IR files where ../shared is there, and an IR this project writes (test/helpers/computed-targets.ts). */
function irTexts(): [string, string][] {
  const dir = tempDir('xml-wellformed-');
  try {
    const written = path.join(dir, 'targets.xml');
    writeModel(openvinoComputedTargets(), written);
    return [written, ...corpusOpenvinoModels().slice(0, 12)].map((f) => [f, fs.readFileSync(f, 'utf8')]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('what the validator refuses, the reader refuses, at a place in the text; the files themselves are read', () => {
  const r = seededRandom(7);
  const missed: string[] = [];
  let refused = 0;
  for (const [file, whole] of irTexts()) {
    // The first 64 KB of each file: damage near the end of a large one is as likely as near its start.
    expect(ours(whole)).toBe('ok');
    const text = whole.length > 1 << 16 ? whole.slice(0, whole.lastIndexOf('\n', 1 << 16)) : whole;
    for (let k = 0; k < 60; k++) {
      const [what, damage] = DAMAGES[k % DAMAGES.length]!;
      const damaged = damage(text, r);
      const verdict = ours(damaged);
      if (verdict !== 'ok') {
        refused++;
        const lines = damaged.split('\n');
        expect(verdict.line).toBeGreaterThanOrEqual(1);
        expect(verdict.line).toBeLessThanOrEqual(lines.length);
        expect(verdict.col).toBeLessThanOrEqual((lines[verdict.line - 1]?.length ?? 0) + 1);
      }
      if (verdict === 'ok' && XMLValidator.validate(damaged, { allowBooleanAttributes: false }) !== true) missed.push(`${file}: ${what}`);
    }
  }
  expect(missed).toEqual([]);
  expect(refused).toBeGreaterThan(40);
});

test.each([
  ['<net><layers></layer></net>', 'the closing tag </layer> does not close <layers> (line 1, column 6)', 1, 14],
  ['<net a="1" a="2"/>', "the attribute 'a' is given twice in the tag <net>", 1, 12],
  ['<net a="1"b="2"/>', 'attributes must be separated by whitespace in the tag <net>', 1, 11],
  ['<net a=1/>', "the value of the attribute 'a' is not in quotes in the tag <net>", 1, 8],
  ['<net a/>', "the attribute 'a' has no value in the tag <net>", 1, 6],
  ['<net a="x<y"/>', "'<' in the value of the attribute 'a' in the tag <net>", 1, 10],
  ['<net>&nbsp;</net>', "'&nbsp;' is not an entity (write '&amp;' for '&')", 1, 6],
  ['<net>a & b</net>', "'&' is not an entity (write '&amp;' for '&')", 1, 8],
  ['<net/><net/>', 'a second root element <net>', 1, 7],
  ['<net/>tail', 'text after the root element', 1, 7],
  ['<net><!-- open', 'a comment is not closed', 1, 6],
  ['<net></net></net>', 'the closing tag </net> closes nothing', 1, 12],
  ['<net><1a/></net>', '<1a: not a valid element name', 1, 6],
  ['<net><layers>', 'the file ends before <net> > <layers> are closed (truncated?)', 1, 14],
  ['<net><!ENTITY x "y"></net>', "'<!' starts neither a comment nor a CDATA section", 1, 6],
])('%j is refused: %s', (text, message, line, col) => {
  const e = ours(text);
  expect(e).toBeInstanceOf(XmlSyntaxError);
  expect([(e as XmlSyntaxError).message, (e as XmlSyntaxError).line, (e as XmlSyntaxError).col]).toEqual([message, line, col]);
});

test('what XML allows is read: entities and character references, CDATA, comments, a BOM, attributes in single quotes and on several lines', () => {
  const doc = parseXml('\ufeff<?xml version="1.0"?>\n<!-- before -->\n<net a=\'1\'\n  b = "&lt;&#65;&#x42;&quot;"><t><![CDATA[<raw & text>]]></t><u>x &amp; y</u></net>\n<!-- after -->\n');
  expect(doc.root.attrs).toEqual({ a: '1', b: '<AB"' });
  expect(doc.root.children).toEqual([
    { name: 't', attrs: {}, children: [{ text: '<raw & text>' }] },
    { name: 'u', attrs: {}, children: [{ text: 'x & y' }] },
  ].map((el) => expect.objectContaining(el)));
  expect([doc.before, doc.after]).toEqual([[' before '], [' after ']]);
});
