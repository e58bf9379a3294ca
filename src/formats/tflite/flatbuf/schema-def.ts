/**
 * A flatbuffers schema as data: what scripts/gen-tflite-schema.js makes of a
 * `.fbs` file, and what the generic reader and writer of this folder walk.
 * Only what the TFLite schema uses is modelled (no structs, no fixed arrays).
 */

/** Scalar types of the flatbuffers schema language. */
export type ScalarKind =
  | 'bool' | 'byte' | 'ubyte' | 'short' | 'ushort' | 'int' | 'uint' | 'long' | 'ulong' | 'float' | 'double';

/** What a vector holds. */
export type ElementType =
  | { kind: 'scalar'; scalar: ScalarKind; enumName?: string }
  | { kind: 'string' }
  | { kind: 'table'; table: string };

/** The type of one field. A union takes two slots: `<name>_type` (a ubyte) and `<name>` (the table). */
export type FieldType =
  | { kind: 'scalar'; scalar: ScalarKind; enumName?: string; unionTypeOf?: string }
  | { kind: 'string' }
  | { kind: 'table'; table: string }
  | { kind: 'union'; union: string }
  | { kind: 'vector'; element: ElementType; align?: number };

/** One field of a table; `id` is its vtable slot. */
export interface FieldDef {
  name: string;
  id: number;
  type: FieldType;
  /** Default of a scalar field (flatbuffers omits fields equal to it). */
  default?: number | boolean;
  /** Marked `(deprecated)`: still read and written, so old files keep it. */
  deprecated?: boolean;
}

/** A table: its fields in slot order. */
export interface TableDef {
  name: string;
  fields: FieldDef[];
  /** Number of vtable slots the schema knows; slots beyond are unknown fields. */
  slotCount: number;
}

/** An enum: its underlying scalar and named values. */
export interface EnumDef {
  name: string;
  scalar: ScalarKind;
  values: Record<string, number>;
}

/** A union: member i has type value i + 1 (0 is NONE). */
export interface UnionDef {
  name: string;
  members: string[];
}

/** A whole schema. */
export interface SchemaDef {
  fileIdentifier: string;
  rootTable: string;
  enums: Record<string, EnumDef>;
  unions: Record<string, UnionDef>;
  tables: Record<string, TableDef>;
}

/** Bytes a scalar takes inline. */
export const SCALAR_SIZE: Readonly<Record<ScalarKind, number>> = {
  bool: 1, byte: 1, ubyte: 1, short: 2, ushort: 2, int: 4, uint: 4, long: 8, ulong: 8, float: 4, double: 8,
};

/** Bytes one vector element takes inline (offsets for strings and tables). */
export function elementSize(e: ElementType): number {
  return e.kind === 'scalar' ? SCALAR_SIZE[e.scalar] : 4;
}

/** Bytes a field takes inline in its table. */
export function fieldInlineSize(t: FieldType): number {
  return t.kind === 'scalar' ? SCALAR_SIZE[t.scalar] : 4;
}
