/**
 * `$n(...)` in a replacement on models read from real files, where every node
 * carries its codec's `native` record: the copy must get the op, domain and
 * attributes of the matched node but not its native record, so that the writer
 * encodes it from the IR (TFLite: builtin options for its op; OpenVINO: a new
 * layer of the node's opset). Each model is written, read back, rewritten by
 * recipes/transpose, written and read again.
 */
import * as path from 'node:path';
import { readModel, writeModel } from '../../src/formats';
import { isOvNodeNative } from '../../src/formats/openvino/native';
import { operatorNative } from '../../src/formats/tflite/native';
import { parseModel } from '../../src/ir';
import type { Model, Node } from '../../src/ir';
import { loadBundle, PACKS_DIR } from '../../src/recipe/bundle';
import { applyBundle } from '../../src/recipe/run';
import { tempDir } from '../helpers/corpus';

const dir = tempDir('recipe-node-copy-');
const TRANSPOSE = loadBundle([path.join(PACKS_DIR, 'transpose/transpose.yaml')]);

/** Writes `text` as a model file and reads it back, so its nodes carry native records. */
function readBack(model: Model, file: string): Model {
  writeModel(model, file);
  return readModel(file);
}

function only(model: Model, op: string): Node {
  const found = model.graph.nodes.filter((n) => n.op === op);
  expect(found).toHaveLength(1);
  return found[0]!;
}

const cases = [
  {
    format: 'onnx',
    ext: 'onnx',
    rule: 'transpose-around-unary-onnx',
    op: 'LeakyRelu',
    domain: '',
    text: `model onnx
opsets ai.onnx:17
graph main
  in x: float32[1, 3, 4, 5]
  t1: a: float32[1, 4, 5, 3] = Transpose(x) {perm: [0, 2, 3, 1]}
  lr: b: float32[1, 4, 5, 3] = LeakyRelu(a) {alpha: 0.2}
  t2: y: float32[1, 3, 4, 5] = Transpose(b) {perm: [0, 3, 1, 2]}
  out y
`,
    alpha: (n: Node) => n.attr('alpha'),
    expected: { kind: 'float', value: expect.closeTo(0.2, 6) },
    nativeCheck: (n: Node) => expect(n.native).toBeDefined(),
  },
  {
    format: 'tflite',
    ext: 'tflite',
    rule: 'transpose-around-unary-tflite',
    op: 'LEAKY_RELU',
    domain: '',
    text: `model tflite
graph main
  in x: float32[1, 4, 5, 3]
  const p1: int32[4] = [0, 3, 1, 2]
  const p2: int32[4] = [0, 2, 3, 1]
  t1: a: float32[1, 3, 4, 5] = TRANSPOSE(x, p1)
  lr: b: float32[1, 3, 4, 5] = LEAKY_RELU(a) {alpha: 0.2}
  t2: y: float32[1, 4, 5, 3] = TRANSPOSE(b, p2)
  out y
`,
    alpha: (n: Node) => n.attr('alpha'),
    expected: { kind: 'float', value: expect.closeTo(0.2, 6) },
    // read back, the copy's options came from LeakyReluOptions written for it
    nativeCheck: (n: Node) => expect(operatorNative(n)?.optionsTable).toBe('LeakyReluOptions'),
  },
  {
    format: 'openvino',
    ext: 'xml',
    rule: 'transpose-around-unary-openvino',
    op: 'Elu',
    domain: 'opset1',
    text: `model openvino
graph main
  in x: float32[1, 3, 4, 5]
  const p1: int64[4] = [0, 2, 3, 1]
  const p2: int64[4] = [0, 3, 1, 2]
  t1: a: float32[1, 4, 5, 3] = opset1::Transpose(x, p1)
  e: b: float32[1, 4, 5, 3] = opset1::Elu(a) {alpha: "0.5"}
  t2: y: float32[1, 3, 4, 5] = opset1::Transpose(b, p2)
  out y
`,
    alpha: (n: Node) => n.attr('alpha'),
    expected: { kind: 'string', value: '0.5' },
    nativeCheck: (n: Node) => expect(isOvNodeNative(n.native)).toBe(true),
  },
] as const;

describe.each(cases)('$format: the copy of a node read from a file', (c) => {
  it('keeps op, domain and attributes, leaves the native record behind, and is written from the IR', () => {
    const model = readBack(parseModel(c.text), path.join(dir, `in.${c.ext}`));
    const original = only(model, c.op);
    expect(original.native).toBeDefined();

    const report = applyBundle(model, TRANSPOSE);
    expect(report.rules.find((r) => r.id === c.rule)?.rewrites).toBe(1);
    expect(model.graph.nodes.map((n) => n.op)).toEqual([c.op]);
    const copy = only(model, c.op);
    expect(copy).not.toBe(original);
    expect(copy.native).toBeUndefined();
    expect(copy.domain).toBe(c.domain);
    // (ONNX keeps the attribute's encoded bytes on the Attr: the same attribute, valid on any node)
    expect(c.alpha(copy)).toMatchObject(c.expected);
    expect(copy.input(0)).toBe(model.graph.inputs[0]);

    const again = readBack(model, path.join(dir, `out.${c.ext}`));
    const written = only(again, c.op);
    expect(written.domain).toBe(c.domain);
    expect(c.alpha(written)).toMatchObject(c.expected);
    expect(written.input(0)?.name).toBe('x');
    c.nativeCheck(written);
  });
});
