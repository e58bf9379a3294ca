import type { Attr } from '../ir/attr';
import type { DType } from '../ir/dtype';
import type { Node } from '../ir/graph';
import type { FormatId } from '../ir/model';

/**
 * What the matcher must know about each format's ops, in one place: which
 * binary ops are commutative (matched in either operand order), which ops
 * produce a constant from an attribute (ONNX `Constant`), and the defaults of
 * attributes that models often leave out (so `{epsilon: $eps}` still binds when
 * a BatchNormalization omits it).
 */
export interface FormatOps {
  /** Ops whose first two inputs may be swapped. */
  readonly commutative: ReadonlySet<string>;
  /** Ops whose single output is a constant held in an attribute. */
  readonly constantProducers: ReadonlySet<string>;
  /** Ops that pass their single input through unchanged: a constant read through them is still constant. */
  readonly passThrough: ReadonlySet<string>;
  /**
   * The float type `node` turns a constant of dtype `from` into, when the node
   * only widens it without loss (float16 or bfloat16 to float32, float32 to
   * float64); undefined for any other node. Weights stored as float16 and
   * widened on load are what OpenVINO writes by default (a Const f16 and a
   * decompression Convert), what TFLite's float16 quantization writes (a
   * DEQUANTIZE), and what mixed-precision ONNX exports do with a Cast: their
   * values are constant, and a rule that needs constant weights must see them.
   */
  readonly widenedTo: (node: Node, from: DType) => DType | undefined;
  /** The ops widenedTo may answer for: a constant is looked for behind no other op. */
  readonly widening: ReadonlySet<string>;
  /** op -> attribute -> value the spec gives when the attribute is absent. */
  readonly attrDefaults: Readonly<Record<string, Readonly<Record<string, Attr>>>>;
}

const f = (value: number): Attr => ({ kind: 'float', value });
const i = (value: number): Attr => ({ kind: 'int', value });
const s = (value: string): Attr => ({ kind: 'string', value });

/** Per format. Numbers from the ONNX operator docs (latest opset where they differ). */
export const FORMAT_OPS: Readonly<Record<FormatId, FormatOps>> = {
  onnx: {
    commutative: new Set(['Add', 'Mul', 'Sum', 'Max', 'Min', 'Mean', 'And', 'Or', 'Xor', 'Equal', 'BitwiseAnd', 'BitwiseOr', 'BitwiseXor']),
    constantProducers: new Set(['Constant']),
    // PyTorch exports often read weights through an Identity.
    passThrough: new Set(['Identity']),
    widenedTo: (node, from) => {
      if (node.op !== 'Cast' || node.domain !== '') return undefined;
      const to = node.attr('to');
      return to?.kind === 'int' ? widening(from, ONNX_FLOAT_TYPES.get(Number(to.value))) : undefined;
    },
    widening: new Set(['Cast']),
    attrDefaults: {
      BatchNormalization: { epsilon: f(1e-5), momentum: f(0.9), training_mode: i(0) },
      InstanceNormalization: { epsilon: f(1e-5) },
      LayerNormalization: { epsilon: f(1e-5), axis: i(-1), stash_type: i(1) },
      Conv: { group: i(1), auto_pad: s('NOTSET') },
      ConvTranspose: { group: i(1), auto_pad: s('NOTSET') },
      Gemm: { alpha: f(1), beta: f(1), transA: i(0), transB: i(0) },
      LeakyRelu: { alpha: f(0.01) },
      Elu: { alpha: f(1) },
      Selu: { alpha: f(1.67326319217681884765625), gamma: f(1.05070102214813232421875) },
      HardSigmoid: { alpha: f(0.2), beta: f(0.5) },
      Flatten: { axis: i(1) },
      Split: { axis: i(0) },
      Gather: { axis: i(0) },
      ArgMax: { axis: i(0), keepdims: i(1), select_last_index: i(0) },
      ArgMin: { axis: i(0), keepdims: i(1), select_last_index: i(0) },
      ReduceMean: { keepdims: i(1) },
      ReduceSum: { keepdims: i(1), noop_with_empty_axes: i(0) },
      ReduceMax: { keepdims: i(1) },
      ReduceMin: { keepdims: i(1) },
      Resize: { mode: s('nearest'), coordinate_transformation_mode: s('half_pixel'), nearest_mode: s('round_prefer_floor'), cubic_coeff_a: f(-0.75), exclude_outside: i(0), extrapolation_value: f(0) },
      MaxPool: { auto_pad: s('NOTSET'), ceil_mode: i(0), storage_order: i(0) },
      AveragePool: { auto_pad: s('NOTSET'), ceil_mode: i(0), count_include_pad: i(0) },
      DepthToSpace: { mode: s('DCR') },
      Pad: { mode: s('constant') },
      TopK: { axis: i(-1), largest: i(1), sorted: i(1) },
      CumSum: { exclusive: i(0), reverse: i(0) },
    },
  },
  tflite: {
    commutative: new Set(['ADD', 'MUL', 'MAXIMUM', 'MINIMUM', 'EQUAL', 'NOT_EQUAL', 'LOGICAL_AND', 'LOGICAL_OR', 'SQUARED_DIFFERENCE']),
    constantProducers: new Set(),
    passThrough: new Set(),
    // DEQUANTIZE of a float16 tensor (no quantization parameters) is how float16-quantized models widen their weights.
    widenedTo: (node, from) => (node.op === 'DEQUANTIZE' && from === 'float16' ? widening(from, node.outputs[0]?.dtype) : undefined),
    widening: new Set(['DEQUANTIZE']),
    attrDefaults: {},
  },
  openvino: {
    commutative: new Set(['Add', 'Multiply', 'Maximum', 'Minimum', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr', 'LogicalXor', 'SquaredDifference']),
    constantProducers: new Set(),
    passThrough: new Set(),
    widenedTo: (node, from) => {
      if (node.op !== 'Convert') return undefined;
      const to = node.attr('destination_type');
      return to?.kind === 'string' ? widening(from, OPENVINO_FLOAT_TYPES.get(to.value)) : undefined;
    },
    widening: new Set(['Convert']),
    attrDefaults: {},
  },
};

/** ONNX TensorProto.DataType codes of the float types a constant can be widened to. */
const ONNX_FLOAT_TYPES: ReadonlyMap<number, DType> = new Map([[1, 'float32'], [11, 'float64']]);
/** OpenVINO element type names of the same. */
const OPENVINO_FLOAT_TYPES: ReadonlyMap<string, DType> = new Map([['f32', 'float32'], ['f64', 'float64']]);

/** `to` when every `from` value is exactly a `to` value (a wider float type), else undefined. */
function widening(from: DType, to: DType | undefined): DType | undefined {
  if (to === 'float32') return from === 'float16' || from === 'bfloat16' ? to : undefined;
  if (to === 'float64') return from === 'float16' || from === 'bfloat16' || from === 'float32' ? to : undefined;
  return undefined;
}

/**
 * What a new node's outputs hold, for the values a replacement creates (TFLite
 * needs a dtype on every tensor). Op names of the three formats together: where
 * they coincide (Equal, Add) they mean the same. An op in neither set keeps
 * the dtype of its first typed input, as elementwise ops, Conv, Concat, Split,
 * Reshape and Transpose do.
 */
export const BOOL_OUTPUT_OPS: ReadonlySet<string> = new Set([
  'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf',
  'EQUAL', 'NOT_EQUAL', 'LESS', 'LESS_EQUAL', 'GREATER', 'GREATER_EQUAL', 'LOGICAL_AND', 'LOGICAL_OR', 'LOGICAL_NOT',
  'NotEqual', 'LessEqual', 'GreaterEqual', 'LogicalAnd', 'LogicalOr', 'LogicalNot', 'LogicalXor',
]);

/** Ops whose outputs have a dtype of their own (indices, shapes, casts, quantization): left undeclared. */
export const OTHER_DTYPE_OPS: ReadonlySet<string> = new Set([
  'Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero', 'TopK', 'Cast', 'CastLike', 'QuantizeLinear', 'DequantizeLinear',
  'DynamicQuantizeLinear', 'ConstantOfShape', 'EyeLike', 'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike',
  'Multinomial', 'Unique', 'NonMaxSuppression', 'StringNormalizer', 'TfIdfVectorizer', 'MaxPoolWithArgmax',
  'SHAPE', 'ARG_MAX', 'ARG_MIN', 'CAST', 'QUANTIZE', 'DEQUANTIZE', 'WHERE', 'UNIQUE', 'NON_MAX_SUPPRESSION_V4', 'NON_MAX_SUPPRESSION_V5',
  'ShapeOf', 'Convert', 'ConvertLike', 'FakeQuantize', 'NonMaxSuppression', 'Range',
]);

/** Ops whose output has the broadcast shape of their inputs (one input: its shape). */
export const ELEMENTWISE_OPS: ReadonlySet<string> = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Mean', 'Sum', 'Relu', 'LeakyRelu', 'PRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish',
  'Tanh', 'Exp', 'Log', 'Sqrt', 'Abs', 'Neg', 'Reciprocal', 'Floor', 'Ceil', 'Round', 'Sign', 'Erf', 'Sin', 'Cos', 'Clip', 'Elu', 'Selu',
  'Softplus', 'Mish', 'Gelu', 'Identity',
  'ADD', 'SUB', 'MUL', 'DIV', 'POW', 'MAXIMUM', 'MINIMUM', 'SQUARED_DIFFERENCE', 'RELU', 'RELU6', 'RELU_N1_TO_1', 'LEAKY_RELU',
  'LOGISTIC', 'HARD_SWISH', 'TANH', 'EXP', 'LOG', 'SQRT', 'RSQRT', 'ABS', 'NEG', 'SQUARE', 'FLOOR', 'CEIL', 'ROUND', 'SIN', 'COS', 'ELU', 'GELU', 'SIGN', 'FLOOR_DIV', 'FLOOR_MOD', 'PRELU',
  'Multiply', 'Subtract', 'Divide', 'Power', 'Maximum', 'Minimum', 'SquaredDifference', 'Negative', 'Swish', 'HSwish', 'HSigmoid',
]);
