/**
 * Elementwise OpenVINO ops: arithmetic, comparisons, logic, activations and
 * other unary math, bitwise ops and shifts, Convert, Select, Clamp,
 * FakeQuantize.
 */
import { attr } from '../../../ir/attr';
import { DTYPES, type DType } from '../../../ir/dtype';
import type { Node, Value } from '../../../ir/graph';
import { registerTranslators, type Translation, type Translator } from '../translation';
import { checkNumpyBroadcast, onnxTypeOf, onnxTypeOfElementType } from './common';

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

function kindOf(d: DType | undefined): string | undefined {
  return d === undefined ? undefined : DTYPES[d].kind;
}

/** The float element type of input `i`; ONNX defines the transcendental ops for floats only. */
function floatInput(node: Node, t: Translation, i = 0): DType {
  const d = t.inputDType(node, i);
  if (d === undefined) t.fail(node, `the element type of input ${i} is not declared`);
  if (kindOf(d) !== 'float') t.fail(node, `input ${i} is ${d}: only floating-point inputs are translated for ${node.op}`);
  return d;
}

/** The element type of input `i`, which must be declared. */
function inputType(node: Node, t: Translation, i = 0): DType {
  return t.inputDType(node, i) ?? t.fail(node, `the element type of input ${i} is not declared`);
}

/** A unary op ONNX has for float inputs only. */
function floatUnary(onnxOp: string): Translator {
  return (node, t) => {
    floatInput(node, t);
    return [t.add1(onnxOp, [t.input(node, 0)])];
  };
}

/** A unary op built from ONNX ops on a float input `x` of type `d`. */
function floatDecomposed(build: (t: Translation, x: Value, d: DType, node: Node) => Value): Translator {
  return (node, t) => {
    const d = floatInput(node, t);
    return [build(t, t.input(node, 0), d, node)];
  };
}

/** Floor and Ceiling copy integers (OpenVINO's reference does); ONNX takes floats only. */
function floatOrCopy(onnxOp: string): Translator {
  return (node, t) => {
    const x = t.input(node, 0);
    const k = kindOf(inputType(node, t));
    if (k === 'int' || k === 'uint') return [t.add1('Identity', [x])];
    return [t.add1(onnxOp, [x])];
  };
}

/**
 * BitwiseAnd/Or/Xor-13 on booleans are the logical ops. ONNX has bitwise ops
 * on integers only from opset 18, above the translation's: integers are
 * refused by name.
 */
function bitwise(logicalOp: string): Translator {
  return (node, t) => {
    checkNumpyBroadcast(node, t);
    const d = inputType(node, t);
    if (d !== 'bool') t.fail(node, `input 0 is ${d}: ${node.op} is translated for booleans only`);
    return [t.add1(logicalOp, [t.input(node, 0), t.input(node, 1)])];
  };
}

/**
 * BitwiseNot-13: Not of a boolean; of a two's complement integer -x - 1, of
 * an unsigned one its largest value - x, computed in int64 (onnxruntime has
 * no narrow integer Sub) and cast back.
 */
const bitwiseNot: Translator = (node, t) => {
  const d = inputType(node, t);
  const x = t.input(node, 0);
  if (d === 'bool') return [t.add1('Not', [x])];
  const { bits } = DTYPES[d];
  const signed = kindOf(d) === 'int';
  if (!signed && !(kindOf(d) === 'uint' && bits <= 32)) {
    t.fail(node, `input 0 is ${d}: BitwiseNot is translated for booleans, signed integers and unsigned ones up to 32 bits`);
  }
  const wide = d === 'int64' ? x : t.add1('Cast', [x], { to: onnxTypeOf(node, t, 'int64') });
  const flipped = signed ? t.add1('Sub', [t.add1('Neg', [wide]), t.scalar('int64', 1)]) : t.add1('Sub', [t.scalar('int64', 2 ** bits - 1), wide]);
  return [d === 'int64' ? flipped : t.add1('Cast', [flipped], { to: onnxTypeOf(node, t, d) })];
};

/**
 * BitwiseLeftShift-15 and BitwiseRightShift-15: the reference computes C++'s
 * `a << b` and `a >> b` in the input type. ONNX BitShift shifts unsigned
 * integers only (and onnxruntime has no 16-bit one), so operands are shifted
 * in the unsigned type of 32 bits (64 for 64-bit types): 8- and 16-bit ones
 * as C++ promotes them, the low bits kept on the way back. A signed left
 * shift wraps around; a signed right shift is arithmetic, for a negative a
 * ~((~a) >> b) with ~a = -1 - a, non-negative. Counts below 0 or not below the
 * (promoted) width are undefined in the spec: onnxruntime decides those.
 */
function shift(direction: 'LEFT' | 'RIGHT'): Translator {
  return (node, t) => {
    checkNumpyBroadcast(node, t);
    const d = inputType(node, t);
    const kind = kindOf(d);
    const { bits } = DTYPES[d];
    if ((kind !== 'int' && kind !== 'uint') || bits < 8) t.fail(node, `input 0 is ${d}: ${node.op} is translated for integers of 8 to 64 bits`);
    const signed = kind === 'int';
    const unsignedWide: DType = bits === 64 ? 'uint64' : 'uint32';
    const wide: DType = signed ? (bits === 64 ? 'int64' : 'int32') : unsignedWide;
    const cast = (v: Value, from: DType, to: DType): Value => (from === to ? v : t.add1('Cast', [v], { to: onnxTypeOf(node, t, to) }));
    const a = cast(t.input(node, 0), d, wide);
    const count = cast(t.input(node, 1), inputType(node, t, 1), unsignedWide);
    const bitShift = (v: Value): Value => cast(t.add1('BitShift', [cast(v, wide, unsignedWide), count], { direction }), unsignedWide, wide);
    let shifted: Value;
    if (!signed || direction === 'LEFT') {
      shifted = bitShift(a);
    } else {
      const negative = t.add1('Less', [a, t.scalar(wide, 0)]);
      const minusOne = t.scalar(wide, -1);
      const magnitude = bitShift(t.add1('Where', [negative, t.add1('Sub', [minusOne, a]), a]));
      shifted = t.add1('Where', [negative, t.add1('Sub', [minusOne, magnitude]), magnitude]);
    }
    return [cast(shifted, wide, d)];
  };
}

/** min(max(x + 3, 0), 6), the common part of HSwish and HSigmoid. */
function relu6Plus3(t: Translation, x: Value, d: DType): Value {
  const shifted = t.add1('Add', [x, t.scalar(d, 3)]);
  return t.add1('Min', [t.add1('Max', [shifted, t.scalar(d, 0)]), t.scalar(d, 6)]);
}

/**
 * Divide-1: floats divide plainly; integers truncate when `m_pythondiv` is
 * false and floor (Python's //) when it is true, the default. ONNX's integer
 * Div truncates, so the floor is the truncated quotient minus one where the
 * remainder is not zero and has the other sign than the divisor.
 */
const divide: Translator = (node, t) => {
  checkNumpyBroadcast(node, t);
  const a = t.input(node, 0);
  const b = t.input(node, 1);
  const d = inputType(node, t);
  const q = t.add1('Div', [a, b]);
  const k = kindOf(d);
  if (k !== 'int' || t.bool(node, 'm_pythondiv') === false) return [q];
  const zero = t.scalar(d, 0);
  const r = t.add1('Sub', [a, t.add1('Mul', [q, b])]);
  const inexact = t.add1('Not', [t.add1('Equal', [r, zero])]);
  const signsDiffer = t.add1('Xor', [t.add1('Less', [r, zero]), t.add1('Less', [b, zero])]);
  const adjust = t.add1('Cast', [t.add1('And', [inexact, signsDiffer])], { to: onnxTypeOf(node, t, d) });
  return [t.add1('Sub', [q, adjust])];
};

/** The smallest and largest value of an integer type, as doubles. */
function intRange(d: DType): [number, number] {
  const bits = DTYPES[d].bits;
  return DTYPES[d].kind === 'uint' ? [0, 2 ** bits - 1] : [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1];
}

/**
 * Clamp-1: min(max(x, min), max). For integer types the spec converts `min`
 * with ceil and `max` with floor; a bound beyond the type's range clamps
 * nothing and is left out of Clip.
 */
const clamp: Translator = (node, t) => {
  const lo = t.float(node, 'min') ?? t.fail(node, 'no min attribute');
  const hi = t.float(node, 'max') ?? t.fail(node, 'no max attribute');
  const d = inputType(node, t);
  const k = kindOf(d);
  const x = t.input(node, 0);
  if (k === 'float') return [t.add1('Clip', [x, t.scalar(d, lo), t.scalar(d, hi)])];
  if (k !== 'int' && k !== 'uint') t.fail(node, `input 0 is ${d}: Clamp is translated for numeric types only`);
  const [tmin, tmax] = intRange(d);
  const imin = Math.ceil(lo);
  const imax = Math.floor(hi);
  if (imin > tmax || imax < tmin) t.fail(node, `min=${lo} max=${hi} lie outside the range of ${d}`);
  const minV = imin > tmin ? t.scalar(d, imin) : null;
  const maxV = imax < tmax ? t.scalar(d, imax) : null;
  return [t.add1('Clip', [x, minV, maxV])];
};

/**
 * PRelu-1: a 1-D slope as long as dimension 1 of data (rank >= 2) applies per
 * channel, i.e. along axis 1, where ONNX (numpy) would align it with the last
 * axis; any other slope broadcasts numpy-style.
 */
const prelu: Translator = (node, t) => {
  floatInput(node, t);
  const x = t.input(node, 0);
  const slope = t.input(node, 1);
  const missing = (): never => t.fail(node, 'PRelu needs the declared shapes of data and slope');
  const dataShape = t.inputShape(node, 0) ?? missing();
  const slopeShape = t.inputShape(node, 1) ?? missing();
  if (slopeShape.length !== 1 || dataShape.length < 2) return [t.add1('PRelu', [x, slope])];
  const c = slopeShape[0];
  const channels = dataShape[1];
  if (typeof c !== 'number' || typeof channels !== 'number') {
    if (c === 1) return [t.add1('PRelu', [x, slope])];
    return t.fail(node, 'a 1-D slope needs static lengths of the slope and of data dimension 1 to choose per-channel or numpy broadcasting');
  }
  if (c !== channels || dataShape.length === 2) return [t.add1('PRelu', [x, slope])];
  const perChannel = t.add1('Reshape', [slope, t.int64s([c, ...Array<number>(dataShape.length - 2).fill(1)])]);
  return [t.add1('PRelu', [x, perChannel])];
};

/** Swish-4: x * sigmoid(beta * x), beta an optional scalar input (1 when absent). */
const swish: Translator = (node, t) => {
  floatInput(node, t);
  const x = t.input(node, 0);
  const scaled = node.inputs.length > 1 && node.inputs[1] ? t.add1('Mul', [x, t.input(node, 1)]) : x;
  return [t.add1('Mul', [x, t.add1('Sigmoid', [scaled])])];
};

/** Gelu-2 (erf) and Gelu-7 (approximation_mode erf or tanh), decomposed: ONNX 17 has no Gelu. */
const gelu: Translator = (node, t) => {
  const d = floatInput(node, t);
  const x = t.input(node, 0);
  const mode = node.domain === 'opset2' ? 'erf' : (t.str(node, 'approximation_mode') ?? 'erf').trim().toLowerCase();
  let inner: Value;
  if (mode === 'erf') {
    inner = t.add1('Erf', [t.add1('Div', [x, t.scalar(d, Math.SQRT2)])]);
  } else if (mode === 'tanh') {
    const cube = t.add1('Mul', [t.add1('Mul', [x, x]), x]);
    const poly = t.add1('Add', [x, t.add1('Mul', [cube, t.scalar(d, 0.044715)])]);
    inner = t.add1('Tanh', [t.add1('Mul', [poly, t.scalar(d, Math.sqrt(2 / Math.PI))])]);
  } else {
    return t.fail(node, `approximation_mode="${mode}" is not translated (erf and tanh are)`);
  }
  const half = t.add1('Mul', [x, t.scalar(d, 0.5)]);
  return [t.add1('Mul', [half, t.add1('Add', [inner, t.scalar(d, 1)])])];
};

/**
 * Round-5: half_to_even is ONNX Round; half_away_from_zero rounds |x| by its
 * exact fraction (|x| - floor(|x|) >= 0.5 rounds up) and restores the sign,
 * which floor(|x| + 0.5) would get wrong just below a half. Integers copy.
 */
const round: Translator = (node, t) => {
  const mode = (t.str(node, 'mode') ?? 'half_to_even').trim().toLowerCase();
  if (mode !== 'half_to_even' && mode !== 'half_away_from_zero') t.fail(node, `mode="${mode}" is not translated (half_to_even and half_away_from_zero are)`);
  const d = inputType(node, t);
  const x = t.input(node, 0);
  const k = kindOf(d);
  if (k === 'int' || k === 'uint') return [t.add1('Identity', [x])];
  if (k !== 'float') t.fail(node, `input 0 is ${d}: Round is translated for numeric types only`);
  if (mode === 'half_to_even') return [t.add1('Round', [x])];
  const a = t.add1('Abs', [x]);
  const fl = t.add1('Floor', [a]);
  const up = t.add1('GreaterOrEqual', [t.add1('Sub', [a, fl]), t.scalar(d, 0.5)]);
  const r = t.add1('Where', [up, t.add1('Add', [fl, t.scalar(d, 1)]), fl]);
  return [t.add1('Mul', [r, t.add1('Sign', [x])])];
};

/** FloorMod-1: the remainder with the divisor's sign. Floats: C fmod, plus the divisor where the signs differ. */
const floorMod: Translator = (node, t) => {
  checkNumpyBroadcast(node, t);
  const d = inputType(node, t);
  const a = t.input(node, 0);
  const b = t.input(node, 1);
  const k = kindOf(d);
  if (k === 'int' || k === 'uint') return [t.add1('Mod', [a, b], { fmod: 0 })];
  if (k !== 'float') t.fail(node, `input 0 is ${d}: FloorMod is translated for numeric types only`);
  const zero = t.scalar(d, 0);
  const r = t.add1('Mod', [a, b], { fmod: 1 });
  const nonzero = t.add1('Not', [t.add1('Equal', [r, zero])]);
  const signsDiffer = t.add1('Xor', [t.add1('Less', [r, zero]), t.add1('Less', [b, zero])]);
  return [t.add1('Where', [t.add1('And', [nonzero, signsDiffer]), t.add1('Add', [r, b]), r])];
};

/** Mod-1: the truncated remainder, with the dividend's sign (C fmod, ONNX Mod fmod=1). */
const mod: Translator = (node, t) => {
  checkNumpyBroadcast(node, t);
  const d = inputType(node, t);
  const a = t.input(node, 0);
  const b = t.input(node, 1);
  const k = kindOf(d);
  if (k === 'float') return [t.add1('Mod', [a, b], { fmod: 1 })];
  if (k !== 'int' && k !== 'uint') t.fail(node, `input 0 is ${d}: Mod is translated for numeric types only`);
  // ONNX allows fmod=1 for floats only; a - trunc(a / b) * b with the truncating integer Div.
  return [t.add1('Sub', [a, t.add1('Mul', [t.add1('Div', [a, b]), b])])];
};

/** Selu-1: lambda * (x > 0 ? x : alpha * (exp(x) - 1)), alpha and lambda inputs. */
const selu: Translator = (node, t) => {
  const d = floatInput(node, t);
  const x = t.input(node, 0);
  const negative = t.add1('Mul', [t.input(node, 1), t.add1('Sub', [t.add1('Exp', [x]), t.scalar(d, 1)])]);
  const inner = t.add1('Where', [t.add1('Greater', [x, t.scalar(d, 0)]), x, negative]);
  return [t.add1('Mul', [t.input(node, 2), inner])];
};

/**
 * FakeQuantize-1 by the spec's formula: output_low where x <= min(input_low,
 * input_high), output_high where x > max(...), else
 * round((x - il) / (ih - il) * (levels - 1)) / (levels - 1) * (oh - ol) + ol,
 * rounding half to even as the reference implementation's nearbyint does.
 */
const fakeQuantize: Translator = (node, t) => {
  checkNumpyBroadcast(node, t);
  const d = floatInput(node, t);
  const levels = t.int(node, 'levels') ?? t.fail(node, 'no levels attribute');
  if (levels < 2) t.fail(node, `levels=${levels} is below 2`);
  const [x, il, ih, ol, oh] = [0, 1, 2, 3, 4].map((i) => t.input(node, i)) as [Value, Value, Value, Value, Value];
  const steps = t.scalar(d, levels - 1);
  const scaled = t.add1('Mul', [t.add1('Div', [t.add1('Sub', [x, il]), t.add1('Sub', [ih, il])]), steps]);
  const q = t.add1('Add', [t.add1('Mul', [t.add1('Div', [t.add1('Round', [scaled]), steps]), t.add1('Sub', [oh, ol])]), ol]);
  const below = t.add1('LessOrEqual', [x, t.add1('Min', [il, ih])]);
  const above = t.add1('Greater', [x, t.add1('Max', [il, ih])]);
  return [t.add1('Where', [below, ol, t.add1('Where', [above, oh, q])])];
};

/** NotEqual-1: not Equal. */
const notEqual: Translator = (node, t) => {
  checkNumpyBroadcast(node, t);
  return [t.add1('Not', [t.add1('Equal', [t.input(node, 0), t.input(node, 1)])])];
};

registerTranslators({
  Add: binary('Add'),
  Multiply: binary('Mul'),
  Subtract: binary('Sub'),
  Divide: divide,
  Power: binary('Pow'),
  Maximum: binary('Max'),
  Minimum: binary('Min'),
  SquaredDifference: (node, t) => {
    checkNumpyBroadcast(node, t);
    const diff = t.add1('Sub', [t.input(node, 0), t.input(node, 1)]);
    return [t.add1('Mul', [diff, diff])];
  },
  Clamp: clamp,
  Relu: unary('Relu'),
  Sqrt: floatUnary('Sqrt'),
  Abs: unary('Abs'),
  Negative: (node, t) => {
    const d = inputType(node, t);
    const k = kindOf(d);
    if (k !== 'float' && k !== 'int') t.fail(node, `input 0 is ${d}: Negative is translated for signed types only (ONNX Neg has no unsigned form)`);
    return [t.add1('Neg', [t.input(node, 0)])];
  },
  Sign: unary('Sign'),
  Floor: floatOrCopy('Floor'),
  Ceiling: floatOrCopy('Ceil'),
  Round: round,
  Sigmoid: floatUnary('Sigmoid'),
  Tanh: floatUnary('Tanh'),
  Exp: floatUnary('Exp'),
  Log: floatUnary('Log'),
  Erf: floatUnary('Erf'),
  Sin: floatUnary('Sin'),
  Cos: floatUnary('Cos'),
  Tan: floatUnary('Tan'),
  Asin: floatUnary('Asin'),
  Acos: floatUnary('Acos'),
  Atan: floatUnary('Atan'),
  Sinh: floatUnary('Sinh'),
  Cosh: floatUnary('Cosh'),
  Asinh: floatUnary('Asinh'),
  Acosh: floatUnary('Acosh'),
  Atanh: floatUnary('Atanh'),
  SoftPlus: floatUnary('Softplus'),
  SoftSign: floatUnary('Softsign'),
  PRelu: prelu,
  HSwish: floatDecomposed((t, x, d) => t.add1('Div', [t.add1('Mul', [x, relu6Plus3(t, x, d)]), t.scalar(d, 6)])),
  HSigmoid: floatDecomposed((t, x, d) => t.add1('Div', [relu6Plus3(t, x, d), t.scalar(d, 6)])),
  Swish: swish,
  Elu: (node, t) => {
    floatInput(node, t);
    const alpha = t.float(node, 'alpha') ?? t.fail(node, 'no alpha attribute');
    return [t.add1('Elu', [t.input(node, 0)], { alpha: attr.float(alpha) })];
  },
  Selu: selu,
  // HardSigmoid-1: max(0, min(1, alpha * x + beta)), alpha and beta scalar inputs.
  HardSigmoid: (node, t) => {
    const d = floatInput(node, t);
    const linear = t.add1('Add', [t.add1('Mul', [t.input(node, 1), t.input(node, 0)]), t.input(node, 2)]);
    return [t.add1('Max', [t.add1('Min', [linear, t.scalar(d, 1)]), t.scalar(d, 0)])];
  },
  Gelu: gelu,
  Mish: floatDecomposed((t, x) => t.add1('Mul', [x, t.add1('Tanh', [t.add1('Softplus', [x])])])),
  Equal: binary('Equal'),
  NotEqual: notEqual,
  Less: binary('Less'),
  LessEqual: binary('LessOrEqual'),
  Greater: binary('Greater'),
  GreaterEqual: binary('GreaterOrEqual'),
  LogicalAnd: binary('And'),
  LogicalOr: binary('Or'),
  LogicalXor: binary('Xor'),
  LogicalNot: unary('Not'),
  BitwiseAnd: bitwise('And'),
  BitwiseOr: bitwise('Or'),
  BitwiseXor: bitwise('Xor'),
  BitwiseNot: bitwiseNot,
  BitwiseLeftShift: shift('LEFT'),
  BitwiseRightShift: shift('RIGHT'),
  IsNaN: (node, t) => {
    floatInput(node, t);
    return [t.add1('IsNaN', [t.input(node, 0)])];
  },
  IsInf: (node, t) => {
    floatInput(node, t);
    const detect = (name: string): number => ((t.bool(node, name) ?? true) ? 1 : 0);
    return [t.add1('IsInf', [t.input(node, 0)], { detect_negative: detect('detect_negative'), detect_positive: detect('detect_positive') })];
  },
  // Neither NaN nor an infinity.
  IsFinite: (node, t) => {
    floatInput(node, t);
    const x = t.input(node, 0);
    return [t.add1('Not', [t.add1('Or', [t.add1('IsNaN', [x]), t.add1('IsInf', [x])])])];
  },
  Select: (node, t) => {
    checkNumpyBroadcast(node, t);
    return [t.add1('Where', [t.input(node, 0), t.input(node, 1), t.input(node, 2)])];
  },
  FloorMod: floorMod,
  Mod: mod,
  FakeQuantize: fakeQuantize,
  Convert: (node, t) => {
    const to = t.str(node, 'destination_type') ?? t.fail(node, 'no destination_type');
    return [t.add1('Cast', [t.input(node, 0)], { to: onnxTypeOfElementType(node, t, to) })];
  },
  ConvertLike: (node, t) => [t.add1('Cast', [t.input(node, 0)], { to: onnxTypeOf(node, t, inputType(node, t, 1)) })],
});
