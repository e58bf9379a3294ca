import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readOnnx } from '../../../src/formats/onnx';
import type { Attr } from '../../../src/ir/attr';
import type { Node } from '../../../src/ir/graph';
import { corpusOnnxModels, tempDir } from '../../helpers/corpus';
import { writeOnnxFile } from '../../helpers/onnx-files';

// A node's attributes are decoded when first asked for (a large graph's are
// mostly written back unread). What they decode to must be what python onnx
// reads from the same bytes. A node whose attributes hold a subgraph is
// decoded at once (rules reach inside If/Loop bodies through `subgraphs`), and
// so is one holding a tensor (writers look for external ones).
const dir = tempDir('onnx-lazy-attrs-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

type Dumped = [string, string, [string, string, unknown][]][];
const models = corpusOnnxModels();
const python: Record<string, Dumped> = JSON.parse(
  execFileSync('/usr/bin/python3', [path.join(__dirname, 'dump-attrs.py'), ...models], { maxBuffer: 64 << 20 }).toString(),
);

function plain(a: Attr): [string, unknown] {
  switch (a.kind) {
    case 'int':
      return ['int', Number(a.value)];
    case 'ints':
      return ['ints', a.value.map(Number)];
    case 'float':
      return ['float', a.value];
    case 'floats':
      return ['floats', [...a.value]];
    case 'string':
    case 'strings':
      return [a.kind, a.value];
    case 'tensor':
      return ['tensor', [...a.value.shape]];
    case 'tensors':
      return ['tensors', a.value.length];
    case 'graph':
    case 'graphs':
      return ['graph', a.kind === 'graph' ? 5 : 10];
    default:
      return ['other', a.kind];
  }
}

test.each(models.map((m) => [path.relative(path.dirname(path.dirname(m)), m), m]))('%s: attributes as python onnx reads them', (_, file) => {
  const graph = readOnnx(file).graph;
  const nodes = graph.nodes;
  const expected = python[file]!;
  expect(nodes.length).toBe(expected.length);
  let pending = 0;
  nodes.forEach((n: Node, i) => {
    const [name, op, attrs] = expected[i]!;
    expect([n.name, n.op]).toEqual([name, op]);
    const holdsGraph = attrs.some((a) => a[1] === 'graph');
    const holdsTensor = attrs.some((a) => a[1] === 'tensor' || a[1] === 'tensors');
    if (n.pendingAttrs) pending++;
    // Decoded now only if it holds a subgraph or a tensor; counted without decoding.
    expect(n.pendingAttrs === undefined).toBe(attrs.length === 0 || holdsGraph || holdsTensor);
    expect(n.attrCount).toBe(attrs.length);
    if (holdsGraph) expect(n.subgraphs.length).toBeGreaterThan(0);
    if (n.pendingAttrs) {
      // One attribute asked for is found by its name's bytes, the others left undecoded.
      for (const [k, kind, value] of attrs) {
        const one = n.attr(k);
        expect(one && plain(one)[0]).toBe(kind);
        if (kind !== 'float' && kind !== 'floats') expect(plain(one!)[1]).toEqual(value);
      }
      expect(n.attr(`${attrs[0]?.[0] ?? ''}_`)).toBeUndefined();
      expect(n.attr('')).toBeUndefined();
      expect(n.pendingAttrs).toBeDefined();
    }
    const ours = [...n.attrs].map(([k, a]) => [k, ...plain(a)]);
    for (const [k, kind, value] of attrs) {
      const mine = ours.find((o) => o[0] === k);
      expect(mine?.[1]).toBe(kind);
      if (kind === 'float') expect(mine?.[2]).toBeCloseTo(value as number, 6);
      else if (kind === 'floats') (mine?.[2] as number[]).forEach((x, j) => expect(x).toBeCloseTo((value as number[])[j]!, 6));
      else expect(mine?.[2]).toEqual(value);
    }
    expect(n.pendingAttrs).toBeUndefined();
  });
  expect(pending).toBe(expected.filter(([, , a]) => a.length > 0 && !a.some((x) => ['graph', 'tensor', 'tensors'].includes(x[1]))).length);
});

test('one attribute read through attr() leaves the others undecoded, and cannot be changed in place', () => {
  const file = models.find((m) => m.endsWith('ch_ppocr_mobile_v2.0_cls_infer.onnx'))!;
  const model = readOnnx(file);
  const conv = model.graph.nodes.find((n) => n.op === 'Conv' && n.pendingAttrs)!;
  const i = model.graph.nodes.indexOf(conv);
  const expected = python[file]![i]![2].find((a) => a[0] === 'strides')!;
  const strides = conv.attr('strides')!;
  expect(['strides', ...plain(strides)]).toEqual(expected);
  expect(conv.attr('no_such_attribute')).toBeUndefined();
  expect(conv.pendingAttrs).toBeDefined();
  expect(() => {
    (strides.value as number[])[0] = 3;
  }).toThrow(TypeError);
  // Changed through `attrs`, it is written.
  conv.attrs.set('strides', { kind: 'ints', value: [7, 7] });
  const out = path.join(dir, 'strides.onnx');
  writeOnnxFile(model, out);
  const back: Dumped = JSON.parse(execFileSync('/usr/bin/python3', [path.join(__dirname, 'dump-attrs.py'), out]).toString())[out];
  expect(back[i]![2].find((a) => a[0] === 'strides')).toEqual(['strides', 'ints', [7, 7]]);
});

test('an attribute changed after its node was decoded on first use is written; the other nodes stay as read', () => {
  const file = models.find((m) => m.endsWith('ch_ppocr_mobile_v2.0_cls_infer.onnx'))!;
  const model = readOnnx(file);
  const conv = model.graph.nodes.find((n) => n.op === 'Conv' && n.pendingAttrs)!;
  const others = model.graph.nodes.filter((n) => n !== conv && n.pendingAttrs).length;
  conv.attrs.set('group', { kind: 'int', value: 1 });
  conv.attrs.delete('dilations');
  const out = path.join(dir, 'edited.onnx');
  writeOnnxFile(model, out);
  // Writing decoded no other node's attributes.
  expect(model.graph.nodes.filter((n) => n !== conv && n.pendingAttrs).length).toBe(others);
  const back: Dumped = JSON.parse(execFileSync('/usr/bin/python3', [path.join(__dirname, 'dump-attrs.py'), out]).toString())[out];
  const before = python[file]!;
  const i = model.graph.nodes.indexOf(conv);
  expect(back[i]![2].find((a) => a[0] === 'dilations')).toBeUndefined();
  expect(back[i]![2].find((a) => a[0] === 'group')).toEqual(['group', 'int', 1]);
  expect(back.filter((_, j) => j !== i)).toEqual(before.filter((_, j) => j !== i));
});

test('attr() finds a name that is not ASCII by its UTF-8 bytes, and no prefix or extension of it', () => {
  const file = path.join(dir, 'utf8-names.onnx');
  execFileSync('/usr/bin/python3', [
    '-c',
    `import onnx, sys
from onnx import helper, TensorProto
n = helper.make_node('Relu', ['x'], ['y'], name='r', **{'\u03b1\u03b2': 1.5, 'k': 2, '\u03b1': [1, 2]})
g = helper.make_graph([n], 'g', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1])], [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1])])
onnx.save(helper.make_model(g), sys.argv[1])`,
    file,
  ]);
  const node = readOnnx(file).graph.nodes[0]!;
  expect(node.pendingAttrs).toBeDefined();
  expect(plain(node.attr('\u03b1\u03b2')!)).toEqual(['float', 1.5]);
  expect(node.attr('\u03b1')?.kind).toBe('ints');
  expect(node.attr('\u03b1\u03b2\u03b3')).toBeUndefined();
  expect(node.attr('\u03b2')).toBeUndefined();
  expect(Number(node.attr('k')?.value)).toBe(2);
  expect(node.pendingAttrs).toBeDefined();
});
