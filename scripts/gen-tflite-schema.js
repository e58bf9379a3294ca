#!/usr/bin/env node
// Generates src/formats/tflite/schema/schema.generated.ts from our TFLite
// schema, src/formats/tflite/schema/tflite.fbs: the schema as data (tables,
// field slots, types, defaults, enums, unions) for the generic flatbuffer
// reader and writer, plus a TypeScript interface per table.
//
//   node scripts/gen-tflite-schema.js          write the generated file
//   node scripts/gen-tflite-schema.js --check  fail if it is out of date
//
// The parser knows the subset of the flatbuffers schema language that the
// TFLite schema uses: namespace, file_identifier, file_extension, root_type,
// enum, union, table, vectors, defaults and the deprecated / force_align
// attributes. Anything else is an error, so a schema change cannot slip by.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const FBS = path.join(ROOT, 'src/formats/tflite/schema/tflite.fbs');
const OUT = path.join(ROOT, 'src/formats/tflite/schema/schema.generated.ts');

const SCALARS = {
  bool: 'bool', byte: 'byte', int8: 'byte', ubyte: 'ubyte', uint8: 'ubyte',
  short: 'short', int16: 'short', ushort: 'ushort', uint16: 'ushort',
  int: 'int', int32: 'int', uint: 'uint', uint32: 'uint',
  long: 'long', int64: 'long', ulong: 'ulong', uint64: 'ulong',
  float: 'float', float32: 'float', double: 'double', float64: 'double',
};

function tokenize(text) {
  const tokens = [];
  const re = /\s+|\/\/[^\n]*|("(?:[^"\\]|\\.)*")|(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|([{}()[\]:;,=])/y;
  let line = 1;
  while (re.lastIndex < text.length) {
    const at = re.lastIndex;
    const m = re.exec(text);
    if (!m) throw new Error(`tflite.fbs:${line}: unexpected character '${text[at]}'`);
    if (m[1] !== undefined) tokens.push({ kind: 'string', text: JSON.parse(m[1]), line });
    else if (m[2] !== undefined) tokens.push({ kind: 'number', text: m[2], line });
    else if (m[3] !== undefined) tokens.push({ kind: 'ident', text: m[3], line });
    else if (m[4] !== undefined) tokens.push({ kind: 'punct', text: m[4], line });
    line += (m[0].match(/\n/g) || []).length;
  }
  return tokens;
}

function parse(text) {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const fail = (msg) => {
    const t = tokens[Math.min(i, tokens.length - 1)];
    throw new Error(`tflite.fbs:${t ? t.line : '?'}: ${msg}`);
  };
  const next = () => tokens[i++] || fail('unexpected end of file');
  const expect = (s) => {
    const t = next();
    if (t.text !== s) fail(`expected '${s}', got '${t.text}'`);
    return t;
  };
  const ident = () => {
    const t = next();
    if (t.kind !== 'ident') fail(`expected a name, got '${t.text}'`);
    return t.text;
  };
  const accept = (s) => (peek() && peek().text === s ? (i++, true) : false);
  const attributes = () => {
    const attrs = {};
    if (!accept('(')) return attrs;
    while (!accept(')')) {
      const name = ident();
      attrs[name] = accept(':') ? next().text : true;
      accept(',');
    }
    for (const a of Object.keys(attrs)) {
      if (a !== 'deprecated' && a !== 'force_align') fail(`attribute '${a}' is not supported`);
    }
    return attrs;
  };

  const schema = { namespace: '', fileIdentifier: '', rootTable: '', enums: [], unions: [], tables: [] };
  while (i < tokens.length) {
    const word = ident();
    if (word === 'namespace') { schema.namespace = ident(); expect(';'); }
    else if (word === 'file_identifier') { schema.fileIdentifier = next().text; expect(';'); }
    else if (word === 'file_extension') { next(); expect(';'); }
    else if (word === 'root_type') { schema.rootTable = ident(); expect(';'); }
    else if (word === 'enum') {
      const name = ident();
      expect(':');
      const under = SCALARS[ident()] || fail(`enum ${name}: underlying type must be an integer`);
      attributes();
      expect('{');
      const values = [];
      let nextValue = 0;
      while (!accept('}')) {
        const member = ident();
        const value = accept('=') ? Number(next().text) : nextValue;
        attributes();
        values.push([member, value]);
        nextValue = value + 1;
        if (!accept(',')) { expect('}'); break; }
      }
      schema.enums.push({ name, scalar: under, values });
    } else if (word === 'union') {
      const name = ident();
      attributes();
      expect('{');
      const members = [];
      while (!accept('}')) {
        members.push(ident());
        attributes();
        if (!accept(',')) { expect('}'); break; }
      }
      schema.unions.push({ name, members });
    } else if (word === 'table') {
      const name = ident();
      attributes();
      expect('{');
      const fields = [];
      while (!accept('}')) {
        const fname = ident();
        expect(':');
        let type;
        if (accept('[')) { type = { vector: ident() }; expect(']'); }
        else type = { named: ident() };
        let def;
        if (accept('=')) def = next().text;
        const attrs = attributes();
        expect(';');
        fields.push({ name: fname, type, default: def, attrs });
      }
      schema.tables.push({ name, fields });
    } else fail(`'${word}' is not supported by this generator`);
  }
  return schema;
}

/** Resolves names and assigns slots: the schema as SchemaDef data. */
function resolve(parsed) {
  const enums = Object.fromEntries(parsed.enums.map((e) => [e.name, e]));
  const unions = Object.fromEntries(parsed.unions.map((u) => [u.name, u]));
  const tables = Object.fromEntries(parsed.tables.map((t) => [t.name, t]));
  const element = (name, where) => {
    if (SCALARS[name]) return { kind: 'scalar', scalar: SCALARS[name] };
    if (name === 'string') return { kind: 'string' };
    if (enums[name]) return { kind: 'scalar', scalar: enums[name].scalar, enumName: name };
    if (tables[name]) return { kind: 'table', table: name };
    throw new Error(`${where}: unknown type '${name}'`);
  };
  const defaultOf = (field, scalar, enumName, where) => {
    if (field.default === undefined) return scalar === 'bool' ? false : 0;
    if (scalar === 'bool') return field.default === 'true';
    if (enumName) {
      const hit = enums[enumName].values.find(([n]) => n === field.default);
      if (hit) return hit[1];
    }
    const n = Number(field.default);
    if (Number.isNaN(n)) throw new Error(`${where}: bad default '${field.default}'`);
    return n;
  };
  const outTables = {};
  for (const t of parsed.tables) {
    const fields = [];
    let slot = 0;
    for (const f of t.fields) {
      const where = `${t.name}.${f.name}`;
      const deprecated = f.attrs.deprecated === true ? { deprecated: true } : {};
      if (f.type.vector) {
        const el = element(f.type.vector, where);
        if (el.kind === 'table' && unions[f.type.vector]) throw new Error(`${where}: vectors of unions are not supported`);
        const align = f.attrs.force_align ? { align: Number(f.attrs.force_align) } : {};
        fields.push({ name: f.name, id: slot++, type: { kind: 'vector', element: el, ...align }, ...deprecated });
      } else if (unions[f.type.named]) {
        fields.push({ name: `${f.name}_type`, id: slot++, type: { kind: 'scalar', scalar: 'ubyte', unionTypeOf: f.type.named }, default: 0, ...deprecated });
        fields.push({ name: f.name, id: slot++, type: { kind: 'union', union: f.type.named }, ...deprecated });
      } else {
        const el = element(f.type.named, where);
        if (el.kind === 'scalar') {
          const type = { kind: 'scalar', scalar: el.scalar, ...(el.enumName ? { enumName: el.enumName } : {}) };
          fields.push({ name: f.name, id: slot++, type, default: defaultOf(f, el.scalar, el.enumName, where), ...deprecated });
        } else fields.push({ name: f.name, id: slot++, type: el, ...deprecated });
      }
    }
    outTables[t.name] = { name: t.name, fields, slotCount: slot };
  }
  for (const u of parsed.unions) {
    for (const m of u.members) if (!tables[m]) throw new Error(`union ${u.name}: unknown table '${m}'`);
  }
  if (!tables[parsed.rootTable]) throw new Error(`root_type '${parsed.rootTable}' is not a table`);
  return {
    fileIdentifier: parsed.fileIdentifier,
    rootTable: parsed.rootTable,
    enums: Object.fromEntries(parsed.enums.map((e) => [e.name, { name: e.name, scalar: e.scalar, values: Object.fromEntries(e.values) }])),
    unions: Object.fromEntries(parsed.unions.map((u) => [u.name, { name: u.name, members: u.members }])),
    tables: outTables,
  };
}

const TS_SCALAR = { bool: 'boolean', long: 'bigint', ulong: 'bigint' };
function tsElement(el) {
  if (el.kind === 'scalar') return TS_SCALAR[el.scalar] || 'number';
  if (el.kind === 'string') return 'string';
  return el.table;
}
function tsField(f) {
  const t = f.type;
  switch (t.kind) {
    case 'scalar': return [f.deprecated, TS_SCALAR[t.scalar] || 'number'];
    case 'string': return [true, 'string'];
    case 'table': return [true, t.table];
    case 'union': return [true, 'FbTable'];
    case 'vector':
      if (t.element.kind === 'scalar' && t.element.scalar === 'ubyte') return [true, 'Uint8Array'];
      if (t.element.kind === 'scalar' && t.element.scalar === 'byte') return [true, 'Int8Array'];
      return [true, `${tsElement(t.element)}[]`];
  }
  throw new Error(`unknown field kind ${t.kind}`);
}

function emit(def) {
  const lines = [];
  lines.push('// Generated by scripts/gen-tflite-schema.js from tflite.fbs. Do not edit: change the');
  lines.push('// schema and run `node scripts/gen-tflite-schema.js`.');
  lines.push('');
  lines.push("import type { SchemaDef } from '../flatbuf/schema-def';");
  lines.push("import type { FbTable } from '../flatbuf/reader';");
  lines.push('');
  lines.push('/** The TFLite schema as data, for the generic flatbuffer reader and writer. */');
  // One line per enum, union member list and field keeps the file readable in a diff.
  lines.push('export const TFLITE_SCHEMA: SchemaDef = {');
  lines.push(`  fileIdentifier: ${JSON.stringify(def.fileIdentifier)},`);
  lines.push(`  rootTable: ${JSON.stringify(def.rootTable)},`);
  lines.push('  enums: {');
  for (const e of Object.values(def.enums)) lines.push(`    ${e.name}: ${JSON.stringify(e)},`);
  lines.push('  },');
  lines.push('  unions: {');
  for (const u of Object.values(def.unions)) lines.push(`    ${u.name}: ${JSON.stringify(u)},`);
  lines.push('  },');
  lines.push('  tables: {');
  for (const t of Object.values(def.tables)) {
    lines.push(`    ${t.name}: { name: ${JSON.stringify(t.name)}, slotCount: ${t.slotCount}, fields: [`);
    for (const f of t.fields) lines.push(`      ${JSON.stringify(f)},`);
    lines.push('    ] },');
  }
  lines.push('  },');
  lines.push('};');
  lines.push('');
  for (const e of Object.values(def.enums)) {
    lines.push(`/** Values of the enum ${e.name}. */`);
    lines.push(`export const ${e.name} = {`);
    for (const [k, v] of Object.entries(e.values)) lines.push(`  ${k}: ${v},`);
    lines.push('} as const;');
    lines.push('');
  }
  for (const t of Object.values(def.tables)) {
    lines.push(`/** Table ${t.name}: scalars always hold a value (the default when absent); other fields are absent when the file has none. */`);
    lines.push(`export interface ${t.name} {`);
    for (const f of t.fields) {
      const [optional, type] = tsField(f);
      lines.push(`  ${f.name}${optional ? '?' : ''}: ${type};`);
    }
    lines.push('}');
    lines.push('');
  }
  return lines.join('\n');
}

function generate(fbsText) {
  return emit(resolve(parse(fbsText)));
}

if (require.main === module) {
  const text = generate(fs.readFileSync(FBS, 'utf8'));
  if (process.argv.includes('--check')) {
    const current = fs.existsSync(OUT) ? fs.readFileSync(OUT, 'utf8') : '';
    if (current !== text) {
      process.stderr.write(`${path.relative(ROOT, OUT)} is out of date: run node scripts/gen-tflite-schema.js\n`);
      process.exit(1);
    }
  } else {
    fs.writeFileSync(OUT, text);
    process.stderr.write(`wrote ${path.relative(ROOT, OUT)}\n`);
  }
}

module.exports = { generate, parse, resolve };
