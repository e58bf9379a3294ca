/** Reading OpenVINO `<data>` attributes as numbers (src/formats/openvino/attrs.ts). */
import { ovFloatAttr, ovFloatsAttr, ovIntsAttr } from '../../../src/formats/openvino/attrs';
import { Graph } from '../../../src/ir/graph';

function layer(attrs: Record<string, string>) {
  const g = new Graph('g');
  const x = g.addValue('x');
  return g.addNode({ op: 'LSTMSequence', domain: 'opset5', name: 'lstm', inputs: [x], outputs: ['y'], attrs: new Map(Object.entries(attrs).map(([k, v]) => [k, { kind: 'string' as const, value: v }])) });
}

test('infinities as OpenVINO writes them (inf, -inf; also infinity, +inf) and nan read as numbers', () => {
  const n = layer({ clip: 'inf', lo: '-inf', both: 'infinity, +inf,-Infinity', odd: 'nan' });
  expect(ovFloatAttr(n, 'clip')).toBe(Infinity);
  expect(ovFloatAttr(n, 'lo')).toBe(-Infinity);
  expect(ovFloatsAttr(n, 'both')).toEqual([Infinity, Infinity, -Infinity]);
  expect(ovFloatAttr(n, 'odd')).toBeNaN();
});

test('text that is no number is an error naming the attribute and the layer', () => {
  const n = layer({ clip: 'large', strides: '1,x' });
  expect(() => ovFloatAttr(n, 'clip')).toThrow(`attribute clip="large" of 'lstm' is not a list of numbers`);
  expect(() => ovIntsAttr(n, 'strides')).toThrow(`attribute strides="1,x" of 'lstm' is not a list of integers`);
});
