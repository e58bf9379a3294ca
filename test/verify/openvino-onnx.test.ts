import { newOvModel, ovConst, ovOp, ovParam } from '../helpers/openvino-build';
import { TranslatedRunner, testValues } from '../helpers/openvino-translate';
import { Graph } from '../../src/ir/graph';
import { openvinoToOnnx, TranslationError } from '../../src/verify/openvino-onnx';
import { Translation } from '../../src/verify/openvino-onnx/translation';

let runner: TranslatedRunner;
beforeAll(() => {
  runner = new TranslatedRunner();
});
afterAll(() => runner.close());

describe('OpenVINO IR translated to ONNX', () => {
  it('keeps the Parameter names as inputs and the Result values as outputs, and computes Add + Relu', async () => {
    const m = newOvModel('net');
    const g = m.graph;
    const x = ovParam(g, 'x', [2, 3]);
    const b = ovConst(g, 'b', 'float32', [3], [0.5, -0.25, 0]);
    const add = ovOp(g, 'Add', 'opset1', [x, b], [[2, 3]], {}, 'add');
    const relu = ovOp(g, 'Relu', 'opset1', [add.output(0)], [[2, 3]], {}, 'relu');
    g.outputs = [relu.output(0), add.output(0)];
    const xs = testValues(6, 3);
    const out = await runner.run(m, { x: { shape: [2, 3], values: xs } });
    const sums = xs.map((v, i) => Math.fround(v) + [0.5, -0.25, 0][i % 3]!);
    expect(Object.keys(out).sort()).toEqual(['add_out', 'relu_out']);
    expect(out.add_out!.values).toEqual(sums.map(Math.fround));
    expect(out.relu_out!.values).toEqual(sums.map((s) => Math.fround(Math.max(0, s))));
  });

  it('translates layers given out of order (a file need not list producers first)', async () => {
    const m = newOvModel('net');
    const g = m.graph;
    const x = ovParam(g, 'x', [4]);
    const y = g.addValue('y', { dtype: 'float32', shape: [4] });
    const z = g.addValue('z', { dtype: 'float32', shape: [4] });
    g.addNode({ op: 'Abs', domain: 'opset1', name: 'abs', inputs: [y], outputs: [z] });
    g.addNode({ op: 'Subtract', domain: 'opset1', name: 'neg', inputs: [ovConst(g, 'zero', 'float32', [], [0]), x], outputs: [y] });
    g.outputs = [z];
    const out = await runner.run(m, { x: { shape: [4], values: [1, -2, 3, -4] } });
    expect(out.z!.values).toEqual([1, 2, 3, 4]);
  });

  it('names the first layer without a translation, and what is translated', () => {
    const m = newOvModel('net');
    const g = m.graph;
    const x = ovParam(g, 'x', [4]);
    const odd = ovOp(g, 'NoSuchOp', 'opset99', [x], [[4]], {}, 'odd_layer');
    g.outputs = [odd.output(0)];
    let error: unknown;
    try {
      openvinoToOnnx(m);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TranslationError);
    expect((error as Error).message).toBe("cannot translate OpenVINO layer 'odd_layer' (NoSuchOp, opset99) to ONNX: no translation for NoSuchOp yet");
    expect((error as TranslationError).hint).toMatch(/^translated ops: .*\bAdd\b.*\bConvolution\b/);
  });

  it('refuses inputs verify cannot feed (strings)', () => {
    const m = newOvModel('net');
    const g = m.graph;
    const s = ovParam(g, 'text', [1], 'string');
    g.outputs = [s];
    expect(() => openvinoToOnnx(m)).toThrow("cannot verify the OpenVINO model: input 'text' is string, and recipe verify feeds and compares numeric tensors only");
  });

  it('gives an output that is a Parameter itself its own name', async () => {
    const m = newOvModel('net');
    const g = m.graph;
    const x = ovParam(g, 'x', [2]);
    g.outputs = [x];
    const out = await runner.run(m, { x: { shape: [2], values: [1, 2] } });
    expect(out).toEqual({ x_1: { shape: [2], values: [1, 2], dtype: 'float32' } });
  });
});

describe('Translation.int64s', () => {
  it('saturates values read as doubles from INT64_MAX/INT64_MIN (2^63 would wrap to INT64_MIN: "to the end" would become "from the start")', () => {
    const t = new Translation(new Graph('g'));
    const v = t.int64s([2 ** 63, -(2 ** 63), 5, -1]);
    expect(Array.from(v.const!.toBigInt64())).toEqual([2n ** 63n - 1n, -(2n ** 63n), 5n, -1n]);
  });
});

describe('ports a rewrite added without a type or shape', () => {
  it('take the element type and rank of the layers upstream that keep them (OpenVINO infers both on load)', async () => {
    const m = newOvModel('net');
    const g = m.graph;
    const x = ovParam(g, 'x', [2, 3]);
    // As the abs rule writes it: Multiply and Sqrt outputs with no precision and no dims.
    const sq = g.addValue('sq');
    g.addNode({ op: 'Multiply', domain: 'opset1', name: 'mul', inputs: [x, x], outputs: [sq] });
    const root = g.addValue('root');
    g.addNode({ op: 'Sqrt', domain: 'opset1', name: 'sqrt', inputs: [sq], outputs: [root] });
    const f16 = g.addValue('half');
    g.addNode({ op: 'Convert', domain: 'opset1', name: 'to_f16', inputs: [root], outputs: [f16], attrs: new Map([['destination_type', { kind: 'string', value: 'f16' }]]) });
    const back = g.addValue('back', { dtype: 'float16', shape: [2, 3] });
    g.addNode({ op: 'Exp', domain: 'opset1', name: 'exp', inputs: [f16], outputs: [back] });
    g.outputs = [back];
    const xs = [-2, -1, 0, 0.5, 1, 3];
    const out = await runner.run(m, { x: { shape: [2, 3], values: xs } });
    // Exp of a float16 input is computed in float16: |x| rounded to half precision, its exp too.
    expect(out.back!.values.map((v) => Number(v.toPrecision(3)))).toEqual(xs.map((v) => Number(Math.exp(Math.abs(v)).toPrecision(3))));
  });
});

describe('a dynamic batch', () => {
  it('pools over static images whatever the batch (OpenVINO IR from a dynamic-batch export)', async () => {
    const m = newOvModel('net');
    const g = m.graph;
    const x = g.addValue('x', { dtype: 'float32', shape: [null, 1, 4, 4] });
    g.inputs.push(x);
    const pool = ovOp(g, 'MaxPool', 'opset1', [x], [[-1, 1, 2, 2]], { kernel: '2,2', strides: '2,2', pads_begin: '0,0', pads_end: '0,0', rounding_type: 'floor' }, 'pool');
    pool.outputs[0]!.shape = [null, 1, 2, 2];
    g.outputs = [pool.output(0)];
    const xs = Array.from({ length: 32 }, (_, i) => (i * 7) % 13);
    const out = (await runner.run(m, { x: { shape: [2, 1, 4, 4], values: xs } })).pool_out!;
    expect(out.shape).toEqual([2, 1, 2, 2]);
    const expected: number[] = [];
    for (let n = 0; n < 2; n++) {
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < 2; j++) {
          const at = (r: number, c: number): number => xs[n * 16 + r * 4 + c]!;
          expected.push(Math.max(at(2 * i, 2 * j), at(2 * i, 2 * j + 1), at(2 * i + 1, 2 * j), at(2 * i + 1, 2 * j + 1)));
        }
      }
    }
    expect(out.values).toEqual(expected);
  });
});
