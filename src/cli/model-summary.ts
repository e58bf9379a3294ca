import type { Graph, Shape, Value } from '../ir/graph';
import type { Model } from '../ir/model';
import { adapterFor, type FormatAdapter } from '../formats';
import { printShape } from '../ir/text/print';
import { isOvNodeNative } from '../formats/openvino/native';

export interface ValueSummary {
  name: string;
  dtype: string | null;
  shape: (number | string | null)[] | null;
}

/** What `recipe show` reports about a model; also its `--json` output. */
export interface ModelSummary {
  file: string;
  format: string;
  producer: string | null;
  opsets: { domain: string; version: number }[];
  /** Graphs, subgraphs (ONNX If/Loop/Scan, OpenVINO TensorIterator/Loop/If bodies) and function bodies. */
  graphs: number;
  /** Nodes of every graph, function bodies included. */
  nodes: number;
  inputs: ValueSummary[];
  outputs: ValueSummary[];
  /** Op name (with domain when not the default) -> count, over every graph and function body. */
  ops: Record<string, number>;
  /** The model's own functions (ONNX): `domain::name`, their formal inputs and outputs, and the nodes of their bodies. */
  functions: FunctionSummary[];
  parameters: { tensors: number; elements: number; bytes: number };
  metadata: { key: string; value: string }[];
}

export interface FunctionSummary {
  name: string;
  overload: string | null;
  inputs: string[];
  outputs: string[];
  attributes: string[];
  nodes: number;
}

function describe(v: Value, adapter: FormatAdapter): ValueSummary {
  // 'undefined' is the IR's dtype for a type it has no name for: say the format's name of it.
  const dtype = v.dtype === 'undefined' ? (adapter.elementTypeName?.(v) ?? v.dtype) : v.dtype;
  return { name: v.name, dtype: dtype ?? null, shape: v.shape ? [...v.shape] : null };
}

export function summarize(model: Model, file: string): ModelSummary {
  const ops = new Map<string, number>();
  let nodes = 0;
  let tensors = 0;
  let elements = 0;
  let bytes = 0;
  const graphs: Graph[] = [...model.allGraphs(), ...model.functions.flatMap((f) => f.body.walkGraphs())];
  for (const g of graphs) {
    for (const n of g.nodes) {
      nodes++;
      const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}::${n.op}` : n.op;
      ops.set(key, (ops.get(key) ?? 0) + 1);
    }
    for (const v of g.constants) {
      tensors++;
      elements += v.const!.size;
      bytes += v.const!.data.byteLength;
    }
  }
  const sortedOps = [...ops.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const main = model.graph;
  const adapter = adapterFor(model.format);
  return {
    file,
    format: model.format,
    producer: model.producer ? `${model.producer.name}${model.producer.version ? ' ' + model.producer.version : ''}` : null,
    opsets: model.opsets.map((o) => ({ domain: o.domain, version: o.version })),
    graphs: graphs.length,
    nodes,
    inputs: main.inputs.filter((v) => !v.const).map((v) => describe(v, adapter)),
    outputs: main.outputs.map((v) => describe(v, adapter)),
    ops: Object.fromEntries(sortedOps),
    functions: model.functions.map((f) => ({
      name: f.domain ? `${f.domain}::${f.name}` : f.name,
      overload: f.overload || null,
      inputs: f.body.inputs.map((v) => v.name),
      outputs: f.body.outputs.map((v) => v.name),
      attributes: f.attributes.map((a) => a.name),
      nodes: f.body.walkGraphs().reduce((n, g) => n + g.nodeCount, 0),
    })),
    parameters: { tensors, elements, bytes },
    metadata: model.metadata.map((m) => ({ ...m })),
  };
}

function typeText(v: ValueSummary): string {
  return `${v.dtype ?? '?'}${v.shape ? printShape(v.shape as Shape) : ''}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let x = n;
  let u = -1;
  while (x >= 1024 && u < units.length - 1) {
    x /= 1024;
    u++;
  }
  return `${x.toFixed(1)} ${units[u]}`;
}

export function formatSummary(s: ModelSummary): string {
  const lines: string[] = [];
  lines.push(`${s.file}: ${s.format} model${s.producer ? ` by ${s.producer}` : ''}`);
  if (s.opsets.length) lines.push(`opsets: ${s.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')}`);
  lines.push(`graphs: ${s.graphs}, nodes: ${s.nodes}`);
  lines.push('inputs:');
  for (const v of s.inputs) lines.push(`  ${v.name}: ${typeText(v)}`);
  lines.push('outputs:');
  for (const v of s.outputs) lines.push(`  ${v.name}: ${typeText(v)}`);
  if (s.functions.length) {
    lines.push('functions:');
    for (const f of s.functions) {
      const attrs = f.attributes.length ? ` {${f.attributes.join(', ')}}` : '';
      lines.push(`  ${f.name}${f.overload ? ` (overload ${f.overload})` : ''}(${f.inputs.join(', ')}) -> (${f.outputs.join(', ')})${attrs}: ${f.nodes} node(s)`);
    }
  }
  lines.push(`parameters: ${s.parameters.elements.toLocaleString('en-US')} in ${s.parameters.tensors} tensors (${formatBytes(s.parameters.bytes)})`);
  lines.push('ops:');
  const width = Math.max(0, ...Object.keys(s.ops).map((k) => k.length));
  for (const [op, count] of Object.entries(s.ops)) lines.push(`  ${op.padEnd(width)}  ${count}`);
  if (s.metadata.length) {
    lines.push('metadata:');
    for (const m of s.metadata) lines.push(`  ${m.key}: ${m.value.length > 80 ? m.value.slice(0, 77) + '...' : m.value}`);
  }
  return lines.join('\n') + '\n';
}
