import type { Value } from '../ir/graph';
import type { FormatId, Model } from '../ir/model';

/** Options every reader understands; a format ignores what does not apply to it. */
export interface ReadOptions {
  /**
   * Load external tensor data eagerly instead of on first use. Default false:
   * weights stay on disk until a rewrite or a writer asks for them.
   */
  eagerExternalData?: boolean;
  /**
   * The caller will look at every graph (`recipe apply`, `show`): a codec
   * that otherwise checks a graph at read and builds it on first use may
   * build it now, in one walk instead of two.
   */
  decodeGraphs?: boolean;
}

/** Options every writer understands; a format ignores what does not apply to it. */
export interface WriteOptions {
  /**
   * ONNX: where tensor data goes. `keep` writes each tensor where it was read
   * from (inline or external); `inline` moves everything into the .onnx file;
   * `external` moves tensors of at least `externalThreshold` bytes into one
   * data file beside the model.
   */
  externalData?: 'keep' | 'inline' | 'external';
  /** Smallest tensor, in bytes, moved to external data. Default 1024. */
  externalThreshold?: number;
  /** External data file name, relative to the model's folder. Default `<model file>.data`. */
  externalFile?: string;
  /**
   * TFLite: write a model that holds fields recipe's schema does not know (a
   * newer converter's), dropping them. Without it such a write is refused:
   * nothing read is lost without being asked for.
   */
  dropUnknownFields?: boolean;
}

/**
 * Where a writer puts its files. Every path handed out is a temporary file next
 * to its final place; nothing appears under the final names until the whole
 * model is written (see AtomicOutput), so a failure never leaves half a model.
 */
export interface OutputFiles {
  /** The main file's final path (e.g. `out.onnx`, `out.xml`). */
  readonly mainPath: string;
  /** Opens a file for writing, by its final path; returns a file descriptor. */
  open(finalPath: string): number;
}

/** One model format: how to recognise it, read it, and write it back. */
export interface FormatAdapter {
  readonly id: FormatId;
  /** File extensions, lowercase with the dot, e.g. `.onnx`. */
  readonly extensions: readonly string[];
  /** True when the first bytes of a file look like this format. */
  sniff(head: Uint8Array, path: string): boolean;
  read(path: string, options?: ReadOptions): Model;
  write(model: Model, out: OutputFiles, options?: WriteOptions): void;
  /**
   * The format's own name of a value's element type, for a value whose IR
   * dtype is 'undefined' (a type the IR has no name for: OpenVINO's nf4, u1,
   * u3, u6), so that a description can say what it is.
   */
  elementTypeName?(value: Value): string | undefined;
}
