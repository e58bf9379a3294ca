/**
 * Rules reach into the bodies of TensorIterator, Loop and If layers, as they
 * reach into ONNX subgraphs: the body is read into a graph, rewritten, and
 * written back into the layer with its Parameters and Results keeping the
 * ids its port_map and back_edges name. Checked by running the original and
 * the rewritten IR (translated to ONNX) in onnxruntime.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readModel } from '../../../src/formats';
import type { Graph } from '../../../src/ir';
import { ovBody } from '../../../src/formats/openvino/native';
import { runCli } from '../../helpers/cli';
import { tempDir } from '../../helpers/corpus';
import { binary, body, constLayer, type Edge, floats, int64s, layer, net, param, port, result, Weights, ifLayer } from '../../helpers/ir-xml';

const work = tempDir('recipe-ov-bodies-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const T = 5;
const ROOT = path.resolve(__dirname, '../../..');
const ABS = path.join(ROOT, 'recipes/abs/abs.yaml');
const POW = path.join(ROOT, 'recipes/pow/pow.yaml');

function save(name: string, xml: string, w: Weights): string {
  const file = path.join(work, `${name}.xml`);
  fs.writeFileSync(file, xml);
  fs.writeFileSync(file.replace(/\.xml$/, '.bin'), w.bytes());
  return file;
}

/**
 * A TensorIterator over x [1, T, 4] whose body computes m = Squeeze(x[t]) * w,
 * h = Power(m, 2) + h (a back edge from h_out to hi) and y = Abs(Unsqueeze(m)),
 * the Result y_out reading the Abs itself. Outputs: every step's y (through a
 * Relu), the last h. `batch` -1 makes the batch dynamic, in the body too.
 */
function tiModel(batch = 1, name = 'ti', irVersion = 11): string {
  const w = new Weights();
  const B = batch;
  const bodyLayers = [
    param(0, 'xi', 'f32', [B, 1, 4]),
    param(1, 'hi', 'f32', [B, 4]),
    constLayer(w, 2, 'sq_axis', 'i64', [1], int64s(1)),
    layer(3, 'sq', 'Squeeze', 'opset1', { ins: [port(0, 'FP32', [B, 1, 4]), port(1, 'I64', [1])], outs: [port(2, 'FP32', [B, 4])] }),
    constLayer(w, 4, 'w_body', 'f32', [1, 4], floats(4, 30)),
    binary(5, 'mulw', 'Multiply', [B, 4], [1, 4], [B, 4]),
    constLayer(w, 6, 'two', 'f32', [], Buffer.from(Float32Array.of(2).buffer)),
    binary(7, 'pow', 'Power', [B, 4], [], [B, 4]),
    binary(8, 'addh', 'Add', [B, 4], [B, 4], [B, 4]),
    result(9, 'h_out', 'FP32', [B, 4]),
    constLayer(w, 10, 'unsq_axis', 'i64', [1], int64s(1)),
    layer(11, 'unsq', 'Unsqueeze', 'opset1', { ins: [port(0, 'FP32', [B, 4]), port(1, 'I64', [1])], outs: [port(2, 'FP32', [B, 1, 4])] }),
    layer(12, 'abs', 'Abs', 'opset1', { ins: [port(0, 'FP32', [B, 1, 4])], outs: [port(1, 'FP32', [B, 1, 4])] }),
    result(13, 'y_out', 'FP32', [B, 1, 4]),
  ];
  const bodyEdges: Edge[] = [
    [0, 0, 3, 0], [2, 0, 3, 1], [3, 2, 5, 0], [4, 0, 5, 1], [5, 2, 7, 0], [6, 0, 7, 1], [7, 2, 8, 0], [1, 0, 8, 1], [8, 2, 9, 0],
    [5, 2, 11, 0], [10, 0, 11, 1], [11, 2, 12, 0], [12, 1, 13, 0],
  ];
  const ti = layer(2, 'ti', 'TensorIterator', 'opset1', {
    ins: [port(0, 'FP32', [B, T, 4]), port(1, 'FP32', [B, 4])],
    outs: [port(2, 'FP32', [B, T, 4], 'ti_y'), port(3, 'FP32', [B, 4], 'ti_h')],
    extra:
      '\t\t\t<port_map>\n\t\t\t\t<input axis="1" external_port_id="0" internal_layer_id="0" start="0" end="-1" stride="1" part_size="1" />\n' +
      '\t\t\t\t<input external_port_id="1" internal_layer_id="1" />\n' +
      '\t\t\t\t<output axis="1" external_port_id="2" internal_layer_id="13" start="0" end="-1" stride="1" part_size="1" />\n' +
      '\t\t\t\t<output external_port_id="3" internal_layer_id="9" />\n\t\t\t</port_map>\n' +
      '\t\t\t<back_edges>\n\t\t\t\t<edge from-layer="9" to-layer="1" />\n\t\t\t</back_edges>\n' +
      body('body', bodyLayers, bodyEdges),
  });
  const L = [
    param(0, 'x', 'f32', [B, T, 4]),
    param(1, 'h0', 'f32', [B, 4]),
    ti,
    layer(5, 'relu', 'Relu', 'opset1', { ins: [port(0, 'FP32', [B, T, 4])], outs: [port(1, 'FP32', [B, T, 4], 'relu_y')] }),
    result(3, 'relu_y/sink_port_0', 'FP32', [B, T, 4]),
    result(4, 'ti_h/sink_port_0', 'FP32', [B, 4]),
  ];
  const E: Edge[] = [[0, 0, 2, 0], [1, 0, 2, 1], [2, 2, 5, 0], [5, 1, 3, 0], [2, 3, 4, 0]];
  return save(name, net('ti', irVersion, L, E), w);
}

/** An If whose then-branch is Abs(x) and else-branch -x, on a boolean input, beside an Abs in the main graph. */
function ifModel(B = 1, name = 'if'): string {
  const w = new Weights();
  const thenBody = [param(0, 't_in', 'f32', [B, 4]), layer(1, 't_abs', 'Abs', 'opset1', { ins: [port(0, 'FP32', [B, 4])], outs: [port(1, 'FP32', [B, 4])] }), result(2, 't_out', 'FP32', [B, 4])];
  const elseBody = [param(0, 'e_in', 'f32', [B, 4]), layer(1, 'e_neg', 'Negative', 'opset1', { ins: [port(0, 'FP32', [B, 4])], outs: [port(1, 'FP32', [B, 4])] }), result(2, 'e_out', 'FP32', [B, 4])];
  const ifL = ifLayer(2, [B, 4], { layers: thenBody, edges: [[0, 0, 1, 0], [1, 1, 2, 0]], result: 2 }, { layers: elseBody, edges: [[0, 0, 1, 0], [1, 1, 2, 0]], result: 2 });
  const L = [
    param(0, 'cond', 'boolean', [], ''),
    param(1, 'x', 'f32', [B, 4]),
    ifL,
    layer(3, 'top_abs', 'Abs', 'opset1', { ins: [port(0, 'FP32', [B, 4])], outs: [port(1, 'FP32', [B, 4], 'top')] }),
    result(4, 'if_out/sink_port_0', 'FP32', [B, 4]),
    result(5, 'top/sink_port_0', 'FP32', [B, 4]),
  ];
  const E: Edge[] = [[0, 0, 2, 0], [1, 0, 2, 1], [1, 0, 3, 0], [2, 2, 4, 0], [3, 1, 5, 0]];
  return save(name, net('if', 11, L, E), w);
}

/** A Loop of 3 iterations whose body applies BatchNormInference-5 to the carried value: new Consts in a body. */
function loopModel(B = 1, name = 'loop'): string {
  const w = new Weights();
  const stat = (name: string, id: number, seed: number, shift = 0): string =>
    constLayer(w, id, name, 'f32', [4], Buffer.from(Float32Array.from({ length: 4 }, (_, i) => Math.sin(i + seed) * 0.5 + shift + 1).buffer));
  const loopBody = [
    param(0, 'acc', 'f32', [B, 4]),
    stat('gamma', 1, 1),
    stat('beta', 2, 2, -1),
    stat('mean', 3, 3, -1),
    stat('var', 4, 4, 0.5),
    layer(5, 'bn', 'BatchNormInference', 'opset5', {
      data: 'epsilon="0.001"',
      ins: [port(0, 'FP32', [B, 4]), port(1, 'FP32', [4]), port(2, 'FP32', [4]), port(3, 'FP32', [4]), port(4, 'FP32', [4])],
      outs: [port(5, 'FP32', [B, 4])],
    }),
    result(6, 'acc_out', 'FP32', [B, 4]),
    constLayer(w, 7, 'go_on', 'boolean', [1], Buffer.from([1])),
    result(8, 'cond_out', 'BOOL', [1]),
  ];
  const loop = layer(3, 'loop', 'Loop', 'opset5', {
    ins: [port(0, 'I64', []), port(1, 'BOOL', []), port(2, 'FP32', [B, 4])],
    outs: [port(3, 'FP32', [B, 4], 'loop_acc')],
    extra:
      '\t\t\t<port_map>\n\t\t\t\t<input external_port_id="2" internal_layer_id="0" />\n' +
      '\t\t\t\t<output external_port_id="3" internal_layer_id="6" />\n\t\t\t\t<output external_port_id="-1" internal_layer_id="8" purpose="execution_condition" />\n\t\t\t</port_map>\n' +
      '\t\t\t<back_edges>\n\t\t\t\t<edge from-layer="6" to-layer="0" />\n\t\t\t</back_edges>\n' +
      body('body', loopBody, [[0, 0, 5, 0], [1, 0, 5, 1], [2, 0, 5, 2], [3, 0, 5, 3], [4, 0, 5, 4], [5, 5, 6, 0], [7, 0, 8, 0]]),
  });
  const L = [
    param(0, 'x', 'f32', [B, 4]),
    constLayer(w, 1, 'trip', 'i64', [], int64s(3)),
    constLayer(w, 2, 'start', 'boolean', [], Buffer.from([1])),
    loop,
    result(4, 'loop_acc/sink_port_0', 'FP32', [B, 4]),
  ];
  const E: Edge[] = [[1, 0, 3, 0], [2, 0, 3, 1], [0, 0, 3, 2], [3, 3, 4, 0]];
  return save(name, net('loop', 11, L, E), w);
}

const opsOf = (g: Graph): string[] => g.nodes.map((n) => n.op).sort();

test.each([11, 10])('Abs and Power inside a TensorIterator body (IR v%i) are rewritten, and the IR computes what it did', async (irVersion) => {
  const file = tiModel(1, `ti-v${irVersion}`, irVersion);
  const out = path.join(work, `ti-v${irVersion}-out.xml`);
  const r = await runCli('apply', ABS, POW, file, '-o', out);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/abs-to-square-sqrt-openvino\s+1\s+1\s+1\s+0/);
  expect(r.stdout).toMatch(/pow-to-mul-openvino\s+1\s+1\s+1\s+0/);

  const model = readModel(out);
  const ti = model.graph.nodes.find((n) => n.op === 'TensorIterator')!;
  const b = ovBody(ti, 'body')!;
  expect(opsOf(b.graph)).toEqual(['Add', 'Multiply', 'Multiply', 'Multiply', 'Sqrt', 'Squeeze', 'Unsqueeze']);
  // The Parameters and Results the port_map and back edge name are still there, by id.
  expect([...b.parameters.keys()].sort()).toEqual(['0', '1']);
  expect([...b.results.keys()].sort()).toEqual(['13', '9']);
  expect(b.results.get('13')!.producer!.op).toBe('Sqrt');
  // The exponent's Const went with the Power, from the body and from the .bin.
  expect(b.graph.constants.map((v) => v.name).sort()).toEqual(['sq_axis', 'unsq_axis', 'w_body']);
  expect(fs.statSync(out.replace(/\.xml$/, '.bin')).size).toBe(fs.statSync(file.replace(/\.xml$/, '.bin')).size - 4);

  const v = await runCli('verify', file, out, '--runs', '2');
  expect(v.stderr).toBe('');
  expect(v.code).toBe(0);
}, 60_000);

test('a verification catches a body rewritten wrong', async () => {
  const file = tiModel();
  const out = path.join(work, 'ti-wrong.xml');
  expect((await runCli('apply', ABS, file, '-o', out)).code).toBe(0);
  // The rewritten body squares where it should take the root: Sqrt becomes Negative in the body only.
  const xml = fs.readFileSync(out, 'utf8');
  expect(xml.match(/type="Sqrt"/g)).toHaveLength(1);
  fs.writeFileSync(out, xml.replace('type="Sqrt"', 'type="Negative"'));
  const v = await runCli('verify', file, out, '--runs', '1');
  expect(v.code).toBe(5);
}, 60_000);

test('both branches of an If and the graph around it are rewritten', async () => {
  const file = ifModel();
  const out = path.join(work, 'if-out.xml');
  const r = await runCli('apply', ABS, file, '-o', out);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/abs-to-square-sqrt-openvino\s+2\s+2\s+2\s+0/);
  const model = readModel(out);
  const iff = model.graph.nodes.find((n) => n.op === 'If')!;
  expect(opsOf(ovBody(iff, 'then_body')!.graph)).toEqual(['Multiply', 'Sqrt']);
  expect(opsOf(ovBody(iff, 'else_body')!.graph)).toEqual(['Negative']);
  expect(model.graph.nodes.map((n) => n.op).sort()).toEqual(['If', 'Multiply', 'Sqrt']);
  // Both branches are run: the condition is drawn at random per run.
  const v = await runCli('verify', file, out, '--runs', '4');
  expect(v.stderr).toBe('');
  expect(v.code).toBe(0);
}, 60_000);

test('a BatchNormInference inside a Loop body becomes Multiply + Add with new Consts, laid out in the shared .bin', async () => {
  const file = loopModel();
  const out = path.join(work, 'loop-out.xml');
  const r = await runCli('apply', path.join(ROOT, 'recipes/core/batchnorm.yaml'), file, '-o', out);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/batchnorminference-to-multiply-add\s+1\s+1\s+1\s+0/);
  const model = readModel(out);
  const b = ovBody(model.graph.nodes.find((n) => n.op === 'Loop')!, 'body')!;
  expect(opsOf(b.graph)).toEqual(['Add', 'Multiply']);
  // The four statistics gave way to the two computed factors; the condition's Const stays.
  expect(b.graph.constants).toHaveLength(3);
  // The Add that replaced the BatchNormInference takes its name and id, the Multiply an id above the body's own;
  // the Parameter and Results keep theirs.
  const ids = Object.fromEntries([...fs.readFileSync(out, 'utf8').matchAll(/<layer id="(\d+)" name="[^"]*" type="(Multiply|Add)"/g)].map((m) => [m[2], Number(m[1])]));
  expect(ids.Add).toBe(5);
  expect(ids.Multiply).toBeGreaterThan(8);
  expect([...b.parameters.keys()]).toEqual(['0']);
  expect([...b.results.keys()].sort()).toEqual(['6', '8']);
  const v = await runCli('verify', file, out, '--runs', '2');
  expect(v.stderr).toBe('');
  expect(v.code).toBe(0);
}, 60_000);

test('fix-batch carries the batch into a TensorIterator body, through it and past it', async () => {
  const file = tiModel(-1, 'ti-dynamic');
  const out = path.join(work, 'ti-fixed.xml');
  const r = await runCli('apply', path.join(ROOT, 'recipes/shape/fix-shape.yaml'), file, '-o', out);
  expect(r.code).toBe(0);
  const model = readModel(out);
  const shapes = (g: Graph): Record<string, unknown> => Object.fromEntries([...g.values].filter((v) => !v.const).map((v) => [v.name, v.shape]));
  const ti = model.graph.nodes.find((n) => n.op === 'TensorIterator')!;
  const body = ovBody(ti, 'body')!;
  // Every size of the body follows from its Parameters', which follow from the layer's inputs.
  for (const [name, shape] of Object.entries(shapes(body.graph))) expect([name, (shape as unknown[])[0]]).toEqual([name, 1]);
  expect(body.parameters.get('0')!.shape).toEqual([1, 1, 4]);
  expect(ti.outputs.map((v) => v.shape)).toEqual([[1, T, 4], [1, 4]]);
  expect(model.graph.nodes.find((n) => n.op === 'Relu')!.outputs[0]!.shape).toEqual([1, T, 4]);
  // The Parameter's <data shape> says so too, in the XML OpenVINO reads.
  expect(fs.readFileSync(out, 'utf8')).toContain('<data shape="1,1,4" element_type="f32" />');
  const v = await runCli('verify', tiModel(1, 'ti-static'), out, '--runs', '1');
  expect(v.stderr).toBe('');
  expect(v.code).toBe(0);
}, 60_000);

test('fix-batch carries the batch through a Loop of constant trip count and through both branches of an If', async () => {
  for (const [file, op] of [[loopModel(-1, 'loop-dynamic'), 'Loop'], [ifModel(-1, 'if-dynamic'), 'If']] as const) {
    const out = file.replace(/\.xml$/, '-fixed.xml');
    expect((await runCli('apply', path.join(ROOT, 'recipes/shape/fix-shape.yaml'), file, '-o', out)).code).toBe(0);
    const model = readModel(out);
    const node = model.graph.nodes.find((n) => n.op === op)!;
    expect(node.outputs[0]!.shape).toEqual([1, 4]);
    for (const g of node.subgraphs) for (const v of g.values) if (v.shape && v.shape.length === 2) expect([v.name, v.shape]).toEqual([v.name, [1, 4]]);
    expect(model.graph.outputs.map((v) => v.shape?.[0])).toEqual(model.graph.outputs.map(() => 1));
  }
});

test('an If whose condition freeze-inputs made a constant is replaced with the branch it takes; its output keeps its name', async () => {
  const file = ifModel(1, 'if-frozen');
  for (const [cond, op] of [[true, 'Abs'], [false, 'Negative']] as const) {
    const bundle = path.join(work, `freeze-cond-${cond}.yaml`);
    fs.writeFileSync(bundle, `recipe: freeze-cond\nextends: [${path.join(ROOT, 'recipes/shape/fix-shape.yaml')}]\noverrides:\n  freeze-inputs: { enabled: true, options: { values: { cond: ${cond} } } }\n`);
    const out = file.replace(/\.xml$/, `-${cond}.xml`);
    const r = await runCli('apply', bundle, file, '-o', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/replaced 1 If layer\(s\) with the branch taken/);
    const model = readModel(out);
    expect(model.graph.nodes.map((n) => n.op).sort()).toEqual(['Abs', op].sort());
    expect(model.graph.inputs.map((v) => v.name)).toEqual(['x']);
    expect(model.graph.outputs.map((v) => v.name)).toEqual(['if_out', 'top']);
    const v = await runCli('verify', file, out, '--runs', '2');
    expect(v.stdout).toMatch(new RegExp(`cond +bool +\\[\\] +frozen by the rewrite: ${cond}`));
    expect(v.code).toBe(0);
  }
}, 60_000);

test('an If on a constant condition whose branch holds a Const: the Const moves into the graph, in the .bin', async () => {
  const w = new Weights();
  const scale = Buffer.from(Float32Array.from([0.5, -2, 3, 0.25]).buffer);
  const mulBody = [
    param(0, 'm_in', 'f32', [1, 4]),
    constLayer(w, 1, 'm_scale', 'f32', [4], scale),
    binary(2, 'm_mul', 'Multiply', [1, 4], [4], [1, 4]),
    result(3, 'm_out', 'FP32', [1, 4]),
  ];
  const negBody = [param(0, 'e_in', 'f32', [1, 4]), layer(1, 'e_neg', 'Negative', 'opset1', { ins: [port(0, 'FP32', [1, 4])], outs: [port(1, 'FP32', [1, 4])] }), result(2, 'e_out', 'FP32', [1, 4])];
  const L = [
    constLayer(w, 0, 'cond', 'boolean', [], Buffer.from([1])),
    param(1, 'x', 'f32', [1, 4]),
    ifLayer(2, [1, 4], { layers: mulBody, edges: [[0, 0, 2, 0], [1, 0, 2, 1], [2, 2, 3, 0]], result: 3 }, { layers: negBody, edges: [[0, 0, 1, 0], [1, 1, 2, 0]], result: 2 }),
    result(3, 'if_out/sink_port_0', 'FP32', [1, 4]),
  ];
  const file = save('if-const', net('if', 11, L, [[0, 0, 2, 0], [1, 0, 2, 1], [2, 2, 3, 0]]), w);
  const out = file.replace(/\.xml$/, '-folded.xml');
  expect((await runCli('apply', path.join(ROOT, 'recipes/shape/fix-shape.yaml'), file, '-o', out)).code).toBe(0);
  const model = readModel(out);
  expect(model.graph.nodes.map((n) => n.op)).toEqual(['Multiply']);
  const mul = model.graph.nodes[0]!;
  expect(Array.from(mul.input(1)!.const!.toFloat64())).toEqual([0.5, -2, 3, 0.25]);
  expect(model.graph.outputs.map((v) => v.name)).toEqual(['if_out']);
  expect((await runCli('verify', file, out, '--runs', '2')).code).toBe(0);
}, 60_000);

test('an If whose branch gives out its Parameter unchanged stays: the IR has no Identity to keep the output name', async () => {
  const w = new Weights();
  const passBody = [param(0, 'p_in', 'f32', [1, 4]), result(1, 'p_out', 'FP32', [1, 4])];
  const negBody = [param(0, 'e_in', 'f32', [1, 4]), layer(1, 'e_neg', 'Negative', 'opset1', { ins: [port(0, 'FP32', [1, 4])], outs: [port(1, 'FP32', [1, 4])] }), result(2, 'e_out', 'FP32', [1, 4])];
  const L = [
    constLayer(w, 0, 'cond', 'boolean', [], Buffer.from([1])),
    param(1, 'x', 'f32', [1, 4]),
    ifLayer(2, [1, 4], { layers: passBody, edges: [[0, 0, 1, 0]], result: 1 }, { layers: negBody, edges: [[0, 0, 1, 0], [1, 1, 2, 0]], result: 2 }),
    result(3, 'if_out/sink_port_0', 'FP32', [1, 4]),
  ];
  const file = save('if-pass', net('if', 11, L, [[0, 0, 2, 0], [1, 0, 2, 1], [2, 2, 3, 0]]), w);
  const out = file.replace(/\.xml$/, '-folded.xml');
  const r = await runCli('apply', path.join(ROOT, 'recipes/shape/fix-shape.yaml'), file, '-o', out);
  expect(r.code).toBe(0);
  expect(readModel(out).graph.nodes.map((n) => n.op)).toEqual(['If']);
});

/** The XML without the model's rt_info, where apply records the recipes it applied. */
const withoutRtInfo = (xml: string): string => xml.replace(/\t<rt_info>\n[\s\S]*?\t<\/rt_info>\n/, '');

test('a model whose bodies no rule touches is written back byte for byte', async () => {
  for (const file of [tiModel(), ifModel()]) {
    const copy = file.replace(/\.xml$/, '-copy.xml');
    expect((await runCli('copy', file, '-o', copy)).code).toBe(0);
    expect(fs.readFileSync(copy)).toEqual(fs.readFileSync(file));
    expect(fs.readFileSync(copy.replace(/\.xml$/, '.bin'))).toEqual(fs.readFileSync(file.replace(/\.xml$/, '.bin')));
    // A bundle that matches nothing adds only its record.
    const out = file.replace(/\.xml$/, '-bn.xml');
    expect((await runCli('apply', path.join(ROOT, 'recipes/core/batchnorm.yaml'), file, '-o', out)).code).toBe(0);
    expect(withoutRtInfo(fs.readFileSync(out, 'utf8'))).toBe(fs.readFileSync(file, 'utf8'));
    expect(fs.readFileSync(out.replace(/\.xml$/, '.bin'))).toEqual(fs.readFileSync(file.replace(/\.xml$/, '.bin')));
  }
});

test('a body that does not read stays opaque: the model reads and copies, and verify refuses it as malformed', async () => {
  const file = tiModel();
  // An edge inside the body to a layer that does not exist.
  const xml = fs.readFileSync(file, 'utf8').replace('<edge from-layer="12" from-port="1" to-layer="13" to-port="0" />', '<edge from-layer="12" from-port="1" to-layer="99" to-port="0" />');
  const broken = path.join(work, 'ti-broken.xml');
  fs.writeFileSync(broken, xml);
  fs.copyFileSync(file.replace(/\.xml$/, '.bin'), broken.replace(/\.xml$/, '.bin'));
  const model = readModel(broken);
  const ti = model.graph.nodes.find((n) => n.op === 'TensorIterator')!;
  expect(ti.subgraphs).toEqual([]);
  expect(() => ovBody(ti, 'body')).toThrow(/layer that does not exist/);

  const out = path.join(work, 'ti-broken-out.xml');
  const r = await runCli('apply', ABS, broken, '-o', out);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/abs-to-square-sqrt-openvino\s+0\s+0\s+0\s+0/);
  expect(withoutRtInfo(fs.readFileSync(out, 'utf8'))).toBe(xml);

  // As malformed as any other part of the model: exit 4, naming the layer and the edge.
  const v = await runCli('verify', broken, out);
  expect(v.code).toBe(4);
  expect(v.stderr).toMatch(/ti-broken\.xml: node 'abs \(layer id 12\)': edge 12 \(.*\) ends at a layer that does not exist/);
}, 60_000);
