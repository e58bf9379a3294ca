import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readOnnx } from '../../../src/formats/onnx';
import { ModelRec } from '../../../src/formats/onnx/records';
import type { Attr } from '../../../src/ir/attr';
import type { Model } from '../../../src/ir/model';
import { parseModel } from '../../../src/ir/text/parse';
import { loadBundle, PACKS_DIR } from '../../../src/recipe/bundle';
import { compileForModel } from '../../../src/recipe/compile';
import { applyRules } from '../../../src/rewrite/driver';
import { runCli } from '../../helpers/cli';
import { tempDir } from '../../helpers/corpus';
import { PYTHON, writeOnnxFile } from '../../helpers/onnx-files';

// Models with model-local functions (FunctionProto), as PyTorch's
// export_modules_as_functions and onnxscript write them, built by
// functions.py with python onnx 1.12: rules reach the nodes inside the
// function bodies, what no rule touched is written back as read, and python
// onnx's full checker and onnxruntime judge what was written.
const SCRIPT = path.join(__dirname, 'functions.py');
const dir = tempDir('onnx-functions-');
const CALLS = path.join(dir, 'calls.onnx');
const IR10 = path.join(dir, 'ir10.onnx');
const BN = path.join(PACKS_DIR, 'core/batchnorm.yaml');

interface Facts {
  checker: string | null;
  main_ops: string[];
  functions: Record<string, { sha1: string; ops: string[]; unknown: number }>;
}

function inspect(file: string): Facts {
  return JSON.parse(execFileSync(PYTHON, [SCRIPT, 'inspect', file], { encoding: 'utf8' })) as Facts;
}

beforeAll(() => {
  execFileSync(PYTHON, [SCRIPT, 'build', dir]);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const fn = (m: Model, name: string) => m.functions.find((f) => f.name === name)!;
const attrOf = (m: Model, fnName: string, node: string, attr: string): Attr | undefined => fn(m, fnName).body.nodes.find((n) => n.name === node)!.attr(attr);

describe('reading', () => {
  test('each FunctionProto becomes a function of the model: its body a graph of its own, with its own opsets and formal attributes', () => {
    const m = readOnnx(CALLS, { decodeGraphs: true });
    expect(m.functions.map((f) => `${f.domain}::${f.name}`)).toEqual(['local::ConvBnRelu', 'local::BnEps', 'local::Leaky']);
    const cbr = fn(m, 'ConvBnRelu');
    expect(cbr.opsets).toEqual([{ domain: '', version: 15 }]);
    expect(cbr.doc).toBe('conv, batchnorm, relu');
    expect(cbr.body.inputs.map((v) => [v.name, v.dtype])).toEqual([['X', undefined]]);
    expect(cbr.body.outputs.map((v) => v.name)).toEqual(['Y']);
    expect(cbr.body.parent).toBeUndefined();
    expect(cbr.body.nodes.map((n) => n.op)).toEqual(['Constant', 'Constant', 'Constant', 'Constant', 'Constant', 'Conv', 'BatchNormalization', 'Relu']);
    expect(fn(m, 'BnEps').attributes).toEqual([{ name: 'eps' }]);
    // The model's graphs do not include the bodies: a body sees none of the model's values.
    expect(m.allGraphs()).toEqual([m.graph]);
  });

  test('an attribute that refers to the caller\'s is a reference with no value; an attribute of its own keeps its value', () => {
    const m = readOnnx(CALLS, { decodeGraphs: true });
    expect(attrOf(m, 'BnEps', 'bn_ref', 'epsilon')).toMatchObject({ kind: 'ref', value: 'eps' });
    expect(attrOf(m, 'Leaky', 'leaky', 'alpha')).toMatchObject({ kind: 'ref', value: 'alpha' });
    expect(attrOf(m, 'ConvBnRelu', 'bn', 'epsilon')).toMatchObject({ kind: 'float' });
  });

  test('IR 10: attribute defaults, value_info, the overload and metadata_props', () => {
    const m = readOnnx(IR10, { decodeGraphs: true });
    const f = fn(m, 'ConvBnRelu');
    expect(f.overload).toBe('v2');
    expect(f.metadata).toEqual([{ key: 'fk', value: 'fv' }]);
    expect(f.attributes.map((a) => [a.name, a.default?.kind, a.default?.value])).toEqual([['alpha', 'float', Math.fround(0.1)]]);
    expect(f.body.inputs[0]).toMatchObject({ name: 'X', dtype: 'float32', shape: ['N', 3, 8, 8] });
    expect(f.body.nodes.find((n) => n.name === 'bn')!.output(0).shape).toEqual(['N', 3, 8, 8]);
  });

  test('functions are read when asked for: a copy never decodes them', () => {
    const m = readOnnx(CALLS);
    expect((m.native as ModelRec).functionsDecoded).toBe(false);
    const out = path.join(dir, 'lazy-copy.onnx');
    writeOnnxFile(m, out);
    expect((m.native as ModelRec).functionsDecoded).toBe(false);
    expect(fs.readFileSync(out).equals(fs.readFileSync(CALLS))).toBe(true);
  });
});

describe('writing', () => {
  test.each([['calls', CALLS], ['ir10', IR10]])('%s: decoded and unchanged, written byte for byte; every function encoded again from the IR gives the reference serializer\'s bytes', (_name, file) => {
    const original = fs.readFileSync(file);
    const m = readOnnx(file, { decodeGraphs: true });
    const out = path.join(dir, `${path.basename(file)}.same.onnx`);
    writeOnnxFile(m, out);
    expect(fs.readFileSync(out).equals(original)).toBe(true);
    writeOnnxFile(readOnnx(file, { decodeGraphs: true }), out, {}, { reencode: true });
    expect(fs.readFileSync(out).equals(original)).toBe(true);
  });

  test('a model with functions that no rule matches is written back byte for byte, the whole file', () => {
    const model = readOnnx(CALLS, { decodeGraphs: true });
    // trig rewrites Acos/Asin: nothing here.
    const compiled = compileForModel(loadBundle([path.join(PACKS_DIR, 'trig/acos-asin.yaml')]), model, 'myriad');
    expect(compiled.rules.length).toBeGreaterThan(0);
    const report = applyRules(model, compiled.rules);
    expect(report.rules.reduce((n, r) => n + r.candidates, 0)).toBe(0);
    const out = path.join(dir, 'nomatch.onnx');
    writeOnnxFile(model, out);
    expect(fs.readFileSync(out).equals(fs.readFileSync(CALLS))).toBe(true);
  });

  test('a function\'s external tensor is kept beside a copy in another folder, and inlined by --external-data inline', async () => {
    const src = path.join(dir, 'external.onnx');
    const data = (file: string, options = {}): Buffer => {
      const w = fn(readOnnx(file, options), 'Shifted').body.nodes[0]!.attr('value');
      return Buffer.from((w as { value: { data: { bytes(): Uint8Array } } }).value.data.bytes());
    };
    const want = data(src);
    const other = path.join(dir, 'elsewhere');
    fs.mkdirSync(other);
    const kept = path.join(other, 'kept.onnx');
    expect((await runCli('copy', src, '-o', kept)).code).toBe(0);
    expect(fs.readFileSync(path.join(other, 'external.bin')).equals(fs.readFileSync(path.join(dir, 'external.bin')))).toBe(true);
    expect(fs.readFileSync(kept).equals(fs.readFileSync(src))).toBe(true);
    const inline = path.join(other, 'inline.onnx');
    expect((await runCli('copy', src, '-o', inline, '--external-data', 'inline')).code).toBe(0);
    fs.rmSync(path.join(other, 'external.bin'));
    expect(data(inline).equals(want)).toBe(true);
    expect(inspect(inline).checker).toBeNull();
  });

  test('a function made in memory is written so that the checker accepts it and onnxruntime runs its calls', async () => {
    const withFunction = parseModel(`model onnx
opsets ai.onnx:17, local:1
graph main
  in x: float32[2, 3]
  call: y: float32[2, 3] = local::Scaled(x) {k: 3.0}
  out y
function local::Scaled
  opsets ai.onnx:17
  attr k = 2.0
  in X
  k: K = Constant() {value_float: @k}
  m: Y = Mul(X, K)
  out Y
`);
    const plain = parseModel(`model onnx
opsets ai.onnx:17
graph main
  in x: float32[2, 3]
  const three: float32[] = [3.0]
  m: y: float32[2, 3] = Mul(x, three)
  out y
`);
    const files = [path.join(dir, 'made.onnx'), path.join(dir, 'plain.onnx')] as const;
    writeOnnxFile(withFunction, files[0]);
    writeOnnxFile(plain, files[1]);
    expect(inspect(files[0]).checker).toBeNull();
    const back = readOnnx(files[0], { decodeGraphs: true });
    expect(back.functions[0]!.attributes[0]!.default).toMatchObject({ kind: 'float', value: 2 });
    expect(attrOf(back, 'Scaled', 'k', 'value_float')).toMatchObject({ kind: 'ref', value: 'k' });
    const r = await runCli('verify', files[1], files[0]);
    expect([r.code, r.stderr]).toEqual([0, '']);
  });
});

describe('core/batchnorm inside functions', () => {
  const out = path.join(dir, 'calls.bn.onnx');
  let report: { rules: { id: string; candidates: number; matches: number; rewrites: number; refused: unknown[] }[]; explain: { node: string; graph: string; reason: string }[]; verify?: { ok: boolean } };
  let before: Facts;
  let after: Facts;

  beforeAll(async () => {
    const r = await runCli('apply', BN, CALLS, '-o', out, '--report', 'json', '--explain', 'batchnorm-to-mul-add', '--verify', '--dim', 'N=2');
    expect([r.code, r.stderr]).toEqual([0, expect.any(String)]);
    report = JSON.parse(r.stdout) as typeof report;
    before = inspect(CALLS);
    after = inspect(out);
  }, 120_000);

  test('the BatchNormalization in the function both calls run is rewritten once, and counted', () => {
    const rule = report.rules.find((x) => x.id === 'batchnorm-to-mul-add')!;
    expect({ candidates: rule.candidates, matches: rule.matches, rewrites: rule.rewrites, refused: rule.refused.length }).toEqual({ candidates: 2, matches: 1, rewrites: 1, refused: 0 });
    expect(after.functions.ConvBnRelu!.ops).toEqual(['Constant', 'Constant', 'Constant', 'Conv', 'Mul', 'Add', 'Relu']);
    expect(after.main_ops).toEqual(before.main_ops);
  });

  test('the output passes the full checker and onnxruntime gives the same outputs', () => {
    expect(before.checker).toBeNull();
    expect(after.checker).toBeNull();
    expect(report.verify?.ok).toBe(true);
  });

  test('functions no rule touched are written byte for byte', () => {
    expect(after.functions.BnEps!.sha1).toBe(before.functions.BnEps!.sha1);
    expect(after.functions.Leaky!.sha1).toBe(before.functions.Leaky!.sha1);
    expect(after.functions.ConvBnRelu!.sha1).not.toBe(before.functions.ConvBnRelu!.sha1);
  });

  test('a BatchNormalization whose epsilon is the caller\'s does not match, and --explain says why', () => {
    expect(after.functions.BnEps!.ops).toContain('BatchNormalization');
    expect(report.explain).toEqual([{
      node: 'bn_ref',
      op: 'BatchNormalization',
      graph: 'BnEps',
      reason: "attribute 'epsilon' of BatchNormalization 'bn_ref' refers to attribute 'eps' of function 'local::BnEps': its value is each caller's, not known here",
    }]);
  });

  test('show and diff list the function bodies', async () => {
    const shown = await runCli('show', '--graph', out);
    expect(shown.stdout).toContain('\nfunction local::BnEps\n  opsets ai.onnx:15\n  attr eps\n  in X\n');
    expect(shown.stdout).toContain('bn_ref: Y = BatchNormalization(X, scale, bias, mean, var) {epsilon: @eps}');
    const summary = await runCli('show', out);
    expect(summary.stdout).toContain('functions:\n  local::ConvBnRelu(X) -> (Y): 7 node(s)\n  local::BnEps(X) -> (Y) {eps}: 5 node(s)\n  local::Leaky(X) -> (Y) {alpha}: 1 node(s)\n');
    const diff = await runCli('diff', CALLS, out);
    expect(diff.code).toBe(1);
    expect(diff.stdout).toContain('@@ function local::ConvBnRelu @@');
    expect(diff.stdout).toContain('-  bn: b = BatchNormalization(c, scale, bias, mean, var) {epsilon: 0.001}');
    expect(diff.stdout).toContain('+  bn: b = Add(bn/Mul/out, bn/c)');
  });

  test('IR 10: the rewritten function keeps its overload, default, value_info and metadata, and its call still runs', async () => {
    const ir10Out = path.join(dir, 'ir10.bn.onnx');
    const r = await runCli('apply', BN, IR10, '-o', ir10Out, '--report', 'json', '--verify', '--dim', 'N=2');
    expect(r.code).toBe(0);
    const applied = JSON.parse(r.stdout) as typeof report;
    expect(applied.rules.find((x) => x.id === 'batchnorm-to-mul-add')!.rewrites).toBe(1);
    expect(applied.verify?.ok).toBe(true);
    const f = fn(readOnnx(ir10Out, { decodeGraphs: true }), 'ConvBnRelu');
    expect([f.overload, f.metadata, f.attributes.map((a) => a.default?.value)]).toEqual(['v2', [{ key: 'fk', value: 'fv' }], [Math.fround(0.1)]]);
    expect(f.body.inputs[0]!.shape).toEqual(['N', 3, 8, 8]);
    // The five fields onnx 1.12 does not know (attribute_proto, two value_info, overload, metadata_props) are all there.
    expect(inspect(ir10Out).functions.ConvBnRelu!.unknown).toBe(5);
  }, 120_000);
});
