import { ActionError } from '../errors';
import { fillDeclaredShapes } from '../formats/onnx/shapes';
import { declaredBounds, declaredLayout } from '../formats/openvino/native';
import { propagateStaticShapes as carryOpenvinoShapes } from '../formats/openvino/shapes';
import { propagateStaticShapes as carryTfliteShapes } from '../formats/tflite/shapes';
import type { Dim, Graph, Node, Shape, Value } from '../ir/graph';
import type { FormatId } from '../ir/model';
import type { ActionDefinition } from '../rewrite/actions';

/** A parameter of fix-shape that cannot be applied to this model (unknown input, wrong rank, clash with a fixed size). */
export class FixShapeError extends ActionError {}

/**
 * `fix-shape`: makes dynamic dimensions fixed (seed slides 41-47: initialise
 * the batch size, fix height and width). Parameters:
 * - `batch: 1` sets dimension 0 of every graph input of rank >= 1 where it is
 *   dynamic (a fixed dimension 0, e.g. an RNN state [2, B, 128], is not a batch);
 * - `inputs: {x: [1, 3, 224, 224]}` sets the whole shape of named inputs;
 * - `dims: {N: 1}` sets a named (symbolic) dimension wherever it appears;
 * - `image: {height: 480, width: 640}` sets the height and width of every
 *   image input (rank 4), wherever its layout puts them: NHWC in TFLite, the
 *   layout an IR Parameter declares, else NHWC where only the last dimension
 *   is a channel count (1 to 4) and NCHW otherwise (`layout:` decides instead).
 * A symbolic dimension replaced at an input (e.g. `N` by the batch) is replaced
 * in every declared shape of the model that names it, so value_info and graph
 * outputs follow. Sizes that then follow from fixed ones through the
 * operators recipe can compute shapes of are filled in too: in ONNX, declared
 * shapes whose open dimensions have names of their own (tf2onnx's `unk__315`)
 * or none; in TFLite, whose unknown sizes never have names, and in OpenVINO
 * IR, whose ports all declare sizes, every tensor. A size outside the bounds
 * an IR Parameter declares (`1..100`) is refused.
 */
export const fixShapeAction: ActionDefinition = {
  name: 'fix-shape',
  description: 'Fixes dynamic input dimensions (batch, or whole input shapes, or named dimensions) and propagates named dimensions to every declared shape.',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      batch: { type: 'integer', minimum: 1, description: 'Size of dimension 0 of every graph input where that dimension is dynamic.' },
      inputs: { type: 'object', description: 'Full shapes of named graph inputs, e.g. {x: [1, 3, 224, 224]}.' },
      dims: { type: 'object', description: 'Sizes of named (symbolic) dimensions, e.g. {N: 1, height: 480}.' },
      image: {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        description: 'Height and width of every rank-4 input, found by its layout, e.g. {height: 480, width: 640}.',
        properties: {
          height: { type: 'integer', minimum: 1 },
          width: { type: 'integer', minimum: 1 },
          layout: { enum: ['NCHW', 'NHWC'], description: 'Where height and width are, instead of what the model says or suggests.' },
        },
      },
    },
  },
  run(model, params) {
    const graph = model.graph;
    const named = new Map<string, number>();
    let changes = 0;
    for (const [name, size] of Object.entries((params.dims ?? {}) as Record<string, unknown>)) {
      named.set(name, checkSize(size, `dims.${name}`));
    }
    const setDim = (shape: Shape, i: number, size: number, where: string): Shape => {
      const d = shape[i];
      if (typeof d === 'number') {
        if (d !== size) throw new FixShapeError(`fix-shape: ${where} has the fixed size ${d}, not ${size}`);
        return shape;
      }
      if (typeof d === 'string') {
        const earlier = named.get(d);
        if (earlier !== undefined && earlier !== size) throw new FixShapeError(`fix-shape: dimension '${d}' is set to both ${earlier} and ${size}`);
        named.set(d, size);
      }
      changes++;
      return shape.map((x, k) => (k === i ? size : x));
    };
    if (params.batch !== undefined) {
      const batch = checkSize(params.batch, 'batch');
      for (const v of graph.inputs) {
        if (v.const || !v.shape || v.shape.length === 0 || typeof v.shape[0] === 'number') continue;
        v.shape = setDim(v.shape, 0, batch, `dimension 0 of input '${v.name}'`);
      }
    }
    const inputs = (params.inputs ?? {}) as Record<string, unknown>;
    for (const [name, wanted] of Object.entries(inputs)) {
      const v = graph.inputs.find((x) => x.name === name);
      if (!v) throw new FixShapeError(`fix-shape: the model has no input '${name}' (inputs: ${graph.inputs.filter((x) => !x.const).map((x) => x.name).join(', ')})`);
      if (!Array.isArray(wanted)) throw new FixShapeError(`fix-shape: inputs.${name} must be a list of sizes`);
      const sizes = wanted.map((s, i) => checkSize(s, `inputs.${name}[${i}]`));
      let shape: Shape = v.shape ?? sizes.map(() => null);
      if (shape.length !== sizes.length) throw new FixShapeError(`fix-shape: input '${name}' has rank ${shape.length}, the shape given has ${sizes.length} dimensions`);
      sizes.forEach((s, i) => {
        shape = setDim(shape, i, s, `dimension ${i} of input '${name}'`);
      });
      v.shape = shape;
    }
    const image = params.image as { height?: unknown; width?: unknown; layout?: 'NCHW' | 'NHWC' } | undefined;
    const layouts: string[] = [];
    if (image !== undefined) {
      const height = image.height === undefined ? undefined : checkSize(image.height, 'image.height');
      const width = image.width === undefined ? undefined : checkSize(image.width, 'image.width');
      const images = graph.inputs.filter((v) => !v.const && v.shape?.length === 4);
      if (images.length === 0) {
        const ranks = graph.inputs.filter((v) => !v.const).map((v) => `${v.name} (rank ${v.shape?.length ?? 'unknown'})`);
        throw new FixShapeError(`fix-shape: image needs an input of rank 4, and the model has none (inputs: ${ranks.join(', ')}); give its shape with inputs: instead`);
      }
      for (const v of images) {
        const layout = image.layout ?? imageLayout(model.format, v);
        const [h, w] = layout === 'NHWC' ? [1, 2] : [2, 3];
        layouts.push(`${v.name} ${layout}`);
        if (height !== undefined) v.shape = setDim(v.shape!, h, height, `the height (dimension ${h}, ${layout}) of input '${v.name}'`);
        if (width !== undefined) v.shape = setDim(v.shape!, w, width, `the width (dimension ${w}, ${layout}) of input '${v.name}'`);
      }
    }
    if (named.size > 0) changes += propagate(model.allGraphs(), named);
    if (model.format === 'openvino') for (const v of graph.inputs) checkBounds(v);
    if (changes === 0) return { changes, summary: 'no dynamic dimension to fix' };
    let summary = `fixed ${changes} dimension(s)${named.size ? ` (${[...named].map(([k, s]) => `${k}=${s}`).join(', ')})` : ''}`;
    if (layouts.length) summary += `; image input(s) ${layouts.join(', ')}`;
    if (model.format === 'onnx') {
      // Exporters such as tf2onnx name each tensor's open dimensions apart: carry sizes through the operators.
      const opset = model.opsetVersion('') ?? 1;
      let filled = 0;
      for (const g of model.allGraphs()) filled += fillDeclaredShapes(g, opset);
      changes += filled;
      if (filled) summary += `; ${filled} declared shape(s) follow`;
    }
    const carry = model.format === 'tflite' ? carryTfliteShapes : model.format === 'openvino' ? carryOpenvinoShapes : undefined;
    if (carry) {
      // TFLite's unknown sizes have no names to follow, nor the -1 ports of an IR: carry the fixed sizes through the layers.
      let filled = 0;
      let stuck: Node | undefined;
      // Each top-level graph: TFLite's subgraphs are all top-level, and the IR's propagation carries its bodies itself.
      for (const g of model.graphs) {
        const r = carry(g);
        filled += r.filled;
        stuck ??= r.stuck[0];
      }
      changes += filled;
      if (filled) summary += `; ${filled} tensor shape(s) follow`;
      if (stuck) summary += `; sizes stop at ${stuck.op} '${stuck.name}' (recipe cannot compute its output shape)`;
    }
    return { changes, summary };
  },
};

/**
 * Where an image input's height and width are: TFLite convolutions are NHWC;
 * an IR Parameter may declare its layout; otherwise the dimensions say it,
 * when exactly one of dimensions 1 and 3 is a channel count (a fixed 1 to 4),
 * and NCHW (PyTorch's and OpenVINO's order) when they do not.
 */
function imageLayout(format: FormatId, v: Value): 'NCHW' | 'NHWC' {
  if (format === 'tflite') return 'NHWC';
  const declared = format === 'openvino' ? declaredLayout(v) : undefined;
  if (declared?.length === 4 && declared.indexOf('H') === 1 && declared.indexOf('W') === 2) return 'NHWC';
  if (declared?.length === 4 && declared.indexOf('H') === 2 && declared.indexOf('W') === 3) return 'NCHW';
  const channels = (d: Dim | undefined): boolean => typeof d === 'number' && d >= 1 && d <= 4;
  const shape = v.shape!;
  return channels(shape[3]) && !channels(shape[1]) ? 'NHWC' : 'NCHW';
}

/** An IR Parameter's sizes must lie within the bounds it declares (`1..100`): the model was made for those (OpenVINO refuses it other sizes). */
function checkBounds(v: Value): void {
  const bounds = declaredBounds(v);
  v.shape?.forEach((d, i) => {
    const b = bounds?.[i];
    if (b && typeof d === 'number' && (d < b[0] || d > b[1])) {
      throw new FixShapeError(`fix-shape: dimension ${i} of input '${v.name}' is declared ${b[0]}..${b[1] === Infinity ? '' : b[1]}, and ${d} lies outside`);
    }
  });
}

function checkSize(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new FixShapeError(`fix-shape: ${where} must be a positive integer, got ${JSON.stringify(value)}`);
  return value;
}

/** Replaces named dimensions in every declared shape; returns how many dimensions changed. */
function propagate(graphs: Iterable<Graph>, named: ReadonlyMap<string, number>): number {
  let changes = 0;
  for (const g of graphs) {
    for (const v of g.values) {
      if (!v.shape || !v.shape.some((d) => typeof d === 'string' && named.has(d))) continue;
      v.shape = v.shape.map((d): Dim => {
        if (typeof d === 'string' && named.has(d)) {
          changes++;
          return named.get(d)!;
        }
        return d;
      });
    }
  }
  return changes;
}
