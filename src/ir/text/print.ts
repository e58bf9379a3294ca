import { createHash } from 'node:crypto';
import type { Attr } from '../attr';
import type { Graph, Node, Shape, Value } from '../graph';
import type { Model, ModelFunction, Opset } from '../model';
import type { Tensor } from '../tensor';

/**
 * The canonical text of a graph: one line per input, constant, node and output,
 * in graph order, deterministic, meant to be read in a diff.
 *
 *     graph main
 *       in x: float32[N, 3, 32, 32]
 *       const w0: float32[4, 3, 3, 3] = #5f1c09d2
 *       const eps: float32[] = [1e-05]
 *       conv0: c0: float32[N, 4, 32, 32] = Conv(x, w0) {pads: [1, 1, 1, 1]}
 *       y = com.microsoft::Gelu(c0)
 *       out y
 *
 * A node line is `[label:] outputs = [domain::]Op(inputs) {attributes}`; the label
 * is the node's name, left out when empty. A missing optional input is `_`.
 * Names other than plain words are JSON-quoted. Constants of up to
 * `inlineLimit` elements print their values; larger ones a digest of their bytes.
 * Attributes print sorted by name; a float always shows a `.` or an exponent;
 * an attribute that refers to one of the enclosing function's is `@name`.
 *
 * A model's functions follow its graphs, each a block of its own: the
 * function's opsets and formal attributes (with their defaults), then its
 * body as the entries of a graph:
 *
 *     function local::ConvRelu
 *       opsets ai.onnx:15
 *       attr alpha = 0.1
 *       in x
 *       c = Conv(x, w)
 *       y = LeakyRelu(c) {alpha: @alpha}
 *       out y
 */
export interface PrintOptions {
  /** Largest constant (in elements) whose values are printed inline. Default 8. */
  inlineLimit?: number;
}

export function printModel(model: Model, options: PrintOptions = {}): string {
  const lines: string[] = [`model ${model.format}`];
  if (model.opsets.length > 0) lines.push(opsetsLine(model.opsets));
  // Lines are appended to one array: a graph of 100k nodes has more lines than a spread (push(...lines)) may pass as arguments.
  for (const g of model.graphs) printGraphLines(g, options, '', lines);
  for (const fn of model.functions) printFunctionLines(fn, options, lines);
  return lines.join('\n') + '\n';
}

function opsetsLine(opsets: readonly Opset[]): string {
  return `opsets ${opsets.map((o) => `${o.domain || 'ai.onnx'}:${o.version}`).join(', ')}`;
}

function printFunctionLines(fn: ModelFunction, options: PrintOptions, lines: string[]): void {
  const overload = fn.overload ? ` overload ${quoteName(fn.overload)}` : '';
  lines.push(`function ${fn.domain ? `${fn.domain}::` : ''}${quoteName(fn.name)}${overload}`);
  if (fn.opsets.length > 0) lines.push(`  ${opsetsLine(fn.opsets)}`);
  for (const a of fn.attributes) lines.push(`  attr ${quoteName(a.name)}${a.default ? ` = ${printAttr(a.default, options)}` : ''}`);
  printGraphEntries(fn.body, options, '  ', lines);
}

export function printGraph(graph: Graph, options: PrintOptions = {}): string {
  return printGraphLines(graph, options, '', []).join('\n') + '\n';
}

const WORD = /^[A-Za-z0-9_.\-/]+$/;
const RESERVED = new Set(['_', 'graph', 'in', 'out', 'const', 'model', 'opsets']);

export function quoteName(name: string): string {
  return WORD.test(name) && !RESERVED.has(name) ? name : JSON.stringify(name);
}

/** Appends the lines of `graph` to `lines`, and returns it. */
function printGraphLines(graph: Graph, options: PrintOptions, indent: string, lines: string[]): string[] {
  lines.push(`${indent}graph ${quoteName(graph.name)}`);
  return printGraphEntries(graph, options, indent + '  ', lines);
}

/** The inputs, constants, nodes and outputs of `graph`, at `inner` indentation. */
function printGraphEntries(graph: Graph, options: PrintOptions, inner: string, lines: string[]): string[] {
  const inputs = new Set(graph.inputs);
  for (const v of graph.inputs) {
    lines.push(`${inner}in ${declare(v)}${v.const ? ` = ${printTensorValue(v.const, options)}` : ''}`);
  }
  for (const v of graph.constants) {
    if (inputs.has(v) || !v.const) continue;
    lines.push(`${inner}const ${declare(v)} = ${printTensorValue(v.const, options)}`);
  }
  for (const node of graph.nodes) printNodeLines(node, options, inner, lines);
  for (const v of graph.outputs) lines.push(`${inner}out ${quoteName(v.name)}`);
  return lines;
}

function printNodeLines(node: Node, options: PrintOptions, indent: string, lines: string[]): void {
  const label = node.name ? `${quoteName(node.name)}: ` : '';
  const outs = node.outputs.map(declare).join(', ');
  const op = (node.domain && node.domain !== 'ai.onnx' ? `${node.domain}::` : '') + quoteName(node.op);
  const ins = node.inputs.map((v) => (v ? quoteName(v.name) : '_')).join(', ');
  const names = [...node.attrs.keys()].sort();
  const head = `${indent}${label}${outs}${outs ? ' = ' : ''}${op}(${ins})`;
  if (names.length === 0) {
    lines.push(head);
    return;
  }
  const hasGraph = names.some((n) => {
    const a = node.attrs.get(n);
    return a?.kind === 'graph' || a?.kind === 'graphs';
  });
  if (!hasGraph) {
    lines.push(`${head} {${names.map((n) => `${quoteName(n)}: ${printAttr(node.attrs.get(n)!, options)}`).join(', ')}}`);
    return;
  }
  lines.push(`${head} {`);
  for (const n of names) {
    const a = node.attrs.get(n)!;
    if (a.kind === 'graph') {
      lines.push(`${indent}  ${quoteName(n)}:`);
      printGraphLines(a.value, options, indent + '    ', lines);
    } else if (a.kind === 'graphs') {
      lines.push(`${indent}  ${quoteName(n)}:`);
      for (const g of a.value) printGraphLines(g, options, indent + '    ', lines);
    } else {
      lines.push(`${indent}  ${quoteName(n)}: ${printAttr(a, options)}`);
    }
  }
  lines.push(`${indent}}`);
}

function declare(v: Value): string {
  const type = printType(v);
  return type ? `${quoteName(v.name)}: ${type}` : quoteName(v.name);
}

export function printShape(shape: Shape): string {
  return `[${shape.map((d) => (d === null ? '?' : typeof d === 'number' ? String(d) : quoteName(d))).join(', ')}]`;
}

function printType(v: Value): string {
  if (v.dtype === undefined && v.shape === undefined) return '';
  return `${v.dtype ?? '?'}${v.shape ? printShape(v.shape) : ''}`;
}

/** Shortest decimal that reads back to the same float32 (or float64) value; always with `.` or `e`. */
export function printFloat(x: number, single = true): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  let text = String(x);
  if (single) {
    const target = Math.fround(x);
    for (let p = 1; p <= 9; p++) {
      const candidate = Number(x.toPrecision(p));
      if (Math.fround(candidate) === target) {
        text = String(candidate);
        break;
      }
    }
  }
  return /[.e]/.test(text) ? text : `${text}.0`;
}

export function printTensorValue(t: Tensor, options: PrintOptions = {}): string {
  const limit = options.inlineLimit ?? 8;
  if (t.dtype === 'string' || t.size > limit || !canDecode(t)) {
    const digest = createHash('sha256').update(t.data.bytes()).digest('hex').slice(0, 8);
    return `#${digest}`;
  }
  const single = t.dtype !== 'float64';
  const isFloatType = t.dtype.startsWith('float') || t.dtype.startsWith('bfloat');
  const values = t.dtype === 'int64' || t.dtype === 'uint64' ? [...t.toBigInt64()].map(String)
    : [...t.toFloat64()].map((x) => (isFloatType ? printFloat(x, single) : String(x)));
  return `[${values.join(', ')}]`;
}

function canDecode(t: Tensor): boolean {
  try {
    t.toFloat64();
    return true;
  } catch {
    return false;
  }
}

export function printAttr(a: Attr, options: PrintOptions = {}): string {
  switch (a.kind) {
    case 'float': return printFloat(a.value);
    case 'int': return String(a.value);
    case 'bool': return String(a.value);
    case 'string': return JSON.stringify(a.value);
    case 'bytes': return `b"${Buffer.from(a.value).toString('hex')}"`;
    case 'floats': return `[${a.value.map((x) => printFloat(x)).join(', ')}]`;
    case 'ints': return `[${a.value.map(String).join(', ')}]`;
    case 'strings': return `[${a.value.map((s) => JSON.stringify(s)).join(', ')}]`;
    case 'tensor': return `tensor ${a.value.dtype}${printShape([...a.value.shape])} ${printTensorValue(a.value, options)}`;
    case 'tensors': return `[${a.value.map((t) => `tensor ${t.dtype}${printShape([...t.shape])} ${printTensorValue(t, options)}`).join(', ')}]`;
    case 'graph': return `graph ${quoteName(a.value.name)}`;
    case 'graphs': return `[${a.value.map((g) => `graph ${quoteName(g.name)}`).join(', ')}]`;
    case 'opaque': return '<opaque>';
    case 'ref': return `@${quoteName(a.value)}`;
  }
}
