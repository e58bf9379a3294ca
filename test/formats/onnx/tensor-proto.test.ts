import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeTensorProto } from '../../../src/formats/onnx';
import { StringData } from '../../../src/ir/tensor';
import { tempDir } from '../../helpers/corpus';
import { ONNX_CHECK, PYTHON } from '../../helpers/onnx-files';

// TensorProtos that keep their elements in the typed fields (float_data,
// int32_data, int64_data, double_data, uint64_data, string_data) instead of
// raw_data, made by python onnx's helper.make_tensor: the codec turns each into
// packed little-endian bytes with the values numpy reads from them.
const dir = tempDir('onnx-tensors-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('typed data fields decode to the values python onnx reads', () => {
  execFileSync(PYTHON, [ONNX_CHECK, 'tensors', dir]);
  const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Record<string, { dims: number[]; values: (number | string)[] }>;
  expect(Object.keys(expected).length).toBe(14);
  for (const [name, want] of Object.entries(expected)) {
    const file = path.join(dir, `${name}.pb`);
    const { name: decodedName, tensor } = decodeTensorProto(fs.readFileSync(file), { file, dir });
    expect(decodedName).toBe(name);
    expect([...tensor.shape]).toEqual(want.dims);
    let got: (number | string)[];
    if (tensor.data instanceof StringData) got = tensor.data.strings.map((s) => Buffer.from(s).toString('utf8'));
    else if (tensor.dtype === 'int64') got = [...tensor.toBigInt64()].map(String);
    else if (tensor.dtype === 'uint64') got = [...tensor.toBigInt64()].map((v) => BigInt.asUintN(64, v).toString());
    else got = [...tensor.toFloat64()];
    expect({ name, got }).toEqual({ name, got: want.values });
  }
});
