import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadRecipeFile } from '../../src/recipe/load';
import { tempDir } from '../helpers/corpus';
import { checkRecipeFile } from '../helpers/recipe-check';

const dir = tempDir('recipe-yaml-edge-');

/** Checks a recipe file of `text`; each error as `line:col [rule] message`. */
function check(text: string): { errors: string[]; hints: (string | undefined)[] } {
  const file = path.join(dir, `r${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, text);
  return checkRecipeFile(file);
}

const rule = ['  - id: r', '    formats: [onnx]', '    match: Abs($x)', '    replace: Sqrt(Mul($x, $x))'];

describe('YAML aliases are recipe errors at the alias, never internal errors', () => {
  it('an alias bomb ("billion laughs") stops at the alias that expands most', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    lines.push('recipe: t', 'rules:', ...rule, '    description: *a9');
    const r = check(lines.join('\n') + '\n');
    expect(r.errors).toEqual([`17:18 YAML: aliases expand to too much data (more than 100 uses of an anchor, counting nested aliases)`]);
    expect(r.hints).toEqual(['write the repeated part out, or use fewer aliases of aliases']);
  });

  it("an unquoted pattern that starts with '*' is an alias of no anchor", () => {
    const r = check(['recipe: t', 'rules:', '  - id: r', '    formats: [onnx]', '    match: *($x)', '    replace: Relu($x)', ''].join('\n'));
    expect(r.errors).toEqual(["5:12 YAML: alias '*($x)' names no anchor defined before it"]);
    expect(r.hints[0]).toMatch(/must be quoted/);
  });

  it('an alias defined after its use', () => {
    const r = check(['recipe: t', 'description: *later', 'rules:', ...rule, 'x: &later hi', ''].join('\n'));
    expect(r.errors).toEqual(["2:14 YAML: alias '*later' names no anchor defined before it"]);
  });
});

describe('merge keys share fields between rules', () => {
  it('a rule merged from another loads, and errors in merged fields point at the field where it is written', () => {
    const text = [
      'recipe: t',
      'rules:',
      '  - &base',
      '    id: r',
      '    formats: [onnx]',
      '    match: Abs($x)',
      '    replace: Sqrt(Mul($x, $x))',
      '  - <<: *base',
      '    id: r2',
      '    match: Asb($x)',
      '  - <<: *base',
      '    id: r3',
      '    replace: Sqrt(Mull($x, $x))',
      '',
    ].join('\n');
    expect(check(text).errors).toEqual(["10:12 [r2] unknown op 'Asb' for onnx", "13:19 [r3] unknown op 'Mull' for onnx"]);
  });

  it('an error inside a field that comes from the merged map points into the anchor', () => {
    const text = ['recipe: t', 'rules:', '  - &base', '    id: r', '    formats: [onnx]', '    match: Abs($x)', '    replace: Sqrt($y)', '  - <<: *base', '    id: r2', ''].join('\n');
    expect(check(text).errors).toEqual(['7:19 [r] $y is not bound by the pattern', '7:19 [r2] $y is not bound by the pattern']);
  });

  it('a merged rule without its own id is a duplicate id', () => {
    const text = ['recipe: t', 'rules:', '  - &base', ...rule.map((l) => l.replace('  - id', '    id')), '  - <<: *base', ''].join('\n');
    expect(check(text).errors).toEqual(["8:5 [r] duplicate rule id 'r'"]);
  });

  it.each([
    ['a scalar', ['recipe: t', 'rules:', '  - <<: range', '    id: r', '']],
    ['an alias of a list', ['recipe: t', 'x: &x [1]', 'rules:', '  - <<: *x', '    id: r', '']],
    ['a list holding a number', ['recipe: t', 'x: &x {id: r}', 'rules:', '  - <<: [*x, 3]', '    id: r', '']],
  ])('a merge key with %s is a recipe error at its value (was exit 70)', (_, lines) => {
    const text = lines.join('\n');
    const line = lines.findIndex((l) => l.includes('<<')) + 1;
    expect(check(text).errors).toEqual([`${line}:9 YAML: a merge key (<<) takes a map, an alias of a map (*name), or a list of those`]);
  });
});

describe("yaml's messages are about the file, not about yaml's API or JavaScript", () => {
  it('a second document', () => {
    const r = check(['recipe: t', 'rules: []', '---', 'recipe: u', ''].join('\n'));
    expect(r.errors).toEqual(["3:1 YAML: a recipe file holds one YAML document; this '---' starts a second"]);
    expect(r.hints).toEqual(['split it into two files, or drop the ---']);
  });

  it('flow collections nested thousands deep', () => {
    const r = check(`recipe: t\nrules: ${'['.repeat(5000)}${']'.repeat(5000)}\n`);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(/^2:\d+ YAML: collections are nested too deeply$/);
  });
});

describe('schema errors name what is wrong with the value written, once', () => {
  const head = ['recipe: t', 'rules:', '  - id: r', '    formats: [onnx]'];

  it("an empty replacement is empty, not 'must be a map'", () => {
    expect(check([...head, '    match: Abs($x)', "    replace: ''", ''].join('\n')).errors).toEqual(["6:14 [r] 'rules[0].replace' must not be empty"]);
  });

  it('an empty pattern', () => {
    expect(check([...head, "    match: ''", '    replace: Abs($x)', ''].join('\n')).errors).toEqual(["5:12 [r] 'rules[0].match' must not be empty"]);
  });

  it("a bad let name is reported once, not also as '[object Object]'", () => {
    const r = check([...head, '    match: Abs($x)', '    replace: Abs($x)', '    let: {"$a": "1"}', ''].join('\n'));
    expect(r.errors).toEqual(["7:11 [r] '$a' is not a valid name in 'rules[0].let'"]);
  });

  it("a bad item of a where list is reported at the item, not as 'where must be a string'", () => {
    const r = check([...head, '    match: Abs($x)', '    replace: Abs($x)', '    where: [null]', ''].join('\n'));
    expect(r.errors).toEqual(["7:13 [r] 'rules[0].where[0]' must be a string or a number or true or false"]);
  });

  it('a key that is a list is a YAML error (yaml would stringify it with a process warning)', () => {
    const r = check([...head, '    match: Abs($x)', '    replace: Abs($x)', '    let: {? [a]: b}', ''].join('\n'));
    expect(r.errors).toEqual(['7:13 YAML: a key must be text, not a list or a map']);
  });
});


describe('patterns and replacements nested beyond the limit are recipe errors (were a stack overflow, exit 70)', () => {
  const head = ['recipe: t', 'rules:', '  - id: r', '    formats: [onnx]'];
  const deep = (n: number, open: string, inner: string, close: string): string => open.repeat(n) + inner + close.repeat(n);

  it('a pattern 20000 calls deep: the error is at the 257th bracket', () => {
    const match = deep(20000, 'Relu(', '$x', ')');
    const line = `    match: "${match}"`;
    const r = check([...head, line, '    replace: $x', ''].join('\n'));
    expect(r.errors).toEqual([`5:${line.indexOf('"') + 2 + 'Relu('.length * 257 - 1} [r] nested too deeply (more than 256 levels of brackets)`]);
  });

  it('a replacement 20000 calls deep', () => {
    const line = `    replace: "${deep(20000, 'Abs(', '$x', ')')}"`;
    const r = check([...head, '    match: Relu($x)', line, ''].join('\n'));
    expect(r.errors).toEqual([`6:${line.indexOf('"') + 2 + 'Abs('.length * 257 - 1} [r] nested too deeply (more than 256 levels of brackets)`]);
  });

  it('an attribute list 20000 deep', () => {
    const line = `    match: "Relu($x){a: ${deep(20000, '[', '', ']')}}"`;
    const r = check([...head, line, '    replace: $x', ''].join('\n'));
    expect(r.errors).toEqual([`5:${line.indexOf('[') + 256} [r] nested too deeply (more than 256 levels of brackets)`]);
  });

  it('20000 nested loops', () => {
    const line = `    replace: "Concat(${'for i in range(2): '.repeat(20000)}$x){axis: 0}"`;
    const r = check([...head, '    match: Relu($x)', line, ''].join('\n'));
    expect(r.errors).toEqual([`6:${line.indexOf('Concat(') + 8 + 'for i in range(2): '.length * 256} [r] too many for/fold loops (more than 256)`]);
  });

  it('100 levels are fine', () => {
    expect(check([...head, `    match: "${deep(100, 'Relu(', '$x', ')')}"`, `    replace: "${deep(100, 'Abs(', '$x', ')')}"`, ''].join('\n')).errors).toEqual([]);
  });
});

describe('a file that is not UTF-8', () => {
  it('is an error at the first bad byte, with its offset (was "unexpected character \'\uFFFD\'" inside the pattern)', () => {
    const file = path.join(dir, 'latin1.yaml');
    const head = Buffer.from('recipe: t\nrules:\n  - id: r\n    formats: [onnx]\n    match: Ab');
    fs.writeFileSync(file, Buffer.concat([head, Buffer.from([0xe9]), Buffer.from('s($x)\n    replace: $x\n')]));
    const { errors } = loadRecipeFile(file);
    expect(errors.map((e) => `${e.location.line}:${e.location.col} ${e.reason}`)).toEqual([`5:14 the file is not UTF-8: byte 0xe9 at offset ${head.length} starts no valid character`]);
  });

  it('agrees with a strict UTF-8 decoder on random bytes', () => {
    let seed = 7;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const file = path.join(dir, 'random.yaml');
    const strict = new TextDecoder('utf-8', { fatal: true });
    for (let k = 0; k < 2000; k++) {
      const bytes = Buffer.from(Array.from({ length: 1 + rnd(6) }, () => (rnd(3) === 0 ? rnd(128) : 0x80 + rnd(128))));
      fs.writeFileSync(file, Buffer.concat([Buffer.from('recipe: "'), bytes, Buffer.from('"\nrules: []\n')]));
      let valid = true;
      try {
        strict.decode(bytes);
      } catch {
        valid = false;
      }
      const notUtf8 = loadRecipeFile(file).errors.some((e) => e.reason.startsWith('the file is not UTF-8'));
      expect([bytes.toString('hex'), notUtf8]).toEqual([bytes.toString('hex'), !valid]);
    }
  });
});

describe('files that are not recipes are refused before they are read', () => {
  it('extends: [/dev/zero] is an error, not a read that never ends', () => {
    const r = check(['recipe: t', 'extends: [/dev/zero]', 'rules: []', ''].join('\n'));
    expect(r.errors).toEqual(['1:1 cannot read recipe: it is not a regular file']);
  });

  it('a file over 16 MB', () => {
    const file = path.join(dir, 'huge.yaml');
    fs.writeFileSync(file, '');
    fs.truncateSync(file, 16 * 1024 * 1024 + 1);
    expect(loadRecipeFile(file).errors.map((e) => e.reason)).toEqual(['cannot read recipe: the file has 16777217 bytes (limit 16777216); is it a recipe?']);
  });

  it('a folder and a missing file keep their messages', () => {
    expect(loadRecipeFile(dir).errors.map((e) => e.reason)).toEqual(['cannot read recipe: it is a folder, not a recipe file']);
    expect(loadRecipeFile(path.join(dir, 'missing.yaml')).errors.map((e) => e.reason)).toEqual(['cannot read recipe: no such file']);
  });
});

describe('CRLF line ends', () => {
  it('give the same positions as LF inside block, folded, quoted and plain scalars (block scalars fell back to their first line)', () => {
    const lines = [
      'recipe: t', 'rules:', '  - id: r', '    formats: [onnx]',
      '    match: >-', '      Relu(', '        Mull($x))',
      '    replace: |', '      Abs(', '        Neg($y))',
      '    where:', '      - "rank($x) ==', '        foo(1)"', '      - rank($x) ==', '        bar(1)', '',
    ];
    const lf = check(lines.join('\n')).errors;
    expect(lf).toEqual([
      "7:9 [r] unknown op 'Mull' for onnx",
      "13:9 [r] unknown function 'foo'",
      "15:9 [r] unknown function 'bar'",
      '10:13 [r] $y is not bound by the pattern',
    ]);
    expect(check(lines.join('\r\n')).errors).toEqual(lf);
  });
});

describe('a byte-order mark', () => {
  it('does not count as a column of line 1 (editors do not show it)', () => {
    const r = check("\uFEFFrecipee: t\nrules: [{id: r, formats: [onnx], match: 'Mull($x)', replace: $x}]\n");
    expect(r.errors).toEqual(["1:1 missing field 'recipe'", "1:1 unknown field 'recipee'"]);
    const ok = check("\uFEFFrecipe: t\nrules: [{id: r, formats: [onnx], match: 'Mull($x)', replace: $x}]\n");
    expect(ok.errors).toEqual(["2:42 [r] unknown op 'Mull' for onnx"]);
  });
});
