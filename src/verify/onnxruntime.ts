import * as ort from 'onnxruntime-node';
import { UnsupportedError } from '../errors';
import { DTYPES, type DType } from '../ir/dtype';
import { StringData, Tensor, BytesData } from '../ir/tensor';
import { diffElements } from './compare';

/** Named tensors fed to or returned by a model run. */
export type NamedTensors = Record<string, Tensor>;

/** onnxruntime's tensor type name for each IR dtype it can hold. */
const ORT_TYPE: Partial<Record<DType, ort.Tensor.Type>> = {
  float32: 'float32',
  float64: 'float64',
  float16: 'float16',
  int8: 'int8',
  uint8: 'uint8',
  int16: 'int16',
  uint16: 'uint16',
  int32: 'int32',
  uint32: 'uint32',
  int64: 'int64',
  uint64: 'uint64',
  bool: 'bool',
  string: 'string',
  int4: 'int4',
  uint4: 'uint4',
};

export interface OrtRunOptions {
  /** onnxruntime graph optimizations; default 'all'. */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Threads per operator; default 1 (deterministic, and fair to a shared machine). */
  threads?: number;
  /** Output names to fetch; default every output of the model. */
  outputs?: readonly string[];
}

/** What a model's session says about one of its inputs. */
export interface OrtInputInfo {
  name: string;
  isTensor: boolean;
  /** onnxruntime's element type name, when a tensor. */
  type?: string;
  /** Dimensions; a string or negative number for a dimension left open. */
  shape?: readonly (number | string)[];
}

/**
 * Runs an ONNX model (a file path or its bytes) once in onnxruntime-node and
 * returns its outputs as IR tensors. Throws what onnxruntime throws when it
 * cannot load or run the model.
 */
export async function runOnnx(model: string | Uint8Array, feeds: NamedTensors, options: OrtRunOptions = {}): Promise<NamedTensors> {
  const session = await createSession(model, options);
  try {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrt(t);
    const out = options.outputs ? await session.run(ortFeeds, [...options.outputs]) : await session.run(ortFeeds);
    const result: NamedTensors = {};
    for (const [name, v] of Object.entries(out)) result[name] = fromOrt(v);
    return result;
  } finally {
    await session.release();
  }
}

/** The inputs a model's session expects (names, element types, shapes). */
export async function onnxInputs(model: string | Uint8Array): Promise<OrtInputInfo[]> {
  const session = await createSession(model, {});
  try {
    return session.inputMetadata.map((m) =>
      m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: m.shape } : { name: m.name, isTensor: false },
    );
  } finally {
    await session.release();
  }
}

function createSession(model: string | Uint8Array, options: OrtRunOptions): Promise<ort.InferenceSession> {
  const so: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: options.optimization ?? 'all',
    logSeverityLevel: 3,
    intraOpNumThreads: options.threads ?? 1,
    interOpNumThreads: 1,
  };
  return typeof model === 'string' ? ort.InferenceSession.create(model, so) : ort.InferenceSession.create(model, so);
}

/** Converts an IR tensor to an onnxruntime tensor (the bytes are copied into an aligned buffer). */
export function toOrt(t: Tensor): ort.Tensor {
  const type = ORT_TYPE[t.dtype];
  if (!type) throw new UnsupportedError(`onnxruntime-node cannot take a ${t.dtype} tensor`);
  const dims = [...t.shape];
  if (type === 'string') {
    if (!(t.data instanceof StringData)) throw new UnsupportedError('a string tensor without string data');
    return new ort.Tensor('string', t.data.strings.map((s) => Buffer.from(s).toString('utf8')), dims);
  }
  // A copy into a fresh, aligned buffer (Buffer#slice would be a view, not a copy).
  const bytes = new Uint8Array(t.data.bytes());
  const n = type === 'int4' || type === 'uint4' ? bytes.byteLength : t.size;
  const Ctor = typedArrayFor(type);
  return new ort.Tensor(type, new Ctor(bytes.buffer, 0, n) as ort.Tensor.DataType, dims);
}

type TypedArrayCtor = new (buffer: ArrayBuffer, offset: number, length: number) => ArrayBufferView;
const CTORS = new Map<string, TypedArrayCtor>();

/**
 * The typed-array class onnxruntime checks tensor data against, taken from a
 * tensor it builds itself: under jest the test's globals are another realm's,
 * and onnxruntime's `instanceof` checks would refuse them.
 */
function typedArrayFor(type: Exclude<ort.Tensor.Type, 'string'>): TypedArrayCtor {
  let ctor = CTORS.get(type);
  if (!ctor) {
    const zero = type === 'int64' || type === 'uint64' ? [0n] : [0];
    const probe = new ort.Tensor(type, zero as unknown as ort.Tensor.DataType, [1]);
    ctor = (probe.data as ArrayBufferView).constructor as TypedArrayCtor;
    CTORS.set(type, ctor);
  }
  return ctor;
}

/** Converts an onnxruntime tensor to an IR tensor (bytes copied). */
export function fromOrt(v: ort.Tensor): Tensor {
  const entry = Object.entries(ORT_TYPE).find(([, o]) => o === v.type);
  if (!entry) throw new UnsupportedError(`onnxruntime returned a ${v.type} tensor, which the IR does not hold`);
  const dtype = entry[0] as DType;
  const dims = v.dims.map(Number);
  if (v.type === 'string') {
    return new Tensor('string', dims, new StringData((v.data as string[]).map((s) => new Uint8Array(Buffer.from(s, 'utf8')))));
  }
  const data = v.data as ArrayBufferView;
  return new Tensor(dtype, dims, new BytesData(new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice()));
}

/** How two tensors differ: `ok` when equal within tolerance (NaN equals NaN, strings and integers exactly). */
export interface TensorComparison {
  ok: boolean;
  maxAbsDiff: number;
  reason?: string;
}

/** Compares `actual` to `expected` elementwise with |a - e| <= atol + rtol * |e|. */
export function compareTensors(actual: Tensor, expected: Tensor, tol: { rtol?: number; atol?: number } = {}): TensorComparison {
  const rtol = tol.rtol ?? 1e-3;
  const atol = tol.atol ?? 1e-5;
  if (actual.dtype !== expected.dtype) return { ok: false, maxAbsDiff: Infinity, reason: `dtype ${actual.dtype} vs ${expected.dtype}` };
  if (actual.shape.join() !== expected.shape.join()) {
    return { ok: false, maxAbsDiff: Infinity, reason: `shape [${actual.shape.join(', ')}] vs [${expected.shape.join(', ')}]` };
  }
  const kind = DTYPES[actual.dtype].kind;
  if (kind !== 'float') {
    const a = actual.data.bytes();
    const b = expected.data.bytes();
    const same = a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
    return same ? { ok: true, maxAbsDiff: 0 } : { ok: false, maxAbsDiff: Infinity, reason: 'elements differ' };
  }
  const a = actual.toFloat64();
  const b = expected.toFloat64();
  const diff = diffElements(b, a, atol, rtol);
  const bad = diff.firstBeyond;
  return bad < 0 ? { ok: true, maxAbsDiff: diff.maxAbsDiff } : { ok: false, maxAbsDiff: diff.maxAbsDiff, reason: `element ${bad}: ${a[bad]} vs ${b[bad]}` };
}
