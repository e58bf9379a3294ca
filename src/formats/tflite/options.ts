import type { Attr } from '../../ir/attr';
import type { FbTable, FbValue } from './flatbuf/reader';
import type { FieldDef, TableDef } from './flatbuf/schema-def';
import { TFLITE_SCHEMA } from './schema/schema.generated';

/** The two option unions of Operator, by their value field. */
export type OptionsUnion = 'builtin_options' | 'builtin_options_2';

const UNION_OF: Record<OptionsUnion, string> = { builtin_options: 'BuiltinOptions', builtin_options_2: 'BuiltinOptions2' };

/** Options tables whose name does not follow from the operator's name. */
const IRREGULAR: Record<string, string> = {
  AVERAGE_POOL_2D: 'Pool2DOptions',
  MAX_POOL_2D: 'Pool2DOptions',
  L2_POOL_2D: 'Pool2DOptions',
  L2_NORMALIZATION: 'L2NormOptions',
  MEAN: 'ReducerOptions',
  SUM: 'ReducerOptions',
  REDUCE_PROD: 'ReducerOptions',
  REDUCE_MAX: 'ReducerOptions',
  REDUCE_MIN: 'ReducerOptions',
  REDUCE_ANY: 'ReducerOptions',
  REDUCE_ALL: 'ReducerOptions',
  MAXIMUM: 'MaximumMinimumOptions',
  MINIMUM: 'MaximumMinimumOptions',
  UNIDIRECTIONAL_SEQUENCE_RNN: 'SequenceRNNOptions',
  CONV_3D: 'Conv3DOptions',
  CONV_3D_TRANSPOSE: 'Conv3DOptions',
  RANDOM_STANDARD_NORMAL: 'RandomOptions',
  RANDOM_UNIFORM: 'RandomOptions',
  MULTINOMIAL: 'RandomOptions',
};

function normalise(name: string): string {
  return name.replace(/_/g, '').toLowerCase();
}

const MEMBER_BY_NORMALISED = new Map<string, { union: OptionsUnion; table: string }>();
for (const union of ['builtin_options', 'builtin_options_2'] as const) {
  for (const table of TFLITE_SCHEMA.unions[UNION_OF[union]]?.members ?? []) {
    const key = normalise(table.replace(/Options$/, ''));
    if (!MEMBER_BY_NORMALISED.has(key)) MEMBER_BY_NORMALISED.set(key, { union, table });
  }
}

/** The union and options table a builtin operator uses, for nodes that carry no record of it. */
export function optionsTableFor(op: string): { union: OptionsUnion; table: string } | undefined {
  const irregular = IRREGULAR[op];
  if (irregular) return { union: 'builtin_options', table: irregular };
  return MEMBER_BY_NORMALISED.get(normalise(op));
}

/** The union type value (1-based) of `table` in `union`. */
export function unionTypeOf(union: OptionsUnion, table: string): number {
  const i = TFLITE_SCHEMA.unions[UNION_OF[union]]?.members.indexOf(table) ?? -1;
  if (i < 0) throw new Error(`${table} is not a member of ${UNION_OF[union]}`);
  return i + 1;
}

/** The table name of union type `type` in `union`, if the schema knows it. */
export function unionMember(union: OptionsUnion, type: number): string | undefined {
  return TFLITE_SCHEMA.unions[UNION_OF[union]]?.members[type - 1];
}

export function tableDef(name: string): TableDef {
  const t = TFLITE_SCHEMA.tables[name];
  if (!t) throw new Error(`schema has no table ${name}`);
  return t;
}

function enumName(enumType: string, value: number): string | undefined {
  const values = TFLITE_SCHEMA.enums[enumType]?.values ?? {};
  for (const [k, v] of Object.entries(values)) if (v === value) return k;
  return undefined;
}

function enumValue(enumType: string, name: string): number | undefined {
  return TFLITE_SCHEMA.enums[enumType]?.values[name];
}

function intOf(v: bigint | number): number | bigint {
  if (typeof v === 'number') return v;
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * Attributes from one options table: every field the schema knows (scalars
 * with their defaults filled in), enums by name (`padding: "SAME"`), integer
 * vectors as `ints`. Deprecated fields are not attributes: they are returned
 * apart, to be written back as they were.
 */
export function optionsToAttrs(tableName: string, options: FbTable | undefined): { attrs: [string, Attr][]; deprecated: FbTable } {
  const def = tableDef(tableName);
  const attrs: [string, Attr][] = [];
  const deprecated: FbTable = {};
  for (const f of def.fields) {
    const v = options?.[f.name] ?? defaultOf(f);
    if (v === undefined) continue;
    if (f.deprecated) {
      if (options?.[f.name] !== undefined) deprecated[f.name] = v;
      continue;
    }
    attrs.push([f.name, fieldToAttr(f, v)]);
  }
  return { attrs, deprecated };
}

/** Whether an options table holds nothing but defaults (so that writing none at all says the same). */
export function onlyDefaults(tableName: string, options: FbTable): boolean {
  return tableDef(tableName).fields.every((f) => {
    const v = options[f.name];
    if (v === undefined) return true;
    const d = defaultOf(f);
    return d !== undefined && (v === d || (typeof v === 'boolean' && Number(v) === Number(d)));
  });
}

function defaultOf(f: FieldDef): FbValue | undefined {
  if (f.type.kind !== 'scalar') return undefined;
  if (f.type.scalar === 'bool') return f.default === true;
  if (f.type.scalar === 'long' || f.type.scalar === 'ulong') return BigInt(Number(f.default ?? 0));
  return typeof f.default === 'number' ? f.default : 0;
}

function fieldToAttr(f: FieldDef, v: FbValue): Attr {
  const t = f.type;
  if (t.kind === 'scalar') {
    if (t.scalar === 'bool') return { kind: 'bool', value: Boolean(v) };
    if (t.enumName && typeof v === 'number') {
      const name = enumName(t.enumName, v);
      return name !== undefined ? { kind: 'string', value: name } : { kind: 'int', value: v };
    }
    if (t.scalar === 'float' || t.scalar === 'double') return { kind: 'float', value: Number(v) };
    return { kind: 'int', value: intOf(v as number | bigint) };
  }
  if (t.kind === 'string') return { kind: 'string', value: String(v) };
  if (t.kind === 'vector') {
    const el = t.element;
    if (v instanceof Uint8Array) return { kind: 'bytes', value: v };
    if (el.kind === 'scalar' && Array.isArray(v)) {
      const items = v as (number | bigint | boolean)[];
      if (el.enumName) {
        const names = items.map((x) => enumName(el.enumName ?? '', Number(x)));
        if (names.every((n) => n !== undefined)) return { kind: 'strings', value: names as string[] };
      }
      if (el.scalar === 'float' || el.scalar === 'double') return { kind: 'floats', value: items.map(Number) };
      if (el.scalar === 'bool') return { kind: 'ints', value: items.map((x) => (x ? 1 : 0)), native: 'bool' };
      return { kind: 'ints', value: items.map((x) => intOf(typeof x === 'boolean' ? Number(x) : x)) };
    }
    if (el.kind === 'string' && Array.isArray(v)) return { kind: 'strings', value: v as string[] };
  }
  return { kind: 'opaque', value: v };
}

/** Why an attribute cannot be written into an options table. */
export class OptionsError extends Error {}

/**
 * The options table for `tableName` from a node's attributes. Every attribute
 * named in `names` must be a field of the table and of the right kind.
 */
export function attrsToOptions(tableName: string, attrs: ReadonlyMap<string, Attr>, names: readonly string[], deprecated?: FbTable): FbTable {
  const def = tableDef(tableName);
  const out: FbTable = { ...(deprecated ?? {}) };
  for (const name of names) {
    const a = attrs.get(name);
    if (!a) continue;
    const f = def.fields.find((x) => x.name === name && !x.deprecated);
    if (!f) throw new OptionsError(`attribute '${name}' is not a field of ${tableName}`);
    out[name] = attrToField(f, a, tableName);
  }
  return out;
}

function attrToField(f: FieldDef, a: Attr, tableName: string): FbValue {
  const where = `${tableName}.${f.name}`;
  const t = f.type;
  const bad = (): never => {
    throw new OptionsError(`attribute '${f.name}' of kind ${a.kind} does not fit ${where}`);
  };
  if (t.kind === 'scalar') {
    if (t.scalar === 'bool') return a.kind === 'bool' ? a.value : a.kind === 'int' ? Number(a.value) !== 0 : bad();
    if (t.enumName && a.kind === 'string') {
      const v = enumValue(t.enumName, a.value);
      if (v === undefined) {
        const known = Object.keys(TFLITE_SCHEMA.enums[t.enumName]?.values ?? {}).join(', ');
        throw new OptionsError(`attribute '${f.name}': '${a.value}' is not a ${t.enumName} (one of ${known})`);
      }
      return v;
    }
    if (t.scalar === 'float' || t.scalar === 'double') return a.kind === 'float' || a.kind === 'int' ? Number(a.value) : bad();
    if (a.kind !== 'int') return bad();
    if (t.scalar === 'long' || t.scalar === 'ulong') return BigInt(a.value);
    return Number(a.value);
  }
  if (t.kind === 'string') return a.kind === 'string' ? a.value : bad();
  if (t.kind === 'vector') {
    const el = t.element;
    if (el.kind === 'scalar' && el.scalar === 'ubyte') return a.kind === 'bytes' ? a.value : bad();
    if (el.kind === 'scalar' && el.enumName && a.kind === 'strings') {
      return a.value.map((s) => {
        const v = enumValue(el.enumName ?? '', s);
        if (v === undefined) throw new OptionsError(`attribute '${f.name}': '${s}' is not a ${el.enumName}`);
        return v;
      });
    }
    if (el.kind === 'scalar' && (a.kind === 'ints' || a.kind === 'floats')) {
      if (el.scalar === 'bool') return a.value.map((x) => Number(x) !== 0);
      if (el.scalar === 'long' || el.scalar === 'ulong') return a.value.map((x) => BigInt(x));
      return a.value.map(Number);
    }
    if (el.kind === 'string' && a.kind === 'strings') return a.value;
  }
  if (a.kind === 'opaque') return a.value as FbValue;
  return bad();
}
