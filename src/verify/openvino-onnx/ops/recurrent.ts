/**
 * Recurrent OpenVINO ops: the *Sequence ops and their single-step *Cell forms,
 * as ONNX LSTM / GRU / RNN (opset 14 forms).
 *
 * What differs between the two specifications, and how it is bridged:
 * - layouts: OpenVINO is batch-major (X [batch, seq, input], states
 *   [batch, num_directions, hidden], Y [batch, num_directions, seq, hidden]),
 *   ONNX's layout 0 is sequence-major (X [seq, batch, input], states
 *   [num_directions, batch, hidden], Y [seq, num_directions, batch, hidden]):
 *   Transposes around the node (onnxruntime refuses layout=1);
 * - gate order: OpenVINO's LSTM weights are f,i,c,o, ONNX's i,o,f,c; GRU is
 *   z,r,h in both;
 * - biases: OpenVINO gives one bias per gate, the sum of the input and the
 *   recurrence biases (with GRU's linear_before_reset, the h gate's two apart:
 *   [z, r, Wbh, Rbh]); ONNX wants [Wb..., Rb...]: the sums go to Wb, zeros to
 *   Rb, and linear_before_reset's Rbh to its place in Rb;
 * - a Cell is a one-step sequence: its inputs get a leading axis of 1, which
 *   for X [batch, input] is already ONNX's [seq=1, batch, input].
 * Constant weights and biases are reordered here (new initializers); others
 * by a Gather.
 */
import { attr } from '../../../ir/attr';
import type { Node, Value } from '../../../ir/graph';
import { registerTranslators, type AttrInput, type Translation } from '../translation';

type Kind = 'LSTM' | 'GRU' | 'RNN';

/** Gates per kind, and how many activations the kind takes. */
const GATES: Readonly<Record<Kind, number>> = { LSTM: 4, GRU: 3, RNN: 1 };
const ACTIVATIONS: Readonly<Record<Kind, string[]>> = { LSTM: ['sigmoid', 'tanh', 'tanh'], GRU: ['sigmoid', 'tanh'], RNN: ['tanh'] };
const ONNX_ACTIVATION: Readonly<Record<string, string>> = { relu: 'Relu', sigmoid: 'Sigmoid', tanh: 'Tanh' };

/** ONNX gate k <- OpenVINO gate ORDER[k] in W and R (LSTM: i,o,f,c from f,i,c,o). */
const WEIGHT_ORDER: Readonly<Record<Kind, readonly number[] | null>> = { LSTM: [1, 3, 0, 2], GRU: null, RNN: null };

/**
 * ONNX bias block k ([Wb gates..., Rb gates...]) <- OpenVINO bias block
 * BIAS_ORDER[k], -1 for zeros.
 */
function biasOrder(kind: Kind, linearBeforeReset: boolean): number[] {
  if (kind === 'LSTM') return [1, 3, 0, 2, -1, -1, -1, -1];
  if (kind === 'RNN') return [0, -1];
  return linearBeforeReset ? [0, 1, 2, -1, -1, 3] : [0, 1, 2, -1, -1, -1];
}

/** Where the inputs are: sequences have sequence_lengths, LSTM a cell state. */
interface Ports {
  x: number;
  h: number;
  c?: number;
  lengths?: number;
  w: number;
  r: number;
  b: number;
}

function portsOf(kind: Kind, sequence: boolean): Ports {
  if (kind === 'LSTM') return sequence ? { x: 0, h: 1, c: 2, lengths: 3, w: 4, r: 5, b: 6 } : { x: 0, h: 1, c: 2, w: 3, r: 4, b: 5 };
  return sequence ? { x: 0, h: 1, lengths: 2, w: 3, r: 4, b: 5 } : { x: 0, h: 1, w: 2, r: 3, b: 4 };
}

/** The N of `opsetN` (0 when the domain says nothing). */
function opsetVersion(node: Node): number {
  const m = /^opset(\d+)$/.exec((node.domain ?? '').trim());
  return m ? Number(m[1]) : 0;
}

/**
 * `clip`: absent, 0 (the C++ default) or infinity mean no clipping (the
 * reference clips when clip > 0).
 */
function clipOf(node: Node, t: Translation): number | undefined {
  const s = t.str(node, 'clip');
  if (s === undefined) return undefined;
  const text = s.trim().toLowerCase();
  if (text === 'inf' || text === '+inf' || text === 'infinity') return undefined;
  const c = Number(text);
  if (text === '' || Number.isNaN(c) || c < 0) t.fail(node, `clip="${s}" is not a non-negative number`);
  return c === 0 || c === Infinity ? undefined : c;
}

/**
 * ONNX activation names, one list per direction. OpenVINO's activations are
 * relu, sigmoid and tanh, none of which reads activations_alpha/beta (the
 * reference ignores them), so those are not passed on.
 */
function activationsOf(node: Node, t: Translation, kind: Kind, directions: number): string[] {
  const s = t.str(node, 'activations');
  const names = s === undefined || s.trim() === '' ? ACTIVATIONS[kind] : s.split(',').map((a) => a.trim().toLowerCase());
  if (names.length !== ACTIVATIONS[kind].length) t.fail(node, `activations="${s}" must name ${ACTIVATIONS[kind].length} function(s)`);
  const onnx = names.map((a) => {
    const name = ONNX_ACTIVATION[a];
    if (!name) t.fail(node, `activation '${a}' is not translated (relu, sigmoid and tanh are)`);
    return name;
  });
  return directions === 2 ? [...onnx, ...onnx] : onnx;
}

/**
 * Input `i` with blocks of `hidden` rows along axis 1 (after a leading axis
 * of 1 for a Cell) rearranged: block k of the result is block `order[k]` of
 * the input, or zeros for -1 (zeros are appended as one extra block).
 */
function rearranged(node: Node, t: Translation, i: number, cell: boolean, order: readonly number[], hidden: number, directions: number): Value {
  const c = t.constInput(node, i);
  if (c) {
    const shape = cell ? [1, ...c.shape] : [...c.shape];
    if (shape.length < 2 || shape[0] !== directions) t.fail(node, `input ${i} has shape [${c.shape.join(', ')}], not one with ${directions} direction(s)`);
    const rows = shape[1]!;
    const inner = shape.slice(2).reduce((a, b) => a * b, 1);
    const src = c.toFloat64();
    const out = new Float64Array(directions * order.length * hidden * inner);
    for (let d = 0; d < directions; d++) {
      for (let k = 0; k < order.length; k++) {
        const from = order[k]!;
        if (from < 0) continue;
        if ((from + 1) * hidden > rows) t.fail(node, `input ${i} has ${rows} rows per direction, fewer than gate ${from + 1} of ${hidden} needs`);
        for (let j = 0; j < hidden * inner; j++) {
          out[(d * order.length + k) * hidden * inner + j] = src[(d * rows + from * hidden) * inner + j]!;
        }
      }
    }
    return t.constant(c.dtype, [directions, order.length * hidden, ...shape.slice(2)], out);
  }
  let v = t.input(node, i);
  if (cell) v = t.add1('Unsqueeze', [v, t.int64s([0])]);
  const blocks = Math.max(...order) + 1;
  if (order.every((k, n) => k === n)) return v;
  if (order.some((k) => k < 0)) {
    const zeros = t.constant(t.inputDType(node, i) ?? 'float32', [directions, hidden], new Float64Array(directions * hidden));
    v = t.add1('Concat', [v, zeros], { axis: 1 });
  }
  const indices: number[] = [];
  for (const k of order) for (let j = 0; j < hidden; j++) indices.push((k < 0 ? blocks : k) * hidden + j);
  return t.add1('Gather', [v, t.int64s(indices)], { axis: 1 });
}

/** The layer's input `i` unchanged, or with a leading axis of 1 for a Cell. */
function weights(node: Node, t: Translation, i: number, cell: boolean, order: readonly number[] | null, hidden: number, directions: number, gates: number): Value {
  if (order) return rearranged(node, t, i, cell, order, hidden, directions);
  if (!cell) return t.input(node, i);
  return rearranged(node, t, i, cell, Array.from({ length: gates }, (_, k) => k), hidden, directions);
}

function translateRecurrent(node: Node, t: Translation, kind: Kind, sequence: boolean): Value[] {
  const dtype = t.inputDType(node, 0);
  if (dtype !== 'float32') t.fail(node, `element type ${dtype ?? 'unknown'} is not translated (float32 is: onnxruntime's ${kind} takes float)`);
  const hidden = t.int(node, 'hidden_size');
  if (hidden === undefined || hidden <= 0) t.fail(node, 'hidden_size must be a positive integer');
  const direction = sequence ? (t.str(node, 'direction') ?? '').trim().toLowerCase() : 'forward';
  if (direction !== 'forward' && direction !== 'reverse' && direction !== 'bidirectional') t.fail(node, `direction="${t.str(node, 'direction') ?? ''}" is not forward, reverse or bidirectional`);
  const directions = direction === 'bidirectional' ? 2 : 1;
  let linearBeforeReset = false;
  if (kind === 'GRU') linearBeforeReset = t.bool(node, 'linear_before_reset') ?? false;
  const ports = portsOf(kind, sequence);
  const gates = GATES[kind];

  const attrs: Record<string, AttrInput> = {
    hidden_size: hidden,
    direction,
    activations: attr.strings(activationsOf(node, t, kind, directions)),
  };
  const clip = clipOf(node, t);
  if (clip !== undefined) attrs.clip = attr.float(clip);
  if (kind === 'GRU') attrs.linear_before_reset = linearBeforeReset ? 1 : 0;

  // Batch-major states and X become sequence-major; a Cell's X [batch, input] is one step already.
  const toOnnxState = (i: number): Value => (sequence ? t.add1('Transpose', [t.input(node, i)], { perm: [1, 0, 2] }) : t.add1('Unsqueeze', [t.input(node, i), t.int64s([0])]));
  const x = sequence ? t.add1('Transpose', [t.input(node, ports.x)], { perm: [1, 0, 2] }) : t.add1('Unsqueeze', [t.input(node, ports.x), t.int64s([0])]);
  const w = weights(node, t, ports.w, !sequence, WEIGHT_ORDER[kind], hidden, directions, gates);
  const r = weights(node, t, ports.r, !sequence, WEIGHT_ORDER[kind], hidden, directions, gates);
  // A Cell's B is optional (zeros); ONNX's B is optional too.
  const b = node.inputs[ports.b] ? rearranged(node, t, ports.b, !sequence, biasOrder(kind, linearBeforeReset), hidden, directions) : null;
  let lengths: Value | null = null;
  if (ports.lengths !== undefined) {
    const l = t.input(node, ports.lengths);
    lengths = t.inputDType(node, ports.lengths) === 'int32' ? l : t.add1('Cast', [l], { to: 6 });
  }
  const h0 = toOnnxState(ports.h);
  const inputs: (Value | null)[] = [x, w, r, b, lengths, h0];
  if (ports.c !== undefined) inputs.push(toOnnxState(ports.c));
  const outCount = kind === 'LSTM' ? 3 : 2;
  const [y, ...states] = t.add(kind, inputs, attrs, outCount);

  if (!sequence) return states.map((s) => t.add1('Squeeze', [s!, t.int64s([0])]));
  return [t.add1('Transpose', [y!], { perm: [2, 1, 0, 3] }), ...states.map((s) => t.add1('Transpose', [s!], { perm: [1, 0, 2] }))];
}

/** LSTMSequence-1 and LSTMCell-1 (peepholes, weights_format, input_forget) are other ops. */
function requireOpset(node: Node, t: Translation, since: number): void {
  const v = opsetVersion(node);
  if (v < since) t.fail(node, `${node.op} of ${node.domain || 'no opset'} is not translated (${node.op}-${since} is)`);
}

registerTranslators({
  LSTMSequence: (node, t) => {
    requireOpset(node, t, 5);
    return translateRecurrent(node, t, 'LSTM', true);
  },
  GRUSequence: (node, t) => translateRecurrent(node, t, 'GRU', true),
  RNNSequence: (node, t) => translateRecurrent(node, t, 'RNN', true),
  LSTMCell: (node, t) => {
    requireOpset(node, t, 4);
    return translateRecurrent(node, t, 'LSTM', false);
  },
  GRUCell: (node, t) => translateRecurrent(node, t, 'GRU', false),
  RNNCell: (node, t) => translateRecurrent(node, t, 'RNN', false),
});
