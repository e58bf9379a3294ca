import { ModelError } from '../../../errors';
import { elementSize, fieldInlineSize, type ElementType, type FieldDef, type SchemaDef, type TableDef } from './schema-def';

/** One decoded table: field name to value. Absent non-scalar fields are absent keys. */
export interface FbTable {
  [field: string]: FbValue | undefined;
}

/** A decoded field value. Byte vectors are views over the file (no copy). */
export type FbValue =
  | number
  | bigint
  | boolean
  | string
  | Uint8Array
  | Int8Array
  | FbTable
  | number[]
  | bigint[]
  | boolean[]
  | string[]
  | FbTable[];

/** A table or vector lies in the part of the file not read yet (files over 2 GB are read from their start). */
export class BeyondReadError extends ModelError {}

/** A field the schema does not know, found in a file: reported, not kept. */
export interface UnknownField {
  /** Where: `Model.subgraphs[0].tensors[3]`. */
  path: string;
  table: string;
  /** Its vtable slot. */
  slot: number;
  /** Byte offset of its value in the file. */
  offset: number;
}

const utf8 = new TextDecoder('utf-8');

/**
 * Decodes a flatbuffer into plain objects, driven by a SchemaDef. Every offset
 * and vtable entry is checked against the buffer before it is followed, so a
 * corrupt file ends in a ModelError naming the table path and byte offset.
 * Offsets only point forward, so reading cannot loop; a budget on decoded
 * objects stops files whose offsets share one subtree many times over.
 */
export class FlatbufferReader {
  readonly unknownFields: UnknownField[] = [];
  /** One past the last byte of any table, vtable, vector or string read so far: where the flatbuffer's content ends. */
  contentEnd = 0;
  private readonly dv: DataView;
  private budget: number;

  /**
   * `fileSize` is the size of the whole file when `bytes` holds only its
   * beginning: a position past `bytes` but within the file then throws
   * BeyondReadError, so that the caller can read more and try again.
   */
  constructor(
    private readonly bytes: Uint8Array,
    private readonly schema: SchemaDef,
    private readonly file: string,
    private readonly fileSize = bytes.byteLength,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // A real file cannot hold more objects than it has 4-byte words.
    this.budget = Math.floor(bytes.byteLength / 2) + 1024;
  }

  /**
   * Decodes the root table, after checking the size and file identifier. The
   * identifier is optional in flatbuffers: bytes 4..8 that are not four
   * printable characters are taken as the start of the data (a file written
   * without one); another schema's identifier is refused.
   */
  readRoot(): FbTable {
    if (this.bytes.byteLength < 8) this.fail(this.schema.rootTable, 0, `file too small (${this.bytes.byteLength} bytes)`);
    const ident = String.fromCharCode(...this.bytes.subarray(4, 8));
    if (ident !== this.schema.fileIdentifier && looksLikeIdentifier(this.bytes.subarray(4, 8))) {
      this.fail(this.schema.rootTable, 4, `file identifier is '${printable(ident)}', expected '${this.schema.fileIdentifier}'`);
    }
    const root = this.u32(0, this.schema.rootTable);
    return this.readTable(root, this.table(this.schema.rootTable), this.schema.rootTable);
  }

  private table(name: string): TableDef {
    const t = this.schema.tables[name];
    if (!t) throw new Error(`schema has no table ${name}`);
    return t;
  }

  private fail(path: string, offset: number, reason: string): never {
    throw new ModelError({ file: this.file, offset, path }, reason);
  }

  private spend(n: number, path: string, offset: number): void {
    this.budget -= n;
    if (this.budget < 0) this.fail(path, offset, 'too many objects for the file size (offsets shared or corrupt)');
  }

  private check(pos: number, size: number, path: string, what: string): void {
    if (!Number.isInteger(pos) || pos < 0 || pos + size > this.bytes.byteLength) {
      if (Number.isInteger(pos) && pos >= 0 && pos + size <= this.fileSize) {
        throw new BeyondReadError({ file: this.file, offset: pos, path }, `${what} at byte ${pos} (+${size}) lies past the ${this.bytes.byteLength} bytes read`);
      }
      this.fail(path, pos, `${what} at byte ${pos} (+${size}) is outside the file (${this.fileSize} bytes)`);
    }
    if (pos + size > this.contentEnd) this.contentEnd = pos + size;
  }

  private u32(pos: number, path: string): number {
    this.check(pos, 4, path, 'offset');
    return this.dv.getUint32(pos, true);
  }

  /** Follows the uoffset stored at `pos`. */
  private deref(pos: number, path: string): number {
    const target = pos + this.u32(pos, path);
    this.check(target, 4, path, 'referenced object');
    return target;
  }

  readTable(pos: number, def: TableDef, path: string): FbTable {
    this.spend(1, path, pos);
    this.check(pos, 4, path, 'table');
    const vtable = pos - this.dv.getInt32(pos, true);
    this.check(vtable, 4, path, 'vtable');
    const vtSize = this.dv.getUint16(vtable, true);
    const objSize = this.dv.getUint16(vtable + 2, true);
    if (vtSize < 4 || vtSize % 2 !== 0) this.fail(path, vtable, `vtable size ${vtSize} is invalid`);
    this.check(vtable, vtSize, path, 'vtable');
    if (objSize < 4) this.fail(path, vtable, `table size ${objSize} is invalid`);
    this.check(pos, objSize, path, 'table');
    const slots = (vtSize - 4) / 2;
    const fieldOffset = (slot: number): number => (slot < slots ? this.dv.getUint16(vtable + 4 + 2 * slot, true) : 0);

    const out: FbTable = {};
    for (const f of def.fields) {
      const fo = fieldOffset(f.id);
      if (fo === 0) {
        if (f.type.kind === 'scalar' && !f.deprecated) out[f.name] = scalarDefault(f);
        continue;
      }
      const size = fieldInlineSize(f.type);
      if (fo < 4 || fo + size > objSize) this.fail(`${path}.${f.name}`, vtable + 4 + 2 * f.id, `field offset ${fo} lies outside its table (${objSize} bytes)`);
      out[f.name] = this.readField(pos + fo, f, out, `${path}.${f.name}`);
    }
    for (let slot = def.slotCount; slot < slots; slot++) {
      const fo = fieldOffset(slot);
      if (fo !== 0) this.unknownFields.push({ path, table: def.name, slot, offset: pos + fo });
    }
    return out;
  }

  private readField(at: number, f: FieldDef, table: FbTable, path: string): FbValue | undefined {
    const t = f.type;
    switch (t.kind) {
      case 'scalar':
        return this.scalar(at, t.scalar);
      case 'string':
        return this.string(this.deref(at, path), path);
      case 'table':
        return this.readTable(this.deref(at, path), this.table(t.table), path);
      case 'union': {
        const type = table[`${f.name}_type`];
        const union = this.schema.unions[t.union];
        if (typeof type !== 'number' || type === 0 || !union) return undefined;
        const member = union.members[type - 1];
        if (!member) {
          this.unknownFields.push({ path, table: `${t.union}#${type}`, slot: f.id, offset: at });
          return undefined;
        }
        return this.readTable(this.deref(at, path), this.table(member), path);
      }
      case 'vector':
        return this.vector(this.deref(at, path), t.element, path);
    }
  }

  private scalar(at: number, kind: string): number | bigint | boolean {
    const dv = this.dv;
    switch (kind) {
      case 'bool': return dv.getUint8(at) !== 0;
      case 'byte': return dv.getInt8(at);
      case 'ubyte': return dv.getUint8(at);
      case 'short': return dv.getInt16(at, true);
      case 'ushort': return dv.getUint16(at, true);
      case 'int': return dv.getInt32(at, true);
      case 'uint': return dv.getUint32(at, true);
      case 'long': return dv.getBigInt64(at, true);
      case 'ulong': return dv.getBigUint64(at, true);
      case 'float': return dv.getFloat32(at, true);
      case 'double': return dv.getFloat64(at, true);
    }
    throw new Error(`unknown scalar ${kind}`);
  }

  private string(at: number, path: string): string {
    const len = this.u32(at, path);
    this.check(at + 4, len, path, `string of ${len} bytes`);
    return utf8.decode(this.bytes.subarray(at + 4, at + 4 + len));
  }

  private vector(at: number, el: ElementType, path: string): FbValue {
    const n = this.u32(at, path);
    const size = elementSize(el);
    const start = at + 4;
    this.check(start, n * size, path, `vector of ${n} elements`);
    if (el.kind === 'scalar' && el.scalar === 'ubyte') return this.bytes.subarray(start, start + n);
    if (el.kind === 'scalar' && el.scalar === 'byte') {
      return new Int8Array(this.bytes.buffer, this.bytes.byteOffset + start, n);
    }
    this.spend(n, path, at);
    if (el.kind === 'scalar') {
      const out: (number | bigint | boolean)[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = this.scalar(start + i * size, el.scalar);
      return out as number[];
    }
    if (el.kind === 'string') {
      const out: string[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = this.string(this.deref(start + i * 4, `${path}[${i}]`), `${path}[${i}]`);
      return out;
    }
    const def = this.table(el.table);
    const out: FbTable[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.readTable(this.deref(start + i * 4, `${path}[${i}]`), def, `${path}[${i}]`);
    return out;
  }
}

/** The value flatbuffers gives a scalar field that is absent. */
export function scalarDefault(f: FieldDef): number | bigint | boolean {
  if (f.type.kind === 'scalar' && (f.type.scalar === 'long' || f.type.scalar === 'ulong')) return BigInt(f.default ?? 0);
  if (f.type.kind === 'scalar' && f.type.scalar === 'bool') return f.default === true;
  return typeof f.default === 'number' ? f.default : 0;
}

/** Four printable ASCII characters: what a file identifier is made of. */
export function looksLikeIdentifier(bytes: Uint8Array): boolean {
  return bytes.byteLength === 4 && bytes.every((b) => b >= 0x20 && b < 0x7f);
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?');
}
