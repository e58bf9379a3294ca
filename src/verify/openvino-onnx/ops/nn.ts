/**
 * Neural-network OpenVINO ops: convolutions, pooling, MatMul, normalizations,
 * softmax, reductions.
 */
import type { Node } from '../../../ir/graph';
import { registerTranslators, type Translation } from '../translation';

/**
 * ONNX pads and auto_pad for an OpenVINO convolution or pooling layer:
 * `explicit` (the default) uses pads_begin/pads_end; `valid` pads nothing;
 * `same_upper`/`same_lower` are ONNX's SAME_UPPER/SAME_LOWER.
 */
function convPadding(node: Node, t: Translation, spatial: number): { pads?: number[]; auto_pad?: string } {
  const mode = (t.str(node, 'auto_pad') ?? 'explicit').trim().toLowerCase();
  if (mode === 'valid') return { pads: new Array<number>(2 * spatial).fill(0) };
  if (mode === 'same_upper') return { auto_pad: 'SAME_UPPER' };
  if (mode === 'same_lower') return { auto_pad: 'SAME_LOWER' };
  if (mode !== 'explicit' && mode !== 'notset') t.fail(node, `auto_pad="${mode}" is not translated`);
  const begin = t.ints(node, 'pads_begin') ?? new Array<number>(spatial).fill(0);
  const end = t.ints(node, 'pads_end') ?? new Array<number>(spatial).fill(0);
  if (begin.length !== spatial || end.length !== spatial) t.fail(node, `pads_begin/pads_end need ${spatial} values each`);
  return { pads: [...begin, ...end] };
}

function spatialAttrs(node: Node, t: Translation, spatial: number): { strides: number[]; dilations: number[] } {
  const strides = t.ints(node, 'strides') ?? new Array<number>(spatial).fill(1);
  const dilations = t.ints(node, 'dilations') ?? new Array<number>(spatial).fill(1);
  if (strides.length !== spatial || dilations.length !== spatial) t.fail(node, `strides/dilations need ${spatial} values each`);
  return { strides, dilations };
}

registerTranslators({
  // Weights [C_out, C_in, k...], as ONNX's.
  Convolution: (node, t) => {
    const spatial = t.requireRank(node, 1) - 2;
    return [t.add1('Conv', [t.input(node, 0), t.input(node, 1)], { ...spatialAttrs(node, t, spatial), ...convPadding(node, t, spatial) })];
  },
  // Weights [G, C_out/G, C_in/G, k...]; ONNX wants [C_out, C_in/G, k...] and group=G.
  GroupConvolution: (node, t) => {
    const dims = t.staticShape(node, 1);
    const spatial = dims.length - 3;
    const groups = dims[0]!;
    const w = t.add1('Reshape', [t.input(node, 1), t.int64s([groups * dims[1]!, ...dims.slice(2)])]);
    return [t.add1('Conv', [t.input(node, 0), w], { group: groups, ...spatialAttrs(node, t, spatial), ...convPadding(node, t, spatial) })];
  },
});
