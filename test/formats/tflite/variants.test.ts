import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Io } from '../../../src/cli/command';
import { main } from '../../../src/cli/main';
import { readModel, writeModel } from '../../../src/formats';
import { Builder } from 'flatbuffers';
import { FlatbufferReader, type FbTable, type FbValue } from '../../../src/formats/tflite/flatbuf/reader';
import { FlatbufferWriter } from '../../../src/formats/tflite/flatbuf/writer';
import { elementSize, SCALAR_SIZE, type FieldDef, type ScalarKind } from '../../../src/formats/tflite/flatbuf/schema-def';
import { TFLITE_SCHEMA } from '../../../src/formats/tflite/schema/schema.generated';
import type * as fb from '../../../src/formats/tflite/schema/schema.generated';
import { runArmnn } from '../../../src/verify/armnn';
import { runLiteRt } from '../../../src/verify/litert';
import { tempDir } from '../../helpers/corpus';
import { bigByteVectors, firstDifference, flatcJson, TFLITE_FBS, writeEncoded } from '../../helpers/tflite-flatc';

/*
 * .tflite files of the kinds users bring beyond the corpus, built from JSON
 * with flatc and our schema (or laid out by a second, front-to-back writer, as
 * writers other than TensorFlow's do), then shown, copied and rewritten by the
 * built-in bundles through the CLI. A copy must dump to the same tables and
 * keep every buffer and custom option byte; where LiteRT.js or ArmNN runs the
 * model, the copy computes the same outputs.
 */

const work = tempDir('recipe-tflite-variants-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function capture(): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    interactive: false,
    out(text: string) {
      io.stdout += text;
    },
    err(text: string) {
      io.stderr += text;
    },
  };
  return io;
}

const f32 = (xs: number[]): number[] => [...new Uint8Array(new Float32Array(xs).buffer)];
const i32 = (xs: number[]): number[] => [...new Uint8Array(new Int32Array(xs).buffer)];

/** Our schema without its file_identifier: flatc then writes files without one. */
function schemaWithoutIdentifier(): string {
  const file = path.join(work, 'no-identifier.fbs');
  if (!fs.existsSync(file)) fs.writeFileSync(file, fs.readFileSync(TFLITE_FBS, 'utf8').replace(/^file_identifier .*$/m, ''));
  return file;
}

/** Writes `model` (flatc's JSON form of the schema) as `<name>.tflite` with flatc. */
function flatcBuild(name: string, model: object, options: { identifier?: boolean } = {}): string {
  const dir = fs.mkdtempSync(path.join(work, 'json-'));
  const json = path.join(dir, `${name}.json`);
  fs.writeFileSync(json, JSON.stringify(model));
  const schema = options.identifier === false ? schemaWithoutIdentifier() : TFLITE_FBS;
  execFileSync('flatc', ['-b', '-o', work, schema, json], { stdio: ['ignore', 'ignore', 'pipe'] });
  return path.join(work, `${name}.tflite`);
}

type TensorJson = { name: string; shape?: number[]; type: string | number; buffer: number; [k: string]: unknown };
const T = (name: string, shape: number[] | undefined, type: string | number, buffer: number, extra: object = {}): TensorJson => ({
  name,
  ...(shape ? { shape } : {}),
  type,
  buffer,
  ...extra,
});

interface ModelJson {
  version?: number;
  operator_codes: object[];
  subgraphs: { tensors: TensorJson[]; inputs: number[]; outputs: number[]; operators: Record<string, unknown>[]; name?: string; [k: string]: unknown }[];
  buffers?: object[];
  [k: string]: unknown;
}

/** y = relu(x + w) over [1, 4], float32: runs in LiteRT and ArmNN. */
function addModel(): ModelJson {
  return {
    version: 3,
    operator_codes: [{ deprecated_builtin_code: 0, version: 1, builtin_code: 'ADD' }],
    subgraphs: [
      {
        tensors: [T('x', [1, 4], 'FLOAT32', 1), T('w', [4], 'FLOAT32', 2), T('y', [1, 4], 'FLOAT32', 3)],
        inputs: [0],
        outputs: [2],
        operators: [{ opcode_index: 0, inputs: [0, 1], outputs: [2], builtin_options_type: 'AddOptions', builtin_options: { fused_activation_function: 'RELU' } }],
        name: 'main',
      },
    ],
    description: 'probe',
    buffers: [{}, {}, { data: f32([1, -2, 3, 0.5]) }, {}],
  };
}

/** i = 0..: while (i < 5) i += 1, int32, with cond and body subgraphs. */
function whileModel(): ModelJson {
  return {
    version: 3,
    operator_codes: [
      { deprecated_builtin_code: 119, version: 1, builtin_code: 'WHILE' },
      { deprecated_builtin_code: 58, version: 1, builtin_code: 'LESS' },
      { deprecated_builtin_code: 0, version: 1, builtin_code: 'ADD' },
    ],
    subgraphs: [
      {
        name: 'main',
        tensors: [T('i', [], 'INT32', 1), T('o', [], 'INT32', 2)],
        inputs: [0],
        outputs: [1],
        operators: [{ opcode_index: 0, inputs: [0], outputs: [1], builtin_options_type: 'WhileOptions', builtin_options: { cond_subgraph_index: 1, body_subgraph_index: 2 } }],
      },
      {
        name: 'cond',
        tensors: [T('ci', [], 'INT32', 0), T('five', [], 'INT32', 3), T('lt', [], 'BOOL', 0)],
        inputs: [0],
        outputs: [2],
        operators: [{ opcode_index: 1, inputs: [0, 1], outputs: [2] }],
      },
      {
        name: 'body',
        tensors: [T('bi', [], 'INT32', 0), T('one', [], 'INT32', 4), T('bo', [], 'INT32', 0)],
        inputs: [0],
        outputs: [2],
        operators: [{ opcode_index: 2, inputs: [0, 1], outputs: [2], builtin_options_type: 'AddOptions', builtin_options: {} }],
      },
    ],
    buffers: [{}, {}, {}, { data: i32([5]) }, { data: i32([1]) }],
  };
}

/** Appends `data` after the flatbuffer, 16-aligned, and points each placed field at it by absolute offset (the converter's layout for models over 2 GB). */
function withDataAfter(name: string, model: ModelJson, place: { set: (m: ModelJson, offset: number, size: number) => void; bytes: number[] }[]): string {
  place.forEach((p) => p.set(model, 1 << 30, p.bytes.length));
  const head = fs.readFileSync(flatcBuild(name, model)).byteLength;
  let at = head;
  const offsets = place.map((p) => {
    at = Math.ceil(at / 16) * 16;
    const o = at;
    at += p.bytes.length;
    return o;
  });
  place.forEach((p, i) => p.set(model, offsets[i] ?? 0, p.bytes.length));
  const file = flatcBuild(name, model);
  const bytes = Buffer.alloc(at);
  fs.readFileSync(file).copy(bytes);
  if (fs.statSync(file).size !== head) throw new Error('layout changed between passes');
  place.forEach((p, i) => Buffer.from(p.bytes).copy(bytes, offsets[i]));
  fs.writeFileSync(file, bytes);
  return file;
}

const bufferAfter = (index: number, bytes: number[]) => ({
  bytes,
  set: (m: ModelJson, offset: number, size: number) => {
    (m.buffers as object[])[index] = { offset, size };
  },
});

/** Flexbuffer of the map {"a": 1}: what a custom op's options usually are. */
const FLEX_MAP_A1 = [97, 0, 1, 3, 1, 1, 2, 1, 1, 4, 36, 1];

const CASES: Record<string, () => string> = {
  'tensors sharing one buffer, size-0 data vectors, buffer 0 with an empty vector': () => {
    const m = addModel();
    const sg = m.subgraphs[0]!;
    sg.tensors.push(T('w2', [4], 'FLOAT32', 2), T('z', [1, 4], 'FLOAT32', 0), T('unused', [0], 'FLOAT32', 4));
    sg.operators.push({ opcode_index: 0, inputs: [2, 3], outputs: [4], builtin_options_type: 'AddOptions', builtin_options: {} });
    sg.outputs = [4];
    m.buffers = [{ data: [] }, {}, { data: f32([1, -2, 3, 0.5]) }, {}, { data: [] }];
    return flatcBuild('shared-buffer', m);
  },
  'activations all on buffer 0': () => {
    const m = addModel();
    const sg = m.subgraphs[0]!;
    sg.tensors[0]!.buffer = 0;
    sg.tensors[2]!.buffer = 0;
    sg.tensors[1]!.buffer = 1;
    m.buffers = [{}, { data: f32([1, -2, 3, 0.5]) }];
    return flatcBuild('buffer0', m);
  },
  'no buffers vector at all': () => {
    const m = addModel();
    const sg = m.subgraphs[0]!;
    sg.tensors = [T('x', [1, 4], 'FLOAT32', 0), T('w', [1, 4], 'FLOAT32', 0), T('y', [1, 4], 'FLOAT32', 0)];
    sg.inputs = [0, 1];
    delete m.buffers;
    return flatcBuild('no-buffers', m);
  },
  'an empty buffers vector': () => {
    const m = addModel();
    const sg = m.subgraphs[0]!;
    sg.tensors = [T('x', [1, 4], 'FLOAT32', 0), T('w', [1, 4], 'FLOAT32', 0), T('y', [1, 4], 'FLOAT32', 0)];
    sg.inputs = [0, 1];
    m.buffers = [];
    return flatcBuild('empty-buffers', m);
  },
  'buffers and custom options stored after the flatbuffer (offset/size)': () => {
    const m = addModel();
    m.operator_codes.push({ deprecated_builtin_code: 32, custom_code: 'BigCustom', version: 1, builtin_code: 'CUSTOM' });
    const sg = m.subgraphs[0]!;
    sg.tensors.push(T('c', [1, 4], 'FLOAT32', 0), T('w_again', [4], 'FLOAT32', 2));
    sg.operators.push({ opcode_index: 1, inputs: [2, 4], outputs: [3] });
    sg.outputs = [3];
    m.buffers!.push({}, {});
    return withDataAfter('external', m, [
      bufferAfter(2, f32([1, -2, 3, 0.5])),
      bufferAfter(5, []),
      {
        bytes: [1, 2, 3, 4, 5, 6, 7],
        set: (model, offset, size) => Object.assign(model.subgraphs[0]!.operators[1]!, { large_custom_options_offset: offset, large_custom_options_size: size }),
      },
    ]);
  },
  "a converter's placeholder offset 1 on a buffer without data": () => {
    const m = addModel();
    m.buffers!.push({ offset: 1, size: 1 });
    return flatcBuild('offset-placeholder', m);
  },
  'builtin_code absent (files from before extended codes): only deprecated_builtin_code': () => {
    const m = addModel();
    m.operator_codes = [{ deprecated_builtin_code: 0, version: 2 }];
    return flatcBuild('old-codes', m);
  },
  'builtin_code above 127 (GELU) with deprecated_builtin_code 127, operator version 2': () => {
    const m = addModel();
    m.operator_codes.push({ deprecated_builtin_code: 127, version: 2, builtin_code: 'GELU' });
    const sg = m.subgraphs[0]!;
    sg.tensors.push(T('g', [1, 4], 'FLOAT32', 0));
    sg.operators.push({ opcode_index: 1, inputs: [2], outputs: [3], builtin_options_type: 'GeluOptions', builtin_options: { approximate: true } });
    sg.outputs = [3];
    return flatcBuild('gelu', m);
  },
  'an omitted optional input (-1): FULLY_CONNECTED without bias': () => {
    const m = addModel();
    m.operator_codes = [{ deprecated_builtin_code: 9, version: 1, builtin_code: 'FULLY_CONNECTED' }];
    const sg = m.subgraphs[0]!;
    sg.tensors[1] = T('w', [2, 4], 'FLOAT32', 2);
    sg.tensors[2] = T('y', [1, 2], 'FLOAT32', 3);
    sg.operators = [{ opcode_index: 0, inputs: [0, 1, -1], outputs: [2], builtin_options_type: 'FullyConnectedOptions', builtin_options: {} }];
    m.buffers![2] = { data: f32([1, 2, 3, 4, -1, -2, -3, -4]) };
    return flatcBuild('fc-no-bias', m);
  },
  'a custom op with flexbuffer custom_options': () => {
    const m = addModel();
    m.operator_codes.push({ deprecated_builtin_code: 32, custom_code: 'MyCustom', version: 1, builtin_code: 'CUSTOM' });
    const sg = m.subgraphs[0]!;
    sg.tensors.push(T('c', [1, 4], 'FLOAT32', 0));
    sg.operators.push({ opcode_index: 1, inputs: [2], outputs: [3], custom_options: FLEX_MAP_A1, custom_options_format: 'FLEXBUFFERS' });
    sg.outputs = [3];
    return flatcBuild('custom', m);
  },
  'builtin_options_2 (StableHLO), intermediates and mutating_variable_inputs': () => {
    const m = addModel();
    m.operator_codes.push({ deprecated_builtin_code: 127, version: 1, builtin_code: 'STABLEHLO_CONCATENATE' });
    const sg = m.subgraphs[0]!;
    sg.tensors.push(T('cc', [2, 4], 'FLOAT32', 0), T('inter', [1], 'FLOAT32', 0));
    sg.operators.push({
      opcode_index: 1,
      inputs: [2, 2],
      outputs: [3],
      builtin_options_2_type: 'StablehloConcatenateOptions',
      builtin_options_2: { dimension: 0 },
      intermediates: [4, -1],
      mutating_variable_inputs: [false, false],
    });
    sg.outputs = [3];
    return flatcBuild('options2', m);
  },
  'shape_signature with -1, and -1 in shape itself': () => {
    const m = addModel();
    const sg = m.subgraphs[0]!;
    sg.tensors[0]!.shape_signature = [-1, 4];
    sg.tensors[2]!.shape_signature = [-1, 4];
    sg.tensors.push(T('dyn', [-1, 4], 'FLOAT32', 0));
    return flatcBuild('dynamic', m);
  },
  'tensors of every kind: scalar, no shape, has_rank, int4/int16/float16/bfloat16/complex64/bool/string, variable, resource, variant, per-axis and custom quantization, sparsity': () => {
    const m = addModel();
    const ts = m.subgraphs[0]!.tensors;
    ts.push(T('scalar', [], 'FLOAT32', 4), T('noshape', undefined, 'FLOAT32', 0), T('ranked0', [], 'INT32', 0, { has_rank: true }));
    ts.push(T('i4', [4], 'INT4', 5), T('i16', [2], 'INT16', 6), T('f16', [2], 'FLOAT16', 7), T('c64', [1], 'COMPLEX64', 8), T('b', [3], 'BOOL', 9));
    ts.push(T('bf16', [1], 'BFLOAT16', 10), T('u16', [1], 'UINT16', 11), T('str', [2], 'STRING', 12));
    ts.push(T('var', [1, 4], 'FLOAT32', 0, { is_variable: true }), T('res', [], 'RESOURCE', 0));
    ts.push(T('vt', [], 'VARIANT', 0, { variant_tensors: [{ shape: [2], type: 'FLOAT32', has_rank: true }] }));
    ts.push(T('perchan', [2, 4], 'INT8', 13, { quantization: { scale: [0.5, 0.25], zero_point: [0, -3], quantized_dimension: 0, min: [-1, -2], max: [1, 2] } }));
    ts.push(
      T('sparse', [4, 4], 'FLOAT32', 14, {
        sparsity: {
          traversal_order: [0, 1],
          dim_metadata: [
            { format: 'DENSE', dense_size: 4 },
            { format: 'SPARSE_CSR', array_segments_type: 'Int32Vector', array_segments: { values: [0, 1, 1, 2, 2] }, array_indices_type: 'Uint8Vector', array_indices: { values: [0, 3] } },
          ],
        },
      }),
    );
    ts.push(T('customq', [1], 'UINT8', 0, { quantization: { details_type: 'CustomQuantization', details: { custom: [1, 2, 3] } } }));
    const strings = [2, 0, 0, 0, 16, 0, 0, 0, 19, 0, 0, 0, 20, 0, 0, 0, 97, 98, 99, 100];
    m.buffers!.push(
      { data: f32([7]) }, { data: [0x21, 0x43] }, { data: [1, 0, 2, 0] }, { data: [0, 60, 0, 188] }, { data: f32([1, 2]) }, { data: [1, 0, 1] },
      { data: [128, 63] }, { data: [5, 0] }, { data: strings }, { data: [1, 2, 3, 4, 5, 6, 7, 8] }, { data: f32([1, 2]) },
    );
    return flatcBuild('tensor-kinds', m);
  },
  'signature_defs, metadata (min_runtime_version, a binary TFLITE_METADATA), metadata_buffer, description': () => {
    const m = addModel();
    m.signature_defs = [{ inputs: [{ name: 'in', tensor_index: 0 }], outputs: [{ name: 'out', tensor_index: 2 }], signature_key: 'serving_default', subgraph_index: 0 }];
    m.buffers!.push({ data: [...Buffer.from('1.14.0\0\0')] }, { data: [12, 0, 0, 0, 77, 48, 48, 49, 0, 0, 0, 0, 255, 254, 1, 2] });
    m.metadata = [{ name: 'min_runtime_version', buffer: 4 }, { name: 'TFLITE_METADATA', buffer: 5 }];
    m.metadata_buffer = [4];
    return flatcBuild('signatures', m);
  },
  'several subgraphs: WHILE with cond and body': () => flatcBuild('while', whileModel()),
  'CALL_ONCE of an init subgraph': () => {
    const m = whileModel();
    m.operator_codes.push({ deprecated_builtin_code: 127, builtin_code: 'CALL_ONCE' });
    m.subgraphs.push({ name: 'init', tensors: [], inputs: [], outputs: [], operators: [] });
    m.subgraphs[0]!.operators.unshift({ opcode_index: 3, inputs: [], outputs: [], builtin_options_type: 'CallOnceOptions', builtin_options: { init_subgraph_index: 3 } });
    return flatcBuild('call-once', m);
  },
  'a builtin code this schema does not know, and a tensor type it does not know': () => {
    const m = addModel();
    m.operator_codes.push({ deprecated_builtin_code: 127, builtin_code: 9999, version: 1 });
    const sg = m.subgraphs[0]!;
    sg.tensors.push(T('future', [1, 4], 77, 0));
    sg.operators.push({ opcode_index: 1, inputs: [2], outputs: [3] });
    sg.outputs = [3];
    return flatcBuild('unknown-codes', m);
  },
  'vectors left out: an operator without inputs/outputs, a subgraph without tensors, inputs, outputs, operators': () => {
    const m = whileModel();
    m.operator_codes.push({ deprecated_builtin_code: 127, builtin_code: 'CALL_ONCE' });
    m.subgraphs.push({ name: 'init' } as ModelJson['subgraphs'][number]);
    m.subgraphs[0]!.operators.unshift({ opcode_index: 3, builtin_options_type: 'CallOnceOptions', builtin_options: { init_subgraph_index: 3 } });
    return flatcBuild('absent-vectors', m);
  },
  'no operator_codes vector, no operators': () => {
    const m = addModel();
    delete (m as Partial<ModelJson>).operator_codes;
    m.subgraphs[0]!.operators = [];
    m.subgraphs[0]!.outputs = [0];
    return flatcBuild('no-codes', m);
  },
  'tensors with the same name, tensors and a subgraph without names, a deprecated signature tag, debug_metadata_index': () => {
    const m = addModel();
    const sg = m.subgraphs[0]!;
    sg.tensors[1]!.name = 'x';
    delete (sg.tensors[2] as Partial<TensorJson>).name;
    delete sg.name;
    sg.debug_metadata_index = 0;
    m.signature_defs = [{ inputs: [{ name: 'in', tensor_index: 0 }], outputs: [], signature_key: 'k', deprecated_tag: 'serve' }];
    return flatcBuild('names', m);
  },
  'an options union type without its table, an enum option out of range, deprecated ReshapeOptions.new_shape': () => {
    const m = addModel();
    m.operator_codes.push({ deprecated_builtin_code: 22, builtin_code: 'RESHAPE' }, { deprecated_builtin_code: 18, builtin_code: 'MUL' });
    const sg = m.subgraphs[0]!;
    delete sg.operators[0]!.builtin_options;
    sg.tensors.push(T('shape', [2], 'INT32', 4), T('r', [1, 4], 'FLOAT32', 0), T('m', [1, 4], 'FLOAT32', 0));
    sg.operators.push(
      { opcode_index: 1, inputs: [2, 3], outputs: [4], builtin_options_type: 'ReshapeOptions', builtin_options: { new_shape: [1, 4] } },
      { opcode_index: 2, inputs: [4, 4], outputs: [5], builtin_options_type: 'MulOptions', builtin_options: { fused_activation_function: 50 } },
    );
    sg.outputs = [5];
    m.buffers!.push({ data: i32([1, 4]) });
    return flatcBuild('options-odd', m);
  },
  'a custom operator code without custom_code': () => {
    const m = addModel();
    m.operator_codes.push({ deprecated_builtin_code: 32, builtin_code: 'CUSTOM' });
    const sg = m.subgraphs[0]!;
    sg.tensors.push(T('c', [1, 4], 'FLOAT32', 0));
    sg.operators.push({ opcode_index: 1, inputs: [2], outputs: [3] });
    sg.outputs = [3];
    return flatcBuild('custom-no-code', m);
  },
  'an operator code no operator uses': () => {
    const m = addModel();
    m.operator_codes.unshift({ deprecated_builtin_code: 78, version: 1, builtin_code: 'POW' });
    m.subgraphs[0]!.operators[0]!.opcode_index = 1;
    return flatcBuild('unused-code', m);
  },
  'no file identifier': () => flatcBuild('no-identifier', addModel(), { identifier: false }),
  'no file identifier, several subgraphs': () => flatcBuild('no-identifier-while', whileModel(), { identifier: false }),
  'tables laid out front to back by another writer: vtables after their tables and shared, defaults written, fields out of slot order': () =>
    forwardCopy(flatcBuild('for-forward', addModel()), 'forward.tflite'),
  'front-to-back layout of every tensor kind, signatures and metadata': () =>
    forwardCopy(fileOf('tensors of every kind: scalar, no shape, has_rank, int4/int16/float16/bfloat16/complex64/bool/string, variable, resource, variant, per-axis and custom quantization, sparsity'), 'forward-kinds.tflite'),
  'front-to-back layout of a model with signatures and metadata': () =>
    forwardCopy(fileOf('signature_defs, metadata (min_runtime_version, a binary TFLITE_METADATA), metadata_buffer, description'), 'forward-signatures.tflite'),
  'front-to-back layout of several subgraphs, without identifier': () =>
    forwardCopy(flatcBuild('for-forward-while', whileModel()), 'forward-while.tflite', { identifier: false }),
};

const built = new Map<string, string>();
const fileOf = (name: string): string => {
  let file = built.get(name);
  if (!file) {
    const make = CASES[name];
    if (!make) throw new Error(`no case ${name}`);
    file = make();
    built.set(name, file);
  }
  return file;
};

/**
 * The tables as flatc dumps them with our schema (the identifier is not a
 * table field). Positions of data after the flatbuffer depend on the layout
 * of the tables before it, so they read as AFTER; their bytes are compared apart.
 */
function tablesOf(file: string): string {
  return flatcJson(file, work).replace(/("(?:large_custom_options_)?offset": )(\d+)/g, (all, key: string, n: string) => (Number(n) > 1 ? `${key}"AFTER"` : all));
}

describe.each(Object.keys(CASES).map((k) => [k]))('%s', (name) => {
  test('show, copy byte for byte, encoded with the same tables and bytes, and every built-in bundle', async () => {
    const file = fileOf(name);
    const show = capture();
    expect(await main(['show', file], show)).toBe(0);
    expect(show.stderr).toBe('');
    const graph = capture();
    expect(await main(['show', '--graph', file], graph)).toBe(0);

    const out = path.join(work, `copy-${path.basename(file)}`);
    const copy = capture();
    expect(await main(['copy', file, '-o', out], copy)).toBe(0);
    const original = fs.readFileSync(file);
    // A file without identifier, which LiteRT refuses, is encoded anew and gets one; any other comes back as it was.
    if (original.subarray(4, 8).toString('latin1') === 'TFL3') expect(Buffer.compare(fs.readFileSync(out), original)).toBe(0);
    else expect(firstDifference(tablesOf(file), tablesOf(out))).toBeUndefined();

    const encoded = path.join(work, `encoded-${path.basename(file)}`);
    writeEncoded(readModel(file), encoded);
    expect(firstDifference(tablesOf(file), tablesOf(encoded))).toBeUndefined();
    const before = bigByteVectors(new Uint8Array(fs.readFileSync(file)), file);
    const after = bigByteVectors(new Uint8Array(fs.readFileSync(encoded)), encoded);
    expect(after.map((v) => v.where)).toEqual(before.map((v) => v.where));
    before.forEach((v, i) => expect(Buffer.compare(Buffer.from(after[i]?.bytes ?? []), Buffer.from(v.bytes))).toBe(0));
    // Encoded files always carry the identifier that TFLite's verifier asks for.
    expect(Buffer.from(fs.readFileSync(encoded).subarray(4, 8)).toString('latin1')).toBe('TFL3');
    expect(Buffer.from(fs.readFileSync(out).subarray(4, 8)).toString('latin1')).toBe('TFL3');

    for (const bundle of ['edgetpu', 'myriad', 'tensorrt']) {
      const applied = path.join(work, `${bundle}-${path.basename(file)}`);
      const io = capture();
      const code = await main(['apply', `recipes/${bundle}.yaml`, file, '-o', applied], io);
      expect({ bundle, code, stderr: code === 0 ? '' : io.stderr }).toEqual({ bundle, code: 0, stderr: '' });
      expect(() => readModel(applied)).not.toThrow();
    }
  });
});

test('large custom options and data after the flatbuffer stay there, at 16-aligned offsets within the file', async () => {
  const file = fileOf('buffers and custom options stored after the flatbuffer (offset/size)');
  const out = path.join(work, 'external-copy.tflite');
  writeEncoded(readModel(file), out);
  const bytes = new Uint8Array(fs.readFileSync(out));
  const root = new FlatbufferReader(bytes, TFLITE_SCHEMA, out).readRoot() as unknown as fb.Model;
  const after = (root.buffers ?? []).filter((b) => b.offset > 1n);
  expect(after.map((b) => Number(b.size))).toEqual([16, 0]);
  for (const b of after) {
    expect(Number(b.offset) % 16).toBe(0);
    expect(Number(b.offset + b.size)).toBeLessThanOrEqual(bytes.byteLength);
  }
  const op = root.subgraphs?.[0]?.operators?.[1];
  expect(op?.custom_options).toBeUndefined();
  const at = Number(op?.large_custom_options_offset ?? 0n);
  expect([...bytes.subarray(at, at + Number(op?.large_custom_options_size ?? 0n))]).toEqual([1, 2, 3, 4, 5, 6, 7]);
});

/** Runs `a` with seeded inputs and `b` on the same inputs; both must run and agree bit for bit. */
function sameOutputs(run: typeof runLiteRt, a: string, b: string): void {
  const [x, y] = run([{ model: a, seed: 11 }, { model: b, inputsFrom: 0 }]);
  expect(x?.error).toBeUndefined();
  expect(y?.error).toBeUndefined();
  expect(y?.outputs.length).toBe(x?.outputs.length);
  x?.outputs.forEach((o, k) => expect(Buffer.compare(Buffer.from(y?.outputs[k]?.data ?? []), Buffer.from(o.data))).toBe(0));
}

test('the copies compute what the originals compute (LiteRT.js)', async () => {
  const runnable = [
    'activations all on buffer 0',
    'builtin_code absent (files from before extended codes): only deprecated_builtin_code',
    'builtin_code above 127 (GELU) with deprecated_builtin_code 127, operator version 2',
    'an omitted optional input (-1): FULLY_CONNECTED without bias',
    'signature_defs, metadata (min_runtime_version, a binary TFLITE_METADATA), metadata_buffer, description',
    'several subgraphs: WHILE with cond and body',
    'tables laid out front to back by another writer: vtables after their tables and shared, defaults written, fields out of slot order',
  ];
  const external = withDataAfter('external-add', addModel(), [bufferAfter(2, f32([1, -2, 3, 0.5]))]);
  for (const file of [...runnable.map(fileOf), external]) {
    const out = path.join(work, `run-${path.basename(file)}`);
    expect(await main(['copy', file, '-o', out], capture())).toBe(0);
    sameOutputs(runLiteRt, file, out);
  }
});

test('a file without identifier, which LiteRT refuses, is written with it and then computes what the same model with identifier does', async () => {
  const plain = flatcBuild('with-identifier', addModel());
  for (const name of ['no file identifier', 'front-to-back layout of several subgraphs, without identifier']) {
    const file = fileOf(name);
    expect(fs.readFileSync(file).subarray(4, 8).toString('latin1')).not.toBe('TFL3');
    const out = path.join(work, `id-${path.basename(file)}`);
    expect(await main(['copy', file, '-o', out], capture())).toBe(0);
    const [r] = runLiteRt([{ model: file, seed: 1 }]);
    expect(r?.ok).toBe(false);
    sameOutputs(runLiteRt, name === 'no file identifier' ? plain : flatcBuild('while-with-id', whileModel()), out);
  }
});

test('the copy of a plain model computes the same in ArmNN', async () => {
  const file = fileOf('signature_defs, metadata (min_runtime_version, a binary TFLITE_METADATA), metadata_buffer, description');
  const out = path.join(work, 'armnn-copy.tflite');
  expect(await main(['copy', file, '-o', out], capture())).toBe(0);
  sameOutputs(runArmnn, file, out);
});

test('an ONNX or XML file named .tflite is not taken for a TFLite file without identifier', async () => {
  const onnxLike = path.join(work, 'really-onnx.tflite');
  fs.writeFileSync(onnxLike, Buffer.from([0x08, 0x07, 0x12, 0x04, 0x74, 0x65, 0x73, 0x74, 0x22, 0x00, 0x3a, 0x02, 0, 0, 0, 0]));
  const xmlLike = path.join(work, 'really-xml.tflite');
  fs.writeFileSync(xmlLike, '<?xml version="1.0"?>\n<net name="x" version="11"></net>\n');
  for (const file of [onnxLike, xmlLike]) {
    const io = capture();
    await main(['show', file], io);
    expect(io.stderr).not.toMatch(/Model\.|TFLite|internal error/);
  }
});

// ---- hostile and broken files: exit 4, the place named, no output, no stack ----

function mutated(name: string, base: () => ModelJson, change: (m: ModelJson) => void): string {
  const m = base();
  change(m);
  return flatcBuild(name, m);
}

function patchedBytes(name: string, change: (b: Buffer) => void): string {
  const b = Buffer.from(fs.readFileSync(flatcBuild(`${name}-base`, addModel())));
  change(b);
  const file = path.join(work, `${name}.tflite`);
  fs.writeFileSync(file, b);
  return file;
}

const HOSTILE: [string, () => string, RegExp][] = [
  ['truncated', () => {
    const file = path.join(work, 'truncated.tflite');
    const whole = fs.readFileSync(flatcBuild('truncated-base', addModel()));
    fs.writeFileSync(file, whole.subarray(0, whole.byteLength >> 1));
    return file;
  }, /Model\.\w+, byte \d+: .* is outside the file/],
  ['root offset out of range', () => patchedBytes('root-oob', (b) => b.writeUInt32LE(0x7fffff00, 0)), /Model, byte 2147483392: table .* outside the file/],
  ['vtable outside the file', () => patchedBytes('vtable-oob', (b) => b.writeInt32LE(-0x1000000, b.readUInt32LE(0))), /Model, byte \d+: vtable at byte \d+ .* outside the file/],
  ['vtable field offset outside its table', () => patchedBytes('vtable-field', (b) => {
    const root = b.readUInt32LE(0);
    const vtable = root - b.readInt32LE(root);
    b.writeUInt16LE(0xfff0, vtable + 4 + 2 * 2);
  }), /Model\.subgraphs, byte \d+: field offset 65520 lies outside its table/],
  ['operator input index out of range', () => mutated('input-oob', addModel, (m) => { m.subgraphs[0]!.operators[0]!.inputs = [0, 99]; }), /Model\.subgraphs\[0\]\.operators\[0\]\.inputs\[1\]: tensor index 99 is out of range/],
  ['operator input -2', () => mutated('input-neg', addModel, (m) => { m.subgraphs[0]!.operators[0]!.inputs = [0, -2]; }), /operators\[0\]\.inputs\[1\]: tensor index -2 is out of range/],
  ['buffer index out of range', () => mutated('buffer-oob', addModel, (m) => { m.subgraphs[0]!.tensors[1]!.buffer = 40; }), /Model\.subgraphs\[0\]\.tensors\[1\]\.buffer, tensor 'w': buffer index 40 is out of range/],
  ['metadata buffer index out of range', () => mutated('meta-oob', addModel, (m) => { m.metadata = [{ name: 'min_runtime_version', buffer: 50 }]; }), /Model\.metadata\[0\]\.buffer: buffer index 50 of metadata 'min_runtime_version' is out of range \(4 buffers\)/],
  ['metadata_buffer index out of range', () => mutated('meta-buffer-oob', addModel, (m) => { m.metadata_buffer = [3, -1]; }), /Model\.metadata_buffer\[1\]: buffer index -1 is out of range/],
  ['operator code out of range', () => mutated('opcode-oob', addModel, (m) => { m.subgraphs[0]!.operators[0]!.opcode_index = 5; }), /operators\[0\]\.opcode_index: operator code 5 is out of range/],
  ['data after the flatbuffer past the end of the file', () => mutated('ext-oob', addModel, (m) => { m.buffers![2] = { offset: 100000, size: 16 }; }), /Model\.buffers\[2\]: data at bytes 100000\.\.100016 lies past the end of the file/],
  ['a constant shorter than its shape', () => mutated('short-const', addModel, (m) => { m.subgraphs[0]!.tensors[1]!.shape = [1000000]; }), /tensors\[1\], tensor 'w': its buffer holds 16 bytes, but shape \[1000000\] of float32 needs 4000000/],
  ['a constant with a negative dimension', () => mutated('neg-const', addModel, (m) => { m.subgraphs[0]!.tensors[1]!.shape = [-4]; }), /tensors\[1\], tensor 'w': constant tensor has a negative dimension/],
  ['an operator reading its own output', () => mutated('op-cycle', addModel, (m) => { m.subgraphs[0]!.operators[0]!.inputs = [2, 1]; }), /Model\.subgraphs\[0\]\.operators\[0\], node 'ADD': the operators form a cycle/],
  ['two operators feeding each other', () => mutated('op-cycle2', addModel, (m) => {
    const sg = m.subgraphs[0]!;
    sg.tensors.push(T('z', [1, 4], 'FLOAT32', 0));
    sg.operators = [
      { opcode_index: 0, inputs: [0, 3], outputs: [2] },
      { opcode_index: 0, inputs: [2, 1], outputs: [3] },
    ];
  }), /Model\.subgraphs\[0\]\.operators\[0\], node '\w+': the operators form a cycle/],
  ['an operator writing into a constant', () => mutated('write-const', addModel, (m) => {
    const sg = m.subgraphs[0]!;
    sg.operators.push({ opcode_index: 0, inputs: [2, 2], outputs: [1] });
  }), /operators\[1\], node '\w+', tensor 'w': operator writes tensor 'w', which holds constant data/],
  ['WHILE body out of range', () => mutated('while-oob', whileModel, (m) => { (m.subgraphs[0]!.operators[0]!.builtin_options as { body_subgraph_index: number }).body_subgraph_index = 9; }), /Model\.subgraphs\[0\]\.operators\[0\]\.builtin_options\.body_subgraph_index: subgraph 9 does not exist \(3 subgraphs\)/],
  ['WHILE whose body is its own subgraph', () => mutated('while-self', whileModel, (m) => { (m.subgraphs[0]!.operators[0]!.builtin_options as { body_subgraph_index: number }).body_subgraph_index = 0; }), /builtin_options\.body_subgraph_index: subgraph calls form a cycle \(0 -> 0\)/],
  ['subgraphs calling each other', () => mutated('while-mutual', whileModel, (m) => {
    // The body calls a WHILE whose cond is the main graph: 0 -> 2 -> 0.
    const body = m.subgraphs[2]!;
    body.tensors.push(T('x', [], 'INT32', 0));
    body.operators.push({ opcode_index: 0, inputs: [2], outputs: [3], builtin_options_type: 'WhileOptions', builtin_options: { cond_subgraph_index: 0, body_subgraph_index: 1 } });
    body.outputs = [3];
  }), /Model\.subgraphs\[2\]\.operators\[1\]\.builtin_options\.cond_subgraph_index: subgraph calls form a cycle \(0 -> 2 -> 0\)/],
  ['CALL_ONCE of its own subgraph', () => mutated('call-once-self', whileModel, (m) => {
    m.operator_codes.push({ deprecated_builtin_code: 127, builtin_code: 'CALL_ONCE' });
    m.subgraphs[0]!.operators.unshift({ opcode_index: 3, inputs: [], outputs: [], builtin_options_type: 'CallOnceOptions', builtin_options: { init_subgraph_index: 0 } });
  }), /operators\[0\]\.builtin_options\.init_subgraph_index: subgraph calls form a cycle \(0 -> 0\)/],
  ['schema version 2 (tables laid out differently)', () => mutated('version2', addModel, (m) => { m.version = 2; }), /Model\.version: schema version 2: recipe reads TFLite schema version 3/],
  ['no version field', () => mutated('version-absent', addModel, (m) => { delete m.version; }), /Model\.version: schema version 0/],
  // Another schema's identifier: not taken for TFLite at all (the reader would say 'file identifier is ...').
  ['another flatbuffer identifier', () => patchedBytes('circle', (b) => b.write('CIR0', 4, 'latin1')), /not a model this tool reads/],
];

describe.each(HOSTILE)('%s', (_name, make, message) => {
  test.each(['show', 'copy', 'apply'])('%s: exit 4 naming the place, no output file', async (command) => {
    const file = make();
    const out = path.join(work, `out-${command}-${path.basename(file)}`);
    const args = command === 'show' ? ['show', file] : command === 'copy' ? ['copy', file, '-o', out] : ['apply', 'recipes/edgetpu.yaml', file, '-o', out];
    const io = capture();
    const code = await main(args, io);
    expect({ code, stderr: io.stderr }).toEqual({ code: 4, stderr: expect.stringMatching(message) });
    expect(io.stderr.startsWith(`recipe: ${file}: `)).toBe(true);
    expect(io.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(fs.existsSync(out)).toBe(false);
  });
});

// ---- a second writer: front to back, as flatbuffers writers other than flatc's may lay files out ----

/**
 * Lays out decoded tables (what FlatbufferReader returns) front to back: each
 * table before its vtable (a negative vtable offset) and its children,
 * identical vtables shared, scalar fields written even when they equal their
 * default, and inline fields in reverse slot order. All legal flatbuffers,
 * aligned as the flatbuffers verifier wants, so runtimes load the result.
 */
class ForwardWriter {
  private buf = Buffer.alloc(1 << 16);
  private size = 0;
  private readonly vtables = new Map<string, number>();

  private reserve(n: number, align: number): number {
    while (this.size % align !== 0) this.size++;
    const at = this.size;
    this.size += n;
    while (this.size > this.buf.byteLength) {
      const bigger = Buffer.alloc(this.buf.byteLength * 2);
      this.buf.copy(bigger);
      this.buf = bigger;
    }
    return at;
  }

  /** Reserves `n` bytes whose end is followed by data aligned to `align`, i.e. a length prefix before aligned elements. */
  private reserveBefore(prefix: number, align: number): number {
    while ((this.size + prefix) % align !== 0) this.size++;
    return this.reserve(prefix, 1);
  }

  write(root: FbTable, identifier: string | undefined): Uint8Array {
    this.reserve(identifier ? 8 : 4, 4);
    if (identifier) this.buf.write(identifier, 4, 'latin1');
    const at = this.table('Model', root);
    this.buf.writeUInt32LE(at, 0);
    return new Uint8Array(this.buf.subarray(0, this.size));
  }

  private table(name: string, obj: FbTable): number {
    const def = TFLITE_SCHEMA.tables[name];
    if (!def) throw new Error(`no table ${name}`);
    const present = def.fields.filter((f) => obj[f.name] !== undefined && !(f.type.kind === 'union' && !obj[f.name]));
    const inlineSize = (f: FieldDef): number => (f.type.kind === 'scalar' ? SCALAR_SIZE[f.type.scalar] : 4);
    const start = this.reserve(4, 8);
    const slots = new Map<number, number>();
    for (const f of [...present].reverse()) {
      const at = this.reserve(inlineSize(f), inlineSize(f));
      slots.set(f.id, at - start);
      if (f.type.kind === 'scalar') this.scalar(f.type.scalar, at, obj[f.name]);
    }
    const objSize = this.size - start;
    const slotCount = Math.max(0, ...present.map((f) => f.id + 1));
    const vt = [4 + 2 * slotCount, objSize, ...Array.from({ length: slotCount }, (_, i) => slots.get(i) ?? 0)];
    const key = vt.join(',');
    let vtable = this.vtables.get(key);
    if (vtable === undefined) {
      vtable = this.reserve(vt.length * 2, 2);
      vt.forEach((v, i) => this.buf.writeUInt16LE(v, (vtable as number) + 2 * i));
      this.vtables.set(key, vtable);
    }
    this.buf.writeInt32LE(start - vtable, start);
    for (const f of present) {
      if (f.type.kind === 'scalar') continue;
      const fieldAt = start + (slots.get(f.id) ?? 0);
      const child = this.child(f, obj[f.name] as FbValue, obj);
      this.buf.writeUInt32LE(child - fieldAt, fieldAt);
    }
    return start;
  }

  private child(f: FieldDef, v: FbValue, obj: FbTable): number {
    const t = f.type;
    if (t.kind === 'string') return this.string(v as string);
    if (t.kind === 'table') return this.table(t.table, v as FbTable);
    if (t.kind === 'union') {
      const member = TFLITE_SCHEMA.unions[t.union]?.members[(obj[`${f.name}_type`] as number) - 1];
      if (!member) throw new Error(`union ${t.union}: no member`);
      return this.table(member, v as FbTable);
    }
    if (t.kind !== 'vector') throw new Error(`field ${f.name}`);
    const el = t.element;
    const size = elementSize(el);
    if (el.kind === 'scalar') {
      const items: ArrayLike<unknown> = v as ArrayLike<unknown>;
      const at = this.reserveBefore(4, Math.max(t.align ?? 1, size, 4));
      this.buf.writeUInt32LE(items.length, at);
      const data = this.reserve(items.length * size, 1);
      for (let i = 0; i < items.length; i++) this.scalar(el.scalar, data + i * size, items[i]);
      return at;
    }
    const items = v as unknown[];
    const at = this.reserve(4 + 4 * items.length, 4);
    this.buf.writeUInt32LE(items.length, at);
    items.forEach((item, i) => {
      const slot = at + 4 + 4 * i;
      const child = el.kind === 'string' ? this.string(item as string) : this.table(el.table, item as FbTable);
      this.buf.writeUInt32LE(child - slot, slot);
    });
    return at;
  }

  private string(s: string): number {
    const bytes = Buffer.from(s, 'utf8');
    const at = this.reserve(4 + bytes.byteLength + 1, 4);
    this.buf.writeUInt32LE(bytes.byteLength, at);
    bytes.copy(this.buf, at + 4);
    this.buf[at + 4 + bytes.byteLength] = 0;
    return at;
  }

  private scalar(kind: ScalarKind, at: number, v: unknown): void {
    const b = this.buf;
    const n = typeof v === 'boolean' ? (v ? 1 : 0) : v;
    switch (kind) {
      case 'bool': case 'ubyte': b.writeUInt8(Number(n) & 0xff, at); break;
      case 'byte': b.writeInt8(Number(n), at); break;
      case 'short': b.writeInt16LE(Number(n), at); break;
      case 'ushort': b.writeUInt16LE(Number(n), at); break;
      case 'int': b.writeInt32LE(Number(n), at); break;
      case 'uint': b.writeUInt32LE(Number(n), at); break;
      case 'long': b.writeBigInt64LE(BigInt(n as number | bigint), at); break;
      case 'ulong': b.writeBigUInt64LE(BigInt(n as number | bigint), at); break;
      case 'float': b.writeFloatLE(Number(n), at); break;
      case 'double': b.writeDoubleLE(Number(n), at); break;
    }
  }
}

/** `file` laid out again by ForwardWriter, as `name` in the work folder. */
function forwardCopy(file: string, name: string, options: { identifier?: boolean } = {}): string {
  const root = new FlatbufferReader(new Uint8Array(fs.readFileSync(file)), TFLITE_SCHEMA, file).readRoot();
  const out = path.join(work, name);
  fs.writeFileSync(out, new ForwardWriter().write(root, options.identifier === false ? undefined : 'TFL3'));
  return out;
}

test('the front-to-back writer really lays files out differently: vtables after tables, shared, defaults present', () => {
  const file = fileOf('tables laid out front to back by another writer: vtables after their tables and shared, defaults written, fields out of slot order');
  const bytes = fs.readFileSync(file);
  const root = bytes.readUInt32LE(0);
  expect(bytes.readInt32LE(root)).toBeLessThan(0); // the root's vtable comes after it
  expect(Buffer.compare(bytes, fs.readFileSync(flatcBuild('for-forward-2', addModel())))).not.toBe(0);
  expect(tablesOf(file)).toBe(tablesOf(flatcBuild('for-forward-3', addModel())));
});

/** x -> POW(x, 2) -> POW(., 2) -> ADD x -> y, and ABS(x) -> z, dynamic batch; the exponent buffer shared by both POWs. */
function powAbsModel(dynamic: boolean): ModelJson {
  const sig = dynamic ? { shape_signature: [-1, 4] } : {};
  return {
    version: 3,
    operator_codes: [
      { deprecated_builtin_code: 78, version: 1, builtin_code: 'POW' },
      { deprecated_builtin_code: 101, version: 1, builtin_code: 'ABS' },
      { deprecated_builtin_code: 0, version: 1, builtin_code: 'ADD' },
    ],
    subgraphs: [
      {
        name: 'main',
        tensors: [
          T('x', [1, 4], 'FLOAT32', 1, sig), T('two', [], 'FLOAT32', 2), T('p', [1, 4], 'FLOAT32', 0, sig), T('two_again', [], 'FLOAT32', 2),
          T('q', [1, 4], 'FLOAT32', 0, sig), T('y', [1, 4], 'FLOAT32', 0, sig), T('z', [1, 4], 'FLOAT32', 0, sig),
        ],
        inputs: [0],
        outputs: [5, 6],
        operators: [
          { opcode_index: 0, inputs: [0, 1], outputs: [2] },
          { opcode_index: 0, inputs: [2, 3], outputs: [4] },
          { opcode_index: 2, inputs: [4, 0], outputs: [5], builtin_options_type: 'AddOptions', builtin_options: {} },
          { opcode_index: 1, inputs: [0], outputs: [6] },
        ],
      },
    ],
    buffers: [{}, {}, { data: f32([2]) }, { data: [...Buffer.from('1.14.0\0')] }],
    metadata: [{ name: 'min_runtime_version', buffer: 3 }],
    signature_defs: [
      { inputs: [{ name: 'in', tensor_index: 0 }], outputs: [{ name: 'sum', tensor_index: 5 }, { name: 'abs', tensor_index: 6 }], signature_key: 'serving_default', subgraph_index: 0 },
    ],
  };
}

test('rewritten by the bundles, a model drops the operator codes no operator uses any more, keeps its signature, and computes the same', async () => {
  const file = flatcBuild('pow-abs', powAbsModel(true));
  const reference = flatcBuild('pow-abs-static', powAbsModel(false));
  const codesOf = (root: fb.Model): string[] => (root.operator_codes ?? []).map((c) => String(Math.max(c.builtin_code, c.deprecated_builtin_code)));
  for (const [bundle, expected] of [['edgetpu', ['101', '0', '18']], ['myriad', ['78', '0', '92', '75']]] as const) {
    const out = path.join(work, `pow-abs-${bundle}.tflite`);
    const io = capture();
    expect(await main(['apply', `recipes/${bundle}.yaml`, file, '-o', out], io)).toBe(0);
    const root = new FlatbufferReader(new Uint8Array(fs.readFileSync(out)), TFLITE_SCHEMA, out).readRoot() as unknown as fb.Model;
    // edgetpu: POW -> MULs (POW's code goes); myriad: ABS -> SQRT(SQUARE) (ABS's code goes).
    expect(codesOf(root)).toEqual(expected);
    const sg = root.subgraphs?.[0];
    for (const op of sg?.operators ?? []) expect(op.opcode_index).toBeLessThan(expected.length);
    const signature = root.signature_defs?.[0];
    expect(signature?.inputs?.map((m) => sg?.tensors?.[m.tensor_index]?.name)).toEqual(['x']);
    expect(signature?.outputs?.map((m) => [m.name, sg?.tensors?.[m.tensor_index]?.name])).toEqual([['sum', 'y'], ['abs', 'z']]);
    // fix-batch made the input static.
    expect(sg?.tensors?.[0]?.shape_signature).toBeUndefined();
    // sqrt(x * x) and x * x * x * x round differently from |x| and pow: close, not bitwise.
    const [a, b] = runLiteRt([{ model: reference, seed: 11 }, { model: out, inputsFrom: 0 }]);
    expect(b?.error).toBeUndefined();
    a?.outputs.forEach((o, k) => {
      const want = new Float32Array(new Uint8Array(o.data).buffer);
      const got = new Float32Array(new Uint8Array(b?.outputs[k]?.data ?? []).buffer);
      expect(got.length).toBe(want.length);
      want.forEach((w, i) => expect(Math.abs((got[i] ?? NaN) - w)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(w))));
    });
  }
});

// ---- files over 2 GB (sparse files: the gap takes no disk space) ----

const TWO_GB = 2 ** 31;

/** Writes `head` and then `pieces` at their absolute offsets past 2 GB, as a sparse file. */
function sparseFile(name: string, head: Uint8Array, pieces: { at: number; bytes: Uint8Array }[]): string {
  const file = path.join(work, name);
  fs.writeFileSync(file, head);
  const fd = fs.openSync(file, 'r+');
  try {
    for (const p of pieces) fs.writeSync(fd, p.bytes, 0, p.bytes.byteLength, p.at);
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

test('over 2 GB: data and custom options stored past 2 GB are read without reading 2 GB, and copied with their bytes', async () => {
  const at = TWO_GB + 4096;
  const weights = new Uint8Array(new Float32Array([1, -2, 3, 0.5]).buffer);
  const options = new Uint8Array(FLEX_MAP_A1);
  const m = addModel();
  m.operator_codes.push({ deprecated_builtin_code: 32, custom_code: 'MyCustom', version: 1, builtin_code: 'CUSTOM' });
  const sg = m.subgraphs[0]!;
  sg.tensors.push(T('c', [1, 4], 'FLOAT32', 0));
  sg.operators.push({ opcode_index: 1, inputs: [2], outputs: [3], large_custom_options_offset: at + 16, large_custom_options_size: options.byteLength });
  sg.outputs = [3];
  m.buffers![2] = { offset: at, size: 16 };
  const head = fs.readFileSync(flatcBuild('over-2gb-head', m));
  const file = sparseFile('over-2gb.tflite', head, [{ at, bytes: weights }, { at: at + 16, bytes: options }]);

  const before = process.memoryUsage().rss;
  const model = readModel(file);
  expect(process.memoryUsage().rss - before).toBeLessThan(1024 * 2 ** 20);
  const read = model.graph.nodes[1]?.attr('custom_options');
  expect(read?.kind === 'bytes' ? [...read.value] : read).toEqual([...options]);
  expect([...(model.graph.nodes[0]?.inputs[1]?.const?.data.bytes() ?? [])]).toEqual([...weights]);

  const out = path.join(work, 'over-2gb-copy.tflite');
  expect(await main(['copy', file, '-o', out], capture())).toBe(0);
  expect(fs.statSync(out).size).toBeLessThan(4096);
  const bytes = new Uint8Array(fs.readFileSync(out));
  const root = new FlatbufferReader(bytes, TFLITE_SCHEMA, out).readRoot() as unknown as fb.Model;
  const b = root.buffers?.[2];
  expect([...bytes.subarray(Number(b?.offset), Number((b?.offset ?? 0n) + (b?.size ?? 0n)))]).toEqual([...weights]);
  const op = root.subgraphs?.[0]?.operators?.[1];
  const o = Number(op?.large_custom_options_offset ?? 0n);
  expect([...bytes.subarray(o, o + Number(op?.large_custom_options_size ?? 0n))]).toEqual([...options]);
});

test('over 2 GB with tables past the first part read: more of the file is read until they are in', () => {
  // A 100 MB weight inline in the flatbuffer, then the rest of the file up to 2 GB + 4 KB.
  const big = new Uint8Array(100 * 2 ** 20);
  big[big.byteLength - 1] = 7;
  const builder = new Builder(1 << 20);
  const root = new FlatbufferWriter(builder, TFLITE_SCHEMA).writeTable('Model', {
    version: 3,
    operator_codes: [],
    subgraphs: [{ tensors: [{ shape: [big.byteLength], type: 3, buffer: 1, name: 'w' }], inputs: [], outputs: [0], operators: [] }],
    buffers: [{}, { data: big }],
  });
  builder.finish(root, 'TFL3');
  const file = sparseFile('over-2gb-inline.tflite', builder.asUint8Array(), [{ at: TWO_GB + 4096, bytes: new Uint8Array([1]) }]);
  const model = readModel(file);
  const data = model.graph.outputs[0]?.const?.data.bytes();
  expect(data?.byteLength).toBe(big.byteLength);
  expect(data?.[big.byteLength - 1]).toBe(7);
});

test('an options table left out is written once an attribute leaves its default', () => {
  const model = readModel(fileOf('an options union type without its table, an enum option out of range, deprecated ReshapeOptions.new_shape'));
  const add = model.graph.nodes[0];
  expect(add?.attr('fused_activation_function')).toEqual({ kind: 'string', value: 'NONE' });
  add?.attrs.set('fused_activation_function', { kind: 'string', value: 'RELU6' });
  const out = path.join(work, 'options-set.tflite');
  writeModel(model, out);
  const root = new FlatbufferReader(new Uint8Array(fs.readFileSync(out)), TFLITE_SCHEMA, out).readRoot() as unknown as fb.Model;
  const ops = root.subgraphs?.[0]?.operators ?? [];
  expect(ops[0]?.builtin_options).toEqual({ fused_activation_function: 3, pot_scale_int16: true });
  expect(ops[2]?.builtin_options).toEqual({ fused_activation_function: 50 });
});
