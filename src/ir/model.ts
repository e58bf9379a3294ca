import type { Attr } from './attr';
import { Graph } from './graph';

export type FormatId = 'onnx' | 'tflite' | 'openvino';

/** An operator set the model imports: ONNX (domain, version); OpenVINO opsets are per node. */
export interface Opset {
  domain: string;
  version: number;
}

/** A text key/value pair the format stores with the model (ONNX metadata_props, OpenVINO rt_info, TFLite Metadata entries holding text). */
export interface MetadataEntry {
  key: string;
  value: string;
}

/** A formal attribute of a model function: its name and, when it has one, the value a call that omits it gets. */
export interface FunctionAttribute {
  name: string;
  default?: Attr;
}

/**
 * A function the model defines for its own nodes (an ONNX model-local
 * function, FunctionProto, IR version 8 and later): a node whose domain and
 * op are the function's domain and name runs the body.
 */
export interface ModelFunction {
  domain: string;
  name: string;
  /** Tells functions of one domain and name apart (ONNX IR 10); '' when there is none. */
  overload: string;
  /**
   * The body. Its inputs and outputs are the function's formal inputs and
   * outputs, typed only where the function declares types (ONNX IR 10
   * value_info); it sees no values of the model's graphs.
   */
  body: Graph;
  /** The operator sets the body's nodes bind to: the function's own, not the model's. */
  opsets: Opset[];
  /** The formal attributes that nodes of the body may refer to (Attr kind 'ref'). */
  attributes: FunctionAttribute[];
  doc?: string;
  metadata: MetadataEntry[];
  /** Format-specific content the IR does not model. */
  native?: unknown;
}

/** How messages name a function: `domain::name` as graph text spells it, and its overload when it has one. */
export function functionLabel(fn: Pick<ModelFunction, 'domain' | 'name' | 'overload'>): string {
  const name = fn.domain ? `${fn.domain}::${fn.name}` : fn.name;
  return fn.overload ? `${name} (overload ${fn.overload})` : name;
}

/**
 * A model in any format: its top-level graphs, opsets and metadata. What the
 * IR does not model stays in `native`, owned by the format's codec, so that a
 * model read and written without change keeps all of its content.
 */
export class Model {
  readonly format: FormatId;
  /**
   * Top-level graphs; `graphs[0]` is the main one. TFLite keeps every subgraph
   * here (control-flow ops name them by index); ONNX and OpenVINO have one, and
   * their nested bodies hang off node attributes.
   */
  graphs: Graph[];
  opsets: Opset[] = [];
  /** Functions the model defines for its own nodes to call (ONNX); their bodies are not among `graphs`. */
  functions: ModelFunction[] = [];
  metadata: MetadataEntry[] = [];
  /** Who made the file: ONNX producer_name/version, TFLite description. */
  producer?: { name: string; version?: string };
  /** Format-specific content the IR does not model. */
  native?: unknown;
  /** Where the model was read from, for error messages and relative external data. */
  source?: string;

  constructor(format: FormatId, main: Graph) {
    this.format = format;
    this.graphs = [main];
  }

  get graph(): Graph {
    const g = this.graphs[0];
    if (!g) throw new Error('model has no graph');
    return g;
  }

  /** Every graph of the model, nested subgraphs included, depth first; function bodies are not among them (see `functions`). */
  allGraphs(): Graph[] {
    const all: Graph[] = [];
    for (const g of this.graphs) g.walkGraphs(all);
    return all;
  }

  opsetVersion(domain = ''): number | undefined {
    return this.opsets.find((o) => o.domain === domain)?.version;
  }

  getMetadata(key: string): string | undefined {
    return this.metadata.find((m) => m.key === key)?.value;
  }

  /** Sets a metadata entry, replacing the first one of the same key. */
  setMetadata(key: string, value: string): void {
    const entry = this.metadata.find((m) => m.key === key);
    if (entry) entry.value = value;
    else this.metadata.push({ key, value });
  }
}
