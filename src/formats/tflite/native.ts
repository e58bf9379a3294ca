import type { Graph, Value, Node } from '../../ir/graph';
import type { Model } from '../../ir/model';
import type { TensorData } from '../../ir/tensor';
import type { FbTable, UnknownField } from './flatbuf/reader';
import type { TextMetadataAtRead } from './metadata';
import type * as fb from './schema/schema.generated';

/** One entry of Model.buffers as read: where its bytes are and how they were stored. */
export interface BufferEntry {
  /** The Buffer table without its data (offset/size and any other field). */
  table: fb.Buffer;
  /** The bytes, when the buffer has any: a view over the file, or read on demand. */
  data?: TensorData;
  /** Stored after the flatbuffer with offset/size (models over 2 GB), not as a vector. */
  external: boolean;
  /** How many tensors read it when the file was read (buffers no tensor reads any more are emptied on write). */
  tensorRefs: number;
}

/** One entry of a SignatureDef: its alias, its tensor, and which graph input or output that tensor was. */
export interface SignatureTensor {
  name?: string;
  value: Value;
  /** Position among the subgraph's inputs (or outputs) when read: a rewrite that replaces that value is followed. */
  position?: number;
}

/** A SignatureDef with its tensors as IR values, so that rewrites keep it right. */
export interface SignatureNative {
  table: fb.SignatureDef;
  inputs: SignatureTensor[];
  outputs: SignatureTensor[];
}

/** What the TFLite codec keeps on Model.native. */
export interface TfliteModelNative {
  format: 'tflite';
  /** The Model table without subgraphs, buffers and signature defs (kept below). */
  root: fb.Model;
  buffers: BufferEntry[];
  signatures: SignatureNative[];
  /** How many operators used each operator code when the file was read (codes no operator uses any more are dropped on write). */
  opcodeUses: number[];
  /** The file has a buffers vector, even an empty one. */
  buffersPresent: boolean;
  /** The file has a signature_defs vector, even an empty one. */
  signaturesPresent: boolean;
  /** Fields of the file this schema does not know: reported, not written back. */
  unknownFields: UnknownField[];
  /** The metadata entries read as text into Model.metadata (the rest of `root.metadata` is binary). */
  metadataAtRead: TextMetadataAtRead[];
  /** The Model table as read, whole: a model whose tables would be written as they are gets its file back as read. */
  asRead: fb.Model;
  /**
   * The file's bytes, when it was read whole (up to 2 GB). A larger file is
   * always encoded anew: copied as it was, the gaps a writer may leave between
   * its tables and its data past 2 GB would be copied too.
   */
  file?: Uint8Array;
  /** The file has the identifier TFL3, without which LiteRT refuses it: one without is always encoded anew, with it. */
  identified: boolean;
  /**
   * Bytes after everything the flatbuffer refers to, when any is not zero:
   * what TFLite's metadata writer appends (a zip of associated files, such
   * as a label map). They follow the model whenever it is written.
   */
  trailing?: TensorData;
}

/** What the codec keeps on Graph.native: the SubGraph table without tensors and operators. */
export interface TfliteGraphNative {
  format: 'tflite';
  subgraph: fb.SubGraph;
  /** The vectors the file left out (an empty one is written for them only when they get entries). */
  absent?: ('tensors' | 'inputs' | 'outputs' | 'operators')[];
}

/** What the codec keeps on Value.native: the Tensor table as read, and where its data came from. */
export interface TfliteTensorNative {
  format: 'tflite';
  tensor: fb.Tensor;
  /** The TensorData made from the tensor's buffer at read time: unchanged data keeps its buffer. */
  data?: TensorData;
}

/** What the codec keeps on Node.native. */
export interface TfliteOperatorNative {
  format: 'tflite';
  /** The Operator table as read, options and tensor lists included. */
  operator: fb.Operator;
  opcode: fb.OperatorCode;
  /** The op and domain the node had when read: a renamed node gets its options table anew. */
  op: string;
  domain: string;
  /** Which attributes came from which options union. */
  optionsTable?: string;
  options2Table?: string;
  /** The union's type was set and its table left out (read as all defaults): left out again while it still is. */
  optionsAbsent?: boolean;
  options2Absent?: boolean;
  /** Deprecated fields set in the options, written back as read. */
  deprecatedOptions?: FbTable;
  deprecatedOptions2?: FbTable;
  /** Operator.intermediates as values of the graph. */
  intermediates: (Value | null)[];
  /** The custom options read from after the flatbuffer (large_custom_options_offset), as put in the node's attribute. */
  largeCustomOptions?: Uint8Array;
}

function isNative<T extends { format: string }>(x: unknown): x is T {
  return typeof x === 'object' && x !== null && (x as { format?: unknown }).format === 'tflite';
}

export function modelNative(m: Model): TfliteModelNative | undefined {
  return isNative<TfliteModelNative>(m.native) ? m.native : undefined;
}
export function graphNative(g: Graph): TfliteGraphNative | undefined {
  return isNative<TfliteGraphNative>(g.native) ? g.native : undefined;
}
export function tensorNative(v: Value): TfliteTensorNative | undefined {
  return isNative<TfliteTensorNative>(v.native) ? v.native : undefined;
}
export function operatorNative(n: Node): TfliteOperatorNative | undefined {
  return isNative<TfliteOperatorNative>(n.native) ? n.native : undefined;
}

/** Quantization of a TFLite tensor, in plain numbers. */
export interface TfliteQuantization {
  scale: number[];
  zeroPoint: number[];
  /** Axis of per-channel quantization (scale.length > 1). */
  quantizedDimension: number;
  min?: number[];
  max?: number[];
  /** CustomQuantization bytes, when the tensor uses them. */
  custom?: Uint8Array;
}

/** The quantization parameters of a value read from TFLite, or undefined when it has none. */
export function tfliteQuantization(value: Value): TfliteQuantization | undefined {
  const q = tensorNative(value)?.tensor.quantization;
  if (!q) return undefined;
  const custom = q.details_type === 1 ? (q.details as fb.CustomQuantization | undefined)?.custom : undefined;
  if (!q.scale?.length && !q.zero_point?.length && !q.min?.length && !q.max?.length && !custom) return undefined;
  return {
    scale: q.scale ?? [],
    zeroPoint: (q.zero_point ?? []).map(Number),
    quantizedDimension: q.quantized_dimension,
    ...(q.min ? { min: q.min } : {}),
    ...(q.max ? { max: q.max } : {}),
    ...(custom ? { custom } : {}),
  };
}

/** Fields the file holds that this schema does not know: they are not written back. */
export function tfliteUnknownFields(model: Model): readonly UnknownField[] {
  return modelNative(model)?.unknownFields ?? [];
}

/**
 * A graph input that is no longer one (freeze-inputs made it a constant)
 * leaves the signatures of its subgraph: the entry naming it goes, and the
 * entries that follow later inputs by position move up with them.
 */
export function dropSignatureInput(m: Model, graph: Graph, input: Value, position: number): void {
  const native = modelNative(m);
  const gi = m.graphs.indexOf(graph);
  if (!native || gi < 0) return;
  for (const s of native.signatures) {
    if (s.table.subgraph_index !== gi) continue;
    s.inputs = s.inputs
      .filter((t) => t.value !== input && t.position !== position)
      .map((t) => (t.position !== undefined && t.position > position ? { ...t, position: t.position - 1 } : t));
  }
}
