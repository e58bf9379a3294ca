import { execFileSync } from 'node:child_process';
import { decodeOnnx } from '../../../src/formats/onnx';

// A name held by two values (invalid ONNX, but read as it is): every reader
// gets the first value of that name, whether it is found through the name
// table or next to the node reading it (the decoder looks at the last few
// nodes and the next initializers before the table).
function model(script: string): Uint8Array {
  const py = `
import sys, numpy as np
from onnx import helper as h, TensorProto as T, numpy_helper as nh
x = h.make_tensor_value_info('x', T.FLOAT, [2])
${script}
sys.stdout.buffer.write(h.make_model(g, opset_imports=[h.make_opsetid('', 13)]).SerializeToString())
`;
  return new Uint8Array(execFileSync('/usr/bin/python3', ['-c', py]));
}

test('an output named like an earlier output: readers get the first', () => {
  const bytes = model(`
nodes = [h.make_node('Relu', ['x'], ['y'], name='a'), h.make_node('Neg', ['x'], ['y'], name='b'), h.make_node('Abs', ['y'], ['z'], name='c')]
g = h.make_graph(nodes, 'g', [x], [h.make_tensor_value_info('z', T.FLOAT, [2])])`);
  const g = decodeOnnx(bytes).graph;
  const [a, b, c] = g.nodes;
  expect(c!.inputs[0]).toBe(a!.outputs[0]);
  expect(c!.inputs[0]).not.toBe(b!.outputs[0]);
  expect(g.findValue('y')).toBe(a!.outputs[0]);
});

test('an output named like an initializer: readers get the initializer', () => {
  const bytes = model(`
w = nh.from_array(np.ones(2, np.float32), 'w')
nodes = [h.make_node('Relu', ['x'], ['w'], name='a'), h.make_node('Add', ['x', 'w'], ['z'], name='b')]
g = h.make_graph(nodes, 'g', [x], [h.make_tensor_value_info('z', T.FLOAT, [2])], [w])`);
  const g = decodeOnnx(bytes).graph;
  const [a, b] = g.nodes;
  expect(b!.inputs[1]!.const).toBeDefined();
  expect(b!.inputs[1]).not.toBe(a!.outputs[0]);
});

test('without shared names, inputs far from their producer and initializers out of order still resolve', () => {
  const bytes = model(`
inits = [nh.from_array(np.full(2, i, np.float32), f'c{i}') for i in range(12)]
nodes = [h.make_node('Relu', ['x'], ['r0'], name='n0')]
for i in range(1, 12):
    nodes.append(h.make_node('Add', [f'r{i-1}', f'c{11 - i}'], [f'r{i}'], name=f'n{i}'))
nodes.append(h.make_node('Sum', ['r0', 'r11', 'c11', 'c0'], ['z'], name='sum'))
g = h.make_graph(nodes, 'g', [x], [h.make_tensor_value_info('z', T.FLOAT, [2])], inits)`);
  const g = decodeOnnx(bytes).graph;
  for (const n of g.nodes) {
    for (const v of n.inputs) expect(v).toBe(g.findValue(v!.name));
  }
  const sum = g.nodes[g.nodes.length - 1]!;
  expect(sum.inputs.map((v) => v!.name)).toEqual(['r0', 'r11', 'c11', 'c0']);
  expect(sum.inputs[0]!.producer).toBe(g.nodes[0]);
  expect(sum.inputs[3]!.const!.toFloat64()[0]).toBe(0);
});
