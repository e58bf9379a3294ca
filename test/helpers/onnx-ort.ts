import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { DType } from '../../src/ir/dtype';
import { BytesData, StringData, Tensor } from '../../src/ir/tensor';
import type { NamedTensors } from '../../src/verify/onnxruntime';

interface WireTensor {
  type: string;
  dims: number[];
  data: string;
}

/**
 * onnxruntime-node in a child process (see onnx-ort-runner.js for why): one
 * process for a whole test file, models run one after the other.
 */
export class OrtChild {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: ((line: string) => void)[] = [];

  constructor() {
    this.child = spawn(process.execPath, [path.join(__dirname, 'onnx-ort-runner.js')], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.resume();
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => this.waiting.shift()?.(line));
  }

  /** Runs `model` (a file) with `feeds`; rejects with onnxruntime's message when it cannot. */
  run(model: string, feeds: NamedTensors): Promise<NamedTensors> {
    const wire: Record<string, WireTensor> = {};
    for (const [name, t] of Object.entries(feeds)) wire[name] = toWire(t);
    return new Promise((resolve, reject) => {
      this.waiting.push((line) => {
        const reply = JSON.parse(line) as { outputs?: Record<string, WireTensor>; error?: string };
        if (reply.error !== undefined || !reply.outputs) reject(new Error(reply.error ?? 'no outputs'));
        else resolve(Object.fromEntries(Object.entries(reply.outputs).map(([n, w]) => [n, fromWire(w)])));
      });
      this.child.stdin.write(JSON.stringify({ model, feeds: wire }) + '\n');
    });
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

function toWire(t: Tensor): WireTensor {
  const dims = [...t.shape];
  if (t.data instanceof StringData) return { type: 'string', dims, data: JSON.stringify(t.data.strings.map((s) => Buffer.from(s).toString('base64'))) };
  return { type: t.dtype === 'float32' ? 'float32' : t.dtype, dims, data: Buffer.from(t.data.bytes()).toString('base64') };
}

function fromWire(w: WireTensor): Tensor {
  if (w.type === 'string') {
    return new Tensor('string', w.dims, new StringData((JSON.parse(w.data) as string[]).map((s) => new Uint8Array(Buffer.from(s, 'base64')))));
  }
  return new Tensor(w.type as DType, w.dims, new BytesData(new Uint8Array(Buffer.from(w.data, 'base64'))));
}
