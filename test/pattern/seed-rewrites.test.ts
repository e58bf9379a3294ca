import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { evaluate, evaluateCondition, parseExpr } from '../../src/expr';
import type { ExprValue } from '../../src/expr';
import { writeModel } from '../../src/formats';
import { cleanup, parseModel, printGraph, toposort, validate } from '../../src/ir';
import type { Model } from '../../src/ir';
import { compilePattern, expressionEnv, instantiate, makeEvaluator, parsePattern, parseReplacement } from '../../src/pattern';
import { ROOT, tempDir } from '../helpers/corpus';
import { newOvModel, ovConst, ovOp, ovParam, pseudoRandomFloats } from '../helpers/openvino-build';
import { evaluateOv } from '../helpers/openvino-eval';
import { runLiteRt } from '../../src/verify/litert';

/**
 * Rewrites of the seed deck written in the pattern language, applied to ONNX
 * graphs written as text, and checked in onnxruntime against the original.
 * The tiny driver here stands in for src/rewrite: match each candidate once,
 * check `where`, build, drop the root, clean up.
 */
interface Rule {
  match: string;
  where?: string[];
  let?: Record<string, string>;
  replace: string;
}

function apply(model: Model, rule: Rule): number {
  const pattern = compilePattern(parsePattern(rule.match), { format: model.format });
  const replacement = parseReplacement(rule.replace);
  const g = model.graph;
  let applied = 0;
  for (const node of [...g.nodes]) {
    if (node.removed || (pattern.rootOps !== '*' && !pattern.rootOps.includes(node.op))) continue;
    const m = pattern.match(node);
    if (!m.ok) continue;
    const captures = expressionEnv(m.bindings);
    const lets = new Map<string, ExprValue>();
    for (const [name, text] of Object.entries(rule.let ?? {})) lets.set(name, evaluate(parseExpr(text), { captures, lets }));
    if (!(rule.where ?? []).every((w) => evaluateCondition(parseExpr(w), { captures, lets }))) continue;
    const reuse = [...node.outputs];
    node.setOutputs([]);
    const built = instantiate(replacement, {
      graph: g, bindings: m.bindings, lets, evaluate: makeEvaluator(m.bindings, lets), reuseOutputs: reuse, declareTypes: model.format === 'tflite',
    });
    if (built.outputs[0] !== reuse[0]) reuse[0]!.replaceAllUsesWith(built.outputs[0]!);
    g.removeNode(node);
    applied++;
  }
  cleanup(g);
  toposort(g);
  expect(validate(g, { uniqueNames: true, ordered: true })).toEqual([]);
  return applied;
}

const dir = tempDir('pattern-seed-');

interface OutputDiff {
  name: string;
  maxAbsDiff: number;
  maxAbsRef: number;
  mismatchedShape?: boolean;
  missing?: boolean;
}

/**
 * Runs both models on the same seeded inputs in onnxruntime (in a child
 * process: under jest onnxruntime's typed-array checks fail across realms) and
 * returns the largest difference relative to the largest reference magnitude.
 */
function compareInOrt(before: Model, after: Model, name: string, inputs: Record<string, number[]>): number {
  const a = path.join(dir, `${name}-before.onnx`);
  const b = path.join(dir, `${name}-after.onnx`);
  writeModel(before, a);
  writeModel(after, b);
  fs.writeFileSync(a, withIrVersion(a));
  fs.writeFileSync(b, withIrVersion(b));
  const feeds = Object.fromEntries(Object.entries(inputs).map(([n, shape], i) => [n, { shape, seed: 11 + i, range: [-2, 2] }]));
  const stdout = execFileSync(process.execPath, [path.join(ROOT, 'test/recipe/helpers/ort-compare.js')], {
    input: JSON.stringify({ before: a, after: b, feeds }),
  });
  const report = JSON.parse(stdout.toString('utf8')) as OutputDiff[];
  expect(report.length).toBe(before.graph.outputs.length);
  let worst = 0;
  for (const r of report) {
    expect(r.missing ?? false).toBe(false);
    expect(r.mismatchedShape).toBe(false);
    expect(r.maxAbsRef).toBeGreaterThan(0);
    worst = Math.max(worst, r.maxAbsDiff / r.maxAbsRef);
  }
  return worst;
}

/**
 * A model built from text has no ir_version (the ONNX writer copies the one of
 * the file a model was read from) and onnxruntime refuses it: field 1 is put
 * in front (protobuf fields may come in any order). 8 covers opsets up to 18.
 */
function withIrVersion(file: string): Uint8Array {
  const bytes = fs.readFileSync(file);
  return bytes[0] === 0x08 ? bytes : Buffer.concat([Buffer.from([0x08, 8]), bytes]);
}

describe('seed rewrites on ONNX, checked in onnxruntime', () => {
  test('grouped Conv -> Split + one Conv per group + Concat (slides 37-38)', () => {
    const text = `model onnx
opsets ai.onnx:18
graph main
  in x: float32[1, 6, 7, 7]
  const w: float32[9, 2, 3, 3] = #00c0ffee
  const b: float32[9] = #0000beef
  gc: y: float32[1, 9, 7, 7] = Conv(x, w, b) {group: 3, kernel_shape: [3, 3], pads: [1, 1, 1, 1]}
  out y
`;
    const before = parseModel(text, { constants: 'random' });
    const after = parseModel(text, { constants: 'random' });
    const n = apply(after, {
      match: 'Conv($x, $w:const, $b:const){group: $g, kernel_shape: $k, pads: $p = [0, 0, 0, 0]}',
      where: ['$g > 1'],
      let: { og: 'shape($w)[0] // $g' },
      replace: `
        xs[$g] = Split($x){axis: 1, num_outputs: $g}
        Concat(for i in range($g): Conv(xs[i], slice($w, [i * og], [i * og + og], [0]), slice($b, [i * og], [i * og + og], [0])){kernel_shape: $k, pads: $p}){axis: 1}`,
    });
    expect(n).toBe(1);
    expect(after.graph.nodes.map((x) => x.op)).toEqual(['Split', 'Conv', 'Conv', 'Conv', 'Concat']);
    expect(after.graph.outputs[0]!.name).toBe('y');
    expect(after.graph.outputs[0]!.shape).toEqual([1, 9, 7, 7]);
    const diff = compareInOrt(before, after, 'groupconv', { x: [1, 6, 7, 7] });
    expect(diff).toBeLessThan(1e-5);
  });

  test('Pow(x, n) -> n-1 Muls (slide 36), and Abs -> Sqrt(x * x) (slide 34)', () => {
    const text = `model onnx
opsets ai.onnx:13
graph main
  in x: float32[2, 3]
  const n: float32[] = [4.0]
  p: y = Pow(x, n)
  a: z: float32[2, 3] = Abs(y)
  out z
`;
    const before = parseModel(text);
    const after = parseModel(text);
    expect(apply(after, {
      match: 'Pow($x, $n:const)',
      where: ['is_scalar($n)', 'is_integer(item($n))', 'item($n) >= 2', 'item($n) <= 8'],
      replace: 'fold acc = $x for i in range(int(item($n)) - 1): Mul(acc, $x)',
    })).toBe(1);
    expect(apply(after, { match: 'Abs($x)', replace: 'Sqrt(Mul($x, $x))' })).toBe(1);
    expect(printGraph(after.graph)).toBe(`graph main
  in x: float32[2, 3]
  p/Mul: p/Mul/out = Mul(x, x)
  p/Mul_1: p/Mul_1/out = Mul(p/Mul/out, x)
  p: y = Mul(p/Mul_1/out, x)
  a/Mul: a/Mul/out = Mul(y, y)
  a: z: float32[2, 3] = Sqrt(a/Mul/out)
  out z
`);
    const diff = compareInOrt(before, after, 'pow', { x: [2, 3] });
    expect(diff).toBeLessThan(1e-5);
  });

  test('a Transpose pair that cancels out goes away (slide 21)', () => {
    const text = `model onnx
opsets ai.onnx:13
graph main
  in x: float32[1, 2, 3, 4]
  t0: a = Transpose(x) {perm: [0, 2, 3, 1]}
  t1: b = Transpose(a) {perm: [0, 3, 1, 2]}
  r: y: float32[1, 2, 3, 4] = Relu(b)
  out y
`;
    const before = parseModel(text);
    const after = parseModel(text);
    const rule = {
      match: 'Transpose(Transpose($x){perm: $p}){perm: $q}',
      // the two permutations compose to the identity: a tensor with distinct dims comes back in shape
      where: ['len($p) == len($q)', 'shape(transpose(transpose(zeros(range(2, len($p) + 2)), $p), $q)) == range(2, len($p) + 2)'],
      replace: '$x',
    };
    expect(apply(after, rule)).toBe(1);
    expect(printGraph(after.graph)).toBe('graph main\n  in x: float32[1, 2, 3, 4]\n  r: y: float32[1, 2, 3, 4] = Relu(x)\n  out y\n');
    expect(compareInOrt(before, after, 'transpose', { x: [1, 2, 3, 4] })).toBe(0);
  });
});

describe('seed rewrite on OpenVINO, checked with the reference evaluator', () => {
  test('GroupConvolution -> Split + one Convolution per group + Concat (slides 37-38)', () => {
    const model = newOvModel('gc');
    const g = model.graph;
    const x = ovParam(g, 'x', [1, 6, 5, 5]);
    const w = ovConst(g, 'w', 'float32', [3, 4, 2, 3, 3], pseudoRandomFloats(3 * 4 * 2 * 9, 5));
    const gc = ovOp(g, 'GroupConvolution', 'opset1', [x, w], [[1, 12, 5, 5]], { strides: '1,1', pads_begin: '1,1', pads_end: '1,1', dilations: '1,1', auto_pad: 'explicit' }, 'gconv');
    g.outputs = [gc.output(0)];
    const input = new Map([['x', { shape: [1, 6, 5, 5], data: pseudoRandomFloats(150, 9) }]]);
    const [expected] = evaluateOv(g, input);

    expect(apply(model, {
      match: 'GroupConvolution($x, $w:const){strides: $s, pads_begin: $pb, pads_end: $pe, dilations: $d, auto_pad: $ap = "explicit"}',
      let: { groups: 'shape($w)[0]' },
      replace: `
        xs[groups] = opset1::Split($x, scalar(1, int64)){num_splits: groups}
        opset1::Concat(for i in range(groups):
            opset1::Convolution(xs[i], squeeze(slice($w, [i], [i + 1], [0]), [0])){strides: $s, pads_begin: $pb, pads_end: $pe, dilations: $d, auto_pad: $ap}
          ){axis: 1}`,
    })).toBe(1);
    expect(g.nodes.map((n) => `${n.domain}::${n.op}`)).toEqual(['opset1::Split', 'opset1::Convolution', 'opset1::Convolution', 'opset1::Convolution', 'opset1::Concat']);
    expect(g.nodes[1]!.input(1)!.const!.shape).toEqual([4, 2, 3, 3]);
    expect(g.nodes[0]!.input(1)!.const!.dtype).toBe('int64');
    const [actual] = evaluateOv(g, input);
    expect(actual!.shape).toEqual(expected!.shape);
    let worst = 0;
    expected!.data.forEach((e, i) => (worst = Math.max(worst, Math.abs(e - actual!.data[i]!))));
    expect(worst).toBeLessThan(1e-5);
  });
});

describe('seed rewrite on TFLite, checked in LiteRT.js', () => {
  test('POW(x, 3) -> MUL chain (slide 36)', () => {
    const text = `model tflite
graph main
  in x: float32[2, 3]
  const n: float32[] = [3.0]
  p: y: float32[2, 3] = POW(x, n)
  out y
`;
    const before = parseModel(text);
    const after = parseModel(text);
    expect(apply(after, {
      match: 'POW($x, $n:const)',
      where: ['is_scalar($n)', 'is_integer(item($n))', 'item($n) >= 2', 'item($n) <= 8'],
      replace: 'fold acc = $x for i in range(int(item($n)) - 1): MUL(acc, $x)',
    })).toBe(1);
    expect(printGraph(after.graph)).toBe(`graph main
  in x: float32[2, 3]
  p/MUL: p/MUL/out: float32[2, 3] = MUL(x, x)
  p: y: float32[2, 3] = MUL(p/MUL/out, x)
  out y
`);
    const files = [path.join(dir, 'pow-before.tflite'), path.join(dir, 'pow-after.tflite')];
    writeModel(before, files[0]!);
    writeModel(after, files[1]!);
    const [a, b] = runLiteRt([{ model: files[0]!, seed: 3 }, { model: files[1]!, inputsFrom: 0 }]);
    expect(a!.error).toBeUndefined();
    expect(b!.error).toBeUndefined();
    const ya = new Float32Array(Uint8Array.from(a!.outputs[0]!.data).buffer);
    const yb = new Float32Array(Uint8Array.from(b!.outputs[0]!.data).buffer);
    expect(ya.length).toBe(6);
    expect(ya.some((v) => v !== 0)).toBe(true);
    ya.forEach((v, i) => expect(Math.abs(v - yb[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(v))));
  });
});

