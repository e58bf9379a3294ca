import type { Graph } from '../../ir/graph';
import type { RecordRange } from './records';
import { WIRE } from './schema';
import { Cursor } from './wire';

// Fields the IR keeps as bytes can name values of a graph: a TensorAnnotation
// (GraphProto.quantization_annotation) names a tensor and the initializers of
// its scale and zero point, a TrainingInfoProto binds initializers of the main
// graph and its algorithm reads them. Nothing in the IR reads those
// initializers, so cleanup would remove them and the kept bytes would name
// tensors the written model no longer has. They are pinned instead.

const MAX_DEPTH = 64;

/** Calls `visit` with each field of the message [start, end) and the end of its value; fields `visit` leaves unread are skipped. */
function eachField(cur: Cursor, start: number, end: number, visit: (field: number, wire: number) => void): void {
  cur.pos = start;
  while (cur.pos < end) {
    const tag = cur.tag(end);
    const at = cur.pos;
    visit(tag >>> 3, tag & 7);
    if (cur.pos === at) cur.skip(tag & 7, end);
  }
}

/** The content range of the length-delimited field whose length prefix is at the cursor; the cursor moves past it. */
function content(cur: Cursor, end: number): [number, number] {
  const stop = cur.lenEnd(end);
  const start = cur.pos;
  cur.pos = stop;
  return [start, stop];
}

/** Each string of field `want` of the message [start, end). */
function strings(cur: Cursor, start: number, end: number, want: number, out: string[]): void {
  eachField(cur, start, end, (f, wire) => {
    if (f === want && wire === WIRE.LEN) out.push(cur.string(end));
  });
  cur.pos = end;
}

/** Names that the nodes of GraphProto [start, end) and of its subgraphs read. */
function namesReadIn(cur: Cursor, start: number, end: number, depth: number, out: string[]): void {
  if (depth > MAX_DEPTH) cur.fail(`subgraphs nested deeper than ${MAX_DEPTH} levels`, start);
  eachField(cur, start, end, (f, wire) => {
    if (f !== 1 || wire !== WIRE.LEN) return;
    const [ns, ne] = content(cur, end);
    eachField(cur, ns, ne, (nf, nw) => {
      if (nf === 1 && nw === WIRE.LEN) out.push(cur.string(ne));
      else if (nf === 5 && nw === WIRE.LEN) {
        const [as, ae] = content(cur, ne);
        eachField(cur, as, ae, (af, aw) => {
          if ((af === 6 || af === 11) && aw === WIRE.LEN) {
            const [gs, ge] = content(cur, ae);
            namesReadIn(cur, gs, ge, depth + 1, out);
            cur.pos = ge;
          }
        });
        cur.pos = ae;
      }
    });
    cur.pos = ne;
  });
  cur.pos = end;
}

function pin(g: Graph, names: readonly string[]): void {
  for (const n of names) {
    const v = g.findValue(n);
    if (v && v.graph === g) v.pinned = true;
  }
}

/** The fields numbered `field` kept in a record, as content ranges. */
function kept(rec: RecordRange, field: number): [number, number][] {
  const out: [number, number][] = [];
  const s = rec.spans;
  for (let i = 0; i < s.length; i += 3) {
    if (s[i] !== field) continue;
    let p = s[i + 1]!;
    if ((rec.buf[p]! & 7) !== WIRE.LEN) continue;
    for (let k = 0; k < 2; k++) while (rec.buf[p++]! >= 0x80);
    out.push([p, s[i + 2]!]);
  }
  return out;
}

/** Pins the values a graph's quantization annotations name: the annotated tensors and their scale and zero-point tensors. */
export function pinAnnotated(g: Graph, rec: RecordRange, file: string): void {
  const ranges = kept(rec, 14);
  if (ranges.length === 0) return;
  const cur = new Cursor(rec.buf, file);
  cur.path.push('quantization_annotation');
  const names: string[] = [];
  for (const [start, end] of ranges) {
    eachField(cur, start, end, (f, wire) => {
      if (f === 1 && wire === WIRE.LEN) names.push(cur.string(end));
      else if (f === 2 && wire === WIRE.LEN) {
        const [es, ee] = content(cur, end);
        strings(cur, es, ee, 2, names);
      }
    });
  }
  pin(g, names);
}

/** Pins the main graph's values a model's training_info names: the initializers it binds and the names its graphs read. */
export function pinTrained(g: Graph, rec: RecordRange, file: string): void {
  const ranges = kept(rec, 20);
  if (ranges.length === 0) return;
  const cur = new Cursor(rec.buf, file);
  cur.path.push('training_info');
  const names: string[] = [];
  for (const [start, end] of ranges) {
    eachField(cur, start, end, (f, wire) => {
      if (wire !== WIRE.LEN) return;
      if (f === 1 || f === 2) {
        const [gs, ge] = content(cur, end);
        namesReadIn(cur, gs, ge, 0, names);
        cur.pos = ge;
      } else if (f === 3 || f === 4) {
        const [es, ee] = content(cur, end);
        strings(cur, es, ee, 1, names);
      }
    });
  }
  pin(g, names);
}
