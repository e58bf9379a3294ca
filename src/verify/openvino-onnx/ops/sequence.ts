/**
 * OpenVINO's sequence decoders (the last layers of text recognition and
 * translation models) translated to ONNX: the greedy CTC decoders
 * CTCGreedyDecoder-1 and CTCGreedyDecoderSeqLen-6, and GatherTree-1, the
 * back-tracking of a beam search.
 */
import { codeOfDtype } from '../../../formats/onnx/schema';
import type { DType } from '../../../ir/dtype';
import type { Node, Value } from '../../../ir/graph';
import { registerTranslators, type Translation } from '../translation';

/**
 * Best path decoding of `logits` [N, T, C] where `valid` [N, T] is true:
 * the most probable class per step, consecutive repeats merged (when
 * `mergeRepeated`), the blank class dropped, the rest moved to the front of
 * each row and the row filled up with -1. Returns the classes [N, T] and the
 * decoded lengths [N], both int64.
 */
function greedyDecode(t: Translation, logits: Value, valid: Value, blank: Value, steps: number, mergeRepeated: boolean): { classes: Value; lengths: Value } {
  const best = t.add1('ArgMax', [logits], { axis: 2, keepdims: 0 });
  let keep = t.add1('And', [valid, t.add1('Not', [t.add1('Equal', [best, blank])])]);
  if (mergeRepeated) {
    // The class before each step (-1 before the first): a step that repeats it adds nothing.
    const before = t.add1('Pad', [t.add1('Slice', [best, t.int64s([0]), t.int64s([steps - 1]), t.int64s([1])]), t.int64s([0, 1, 0, 0]), t.scalar('int64', -1)]);
    keep = t.add1('And', [keep, t.add1('Not', [t.add1('Equal', [best, before])])]);
  }
  const kept = t.add1('Cast', [keep], { to: 7 });
  // Where each kept class lands in its row; the others go to an extra column that is cut off.
  const at = t.add1('Where', [keep, t.add1('Sub', [t.add1('CumSum', [kept, t.scalar('int64', 1)]), t.scalar('int64', 1)]), t.scalar('int64', steps)]);
  const wider = t.add1('Add', [t.add1('Shape', [best]), t.int64s([0, 1])]);
  const blankRows = t.add1('Expand', [t.scalar('int64', -1), wider]);
  const scattered = t.add1('ScatterElements', [blankRows, at, best], { axis: 1 });
  const classes = t.add1('Slice', [scattered, t.int64s([0]), t.int64s([steps]), t.int64s([1])]);
  const lengths = t.add1('ReduceSum', [kept, t.int64s([1])], { keepdims: 0 });
  return { classes, lengths };
}

/** The ONNX type code of an `i32`/`i64` attribute (the output index types of CTCGreedyDecoderSeqLen). */
function indexTypeCode(node: Node, t: Translation, name: string): number {
  const type = (t.str(node, name) ?? 'i32').trim().toLowerCase();
  if (type === 'i32') return 6;
  if (type === 'i64') return 7;
  return t.fail(node, `${name}="${type}" is not translated (i32 and i64 are)`);
}

/**
 * The element type GatherTree is computed in, by the type of its inputs:
 * the ids are whole numbers, which the wider type holds exactly.
 */
const GATHER_TREE_WORK_TYPE: Readonly<Partial<Record<DType, DType>>> = {
  int32: 'int32',
  int64: 'int64',
  float32: 'float32',
  float64: 'float64',
  float16: 'float32',
  int8: 'int64',
  int16: 'int64',
  uint8: 'int64',
  uint16: 'int64',
  uint32: 'int64',
};

/**
 * GatherTree-1: step_ids and parent_ids [T, B, W], max_seq_len [B], end_token
 * (a scalar), all of one type. Each beam is followed back from step
 * min(T, max_seq_len) - 1 through its parents; the steps past a sequence's
 * length hold end_token, and so does every step after the first end_token of
 * a beam. The walk back is unrolled over the (static) T steps, all beams of
 * all batches at once: a beam's pointer stays on the beam itself until its
 * sequence starts, which is exactly where the specification starts it.
 * A max_seq_len of 0 leaves the whole beam end_token, as the specification
 * does; so does a negative one, which the specification does not define.
 */
function gatherTree(node: Node, t: Translation): Value[] {
  const shape = t.inputShape(node, 0);
  if (!shape || shape.length !== 3) t.fail(node, 'step_ids (input 0) must be [MAX_TIME, BATCH_SIZE, BEAM_WIDTH]');
  const [steps, , beams] = shape;
  if (typeof steps !== 'number') t.fail(node, 'MAX_TIME (dimension 0 of step_ids) must be static for this translation (the walk back is unrolled over it)');
  if (typeof beams !== 'number') t.fail(node, 'BEAM_WIDTH (dimension 2 of step_ids) must be static for this translation');
  const dtype = t.inputDType(node, 0);
  const work = dtype && GATHER_TREE_WORK_TYPE[dtype];
  if (!dtype || !work) t.fail(node, `element type ${dtype ?? 'undeclared'} is not translated (the integer types up to 32 bits, i64, f16, f32 and f64 are)`);
  if (steps === 0) return [t.add1('Identity', [t.input(node, 0)])];
  const inWork = (v: Value): Value => (work === dtype ? v : t.add1('Cast', [v], { to: codeOfDtype(work)! }));

  const ids = inWork(t.input(node, 0));
  const parents = t.add1('Cast', [t.input(node, 1)], { to: 7 });
  const lengths = t.add1('Unsqueeze', [t.add1('Cast', [t.input(node, 2)], { to: 7 }), t.int64s([1])]);
  const end = t.add1('Reshape', [inWork(t.input(node, 3)), t.int64s([])]);
  const ownBeam = t.constant('int64', [1, beams], Array.from({ length: beams }, (_, i) => i));
  // [B, W]: the beam each output beam reads at the current step.
  let pointer = t.add1('Expand', [ownBeam, t.add1('Shape', [lengths])]);
  const perStep: Value[] = new Array<Value>(steps);
  for (let step = steps - 1; step >= 0; step--) {
    const at = t.scalar('int64', step);
    const inSequence = t.add1('Less', [at, lengths]);
    const picked = t.add1('GatherElements', [t.add1('Gather', [ids, at], { axis: 0 }), pointer], { axis: 1 });
    perStep[step] = t.add1('Unsqueeze', [t.add1('Where', [inSequence, picked, end]), t.int64s([0])]);
    if (step > 0) pointer = t.add1('Where', [inSequence, t.add1('GatherElements', [t.add1('Gather', [parents, at], { axis: 0 }), pointer], { axis: 1 }), pointer]);
  }
  const walked = steps === 1 ? perStep[0]! : t.add1('Concat', perStep, { axis: 0 });
  // Every step after a beam's first end_token becomes end_token.
  const ends = t.add1('Cast', [t.add1('Equal', [walked, end])], { to: 7 });
  const endedBefore = t.add1('Greater', [t.add1('CumSum', [ends, t.scalar('int64', 0)], { exclusive: 1 }), t.scalar('int64', 0)]);
  const finalIds = t.add1('Where', [endedBefore, end, walked]);
  return [work === dtype ? finalIds : t.add1('Cast', [finalIds], { to: codeOfDtype(dtype)! })];
}

registerTranslators({
  GatherTree: gatherTree,
  // data [N, T, C], sequence_length [N], blank_index (default C - 1).
  CTCGreedyDecoderSeqLen: (node, t) => {
    const shape = t.staticShape(node, 0);
    if (shape.length !== 3) t.fail(node, 'input 0 must be [N, T, C]');
    const [steps, classes] = [shape[1]!, shape[2]!];
    const positions = t.add1('Unsqueeze', [t.constant('int64', [steps], Array.from({ length: steps }, (_, i) => i)), t.int64s([0])]);
    const lengths = t.add1('Unsqueeze', [t.add1('Cast', [t.input(node, 1)], { to: 7 }), t.int64s([1])]);
    const valid = t.add1('Less', [positions, lengths]);
    const blank = node.inputs[2] ? t.add1('Reshape', [t.add1('Cast', [t.input(node, 2)], { to: 7 }), t.int64s([])]) : t.scalar('int64', classes - 1);
    const decoded = greedyDecode(t, t.input(node, 0), valid, blank, steps, t.bool(node, 'merge_repeated') ?? true);
    return [
      t.add1('Cast', [decoded.classes], { to: indexTypeCode(node, t, 'classes_index_type') }),
      t.add1('Cast', [decoded.lengths], { to: indexTypeCode(node, t, 'sequence_length_type') }),
    ];
  },
  // data [T, N, C], sequence_mask [T, N] (non-zero where a step counts); the blank is C - 1; the classes as floats [N, T, 1, 1].
  CTCGreedyDecoder: (node, t) => {
    const shape = t.staticShape(node, 0);
    if (shape.length !== 3) t.fail(node, 'input 0 must be [T, N, C]');
    const [steps, classes] = [shape[0]!, shape[2]!];
    const logits = t.add1('Transpose', [t.input(node, 0)], { perm: [1, 0, 2] });
    const valid = t.add1('Not', [t.add1('Equal', [t.add1('Transpose', [t.input(node, 1)], { perm: [1, 0] }), t.scalar(t.inputDType(node, 1) ?? 'float32', 0)])]);
    const decoded = greedyDecode(t, logits, valid, t.scalar('int64', classes - 1), steps, t.bool(node, 'ctc_merge_repeated') ?? true);
    const asData = t.add1('Cast', [decoded.classes], { to: codeOfDtype(t.outputDType(node, 0) ?? 'float32') ?? 1 });
    return [t.add1('Unsqueeze', [asData, t.int64s([2, 3])])];
  },
});
