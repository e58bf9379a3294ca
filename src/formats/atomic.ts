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
    if (WRITE_BEHIND) writeBehind.set(fd, new WriteBehind(temp));
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
      endWriteBehind(fd);
    }
    for (const [finalPath, { temp }] of this.temps) fs.renameSync(temp, finalPath);
    this.temps.clear();
  }

  abort(): void {
    for (const { temp, fd } of this.temps.values()) {
      endWriteBehind(fd);
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

/** Writes all of `bytes` to `fd` (at `position` when given), looping over short writes. */
export function writeAll(fd: number, bytes: Uint8Array, position?: number): void {
  let at = 0;
  while (at < bytes.byteLength) {
    at += fs.writeSync(fd, bytes, at, bytes.byteLength - at, position === undefined ? null : position + at);
  }
  noteWritten(fd, bytes.byteLength);
}

/**
 * Write-behind: `commit()` must fsync each file before its rename (else a
 * crash soon after could leave the new name on a file whose data never
 * reached the disk), and for a large model that fsync waited for all of it
 * at once: 120 ms of a 0.8 s apply for a 284 MB model. Instead, every
 * WRITE_BEHIND_BYTES written, an fdatasync of what is written so far starts
 * in libuv's thread pool, so that the disk writes while the writer goes on
 * and the final fsync has only the tail left. It runs on a second descriptor
 * of the same file, owned here and closed when its last flush ends, so that
 * closing the writer's descriptor never races a flush still queued.
 * Not on Windows, where a file open twice cannot be renamed.
 */
const WRITE_BEHIND = process.platform !== 'win32';
const WRITE_BEHIND_BYTES = 32 << 20;

class WriteBehind {
  private unflushed = 0;
  private flushFd: number | undefined;
  /**
   * Flushes started and not yet reported. The writer writes synchronously, so
   * no callback runs until it is done: each flush is started without waiting
   * for the one before, and covers what that one did not.
   */
  private inFlight = 0;
  private ended = false;

  constructor(private readonly temp: string) {}

  wrote(bytes: number): void {
    this.unflushed += bytes;
    if (this.unflushed < WRITE_BEHIND_BYTES || this.ended) return;
    try {
      this.flushFd ??= fs.openSync(this.temp, 'r');
    } catch {
      // Only an early start of the writeback is lost: commit() still fsyncs.
      this.ended = true;
      return;
    }
    this.unflushed = 0;
    this.inFlight++;
    fs.fdatasync(this.flushFd, () => {
      // An error here shows again in commit()'s own fsync, which reports it.
      this.inFlight--;
      if (this.ended && this.inFlight === 0) this.close();
    });
  }

  /** No more writes: the second descriptor closes now, or when the last flush in flight ends. */
  end(): void {
    this.ended = true;
    if (this.inFlight === 0) this.close();
  }

  private close(): void {
    if (this.flushFd === undefined) return;
    fs.close(this.flushFd, () => {});
    this.flushFd = undefined;
  }
}

/** The write-behind of each file an AtomicOutput has open, by descriptor. */
const writeBehind = new Map<number, WriteBehind>();

/** Counts `bytes` written to `fd` (a file of an AtomicOutput or any other, which is ignored). */
export function noteWritten(fd: number, bytes: number): void {
  writeBehind.get(fd)?.wrote(bytes);
}

function endWriteBehind(fd: number): void {
  writeBehind.get(fd)?.end();
  writeBehind.delete(fd);
}
