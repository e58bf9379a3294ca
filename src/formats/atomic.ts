import * as fs from 'node:fs';
import * as path from 'node:path';
import type { OutputFiles } from './adapter';

/**
 * Writes a set of files all or nothing: each goes to a temporary name in its
 * final folder and is renamed into place by `commit()`; `abort()` removes the
 * temporaries. Renames in one folder are atomic, so a reader sees the old
 * model or the new one, never a half-written file.
 */
export class AtomicOutput implements OutputFiles {
  private readonly temps = new Map<string, { temp: string; fd: number }>();
  private readonly token = `${process.pid}-${Date.now().toString(36)}`;

  constructor(readonly mainPath: string) {}

  open(finalPath: string): number {
    const resolved = path.resolve(finalPath);
    const existing = this.temps.get(resolved);
    if (existing) return existing.fd;
    const temp = path.join(path.dirname(resolved), `.${path.basename(resolved)}.tmp-${this.token}`);
    const fd = fs.openSync(temp, 'wx', 0o644);
    this.temps.set(resolved, { temp, fd });
    return fd;
  }

  /** Final paths written so far. */
  get paths(): string[] {
    return [...this.temps.keys()];
  }

  commit(): void {
    for (const { fd } of this.temps.values()) {
      fs.fsyncSync(fd);
      fs.closeSync(fd);
    }
    for (const [finalPath, { temp }] of this.temps) fs.renameSync(temp, finalPath);
    this.temps.clear();
  }

  abort(): void {
    for (const { temp, fd } of this.temps.values()) {
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
      fs.rmSync(temp, { force: true });
    }
    this.temps.clear();
  }
}

/** Writes all of `bytes` to `fd`, looping over short writes. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.byteLength) at += fs.writeSync(fd, bytes, at, bytes.byteLength - at);
}
