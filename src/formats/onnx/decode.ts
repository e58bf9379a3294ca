import { closeSync as fs_close } from 'node:fs';
import { ModelError } from '../../errors';
import type { Attr, Int } from '../../ir/attr';
import { DTYPES, byteSize, type DType } from '../../ir/dtype';
import { type AttrSource, Graph, type Node, type Shape, Value } from '../../ir/graph';
import { Model, functionLabel, type FunctionAttribute, type ModelFunction } from '../../ir/model';
import { BytesData, LazyData, StringData, type Tensor, type TensorData } from '../../ir/tensor';
import { openExternalForRead, readExternal, type ExternalRef } from './external';
import { AttrRec, FunctionRec, GraphRec, ModelRec, NodeRec, TensorRec, ValueInfoRec, irVersionOf, nodeIndex } from './records';
import { pinAnnotated, pinTrained } from './refs';
import { ATTR_TYPE, KNOWN_FIELDS, WIRE, dtypeOfCode } from './schema';
import { type SparseFile, holeDataAt } from './sparse';
import { Cursor, decodeUtf8Strict } from './wire';

/** How deep If/Loop bodies may nest before the file is refused (protobuf's own limit is 100). */
const MAX_DEPTH = 64;

/** Where the bytes being decoded come from, and how to treat external data. */
export interface DecodeOptions {
  /** The model's path, for errors. */
  file: string;
  /** Folder that external data locations are relative to. */
  dir: string;
  /** Read external data now instead of on first use. */
  eagerExternalData?: boolean;
  /** Set when `buf` was read sparsely (see sparse.ts): raw_data in its holes is read from the file on use. */
  sparse?: SparseFile;
  /**
   * Build the graph into the IR now, checking it as it is built. By default
   * the graph is only checked now (a walk that builds nothing) and built on
   * first use, which `recipe copy` never needs; a caller that will look at
   * the graph anyway saves that walk.
   */
  decodeGraph?: boolean;
}

/**
 * Decodes a serialized ModelProto into the IR. Tensor bytes stay views over
 * `buf` (raw_data) or are read lazily from external files. Any malformed input
 * becomes a ModelError with the byte offset and field path.
 */
export function decodeModel(buf: Uint8Array, options: DecodeOptions): Model {
  const cur = new Cursor(buf, options.file);
  try {
    return readModel(cur, options);
  } catch (e) {
    throw asModelError(e, cur, options.file);
  }
}

function asModelError(e: unknown, cur: Cursor, file: string): ModelError {
  if (e instanceof ModelError) return e;
  const reason = e instanceof RangeError && /call stack/i.test(e.message) ? 'message nesting too deep' : `malformed protobuf (${(e as Error).message})`;
  return new ModelError({ file, offset: cur.pos, path: cur.pathText() }, reason);
}

/**
 * Walks a GraphProto the way readGraph does, checking everything readGraph
 * would refuse (wire structure, tensors and their external data, duplicate
 * attributes, nesting), without building the IR. External tensors found are
 * added to `externals`.
 */
function skimGraph(cur: Cursor, options: DecodeOptions, contentStart: number, end: number, depth: number, externals: TensorRec[]): void {
  if (depth > MAX_DEPTH) cur.fail(`subgraphs nested deeper than ${MAX_DEPTH} levels`, contentStart);
  cur.pos = contentStart;
  const base = cur.path.length;
  const counts = [0, 0, 0, 0, 0];
  while (cur.pos < end) {
    const s = cur.pos;
    const tag = cur.tag(end);
    const f = tag >>> 3;
    const wire = tag & 7;
    const slot = f === 1 ? 0 : f === 5 ? 1 : f === 11 || f === 12 || f === 13 ? f - 9 : -1;
    if (wire !== WIRE.LEN || slot < 0) {
      cur.skip(wire, end);
      continue;
    }
    const stop = cur.lenEnd(end);
    cur.path.push(['node', 'initializer', 'input', 'output', 'value_info'][slot]!, counts[slot]!++);
    if (f === 1) skimNode(cur, options, cur.pos, stop, depth, externals);
    else if (f === 5) {
      const rec = readTensor(cur, options, s, cur.pos, stop, 5);
      if (rec.external) externals.push(rec);
    } else readValueInfo(cur, s, cur.pos, stop, f);
    cur.path.length = base;
    cur.pos = stop;
  }
}

function skimNode(cur: Cursor, options: DecodeOptions, contentStart: number, end: number, depth: number, externals: TensorRec[]): void {
  cur.pos = contentStart;
  const names: string[] = [];
  let name = '';
  const base = cur.path.length;
  while (cur.pos < end) {
    const s = cur.pos;
    const tag = cur.tag(end);
    const f = tag >>> 3;
    const wire = tag & 7;
    if (f === 3 && wire === WIRE.LEN) {
      name = cur.string(end);
      continue;
    }
    if (f !== 5 || wire !== WIRE.LEN) {
      cur.skip(wire, end);
      continue;
    }
    const stop = cur.lenEnd(end);
    cur.path.push('attribute', names.length);
    const an = skimAttr(cur, options, cur.pos, stop, depth, externals);
    if (names.includes(an)) cur.fail(`node '${name}' has attribute '${an}' twice`, s, { node: name });
    names.push(an);
    cur.path.length = base;
    cur.pos = stop;
  }
}

/** Checks an AttributeProto's structure and its tensors and subgraphs; returns its name. */
function skimAttr(cur: Cursor, options: DecodeOptions, contentStart: number, end: number, depth: number, externals: TensorRec[]): string {
  cur.pos = contentStart;
  let name = '';
  const base = cur.path.length;
  let tensors = 0;
  let graphs = 0;
  while (cur.pos < end) {
    const s = cur.pos;
    const tag = cur.tag(end);
    const f = tag >>> 3;
    const wire = tag & 7;
    if (f === 1 && wire === WIRE.LEN) name = cur.string(end);
    else if (wire === WIRE.LEN && (f === 5 || f === 10 || f === 6 || f === 11)) {
      const stop = cur.lenEnd(end);
      // The same field path as a full read gives (readAttr).
      if (f === 5) cur.path.push('t');
      else if (f === 6) cur.path.push('g');
      else cur.path.push(f === 10 ? 'tensors' : 'graphs', f === 10 ? tensors++ : graphs++);
      if (f === 5 || f === 10) {
        const rec = readTensor(cur, options, s, cur.pos, stop, f);
        if (rec.external) externals.push(rec);
      } else skimGraph(cur, options, cur.pos, stop, depth + 1, externals);
      cur.path.length = base;
      cur.pos = stop;
    } else if (wire === WIRE.LEN && (f === 7 || f === 8)) {
      const stop = cur.lenEnd(end);
      if (f === 7 && (stop - cur.pos) % 4 !== 0) cur.fail('packed floats not a multiple of 4 bytes');
      if (f === 8) while (cur.pos < stop) cur.int64(stop);
      cur.pos = stop;
    } else cur.skip(wire, end);
  }
  return name;
}

/** Decodes one serialized TensorProto (e.g. an ONNX test-data `input_0.pb`): its name and tensor. */
export function decodeTensorProto(buf: Uint8Array, options: DecodeOptions): { name: string; tensor: Tensor } {
  const cur = new Cursor(buf, options.file);
  cur.path.push('<TensorProto>');
  try {
    const tensor = readTensor(cur, options, 0, 0, buf.byteLength, 0);
    return { name: LAST_TENSOR_NAME ?? '', tensor };
  } catch (e) {
    if (e instanceof ModelError) throw e;
    throw new ModelError({ file: options.file, offset: cur.pos }, `malformed protobuf (${(e as Error).message})`);
  }
}

function readModel(cur: Cursor, options: DecodeOptions): Model {
  const buf = cur.buf;
  const end = buf.byteLength;
  const rec = new ModelRec(buf, 0, end, 0);
  rec.file = options.file;
  rec.dir = options.dir;
  let producerName: string | undefined;
  let producerVersion: string | undefined;
  let graphAt: [number, number, number] | undefined;
  /** Start, content start and end of each FunctionProto (they stay in `rec.spans` too, copied while undecoded). */
  const functionsAt: number[] = [];
  const opsets: { domain: string; version: number; start: number; end: number }[] = [];
  const metadata: { key: string; value: string; start: number; end: number }[] = [];
  while (cur.pos < end) {
    const start = cur.pos;
    const tag = cur.tag(end);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire !== WIRE.LEN || ![2, 3, 7, 8, 14].includes(field)) {
      if (field === 25 && wire === WIRE.LEN) {
        const stop = cur.lenEnd(end);
        functionsAt.push(start, cur.pos, stop);
        cur.pos = stop;
      } else cur.skip(wire, end);
      rec.span(field, start, cur.pos);
      continue;
    }
    if (field === 2) producerName = cur.string(end);
    else if (field === 3) producerVersion = cur.string(end);
    else if (field === 7) {
      const stop = cur.lenEnd(end);
      graphAt = [start, cur.pos, stop];
      cur.pos = stop;
    } else if (field === 8) {
      cur.path.push('opset_import', opsets.length);
      const stop = cur.lenEnd(end);
      const e = readStringPair(cur, stop, 1, 2, true);
      opsets.push({ domain: e.a, version: Number(e.n), start, end: stop });
      cur.path.length -= 2;
    } else {
      cur.path.push('metadata_props', metadata.length);
      const stop = cur.lenEnd(end);
      const e = readStringPair(cur, stop, 1, 2, false);
      metadata.push({ key: e.a, value: e.b, start, end: stop });
      cur.path.length -= 2;
    }
    rec.span(field, start, cur.pos);
  }
  // The graph is validated now (so a corrupt file fails at read) but built into
  // the IR only when someone looks at it: `recipe copy` never does.
  let model: Model;
  if (graphAt && options.decodeGraph) {
    cur.path.push('graph');
    rec.graph = readGraph(cur, options, graphAt[0], graphAt[1], graphAt[2], 7, undefined, 0, false);
    cur.path.pop();
    pinTrained(rec.graph, rec, options.file);
    markOverridable(rec.graph, rec);
    model = new Model('onnx', rec.graph);
    if (options.sparse?.holesInAttributes) fillOpaqueAttrs(rec.graph, options.sparse, buf);
  } else if (graphAt) {
    const at = graphAt;
    cur.path.push('graph');
    skimGraph(cur, options, at[1], at[2], 0, rec.externals);
    cur.path.pop();
    model = new Model('onnx', new Graph(''));
    rec.graphDecoded = false;
    decodedOnFirstUse(
      model,
      'graphs',
      () => {
        const lazy = new Cursor(buf, options.file);
        lazy.path.push('graph');
        try {
          rec.graph = readGraph(lazy, options, at[0], at[1], at[2], 7, undefined, 0, true);
          pinTrained(rec.graph, rec, options.file);
          markOverridable(rec.graph, rec);
        } catch (e) {
          throw asModelError(e, lazy, options.file);
        }
        rec.externals = [];
        if (options.sparse?.holesInAttributes) fillOpaqueAttrs(rec.graph, options.sparse, buf);
        return [rec.graph];
      },
      () => {
        rec.graphDecoded = true;
      },
    );
  } else {
    model = new Model('onnx', new Graph(''));
  }
  model.opsets = opsets.map((o) => ({ domain: o.domain, version: o.version }));
  model.metadata = metadata.map((m) => ({ key: m.key, value: m.value }));
  if (producerName !== undefined || producerVersion !== undefined) {
    model.producer = producerVersion === undefined ? { name: producerName ?? '' } : { name: producerName ?? '', version: producerVersion };
    rec.producer = { ...model.producer };
  }
  rec.opsets = opsets;
  rec.metadata = metadata;
  if (functionsAt.length === 0 || options.decodeGraph) {
    model.functions = readFunctions(cur, options, functionsAt);
    rec.functions = model.functions.slice();
  } else {
    // As the graph: checked now, so that a corrupt file fails at read, and built on first use.
    for (let i = 0; i < functionsAt.length; i += 3) {
      cur.path.push('functions', i / 3);
      skimFunction(cur, options, functionsAt[i + 1]!, functionsAt[i + 2]!, rec.functionExternals);
      cur.path.length -= 2;
    }
    readFunctionsWhenAsked(model, rec, functionsAt, options);
  }
  model.source = options.file;
  model.native = rec;
  return model;
}

/**
 * Leaves the model's functions as bytes until someone looks at them, as the
 * graph is: `recipe copy` never does, and a model exported with functions
 * holds most of its nodes in them.
 */
function readFunctionsWhenAsked(model: Model, rec: ModelRec, at: readonly number[], options: DecodeOptions): void {
  rec.functionsDecoded = false;
  decodedOnFirstUse(
    model,
    'functions',
    () => {
      const cur = new Cursor(rec.buf, options.file);
      try {
        rec.functions = readFunctions(cur, options, at);
      } catch (e) {
        throw asModelError(e, cur, options.file);
      }
      return rec.functions.slice();
    },
    () => {
      rec.functionsDecoded = true;
    },
  );
}

/**
 * Makes `model[key]` a property that `decode`s its value the first time it
 * is read and keeps it; a value assigned first is taken as it is. `decoded`
 * is called either way, before the value is returned or kept: from then on
 * the writer may no longer copy the undecoded bytes.
 */
function decodedOnFirstUse<K extends 'graphs' | 'functions'>(model: Model, key: K, decode: () => Model[K], decoded: () => void): void {
  let value: Model[K] | undefined;
  Object.defineProperty(model, key, {
    configurable: true,
    enumerable: true,
    get(): Model[K] {
      if (value === undefined) {
        value = decode();
        decoded();
      }
      return value;
    },
    set(v: Model[K]) {
      decoded();
      value = v;
    },
  });
}

function readFunctions(cur: Cursor, options: DecodeOptions, at: readonly number[]): ModelFunction[] {
  const out: ModelFunction[] = [];
  for (let i = 0; i < at.length; i += 3) {
    cur.path.push('functions', i / 3);
    const rec = new FunctionRec(cur.buf, at[i]!, at[i + 2]!, 25);
    try {
      out.push(readFunction(cur, options, rec, at[i + 1]!));
    } catch (e) {
      throw inFunction(asModelError(e, cur, options.file), rec);
    }
    // Every ONNX node has one or more outputs (IR.md, Graphs): no node can
    // call a function without any, and a rewrite's cleanup, which keeps what
    // the outputs need, would empty its body.
    if (rec.outputs.length === 0) cur.fail('the function has no outputs, so no node can call it (an ONNX node has one or more)', rec.start, { function: functionLabel(rec) });
    cur.path.length -= 2;
  }
  checkFunctionIds(out, options.file);
  checkNoRecursion(out, options.file);
  return out;
}

/** The error, naming the function it arose in (the path gives its position only) once its name is read. */
function inFunction(error: ModelError, fn: { domain: string; name: string; overload: string }): ModelError {
  if (fn.name === '' || error.location.function !== undefined) return error;
  return new ModelError({ ...error.location, function: functionLabel(fn) }, error.reason, error.hint);
}

/**
 * Walks a FunctionProto the way readFunction reads it, checking what it
 * would refuse (wire structure, tensors and their external data, duplicate
 * attributes, nesting) without building its body; the checks of functions
 * against each other wait for the read. External tensors found are added to
 * `externals`.
 */
function skimFunction(cur: Cursor, options: DecodeOptions, contentStart: number, end: number, externals: TensorRec[]): void {
  const id = { domain: '', name: '', overload: '' };
  try {
    // Its name, domain and overload first (fields 1, 10 and 13: the body's nodes, 7, come between), to name it in errors.
    const parts: number[] = [];
    cur.pos = contentStart;
    while (cur.pos < end) {
      const s = cur.pos;
      const tag = cur.tag(end);
      const f = tag >>> 3;
      const wire = tag & 7;
      if (wire !== WIRE.LEN || !KNOWN_FIELDS.function.has(f)) cur.skip(wire, end);
      else if (f === 7 || f === 9 || f === 11 || f === 12 || f === 14) {
        const stop = cur.lenEnd(end);
        parts.push(f, s, cur.pos, stop);
        cur.pos = stop;
      } else {
        const text = cur.string(end);
        if (f === 1) id.name = text;
        else if (f === 10) id.domain = text;
        else if (f === 13) id.overload = text;
      }
    }
    const base = cur.path.length;
    const counts = new Map<number, number>();
    for (let k = 0; k < parts.length; k += 4) {
      const f = parts[k]!;
      const at = counts.get(f) ?? 0;
      counts.set(f, at + 1);
      const [s, from, stop] = [parts[k + 1]!, parts[k + 2]!, parts[k + 3]!];
      // The field paths of a full read (readFunction, buildGraph).
      cur.path.push(f === 7 ? 'node' : f === 9 ? 'opset_import' : f === 11 ? 'attribute_proto' : f === 12 ? 'value_info' : 'metadata_props', at);
      if (f === 7) skimNode(cur, options, from, stop, 0, externals);
      else if (f === 11) skimAttr(cur, options, from, stop, 0, externals);
      else if (f === 12) readValueInfo(cur, s, from, stop, 12);
      else {
        cur.pos = from;
        readStringPair(cur, stop, 1, 2, f === 9);
      }
      cur.path.length = base;
    }
  } catch (e) {
    throw inFunction(asModelError(e, cur, options.file), id);
  }
}

/**
 * Refuses two functions of one domain, name and overload: onnx.proto wants
 * the triple unique among a model's functions, and which of two a node calls
 * is not defined.
 */
function checkFunctionIds(functions: readonly ModelFunction[], file: string): void {
  const seen = new Map<string, number>();
  for (let i = 0; i < functions.length; i++) {
    const fn = functions[i]!;
    const id = `${fn.domain}\0${fn.name}\0${fn.overload}`;
    const first = seen.get(id);
    if (first === undefined) {
      seen.set(id, i);
      continue;
    }
    throw new ModelError(
      { file, path: `ModelProto.functions[${i}]`, function: functionLabel(fn), offset: (fn.native as FunctionRec).start },
      `functions[${first}] has the same domain, name and overload: ONNX wants each function once, and which of the two a node calls is not defined`,
    );
  }
}

/**
 * Refuses a function that calls itself, directly or through other functions
 * (a node of its body, or of a subgraph in it, whose domain, op type and
 * overload are a function's): onnx.proto does not allow recursive functions,
 * and a runtime that expands calls, or a checker that follows them, would
 * never finish (python onnx's checker overflows its stack).
 */
function checkNoRecursion(functions: readonly ModelFunction[], file: string): void {
  if (functions.length === 0) return;
  const byName = new Map<string, number[]>();
  functions.forEach((fn, i) => {
    const key = `${fn.domain}\0${fn.name}`;
    const list = byName.get(key);
    if (list) list.push(i);
    else byName.set(key, [i]);
  });
  const calls: { to: number; node: Node }[][] = functions.map((fn) => {
    const out: { to: number; node: Node }[] = [];
    for (const g of fn.body.walkGraphs()) {
      for (const n of g.nodes) {
        const named = byName.get(`${n.domain}\0${n.op}`);
        if (!named) continue;
        const overload = nodeOverload(n, file);
        for (const to of named) if (functions[to]!.overload === overload) out.push({ to, node: n });
      }
    }
    return out;
  });
  // Depth first, with a stack of its own: a chain of thousands of functions
  // calling the next is no reason to overflow the call stack.
  const state = new Uint8Array(functions.length); // 0 not seen, 1 on the stack, 2 done
  for (let root = 0; root < functions.length; root++) {
    if (state[root] !== 0) continue;
    const stack = [{ fn: root, next: 0 }];
    state[root] = 1;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const out = calls[top.fn]!;
      if (top.next === out.length) {
        state[top.fn] = 2;
        stack.pop();
        continue;
      }
      const call = out[top.next++]!;
      if (state[call.to] === 0) {
        state[call.to] = 1;
        stack.push({ fn: call.to, next: 0 });
        continue;
      }
      if (state[call.to] === 2) continue;
      // A call of a function on the stack: the cycle runs from its frame to here.
      const cycle = stack.slice(stack.findIndex((f) => f.fn === call.to));
      const first = functions[call.to]!;
      const via = calls[cycle[0]!.fn]![cycle[0]!.next - 1]!.node;
      const names = [...cycle.map((f) => functionLabel(functions[f.fn]!)), functionLabel(first)];
      // A cycle through thousands of functions keeps its two ends: the error stays one readable line.
      const route = (names.length <= 8 ? names : [...names.slice(0, 3), `<${names.length - 5} more>`, ...names.slice(-2)]).join(' -> ');
      throw new ModelError(
        { file, path: `ModelProto.functions[${call.to}]`, function: functionLabel(first), node: via.name, offset: nodeStart(via) },
        `the function calls itself (${route}): ONNX does not allow recursive functions`,
      );
    }
  }
}

/** NodeProto.overload (IR 10) of a node read from the file: which of the functions of its domain and op type it calls ('' when none is given). */
function nodeOverload(n: Node, file: string): string {
  const k = nodeIndex(n);
  const rec = n.graph.native;
  if (k < 0 || !(rec instanceof GraphRec)) return '';
  // The node's bytes were checked when it was read: the cursor will not fail here.
  const cur = new Cursor(rec.buf, file);
  const end = rec.nodeRanges[3 * k + 2]!;
  cur.pos = rec.nodeRanges[3 * k + 1]!;
  let overload = '';
  while (cur.pos < end) {
    const tag = cur.tag(end);
    if (tag === ((8 << 3) | WIRE.LEN)) overload = cur.string(end);
    else cur.skip(tag & 7, end);
  }
  return overload;
}

/** Where the NodeProto of a node read from the file starts, if it was. */
function nodeStart(n: Node): number | undefined {
  const k = nodeIndex(n);
  const rec = n.graph.native;
  return k >= 0 && rec instanceof GraphRec ? rec.nodeRanges[3 * k] : undefined;
}

/** Reads a FunctionProto into `rec`: its body becomes a graph of its own, its formal inputs and outputs that graph's. */
function readFunction(cur: Cursor, options: DecodeOptions, rec: FunctionRec, contentStart: number): ModelFunction {
  const end = rec.end;
  const start = rec.start;
  const nodes = new Ranges();
  const infos = new Ranges();
  const defaults = new Ranges();
  /** Formal attributes in file order; those with a default are filled in once the body exists. */
  const attributes: (FunctionAttribute | number)[] = [];
  cur.pos = contentStart;
  while (cur.pos < end) {
    const s = cur.pos;
    const tag = cur.tag(end);
    const f = tag >>> 3;
    const wire = tag & 7;
    // Every FunctionProto field the IR models is length-delimited (see FunctionRec).
    if (wire !== WIRE.LEN || !KNOWN_FIELDS.function.has(f)) {
      cur.skip(wire, end);
      rec.span(f, s, cur.pos);
      continue;
    }
    rec.mark(f);
    if (f === 7 || f === 11 || f === 12) {
      const stop = cur.lenEnd(end);
      if (f === 11) attributes.push(defaults.length);
      (f === 7 ? nodes : f === 11 ? defaults : infos).add(s, cur.pos, stop);
      cur.pos = stop;
    } else if (f === 9 || f === 14) {
      const stop = cur.lenEnd(end);
      const list = f === 9 ? rec.opsets : rec.metadata;
      cur.path.push(f === 9 ? 'opset_import' : 'metadata_props', list.length);
      const e = readStringPair(cur, stop, 1, 2, f === 9);
      if (f === 9) rec.opsets.push({ domain: e.a, version: Number(e.n), start: s, end: stop });
      else rec.metadata.push({ key: e.a, value: e.b, start: s, end: stop });
      cur.path.length -= 2;
    } else {
      const text = cur.string(end);
      if (f === 1) rec.name = text;
      else if (f === 4) rec.inputs.push(text);
      else if (f === 5) rec.outputs.push(text);
      else if (f === 6) attributes.push({ name: text });
      else if (f === 8) rec.doc = text;
      else if (f === 10) rec.domain = text;
      else rec.overload = text;
    }
  }
  const graphRec = new GraphRec(cur.buf, start, end, 25);
  graphRec.name = rec.name;
  const body = buildGraph(cur, options, graphRec, { nodes, inits: new Ranges(), inputs: rec.inputs, outputs: rec.outputs, infos }, undefined, 0, false);
  const base = cur.path.length;
  rec.attributes = attributes.map((a) => {
    if (typeof a !== 'number') return a;
    cur.path.push('attribute_proto', a);
    const d = readAttr(cur, options, defaults.at(3 * a), defaults.at(3 * a + 1), defaults.at(3 * a + 2), body, 0, false, 11);
    cur.path.length = base;
    return { name: (d.native as AttrRec).name, default: d };
  });
  rec.body = body;
  return {
    domain: rec.domain,
    name: rec.name,
    overload: rec.overload,
    body,
    opsets: rec.opsets.map((o) => ({ domain: o.domain, version: o.version })),
    attributes: rec.attributes.map((a) => ({ ...a })),
    doc: rec.doc,
    metadata: rec.metadata.map((m) => ({ key: m.key, value: m.value })),
    native: rec,
  };
}

/**
 * An attribute the decoder keeps opaque holds its bytes as a view of the
 * file buffer; when a hole of a sparse read lies in them (a tensor inside an
 * attribute of a type that does not match), those bytes are read now, so that
 * the view holds what the file holds.
 */
function fillOpaqueAttrs(g: Graph, sparse: SparseFile, buf: Uint8Array): void {
  for (const n of g.nodes) {
    for (const a of n.attrs.values()) {
      if (a.kind === 'opaque' && a.value instanceof Uint8Array && a.value.buffer === buf.buffer) {
        const at = a.value.byteOffset - buf.byteOffset;
        sparse.fill(buf, at, at + a.value.byteLength);
      } else if (a.kind === 'graph') fillOpaqueAttrs(a.value, sparse, buf);
      else if (a.kind === 'graphs') for (const sub of a.value) fillOpaqueAttrs(sub, sparse, buf);
    }
  }
}

/** A two-field message of strings (StringStringEntryProto) or string + int64 (OperatorSetIdProto). */
function readStringPair(cur: Cursor, end: number, fa: number, fb: number, bIsInt: boolean): { a: string; b: string; n: number | bigint } {
  let a = '';
  let b = '';
  let n: number | bigint = 0;
  while (cur.pos < end) {
    const tag = cur.tag(end);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === fa && wire === WIRE.LEN) a = cur.string(end);
    else if (field === fb && !bIsInt && wire === WIRE.LEN) b = cur.string(end);
    else if (field === fb && bIsInt && wire === WIRE.VARINT) n = cur.int64(end);
    else cur.skip(wire, end);
  }
  return { a, b, n };
}

/**
 * Byte ranges (start, content start, end) of a graph's repeated fields, off
 * the JS heap: a 100k-node graph would otherwise grow a 300k-element array.
 */
class Ranges {
  private data = new Int32Array(48);
  /** Number of values (three per range). */
  length = 0;

  add(start: number, contentStart: number, end: number): void {
    if (this.length + 3 > this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = start;
    this.data[this.length++] = contentStart;
    this.data[this.length++] = end;
  }

  at(i: number): number {
    return this.data[i]!;
  }

  /** The ranges as one array (a view: no copy). */
  take(): Int32Array {
    return this.data.subarray(0, this.length);
  }
}

/**
 * From IR version 4 an initializer listed among the main graph's inputs is a
 * default a caller may replace; before it, every initializer had to be listed
 * there and none could be replaced. Only the main graph's inputs are fed.
 */
function markOverridable(graph: Graph, rec: ModelRec): void {
  if (irVersionOf(rec) < 4) return;
  for (const v of graph.inputs) if (v.const !== undefined) v.overridable = true;
}

function readGraph(
  cur: Cursor,
  options: DecodeOptions,
  start: number,
  contentStart: number,
  end: number,
  field: number,
  parent: Graph | undefined,
  depth: number,
  /** Whether skimGraph has checked these bytes already (attributes left undecoded are then not checked again). */
  skimmed: boolean,
): Graph {
  if (depth > MAX_DEPTH) cur.fail(`subgraphs nested deeper than ${MAX_DEPTH} levels`, start);
  cur.pos = contentStart;
  const rec = new GraphRec(cur.buf, start, end, field);
  const nodes = new Ranges();
  const inits = new Ranges();
  const inputs = new Ranges();
  const outputs = new Ranges();
  const infos = new Ranges();
  let name = '';
  while (cur.pos < end) {
    const s = cur.pos;
    const tag = cur.tag(end);
    const f = tag >>> 3;
    const wire = tag & 7;
    if (wire === WIRE.LEN && (f === 1 || f === 5 || f === 11 || f === 12 || f === 13)) {
      const stop = cur.lenEnd(end);
      const list = f === 1 ? nodes : f === 5 ? inits : f === 11 ? inputs : f === 12 ? outputs : infos;
      list.add(s, cur.pos, stop);
      cur.pos = stop;
      continue;
    }
    if (f === 2 && wire === WIRE.LEN) name = cur.string(end);
    else cur.skip(wire, end);
    rec.span(f, s, cur.pos);
  }

  rec.name = name;
  return buildGraph(cur, options, rec, { nodes, inits, inputs, outputs, infos }, parent, depth, skimmed);
}

/**
 * The byte ranges (start, content start, end) of a graph's repeated fields,
 * found by the walk over its message: a GraphProto, or a FunctionProto's
 * body, whose inputs and outputs are bare names.
 */
interface GraphParts {
  nodes: Ranges;
  inits: Ranges;
  /** ValueInfoProto ranges (a graph) or names (a function's formal inputs). */
  inputs: Ranges | readonly string[];
  outputs: Ranges | readonly string[];
  infos: Ranges;
}

/** Builds the IR graph of `rec` from the parts of its message. */
function buildGraph(cur: Cursor, options: DecodeOptions, rec: GraphRec, parts: GraphParts, parent: Graph | undefined, depth: number, skimmed: boolean): Graph {
  const { nodes, inits, inputs, outputs, infos } = parts;
  const g = new Graph(rec.name, parent);
  // Room for the names to come: a value per input and initializer, a node and (usually) a value per node.
  g._expectNames(partCount(inputs) + inits.length / 3 + nodes.length / 3, nodes.length / 3);
  // The first value of each name in this graph is the one the graph's own
  // name index holds (no second map of 100k names); the empty name, which
  // node outputs do not claim, is kept apart.
  const local = new LocalNames(g);
  // Arrays of known length are made at that length: grown by push, a large
  // graph's would be copied several times into fresh (page-faulting) memory.
  const outs = new Array<Value | Value[]>(nodes.length / 3);
  rec.initValues = new Array<Value>(inits.length / 3);
  rec.initTensors = new Array<Tensor>(inits.length / 3);
  rec.nodes = new Array<Node>(nodes.length / 3);
  // Most inputs name the output of a node read just before, or the initializer
  // after the one an input named last (exporters order both by first use).
  // While no name of this graph is held twice, such a value is the one the
  // name table would give: it is found without a lookup in a table of 100k+.
  let nextInit = 0;
  let current = 0; // index in `outs` of the node whose inputs are resolved
  const nearby = (n: string): Value | undefined => {
    if (g.sharedNameCount > 0 || n === '') return undefined;
    for (let k = current - 1; k >= 0 && k >= current - RECENT_NODES; k--) {
      const o = outs[k]!;
      if (o instanceof Value) {
        if (o.name === n) return o;
      } else for (const v of o) if (v.name === n) return v;
    }
    const inits = rec.initValues;
    for (let i = nextInit; i < inits.length && i < nextInit + RECENT_NODES; i++) {
      const v = inits[i]!;
      if (v.name === n && v.graph === g) {
        nextInit = i + 1;
        return v;
      }
    }
    return undefined;
  };
  const resolve = (n: string): Value => {
    let v = nearby(n) ?? local.get(n) ?? parent?.findValue(n);
    if (!v) {
      // A name nothing defines: keep it as a value without a producer (validate() reports it).
      v = g.addValue(n);
      local.set(n, v);
    }
    return v;
  };

  const depthPath = cur.path.length;
  cur.path.push('input', 0);
  if (inputs instanceof Ranges) {
    for (let i = 0; i < inputs.length; i += 3) {
      cur.path[depthPath + 1] = i / 3;
      const vi = readValueInfo(cur, inputs.at(i), inputs.at(i + 1), inputs.at(i + 2), 11);
      const v = g.addValue(vi.name, { dtype: vi.dtype, shape: vi.shape });
      g.inputs.push(v);
      if (vi.name === '' && !local.has(vi.name)) local.set(vi.name, v);
      vi.value = v;
      rec.inputs.push(vi);
    }
  } else {
    for (const n of inputs) {
      const v = g.addValue(n);
      g.inputs.push(v);
      if (n === '' && !local.has(n)) local.set(n, v);
    }
  }
  cur.path[depthPath] = 'initializer';
  for (let i = 0; i < inits.length; i += 3) {
    cur.path[depthPath + 1] = i / 3;
    const tensor = readTensor(cur, options, inits.at(i), inits.at(i + 1), inits.at(i + 2), 5);
    const n = LAST_TENSOR_NAME ?? '';
    let v = local.get(n);
    if (v && v.const === undefined) {
      v.const = tensor;
    } else {
      // A name held already (a second initializer of it) keeps its first value.
      v = v || n === '' ? g.addValue(n) : g._addUnheldValue(n);
      v.dtype = tensor.dtype;
      v.shape = tensor.shape as Shape;
      v.const = tensor;
      if (n === '' && !local.has(n)) local.set(n, v);
    }
    rec.initValues[i / 3] = v;
    rec.initTensors[i / 3] = tensor;
  }

  // Every node's outputs exist before any node or subgraph resolves a name.
  cur.path[depthPath] = 'node';
  let lazy: LazyAttrs | undefined;
  for (let i = 0; i < nodes.length; i += 3) {
    cur.path[depthPath + 1] = i / 3;
    outs[i / 3] = readNodeOutputs(cur, g, nodes.at(i + 1), nodes.at(i + 2));
  }
  rec.nodeRanges = nodes.take();
  for (let k = 0; k < outs.length; k++) {
    cur.path[depthPath + 1] = k;
    current = k;
    readNodeHeader(cur, nodes.at(3 * k + 1), nodes.at(3 * k + 2), undefined);
    // (HEADER is scratch: a subgraph among the attributes reads nodes of its own)
    const nodeName = HEADER.name;
    const op = HEADER.op;
    const domain = HEADER.domain;
    const ins: (Value | null)[] = new Array<Value | null>(INPUTS.length);
    for (let i = 0; i < INPUTS.length; i++) ins[i] = INPUTS[i] === '' ? null : resolve(INPUTS[i]!);
    // No map for a node without attributes (the IR creates one on first use),
    // and none yet for one whose attributes hold no subgraph and no tensor:
    // they are decoded when first asked for (skimGraph checked them). Tensors
    // are decoded at once so that writers find every external one.
    let attrs: Map<string, Attr> | undefined;
    const lazyAttrs = ATTRS.length > 0 && !attrsHoldGraphsOrTensors(cur, ATTRS);
    if (lazyAttrs) {
      lazy ??= new LazyAttrs(cur.buf, options, g, depth);
      if (!skimmed) checkAttrs(cur, options, nodeName, ATTRS, depth);
    } else if (ATTRS.length > 0) {
      attrs = new Map<string, Attr>();
      const ranges = ATTRS.slice(); // readAttr may decode subgraphs, which reuse ATTRS
      cur.path.push('attribute', 0);
      for (let i = 0; i < ranges.length; i += 3) {
        cur.path[cur.path.length - 1] = i / 3;
        const a = readAttr(cur, options, ranges[i]!, ranges[i + 1]!, ranges[i + 2]!, g, depth, skimmed);
        const an = (a.native as AttrRec).name;
        if (attrs.has(an)) cur.fail(`node '${nodeName}' has attribute '${an}' twice`, ranges[i]!, { node: nodeName });
        attrs.set(an, a);
      }
      cur.path.length -= 2;
    }
    // The node's position is its record: its bytes are `rec.nodeRanges` at 3k.
    const node = g._appendNode(op, domain, nodeName, ins, outs[k]!, k);
    if (lazyAttrs) node.setAttrSource(lazy!);
    else if (attrs) node.attrs = attrs;
    rec.nodes[k] = node;
  }

  const declare = (v: Value, vi: ValueInfoRec): void => {
    if (v.graph === g && v.dtype === undefined && v.shape === undefined && v.const === undefined) {
      v.dtype = vi.dtype;
      v.shape = vi.shape;
    }
  };
  cur.path[depthPath] = 'output';
  const outputValues: Value[] = [];
  if (outputs instanceof Ranges) {
    for (let i = 0; i < outputs.length; i += 3) {
      cur.path[depthPath + 1] = i / 3;
      const vi = readValueInfo(cur, outputs.at(i), outputs.at(i + 1), outputs.at(i + 2), 12);
      const v = resolve(vi.name);
      declare(v, vi);
      vi.value = v;
      outputValues.push(v);
      rec.outputs.push(vi);
    }
  } else {
    for (const n of outputs) outputValues.push(resolve(n));
  }
  g.outputs = outputValues;
  cur.path[depthPath] = 'value_info';
  // A FunctionProto holds its value_info under field 12, a GraphProto under 13.
  const infoField = inputs instanceof Ranges ? 13 : 12;
  for (let i = 0; i < infos.length; i += 3) {
    cur.path[depthPath + 1] = i / 3;
    const vi = readValueInfo(cur, infos.at(i), infos.at(i + 1), infos.at(i + 2), infoField);
    const v = resolve(vi.name);
    declare(v, vi);
    vi.value = v;
    rec.valueInfo.push(vi);
  }
  cur.path.length = depthPath;

  // Snapshot each ValueInfoProto's value as the IR now holds it.
  for (const list of [rec.inputs, rec.outputs, rec.valueInfo]) {
    for (const vi of list) {
      const v = vi.value;
      if (vi.typeExact && (vi.dtype !== v.dtype || !sameShape(vi.shape, v.shape))) vi.typeExact = false;
      vi.name = v.name;
      vi.dtype = v.dtype;
      vi.shape = v.shape ? [...v.shape] : undefined;
    }
  }
  pinAnnotated(g, rec, cur.file);
  g.native = rec;
  return g;
}

/** How many entries a part holds: three numbers per range, or one name each. */
function partCount(part: Ranges | readonly string[]): number {
  return part instanceof Ranges ? part.length / 3 : part.length;
}

/** Whether two shapes are equal dimension by dimension (both absent counts as equal). */
export function sameShape(a: Shape | undefined, b: Shape | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The values a graph being read defines, by name: the first value of a
 * non-empty name, as `Graph.findValue` finds it in the graph itself, and the
 * first input, initializer or unresolved name that is empty.
 */
class LocalNames {
  private empty: Value | undefined;
  constructor(private readonly g: Graph) {}

  get(n: string): Value | undefined {
    if (n === '') return this.empty;
    const v = this.g.findValue(n);
    return v && v.graph === this.g ? v : undefined;
  }

  has(n: string): boolean {
    return this.get(n) !== undefined;
  }

  /** Records `v` for `n`: it must be the graph's first value of a non-empty name (addValue indexed it already). */
  set(n: string, v: Value): void {
    if (n === '') this.empty = v;
  }
}

/**
 * One string per distinct op type, domain and attribute name: a graph of 100k
 * nodes repeats a few dozen of them, and each decoded copy would stay in the
 * heap for as long as the graph. Bounded, as a file may hold any names.
 */
const INTERNED = new Map<string, string>();
const MAX_INTERNED = 4096;

function interned(text: string): string {
  const known = INTERNED.get(text);
  if (known !== undefined) return known;
  if (INTERNED.size < MAX_INTERNED) INTERNED.set(text, text);
  return text;
}

/** Input names and attribute ranges of the node read last (scratch: a large graph makes no arrays for them). */
const INPUTS: string[] = [];
/** How many nodes back, and initializers ahead, an input name is looked for before the name table (see readGraph). */
const RECENT_NODES = 4;
const OUTPUTS: Value[] = [];
const ATTRS: number[] = [];

/** Creates the values a node produces (a name produced twice gets a second value, which no one reads). */
function readNodeOutputs(cur: Cursor, g: Graph, contentStart: number, end: number): Value | Value[] {
  cur.pos = contentStart;
  OUTPUTS.length = 0;
  while (cur.pos < end) {
    const tag = cur.tag(end);
    if (tag === ((2 << 3) | WIRE.LEN)) {
      const n = cur.string(end);
      OUTPUTS.push(g.addValue(n)); // the graph's name index now finds the first value of `n`
    } else cur.skip(tag & 7, end);
  }
  // The node keeps the array (a single output as itself); one grown by push has room for 17.
  return OUTPUTS.length === 1 ? OUTPUTS[0]! : OUTPUTS.slice();
}

/** Name, op type and domain of the node read last by readNodeHeader (scratch, as INPUTS). */
const HEADER = { name: '', op: '', domain: '' };

/**
 * Reads a node's fields: its name, op type and domain go to HEADER, its input
 * names to INPUTS and its attribute ranges to ATTRS; with `rec`, also what
 * a NodeRec keeps (the fields present, and the bytes of those the IR does not model).
 */
function readNodeHeader(cur: Cursor, contentStart: number, end: number, rec: NodeRec | undefined): void {
  INPUTS.length = 0;
  ATTRS.length = 0;
  HEADER.name = '';
  HEADER.op = '';
  HEADER.domain = '';
  cur.pos = contentStart;
  while (cur.pos < end) {
    const s = cur.pos;
    const tag = cur.tag(end);
    const f = tag >>> 3;
    const wire = tag & 7;
    if (wire === WIRE.LEN) {
      if (f === 1) {
        INPUTS.push(cur.string(end));
        continue;
      }
      if (f === 2) {
        cur.skip(wire, end);
        continue;
      }
      if (f === 5) {
        const stop = cur.lenEnd(end);
        ATTRS.push(s, cur.pos, stop);
        cur.pos = stop;
        continue;
      }
      if (f === 3 || f === 4 || f === 7) {
        const text = cur.string(end);
        if (f === 3) HEADER.name = text;
        else if (f === 4) HEADER.op = interned(text);
        else HEADER.domain = interned(text);
        rec?.mark(f);
        continue;
      }
      cur.skip(wire, end);
    } else {
      cur.skip(wire, end);
    }
    rec?.span(f, s, cur.pos);
  }
}

/**
 * The record of the NodeProto that node `k` of `g` was read from (see
 * GraphRec.nodeRanges), made from its bytes, which the reader checked.
 */
export function nodeRecAt(g: GraphRec, k: number, file: string): NodeRec {
  const rec = new NodeRec(g.buf, g.nodeRanges[3 * k]!, g.nodeRanges[3 * k + 2]!, 1);
  readNodeHeader(new Cursor(g.buf, file), g.nodeRanges[3 * k + 1]!, rec.end, rec);
  rec.name = HEADER.name;
  rec.op = HEADER.op;
  rec.domain = HEADER.domain;
  return rec;
}

/**
 * Checks the attributes at `ranges` (start, content start, end triples) as
 * skimNode does, for a node whose attributes are left undecoded in a graph
 * that skimGraph has not checked. Leaves the cursor where it was.
 */
function checkAttrs(cur: Cursor, options: DecodeOptions, node: string, ranges: readonly number[], depth: number): void {
  const at = cur.pos;
  const base = cur.path.length;
  const names: string[] = [];
  for (let i = 0; i < ranges.length; i += 3) {
    cur.path.push('attribute', i / 3);
    const name = skimAttr(cur, options, ranges[i + 1]!, ranges[i + 2]!, depth, []);
    if (names.includes(name)) cur.fail(`node '${node}' has attribute '${name}' twice`, ranges[i]!, { node });
    names.push(name);
    cur.path.length = base;
  }
  cur.pos = at;
}

/** Whether any of the attributes at `ranges` (start, content start, end triples) has a graph or tensor field. */
function attrsHoldGraphsOrTensors(cur: Cursor, ranges: readonly number[]): boolean {
  const at = cur.pos;
  try {
    for (let i = 0; i < ranges.length; i += 3) {
      const end = ranges[i + 2]!;
      cur.pos = ranges[i + 1]!;
      while (cur.pos < end) {
        const tag = cur.tag(end);
        const field = tag >>> 3;
        if (field >= 5 && (field <= 6 || field >= 10) && field <= 11 && (tag & 7) === WIRE.LEN) return true;
        cur.skip(tag & 7, end);
      }
    }
    return false;
  } finally {
    cur.pos = at;
  }
}

/**
 * The undecoded attributes of the nodes of one graph (their AttrSource): a
 * node's attributes lie in its byte range, found from its position among the
 * nodes read (`Node.native`, see GraphRec.nodeRanges).
 */
export class LazyAttrs implements AttrSource {
  constructor(
    private readonly buf: Uint8Array,
    private readonly options: DecodeOptions,
    private readonly graph: Graph,
    private readonly depth: number,
  ) {}

  attrCount(node: Node): number {
    let count = 0;
    this.walk(node, undefined, () => {
      count++;
      return false;
    }, false);
    return count;
  }

  /** The attributes of `node`, in file order. */
  decodeAttrs(node: Node): Map<string, Attr> {
    const attrs = new Map<string, Attr>();
    this.walk(node, undefined, (a) => {
      attrs.set((a!.native as AttrRec).name, a!);
      return false;
    });
    return attrs;
  }

  /**
   * The attribute `name` of `node`, frozen (see AttrSource.decodeAttr). Only
   * that attribute is decoded: the others' names are compared as bytes (a
   * matcher asks 30,000 BatchNorms for `epsilon` and `training_mode`, which
   * most do not have).
   */
  decodeAttr(node: Node, name: string): Attr | undefined {
    let found: Attr | undefined;
    this.walk(node, utf8Of(name), (a) => {
      if (Array.isArray(a!.value)) Object.freeze(a!.value);
      found = Object.freeze(a!);
      return true;
    });
    return found;
  }

  /**
   * Visits the node's attributes in file order (only those named by the
   * UTF-8 bytes `only`, when given), decoded unless `decode` is false, until
   * `visit` returns true.
   */
  private walk(node: Node, only: Uint8Array | undefined, visit: (a: Attr | undefined) => boolean, decode = true): void {
    const k = nodeIndex(node);
    const rec = this.graph.native;
    if (k < 0 || node.graph !== this.graph || !(rec instanceof GraphRec)) throw new Error(`node '${node.name}': its attributes were not read by this codec`);
    const start = rec.nodeRanges[3 * k + 1]!;
    const end = rec.nodeRanges[3 * k + 2]!;
    const cur = new Cursor(this.buf, this.options.file);
    cur.path.push('node', node.name, 'attribute', 0);
    let index = 0;
    try {
      cur.pos = start;
      while (cur.pos < end) {
        const s = cur.pos;
        const tag = cur.tag(end);
        if (tag !== ((5 << 3) | WIRE.LEN)) {
          cur.skip(tag & 7, end);
          continue;
        }
        const stop = cur.lenEnd(end);
        const contentStart = cur.pos;
        cur.path[3] = index++;
        if (only === undefined || attrNameIs(cur, stop, only)) {
          if (visit(decode ? readAttr(cur, this.options, s, contentStart, stop, this.graph, this.depth, true) : undefined)) return;
        }
        cur.pos = stop;
      }
    } catch (e) {
      throw asModelError(e, cur, this.options.file);
    }
  }
}

/**
 * Whether the AttributeProto whose content starts at `cur.pos` (up to `end`)
 * is named by the UTF-8 bytes `want`: its last name field, as readAttr takes
 * it (and invalid UTF-8 there, which readAttr would decode to U+FFFD, never
 * equals a name given as a string's UTF-8).
 */
function attrNameIs(cur: Cursor, end: number, want: Uint8Array): boolean {
  let nameStart = -1;
  let nameEnd = -1;
  while (cur.pos < end) {
    const tag = cur.tag(end);
    if (tag === ((1 << 3) | WIRE.LEN)) {
      nameEnd = cur.lenEnd(end);
      nameStart = cur.pos;
      cur.pos = nameEnd;
    } else cur.skip(tag & 7, end);
  }
  if (nameStart < 0 || nameEnd - nameStart !== want.length) return want.length === 0 && nameStart < 0;
  const buf = cur.buf;
  for (let i = 0; i < want.length; i++) if (buf[nameStart + i] !== want[i]) return false;
  return true;
}

/** UTF-8 of the attribute names asked for, encoded once each (bounded, as INTERNED). */
const UTF8_OF = new Map<string, Uint8Array>();

function utf8Of(name: string): Uint8Array {
  let bytes = UTF8_OF.get(name);
  if (bytes === undefined) {
    bytes = new TextEncoder().encode(name);
    if (UTF8_OF.size < MAX_INTERNED) UTF8_OF.set(name, bytes);
  }
  return bytes;
}

/** Field number that holds the value of each attribute kind. */
export const VALUE_FIELD: Readonly<Record<Attr['kind'], number>> = {
  float: 2,
  int: 3,
  bool: 3,
  string: 4,
  bytes: 4,
  tensor: 5,
  graph: 6,
  floats: 7,
  ints: 8,
  strings: 9,
  tensors: 10,
  graphs: 11,
  opaque: 0,
  ref: 21,
};

/** Bits of `present` in readAttr for the value fields f, i, s, t, g, floats, ints, strings, tensors, graphs (2 to 11). */
const VALUE_BITS = ((1 << 12) - 1) & ~3;

const KIND_OF_TYPE: Partial<Record<number, Attr['kind']>> = {
  [ATTR_TYPE.FLOAT]: 'float',
  [ATTR_TYPE.INT]: 'int',
  [ATTR_TYPE.STRING]: 'string',
  [ATTR_TYPE.TENSOR]: 'tensor',
  [ATTR_TYPE.GRAPH]: 'graph',
  [ATTR_TYPE.FLOATS]: 'floats',
  [ATTR_TYPE.INTS]: 'ints',
  [ATTR_TYPE.STRINGS]: 'strings',
  [ATTR_TYPE.TENSORS]: 'tensors',
  [ATTR_TYPE.GRAPHS]: 'graphs',
};

const KIND_OF_FIELD: Partial<Record<number, Attr['kind']>> = {
  2: 'float', 3: 'int', 4: 'string', 5: 'tensor', 6: 'graph', 7: 'floats', 8: 'ints', 9: 'strings', 10: 'tensors', 11: 'graphs',
};

function readAttr(
  cur: Cursor,
  options: DecodeOptions,
  start: number,
  contentStart: number,
  end: number,
  g: Graph,
  depth: number,
  skimmed: boolean,
  /** Field the AttributeProto is held under: NodeProto.attribute (5) or FunctionProto.attribute_proto (11). */
  field = 5,
): Attr {
  const rec = new AttrRec(cur.buf, start, end, field);
  cur.pos = contentStart;
  let type: number | undefined;
  let f = 0;
  let i: Int = 0;
  let sRange: [number, number] | undefined;
  let refName: string | undefined;
  const floats: number[] = [];
  const ints: Int[] = [];
  const ranges: Record<number, number[]> = { 4: [], 5: [], 6: [], 9: [], 10: [], 11: [] };
  let present = 0;
  while (cur.pos < end) {
    const s = cur.pos;
    const tag = cur.tag(end);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === WIRE.LEN) {
      rec.name = interned(cur.string(end));
      continue;
    }
    if (field === 20 && wire === WIRE.VARINT) {
      type = cur.int32(end);
      rec.type = type;
      rec.mark(20);
      continue;
    }
    if (field === 21 && wire === WIRE.LEN) {
      refName = cur.string(end);
      present |= 1 << 21;
      rec.span(21, s, cur.pos);
      continue;
    }
    if (field === 2 && wire === WIRE.I32) f = cur.float32(end);
    else if (field === 3 && wire === WIRE.VARINT) i = cur.int64(end);
    else if (field === 7 && wire === WIRE.I32) floats.push(cur.float32(end));
    else if (field === 7 && wire === WIRE.LEN) {
      const stop = cur.lenEnd(end);
      if ((stop - cur.pos) % 4 !== 0) cur.fail('packed floats not a multiple of 4 bytes');
      while (cur.pos < stop) floats.push(cur.float32(stop));
    } else if (field === 8 && wire === WIRE.VARINT) ints.push(cur.int64(end));
    else if (field === 8 && wire === WIRE.LEN) {
      const stop = cur.lenEnd(end);
      while (cur.pos < stop) ints.push(cur.int64(stop));
    } else if (wire === WIRE.LEN && ranges[field]) {
      const stop = cur.lenEnd(end);
      ranges[field]!.push(s, cur.pos, stop);
      if (field === 4) sRange = [cur.pos, stop];
      cur.pos = stop;
    } else {
      cur.skip(wire, end);
      rec.span(field, s, cur.pos);
      if (field === 21) present |= 1 << 21;
      continue;
    }
    if (field >= 2 && field <= 11) present |= 1 << field;
    rec.span(field, s, cur.pos);
  }

  let kind: Attr['kind'] | undefined;
  if (type !== undefined) kind = KIND_OF_TYPE[type];
  else {
    const fields = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11].filter((x) => present & (1 << x));
    if (fields.length === 1) kind = KIND_OF_FIELD[fields[0]!];
  }
  const scalarMissing = (fld: number): boolean => !(present & (1 << fld));
  // ref_attr_name (only meaningful inside functions): a reference holds no
  // value; one that holds a value too is no valid attribute, and stays as read.
  if (present & (1 << 21)) {
    const holdsValue = (present & VALUE_BITS) !== 0 || [14, 15, 22, 23].some((x) => rec.has(x));
    kind = refName !== undefined && !holdsValue ? 'ref' : undefined;
  }
  if (kind === 'float' && scalarMissing(2)) kind = undefined;
  if (kind === 'int' && scalarMissing(3)) kind = undefined;
  if (kind === 'string' && scalarMissing(4)) kind = undefined;
  if ((kind === 'tensor' && ranges[5]!.length !== 3) || (kind === 'graph' && ranges[6]!.length !== 3)) kind = undefined;

  let attr: Attr;
  switch (kind) {
    case 'ref':
      attr = { kind, value: refName! };
      rec.value = refName;
      break;
    case 'float':
      attr = { kind, value: f };
      rec.value = f;
      break;
    case 'int':
      attr = { kind, value: i };
      rec.value = i;
      break;
    case 'string': {
      const bytes = cur.buf.subarray(sRange![0], sRange![1]);
      const text = decodeUtf8Strict(bytes);
      attr = text === undefined ? { kind: 'bytes', value: bytes } : { kind: 'string', value: text };
      rec.value = attr.value;
      break;
    }
    case 'floats':
      attr = { kind, value: floats };
      rec.value = [...floats];
      break;
    case 'ints':
      attr = { kind, value: ints };
      rec.value = [...ints];
      break;
    case 'strings': {
      const r = ranges[9]!;
      const list: string[] = [];
      for (let k = 0; k < r.length; k += 3) {
        const text = decodeUtf8Strict(cur.buf.subarray(r[k + 1]!, r[k + 2]!));
        if (text === undefined) break;
        list.push(text);
      }
      if (list.length * 3 === r.length) {
        attr = { kind, value: list };
        rec.value = [...list];
      } else {
        attr = { kind: 'opaque', value: cur.buf.subarray(contentStart, end) };
        rec.value = attr.value;
      }
      break;
    }
    case 'tensor': {
      const r = ranges[5]!;
      cur.path.push('t');
      const t = readTensor(cur, options, r[0]!, r[1]!, r[2]!, 5);
      cur.path.pop();
      attr = { kind, value: t };
      rec.value = t;
      break;
    }
    case 'tensors': {
      const r = ranges[10]!;
      const list: Tensor[] = [];
      cur.path.push('tensors', 0);
      for (let k = 0; k < r.length; k += 3) {
        cur.path[cur.path.length - 1] = k / 3;
        list.push(readTensor(cur, options, r[k]!, r[k + 1]!, r[k + 2]!, 10));
      }
      cur.path.length -= 2;
      attr = { kind, value: list };
      rec.value = [...list];
      break;
    }
    case 'graph': {
      const r = ranges[6]!;
      cur.path.push('g');
      const sub = readGraph(cur, options, r[0]!, r[1]!, r[2]!, 6, g, depth + 1, skimmed);
      cur.path.pop();
      attr = { kind, value: sub };
      rec.value = sub;
      break;
    }
    case 'graphs': {
      const r = ranges[11]!;
      const list: Graph[] = [];
      cur.path.push('graphs', 0);
      for (let k = 0; k < r.length; k += 3) {
        cur.path[cur.path.length - 1] = k / 3;
        list.push(readGraph(cur, options, r[k]!, r[k + 1]!, r[k + 2]!, 11, g, depth + 1, skimmed));
      }
      cur.path.length -= 2;
      attr = { kind, value: list };
      rec.value = [...list];
      break;
    }
    default:
      attr = { kind: 'opaque', value: cur.buf.subarray(contentStart, end) };
      rec.value = attr.value;
  }
  rec.kind = attr.kind;
  rec.valueField = VALUE_FIELD[attr.kind];
  // The value's own field is encoded from the IR when the attribute changes: keep no bytes for it.
  let onlyValue = true;
  for (let k = 0; k < rec.spans.length && onlyValue; k += 3) onlyValue = rec.spans[k] === rec.valueField;
  if (onlyValue && rec.valueField !== 0) rec.dropSpans();
  attr.native = rec;
  cur.pos = end;
  return attr;
}

function readValueInfo(cur: Cursor, start: number, contentStart: number, end: number, field: number): ValueInfoRec {
  const rec = new ValueInfoRec(cur.buf, start, end, field);
  cur.pos = contentStart;
  let typed = false;
  while (cur.pos < end) {
    const s = cur.pos;
    const tag = cur.tag(end);
    const f = tag >>> 3;
    const wire = tag & 7;
    if (f === 1 && wire === WIRE.LEN) {
      rec.name = cur.string(end);
      continue;
    }
    if (f === 2 && wire === WIRE.LEN) {
      const stop = cur.lenEnd(end);
      const t = readType(cur, stop);
      rec.dtype = t.dtype;
      rec.shape = t.shape;
      rec.typeExact = t.exact && !typed;
      typed = true;
      cur.pos = stop;
    } else cur.skip(wire, end);
    rec.span(f, s, cur.pos);
  }
  return rec;
}

/** Reads a TypeProto: dtype and shape of a tensor type; `exact` when that is all it says. */
function readType(cur: Cursor, end: number): { dtype?: DType; shape?: Shape; exact: boolean } {
  let dtype: DType | undefined;
  let shape: Shape | undefined;
  let exact = true;
  let tensors = 0;
  while (cur.pos < end) {
    const tag = cur.tag(end);
    const f = tag >>> 3;
    const wire = tag & 7;
    if (f !== 1 || wire !== WIRE.LEN) {
      exact = false;
      cur.skip(wire, end);
      continue;
    }
    tensors++;
    const stop = cur.lenEnd(end);
    let elemSeen = false;
    let shapes = 0;
    while (cur.pos < stop) {
      const t = cur.tag(stop);
      const tf = t >>> 3;
      const tw = t & 7;
      if (tf === 1 && tw === WIRE.VARINT) {
        const code = cur.int32(stop);
        dtype = dtypeOfCode(code);
        if (dtype === 'undefined' || dtype === undefined) {
          dtype = undefined;
          exact = false;
        }
        elemSeen = true;
      } else if (tf === 2 && tw === WIRE.LEN) {
        shapes++;
        const sEnd = cur.lenEnd(stop);
        const dims: Shape = [];
        while (cur.pos < sEnd) {
          const dt = cur.tag(sEnd);
          if (dt >>> 3 !== 1 || (dt & 7) !== WIRE.LEN) {
            exact = false;
            cur.skip(dt & 7, sEnd);
            continue;
          }
          const dEnd = cur.lenEnd(sEnd);
          let dim: number | string | null = null;
          let parts = 0;
          while (cur.pos < dEnd) {
            const x = cur.tag(dEnd);
            const xf = x >>> 3;
            const xw = x & 7;
            if (xf === 1 && xw === WIRE.VARINT) {
              const v = cur.int64(dEnd);
              if (typeof v === 'bigint') exact = false;
              dim = Number(v);
              parts++;
            } else if (xf === 2 && xw === WIRE.LEN) {
              dim = cur.string(dEnd);
              parts++;
            } else {
              exact = false;
              cur.skip(xw, dEnd);
            }
          }
          if (parts > 1) exact = false;
          dims.push(dim);
        }
        shape = dims;
      } else {
        exact = false;
        cur.skip(tw, stop);
      }
    }
    if (!elemSeen || shapes > 1) exact = false;
  }
  if (tensors !== 1) exact = false;
  return { dtype, shape, exact };
}

/** TensorProto.name of the tensor readTensor read last (the record finds it in its bytes; this saves reading them again). */
let LAST_TENSOR_NAME: string | undefined;

function readTensor(cur: Cursor, options: DecodeOptions, start: number, contentStart: number, end: number, field: number): TensorRec {
  cur.pos = contentStart;
  const dims = DIMS;
  dims.length = 0;
  let code = 0;
  let hasDataType = false;
  let tensorName: string | undefined;
  let rawAt = -1; // content start and end of raw_data
  let rawEnd = -1;
  let location = 0;
  let typed: number[] | undefined; // field, wire, start, end of each typed-data payload
  let strings: Uint8Array[] | undefined;
  let external: Map<string, string> | undefined;
  while (cur.pos < end) {
    const s = cur.pos;
    const tag = cur.tag(end);
    const f = tag >>> 3;
    const wire = tag & 7;
    if (f === 1 && wire === WIRE.VARINT) {
      dims.push(dimOf(cur, cur.int64(end), s));
      continue;
    }
    if (f === 2 && wire === WIRE.VARINT) {
      code = cur.int32(end);
      hasDataType = true;
      continue;
    }
    if (f === 8 && wire === WIRE.LEN) {
      tensorName = cur.string(end);
      continue;
    }
    if (f === 1 && wire === WIRE.LEN) {
      const stop = cur.lenEnd(end);
      while (cur.pos < stop) dims.push(dimOf(cur, cur.int64(stop), s));
    } else if (f === 9 && wire === WIRE.LEN) {
      const stop = cur.lenEnd(end);
      rawAt = cur.pos;
      rawEnd = stop;
      cur.pos = stop;
    } else if (f === 6 && wire === WIRE.LEN) {
      const stop = cur.lenEnd(end);
      (strings ??= []).push(cur.buf.subarray(cur.pos, stop));
      cur.pos = stop;
    } else if (f === 13 && wire === WIRE.LEN) {
      const stop = cur.lenEnd(end);
      const e = readStringPair(cur, stop, 1, 2, false);
      (external ??= new Map()).set(e.a, e.b);
    } else if (f === 14 && wire === WIRE.VARINT) location = cur.int32(end);
    else if ((f === 4 || f === 5 || f === 7 || f === 10 || f === 11) && wire !== WIRE.SGROUP) {
      // A packed payload, or one unpacked element: either way the byte range of the values.
      if (wire === WIRE.LEN) {
        const stop = cur.lenEnd(end);
        (typed ??= []).push(f, wire, cur.pos, stop);
        cur.pos = stop;
      } else {
        const from = cur.pos;
        cur.skip(wire, end);
        (typed ??= []).push(f, wire, from, cur.pos);
      }
    } else cur.skip(wire, end);
    // Not kept here: TensorRec finds its kept fields again from the bytes when asked.
  }
  const name = tensorName ?? '';
  const dtype: DType = dtypeOfCode(code) ?? 'undefined';
  const shape = sharedShape(dims);
  const fail = (reason: string): never => cur.fail(reason, start, { tensor: name });
  let count = 1;
  for (const d of dims) count *= d;

  // Undefined (with rawAt set): the raw_data range of the buffer, made into BytesData on first use.
  let data: TensorData | undefined;
  let ref: ExternalRef | undefined;
  if (location === 1) {
    ref = externalRef(cur, options, external ?? new Map(), dtype, count, start, name);
    data = externalData(options, ref, cur.pathText(), start, name);
  } else if (rawAt >= 0) {
    data = holeDataAt(options.sparse, rawAt, rawEnd);
  } else if (dtype === 'string') {
    const list = strings ?? [];
    if (list.length !== count) fail(`string tensor holds ${list.length} strings, its dims [${dims.join(', ')}] want ${count}`);
    data = new StringData(list);
  } else {
    data = new BytesData(typedToBytes(cur, dtype, typed ?? [], fail));
  }
  const byteLength = data ? data.byteLength : rawEnd - rawAt;
  if (dtype !== 'string' && DTYPES[dtype].bits > 0) {
    const want = byteSize(dtype, count);
    if (byteLength !== want) {
      fail(`tensor data holds ${byteLength} bytes, its dims [${dims.join(', ')}] of ${dtype} want ${want}`);
    }
  }
  cur.pos = end;
  LAST_TENSOR_NAME = tensorName;
  return new TensorRec(dtype, shape, data, ref, cur.buf, start, end, field, hasDataType);
}

/**
 * One frozen array per distinct shape read, shared by every tensor of that
 * shape: a large model's 100k+ constants have a handful of shapes, and an
 * array per constant is two heap objects. Shapes are replaced, never changed
 * in place (freezing makes a mistake there throw instead of corrupting other
 * tensors). The table is bounded; past it, shapes get their own array.
 */
const SHAPES = new Map<string, readonly number[]>();
const MAX_SHARED_SHAPES = 4096;
let lastShape: readonly number[] = [];

function sharedShape(dims: readonly number[]): readonly number[] {
  if (dims.length === 0) return NO_DIMS;
  // Tensors read one after another often have one shape (a BatchNorm's four): no key string for those.
  const last = lastShape;
  if (last.length === dims.length) {
    let i = 0;
    while (i < dims.length && last[i] === dims[i]) i++;
    if (i === dims.length) return last;
  }
  const key = dims.join(',');
  let shape = SHAPES.get(key);
  if (!shape) {
    shape = Object.freeze(dims.slice()); // exact size: a pushed-to array keeps room for 16
    if (SHAPES.size < MAX_SHARED_SHAPES) SHAPES.set(key, shape);
  }
  lastShape = shape;
  return shape;
}
const NO_DIMS: readonly number[] = Object.freeze([]);

/** Dimensions of the tensor being read (scratch: the tensor keeps an exact-size copy). */
const DIMS: number[] = [];

function dimOf(cur: Cursor, v: number | bigint, at: number): number {
  if (typeof v === 'bigint' || v < 0) cur.fail(`tensor dimension ${v} is negative or too large`, at);
  return v;
}

/** Element bytes of typed TensorProto fields (float_data, int32_data, ...), little-endian packed. */
function typedToBytes(cur: Cursor, dtype: DType, typed: number[], fail: (r: string) => never): Uint8Array {
  if (typed.length === 0) return new Uint8Array(0);
  const fieldOf = typed[0]!;
  for (let k = 0; k < typed.length; k += 4) if (typed[k] !== fieldOf) fail('tensor mixes several typed data fields');
  const buf = cur.buf;
  const fixed = fieldOf === 4 || fieldOf === 10;
  if (fixed) {
    const width = fieldOf === 4 ? 4 : 8;
    const wantDtype = fieldOf === 4 ? ['float32', 'complex64'] : ['float64', 'complex128'];
    if (!wantDtype.includes(dtype)) fail(`${fieldOf === 4 ? 'float_data' : 'double_data'} does not hold ${dtype} elements`);
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let k = 0; k < typed.length; k += 4) {
      const wire = typed[k + 1]!;
      if (wire !== WIRE.LEN && wire !== (width === 4 ? WIRE.I32 : WIRE.I64)) fail('typed tensor data has the wrong wire type');
      const p = buf.subarray(typed[k + 2]!, typed[k + 3]!);
      if (p.byteLength % width !== 0) fail(`packed data is not a multiple of ${width} bytes`);
      parts.push(p);
      total += p.byteLength;
    }
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }
  // Varint fields: int32_data (5), int64_data (7), uint64_data (11).
  let n = 0;
  for (let k = 0; k < typed.length; k += 4) {
    if (typed[k + 1] !== WIRE.LEN && typed[k + 1] !== WIRE.VARINT) fail('typed tensor data has the wrong wire type');
    for (let p = typed[k + 2]!; p < typed[k + 3]!; p++) if (buf[p]! < 0x80) n++;
  }
  const bits = DTYPES[dtype].bits;
  const ok =
    (fieldOf === 5 && DTYPES[dtype].kind !== 'complex' && bits > 0 && bits <= 32 && dtype !== 'uint32' && dtype !== 'float32') ||
    (fieldOf === 7 && dtype === 'int64') ||
    (fieldOf === 11 && (dtype === 'uint32' || dtype === 'uint64'));
  if (!ok) fail(`${fieldOf === 5 ? 'int32_data' : fieldOf === 7 ? 'int64_data' : 'uint64_data'} does not hold ${dtype} elements`);
  // Sub-byte types store one packed byte per int32_data entry.
  const width = bits < 8 ? 1 : bits / 8;
  const out = new Uint8Array(n * width);
  const dv = new DataView(out.buffer);
  let idx = 0;
  const saved = cur.pos;
  for (let k = 0; k < typed.length; k += 4) {
    cur.pos = typed[k + 2]!;
    const stop = typed[k + 3]!;
    while (cur.pos < stop && idx < n) {
      const v = cur.int64(stop);
      const at = idx * width;
      if (width === 8) dv.setBigUint64(at, BigInt.asUintN(64, BigInt(v)), true);
      else if (width === 4) dv.setUint32(at, Number(BigInt.asUintN(32, BigInt(v))), true);
      else if (width === 2) dv.setUint16(at, Number(v) & 0xffff, true);
      else out[at] = Number(v) & 0xff;
      idx++;
    }
  }
  cur.pos = saved;
  if (idx !== n) fail('malformed varints in tensor data');
  return out;
}

/** Checks an external data reference (location, offset, length) against its file. */
function externalRef(
  cur: Cursor,
  options: DecodeOptions,
  entries: Map<string, string>,
  dtype: DType,
  count: number,
  start: number,
  name: string,
): ExternalRef {
  const err = (reason: string): never => {
    throw new ModelError({ file: options.file, offset: start, path: cur.pathText(), tensor: name }, reason);
  };
  const location = entries.get('location');
  if (location === undefined) err('external data without a location');
  const int = (key: string): number | undefined => {
    const text = entries.get(key);
    if (text === undefined) return undefined;
    if (!/^\d{1,16}$/.test(text) || !Number.isSafeInteger(Number(text))) err(`external data ${key} '${text}' is not a byte count`);
    return Number(text);
  };
  const offset = int('offset') ?? 0;
  const declared = int('length');
  const { fd, size, resolved } = openExternalForRead(options.dir, location!, err);
  try {
    if (offset > size) err(`external data offset ${offset} is past the end of '${location}' (${size} bytes)`);
    const length = declared ?? size - offset;
    if (offset + length > size) err(`external data [${offset}, ${offset + length}) runs past the end of '${location}' (${size} bytes)`);
    if (dtype !== 'string' && DTYPES[dtype].bits > 0 && length !== byteSize(dtype, count)) {
      err(`external data length ${length} does not match its dims (${byteSize(dtype, count)} bytes of ${dtype})`);
    }
    return { location: location!, offset, length, resolved };
  } finally {
    fs_close(fd);
  }
}

/** The data of an external tensor: read now when asked (eagerExternalData), else on use. */
function externalData(options: DecodeOptions, ref: ExternalRef, path: string, start: number, name: string): TensorData {
  const err = (reason: string): never => {
    throw new ModelError({ file: options.file, offset: start, path, tensor: name }, reason);
  };
  if (options.eagerExternalData) return new BytesData(readExternal(options.dir, ref, 0, ref.length, err));
  return new LazyData(ref.length, () => readExternal(options.dir, ref, 0, ref.length, err), { file: ref.resolved, offset: ref.offset });
}

