import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { WriteOptions } from '../../src/formats/adapter';
import { writeOnnx, type OnnxWriteExtras } from '../../src/formats/onnx';
import type { Model } from '../../src/ir/model';
import { ONNX_TESTDATA, ROOT, corpusOnnxModels, findFiles } from './corpus';

/** The Debian python with onnx (the reference serializer). */
export const PYTHON = '/usr/bin/python3';
export const ONNX_CHECK = path.join(ROOT, 'test/helpers/onnx-check.py');

/** Every model.onnx of libonnx-testdata's node/, pytorch-converted/, pytorch-operator/ and simple/, sorted. */
export function testdataModels(): string[] {
  return ['node', 'pytorch-converted', 'pytorch-operator', 'simple'].flatMap((d) => findFiles(path.join(ONNX_TESTDATA, d), ['model.onnx']));
}

/** libonnx-testdata models plus the npm corpus's ONNX models. */
export function allOnnxModels(): string[] {
  return [...testdataModels(), ...corpusOnnxModels()];
}

/**
 * Writes a model with the ONNX writer to `file` (and data files beside it),
 * without the fsync of the CLI's atomic output: tests write thousands.
 */
export function writeOnnxFile(model: Model, file: string, options: WriteOptions = {}, extras: OnnxWriteExtras = {}): string[] {
  const fds = new Map<string, number>();
  try {
    writeOnnx(model, { mainPath: path.resolve(file), open: (p) => {
      const fd = fs.openSync(p, 'w');
      fds.set(p, fd);
      return fd;
    } }, options, extras);
  } finally {
    for (const fd of fds.values()) fs.closeSync(fd);
  }
  return [...fds.keys()];
}

/** Result of the Python reference check of one [original, written] pair. */
export interface PythonCheck {
  equal: boolean;
  checker_original: string | null;
  checker_written: string | null;
}

/** Runs onnx-check.py once over every pair. */
export function pythonCheck(pairs: readonly [string, string][], workDir: string): PythonCheck[] {
  const list = path.join(workDir, 'pairs.json');
  fs.writeFileSync(list, JSON.stringify(pairs));
  const out = execFileSync(PYTHON, [ONNX_CHECK, 'check', list], { maxBuffer: 256 << 20 }).toString();
  return out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as PythonCheck);
}

/** Applies named edits with Python's onnx (see onnx-check.py) and returns the bytes it saves. */
export function pythonEdit(src: string, edits: object[], workDir: string): Buffer {
  const list = path.join(workDir, 'edits.json');
  const out = path.join(workDir, 'python-edit.onnx');
  fs.writeFileSync(list, JSON.stringify(edits));
  execFileSync(PYTHON, [ONNX_CHECK, 'edit', src, out, list]);
  return fs.readFileSync(out);
}
