import * as fs from 'node:fs';
import * as path from 'node:path';
import { sniffOnnx } from '../../../src/formats/onnx';
import { NPM_CORPUS, corpusTfliteModels, corpusOpenvinoModels } from '../../helpers/corpus';
import { allOnnxModels } from '../../helpers/onnx-files';

// ONNX has no magic number: sniff() looks for plausible ModelProto fields.
function head(file: string): Uint8Array {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(64);
    return buf.subarray(0, fs.readSync(fd, buf, 0, 64, 0));
  } finally {
    fs.closeSync(fd);
  }
}

test('every real ONNX model is recognised, with or without its extension', () => {
  const missed = allOnnxModels().filter((f) => !sniffOnnx(head(f), f) || !sniffOnnx(head(f), f.replace(/\.onnx$/, '.bin')));
  expect(missed).toEqual([]);
});

test('TFLite and OpenVINO files are not taken for ONNX', () => {
  const others = [...corpusTfliteModels(), ...corpusOpenvinoModels()];
  expect(others.length).toBeGreaterThan(10);
  expect(others.filter((f) => sniffOnnx(head(f), f))).toEqual([]);
  expect(others.filter((f) => sniffOnnx(head(f), `${f}.onnx`))).toEqual([]);
});

test('text and junk are not ONNX, even named .onnx', () => {
  expect(sniffOnnx(new TextEncoder().encode('hello world, not a model'), 'x.onnx')).toBe(false);
  expect(sniffOnnx(new Uint8Array(64).fill(0xff), 'x.onnx')).toBe(false);
  expect(sniffOnnx(new Uint8Array(64), 'x.onnx')).toBe(false);
  expect(fs.existsSync(path.join(NPM_CORPUS))).toBe(true);
});
