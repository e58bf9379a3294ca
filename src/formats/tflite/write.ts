import { Builder } from 'flatbuffers';
import { ModelError } from '../../errors';
import type { Graph, Node, Shape, Value } from '../../ir/graph';
import type { Model } from '../../ir/model';
import { BytesData, StringData, type TensorData } from '../../ir/tensor';
import { tensorTypeOfDtype } from './dtypes';
import { sameTable } from './flatbuf/equal';
import type { FbTable, FbValue } from './flatbuf/reader';
import { FlatbufferWriter, PlacedOffset, SchemaMismatchError, TailRegion } from './flatbuf/writer';
import { planMetadata } from './metadata';
import { graphNative, modelNative, operatorNative, tensorNative, type BufferEntry, type SignatureTensor, type TfliteModelNative } from './native';
import { attrsToOptions, onlyDefaults, optionsTableFor, OptionsError, tableDef, unionTypeOf } from './options';
import { effectiveBuiltinCode, irShape } from './read';
import { BuiltinOperator, TFLITE_SCHEMA } from './schema/schema.generated';
import type * as fb from './schema/schema.generated';
import { encodeStringBuffer } from './strings';

/** Buffer data alignment in the file: what TFLite's own writer uses, and what mmap'd kernels expect. */
const BUFFER_ALIGN = 16;
/** Byte vectors at least this long go after the tables instead of through the builder. */
const TAIL_THRESHOLD = 4096;
/** Past this much inline data the flatbuffer could not be addressed: buffers go by offset/size. */
const MAX_INLINE_DATA = 2 ** 31 - 2 ** 26;

/** The encoded model: the flatbuffer (tables) and the data written after it. */
export interface EncodedTflite {
  head: Uint8Array;
  tail: TailRegion;
  /**
   * The tables are the ones read, buffer data included, of a file read whole
   * that has the identifier: the model is unchanged, and the file read holds
   * it as it was (with whatever bytes the tables do not describe: unknown
   * fields, padding, appended files).
   */
  unchanged: boolean;
}

/**
 * Encodes a model as a .tflite file. What was read and not changed is written
 * as it was: operator codes, buffer indices, options, quantization, signature
 * defs and metadata. New values get tensors, new constants new buffers, new
 * operators new operator codes.
 */
export function encodeTflite(model: Model, file: string): EncodedTflite {
  // A nonzero base in the first pass, so that every offset field is present
  // (a field equal to its default, 0, would be left out and change the size).
  const first = build(model, file, 16);
  if (!first.usesBase) return first;
  // Data stored by offset/size needs the absolute position of the tail, known
  // only once the tables are built; the second pass has the same layout.
  const base = first.head.byteLength;
  const second = build(model, file, base);
  if (second.head.byteLength !== base) throw new Error('tflite writer: table size changed between passes');
  return second;
}

interface BuildResult extends EncodedTflite {
  usesBase: boolean;
}

function build(model: Model, file: string, base: number): BuildResult {
  const native = modelNative(model);
  const tail = new TailRegion();
  const builder = new Builder(1 << 16);
  builder.prep(BUFFER_ALIGN, 0); // makes the finished flatbuffer a multiple of 16 bytes long
  const writer = new FlatbufferWriter(builder, TFLITE_SCHEMA, (bytes, align) =>
    bytes.byteLength >= TAIL_THRESHOLD ? tail.addVector(bytes.byteLength, () => bytes, align) : undefined,
  );
  let usesBase = false;
  const fail = (reason: string, where: { node?: string; tensor?: string; path?: string } = {}): never => {
    throw new ModelError({ file, ...where }, reason);
  };

  const buffers = new BufferPlan(native?.buffers ?? []);
  const codes = new OpcodePlan(native?.root.operator_codes ?? [], file);
  const graphIndex = new Map<Graph, number>(model.graphs.map((g, i) => [g, i]));
  const tensorIndices: Map<Value, number>[] = [];
  // Custom options stored after the flatbuffer (models over 2 GB), placed with the buffers.
  const largeCustomOptions: LargeCustomOptions[] = [];

  const subgraphs: FbTable[] = model.graphs.map((g, gi) => {
    const index = new Map<Value, number>();
    for (const v of g.values) index.set(v, index.size);
    tensorIndices.push(index);
    const indexOf = (v: Value, where: { node?: string; path?: string }): number => {
      const i = index.get(v);
      if (i === undefined) {
        return fail(`value '${v.name}' is not a tensor of subgraph ${gi} ('${g.name}')${graphIndex.has(v.graph) ? ' but of another subgraph' : ''}`, { tensor: v.name, ...where });
      }
      return i;
    };
    const tensors = [...g.values].map((v) => tensorTable(v, buffers, fail));
    const operators = g.nodes.map((n) => operatorTable(n, codes, (v) => indexOf(v, { node: n.name }), fail, largeCustomOptions));
    const gn = graphNative(g);
    const sg: FbTable = { ...((gn?.subgraph ?? {}) as unknown as FbTable) };
    sg.tensors = tensors;
    sg.inputs = g.inputs.map((v) => indexOf(v, { path: `subgraph ${gi} inputs` }));
    sg.outputs = g.outputs.map((v) => indexOf(v, { path: `subgraph ${gi} outputs` }));
    sg.operators = operators;
    // Vectors the file left out stay out while they are empty.
    for (const k of gn?.absent ?? []) if ((sg[k] as unknown[] | undefined)?.length === 0) delete sg[k];
    if (gn && gn.subgraph.name === undefined && g.name === `subgraph_${gi}`) delete sg.name;
    else sg.name = g.name;
    return sg;
  });

  const root: FbTable = { ...((native?.root ?? { version: 3 }) as unknown as FbTable) };
  root.operator_codes = codes.finish(native?.opcodeUses ?? [], subgraphs) as unknown as FbTable[];
  if (native && native.root.operator_codes === undefined && root.operator_codes.length === 0) delete root.operator_codes;
  root.subgraphs = subgraphs;
  if (model.producer) root.description = model.producer.name;
  else delete root.description;
  if (native && (native.signatures.length || native.signaturesPresent)) {
    root.signature_defs = native.signatures.map((s, si) => {
      const gi = s.table.subgraph_index;
      const index = tensorIndices[gi];
      const graph = model.graphs[gi];
      const map = (m: SignatureTensor, ends: readonly Value[] | undefined): FbTable => {
        // A graph input or output that a rewrite replaced is followed by its position.
        const current = m.position !== undefined ? ends?.[m.position] : undefined;
        const value = current ?? m.value;
        const i = index?.get(value);
        if (i === undefined) return fail(`signature ${si} names tensor '${m.value.name}', which is no longer in subgraph ${gi}`);
        return { ...(m.name !== undefined ? { name: m.name } : {}), tensor_index: i };
      };
      return {
        ...(s.table as unknown as FbTable),
        inputs: s.inputs.map((m) => map(m, graph?.inputs)),
        outputs: s.outputs.map((m) => map(m, graph?.outputs)),
      };
    });
  }

  const metadata = planMetadata(native?.root.metadata ?? [], native?.metadataAtRead ?? [], model.metadata, native?.root.metadata_buffer ?? [], buffers);
  if (metadata.length || native?.root.metadata) root.metadata = metadata as unknown as FbTable[];
  else delete root.metadata;

  // Buffers last, so that their data follows the other large vectors in the tail.
  const entries = buffers.finish();
  const unchanged = native?.file !== undefined && native.identified && tablesAsRead(root, entries, native);
  // A file without buffers (or with an empty vector) that still needs none is written so.
  const noBuffers = native !== undefined && native.buffers.length === 0 && entries.length === 1 && entries[0]?.data === undefined;
  let inline = 0;
  for (const e of entries) if (e.data && !e.external) inline += e.data.byteLength;
  const allExternal = inline > MAX_INLINE_DATA;
  const external: { table: FbTable; data: TensorData }[] = [];
  root.buffers = entries.map((e) => {
    const table: FbTable = { ...(e.table as unknown as FbTable) };
    const data = e.data;
    // offset/size are rewritten only for data placed after the flatbuffer;
    // otherwise they stay as read (a converter's placeholder offset 1, say).
    const after = data !== undefined && (e.external || (allExternal && data.byteLength > 0));
    if (e.external || after) {
      delete table.offset;
      delete table.size;
    }
    if (after) {
      external.push({ table, data });
      return table;
    }
    if (!data || data.byteLength === 0) return table;
    delete table.data;
    table.data = new PlacedOffset(tail.addVector(data.byteLength, () => data.bytes(), BUFFER_ALIGN)) as unknown as FbValue;
    return table;
  });
  if (noBuffers) {
    if (native.buffersPresent) root.buffers = [];
    else delete root.buffers;
  }
  for (const { table, data } of external) {
    const at = tail.addRaw(data.byteLength, () => data.bytes(), BUFFER_ALIGN);
    table.offset = BigInt(base + at);
    table.size = BigInt(data.byteLength);
    usesBase = true;
  }
  for (const large of largeCustomOptions) {
    const at = tail.addRaw(large.bytes.byteLength, () => large.bytes, BUFFER_ALIGN);
    large.table.large_custom_options_offset = BigInt(base + at);
    large.table.large_custom_options_size = BigInt(large.bytes.byteLength);
    usesBase = true;
  }

  let rootOffset: number;
  try {
    rootOffset = writer.writeTable('Model', root, 'Model');
  } catch (e) {
    if (e instanceof SchemaMismatchError) return fail(e.message);
    throw e;
  }
  builder.finish(rootOffset, TFLITE_SCHEMA.fileIdentifier);
  return { head: builder.asUint8Array(), tail, usesBase, unchanged };
}

/**
 * Whether the tables built from the model are the tables read: every field
 * the same, and every buffer the one read with the same data object.
 */
function tablesAsRead(root: FbTable, entries: readonly BufferEntry[], native: TfliteModelNative): boolean {
  const read = native.buffers;
  if (read.length === 0) {
    // The writer's placeholder buffer 0, still without data.
    if (entries.length !== 1 || entries[0]!.data !== undefined) return false;
  } else {
    const readTables = native.asRead.buffers ?? [];
    if (entries.length !== read.length) return false;
    for (let i = 0; i < read.length; i++) {
      const e = entries[i]!;
      const r = read[i]!;
      // Where the data goes is compared with the file, not with the entry read, which a caller may have changed.
      const wasExternal = (readTables[i]?.offset ?? 0n) > 1n;
      if (e.data !== r.data || e.external !== wasExternal || !sameTable(e.table as unknown as FbTable, r.table as unknown as FbTable, 'Buffer', TFLITE_SCHEMA)) return false;
    }
  }
  const { buffers: _built, ...built } = root;
  const { buffers: _read, ...asRead } = native.asRead as unknown as FbTable;
  return sameTable(built, asRead, 'Model', TFLITE_SCHEMA);
}

type Fail = (reason: string, where?: { node?: string; tensor?: string; path?: string }) => never;

function sameShape(a: Shape | undefined, b: Shape | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function tensorTable(v: Value, buffers: BufferPlan, fail: Fail): FbTable {
  const nat = tensorNative(v);
  const t: FbTable = { ...((nat?.tensor ?? {}) as unknown as FbTable) };
  if (nat && nat.tensor.name === undefined && v.name === '') delete t.name;
  else t.name = v.name;
  const code = v.dtype ? tensorTypeOfDtype(v.dtype) : undefined;
  if (code !== undefined) t.type = code;
  else if (!nat) fail(v.dtype ? `dtype ${v.dtype} has no TFLite tensor type` : 'value has no dtype', { tensor: v.name });
  if (!nat || !sameShape(irShape(nat.tensor), v.shape)) {
    if (v.shape === undefined) {
      delete t.shape;
      delete t.shape_signature;
    } else {
      t.shape = v.shape.map((d) => (typeof d === 'number' ? d : 1));
      if (v.shape.some((d) => typeof d !== 'number')) t.shape_signature = v.shape.map((d) => (typeof d === 'number' ? d : -1));
      else delete t.shape_signature;
    }
  }
  t.buffer = buffers.forValue(v);
  return t;
}

/** Assigns buffers: unchanged data keeps its buffer, new data gets a new one, dropped data is emptied. */
class BufferPlan {
  private readonly entries: BufferEntry[];
  private readonly byData = new Map<TensorData, number>();
  private readonly used = new Set<number>([0]);

  constructor(original: readonly BufferEntry[]) {
    this.entries = original.map((e) => ({ ...e }));
    if (this.entries.length === 0) this.entries.push({ table: {} as fb.Buffer, external: false, tensorRefs: 0 });
    this.entries.forEach((e, i) => {
      if (e.data && !this.byData.has(e.data)) this.byData.set(e.data, i);
    });
  }

  forValue(v: Value): number {
    const nat = tensorNative(v);
    const raw = nat?.tensor.buffer ?? 0;
    if (v.const) {
      const data = v.const.data;
      let index = nat && nat.data === data && raw < this.entries.length ? raw : this.byData.get(data);
      if (index === undefined) {
        const stored = data instanceof StringData ? new BytesData(encodeStringBuffer(data.strings)) : data;
        const own = this.entries[raw];
        if (nat && raw > 0 && own && own.tensorRefs === 1 && !this.used.has(raw)) {
          // New data for a tensor that had a buffer of its own: the slot takes the new bytes.
          if (own.data) this.byData.delete(own.data);
          index = raw;
          this.entries[raw] = { ...own, data: stored };
        } else {
          index = this.entries.length;
          this.entries.push({ table: {} as fb.Buffer, data: stored, external: false, tensorRefs: 1 });
        }
        this.byData.set(data, index);
      }
      this.used.add(index);
      return index;
    }
    // A tensor without data keeps its (empty) buffer slot, as converters give each tensor its own.
    if (nat && nat.data === undefined && raw < this.entries.length) {
      this.used.add(raw);
      return raw;
    }
    return 0;
  }

  /** A new buffer holding metadata bytes. */
  add(bytes: Uint8Array): number {
    this.entries.push({ table: {} as fb.Buffer, data: new BytesData(bytes), external: false, tensorRefs: 0 });
    return this.entries.length - 1;
  }

  /** New metadata bytes in a slot only that metadata entry reads. */
  replace(index: number, bytes: Uint8Array): void {
    const own = this.entries[index];
    if (!own) throw new Error(`tflite writer: buffer ${index} does not exist`);
    if (own.data) this.byData.delete(own.data);
    this.entries[index] = { ...own, data: new BytesData(bytes), external: false };
  }

  /** Drops the data of a slot nothing reads any more. */
  empty(index: number): void {
    const own = this.entries[index];
    if (!own) return;
    if (own.data) this.byData.delete(own.data);
    this.entries[index] = { ...own, data: undefined };
  }

  /** How many tensors read buffer `index` when the file was read. */
  tensorRefs(index: number): number {
    return this.entries[index]?.tensorRefs ?? 0;
  }

  /** The buffer list: data no tensor reads any more is dropped (the slot stays, so indices hold). */
  finish(): BufferEntry[] {
    return this.entries.map((e, i) => (e.tensorRefs > 0 && !this.used.has(i) && e.data ? { ...e, data: undefined } : e));
  }
}

/**
 * The first version TFLite's op resolver registers, where it is not 1: the
 * version 1 of BROADCAST_TO was rolled back (register.cc registers 2 to 3),
 * so a code at version 1 names no kernel and the model does not load.
 */
const FIRST_VERSION: ReadonlyMap<number, number> = new Map([[BuiltinOperator.BROADCAST_TO, 2]]);

/** Assigns operator codes: a node keeps its code while its op is unchanged; new ops get new codes. */
class OpcodePlan {
  readonly codes: fb.OperatorCode[];
  private readonly used = new Set<number>();

  constructor(original: readonly fb.OperatorCode[], private readonly file: string) {
    this.codes = [...original];
  }

  /**
   * The code list to write. A code that operators used when the file was read
   * and none uses now is dropped (and the operators' indices follow): a
   * TFLite runtime resolves every builtin code at load, so a leftover POW
   * after POW became MULs would still need a POW kernel. Codes the file
   * listed without using them stay, as read.
   */
  finish(usesAtRead: readonly number[], subgraphs: readonly FbTable[]): fb.OperatorCode[] {
    const index = this.codes.map((_, i) => i);
    const keep = this.codes.filter((_, i) => this.used.has(i) || !((usesAtRead[i] ?? 0) > 0));
    if (keep.length === this.codes.length) return this.codes;
    let next = 0;
    this.codes.forEach((c, i) => (index[i] = keep.includes(c) ? next++ : -1));
    for (const sg of subgraphs) {
      for (const op of (sg.operators ?? []) as FbTable[]) op.opcode_index = index[op.opcode_index as number] ?? -1;
    }
    return keep;
  }

  indexFor(n: Node): number {
    const want = this.builtinCode(n);
    const custom = want === BuiltinOperator.CUSTOM ? n.op : undefined;
    const matches = (c: fb.OperatorCode | undefined): boolean =>
      !!c && effectiveBuiltinCode(c) === want && (custom === undefined || (c.custom_code ?? '') === custom);
    const nat = operatorNative(n);
    if (nat && matches(this.codes[nat.operator.opcode_index])) return this.use(nat.operator.opcode_index);
    const found = this.codes.findIndex(matches);
    if (found >= 0) return this.use(found);
    const code: fb.OperatorCode = {
      deprecated_builtin_code: Math.min(want, BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES),
      version: FIRST_VERSION.get(want) ?? 1,
      builtin_code: want,
    };
    if (custom !== undefined) code.custom_code = custom;
    this.codes.push(code);
    return this.use(this.codes.length - 1);
  }

  private use(i: number): number {
    this.used.add(i);
    return i;
  }

  private builtinCode(n: Node): number {
    if (n.domain === 'custom') return BuiltinOperator.CUSTOM;
    const fail = (reason: string): never => {
      throw new ModelError({ file: this.file, node: n.name }, reason, "TFLite custom operators have domain 'custom'");
    };
    if (n.domain !== '') return fail(`domain '${n.domain}' is not a TFLite domain`);
    const known = (BuiltinOperator as Record<string, number>)[n.op];
    if (known !== undefined) return known;
    const unknown = /^UNKNOWN_BUILTIN_(\d+)$/.exec(n.op);
    if (unknown) return Number(unknown[1]);
    return fail(`op '${n.op}' is not a TFLite builtin operator`);
  }
}

interface LargeCustomOptions {
  table: FbTable;
  bytes: Uint8Array;
}

function operatorTable(n: Node, codes: OpcodePlan, indexOf: (v: Value) => number, fail: Fail, large: LargeCustomOptions[]): FbTable {
  const nat = operatorNative(n);
  const t: FbTable = { ...((nat?.operator ?? {}) as unknown as FbTable) };
  for (const k of ['builtin_options_type', 'builtin_options', 'builtin_options_2_type', 'builtin_options_2', 'custom_options']) delete t[k];
  delete t.large_custom_options_offset;
  delete t.large_custom_options_size;
  t.opcode_index = codes.indexFor(n);
  t.inputs = n.inputs.map((v) => (v ? indexOf(v) : -1));
  t.outputs = n.outputs.map(indexOf);
  if (nat?.operator.inputs === undefined && n.inputs.length === 0) delete t.inputs;
  if (nat?.operator.outputs === undefined && n.outputs.length === 0) delete t.outputs;
  if (nat) {
    if (nat.intermediates.length || nat.operator.intermediates) t.intermediates = nat.intermediates.map((v) => (v ? indexOf(v) : -1));
    const mutating = nat.operator.mutating_variable_inputs;
    if (mutating && mutating.length !== n.inputs.length && mutating.length !== 0) delete t.mutating_variable_inputs;
  }

  const optionNames = n.attrCount === 0 ? [] : [...n.attrs.keys()].filter((k) => k !== 'custom_options');
  const sameOp = nat !== undefined && nat.op === n.op && nat.domain === n.domain;
  let table1 = sameOp ? nat.optionsTable : undefined;
  let table2 = sameOp ? nat.options2Table : undefined;
  // A new node, a renamed one, or one read without options that now has attributes: the op's own table.
  if (n.domain === '' && (!sameOp || (!table1 && !table2 && optionNames.length > 0))) {
    const found = optionsTableFor(n.op);
    if (found?.union === 'builtin_options') table1 = found.table;
    if (found?.union === 'builtin_options_2') table2 = found.table;
  }
  const in2 = new Set(table2 ? tableDef(table2).fields.map((f) => f.name) : []);
  const names1 = optionNames.filter((k) => !in2.has(k));
  const names2 = optionNames.filter((k) => in2.has(k));
  try {
    if (names1.length && !table1) throw new OptionsError(`op ${n.op} has no options table for attribute(s) ${names1.join(', ')}`);
    if (table1) {
      t.builtin_options_type = unionTypeOf('builtin_options', table1);
      t.builtin_options = attrsToOptions(table1, n.attrs, names1, sameOp ? nat?.deprecatedOptions : undefined);
      if (sameOp && nat.optionsAbsent && onlyDefaults(table1, t.builtin_options)) delete t.builtin_options;
    }
    if (table2) {
      t.builtin_options_2_type = unionTypeOf('builtin_options_2', table2);
      t.builtin_options_2 = attrsToOptions(table2, n.attrs, names2, sameOp ? nat?.deprecatedOptions2 : undefined);
      if (sameOp && nat.options2Absent && onlyDefaults(table2, t.builtin_options_2)) delete t.builtin_options_2;
    }
  } catch (e) {
    if (e instanceof OptionsError) fail(e.message, { node: n.name });
    throw e;
  }

  const custom = n.attr('custom_options');
  if (custom) {
    if (custom.kind !== 'bytes') fail(`attribute custom_options must be bytes, got ${custom.kind}`, { node: n.name });
    else if (nat && nat.operator.large_custom_options_offset > 1n) {
      large.push({ table: t, bytes: custom.value });
      // Unchanged bytes keep the place they were read from until placed anew,
      // so that the operator compares equal with the file (see tablesAsRead).
      if (custom.value === nat.largeCustomOptions) {
        t.large_custom_options_offset = nat.operator.large_custom_options_offset;
        t.large_custom_options_size = nat.operator.large_custom_options_size;
      }
    } else t.custom_options = custom.value;
  }
  return t;
}
