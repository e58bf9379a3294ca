import { decodeOnnx } from '../../../src/formats/onnx';
import { Encoder } from '../../../src/formats/onnx/encode';
import { GraphRec } from '../../../src/formats/onnx/records';
import { Sink } from '../../../src/formats/onnx/wire';
import type { Model } from '../../../src/ir/model';
import { Tensor } from '../../../src/ir/tensor';

function bytesOf(sink: Sink): Uint8Array {
  return new Uint8Array(Buffer.concat(sink.finish().map((c) => (c instanceof Uint8Array ? c : c.bytes()))));
}

/** A float[1] initializer (TensorProto: dims, data_type, name, raw_data). */
function initializer(out: Sink, name: string, value: number): void {
  out.open(5);
  out.tag(1, 0);
  out.varint(1);
  out.tag(2, 0);
  out.varint(1);
  out.stringField(8, name);
  out.tag(9, 2);
  out.varint(4);
  out.float32(value);
  out.close();
}

/** A float[1] graph input or output (ValueInfoProto with a tensor type). */
function valueInfo(out: Sink, field: number, name: string): void {
  out.open(field);
  out.stringField(1, name);
  out.open(2);
  out.open(1);
  out.tag(1, 0);
  out.varint(1);
  out.close();
  out.close();
  out.close();
}

/**
 * A model adding `inputs` (graph inputs, each with an initializer as default)
 * and a plain initializer `w`; initializers in `initOrder`, as a file may list
 * them in any order.
 */
function model(inputs: string[], initOrder: string[]): Uint8Array {
  const m = new Sink();
  m.tag(1, 0);
  m.varint(8);
  m.open(7);
  m.open(1);
  for (const i of [...inputs, 'w']) m.stringField(1, i);
  m.stringField(2, 'y');
  m.stringField(4, 'Sum');
  m.close();
  m.stringField(2, 'g');
  initOrder.forEach((name, i) => initializer(m, name, i + 1));
  for (const i of inputs) valueInfo(m, 11, i);
  valueInfo(m, 12, 'y');
  m.close();
  m.open(8);
  m.stringField(1, '');
  m.tag(2, 0);
  m.varint(13);
  m.close();
  return bytesOf(m);
}

function initializerNames(bytes: Uint8Array): string[] {
  const g = decodeOnnx(bytes).graph;
  return (g.native as GraphRec).initValues.map((v) => v.name);
}

function write(m: Model): Uint8Array {
  return bytesOf(new Encoder({ mode: 'keep', threshold: 1024, dataLocation: 'x.data', file: 'out.onnx' }).encodeModel(m));
}

describe('initializers of a changed graph: those read in file order, then the added ones', () => {
  test.each([
    [['a', 'b', 'w'], 'the order the values were created in'],
    [['w', 'a', 'b'], 'the plain initializer first'],
    [['b', 'a', 'w'], 'inputs\u2019 initializers in another order than the inputs (the merge falls back to a set)'],
    [['w', 'b', 'a'], 'both'],
  ])('%j (%s)', (order) => {
    const bytes = model(['a', 'b'], order);
    expect(initializerNames(bytes)).toEqual(order);
    const m = decodeOnnx(bytes);
    const g = m.graph;
    const extra = g.addConstant('c', Tensor.from('float32', [1], [9]));
    g.nodes[0]!.setInput(3, extra);
    // A removed one is left out, a replaced one keeps its place.
    const b = [...g.values].find((v) => v.name === 'b')!;
    b.const = Tensor.from('float32', [1], [7]);
    expect(initializerNames(write(m))).toEqual([...order, 'c']);
    const w = [...g.values].find((v) => v.name === 'w')!;
    g.nodes[0]!.setInput(2, extra);
    g.removeValue(w);
    expect(initializerNames(write(m))).toEqual([...order.filter((n) => n !== 'w'), 'c']);
  });
});
