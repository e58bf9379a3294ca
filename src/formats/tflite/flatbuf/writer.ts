import { Builder } from 'flatbuffers';
import type { FbTable, FbValue } from './reader';
import { elementSize, type ElementType, type FieldDef, type SchemaDef, type TableDef } from './schema-def';

/**
 * Where large byte vectors go instead of the builder's memory: returns the
 * builder offset of the vector (see TailRegion), or undefined to write it
 * inline. `align` is the alignment the schema asks for the vector's data.
 */
export type ByteVectorSink = (bytes: Uint8Array, align: number, path: string) => number | undefined;

/** A field value placed beforehand (data in a TailRegion): the writer stores its offset as is. */
export class PlacedOffset {
  constructor(readonly offset: number) {}
}

/** Thrown for an object that does not fit the schema (a bug in the caller, or a bad rewrite). */
export class SchemaMismatchError extends Error {}

/**
 * Encodes plain objects (as FlatbufferReader returns them) with a flatbuffers
 * Builder, driven by a SchemaDef. Scalars equal to their default are left out,
 * as flatbuffers writers do; absent vectors, strings and tables stay absent and
 * empty ones stay empty.
 */
export class FlatbufferWriter {
  constructor(
    readonly builder: Builder,
    private readonly schema: SchemaDef,
    private readonly sink?: ByteVectorSink,
  ) {}

  private table(name: string): TableDef {
    const t = this.schema.tables[name];
    if (!t) throw new SchemaMismatchError(`schema has no table ${name}`);
    return t;
  }

  /** Writes `obj` as a `tableName` table and returns its offset. */
  writeTable(tableName: string, obj: FbTable, path: string = tableName): number {
    const def = this.table(tableName);
    const offsets = new Map<FieldDef, number>();
    // Children first: flatbuffers builds back to front.
    for (const f of def.fields) {
      const v = obj[f.name];
      if (v === undefined || f.type.kind === 'scalar') continue;
      const placed: unknown = v;
      if (placed instanceof PlacedOffset) offsets.set(f, placed.offset);
      else {
        const off = this.writeChild(f, v, obj, `${path}.${f.name}`);
        if (off !== undefined) offsets.set(f, off);
      }
    }
    const b = this.builder;
    b.startObject(def.slotCount);
    for (const f of def.fields) {
      const v = obj[f.name];
      if (v === undefined) continue;
      if (f.type.kind === 'scalar') this.addScalarField(f, v, path);
      else {
        const off = offsets.get(f);
        if (off !== undefined) {
          b.addFieldOffset(f.id, off, 0);
          if (off === 0) throw new SchemaMismatchError(`${path}.${f.name}: offset 0`);
        }
      }
    }
    return b.endObject();
  }

  private writeChild(f: FieldDef, v: FbValue, obj: FbTable, path: string): number | undefined {
    const t = f.type;
    switch (t.kind) {
      case 'string':
        if (typeof v !== 'string') throw new SchemaMismatchError(`${path}: expected a string`);
        return this.builder.createString(v);
      case 'table':
        return this.writeTable(t.table, asTable(v, path), path);
      case 'union': {
        const type = obj[`${f.name}_type`];
        const member = typeof type === 'number' ? this.schema.unions[t.union]?.members[type - 1] : undefined;
        if (!member) return undefined;
        return this.writeTable(member, asTable(v, path), path);
      }
      case 'vector':
        return this.writeVector(t.element, t.align, v, path);
      default:
        return undefined;
    }
  }

  private writeVector(el: ElementType, align: number | undefined, v: FbValue, path: string): number {
    const b = this.builder;
    const size = elementSize(el);
    if (el.kind === 'scalar' && (el.scalar === 'ubyte' || el.scalar === 'byte')) {
      const bytes = v instanceof Uint8Array ? v : v instanceof Int8Array ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : null;
      if (!bytes) throw new SchemaMismatchError(`${path}: expected bytes`);
      const external = this.sink?.(bytes, align ?? 1, path);
      if (external !== undefined) return external;
      if ((align ?? 1) <= 1) return b.createByteVector(bytes);
      b.startVector(1, bytes.length, align ?? 1);
      for (let i = bytes.length - 1; i >= 0; i--) b.addInt8(bytes[i] ?? 0);
      return b.endVector();
    }
    if (!Array.isArray(v)) throw new SchemaMismatchError(`${path}: expected a vector`);
    const items = v as readonly unknown[];
    if (el.kind === 'scalar') {
      b.startVector(size, items.length, Math.max(align ?? size, size));
      for (let i = items.length - 1; i >= 0; i--) addScalar(b, el.scalar, items[i], `${path}[${i}]`);
      return b.endVector();
    }
    const offsets: number[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (el.kind === 'string') {
        if (typeof item !== 'string') throw new SchemaMismatchError(`${path}[${i}]: expected a string`);
        offsets[i] = b.createString(item);
      } else offsets[i] = this.writeTable(el.table, asTable(item as FbValue, `${path}[${i}]`), `${path}[${i}]`);
    }
    b.startVector(4, offsets.length, 4);
    for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i] ?? 0);
    return b.endVector();
  }

  private addScalarField(f: FieldDef, v: FbValue, path: string): void {
    if (f.type.kind !== 'scalar') return;
    const b = this.builder;
    const where = `${path}.${f.name}`;
    const d = f.default;
    switch (f.type.scalar) {
      case 'bool': b.addFieldInt8(f.id, toNumber(v, where) ? 1 : 0, d === true ? 1 : 0); break;
      case 'byte': case 'ubyte': b.addFieldInt8(f.id, toNumber(v, where), Number(d ?? 0)); break;
      case 'short': case 'ushort': b.addFieldInt16(f.id, toNumber(v, where), Number(d ?? 0)); break;
      case 'int': case 'uint': b.addFieldInt32(f.id, toNumber(v, where), Number(d ?? 0)); break;
      case 'long': case 'ulong': b.addFieldInt64(f.id, BigInt.asIntN(64, toBigInt(v, where)), BigInt(Number(d ?? 0))); break;
      case 'float': b.addFieldFloat32(f.id, toNumber(v, where), Number(d ?? 0)); break;
      case 'double': b.addFieldFloat64(f.id, toNumber(v, where), Number(d ?? 0)); break;
    }
  }
}

function addScalar(b: Builder, scalar: string, v: unknown, where: string): void {
  switch (scalar) {
    case 'bool': b.addInt8(v ? 1 : 0); break;
    case 'byte': case 'ubyte': b.addInt8(toNumber(v, where)); break;
    case 'short': case 'ushort': b.addInt16(toNumber(v, where)); break;
    case 'int': case 'uint': b.addInt32(toNumber(v, where)); break;
    case 'long': case 'ulong': b.addInt64(BigInt.asIntN(64, toBigInt(v, where))); break;
    case 'float': b.addFloat32(toNumber(v, where)); break;
    case 'double': b.addFloat64(toNumber(v, where)); break;
    default: throw new SchemaMismatchError(`${where}: unknown scalar ${scalar}`);
  }
}

function toNumber(v: unknown, where: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  throw new SchemaMismatchError(`${where}: expected a number, got ${typeof v}`);
}

function toBigInt(v: unknown, where: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'boolean') return v ? 1n : 0n;
  throw new SchemaMismatchError(`${where}: expected an integer, got ${String(v)}`);
}

function asTable(v: FbValue, where: string): FbTable {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) {
    throw new SchemaMismatchError(`${where}: expected a table`);
  }
  return v as FbTable;
}

/** A piece of the region written after the flatbuffer. */
interface TailChunk {
  /** Zero bytes before it. */
  pad: number;
  /** Write a uint32 length prefix (a flatbuffer vector) before the bytes. */
  prefixed: boolean;
  byteLength: number;
  bytes: () => Uint8Array;
}

/**
 * The bytes written after the builder's output: large byte vectors (buffer
 * data, big custom options) that the flatbuffer points to with ordinary
 * forward offsets, then data stored by offset/size for models over 2 GB.
 * Keeping them out of the builder means the writer holds the tables in memory
 * but streams the weights straight from where they were read.
 *
 * Positions are relative to the end of the builder's output, whose length the
 * caller keeps a multiple of 16, so alignment here is alignment in the file.
 */
export class TailRegion {
  private readonly chunks: TailChunk[] = [];
  private size = 0;

  get byteLength(): number {
    return this.size;
  }

  private padFor(at: number, align: number): number {
    return (align - (at % align)) % align;
  }

  /**
   * Adds a length-prefixed vector whose data starts `align`-aligned; returns
   * the builder offset to store in the referring field: minus its position.
   */
  addVector(byteLength: number, bytes: () => Uint8Array, align: number): number {
    const a = Math.max(align, 4);
    let pad = this.padFor(this.size + 4, a);
    // Offset 0 would read as "field absent" to the builder.
    if (this.size + pad === 0) pad += a;
    const at = this.size + pad;
    this.chunks.push({ pad, prefixed: true, byteLength, bytes });
    this.size = at + 4 + byteLength;
    return -at;
  }

  /** Adds raw bytes `align`-aligned; returns their position in the region. */
  addRaw(byteLength: number, bytes: () => Uint8Array, align: number): number {
    const pad = this.padFor(this.size, align);
    const at = this.size + pad;
    this.chunks.push({ pad, prefixed: false, byteLength, bytes });
    this.size = at + byteLength;
    return at;
  }

  /** Writes the region through `write`, one chunk at a time. */
  writeTo(write: (bytes: Uint8Array) => void): void {
    const zeros = new Uint8Array(16);
    const prefix = new Uint8Array(4);
    const pv = new DataView(prefix.buffer);
    for (const c of this.chunks) {
      for (let left = c.pad; left > 0; left -= zeros.length) write(left >= zeros.length ? zeros : zeros.subarray(0, left));
      if (c.prefixed) {
        pv.setUint32(0, c.byteLength, true);
        write(prefix);
      }
      const bytes = c.bytes();
      if (bytes.byteLength !== c.byteLength) throw new Error(`tail chunk changed size: ${c.byteLength} -> ${bytes.byteLength}`);
      write(bytes);
    }
  }
}
