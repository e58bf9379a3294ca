import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { OutputFiles } from './adapter';

/**
 * Writes a set of files all or nothing: each goes to a temporary name in its
 * final folder and is renamed into place by `commit()`; `abort()` removes the
 * temporaries. Renames in one folder are atomic, so a reader sees the old
 * model or the new one, never a half-written file.
 *
 * An output that is a symbolic link is written through it (the link stays).
 * An output that exists and is no regular file (`-o /dev/null`, a named pipe)
 * is not renamed over, which would put a regular file in the place of the
 * device (as root, in /dev): the model is written whole to a temporary file
 * and copied into it at commit. Files beside such an output (external data,
 * an IR's .bin) are refused, for they would land next to the device.
 */
export class AtomicOutput implements OutputFiles {
  /** Open files by final path. `special`: the final file is a device or a pipe, copied into at commit. */
  private readonly temps = new Map<string, { temp: string; fd: number; special: boolean }>();
  private readonly token = `${process.pid}-${Date.now().toString(36)}`;
  /** The main output exists and is a device, a pipe or a socket. */
  private readonly mainIsSpecial: boolean;

  constructor(readonly mainPath: string) {
    this.mainIsSpecial = isSpecialFile(mainPath);
  }

  open(finalPath: string): number {
    // A device or a pipe is opened by the name given (/dev/stdout's link leads to a name like 'pipe:[123]').
    const resolved = this.mainIsSpecial ? path.resolve(finalPath) : throughLinks(path.resolve(finalPath));
    const existing = this.temps.get(resolved);
    if (existing) return existing.fd;
    if (this.mainIsSpecial) {
      if (resolved !== path.resolve(this.mainPath)) {
        throw new SpecialOutputError(`${this.mainPath} is not a regular file, and the model needs ${resolved} beside it`);
      }
      // Written whole to a temporary file first: nothing reaches the device unless the model is complete.
      const temp = path.join(os.tmpdir(), `recipe-output-${this.token}-${path.basename(resolved)}`);
      const fd = fs.openSync(temp, 'wx', 0o600);
      this.temps.set(resolved, { temp, fd, special: true });
      return fd;
    }
    removeStaleTemps(resolved);
    const temp = path.join(path.dirname(resolved), `.${path.basename(resolved)}.tmp-${this.token}`);
    const fd = fs.openSync(temp, 'wx', 0o644);
    this.temps.set(resolved, { temp, fd, special: false });
    cleanUpOnSignal(this);
    if (WRITE_BEHIND) writeBehind.set(fd, new WriteBehind(temp));
    return fd;
  }

  /** Final paths written so far (a symbolic link's target, not the link). */
  get paths(): string[] {
    return [...this.temps.keys()];
  }

  commit(): void {
    for (const { fd, special } of this.temps.values()) {
      // What goes to a device or a pipe has nothing to make durable.
      if (!special) fs.fsyncSync(fd);
      fs.closeSync(fd);
      endWriteBehind(fd);
    }
    for (const [finalPath, { temp, special }] of this.temps) {
      if (special) {
        copyInto(temp, finalPath);
        fs.rmSync(temp, { force: true });
      } else fs.renameSync(temp, finalPath);
    }
    this.temps.clear();
    live.delete(this);
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
    live.delete(this);
  }
}

/** Outputs with temporary files on disk. */
const live = new Set<AtomicOutput>();
let signalsHandled = false;

/**
 * Removes an output's temporary files when the process is told to stop
 * (Ctrl-C, `kill`, a closed terminal), instead of dying with them on disk:
 * each can be as large as the model. The write itself is one synchronous
 * step, so a signal that comes during it is handled when it is done (and
 * committed); the process then exits as the signal asked (128 + its number).
 */
function cleanUpOnSignal(output: AtomicOutput): void {
  live.add(output);
  if (signalsHandled) return;
  signalsHandled = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      for (const o of [...live]) o.abort();
      process.exit(128 + os.constants.signals[signal]);
    });
  }
}

/**
 * Temporary files of `finalPath` left by a process that no longer runs
 * (killed with SIGKILL, out of memory, the machine stopped), removed before
 * a new write of the same output. The process id is in the name.
 */
function removeStaleTemps(finalPath: string): void {
  const dir = path.dirname(finalPath);
  const prefix = `.${path.basename(finalPath)}.tmp-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.startsWith(prefix));
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid || isRunning(pid)) continue;
    fs.rmSync(path.join(dir, name), { force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it runs, as another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Copies a file's bytes into a device or a pipe, in order. */
function copyInto(from: string, to: string): void {
  const input = fs.openSync(from, 'r');
  let output: number | undefined;
  try {
    output = fs.openSync(to, 'w');
    const chunk = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(input, chunk, 0, chunk.byteLength, null);
      if (n === 0) break;
      let done = 0;
      while (done < n) done += fs.writeSync(output, chunk, done, n - done);
    }
  } finally {
    fs.closeSync(input);
    if (output !== undefined) fs.closeSync(output);
  }
}

/** A file beside an output that is no regular file: refused before anything lands next to a device. */
export class SpecialOutputError extends Error {}

/**
 * The file a path names, symbolic links followed: the rename goes over the
 * link's target, not over the link (`-o out.onnx` where out.onnx links to
 * a file elsewhere, or `-o /dev/stdout` redirected to a file, must not
 * replace the link). A link to nothing yet names the file to create.
 */
function throughLinks(file: string): string {
  let current = file;
  for (let depth = 0; depth < 40; depth++) {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(current);
    } catch {
      return current;
    }
    if (!st.isSymbolicLink()) return current;
    current = path.resolve(path.dirname(current), fs.readlinkSync(current));
  }
  return current;
}

/** Whether `file` exists and is neither a regular file nor a folder (a device, a FIFO, a socket), links followed. */
function isSpecialFile(file: string): boolean {
  try {
    const st = fs.statSync(file);
    return !st.isFile() && !st.isDirectory();
  } catch {
    return false;
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
