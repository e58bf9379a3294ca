import type { Node, Value } from './graph';
import type { FormatId } from './model';

/**
 * The rank of a value: its declared shape's length, or, in ONNX (where
 * exporters often declare no shape for intermediate values; TFLite and
 * OpenVINO IR declare every tensor's), the rank the ops upstream fix by their
 * definition. Only ops whose output rank follows from their inputs' ranks
 * alone are followed, so an answer is never a guess; undefined otherwise.
 *
 * Without it a rule that needs the rank (BatchNormalization -> Mul + Add must
 * know how many spatial axes to broadcast over) misses every node whose input
 * has no value_info, as in most PyTorch and Paddle exports.
 */
export function rankOf(value: Value, format: FormatId): number | undefined {
  const declared = value.shape ?? value.const?.shape;
  if (declared) return declared.length;
  return format === 'onnx' ? onnxRank(value, 0) : undefined;
}

/** How deep the walk up the graph goes: a chain of undeclared values longer than this is not worth following. */
const MAX_DEPTH = 64;

/** ONNX ops whose outputs have the rank of their first input. */
const SAME_AS_FIRST = new Set([
  'Abs', 'Acos', 'Acosh', 'Asin', 'Asinh', 'Atan', 'Atanh', 'BatchNormalization', 'Cast', 'CastLike', 'Ceil', 'Celu', 'Clip', 'Cos', 'Cosh',
  'CumSum', 'DepthToSpace', 'DequantizeLinear', 'Dropout', 'Elu', 'Erf', 'Exp', 'Floor', 'Gelu', 'GlobalAveragePool', 'GlobalLpPool',
  'GlobalMaxPool', 'HardSigmoid', 'HardSwish', 'Hardmax', 'Identity', 'InstanceNormalization', 'IsInf', 'IsNaN', 'LayerNormalization',
  'LeakyRelu', 'Log', 'LogSoftmax', 'LpNormalization', 'LpPool', 'LRN', 'MaxPool', 'AveragePool', 'MeanVarianceNormalization', 'Mish',
  'Neg', 'Not', 'PRelu', 'QuantizeLinear', 'Reciprocal', 'Relu', 'Resize', 'Round', 'Selu', 'Shrink', 'Sigmoid', 'Sign', 'Sin', 'Sinh',
  'Softmax', 'Softplus', 'Softsign', 'SpaceToDepth', 'Split', 'Sqrt', 'Tan', 'Tanh', 'ThresholdedRelu', 'Transpose', 'Trilu', 'Upsample',
  'Pad', 'Tile', 'Slice', 'ReverseSequence', 'GroupNormalization', 'RMSNormalization',
]);

/** ONNX ops that broadcast their inputs: the output has the largest rank among them. */
const BROADCASTING = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Mod', 'And', 'Or', 'Xor', 'Equal', 'Less', 'LessOrEqual', 'Greater',
  'GreaterOrEqual', 'Where', 'BitShift', 'BitwiseAnd', 'BitwiseOr', 'BitwiseXor',
]);

function onnxRank(value: Value, depth: number): number | undefined {
  const declared = value.shape ?? value.const?.shape;
  if (declared) return declared.length;
  const node = value.producer;
  if (!node || node.removed || depth >= MAX_DEPTH || (node.domain !== '' && node.domain !== 'ai.onnx')) return undefined;
  const up = (i: number): number | undefined => {
    const v = node.input(i);
    return v ? onnxRank(v, depth + 1) : undefined;
  };
  switch (node.op) {
    case 'Conv':
    case 'ConvTranspose':
    case 'ConvInteger':
      // The weight is a constant in every model these rules see: its rank is the input's.
      return up(1) ?? up(0);
    case 'QLinearConv':
      return up(3) ?? up(0);
    case 'Concat':
      for (let i = 0; i < node.inputs.length; i++) {
        const r = up(i);
        if (r !== undefined) return r;
      }
      return undefined;
    case 'Constant': {
      // Exporters such as Paddle's keep every weight in a Constant node.
      for (const [name, a] of node.attrs) {
        if (name === 'value' && a.kind === 'tensor') return a.value.rank;
        if (name === 'value_float' || name === 'value_int' || name === 'value_string') return 0;
        if (name === 'value_floats' || name === 'value_ints' || name === 'value_strings') return 1;
      }
      return undefined;
    }
    case 'Gemm':
    case 'Flatten':
      return 2;
    case 'Shape':
      return 1;
    case 'Reshape': {
      const target = node.input(1)?.const;
      return target && target.rank === 1 ? target.shape[0] : undefined;
    }
    default:
      break;
  }
  if (SAME_AS_FIRST.has(node.op)) return isMainOutput(node, value) ? up(0) : undefined;
  if (BROADCASTING.has(node.op)) {
    let rank = 0;
    for (let i = 0; i < node.inputs.length; i++) {
      if (!node.input(i)) continue;
      const r = up(i);
      if (r === undefined) return undefined;
      rank = Math.max(rank, r);
    }
    return rank;
  }
  return undefined;
}

/**
 * Whether `value` is the output whose rank the op's first input fixes: any
 * output of Split, output 0 of the others (Dropout's mask and MaxPool's
 * indices have that rank too, but BatchNormalization's running statistics
 * and LayerNormalization's saved ones do not).
 */
function isMainOutput(node: Node, value: Value): boolean {
  if (node.op === 'Split') return true;
  return node.outputs[0] === value;
}
