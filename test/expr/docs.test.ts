import { readFileSync } from 'fs';
import { join } from 'path';
import { listFunctions, signatureOf } from '../../src/expr';

const DOC = readFileSync(join(__dirname, '../../docs/expressions.md'), 'utf8');

test('docs/expressions.md lists every function with its signature and description', () => {
  const missing = listFunctions()
    .filter((f) => !DOC.includes(`| \`${signatureOf(f)}\` |`) || !DOC.includes(f.doc.replace(/\|/g, '\\|')))
    .map((f) => signatureOf(f));
  expect(missing).toEqual([]);
});

test('docs/expressions.md lists no function the language does not have', () => {
  const functions = DOC.slice(DOC.indexOf('## Functions'));
  const documented = [...functions.matchAll(/^\| `([a-z_]+)\(/gm)].map((m) => m[1]);
  const known = new Set(listFunctions().map((f) => f.name));
  expect(documented.filter((name) => !known.has(name!))).toEqual([]);
  expect(documented.length).toBe(known.size);
});
