import * as fs from 'node:fs';
import * as path from 'node:path';
import { Graph, Model, Tensor, attr, validate, type Value } from '../../src/ir';
import { loadBundle, PACKS_DIR } from '../../src/recipe/bundle';
import { APPLIED_METADATA_KEY, applyBundle } from '../../src/recipe/run';
import { tempDir } from '../helpers/corpus';

const BN_RECIPE = path.join(PACKS_DIR, 'core/batchnorm.yaml');

/** A tiny seeded generator, so the test data is fixed but not hand-picked. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface BnModel {
  model: Model;
  params: { scale: number[]; bias: number[]; mean: number[]; var: number[]; eps: number };
}

/** x[1,C,2,2] -> Conv(1x1 identity weights) -> BatchNormalization -> Relu -> y, with constant statistics. */
function bnModel(channels: number, opts: { eps?: number; shapeKnown?: boolean; constantNodes?: boolean } = {}): BnModel {
  const r = rng(channels * 7 + 1);
  const g = new Graph('main');
  const x = g.addValue('x', { dtype: 'float32', shape: [1, channels, 2, 2] });
  g.inputs = [x];
  const eye = new Float32Array(channels * channels);
  for (let c = 0; c < channels; c++) eye[c * channels + c] = 1;
  const w = g.addConstant('w', Tensor.from('float32', [channels, channels, 1, 1], eye));
  const conv = g.addNode({ op: 'Conv', name: 'conv', inputs: [x, w], outputs: ['c'], attrs: { kernel_shape: attr.ints([1, 1]) } });
  if (opts.shapeKnown) conv.output(0).shape = [1, channels, 2, 2];
  const vec = (offset: number): number[] => Array.from({ length: channels }, () => offset + r());
  const params = { scale: vec(0.5), bias: vec(-0.5), mean: vec(-0.5), var: vec(0.2), eps: opts.eps ?? 1e-5 };
  const param = (name: string, values: number[]): Value => {
    const t = Tensor.from('float32', [channels], values);
    if (!opts.constantNodes) return g.addConstant(name, t);
    return g.addNode({ op: 'Constant', name: `${name}_node`, outputs: [name], attrs: { value: attr.tensor(t) } }).output(0);
  };
  const inputs = [conv.output(0), param('scale', params.scale), param('bias', params.bias), param('mean', params.mean), param('var', params.var)];
  const bnAttrs: Record<string, ReturnType<typeof attr.float>> = opts.eps === undefined ? {} : { epsilon: attr.float(opts.eps) };
  const bn = g.addNode({ op: 'BatchNormalization', name: 'bn', inputs, outputs: ['b'], attrs: bnAttrs });
  const relu = g.addNode({ op: 'Relu', name: 'relu', inputs: [bn.output(0)], outputs: ['y'] });
  g.outputs = [relu.output(0)];
  const model = new Model('onnx', g);
  model.opsets = [{ domain: '', version: 13 }];
  return { model, params };
}

/** The per-channel factor and offset of the Mul and Add the rule made. */
function mulAdd(model: Model): { k: Float64Array; c: Float64Array; kShape: readonly number[] } {
  const add = model.graph.nodes.find((n) => n.op === 'Add')!;
  const mul = add.input(0)!.producer!;
  expect(mul.op).toBe('Mul');
  const k = mul.input(1)!.const!;
  const c = add.input(1)!.const!;
  return { k: k.toFloat64(), c: c.toFloat64(), kShape: k.shape };
}

/** Writes recipe files, one line per item, into a fresh temporary folder; returns each file's path. */
function recipeWriter(prefix: string): (name: string, lines: string[]) => string {
  const dir = tempDir(prefix);
  return (name, lines) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, lines.join('\n') + '\n');
    return file;
  };
}

describe('the core BatchNorm rule on IR graphs', () => {
  it.each([
    ['declared shape', { shapeKnown: true }, 'batchnorm-to-mul-add'],
    ['rank from the Conv weight', {}, 'batchnorm-to-mul-add'],
    ['statistics in Constant nodes', { constantNodes: true }, 'batchnorm-to-mul-add'],
    ['explicit epsilon', { eps: 1e-3, shapeKnown: true }, 'batchnorm-to-mul-add'],
  ])('replaces BatchNormalization by Mul + Add with the right constants (%s)', (_name, opts, rule) => {
    const { model, params } = bnModel(3, opts);
    const output = model.graph.outputs[0]!;
    const bundle = loadBundle([BN_RECIPE]);
    const report = applyBundle(model, bundle);
    const stats = report.rules.find((r) => r.id === rule)!;
    expect(stats).toMatchObject({ matches: 1, rewrites: 1, refused: [] });
    expect(report.rules.reduce((n, r) => n + r.rewrites, 0)).toBe(1);
    expect(model.graph.nodes.map((n) => n.op)).toEqual(['Conv', 'Mul', 'Add', 'Relu']);
    expect(model.graph.outputs[0]).toBe(output);
    // The Add produces the very value the BatchNormalization produced: same name.
    expect(model.graph.findValue('b')!.producer!.op).toBe('Add');
    expect(validate(model.graph, { ordered: true, uniqueNames: true })).toEqual([]);
    const { k, c, kShape } = mulAdd(model);
    expect(kShape).toEqual([3, 1, 1]);
    for (let i = 0; i < 3; i++) {
      const expectedK = params.scale[i]! / Math.sqrt(params.var[i]! + params.eps);
      expect(k[i]).toBeCloseTo(expectedK, 5);
      expect(c[i]).toBeCloseTo(params.bias[i]! - params.mean[i]! * expectedK, 5);
    }
    // The statistics are gone; only the new constants remain besides the conv weight.
    expect(model.graph.constants).toHaveLength(3);
    expect(model.graph.nodes.some((n) => n.op === 'Constant')).toBe(false);
    expect(model.graph.findValue('scale')).toBeUndefined();
    const applied = JSON.parse(model.getMetadata(APPLIED_METADATA_KEY)!) as { name: string; version: string; sha256: string }[];
    expect(applied).toEqual([{ name: 'core/batchnorm', version: '1.2.0', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
  });

  it('leaves a BatchNormalization whose statistics are not constant, and says why with --explain', () => {
    const { model } = bnModel(2);
    const g = model.graph;
    const bn = g.nodes.find((n) => n.op === 'BatchNormalization')!;
    const live = g.addValue('live_mean', { dtype: 'float32', shape: [2] });
    g.inputs = [...g.inputs, live];
    bn.setInput(3, live);
    const report = applyBundle(model, loadBundle([BN_RECIPE]), { explain: 'batchnorm-to-mul-add' });
    expect(g.nodes.map((n) => n.op)).toContain('BatchNormalization');
    expect(report.explain).toHaveLength(1);
    expect(report.explain[0]!.node).toBe('bn');
    expect(report.explain[0]!.reason).toMatch(/const/);
  });

  it('does not fire when the rank cannot be told, and names the failed condition', () => {
    const { model } = bnModel(2);
    const g = model.graph;
    const bn = g.nodes.find((n) => n.op === 'BatchNormalization')!;
    bn.setInput(0, g.inputs[0]!);
    g.inputs[0]!.shape = undefined;
    const report = applyBundle(model, loadBundle([BN_RECIPE]), { explain: 'batchnorm-to-mul-add' });
    expect(report.explain.map((m) => m.reason)).toEqual(["condition 'rank($x) != none' is false"]);
    expect(g.nodes.some((n) => n.op === 'BatchNormalization')).toBe(true);
  });

  it('keeps the Conv, which other readers still see, when rewriting the BatchNormalization after it', () => {
    const { model } = bnModel(2);
    const g = model.graph;
    const conv = g.nodes.find((n) => n.op === 'Conv')!;
    const tap = g.addNode({ op: 'Neg', name: 'tap', inputs: [conv.output(0)], outputs: ['tapped'] });
    g.outputs = [...g.outputs, tap.output(0)];
    const report = applyBundle(model, loadBundle([BN_RECIPE]));
    expect(report.rules.find((r) => r.id === 'batchnorm-to-mul-add')!.rewrites).toBe(1);
    expect(g.nodes.map((n) => n.op).sort()).toEqual(['Add', 'Conv', 'Mul', 'Neg', 'Relu']);
    expect(tap.input(0)).toBe(conv.output(0));
    expect(conv.output(0).consumers.map((n) => n.op).sort()).toEqual(['Mul', 'Neg']);
  });
});

describe('rule conditions outside the pattern', () => {
  const write = recipeWriter('recipe-cond-');

  it('fires only on nodes whose name matches a glob of `nodes`', () => {
    const file = write('glob.yaml', [
      'recipe: glob',
      'rules:',
      '  - id: relu-to-neg-neg',
      '    nodes: ["block2/*"]',
      '    match: Relu($x)',
      '    replace: Neg(Neg($x))',
    ]);
    const { model } = bnModel(2, { shapeKnown: true });
    const g = model.graph;
    const relu = g.nodes.find((n) => n.op === 'Relu')!;
    const extra = g.addNode({ op: 'Relu', name: 'block2/relu', inputs: [relu.output(0)], outputs: ['z'] });
    g.outputs = [extra.output(0)];
    const report = applyBundle(model, loadBundle([file]), { explain: 'relu-to-neg-neg' });
    expect(g.nodes.filter((n) => n.op === 'Relu').map((n) => n.name)).toEqual(['relu']);
    expect(g.nodes.filter((n) => n.op === 'Neg')).toHaveLength(2);
    expect(report.explain).toEqual([expect.objectContaining({ node: 'relu', reason: "node name 'relu' does not match block2/*" })]);
  });

  it('skips a rule outside its opset range, and a rule of another format, saying why', () => {
    const file = write('opset.yaml', [
      'recipe: opset',
      'rules:',
      '  - id: new-only',
      '    opset: { min: 14 }',
      '    match: Relu($x)',
      '    replace: Neg(Neg($x))',
      '  - id: tflite-only',
      '    formats: [tflite]',
      '    match: RELU($x)',
      '    replace: NEG(NEG($x))',
    ]);
    const { model } = bnModel(2, { shapeKnown: true });
    const report = applyBundle(model, loadBundle([file]));
    expect(report.skipped).toEqual([
      { id: 'new-only', reason: 'not for opset 13 (opset 14..)' },
      { id: 'tflite-only', reason: 'not for onnx models (formats: tflite)' },
    ]);
    expect(model.graph.nodes.some((n) => n.op === 'Neg')).toBe(false);
  });

  it('uses rule options as names, changed by a later file', () => {
    const base = write('opt-base.yaml', [
      'recipe: opt-base',
      'rules:',
      '  - id: scale-relu',
      '    options: { factor: 2 }',
      '    match: Relu($x)',
      '    replace: Mul($x, factor)',
    ]);
    const top = write('opt-top.yaml', ['recipe: opt-top', 'extends: [opt-base.yaml]', 'overrides:', '  scale-relu: { options: { factor: 3 } }']);
    const { model } = bnModel(2, { shapeKnown: true });
    applyBundle(model, loadBundle([top]));
    const mul = model.graph.nodes.find((n) => n.op === 'Mul' && n.input(1)?.const?.size === 1)!;
    expect(Array.from(mul.input(1)!.const!.toFloat64())).toEqual([3]);
  });
});

describe('a replacement that is an existing value', () => {
  const dir = tempDir('recipe-redirect-');
  const file = path.join(dir, 'drop-identity.yaml');
  fs.writeFileSync(file, ['recipe: drop', 'rules:', '  - id: drop-identity', '    match: Identity($x)', '    replace: $x', ''].join('\n'));

  /** x -> Identity -> Relu -> Identity -> y */
  function identities(): Model {
    const g = new Graph('main');
    const x = g.addValue('x', { dtype: 'float32', shape: [2] });
    g.inputs = [x];
    const a = g.addNode({ op: 'Identity', name: 'id0', inputs: [x], outputs: ['a'] });
    const b = g.addNode({ op: 'Relu', name: 'relu', inputs: [a.output(0)], outputs: ['b'] });
    const y = g.addNode({ op: 'Identity', name: 'id1', inputs: [b.output(0)], outputs: ['y'] });
    g.outputs = [y.output(0)];
    const m = new Model('onnx', g);
    m.opsets = [{ domain: '', version: 13 }];
    return m;
  }

  it('points the readers at it, and refuses where the value is a graph output (its name must stay)', () => {
    const m = identities();
    const report = applyBundle(m, loadBundle([file]));
    const stats = report.rules[0]!;
    expect(stats.rewrites).toBe(1);
    expect(stats.refused).toEqual([expect.objectContaining({ node: 'id1', reason: expect.stringMatching(/'y' is a graph output whose name must stay/) })]);
    expect(m.graph.nodes.map((n) => n.name)).toEqual(['relu', 'id1']);
    expect(m.graph.nodes[0]!.input(0)).toBe(m.graph.inputs[0]);
    expect(m.graph.outputs.map((v) => v.name)).toEqual(['y']);
    expect(validate(m.graph, { ordered: true })).toEqual([]);
  });
});

describe('attributes of new ONNX nodes take the kind the op schema gives', () => {
  const write = recipeWriter('recipe-kinds-');
  it('an integer written for a float attribute becomes a float, a number for a tensor attribute a tensor, a number for ints a list', () => {
    const file = write('kinds.yaml', [
      'recipe: kinds',
      'rules:',
      '  - id: leaky',
      '    formats: [onnx]',
      "    match: 'Relu($x)'",
      "    replace: 'Transpose(LeakyRelu($x){alpha: 1}){perm: 0}'",
    ]);
    const { model } = bnModel(2, { shapeKnown: true });
    applyBundle(model, loadBundle([file]));
    const leaky = model.graph.nodes.find((n) => n.op === 'LeakyRelu')!;
    expect(leaky.attr('alpha')).toEqual({ kind: 'float', value: 1 });
    expect(model.graph.nodes.find((n) => n.op === 'Transpose')!.attr('perm')).toEqual({ kind: 'ints', value: [0] });
    const fill = write('fill.yaml', ['recipe: fill', 'rules:', '  - id: fill', '    formats: [onnx]', "    match: 'Neg($x)'", "    replace: 'ConstantOfShape($x){value: 0}'"]);
    const g = new Graph('main');
    const x = g.addValue('x', { dtype: 'int64', shape: [2] });
    g.inputs = [x];
    g.outputs = [g.addNode({ op: 'Neg', name: 'n', inputs: [x], outputs: ['n'] }).output(0)];
    const shaped = new Model('onnx', g);
    shaped.opsets = [{ domain: '', version: 17 }];
    expect(applyBundle(shaped, loadBundle([fill])).rules[0]!.rewrites).toBe(1);
    const value = g.nodes.find((n) => n.op === 'ConstantOfShape')!.attr('value');
    expect(value?.kind).toBe('tensor');
  });

  it('without a schema (OpenVINO keeps attributes as text), a number literal on a node of the matched op is written as it is', () => {
    const file = write('clamp.yaml', [
      'recipe: clamp',
      'rules:',
      '  - id: relu6',
      '    formats: [openvino]',
      "    match: 'Clamp($x){min: $lo, max: $hi}'",
      '    where: [float($hi) != 6]',
      "    replace: 'opset1::Clamp($x){min: 0, max: 6}'",
    ]);
    const g = new Graph('main');
    const x = g.addValue('x', { dtype: 'float32', shape: [1, 4] });
    g.inputs = [x];
    g.outputs = [g.addNode({ op: 'Clamp', domain: 'opset1', name: 'c', inputs: [x], outputs: ['y'], attrs: { min: attr.string('0'), max: attr.string('8') } }).output(0)];
    const report = applyBundle(new Model('openvino', g), loadBundle([file]));
    expect(report.rules[0]).toMatchObject({ rewrites: 1, refused: [] });
    const clamp = g.nodes.find((n) => n.op === 'Clamp')!;
    expect([clamp.attr('min'), clamp.attr('max')]).toEqual([{ kind: 'int', value: 0 }, { kind: 'int', value: 6 }]);
  });
});
