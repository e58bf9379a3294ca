import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadBundle } from '../../src/recipe/bundle';
import { checkBundle } from '../../src/recipe/compile';
import { tempDir } from '../helpers/corpus';
import { checkRecipeFile } from '../helpers/recipe-check';

const dir = tempDir('recipe-compile-');

/** Checks a recipe file made of `lines`; returns each error as `line:col [rule] message`, and the hints. */
function check(lines: string[]): { errors: string[]; hints: (string | undefined)[] } {
  const file = path.join(dir, `r${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return checkRecipeFile(file);
}

const head = ['recipe: t', 'rules:', '  - id: r', '    formats: [onnx]'];

/** The column of `token` in `line` (1-based), so expected positions are computed, not guessed. */
const col = (line: string, token: string): number => line.indexOf(token) + 1;

describe('errors inside patterns point at the character in the YAML file', () => {
  it('unknown op in a plain match, with a did-you-mean hint', () => {
    const line = '    match: Rleu($x)';
    const r = check([...head, line, '    replace: Relu($x)']);
    expect(r.errors).toEqual([`5:${col(line, 'Rleu')} [r] unknown op 'Rleu' for onnx`]);
    expect(r.hints).toEqual(["did you mean 'Relu'?"]);
  });

  it('unknown op in a replacement inside a literal block scalar', () => {
    const r = check([...head, '    match: Relu($x)', '    replace: |', '      Add(', '        Mull($x, $x),', '        $x)']);
    expect(r.errors).toEqual([`8:9 [r] unknown op 'Mull' for onnx`]);
  });

  it('unknown op of another format: TFLite names in an ONNX rule', () => {
    const line = '    match: CONV_2D($x, $w, $b)';
    expect(check([...head, line, '    replace: Relu($x)']).errors).toEqual([`5:${col(line, 'CONV_2D')} [r] unknown op 'CONV_2D' for onnx`]);
  });

  it('pattern syntax error inside a folded block scalar', () => {
    const r = check([...head, '    match: >-', '      Relu(', '        $x,, $y)', '    replace: Relu($x)']);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(/^7:12 \[r\] /);
  });

  it('unbound $name in a replacement inside a double-quoted string', () => {
    const line = '    replace: "Add($x, $y)"';
    const r = check([...head, '    match: Relu($x)', line]);
    expect(r.errors).toEqual([`6:${col(line, '$y')} [r] $y is not bound by the pattern`]);
  });

  it('a copy of an unknown node capture: $n(...) with no @n in the pattern', () => {
    const line = '    replace: Neg($relu($x))';
    const r = check([...head, '    match: Relu($x)@act', line]);
    expect(r.errors).toEqual([`6:${col(line, '$relu')} [r] $relu is not bound by the pattern`]);
    expect(r.hints).toEqual(['the pattern binds $x, $act']);
  });

  it('a copy of a capture that is not a node, inside a block scalar', () => {
    const r = check([...head, "    match: 'LeakyRelu($x){alpha: $a}'", '    replace: |', '      y = Neg($x)', '      $a(y)']);
    expect(r.errors).toEqual(['8:7 [r] $a is an attribute, not a node: only a node captured with Op(...)@a can be copied']);
  });

  it('a copy of a matched node passes the op check of its format', () => {
    const r = check([...head, '    match: Neg(Relu|LeakyRelu($x)@act)', '    replace: $act(Neg($x))']);
    expect(r.errors).toEqual([]);
  });

  it('unknown let name in a replacement inside a single-quoted string', () => {
    const line = "    replace: 'Mul($x, factor)'";
    const r = check([...head, '    match: Relu($x)', line]);
    expect(r.errors).toEqual([`6:${col(line, 'factor')} [r] unknown name 'factor'`]);
  });
});

describe('errors inside expressions point at the character in the YAML file', () => {
  it('unknown function in a let, with a hint', () => {
    const line = '      k: $s / sqr($s)';
    const r = check([...head, '    match: Mul($x, $s:const)', '    let:', line, '    replace: Mul($x, k)']);
    expect(r.errors).toEqual([`7:${col(line, 'sqr')} [r] unknown function 'sqr'`]);
    expect(r.hints[0]).toMatch(/sqrt/);
  });

  it('unbound capture in a where condition of a list', () => {
    const line = '      - rank($y) == 4';
    const r = check([...head, '    match: Relu($x)', '    where:', '      - rank($x) == 4', line, '    replace: Relu($x)']);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(new RegExp(`^8:${col(line, '$y')} \\[r\\] `));
  });

  it('type error in a condition', () => {
    const line = '      - rank($x) + "a" > 1';
    const r = check([...head, '    match: Relu($x)', '    where:', line, '    replace: Relu($x)']);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(/^7:\d+ \[r\] /);
    const at = Number(/^7:(\d+)/.exec(r.errors[0]!)![1]);
    expect(at).toBeGreaterThanOrEqual(col(line, 'rank'));
  });

  it('expression syntax error inside a replacement argument', () => {
    const line = '    replace: Mul($x, unsqueeze($s, [1, 2)))';
    const r = check([...head, '    match: Mul($x, $s:const)', line]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(/^6:\d+ \[r\] /);
  });
});

describe('actions', () => {
  it('unknown action and unknown parameter', () => {
    const r = check(['recipe: t', 'rules:', '  - id: a', '    action: claenup', '  - id: b', '    action: cleanup', '    params: { toposrt: false }']);
    expect(r.errors).toEqual(["4:13 [a] unknown action 'claenup'", "7:15 [b] action 'cleanup' has no parameter 'toposrt'"]);
    expect(r.hints).toEqual(["did you mean 'cleanup'?", "did you mean 'toposort'?"]);
  });

  it('a valid action rule checks clean', () => {
    expect(check(['recipe: t', 'rules:', '  - id: a', '    action: cleanup', '    params: { toposort: false }']).errors).toEqual([]);
  });
});

describe('the built-in pack', () => {
  it('checks clean', () => {
    const files = fs.readdirSync(path.resolve(__dirname, '../../recipes/core')).filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml'));
    expect(files.length).toBeGreaterThan(0);
    expect(checkBundle(loadBundle(['core']))).toEqual([]);
  });
});

describe('ONNX attributes are checked against the op schemas', () => {
  it('a misspelt attribute of a replacement node, with a did-you-mean hint', () => {
    const line = "    replace: 'LeakyRelu($x){alpah: 0.1}'";
    const r = check([...head, '    match: Relu($x)', line]);
    expect(r.errors).toEqual([`6:${col(line, 'alpah')} [r] unknown attribute 'alpah' for LeakyRelu`]);
    expect(r.hints).toEqual(["did you mean 'alpha'?"]);
  });

  it('a misspelt attribute in a match pattern, which would never match', () => {
    const line = "    match: 'Conv($x, $w){grop: 2}'";
    const r = check([...head, line, '    replace: Relu($x)']);
    expect(r.errors).toEqual([`5:${col(line, 'grop')} [r] unknown attribute 'grop' for Conv`]);
    expect(r.hints).toEqual(["did you mean 'group'?"]);
  });

  it('a literal of the wrong kind: a string for a float, a fraction for an int, a string list for ints', () => {
    const l1 = "    replace: 'HardSigmoid($x){alpha: \"0.2\"}'";
    expect(check([...head, '    match: Sigmoid($x)', l1]).errors).toEqual([`6:${col(l1, '"0.2"')} [r] attribute 'alpha' of HardSigmoid is a float, not the string "0.2"`]);
    const l2 = "    replace: 'Flatten($x){axis: 1.5}'";
    expect(check([...head, '    match: Relu($x)', l2]).errors).toEqual([`6:${col(l2, '1.5')} [r] attribute 'axis' of Flatten is an int, not the number 1.5`]);
    const l3 = "    replace: 'Transpose($x){perm: [\"a\", \"b\"]}'";
    expect(check([...head, '    match: Relu($x)', l3]).errors).toEqual([`6:${col(l3, '[')} [r] attribute 'perm' of Transpose is an ints, not a list`]);
  });

  it('accepts what a runtime accepts: an integer for a float, later opsets\' attributes, Cast to as an int, alternatives of ops that all know the name', () => {
    for (const [match, replace] of [
      ['Relu($x)', "'LeakyRelu($x){alpha: 1}'"],
      ['Relu($x)', "'Split($x){axis: 1, num_outputs: 1}'"],
      ['Relu($x)', "'Cast($x){to: 1, saturate: 1}'"],
      ["'MaxPool|AveragePool($x){kernel_shape: [2, 2], auto_pad: \"VALID\"}'", 'Relu($x)'],
    ]) {
      expect([replace, check([...head, `    match: ${match}`, `    replace: ${replace}`]).errors]).toEqual([replace, []]);
    }
  });

  it('leaves ops it has no schema for alone: custom domains, ops newer than its schemas, other formats', () => {
    expect(check([...head, '    match: Relu($x)', "    replace: 'com.example::Mystery($x){anything: 1}'"]).errors).toEqual([]);
    expect(check([...head, '    match: Relu($x)', "    replace: 'Gelu($x){approximate: \"tanh\"}'"]).errors).toEqual([]);
    expect(check(['recipe: t', 'rules:', '  - id: r', '    formats: [tflite]', '    match: RELU($x)', "    replace: 'LEAKY_RELU($x){alpha: 0.2}'"]).errors).toEqual([]);
    // a rule for every format may hold another format's attributes of an op of the same name
    expect(check(['recipe: t', 'rules:', '  - id: r', "    match: 'Add($a, $b){auto_broadcast: \"numpy\"}'", '    replace: Sub($a, $b)']).errors).toEqual([]);
  });
});
