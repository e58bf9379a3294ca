/**
 * A small reference evaluator for OpenVINO graphs (as read into the IR), on
 * float32 data, for the few ops the tests need: Parameter/Const/Result, Add,
 * Multiply, Convolution, GroupConvolution, Concat, Split, VariadicSplit,
 * Reshape, Relu, and ReadValue/Assign for one inference from a fresh state. There is no OpenVINO runtime on this machine; this evaluator
 * is itself checked against onnxruntime-node on the equivalent ONNX graph
 * (test/formats/openvino/eval.test.ts), so it can stand in for one when a test
 * checks that a rewrite keeps a model's outputs.
 */
import type { Graph, Node, Value } from '../../src/ir/graph';
import { ovIntAttr, ovIntsAttr, ovStringAttr } from '../../src/formats/openvino/attrs';

/** A dense float32 tensor, row-major. */
export interface Dense {
  shape: number[];
  data: Float32Array;
}

const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** Evaluates every graph output from the given inputs (by input value name). */
export function evaluateOv(graph: Graph, inputs: ReadonlyMap<string, Dense>): Dense[] {
  const env = new Map<Value, Dense>();
  const get = (v: Value | null, node: Node): Dense => {
    if (!v) throw new Error(`${node.name}: missing input`);
    const known = env.get(v);
    if (known) return known;
    if (v.const) {
      const d = { shape: [...v.const.shape], data: Float32Array.from(v.const.toFloat64()) };
      env.set(v, d);
      return d;
    }
    throw new Error(`${node.name}: value '${v.name}' has not been computed`);
  };
  for (const v of graph.inputs) {
    const d = inputs.get(v.name);
    if (!d) throw new Error(`no data for input '${v.name}'`);
    env.set(v, d);
  }
  for (const node of graph.nodes) {
    const ins = node.inputs.map((v) => get(v, node));
    const outs = evalNode(node, ins);
    node.outputs.forEach((v, i) => {
      const o = outs[i];
      if (!o) throw new Error(`${node.name}: ${node.op} gave no output ${i}`);
      env.set(v, o);
    });
  }
  return graph.outputs.map((v) => {
    const d = env.get(v) ?? (v.const ? { shape: [...v.const.shape], data: Float32Array.from(v.const.toFloat64()) } : undefined);
    if (!d) throw new Error(`output '${v.name}' was not computed`);
    return d;
  });
}

function evalNode(node: Node, ins: Dense[]): Dense[] {
  const a = ins[0]!;
  switch (node.op) {
    case 'Add': return [broadcast(a, ins[1]!, (x, y) => x + y)];
    case 'Multiply': return [broadcast(a, ins[1]!, (x, y) => x * y)];
    // One inference from a fresh state: ReadValue yields its initial value; Assign stores, outputs nothing.
    case 'ReadValue': return [a];
    case 'Assign': return [];
    case 'Relu':
    case 'ReLU': return [{ shape: a.shape, data: a.data.map((x) => (x > 0 ? x : 0)) }];
    case 'Convolution': return [conv(node, a, ins[1]!, 1)];
    case 'GroupConvolution': {
      const w = ins[1]!;
      const [g, o, i, ...k] = w.shape;
      return [conv(node, a, { shape: [g! * o!, i!, ...k], data: w.data }, g!)];
    }
    case 'Concat': return [concat(ins, axisOf(ovIntAttr(node, 'axis') ?? 0, a.shape.length))];
    case 'Split': {
      const axis = axisOf(ins[1]!.data[0]!, a.shape.length);
      const n = ovIntAttr(node, 'num_splits') ?? 1;
      return split(a, axis, new Array<number>(n).fill(a.shape[axis]! / n));
    }
    case 'VariadicSplit': {
      const axis = axisOf(ins[1]!.data[0]!, a.shape.length);
      const lengths = [...ins[2]!.data];
      const known = lengths.filter((x) => x >= 0).reduce((s, x) => s + x, 0);
      return split(a, axis, lengths.map((x) => (x < 0 ? a.shape[axis]! - known : x)));
    }
    case 'Reshape': {
      const want = [...ins[1]!.data].map(Math.round);
      const specialZero = ovStringAttr(node, 'special_zero') === 'true';
      const shape = want.map((d, i) => (d === 0 && specialZero ? a.shape[i]! : d));
      const minus = shape.indexOf(-1);
      if (minus >= 0) shape[minus] = count(a.shape) / -count(shape);
      if (count(shape) !== count(a.shape)) throw new Error(`${node.name}: cannot reshape [${a.shape}] to [${shape}]`);
      return [{ shape, data: a.data }];
    }
    default:
      throw new Error(`the reference evaluator has no ${node.op} (${node.name})`);
  }
}

function axisOf(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Elementwise op with numpy broadcasting. */
function broadcast(a: Dense, b: Dense, f: (x: number, y: number) => number): Dense {
  const rank = Math.max(a.shape.length, b.shape.length);
  const pa = [...new Array<number>(rank - a.shape.length).fill(1), ...a.shape];
  const pb = [...new Array<number>(rank - b.shape.length).fill(1), ...b.shape];
  const shape = pa.map((d, i) => {
    const e = pb[i]!;
    if (d !== e && d !== 1 && e !== 1) throw new Error(`cannot broadcast [${a.shape}] with [${b.shape}]`);
    return Math.max(d, e);
  });
  const sa = strides(pa);
  const sb = strides(pb);
  const so = strides(shape);
  const out = new Float32Array(count(shape));
  for (let i = 0; i < out.length; i++) {
    let ia = 0;
    let ib = 0;
    let r = i;
    for (let k = 0; k < rank; k++) {
      const c = Math.floor(r / so[k]!);
      r -= c * so[k]!;
      if (pa[k]! > 1) ia += c * sa[k]!;
      if (pb[k]! > 1) ib += c * sb[k]!;
    }
    out[i] = f(a.data[ia]!, b.data[ib]!);
  }
  return { shape, data: out };
}

/** 2-D convolution, NCHW, weights [Cout, Cin/groups, kh, kw], with OpenVINO's padding attributes. */
function conv(node: Node, x: Dense, w: Dense, groups: number): Dense {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [cout, cinG, kh, kw] = w.shape as [number, number, number, number];
  if (cinG * groups !== c) throw new Error(`${node.name}: ${c} input channels do not fit weights [${w.shape}] in ${groups} groups`);
  const [sh, sw] = ovIntsAttr(node, 'strides') ?? [1, 1];
  const [dh, dw] = ovIntsAttr(node, 'dilations') ?? [1, 1];
  let [pt, pl] = ovIntsAttr(node, 'pads_begin') ?? [0, 0];
  let [pb, pr] = ovIntsAttr(node, 'pads_end') ?? [0, 0];
  const autoPad = ovStringAttr(node, 'auto_pad') ?? 'explicit';
  const ekh = (kh - 1) * dh! + 1;
  const ekw = (kw - 1) * dw! + 1;
  if (autoPad === 'valid') [pt, pl, pb, pr] = [0, 0, 0, 0];
  else if (autoPad === 'same_upper' || autoPad === 'same_lower') {
    const padH = Math.max(0, (Math.ceil(h / sh!) - 1) * sh! + ekh - h);
    const padW = Math.max(0, (Math.ceil(wd / sw!) - 1) * sw! + ekw - wd);
    const lowH = autoPad === 'same_upper' ? Math.floor(padH / 2) : Math.ceil(padH / 2);
    const lowW = autoPad === 'same_upper' ? Math.floor(padW / 2) : Math.ceil(padW / 2);
    [pt, pl, pb, pr] = [lowH, lowW, padH - lowH, padW - lowW];
  }
  const oh = Math.floor((h + pt! + pb! - ekh) / sh!) + 1;
  const ow = Math.floor((wd + pl! + pr! - ekw) / sw!) + 1;
  const out = new Float32Array(n * cout * oh * ow);
  const coutG = cout / groups;
  for (let b = 0; b < n; b++)
    for (let o = 0; o < cout; o++) {
      const g = Math.floor(o / coutG);
      for (let y = 0; y < oh; y++)
        for (let xx = 0; xx < ow; xx++) {
          let acc = 0;
          for (let ci = 0; ci < cinG; ci++) {
            const cin = g * cinG + ci;
            for (let ky = 0; ky < kh; ky++) {
              const iy = y * sh! - pt! + ky * dh!;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = xx * sw! - pl! + kx * dw!;
                if (ix < 0 || ix >= wd) continue;
                acc += x.data[((b * c + cin) * h + iy) * wd + ix]! * w.data[((o * cinG + ci) * kh + ky) * kw + kx]!;
              }
            }
          }
          out[((b * cout + o) * oh + y) * ow + xx] = acc;
        }
    }
  return { shape: [n, cout, oh, ow], data: out };
}

function concat(parts: Dense[], axis: number): Dense {
  const first = parts[0]!;
  const shape = [...first.shape];
  shape[axis] = parts.reduce((s, p) => s + p.shape[axis]!, 0);
  const outer = count(first.shape.slice(0, axis));
  const out = new Float32Array(count(shape));
  let at = 0;
  for (let o = 0; o < outer; o++)
    for (const p of parts) {
      const block = count(p.shape.slice(axis));
      out.set(p.data.subarray(o * block, (o + 1) * block), at);
      at += block;
    }
  return { shape, data: out };
}

function split(a: Dense, axis: number, lengths: number[]): Dense[] {
  const outer = count(a.shape.slice(0, axis));
  const inner = count(a.shape.slice(axis + 1));
  const full = a.shape[axis]! * inner;
  let start = 0;
  return lengths.map((len) => {
    const shape = [...a.shape];
    shape[axis] = len;
    const out = new Float32Array(count(shape));
    for (let o = 0; o < outer; o++) out.set(a.data.subarray(o * full + start * inner, o * full + (start + len) * inner), o * len * inner);
    start += len;
    return { shape, data: out };
  });
}
