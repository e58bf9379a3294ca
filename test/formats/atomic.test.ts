import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readModel, writeModel } from '../../src/formats';
import { AtomicOutput, writeAll } from '../../src/formats/atomic';
import { UsageError } from '../../src/errors';
import { newOvModel, ovOp, ovParam } from '../helpers/openvino-build';
import { tempDir } from '../helpers/corpus';

// AtomicOutput writes each file under a temporary name, fsyncs it and renames
// it into place. Past 32 MB, the writeback of what is written so far starts
// early on a second descriptor of the file (write-behind): the tests count the
// process's descriptors of the file through /proc, so they run on Linux only.
const onLinux = process.platform === 'linux' ? describe : describe.skip;
const dir = tempDir('atomic-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const MB = 1 << 20;

/** Descriptors this process holds on `file` (under any of its names: the temporary one before the rename). */
function descriptorsOn(file: string): number {
  const target = fs.realpathSync(path.dirname(file));
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let link: string;
    try {
      link = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (link.startsWith(path.join(target, `.${path.basename(file)}.tmp-`)) || link === path.join(target, path.basename(file))) n++;
  }
  return n;
}

/** Lets the thread pool report the flushes in flight (their callbacks close the second descriptor). */
async function settled(file: string): Promise<void> {
  for (let i = 0; i < 200 && descriptorsOn(file) > 0; i++) await new Promise((r) => setTimeout(r, 10));
}

/** `mb` megabytes of a repeating pattern, written in 1 MB pieces, with the hash of what was written. */
function writePattern(fd: number, mb: number): string {
  const hash = createHash('sha256');
  const piece = Buffer.alloc(MB);
  for (let i = 0; i < mb; i++) {
    piece.fill(i & 0xff);
    writeAll(fd, piece);
    hash.update(piece);
  }
  return hash.digest('hex');
}

onLinux('AtomicOutput', () => {
  test('a large file: written under a temporary name with a second descriptor flushing behind, renamed whole on commit, every descriptor closed', async () => {
    const file = path.join(dir, 'large.bin');
    const out = new AtomicOutput(file);
    const fd = out.open(file);
    const written = writePattern(fd, 40);
    expect(fs.existsSync(file)).toBe(false);
    expect(descriptorsOn(file)).toBe(2);
    out.commit();
    expect(createHash('sha256').update(fs.readFileSync(file)).digest('hex')).toBe(written);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    await settled(file);
    expect(descriptorsOn(file)).toBe(0);
  });

  test('a small file never opens a second descriptor', () => {
    const file = path.join(dir, 'small.bin');
    const out = new AtomicOutput(file);
    const fd = out.open(file);
    writePattern(fd, 2);
    expect(descriptorsOn(file)).toBe(1);
    out.commit();
    expect(descriptorsOn(file)).toBe(0);
    expect(fs.statSync(file).size).toBe(2 * MB);
  });

  test('abort after the write-behind started: no file under either name, every descriptor closed', async () => {
    const file = path.join(dir, 'aborted.bin');
    const out = new AtomicOutput(file);
    writePattern(out.open(file), 40);
    out.abort();
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('.aborted.bin'))).toEqual([]);
    await settled(file);
    expect(descriptorsOn(file)).toBe(0);
  });

  test('a commit replaces an existing file only when every byte is written', async () => {
    const file = path.join(dir, 'replaced.bin');
    fs.writeFileSync(file, 'old');
    const out = new AtomicOutput(file);
    const fd = out.open(file);
    const written = writePattern(fd, 36);
    expect(fs.readFileSync(file, 'utf8')).toBe('old');
    out.commit();
    expect(createHash('sha256').update(fs.readFileSync(file)).digest('hex')).toBe(written);
    await settled(file);
    expect(descriptorsOn(file)).toBe(0);
  });
});

describe('temporary files when the process is stopped', () => {
  const ROOT = path.resolve(__dirname, '../..');

  test('one left by a process that no longer runs is removed by the next write of that output; others stay', () => {
    const file = path.join(dir, 'stale.bin');
    const ended = spawnSync(process.execPath, ['-e', '0']).pid;
    const stale = `.stale.bin.tmp-${ended}-mx0aq7ut`;
    // pid 1 always runs; another output's temporary file is not this write's business.
    const running = '.stale.bin.tmp-1-mx0aq7uu';
    const other = `.other.bin.tmp-${ended}-mx0aq7uv`;
    for (const n of [stale, running, other]) fs.writeFileSync(path.join(dir, n), 'x');
    const out = new AtomicOutput(file);
    writeAll(out.open(file), Buffer.from('new'));
    out.commit();
    const left = fs.readdirSync(dir);
    expect(left).not.toContain(stale);
    expect(left).toContain(running);
    expect(left).toContain(other);
    for (const n of [running, other]) fs.rmSync(path.join(dir, n));
  });

  test.each([['SIGTERM', 143], ['SIGINT', 130], ['SIGHUP', 129]] as const)('%s before the commit: the temporary files are removed and the process exits %i', (signal, code) => {
    const file = path.join(dir, `signalled-${signal}.bin`);
    // The built AtomicOutput in a process of its own, told to stop with its output open.
    const script = `
      const { AtomicOutput, writeAll } = require(${JSON.stringify(path.join(ROOT, 'dist/formats/atomic.js'))});
      const out = new AtomicOutput(${JSON.stringify(file)});
      writeAll(out.open(${JSON.stringify(file)}), Buffer.alloc(1 << 20));
      process.kill(process.pid, '${signal}');
      setTimeout(() => { out.commit(); process.exit(0); }, 5000);
    `;
    const r = spawnSync(process.execPath, ['-e', script], { timeout: 20_000 });
    expect(r.status).toBe(code);
    expect(fs.readdirSync(dir).filter((n) => n.startsWith(`.signalled-${signal}.bin.tmp-`) || n === path.basename(file))).toEqual([]);
  });
});

const testOnLinux = process.platform === 'linux' ? test : test.skip;

describe('outputs that are no regular file, and links', () => {
  const TINY = path.resolve(__dirname, '../../examples/tiny-bn.onnx');
  const leftovers = (): string[] => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(`recipe-output-${process.pid}-`));

  testOnLinux('a named pipe stays a pipe: the model goes through it whole, as it would go to a file', async () => {
    const fifo = path.join(dir, 'model.fifo');
    const received = path.join(dir, 'received.onnx');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('sh', ['-c', 'cat "$0" > "$1"', fifo, received]);
    const done = new Promise((resolve) => reader.on('close', resolve));
    const model = readModel(TINY);
    expect(writeModel(model, fifo)).toEqual([fifo]);
    await done;
    expect(fs.statSync(fifo).isFIFO()).toBe(true);
    expect(Buffer.compare(fs.readFileSync(received), fs.readFileSync(TINY))).toBe(0);
    expect(leftovers()).toEqual([]);
  });

  testOnLinux('a model that needs a file beside a pipe is refused before anything goes into the pipe', () => {
    const fifo = path.join(dir, 'ir.fifo');
    execFileSync('mkfifo', [fifo]);
    // An OpenVINO IR writes its .bin beside the .xml; nothing reads the pipe, so opening it would wait forever.
    const model = newOvModel('relu');
    const x = ovParam(model.graph, 'x', [1, 4]);
    model.graph.outputs = [ovOp(model.graph, 'Relu', 'opset1', [x], [[1, 4]], {}, 'relu').output(0)];
    let error: unknown;
    try {
      writeModel(model, fifo);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(/ir\.fifo is not a regular file, and the model needs .*ir\.fifo\.bin beside it/);
    expect(fs.statSync(fifo).isFIFO()).toBe(true);
    expect(leftovers()).toEqual([]);
  });

  test('a link to a file: the file is replaced, the link stays; a link to nothing makes its target', () => {
    const target = path.join(dir, 'target.onnx');
    const link = path.join(dir, 'link.onnx');
    fs.writeFileSync(target, 'old');
    fs.symlinkSync('target.onnx', link);
    expect(writeModel(readModel(TINY), link)).toEqual([target]);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(Buffer.compare(fs.readFileSync(target), fs.readFileSync(TINY))).toBe(0);

    const dangling = path.join(dir, 'dangling.onnx');
    fs.symlinkSync('made.onnx', dangling);
    writeModel(readModel(TINY), dangling);
    expect(fs.lstatSync(dangling).isSymbolicLink()).toBe(true);
    expect(fs.statSync(path.join(dir, 'made.onnx')).size).toBe(fs.statSync(TINY).size);
  });
});
