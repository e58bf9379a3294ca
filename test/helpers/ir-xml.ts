/**
 * OpenVINO IR XML written by hand, as the converters lay it out: layers,
 * ports, Const bytes in a .bin, edges and the bodies of TensorIterator, Loop
 * and If. For tests that need an IR file whose every byte they choose.
 */

/** Const bytes laid out in a .bin; equal bytes share an offset, as OpenVINO's writer does. */
export class Weights {
  private readonly parts: Buffer[] = [];
  private readonly seen = new Map<string, number>();
  size = 0;

  add(bytes: Uint8Array): { offset: number; size: number } {
    const b = Buffer.from(bytes);
    const known = this.seen.get(b.toString('hex'));
    if (known !== undefined) return { offset: known, size: b.byteLength };
    this.seen.set(b.toString('hex'), this.size);
    this.parts.push(b);
    this.size += b.byteLength;
    return { offset: this.size - b.byteLength, size: b.byteLength };
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export function floats(n: number, seed: number): Buffer {
  return Buffer.from(Float32Array.from({ length: n }, (_, i) => Math.sin(i * 7 + seed)).buffer);
}

export function bytes(n: number, seed: number): Buffer {
  let x = seed;
  return Buffer.from(Array.from({ length: n }, () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24)));
}

export function int64s(...v: number[]): Buffer {
  return Buffer.from(BigInt64Array.from(v.map(BigInt)).buffer);
}

export const PRECISION: Record<string, string> = {
  f32: 'FP32', f16: 'FP16', bf16: 'BF16', f64: 'FP64', i64: 'I64', u8: 'U8', i8: 'I8', u4: 'U4', i4: 'I4',
  nf4: 'NF4', u1: 'U1', u2: 'U2', u3: 'U3', u6: 'U6', boolean: 'BOOL', string: 'STRING', f8e4m3: 'F8E4M3',
};

/** `<port>` as ov.save_model writes it: tabs, one `<dim>` a line, a port without dims self-closed. */
export function port(id: number, precision: string, dims: number[], names?: string, inner = ''): string {
  const n = names === undefined ? '' : ` names="${names}"`;
  if (dims.length === 0 && !inner) return `\t\t\t\t<port id="${id}" precision="${precision}"${n} />\n`;
  return `\t\t\t\t<port id="${id}" precision="${precision}"${n}>\n${dims.map((d) => `\t\t\t\t\t<dim>${d}</dim>\n`).join('')}${inner}\t\t\t\t</port>\n`;
}

export interface LayerSpec {
  data?: string;
  rt?: string;
  ins?: string[];
  outs?: string[];
  extra?: string;
}

export function layer(id: number, name: string, type: string, version: string, s: LayerSpec = {}): string {
  let x = `\t\t<layer id="${id}" name="${name}" type="${type}" version="${version}">\n`;
  if (s.data !== undefined) x += `\t\t\t<data ${s.data} />\n`;
  if (s.rt) x += `\t\t\t<rt_info>\n${s.rt}\t\t\t</rt_info>\n`;
  if (s.ins?.length) x += `\t\t\t<input>\n${s.ins.join('')}\t\t\t</input>\n`;
  if (s.outs?.length) x += `\t\t\t<output>\n${s.outs.join('')}\t\t\t</output>\n`;
  return `${x}${s.extra ?? ''}\t\t</layer>\n`;
}

export function constLayer(w: Weights, id: number, name: string, et: string, shape: number[], data: Uint8Array, rt?: string): string {
  const r = w.add(data);
  return layer(id, name, 'Const', 'opset1', {
    data: `element_type="${et}" shape="${shape.join(',')}" offset="${r.offset}" size="${r.size}"`,
    rt,
    outs: [port(0, PRECISION[et]!, shape, name)],
  });
}

export function param(id: number, name: string, et: string, dims: number[], shape = dims.join(',')): string {
  return layer(id, name, 'Parameter', 'opset1', { data: `shape="${shape}" element_type="${et}"`, outs: [port(0, PRECISION[et]!, dims, name)] });
}

export function result(id: number, name: string, precision: string, dims: number[]): string {
  return layer(id, name, 'Result', 'opset1', { ins: [port(0, precision, dims)] });
}

export function binary(id: number, name: string, type: string, a: number[], b: number[], out: number[], precision = 'FP32', names?: string): string {
  return layer(id, name, type, 'opset1', { data: 'auto_broadcast="numpy"', ins: [port(0, precision, a), port(1, precision, b)], outs: [port(2, precision, out, names)] });
}

export type Edge = readonly [number, number, number, number];

export function edgesText(edges: readonly Edge[], indent = '\t\t'): string {
  return edges.map((e) => `${indent}<edge from-layer="${e[0]}" from-port="${e[1]}" to-layer="${e[2]}" to-port="${e[3]}" />\n`).join('');
}

export function net(name: string, version: number, layers: string[], edges: readonly Edge[], tail = ''): string {
  return `<?xml version="1.0"?>\n<net name="${name}" version="${version}">\n\t<layers>\n${layers.join('')}\t</layers>\n\t<edges>\n${edgesText(edges)}\t</edges>\n${tail}</net>\n`;
}

/** A body (`<body>`, `<then_body>`...) indented as OpenVINO nests it in a layer. */
export function body(tag: string, layers: string[], edges: readonly Edge[]): string {
  const inner = layers.join('').replace(/^/gm, '\t\t').replace(/\t\t$/, '');
  return `\t\t\t<${tag}>\n\t\t\t\t<layers>\n${inner}\t\t\t\t</layers>\n\t\t\t\t<edges>\n${edgesText(edges, '\t\t\t\t\t')}\t\t\t\t</edges>\n\t\t\t</${tag}>\n`;
}

/**
 * A TensorIterator as Model Optimizer writes a recurrence: x [1, steps, 4]
 * sliced along axis 1, a body h = Squeeze(x[t]) * w_body + h (h a back edge,
 * from input 1; w_body the Const floats(4, 30)), each step's h concatenated
 * along axis 1 (output ti_y) and the last h (output ti_h). `slicing` holds
 * the start/end/stride/part_size attributes of the sliced input and output.
 */
export function recurrentTensorIterator(w: Weights, id: number, steps: number, slicing = 'start="0" end="-1" stride="1" part_size="1"'): string {
  const bodyLayers = [
    param(0, 'xi', 'f32', [1, 1, 4]),
    param(1, 'hi', 'f32', [1, 4]),
    constLayer(w, 2, 'sq_axis', 'i64', [1], int64s(1)),
    layer(3, 'sq', 'Squeeze', 'opset1', { ins: [port(0, 'FP32', [1, 1, 4]), port(1, 'I64', [1])], outs: [port(2, 'FP32', [1, 4])] }),
    constLayer(w, 4, 'w_body', 'f32', [1, 4], floats(4, 30)),
    binary(5, 'mulw', 'Multiply', [1, 4], [1, 4], [1, 4]),
    binary(6, 'addh', 'Add', [1, 4], [1, 4], [1, 4]),
    result(7, 'h_out', 'FP32', [1, 4]),
    constLayer(w, 8, 'unsq_axis', 'i64', [1], int64s(1)),
    layer(9, 'unsq', 'Unsqueeze', 'opset1', { ins: [port(0, 'FP32', [1, 4]), port(1, 'I64', [1])], outs: [port(2, 'FP32', [1, 1, 4])] }),
    result(10, 'y_out', 'FP32', [1, 1, 4]),
  ];
  const bodyEdges: Edge[] = [[0, 0, 3, 0], [2, 0, 3, 1], [3, 2, 5, 0], [4, 0, 5, 1], [5, 2, 6, 0], [1, 0, 6, 1], [6, 2, 7, 0], [6, 2, 9, 0], [8, 0, 9, 1], [9, 2, 10, 0]];
  return layer(id, 'ti', 'TensorIterator', 'opset1', {
    ins: [port(0, 'FP32', [1, steps, 4]), port(1, 'FP32', [1, 4])],
    outs: [port(2, 'FP32', [1, steps, 4], 'ti_y'), port(3, 'FP32', [1, 4], 'ti_h')],
    extra:
      `\t\t\t<port_map>\n\t\t\t\t<input axis="1" external_port_id="0" internal_layer_id="0" ${slicing} />\n` +
      '\t\t\t\t<input external_port_id="1" internal_layer_id="1" />\n' +
      `\t\t\t\t<output axis="1" external_port_id="2" internal_layer_id="10" ${slicing} />\n` +
      '\t\t\t\t<output external_port_id="3" internal_layer_id="7" />\n\t\t\t</port_map>\n' +
      '\t\t\t<back_edges>\n\t\t\t\t<edge from-layer="7" to-layer="1" />\n\t\t\t</back_edges>\n' +
      body('body', bodyLayers, bodyEdges),
  });
}

/** One branch of an If: its layers (Parameter 0 reads the layer's input 1), its edges and the id of its Result. */
export interface IfBranch {
  readonly layers: string[];
  readonly edges: readonly Edge[];
  readonly result: number;
}

/** An If-8 layer on (cond BOOL [], x FP32 `dims`) giving `if_out` FP32 `dims`: each branch takes x as its Parameter 0 and gives its Result. */
export function ifLayer(id: number, dims: number[], thenBranch: IfBranch, elseBranch: IfBranch): string {
  const map = (tag: string, b: IfBranch): string =>
    `\t\t\t<${tag}>\n\t\t\t\t<input external_port_id="1" internal_layer_id="0" />\n\t\t\t\t<output external_port_id="0" internal_layer_id="${b.result}" />\n\t\t\t</${tag}>\n`;
  return layer(id, 'if', 'If', 'opset8', {
    ins: [port(0, 'BOOL', []), port(1, 'FP32', dims)],
    outs: [port(2, 'FP32', dims, 'if_out')],
    extra: map('then_port_map', thenBranch) + map('else_port_map', elseBranch) + body('then_body', thenBranch.layers, thenBranch.edges) + body('else_body', elseBranch.layers, elseBranch.edges),
  });
}
