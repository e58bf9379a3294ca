/**
 * Stateful OpenVINO ops, for one inference from a fresh state (what
 * `recipe verify` runs: every run starts a new request). ReadValue then gives
 * the variable's initial value, and Assign stores a value nothing in the same
 * inference reads again.
 */
import { registerTranslators } from '../translation';
import { onnxTypeOf } from './common';

registerTranslators({
  ReadValue: (node, t) => {
    // opset3 and opset6 with an init_value input: that value.
    if (node.inputs[0]) return [t.add1('Identity', [t.input(node, 0)])];
    // opset6 without one: zeros of the variable's declared type and shape.
    const shape = t.outputShape(node, 0);
    const dtype = t.outputDType(node, 0);
    if (!shape || !dtype || shape.some((d) => typeof d !== 'number')) {
      return t.fail(node, 'a ReadValue without an initial value needs a static output shape and type');
    }
    const zeros = t.add1('ConstantOfShape', [t.int64s(shape as number[])]);
    return [t.add1('Cast', [zeros], { to: onnxTypeOf(node, t, dtype) })];
  },
  // A sink: what it stores is read by the next inference only. Its output (Assign-3 has one) passes the value on.
  Assign: (node, t) => (node.outputs.length > 0 ? [t.add1('Identity', [t.input(node, 0)])] : []),
});
