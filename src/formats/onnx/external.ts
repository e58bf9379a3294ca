import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelError } from '../../errors';

/** Where a tensor's bytes sit outside the .onnx file (TensorProto.external_data). */
export interface ExternalRef {
  /** The `location` entry as written in the model. */
  location: string;
  offset: number;
  length: number;
  /** The data file, resolved (symlinks followed) and checked to be inside the model's folder. */
  resolved: string;
}

/**
 * Checks that `location` names a file inside `dir` and nowhere else: not an
 * absolute path, no `..`. Returns the joined path; symlinks are checked by
 * the callers once the path is resolved. `err` throws the caller's error.
 */
export function checkLocation(dir: string, location: string, err: (reason: string) => never): string {
  if (location === '') err('external data location is empty');
  if (location.includes('\0')) err('external data location contains a NUL byte');
  if (path.isAbsolute(location) || path.win32.isAbsolute(location) || /^[A-Za-z]:/.test(location)) {
    err(`external data location '${location}' is an absolute path; only files inside the model's folder are read`);
  }
  const parts = location.split(/[\\/]/);
  if (parts.includes('..')) err(`external data location '${location}' leaves the model's folder ('..')`);
  return path.join(dir, ...parts);
}

/** True when `child` is `parent` itself or inside it (both already resolved). */
function inside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * Opens an external data file for reading after every check a hostile model
 * calls for; returns the open descriptor and its size. The caller closes it.
 */
export function openExternalForRead(dir: string, location: string, err: (reason: string) => never): { fd: number; size: number; resolved: string } {
  const joined = checkLocation(dir, location, err);
  let realDir: string;
  let real: string;
  try {
    realDir = fs.realpathSync(dir);
    real = fs.realpathSync(joined);
  } catch (e) {
    err(`external data file '${location}' cannot be opened: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (!inside(realDir, real)) err(`external data location '${location}' resolves outside the model's folder (through a symlink)`);
  let fd: number;
  try {
    fd = fs.openSync(real, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
  } catch (e) {
    err(`external data file '${location}' cannot be opened: ${(e as Error).message}`);
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile()) {
    fs.closeSync(fd);
    err(`external data location '${location}' is not a regular file`);
  }
  if (st.nlink > 1) {
    fs.closeSync(fd);
    err(`external data file '${location}' has ${st.nlink} hard links; refusing a file that may be shared with a place outside the model's folder`);
  }
  return { fd, size: st.size, resolved: real };
}

/** Reads `length` bytes at `offset` of an external data file, re-checking it as it is now. */
export function readExternal(dir: string, ref: ExternalRef, at: number, length: number, err: (reason: string) => never): Uint8Array {
  const { fd, size } = openExternalForRead(dir, ref.location, err);
  try {
    if (ref.offset + ref.length > size) err(`external data file '${ref.location}' shrank: it now holds ${size} bytes, the tensor needs ${ref.offset + ref.length}`);
    const out = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = fs.readSync(fd, out, got, length - got, ref.offset + at + got);
      if (n === 0) err(`external data file '${ref.location}' ended early`);
      got += n;
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Checks, before writing, that an external data file name stays inside the
 * output model's folder: relative, no `..`, no existing symlink or hard-linked
 * file in the way. Returns the path to write; creates missing subfolders.
 */
export function checkWriteLocation(outDir: string, location: string, file: string): string {
  const fail = (reason: string): never => {
    throw new ModelError({ file }, reason, 'external data must be a plain file inside the output model\'s folder');
  };
  const joined = checkLocation(outDir, location, fail);
  const realDir = fs.realpathSync(outDir);
  const parent = path.dirname(joined);
  fs.mkdirSync(parent, { recursive: true });
  const realParent = fs.realpathSync(parent);
  if (realParent !== realDir && !inside(realDir, realParent)) fail(`external data location '${location}' resolves outside the output folder`);
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(joined);
  } catch {
    st = undefined;
  }
  if (st?.isSymbolicLink()) fail(`external data location '${location}' is a symlink; refusing to write through it`);
  if (st && !st.isFile()) fail(`external data location '${location}' exists and is not a regular file`);
  if (st && st.nlink > 1) fail(`external data file '${location}' has ${st.nlink} hard links; refusing to replace a shared file`);
  return path.join(realParent, path.basename(joined));
}
