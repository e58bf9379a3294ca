/**
 * Elementwise OpenVINO ops: arithmetic, comparisons, logic, activations and
 * other unary math, Convert, Select, Clamp.
 */
import { registerTranslators, type Translator } from '../translation';
import { checkNumpyBroadcast, onnxTypeOfElementType } from './common';

/** A binary elementwise op with numpy broadcasting, the same in ONNX. */
function binary(onnxOp: string): Translator {
  return (node, t) => {
    checkNumpyBroadcast(node, t);
    return [t.add1(onnxOp, [t.input(node, 0), t.input(node, 1)])];
  };
}

function unary(onnxOp: string): Translator {
  return (node, t) => [t.add1(onnxOp, [t.input(node, 0)])];
}

registerTranslators({
  Add: binary('Add'),
  Multiply: binary('Mul'),
  Subtract: binary('Sub'),
  Relu: unary('Relu'),
  Sqrt: unary('Sqrt'),
  Abs: unary('Abs'),
  Convert: (node, t) => {
    const to = t.str(node, 'destination_type') ?? t.fail(node, 'no destination_type');
    return [t.add1('Cast', [t.input(node, 0)], { to: onnxTypeOfElementType(node, t, to) })];
  },
});
