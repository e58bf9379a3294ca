/**
 * OpenVINO's greedy CTC decoders (the last layer of text recognition models)
 * translated to ONNX: CTCGreedyDecoder-1 and CTCGreedyDecoderSeqLen-6.
 */
import { codeOfDtype } from '../../../formats/onnx/schema';
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

registerTranslators({
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
