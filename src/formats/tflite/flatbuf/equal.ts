import type { FbTable } from './reader';
import { scalarDefault } from './reader';
import type { ElementType, SchemaDef } from './schema-def';

/**
 * Whether two decoded tables of type `table` hold the same fields, as the
 * schema sees them: an absent scalar is its default (flatbuffers writers
 * leave defaults out), vectors and nested tables are compared element by
 * element. Keys the schema does not know are not looked at.
 */
export function sameTable(a: FbTable, b: FbTable, table: string, schema: SchemaDef): boolean {
  if (a === b) return true;
  const def = schema.tables[table];
  if (!def) throw new Error(`schema has no table ${table}`);
  for (const f of def.fields) {
    const t = f.type;
    if (t.kind === 'scalar') {
      if (!sameScalar(a[f.name] ?? scalarDefault(f), b[f.name] ?? scalarDefault(f))) return false;
      continue;
    }
    const x = a[f.name];
    const y = b[f.name];
    if (x === undefined || y === undefined) {
      if (x !== y) return false;
      continue;
    }
    switch (t.kind) {
      case 'string':
        if (x !== y) return false;
        break;
      case 'table':
        if (!sameTable(x as FbTable, y as FbTable, t.table, schema)) return false;
        break;
      case 'union': {
        // The `<name>_type` field, a scalar, was compared above.
        const member = schema.unions[t.union]?.members[Number(a[`${f.name}_type`]) - 1];
        if (member === undefined || !sameTable(x as FbTable, y as FbTable, member, schema)) return false;
        break;
      }
      case 'vector':
        if (!sameVector(x, y, t.element, schema)) return false;
        break;
    }
  }
  return true;
}

function sameVector(x: unknown, y: unknown, element: ElementType, schema: SchemaDef): boolean {
  if (x === y) return true;
  const a = x as ArrayLike<unknown>;
  const b = y as ArrayLike<unknown>;
  if (a.length !== b.length) return false;
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
  }
  for (let i = 0; i < a.length; i++) {
    const same =
      element.kind === 'scalar' ? sameScalar(a[i], b[i])
      : element.kind === 'string' ? a[i] === b[i]
      : sameTable(a[i] as FbTable, b[i] as FbTable, element.table, schema);
    if (!same) return false;
  }
  return true;
}

/** The same scalar, whether held as a number, a bigint or a boolean (NaN equals NaN). */
function sameScalar(x: unknown, y: unknown): boolean {
  if (Object.is(x, y)) return true;
  if (typeof x === typeof y) return false;
  const n = (v: unknown): number => (typeof v === 'boolean' ? Number(v) : Number(v as number | bigint));
  return Object.is(n(x), n(y));
}
