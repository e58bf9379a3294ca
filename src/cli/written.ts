import * as path from 'node:path';

/** A path as the user would type it: relative below the working folder, absolute elsewhere. */
export function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

/** Files beyond the model's own that are still listed one by one (an IR's .bin, a few external data files). */
const LISTED_FILES = 4;

/**
 * The line that says what a write produced. A model whose tensors are stored
 * one file each (as PyTorch saves one over 2 GB) writes hundreds of files:
 * those are counted, not listed (`--report json` lists them all).
 */
export function writtenLine(written: readonly string[]): string {
  if (written.length <= LISTED_FILES + 1) return `wrote ${written.map(displayPath).join(', ')}`;
  const [model, ...data] = written;
  const folders = [...new Set(data.map((p) => displayPath(path.dirname(p))))];
  return `wrote ${displayPath(model!)} and ${data.length} external data files in ${folders.join(', ')}`;
}
