import * as fs from 'node:fs';
import { ModelError } from '../../errors';
import type { Attr } from '../../ir/attr';
import type { DType } from '../../ir/dtype';
import { Graph, type Node, type Shape, type Value } from '../../ir/graph';
import { Model } from '../../ir/model';
import { BytesData, LazyData, StringData, Tensor, type TensorData } from '../../ir/tensor';
import { readFileRange } from '../chunks';
import { dtypeOfTensorType } from './dtypes';
import { BeyondReadError, FlatbufferReader } from './flatbuf/reader';
import type { BufferEntry, SignatureNative, SignatureTensor, TfliteGraphNative, TfliteModelNative, TfliteOperatorNative, TfliteTensorNative } from './native';
import { optionsToAttrs, unionMember, unionTypeOf } from './options';
import { BuiltinOperator, TFLITE_SCHEMA } from './schema/schema.generated';
import type * as fb from './schema/schema.generated';
import { readTextMetadata } from './metadata';
import { decodeStringBuffer } from './strings';

/** Largest file read into memory whole; beyond, data stored after the flatbuffer is read on demand. */
const MAX_IN_MEMORY = 2 ** 31 - 1;
/**
 * How much of a larger file is read first. Its flatbuffer is below 2 GB and,
 * in the converter's layout for such models, holds no weights; when its tables
 * reach further, twice as much is read, up to MAX_IN_MEMORY.
 */
const FIRST_READ = 64 * 2 ** 20;

const CALL_OPTIONS = unionTypeOf('builtin_options', 'CallOptions');

const OP_NAMES = new Map<number, string>(Object.entries(BuiltinOperator).map(([k, v]) => [v, k]));

/** The IR op name of a builtin code; codes this schema does not know keep their number. */
export function builtinOpName(code: number): string {
  return OP_NAMES.get(code) ?? `UNKNOWN_BUILTIN_${code}`;
}

/** The effective builtin code of an OperatorCode (the larger of the two code fields). */
export function effectiveBuiltinCode(code: fb.OperatorCode): number {
  return Math.max(code.deprecated_builtin_code, code.builtin_code);
}

/** Reads a .tflite file into the IR. Constant tensors are views over the file's bytes. */
export function readTflite(file: string): Model {
  let size: number;
  let bytes: Uint8Array;
  try {
    size = fs.statSync(file).size;
    bytes = size <= MAX_IN_MEMORY ? fs.readFileSync(file) : readFileRange(file, 0, FIRST_READ);
  } catch (e) {
    throw new ModelError({ file }, (e as Error).message);
  }
  for (;;) {
    try {
      return decodeTflite(bytes, file, size);
    } catch (e) {
      if (!(e instanceof BeyondReadError) || bytes.byteLength >= MAX_IN_MEMORY) throw e;
    }
    const more = Math.min(bytes.byteLength * 2, MAX_IN_MEMORY);
    try {
      bytes = readFileRange(file, 0, more);
    } catch (e) {
      throw new ModelError({ file }, (e as Error).message);
    }
  }
}

/** Custom options stored past the part of a large file read in memory. */
function readCustomOptions(file: string, offset: number, length: number, path: string): Uint8Array {
  try {
    return readFileRange(file, offset, length);
  } catch (e) {
    throw new ModelError({ file, path: `${path}.large_custom_options_offset`, offset }, (e as Error).message);
  }
}

/**
 * Decodes the bytes of a .tflite file. `fileSize` is the whole file's size when
 * `bytes` holds only its beginning (files over 2 GB).
 */
export function decodeTflite(bytes: Uint8Array, file: string, fileSize = bytes.byteLength): Model {
  const reader = new FlatbufferReader(bytes, TFLITE_SCHEMA, file, fileSize);
  const root = reader.readRoot() as unknown as fb.Model;
  const fail = (path: string, reason: string, extra: { node?: string; tensor?: string } = {}): never => {
    throw new ModelError({ file, path, ...extra }, reason);
  };
  // Versions 0 to 2 laid tables out differently (tensor data inline, no
  // buffers), so reading them with this schema would misread fields; TFLite's
  // runtimes refuse any version but 3 too.
  if (root.version !== SCHEMA_VERSION) {
    fail('Model.version', `schema version ${root.version}: recipe reads TFLite schema version ${SCHEMA_VERSION}, as TFLite runtimes do`);
  }

  const buffers: BufferEntry[] = (root.buffers ?? []).map((b, i) => {
    const table: fb.Buffer = { ...b };
    delete table.data;
    if (b.data && b.data.byteLength === 0) table.data = b.data;
    if (b.offset > 1n) {
      const offset = Number(b.offset);
      const length = Number(b.size);
      if (offset + length > fileSize) {
        fail(`Model.buffers[${i}]`, `data at bytes ${offset}..${offset + length} lies past the end of the file (${fileSize} bytes)`);
      }
      return { table, data: fileRange(bytes, file, offset, length), external: true, tensorRefs: 0 };
    }
    const data = b.data && b.data.byteLength > 0 ? new BytesData(b.data) : undefined;
    return { table, ...(data ? { data } : {}), external: false, tensorRefs: 0 };
  });

  const bufferCount = Math.max(buffers.length, 1);
  (root.metadata ?? []).forEach((m, i) => {
    if (m.buffer >= bufferCount) fail(`Model.metadata[${i}].buffer`, `buffer index ${m.buffer} of metadata '${m.name ?? ''}' is out of range (${buffers.length} buffers)`);
  });
  (root.metadata_buffer ?? []).forEach((b, i) => {
    if (b < 0 || b >= bufferCount) fail(`Model.metadata_buffer[${i}]`, `buffer index ${b} is out of range (${buffers.length} buffers)`);
  });

  const codes = root.operator_codes ?? [];
  const opcodeUses: number[] = codes.map(() => 0);
  const subgraphs = root.subgraphs ?? [];
  if (subgraphs.length === 0) fail('Model.subgraphs', 'the model has no subgraph');

  const graphs = subgraphs.map((sg, gi) => {
    const path = `Model.subgraphs[${gi}]`;
    const graph = new Graph(sg.name ?? `subgraph_${gi}`);
    const rest: fb.SubGraph = { ...sg };
    delete rest.tensors;
    delete rest.operators;
    const absent = (['tensors', 'inputs', 'outputs', 'operators'] as const).filter((k) => sg[k] === undefined);
    graph.native = { format: 'tflite', subgraph: rest, ...(absent.length ? { absent } : {}) } satisfies TfliteGraphNative;

    // One TensorData per buffer and reading (strings decoded once), so tensors
    // sharing a buffer share their data and the writer keeps them shared.
    const stringData = new Map<number, TensorData>();
    const values: Value[] = (sg.tensors ?? []).map((t, ti) => {
      const dtype = dtypeOfTensorType(t.type);
      const name = t.name ?? '';
      if (t.buffer >= Math.max(buffers.length, 1)) {
        fail(`${path}.tensors[${ti}].buffer`, `buffer index ${t.buffer} is out of range (${buffers.length} buffers)`, { tensor: name });
      }
      const entry = buffers[t.buffer];
      if (entry && t.buffer > 0) entry.tensorRefs++;
      const native: TfliteTensorNative = { format: 'tflite', tensor: t };
      const value = graph.addValue(name, { dtype, shape: irShape(t), native });
      if (t.is_variable) value.variable = true;
      if (entry?.data && t.buffer > 0 && dtype) {
        checkConstantSize(t, dtype, entry.data.byteLength, (reason) => fail(`${path}.tensors[${ti}]`, reason, { tensor: name }));
        let data: TensorData = entry.data;
        if (dtype === 'string' && entry.data instanceof BytesData) {
          const cached = stringData.get(t.buffer);
          const strings = cached ? undefined : decodeStringBuffer(entry.data.view);
          data = cached ?? (strings ? new StringData(strings) : entry.data);
          stringData.set(t.buffer, data);
        }
        native.data = data;
        value.const = new Tensor(dtype, t.shape ?? [], data);
      }
      return value;
    });
    const tensorAt = (i: number, where: string): Value => {
      const v = values[i];
      if (!v) return fail(where, `tensor index ${i} is out of range (${values.length} tensors)`);
      return v;
    };
    graph.inputs = (sg.inputs ?? []).map((i, k) => tensorAt(i, `${path}.inputs[${k}]`));
    graph.outputs = (sg.outputs ?? []).map((i, k) => tensorAt(i, `${path}.outputs[${k}]`));

    (sg.operators ?? []).forEach((op, oi) => {
      const opPath = `${path}.operators[${oi}]`;
      const code = codes[op.opcode_index];
      if (!code) return fail(`${opPath}.opcode_index`, `operator code ${op.opcode_index} is out of range (${codes.length} codes)`);
      opcodeUses[op.opcode_index] = (opcodeUses[op.opcode_index] ?? 0) + 1;
      const builtin = effectiveBuiltinCode(code);
      const custom = builtin === BuiltinOperator.CUSTOM;
      const opName = custom ? code.custom_code ?? '' : builtinOpName(builtin);
      const domain = custom ? 'custom' : '';
      const attrs = new Map<string, Attr>();
      const native: TfliteOperatorNative = { format: 'tflite', operator: op, opcode: code, op: opName, domain, intermediates: [] };

      const table1 = op.builtin_options_type ? unionMember('builtin_options', op.builtin_options_type) : undefined;
      if (table1) {
        const { attrs: a, deprecated } = optionsToAttrs(table1, op.builtin_options);
        for (const [k, v] of a) attrs.set(k, v);
        native.optionsTable = table1;
        if (op.builtin_options === undefined) native.optionsAbsent = true;
        if (Object.keys(deprecated).length) native.deprecatedOptions = deprecated;
      }
      const table2 = op.builtin_options_2_type ? unionMember('builtin_options_2', op.builtin_options_2_type) : undefined;
      if (table2) {
        const { attrs: a, deprecated } = optionsToAttrs(table2, op.builtin_options_2);
        for (const [k, v] of a) attrs.set(k, v);
        native.options2Table = table2;
        if (op.builtin_options_2 === undefined) native.options2Absent = true;
        if (Object.keys(deprecated).length) native.deprecatedOptions2 = deprecated;
      }
      if (op.large_custom_options_offset > 1n) {
        const offset = Number(op.large_custom_options_offset);
        const length = Number(op.large_custom_options_size);
        if (offset + length > fileSize) fail(`${opPath}.large_custom_options_offset`, `custom options at bytes ${offset}..${offset + length} lie past the end of the file (${fileSize} bytes)`);
        const value = offset + length <= bytes.byteLength ? bytes.subarray(offset, offset + length) : readCustomOptions(file, offset, length, opPath);
        attrs.set('custom_options', { kind: 'bytes', value });
        native.largeCustomOptions = value;
      } else if (op.custom_options) {
        attrs.set('custom_options', { kind: 'bytes', value: op.custom_options });
      }

      const inputs = (op.inputs ?? []).map((i, k) => (i === -1 ? null : tensorAt(i, `${opPath}.inputs[${k}]`)));
      const outputs = (op.outputs ?? []).map((i, k) => tensorAt(i, `${opPath}.outputs[${k}]`));
      native.intermediates = (op.intermediates ?? []).map((i, k) => (i === -1 ? null : tensorAt(i, `${opPath}.intermediates[${k}]`)));
      for (const v of native.intermediates) if (v) v.pinned = true;
      try {
        graph.addNode({ op: opName, domain, name: graph.uniqueName(opName || 'custom'), inputs, outputs, attrs, native });
      } catch (e) {
        fail(opPath, (e as Error).message);
      }
    });
    checkDataFlow(graph, path, fail);
    return graph;
  });
  checkSubgraphCalls(subgraphs, fail);

  const signatures: SignatureNative[] = (root.signature_defs ?? []).map((s, si) => {
    const graph = graphs[s.subgraph_index];
    const path = `Model.signature_defs[${si}]`;
    if (!graph) return fail(`${path}.subgraph_index`, `subgraph ${s.subgraph_index} does not exist`);
    const tensors = [...graph.values];
    const map = (m: fb.TensorMap, where: string, ends: readonly Value[]): SignatureTensor => {
      const value = tensors[m.tensor_index];
      if (!value) return fail(where, `tensor index ${m.tensor_index} is out of range`);
      const position = ends.indexOf(value);
      return { ...(m.name !== undefined ? { name: m.name } : {}), value, ...(position >= 0 ? { position } : {}) };
    };
    const table: fb.SignatureDef = { ...s };
    delete table.inputs;
    delete table.outputs;
    return {
      table,
      inputs: (s.inputs ?? []).map((m, k) => map(m, `${path}.inputs[${k}]`, graph.inputs)),
      outputs: (s.outputs ?? []).map((m, k) => map(m, `${path}.outputs[${k}]`, graph.outputs)),
    };
  });

  const rest: fb.Model = { ...root };
  delete rest.subgraphs;
  delete rest.buffers;
  delete rest.signature_defs;
  const first = graphs[0] as Graph;
  const model = new Model('tflite', first);
  model.graphs = graphs;
  model.source = file;
  if (root.description !== undefined) model.producer = { name: root.description };
  const metadataAtRead = readTextMetadata(root.metadata ?? [], buffers);
  model.metadata = metadataAtRead.map((m) => ({ key: m.key, value: m.value }));
  model.native = {
    format: 'tflite',
    root: rest,
    buffers,
    signatures,
    opcodeUses,
    buffersPresent: root.buffers !== undefined,
    signaturesPresent: root.signature_defs !== undefined,
    unknownFields: reader.unknownFields,
    metadataAtRead,
    asRead: root,
    identified: String.fromCharCode(...bytes.subarray(4, 8)) === TFLITE_SCHEMA.fileIdentifier,
    ...(bytes.byteLength === fileSize ? { file: bytes } : {}),
    ...trailingData(bytes, file, fileSize, contentEnd(reader.contentEnd, buffers, root)),
  } satisfies TfliteModelNative;
  return model;
}

/** Bytes [offset, offset + length) of the file: a view of what was read, or read again when asked for. */
function fileRange(bytes: Uint8Array, file: string, offset: number, length: number): TensorData {
  return offset + length <= bytes.byteLength
    ? new BytesData(bytes.subarray(offset, offset + length))
    : new LazyData(length, () => readFileRange(file, offset, length), { file, offset });
}

/** One past the last byte the model refers to: its tables, and the data stored after them by offset. */
function contentEnd(tablesEnd: number, buffers: readonly BufferEntry[], root: fb.Model): number {
  let end = tablesEnd;
  for (const b of buffers) if (b.external && b.data) end = Math.max(end, Number(b.table.offset) + b.data.byteLength);
  for (const sg of root.subgraphs ?? []) {
    for (const op of sg.operators ?? []) {
      if (op.large_custom_options_offset > 1n) end = Math.max(end, Number(op.large_custom_options_offset + op.large_custom_options_size));
    }
  }
  return end;
}

/** The bytes after `end`, unless there are none or all are zero (padding). */
function trailingData(bytes: Uint8Array, file: string, fileSize: number, end: number): { trailing?: TensorData } {
  if (end >= fileSize) return {};
  const trailing = fileRange(bytes, file, end, fileSize - end);
  // Bytes past what was read are never padding: a converter pads by a few bytes.
  if (trailing instanceof BytesData && trailing.view.every((b) => b === 0)) return {};
  return { trailing };
}

/** The only schema version this reader knows (3, with its compatible 3a-3c additions). */
const SCHEMA_VERSION = 3;

/** Bytes per element of the fixed-size types; int4 is handled apart (two per byte when packed). */
const ELEMENT_BYTES: Partial<Record<DType, number>> = {
  float32: 4, float16: 2, bfloat16: 2, float64: 8, int8: 1, uint8: 1, int16: 2, uint16: 2,
  int32: 4, uint32: 4, int64: 8, uint64: 8, bool: 1, complex64: 8, complex128: 16,
};

/**
 * A constant must hold at least the bytes its shape and type need, as TFLite's
 * runtime requires (more is allowed). String, resource and variant tensors
 * have no fixed size, and sparse ones store only their non-zero blocks.
 */
function checkConstantSize(t: fb.Tensor, dtype: DType, have: number, fail: (reason: string) => never): void {
  if (t.sparsity) return;
  const shape = t.shape ?? [];
  if (shape.some((d) => d < 0)) fail(`constant tensor has a negative dimension in its shape [${shape.join(', ')}]`);
  const count = shape.reduce((a, d) => a * d, 1);
  const per = ELEMENT_BYTES[dtype];
  const need = dtype === 'int4' ? Math.ceil(count / 2) : per === undefined ? undefined : count * per;
  if (need !== undefined && have < need) {
    fail(`its buffer holds ${have} bytes, but shape [${shape.join(', ')}] of ${dtype} needs ${need}`);
  }
}

/**
 * The operators of a subgraph must not form a cycle (an operator reading what
 * it, or an operator after it, writes back into its inputs), and no operator may
 * write into a constant. Operators in execution order, as converters write
 * them, are checked in one pass; others are sorted (Kahn) to find a cycle.
 */
function checkDataFlow(graph: Graph, path: string, fail: (path: string, reason: string, extra?: { node?: string; tensor?: string }) => never): void {
  const nodes = graph.nodes;
  const index = new Map<Node, number>();
  nodes.forEach((n, i) => index.set(n, i));
  let ordered = true;
  nodes.forEach((n, i) => {
    for (const v of n.outputs) {
      if (v.const) fail(`${path}.operators[${i}]`, `operator writes tensor '${v.name}', which holds constant data`, { node: n.name, tensor: v.name });
    }
    for (const v of n.inputs) {
      const p = v?.producer;
      if (p && (index.get(p) ?? -1) >= i) ordered = false;
    }
  });
  if (ordered) return;
  const waiting = nodes.map((n) => n.inputs.filter((v) => v?.producer).length);
  const ready = nodes.flatMap((_, i) => (waiting[i] === 0 ? [i] : []));
  let done = 0;
  while (ready.length > 0) {
    const i = ready.pop() as number;
    done++;
    for (const v of (nodes[i] as Node).outputs) {
      for (const use of v.uses) {
        const j = index.get(use.node);
        if (j === undefined) continue;
        if (--(waiting[j] as number) === 0) ready.push(j);
      }
    }
  }
  if (done === nodes.length) return;
  const stuck = waiting.findIndex((w) => w > 0);
  const node = nodes[stuck] as Node;
  fail(`${path}.operators[${stuck}]`, 'the operators form a cycle through this one (it depends on its own output)', { node: node.name });
}

/** Options fields that hold subgraph indices (control flow and StableHLO regions). */
function subgraphReferences(options: unknown): { field: string; index: number }[] {
  if (typeof options !== 'object' || options === null) return [];
  const out: { field: string; index: number }[] = [];
  for (const [field, value] of Object.entries(options as Record<string, unknown>)) {
    if (field.endsWith('_subgraph_index') && typeof value === 'number') out.push({ field, index: value });
    else if (field === 'branch_subgraph_indices' && Array.isArray(value)) value.forEach((v, k) => out.push({ field: `${field}[${k}]`, index: Number(v) }));
  }
  return out;
}

/**
 * Subgraphs called by operators (WHILE, IF, CALL_ONCE, CALL, StableHLO
 * regions) must exist and must not call back into themselves: TFLite refuses
 * recursion, and a walk over the calls would not end.
 */
function checkSubgraphCalls(subgraphs: readonly fb.SubGraph[], fail: (path: string, reason: string) => never): void {
  const calls: { to: number; where: string }[][] = subgraphs.map((sg, gi) =>
    (sg.operators ?? []).flatMap((op, oi) => {
      const at = `Model.subgraphs[${gi}].operators[${oi}]`;
      const refs = [
        ...subgraphReferences(op.builtin_options).map((r) => ({ ...r, field: `builtin_options.${r.field}` })),
        ...subgraphReferences(op.builtin_options_2).map((r) => ({ ...r, field: `builtin_options_2.${r.field}` })),
      ];
      if (op.builtin_options_type === CALL_OPTIONS) {
        const to = (op.builtin_options as fb.CallOptions | undefined)?.subgraph;
        if (to !== undefined) refs.push({ field: 'builtin_options.subgraph', index: to });
      }
      return refs.map((r) => {
        if (!Number.isInteger(r.index) || r.index < 0 || r.index >= subgraphs.length) {
          fail(`${at}.${r.field}`, `subgraph ${r.index} does not exist (${subgraphs.length} subgraphs)`);
        }
        return { to: r.index, where: `${at}.${r.field}` };
      });
    }),
  );
  // Iterative DFS with colours: 1 on the current path, 2 finished.
  const colour = new Uint8Array(subgraphs.length);
  for (let start = 0; start < subgraphs.length; start++) {
    if (colour[start]) continue;
    const stack: { g: number; next: number }[] = [{ g: start, next: 0 }];
    colour[start] = 1;
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { g: number; next: number };
      const edge = calls[top.g]?.[top.next++];
      if (!edge) {
        colour[top.g] = 2;
        stack.pop();
        continue;
      }
      if (colour[edge.to] === 1) {
        const cycle = [...stack.slice(stack.findIndex((f) => f.g === edge.to)).map((f) => f.g), edge.to];
        fail(edge.where, `subgraph calls form a cycle (${cycle.join(' -> ')}): TFLite does not allow recursion`);
      }
      if (colour[edge.to] === 0) {
        colour[edge.to] = 1;
        stack.push({ g: edge.to, next: 0 });
      }
    }
  }
}

/** The IR shape of a tensor: shape_signature's -1 (or shape's) become unknown (null) dimensions. */
export function irShape(t: fb.Tensor): Shape | undefined {
  const sig = t.shape_signature;
  if (sig && (!t.shape || sig.length === t.shape.length)) return sig.map((d) => (d < 0 ? null : d));
  // Some writers mark unknown dimensions with -1 in shape itself.
  return t.shape ? t.shape.map((d) => (d < 0 ? null : d)) : undefined;
}
