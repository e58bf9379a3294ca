/**
 * TensorIterator-1 and Loop-5 translated to an ONNX Loop, If-8 to an ONNX
 * If, run in onnxruntime and compared with what the specification computes,
 * worked out here: a TensorIterator body h = x[t] * w + h (a back edge), its
 * per-step value concatenated along the sliced axis, forward and backward,
 * and the last h; a Loop by trip count and by its body's condition; both
 * branches of an If.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import { readModel } from '../../src/formats';
import { openvinoToOnnx } from '../../src/verify/openvino-onnx';
import { tempDir } from '../helpers/corpus';
import { binary, body, constLayer, type Edge, floats, int64s, layer, net, param, port, recurrentTensorIterator, result, Weights, ifLayer } from '../helpers/ir-xml';
import { TranslatedRunner, expectClose, testValues } from '../helpers/openvino-translate';

const work = tempDir('recipe-ov-ti-');
let runner: TranslatedRunner;
beforeAll(() => {
  runner = new TranslatedRunner();
});
afterAll(() => {
  runner.close();
  fs.rmSync(work, { recursive: true, force: true });
});

const T = 5;
const W = Array.from(new Float32Array(floats(4, 30).buffer.slice(0)));

/** x [1, T, 4] and h0 [1, 4] through a TensorIterator whose body is h = Squeeze(x[t]) * w + h; outputs ys [1, T, 4] and the last h. */
function tiModel(slicing: string): string {
  const w = new Weights();
  const ti = recurrentTensorIterator(w, 2, T, slicing);
  const L = [param(0, 'x', 'f32', [1, T, 4]), param(1, 'h0', 'f32', [1, 4]), ti, result(3, 'ti_y/sink_port_0', 'FP32', [1, T, 4]), result(4, 'ti_h/sink_port_0', 'FP32', [1, 4])];
  const E: Edge[] = [[0, 0, 2, 0], [1, 0, 2, 1], [2, 2, 3, 0], [2, 3, 4, 0]];
  const file = path.join(work, `ti-${fs.readdirSync(work).length}.xml`);
  fs.writeFileSync(file, net('ti', 11, L, E));
  fs.writeFileSync(file.replace(/\.xml$/, '.bin'), w.bytes());
  return file;
}

/** The recurrence over steps in `order`: each step's h (float32 rounding after each op), and the last. */
function recurrence(xs: number[], h0: number[], order: number[]): { perStep: number[][]; last: number[] } {
  const f = Math.fround;
  let h = h0.map(f);
  const perStep: number[][] = [];
  for (const t of order) {
    h = h.map((hv, c) => f(f(f(xs[t * 4 + c]!) * f(W[c]!)) + hv));
    perStep[t] = h;
  }
  return { perStep, last: h };
}

test.each([
  ['forward (start 0, end -1, stride 1)', 'start="0" end="-1" stride="1" part_size="1"', [0, 1, 2, 3, 4]],
  ['forward, the defaults', '', [0, 1, 2, 3, 4]],
  ['backward (start -1, end 0, stride -1)', 'start="-1" end="0" stride="-1" part_size="1"', [4, 3, 2, 1, 0]],
])('TensorIterator-1 %s: the per-step values along the sliced axis and the last h', async (_name, slicing, order) => {
  const model = readModel(tiModel(slicing));
  const xs = testValues(T * 4, 41);
  const h0 = testValues(4, 42);
  const out = await runner.run(model, { x: { shape: [1, T, 4], values: xs }, h0: { shape: [1, 4], values: h0 } });
  const want = recurrence(xs, h0, order);
  expect(out.ti_y!.shape).toEqual([1, T, 4]);
  // Output position t holds the value of the step that read x[t], in either direction.
  expectClose(out.ti_y!.values, want.perStep.flat(), 1e-6);
  expect(out.ti_h!.shape).toEqual([1, 4]);
  expectClose(out.ti_h!.values, want.last, 1e-6);
});

test('a slicing other than the whole axis one element at a time is refused by name', () => {
  const model = readModel(tiModel('start="1" end="-1" stride="1" part_size="1"'));
  expect(() => openvinoToOnnx(model)).toThrow(
    "cannot translate OpenVINO layer 'ti' (TensorIterator, opset1) to ONNX: port_map slicing start=1 end=-1 stride=1 part_size=1 over 5 elements is not translated (the whole axis, one element at a time, either way, is)",
  );
});

test('recipe apply --verify runs an IR with a TensorIterator in onnxruntime: the bundle changes nothing inside the body, the outputs agree', async () => {
  const file = tiModel('start="0" end="-1" stride="1" part_size="1"');
  const out = path.join(work, 'ti-out.xml');
  const lines: string[] = [];
  const io = { out: (s: string) => lines.push(s), err: (s: string) => lines.push(s), interactive: false };
  expect(await main(['apply', 'myriad', file, '-o', out, '--verify'], io)).toBe(0);
  expect(lines.join('')).toContain('outputs agree within the tolerance');
});

/**
 * A Loop-5 whose body is acc = acc + w * float(i) (i the current iteration,
 * a back edge on acc), with the last acc and each iteration's acc
 * concatenated along axis 0 as outputs. `trip` iterations, or with trip -1
 * until the body's condition i < `until` is false; 'input' makes the trip
 * count an i32 input of the model.
 */
function loopModel(trip: number | 'input', until: number, go = true): string {
  const w = new Weights();
  const bodyLayers = [
    param(0, 'it', 'i64', [1]),
    param(1, 'acc', 'f32', [1, 4]),
    param(2, 'w_in', 'f32', [1, 4]),
    layer(3, 'it_f', 'Convert', 'opset1', { data: 'destination_type="f32"', ins: [port(0, 'I64', [1])], outs: [port(1, 'FP32', [1])] }),
    binary(4, 'scaled', 'Multiply', [1, 4], [1], [1, 4]),
    binary(5, 'acc_add', 'Add', [1, 4], [1, 4], [1, 4]),
    result(6, 'acc_out', 'FP32', [1, 4]),
    constLayer(w, 7, 'limit', 'i64', [1], int64s(until)),
    layer(8, 'more', 'Less', 'opset1', { data: 'auto_broadcast="numpy"', ins: [port(0, 'I64', [1]), port(1, 'I64', [1])], outs: [port(2, 'BOOL', [1])] }),
    result(9, 'cond_out', 'BOOL', [1]),
    result(10, 'acc_each', 'FP32', [1, 4]),
  ];
  const bodyEdges: Edge[] = [[0, 0, 3, 0], [2, 0, 4, 0], [3, 1, 4, 1], [1, 0, 5, 0], [4, 2, 5, 1], [5, 2, 6, 0], [5, 2, 10, 0], [0, 0, 8, 0], [7, 0, 8, 1], [8, 2, 9, 0]];
  const loop = layer(4, 'loop', 'Loop', 'opset5', {
    ins: [port(0, 'I64', []), port(1, 'BOOL', []), port(2, 'FP32', [1, 4]), port(3, 'FP32', [1, 4])],
    outs: [port(4, 'FP32', [1, 4], 'loop_acc'), port(5, 'FP32', [-1, 4], 'loop_each')],
    extra:
      '\t\t\t<port_map>\n\t\t\t\t<input external_port_id="-1" internal_layer_id="0" purpose="current_iteration" />\n' +
      '\t\t\t\t<input external_port_id="2" internal_layer_id="1" />\n\t\t\t\t<input external_port_id="3" internal_layer_id="2" />\n' +
      '\t\t\t\t<output external_port_id="4" internal_layer_id="6" />\n' +
      '\t\t\t\t<output axis="0" external_port_id="5" internal_layer_id="10" />\n' +
      '\t\t\t\t<output external_port_id="-1" internal_layer_id="9" purpose="execution_condition" />\n\t\t\t</port_map>\n' +
      '\t\t\t<back_edges>\n\t\t\t\t<edge from-layer="6" to-layer="1" />\n\t\t\t</back_edges>\n' +
      body('body', bodyLayers, bodyEdges),
  });
  const L = [
    param(0, 'acc0', 'f32', [1, 4]),
    param(1, 'w', 'f32', [1, 4]),
    trip === 'input' ? param(2, 'trip', 'i32', [], '') : constLayer(w, 2, 'trip', 'i64', [], int64s(trip)),
    constLayer(w, 3, 'go', 'boolean', [], Buffer.from([go ? 1 : 0])),
    loop,
    result(5, 'loop_acc/sink_port_0', 'FP32', [1, 4]),
    result(6, 'loop_each/sink_port_0', 'FP32', [-1, 4]),
  ];
  const E: Edge[] = [[2, 0, 4, 0], [3, 0, 4, 1], [0, 0, 4, 2], [1, 0, 4, 3], [4, 4, 5, 0], [4, 5, 6, 0]];
  const file = path.join(work, `loop-${fs.readdirSync(work).length}.xml`);
  fs.writeFileSync(file, net('loop', 11, L, E));
  fs.writeFileSync(file.replace(/\.xml$/, '.bin'), w.bytes());
  return file;
}

test.each([
  ['a trip count of 3 (the condition stays true)', 3, 100, 3],
  ['trip count -1 until the body condition i < 4 fails (5 iterations)', -1, 4, 5],
])('Loop-5, %s: the last acc and every iteration\'s', async (_name, trip, until, ran) => {
  const model = readModel(loopModel(trip, until));
  const acc0 = testValues(4, 51);
  const wv = testValues(4, 52);
  const out = await runner.run(model, { acc0: { shape: [1, 4], values: acc0 }, w: { shape: [1, 4], values: wv } });
  const f = Math.fround;
  let acc = acc0.map(f);
  const each: number[][] = [];
  for (let i = 0; i < ran; i++) {
    acc = acc.map((a, c) => f(a + f(f(wv[c]!) * i)));
    each.push(acc);
  }
  expectClose(out.loop_acc!.values, acc, 1e-6);
  expect(out.loop_each!.shape).toEqual([ran, 4]);
  expectClose(out.loop_each!.values, each.flat(), 1e-6);
});

test.each([
  ['3: three iterations', 3, 3],
  ['-1: until the body condition i < 4 fails', -1, 5],
  ['0: none', 0, 0],
])('Loop-5 with a trip count computed at run time, %s', async (_name, trip, ran) => {
  const model = readModel(loopModel('input', 4));
  const acc0 = testValues(4, 55);
  const wv = testValues(4, 56);
  const out = await runner.run(model, { acc0: { shape: [1, 4], values: acc0 }, w: { shape: [1, 4], values: wv }, trip: { dtype: 'int32', shape: [], values: [trip] } });
  const f = Math.fround;
  let acc = acc0.map(f);
  for (let i = 0; i < ran; i++) acc = acc.map((a, c) => f(a + f(f(wv[c]!) * i)));
  expectClose(out.loop_acc!.values, acc, 1e-6);
  expect(out.loop_each!.shape).toEqual([ran, 4]);
});

test('Loop-5 whose condition is false from the start: no iteration, the carried output keeps its initial value', async () => {
  const model = readModel(loopModel(3, 100, false));
  const acc0 = testValues(4, 53).map(Math.fround);
  const out = await runner.run(model, { acc0: { shape: [1, 4], values: acc0 }, w: { shape: [1, 4], values: testValues(4, 54) } });
  expect(out.loop_acc!.values).toEqual(acc0);
  expect(out.loop_each!.shape).toEqual([0, 4]);
});

/** If-8: x * 2 when cond, else -x. */
function ifModel(): string {
  const w = new Weights();
  const thenBody = [param(0, 't_in', 'f32', [1, 4]), constLayer(w, 1, 'two', 'f32', [], Buffer.from(Float32Array.of(2).buffer)), binary(2, 't_mul', 'Multiply', [1, 4], [], [1, 4]), result(3, 't_out', 'FP32', [1, 4])];
  const elseBody = [param(0, 'e_in', 'f32', [1, 4]), layer(1, 'e_neg', 'Negative', 'opset1', { ins: [port(0, 'FP32', [1, 4])], outs: [port(1, 'FP32', [1, 4])] }), result(2, 'e_out', 'FP32', [1, 4])];
  const ifL = ifLayer(2, [1, 4], { layers: thenBody, edges: [[0, 0, 2, 0], [1, 0, 2, 1], [2, 2, 3, 0]], result: 3 }, { layers: elseBody, edges: [[0, 0, 1, 0], [1, 1, 2, 0]], result: 2 });
  const L = [param(0, 'cond', 'boolean', [], ''), param(1, 'x', 'f32', [1, 4]), ifL, result(3, 'if_out/sink_port_0', 'FP32', [1, 4])];
  const E: Edge[] = [[0, 0, 2, 0], [1, 0, 2, 1], [2, 2, 3, 0]];
  const file = path.join(work, `if-${fs.readdirSync(work).length}.xml`);
  fs.writeFileSync(file, net('if', 11, L, E));
  fs.writeFileSync(file.replace(/\.xml$/, '.bin'), w.bytes());
  return file;
}

test.each([
  [true, (x: number) => Math.fround(x * 2)],
  [false, (x: number) => -x],
])('If-8 with cond %s runs the branch it names', async (cond, branch) => {
  const model = readModel(ifModel());
  const xs = testValues(4, 61).map(Math.fround);
  const out = await runner.run(model, { cond: { dtype: 'bool', shape: [], values: [cond ? 1 : 0] }, x: { shape: [1, 4], values: xs } });
  expect(out.if_out!.values).toEqual(xs.map(branch));
});
