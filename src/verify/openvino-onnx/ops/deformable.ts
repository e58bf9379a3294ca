/**
 * DeformableConvolution-1 and -8 (2D, with the optional modulation mask of
 * -8) translated to ONNX as OpenVINO's reference implementation computes
 * them: every input channel is sampled bilinearly at the kernel positions
 * moved by the offsets (GatherElements on the flattened image, four corners
 * each), and the samples are convolved with the filters by a grouped 1x1 Conv.
 *
 * ONNX's DeformConv (opset 19; onnxruntime runs it) would do for
 * bilinear_interpolation_pad=true, but the translation emits opset 17, and
 * the default (false) samples differently anyway: a position is used only
 * when 0 <= y < H and 0 <= x < W, and one between the last row or column
 * and the edge reads that row or column, not zeros beyond it.
 */
import { codeOfDtype } from '../../../formats/onnx/schema';
import type { Node, Value } from '../../../ir/graph';
import { registerTranslators, type Translation } from '../translation';
import { autoPadMode, samePads } from './common';

/** Where the kernel sits over the image: the sizes of the kernel and the output, and the attributes placing the kernel. */
interface Geometry {
  kernel: [number, number];
  output: [number, number];
  strides: number[];
  dilations: number[];
  padsBegin: number[];
}

/** A pair of `name` (2 values), `fallback` when absent. */
function pairAttr(node: Node, t: Translation, name: string, fallback: number): number[] {
  const values = t.ints(node, name) ?? [fallback, fallback];
  if (values.length !== 2) t.fail(node, `${name} needs 2 values (the translation is of 2D deformable convolutions)`);
  return values;
}

/**
 * pads_begin and pads_end as the layer's auto_pad sets them: `explicit` (the
 * default) reads them, `valid` pads nothing, `same_upper`/`same_lower` pad to
 * an output of ceil(size / stride), the odd pixel at the end or the beginning.
 */
function padding(node: Node, t: Translation, size: number[], kernel: number[], strides: number[], dilations: number[]): { begin: number[]; end: number[] } {
  const mode = autoPadMode(node, t);
  if (mode === 'explicit') return { begin: pairAttr(node, t, 'pads_begin', 0), end: pairAttr(node, t, 'pads_end', 0) };
  if (mode === 'valid') return { begin: [0, 0], end: [0, 0] };
  const pads = size.map((s, i) => samePads(mode, s, strides[i]!, (kernel[i]! - 1) * dilations[i]! + 1));
  return { begin: pads.map((p) => p[0]), end: pads.map((p) => p[1]) };
}

/** The sampling positions before the offsets move them, [kernel positions * output pixels], kernel-major (the offsets' order). */
function kernelPositions(g: Geometry, axis: 0 | 1): number[] {
  const [kh, kw] = g.kernel;
  const [oh, ow] = g.output;
  const out: number[] = [];
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) {
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          out.push(axis === 0 ? oy * g.strides[0]! - g.padsBegin[0]! + ky * g.dilations[0]! : ox * g.strides[1]! - g.padsBegin[1]! + kx * g.dilations[1]!);
        }
      }
    }
  }
  return out;
}

/**
 * The two neighbours of sampling coordinates `pos` along an axis of `size`
 * pixels, floor(pos) and floor(pos) + 1, as indices clipped to the image
 * (safe to gather with), their bilinear weights, and with `zeroPadded`
 * (bilinear_interpolation_pad) whether each is inside the image: one outside
 * reads zero. Without, the clipping is the reference's: the upper neighbour
 * of a position past the last pixel is the last pixel, min(ceil(pos), size - 1).
 */
function neighbours(t: Translation, pos: Value, size: number, zeroPadded: boolean): { index: [Value, Value]; weight: [Value, Value]; inside: [Value, Value] | undefined } {
  const low = t.add1('Floor', [pos]);
  const high = t.add1('Add', [low, t.scalar('float32', 1)]);
  const fraction = t.add1('Sub', [pos, low]);
  // Clipped before the cast: an offset far outside the image must not overflow int64.
  const asIndex = (v: Value): Value => t.add1('Cast', [t.add1('Clip', [v, t.scalar('float32', 0), t.scalar('float32', size - 1)])], { to: 7 });
  const inside: [Value, Value] | undefined = zeroPadded
    ? [t.add1('GreaterOrEqual', [low, t.scalar('float32', 0)]), t.add1('Less', [high, t.scalar('float32', size)])]
    : undefined;
  return { index: [asIndex(low), asIndex(high)], weight: [t.add1('Sub', [t.scalar('float32', 1), fraction]), fraction], inside };
}

/** Whether sampling coordinates `pos` on an axis of `size` pixels are used at all (the reference's test before interpolating). */
function usedPositions(t: Translation, pos: Value, size: number, zeroPadded: boolean): Value {
  // With the zero padding: int(pos) > -1 and int(pos) < size, int() truncating, i.e. -1 < pos < size.
  const above = zeroPadded ? t.add1('Greater', [pos, t.scalar('float32', -1)]) : t.add1('GreaterOrEqual', [pos, t.scalar('float32', 0)]);
  return t.add1('And', [above, t.add1('Less', [pos, t.scalar('float32', size)])]);
}

function deformableConvolution(node: Node, t: Translation): Value[] {
  if (node.domain !== 'opset1' && node.domain !== 'opset8') t.fail(node, `DeformableConvolution of ${node.domain || 'no opset'} is not translated (opset1 and opset8 are)`);
  const dtype = t.inputDType(node, 0);
  if (dtype !== 'float32' && dtype !== 'float16') t.fail(node, `element type ${dtype ?? 'undeclared'} is not translated (f32 is, and f16 computed in f32)`);
  if (t.inputRank(node, 0) !== 4) t.fail(node, 'input 0 must have rank 4 (the translation is of 2D deformable convolutions)');
  const [, channels, height, width] = t.spatialShape(node, 0) as [number, number, number, number];
  const filterShape = t.knownShape(node, 2);
  if (!filterShape) t.fail(node, 'the filters (input 2) need a static shape for this translation');
  if (filterShape.length !== 4) t.fail(node, 'the filters (input 2) must have rank 4');
  const [outChannels, groupChannels, kh, kw] = filterShape as [number, number, number, number];
  const groups = t.int(node, 'group') ?? 1;
  const deformableGroups = t.int(node, 'deformable_group') ?? 1;
  if (groups < 1 || deformableGroups < 1) t.fail(node, `group (${groups}) and deformable_group (${deformableGroups}) must be positive`);
  const allChannels = groupChannels * groups;
  if (channels !== -1 && channels !== allChannels) t.fail(node, `input 0 has ${channels} channels and the filters with group ${groups} take ${allChannels}`);
  if (outChannels % groups !== 0) t.fail(node, `the ${outChannels} output channels do not split into group=${groups}`);
  if (allChannels % deformableGroups !== 0) t.fail(node, `the ${allChannels} input channels do not split into deformable_group=${deformableGroups}`);

  const strides = pairAttr(node, t, 'strides', 1);
  const dilations = pairAttr(node, t, 'dilations', 1);
  if ([...strides, ...dilations].some((v) => v < 1)) t.fail(node, 'strides and dilations must be positive');
  const pads = padding(node, t, [height, width], [kh, kw], strides, dilations);
  const output = [height, width].map((size, i) => Math.floor((size + pads.begin[i]! + pads.end[i]! - ((i === 0 ? kh : kw) - 1) * dilations[i]! - 1) / strides[i]!) + 1) as [number, number];
  if (output[0] < 1 || output[1] < 1) t.fail(node, `the output would be ${output.join('x')} pixels`);
  const g: Geometry = { kernel: [kh, kw], output, strides, dilations, padsBegin: pads.begin };
  const kernelSize = kh * kw;
  const checkSpatial = (i: number, what: string, perGroup: number): void => {
    const shape = t.inputShape(node, i);
    const expected = [deformableGroups * perGroup, ...output];
    if (shape && shape.length === 4 && shape.slice(1).some((d, j) => typeof d === 'number' && d !== expected[j])) {
      t.fail(node, `input ${i} (${what}) is [${shape.slice(1).join(', ')}] per image and the attributes give [${expected.join(', ')}]`);
    }
  };
  checkSpatial(1, 'offsets', 2 * kernelSize);
  const declared = t.outputShape(node, 0);
  if (declared && declared.length === 4 && declared.slice(2).some((d, j) => typeof d === 'number' && d !== output[j])) {
    t.fail(node, `the layer declares an output of ${declared.slice(2).join('x')} pixels and the attributes give ${output.join('x')}`);
  }
  const zeroPadded = node.domain === 'opset8' ? (t.bool(node, 'bilinear_interpolation_pad') ?? false) : false;
  const hasMask = node.domain === 'opset8' && Boolean(node.inputs[3]);
  if (hasMask) checkSpatial(3, 'mask', kernelSize);

  const inF32 = (v: Value): Value => (dtype === 'float32' ? v : t.add1('Cast', [v], { to: 1 }));
  const samples = kernelSize * output[0] * output[1];
  const perDeformableGroup = allChannels / deformableGroups;
  // [N, DG, 1, samples]: one row of sampling coordinates per deformable group, broadcast over its channels.
  const [offsetY, offsetX] = t.add('Split', [t.add1('Reshape', [inF32(t.input(node, 1)), t.int64s([0, deformableGroups, kernelSize, 2, output[0] * output[1]])])], { axis: 3 }, 2);
  const rows = (v: Value): Value => t.add1('Reshape', [v, t.int64s([0, deformableGroups, 1, samples])]);
  const y = t.add1('Add', [rows(offsetY!), t.constant('float32', [samples], kernelPositions(g, 0))]);
  const x = t.add1('Add', [rows(offsetX!), t.constant('float32', [samples], kernelPositions(g, 1))]);

  const image = t.add1('Reshape', [inF32(t.input(node, 0)), t.int64s([0, deformableGroups, perDeformableGroup, height * width])]);
  const ys = neighbours(t, y, height, zeroPadded);
  const xs = neighbours(t, x, width, zeroPadded);
  // The reference's sum: (y0, x0), (y1, x0), (y0, x1), (y1, x1), each weighted (x weight) * (y weight).
  let interpolated: Value | undefined;
  for (const [xi, yi] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) {
    const flat = t.add1('Add', [t.add1('Mul', [ys.index[yi], t.scalar('int64', width)]), xs.index[xi]]);
    let pixel = t.add1('GatherElements', [image, t.add1('Expand', [flat, t.int64s([1, 1, perDeformableGroup, 1])])], { axis: 3 });
    if (ys.inside && xs.inside) pixel = t.add1('Where', [t.add1('And', [ys.inside[yi], xs.inside[xi]]), pixel, t.scalar('float32', 0)]);
    const term = t.add1('Mul', [t.add1('Mul', [xs.weight[xi], ys.weight[yi]]), pixel]);
    interpolated = interpolated ? t.add1('Add', [interpolated, term]) : term;
  }
  let sampled = interpolated!;
  if (hasMask) sampled = t.add1('Mul', [sampled, rows(inF32(t.input(node, 3)))]);
  const used = t.add1('And', [usedPositions(t, y, height, zeroPadded), usedPositions(t, x, width, zeroPadded)]);
  sampled = t.add1('Where', [used, sampled, t.scalar('float32', 0)]);

  // [N, C * KH * KW, OH, OW], channel-major like the filters' [C / group, KH, KW]: a 1x1 grouped convolution sums them.
  const columns = t.add1('Reshape', [sampled, t.int64s([0, allChannels * kernelSize, ...output])]);
  const filters = t.add1('Reshape', [inF32(t.input(node, 2)), t.int64s([outChannels, groupChannels * kernelSize, 1, 1])]);
  const result = t.add1('Conv', [columns, filters], { group: groups });
  return [dtype === 'float32' ? result : t.add1('Cast', [result], { to: codeOfDtype(dtype)! })];
}

registerTranslators({ DeformableConvolution: deformableConvolution });
