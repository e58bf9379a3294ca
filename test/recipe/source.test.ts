import { isScalar } from 'yaml';
import { locationInScalar, nodeAt, parseRecipeSource, scalarOffsets } from '../../src/recipe/source';

const text = [
  'a: |', //                      1
  '  Foo(', //                    2
  '    $x)', //                   3
  '', //                          4
  '  bar $y', //                  5
  'b: "x\\ty', //                 6
  '  z \\u0041 $w it\'\'s"', //   7
  'c: >-', //                     8
  '  one', //                     9
  '  two', //                     10
  '', //                          11
  '  three $t', //                12
  '    more', //                  13
  '  four', //                    14
  'd: plain', //                  15
  '  two', //                     16
  '', //                          17
  '  three $p', //                18
  "e: 'it''s", //                 19
  "  fine $q'", //                20
  'f: |2', //                     21
  '     indented $i', //          22
  '',
].join('\n');

const { source, errors } = parseRecipeSource('t.yaml', text);

/** The character in the file at a 1-based line:col. */
function charAt(line: number, col: number): string {
  return text.split('\n')[line - 1]![col - 1] ?? '';
}

describe('scalar offset replay', () => {
  it('parses the fixture without YAML errors', () => {
    expect(errors).toEqual([]);
  });

  it.each(['a', 'b', 'c', 'd', 'e', 'f'])('maps every non-blank character of %s back to the same character', (key) => {
    const node = nodeAt(source, [key]);
    if (!isScalar(node)) throw new Error('not a scalar');
    const offsets = scalarOffsets(text, node);
    expect(offsets).not.toBeNull();
    const value = String(node.value);
    const mismatches = [...value].filter((ch, i) => !/\s/.test(ch) && !"'A".includes(ch) && text[offsets![i]!] !== ch);
    expect(mismatches).toEqual([]);
  });

  it.each([
    ['a', '$x', 3, 5],
    ['a', '$y', 5, 7],
    ['b', '$w', 7, 12],
    ['c', '$t', 12, 9],
    ['d', '$p', 18, 9],
    ['e', '$q', 20, 8],
    ['f', '$i', 22, 15],
  ])('finds %s token %s at line %i col %i', (key, token, line, col) => {
    const node = nodeAt(source, [key]);
    const value = isScalar(node) ? String(node.value) : '';
    const loc = locationInScalar(source, [key], value.indexOf(token));
    expect(loc).toEqual({ file: 't.yaml', line, col });
    expect(charAt(line, col)).toBe('$');
  });

  it('maps an escaped character to its backslash', () => {
    const node = nodeAt(source, ['b']);
    const value = isScalar(node) ? String(node.value) : '';
    expect(value.startsWith('x\ty z A')).toBe(true);
    expect(locationInScalar(source, ['b'], value.indexOf('A'))).toEqual({ file: 't.yaml', line: 7, col: 5 });
  });

  it('reports YAML syntax errors with their position', () => {
    const bad = parseRecipeSource('bad.yaml', 'rules:\n  - id: a\n    match: [unclosed\n');
    expect(bad.errors.length).toBeGreaterThan(0);
    expect(bad.errors[0]!.message).toMatch(/^bad\.yaml:\d+:\d+ error YAML: /);
  });
});
