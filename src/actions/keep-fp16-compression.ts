import { attr } from '../ir/attr';
import type { Graph, Value } from '../ir/graph';
import { Tensor, fromFloat16Bits, toFloat16Bits } from '../ir/tensor';
import { FORMAT_OPS } from '../pattern/ops';
import type { ActionDefinition } from '../rewrite/actions';

/**
 * `keep-fp16-compression`: OpenVINO saves IR with its float weights stored as
 * float16 and widened on load by a Convert (its default since 2023.1). A rule
 * that computes new constants from such weights (the filter slices of a
 * grouped convolution split) makes float32 ones, and the rewritten model
 * grows. This action stores those new float32 constants the way the model
 * stores its weights again, a float16 Const read through a Convert to f32,
 * when every value is exactly a float16 value, so that nothing changes but
 * the size. Only constants made by the rewrite are touched (those the file
 * held keep their records): a model no rule changed is written back as it was.
 */
export const keepFp16CompressionAction: ActionDefinition = {
  name: 'keep-fp16-compression',
  description:
    'In an OpenVINO IR with FP16-compressed weights, stores the float32 constants a rewrite made as float16 + Convert, where that is exact.',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      'min-elements': { type: 'integer', minimum: 1, description: 'Smallest constant to store as float16 (default 2: scalars stay float32).' },
    },
  },
  run(model, params) {
    if (model.format !== 'openvino') return { changes: 0, summary: 'not an OpenVINO model' };
    const minElements = typeof params['min-elements'] === 'number' ? params['min-elements'] : 2;
    const graphs = [...model.allGraphs()];
    if (!graphs.some(hasCompressedWeights)) return { changes: 0, summary: 'the model has no FP16-compressed weights' };
    let changes = 0;
    for (const g of graphs) {
      for (const v of [...g.constants]) {
        if (v.native !== undefined || v.const?.dtype !== 'float32' || v.const.size < minElements || v.useCount === 0) continue;
        // A graph output keeps its name and type: the model's interface does not change.
        if (v.isGraphOutput || v.uses.every((u) => u.node.op === 'Convert')) continue;
        const halves = exactHalves(v.const);
        if (!halves) continue;
        compress(g, v, halves);
        changes++;
      }
    }
    return { changes, summary: changes ? `stored ${changes} new constant(s) as float16 + Convert` : 'no new float32 constant is exactly float16' };
  },
};

/** Whether the graph reads a float16 constant widened to f32 (the matcher's notion of it): the FP16 compression OpenVINO writes. */
function hasCompressedWeights(g: Graph): boolean {
  const ops = FORMAT_OPS.openvino;
  return g.nodes.some((n) => ops.widening.has(n.op) && n.input(0)?.const?.dtype === 'float16' && ops.widenedTo(n, 'float16') === 'float32');
}

/** The float16 bits of every element, when every element is exactly a float16 value; else undefined. */
function exactHalves(t: Tensor): Uint16Array | undefined {
  const values = t.toFloat64();
  const halves = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const bits = toFloat16Bits(values[i]!);
    if (fromFloat16Bits(bits) !== values[i]) return undefined;
    halves[i] = bits;
  }
  return halves;
}

/** Replaces constant `v` by a float16 constant and a Convert to f32 that every reader of `v` reads instead. */
function compress(g: Graph, v: Value, halves: Uint16Array): void {
  const shape = [...v.const!.shape];
  const narrow = g.addConstant(g.uniqueName(`${v.name}_compressed`), Tensor.from('float16', shape, Array.from(halves, fromFloat16Bits)));
  const convert = g.addNode({
    op: 'Convert',
    domain: 'opset1',
    name: g.uniqueName(`${v.name}/decompress`),
    inputs: [narrow],
    outputs: [g.uniqueName(`${v.name}/decompressed`)],
    attrs: { destination_type: attr.string('f32') },
  });
  const wide = convert.output(0);
  wide.dtype = 'float32';
  wide.shape = shape;
  v.replaceAllUsesWith(wide);
  g.removeValue(v);
}
