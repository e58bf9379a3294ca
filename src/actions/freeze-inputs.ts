import { ActionError } from '../errors';
import { isFloat, type DType } from '../ir/dtype';
import type { Value } from '../ir/graph';
import { replaceWithConstant } from '../ir/passes';
import { Tensor } from '../ir/tensor';
import { dropSignatureInput } from '../formats/tflite/native';
import type { ActionDefinition } from '../rewrite/actions';

/**
 * The model metadata that keeps what each frozen input was frozen to (JSON:
 * `{"sr": {"dtype": "int64", "shape": [], "values": [16000]}}`): a reader of
 * the model learns it, and `recipe verify` feeds the original those values.
 */
export const FROZEN_INPUTS_METADATA_KEY = 'recipe.frozen_inputs';

/** One entry of `recipe.frozen_inputs`. */
export interface FrozenInput {
  dtype: DType;
  shape: number[];
  values: (number | boolean)[];
}

/** A freeze-inputs parameter that does not fit the model (an unknown input, a value of the wrong shape or kind). */
export class FreezeInputsError extends ActionError {}

/**
 * `freeze-inputs`: graph inputs a deployment always feeds the same value (a
 * sample rate, a fixed threshold, a mode flag) become constants. What depends
 * on them can then fold: Silero VAD picks its 8 or 16 kHz branch with an If
 * on its `sr` input, and once `sr` is 16000, fold-shapes keeps the one branch.
 * Parameters:
 * - `values: {sr: 16000, scale: [0.5, 0.5]}`: each input's value, a number
 *   (or bool) or a nested list. The constant takes the input's dtype and its
 *   declared shape when that is fixed (a single number fills it), else the
 *   list's shape, which must fit the declared one.
 * The input leaves the model's interface; its name now names the constant.
 */
export const freezeInputsAction: ActionDefinition = {
  name: 'freeze-inputs',
  description: 'Makes graph inputs constants of the given values, so that what depends on them can fold.',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['values'],
    properties: {
      values: { type: 'object', minProperties: 1, description: 'The value of each input to freeze, by name: a number, a bool, or a nested list, e.g. {sr: 16000}.' },
    },
  },
  run(model, params) {
    const graph = model.graph;
    const frozen: string[] = [];
    const recorded = frozenInputsOf(model.getMetadata(FROZEN_INPUTS_METADATA_KEY));
    for (const [name, raw] of Object.entries(params.values as Record<string, unknown>)) {
      const input = graph.inputs.find((v) => v.name === name && !v.const);
      if (!input) {
        const names = graph.inputs.filter((v) => !v.const).map((v) => v.name);
        throw new FreezeInputsError(`freeze-inputs: the model has no input '${name}' (inputs: ${names.join(', ') || 'none'})`);
      }
      const { tensor, elements } = frozenTensor(input, raw);
      const position = graph.inputs.indexOf(input);
      recorded[name] = { dtype: tensor.dtype, shape: [...tensor.shape], values: elements };
      replaceWithConstant(input, tensor, 'frozen');
      graph.inputs = graph.inputs.filter((v) => v !== input);
      // A TFLite signature names its subgraph's inputs: the frozen one leaves it.
      if (model.format === 'tflite') dropSignatureInput(model, graph, input, position);
      graph.removeValue(input);
      frozen.push(`${name} = ${describe(raw)}`);
    }
    model.setMetadata(FROZEN_INPUTS_METADATA_KEY, JSON.stringify(recorded));
    return { changes: frozen.length, summary: `froze ${frozen.join(', ')}` };
  },
};

/** The constant an input is frozen to: its dtype, its declared shape where fixed. */
function frozenTensor(input: Value, raw: unknown): { tensor: Tensor; elements: (number | boolean)[] } {
  const where = `the value of input '${input.name}'`;
  const dtype = input.dtype;
  if (!dtype) throw new FreezeInputsError(`freeze-inputs: input '${input.name}' declares no element type`);
  const { shape, elements } = nested(raw, where);
  if (dtype === 'string') throw new FreezeInputsError(`freeze-inputs: input '${input.name}' holds strings, which cannot be frozen`);
  for (const x of elements) {
    if (typeof x === 'boolean' && dtype !== 'bool') throw new FreezeInputsError(`freeze-inputs: ${where} holds a bool, the input is ${dtype}`);
    if (typeof x === 'number' && dtype === 'bool' && x !== 0 && x !== 1) throw new FreezeInputsError(`freeze-inputs: ${where} holds ${x}, the input is bool`);
    if (typeof x === 'number' && !isFloat(dtype) && !Number.isInteger(x)) throw new FreezeInputsError(`freeze-inputs: ${where} holds ${x}, the input is ${dtype}`);
  }
  const declared = input.shape;
  let target = shape;
  if (declared) {
    const fixed = declared.every((d) => typeof d === 'number');
    const count = (s: readonly unknown[]): number => s.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);
    if (fixed && (count(declared) === elements.length || shape.length === 0)) target = declared as number[];
    else if (declared.length !== shape.length || declared.some((d, i) => typeof d === 'number' && d !== shape[i])) {
      throw new FreezeInputsError(`freeze-inputs: ${where} has the shape [${shape.join(', ')}], the input is declared [${declared.map((d) => d ?? '?').join(', ')}]`);
    }
  }
  return { tensor: Tensor.from(dtype, target, filled(elements, target)), elements };
}

/** The elements as numbers, one repeated over the whole shape when it is one (a single number fills an input). */
export function filled(elements: readonly (number | boolean)[], shape: readonly number[]): number[] {
  const numbers = elements.map((x) => (typeof x === 'boolean' ? (x ? 1 : 0) : x));
  const count = shape.reduce((a, b) => a * b, 1);
  return numbers.length === 1 && count !== 1 ? new Array<number>(count).fill(numbers[0]!) : numbers;
}

/** The shape and row-major elements of a number, a bool or a rectangular nested list of them. */
function nested(raw: unknown, where: string): { shape: number[]; elements: (number | boolean)[] } {
  if (typeof raw === 'number' || typeof raw === 'boolean') return { shape: [], elements: [raw] };
  if (!Array.isArray(raw) || raw.length === 0) throw new FreezeInputsError(`freeze-inputs: ${where} must be a number, a bool or a non-empty list of them, got ${JSON.stringify(raw)}`);
  const items = raw.map((x) => nested(x, where));
  const inner = items[0]!.shape;
  if (items.some((it) => it.shape.length !== inner.length || it.shape.some((d, i) => d !== inner[i]))) {
    throw new FreezeInputsError(`freeze-inputs: ${where} is not rectangular: its rows differ in length`);
  }
  return { shape: [raw.length, ...inner], elements: items.flatMap((it) => it.elements) };
}

function describe(raw: unknown): string {
  const text = JSON.stringify(raw);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** The frozen inputs a model's metadata records (an earlier run's too); none when absent or not ours. */
export function frozenInputsOf(text: string | undefined): Record<string, FrozenInput> {
  if (!text) return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, FrozenInput>;
  } catch {
    // Damaged or someone else's: start afresh rather than fail the run.
  }
  return {};
}
