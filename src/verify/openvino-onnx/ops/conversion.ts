/**
 * OpenVINO ops that change element types: ConvertPromoteTypes (two inputs
 * cast to their common type) and FakeConvert (a float8 type emulated on f16
 * or f32 data).
 */
import { dtypeOfElementType, elementTypeOf } from '../../../formats/openvino/element-types';
import { DTYPES, type DType } from '../../../ir/dtype';
import type { Node, Value } from '../../../ir/graph';
import { registerTranslators, type Translation } from '../translation';
import { onnxTypeOf } from './common';

/** The OpenVINO name of an element type, for messages. */
function ovName(d: DType): string {
  return elementTypeOf(d) ?? d;
}

/** Element types an ONNX opset-17 Cast takes and gives in onnxruntime: no float8, no 4-bit types. */
function castable(d: DType): boolean {
  const { kind, bits } = DTYPES[d];
  return (kind === 'float' && bits >= 16) || ((kind === 'int' || kind === 'uint') && bits >= 8) || kind === 'bool';
}

/** The signed integer type of `bits` bits. */
function signedOfBits(bits: number): DType {
  const types: Record<number, DType> = { 4: 'int4', 8: 'int8', 16: 'int16', 32: 'int32', 64: 'int64' };
  return types[bits] ?? 'int64';
}

/**
 * The common type of ConvertPromoteTypes-14, by the rules of OpenVINO's
 * evaluate_common_type (src/core/src/op/convert_promote_types.cpp): equal
 * types stay; a boolean takes the other type; float and integer give the
 * float (when safe: of at least twice the integer's bits); with
 * pytorch_scalar_promotion a rank-0 input of the same kind takes the other
 * input's type; signed and unsigned integers give a signed one twice as wide
 * as the unsigned (u64 with a signed one: u64_integer_promotion_target);
 * else the wider type; f16 with bf16 gives f32 and f8e4m3 with f8e5m2 f16
 * (unsafe only). Combinations OpenVINO rejects fail here too.
 */
function commonType(node: Node, t: Translation): DType {
  const [a, b] = [0, 1].map((i) => t.inputDType(node, i) ?? t.fail(node, `the element type of input ${i} is not declared`)) as [DType, DType];
  const unsafe = t.bool(node, 'promote_unsafe') ?? false;
  const pytorch = t.bool(node, 'pytorch_scalar_promotion') ?? false;
  const rejected = (why: string): never => t.fail(node, `OpenVINO rejects ${ovName(a)} with ${ovName(b)}: ${why}`);
  if (a === b) return a;
  if (a === 'bool') return b;
  if (b === 'bool') return a;
  const bitsA = DTYPES[a].bits;
  const bitsB = DTYPES[b].bits;
  const realA = DTYPES[a].kind === 'float';
  const realB = DTYPES[b].kind === 'float';
  if (realA !== realB) {
    const [real, integer] = realA ? [a, b] : [b, a];
    if (!unsafe && DTYPES[real].bits < 2 * DTYPES[integer].bits) rejected(`the float has fewer than twice the integer's bits (promote_unsafe="false")`);
    return real;
  }
  if (pytorch) {
    const [rankA, rankB] = [0, 1].map((i) => t.inputRank(node, i) ?? t.fail(node, `pytorch_scalar_promotion="true" needs the rank of input ${i}`));
    if ((rankA === 0) !== (rankB === 0)) {
      const [scalar, target] = rankA === 0 ? [a, b] : [b, a];
      const signedScalar = DTYPES[scalar].kind !== 'uint';
      const signedTarget = DTYPES[target].kind !== 'uint';
      const fits =
        (signedTarget === signedScalar && DTYPES[target].bits >= DTYPES[scalar].bits) || (signedTarget && !signedScalar && DTYPES[target].bits * 2 >= DTYPES[scalar].bits);
      if (!unsafe && !fits) rejected(`the scalar's type does not fit the tensor's (promote_unsafe="false")`);
      return target;
    }
  }
  const signedA = DTYPES[a].kind !== 'uint';
  const signedB = DTYPES[b].kind !== 'uint';
  if (signedA !== signedB) {
    const unsignedBits = signedA ? bitsB : bitsA;
    const signedBits = signedA ? bitsA : bitsB;
    if (unsignedBits <= 32 && (unsafe || unsignedBits * 2 <= signedBits)) return signedOfBits(Math.max(unsignedBits * 2, signedBits));
    if (!unsafe) rejected(`no signed type of its width holds every value of the unsigned one (promote_unsafe="false")`);
    const target = (t.str(node, 'u64_integer_promotion_target') ?? 'f32').trim();
    return dtypeOfElementType(target) ?? t.fail(node, `u64_integer_promotion_target="${target}" is not an element type`);
  }
  if (bitsA !== bitsB) return bitsA > bitsB ? a : b;
  if (unsafe) {
    const both = [a, b].sort().join();
    if (both === 'float8e4m3fn,float8e5m2') return 'float16';
    if (both === 'bfloat16,float16') return 'float32';
  }
  return rejected(`no rule promotes them${unsafe ? '' : ' (promote_unsafe="false")'}`);
}

/**
 * ConvertPromoteTypes-14: both inputs cast to their common type (Convert's
 * C++ conversions, which ONNX Cast shares: integers wrap, floats round to
 * nearest even).
 */
function convertPromoteTypes(node: Node, t: Translation): Value[] {
  const common = commonType(node, t);
  for (const d of [t.inputDType(node, 0)!, t.inputDType(node, 1)!, common]) {
    if (!castable(d)) t.fail(node, `element type ${ovName(d)} is not translated (ONNX opset 17 has no Cast to or from it)`);
  }
  const to = onnxTypeOf(node, t, common);
  return [0, 1].map((i) => (t.inputDType(node, i) === common ? t.add1('Identity', [t.input(node, i)]) : t.add1('Cast', [t.input(node, i)], { to })));
}

const F8_MAX = { f8e4m3: 448, f8e5m2: 57344 } as const;

/**
 * The largest power of two not above `a` (a non-negative float32 value),
 * at least `lowest` and at most lowest * 2^31: a binary search over the
 * exponent, exact where a logarithm would not be. NaN gives `lowest`.
 */
function powerOfTwoBelow(t: Translation, a: Value, lowest: number): Value {
  let p = t.add1('Expand', [t.scalar('float32', lowest), t.add1('Shape', [a])]);
  for (const step of [16, 8, 4, 2, 1]) {
    const up = t.add1('Mul', [p, t.scalar('float32', 2 ** step)]);
    p = t.add1('Where', [t.add1('GreaterOrEqual', [a, up]), up, p]);
  }
  return p;
}

/** x rounded to the nearest multiple of `quantum` (a float32 power of two), ties to even. */
function roundTo(t: Translation, x: Value, quantum: Value): Value {
  return t.add1('Mul', [t.add1('Round', [t.add1('Div', [x, quantum])]), quantum]);
}

/**
 * OpenVINO's emulate_f8e5m2_on_fp16 on a float32 tensor holding f16 values:
 * rounds to 2 mantissa bits, ties to even (f16 and f8e5m2 share the exponent
 * range, so the quantum is 2^(e - 2) with e the exponent, at least -14);
 * a result past the largest f8e5m2 value, and an infinity, clamp to ±57344.
 * NaN stays NaN.
 */
function f8e5m2(t: Translation, v: Value): Value {
  const quantum = t.add1('Mul', [powerOfTwoBelow(t, t.add1('Abs', [v]), 2 ** -14), t.scalar('float32', 2 ** -2)]);
  const r = roundTo(t, v, quantum);
  const max = t.scalar('float32', F8_MAX.f8e5m2);
  const min = t.scalar('float32', -F8_MAX.f8e5m2);
  return t.add1('Where', [t.add1('Greater', [r, max]), max, t.add1('Where', [t.add1('Less', [r, min]), min, r])]);
}

/**
 * OpenVINO's emulate_f8e4m3_on_fp16 on a float32 tensor holding f16 values,
 * on the magnitude a: below 2^-9 it flushes to 0; from 448 (and infinities,
 * and NaN) it clamps to 448; else it rounds to 3 mantissa bits, ties to
 * even, and below 2^-6 (the subnormals of f8e4m3) then truncates that to a
 * multiple of 2^-9, as the reference shifts the rounded mantissa. The sign
 * comes back last.
 */
function f8e4m3(t: Translation, v: Value): Value {
  const f = (x: number): Value => t.scalar('float32', x);
  const a = t.add1('Abs', [v]);
  const quantum = t.add1('Mul', [powerOfTwoBelow(t, a, 2 ** -9), f(2 ** -3)]);
  const rounded = roundTo(t, a, quantum);
  const subnormal = t.add1('Mul', [t.add1('Floor', [t.add1('Div', [rounded, f(2 ** -9)])]), f(2 ** -9)]);
  const inRange = t.add1('Where', [t.add1('Less', [a, f(2 ** -6)]), subnormal, rounded]);
  // Not below 448 is also true of NaN.
  const clamped = t.add1('Where', [t.add1('Not', [t.add1('Less', [a, f(F8_MAX.f8e4m3)])]), f(F8_MAX.f8e4m3), inRange]);
  const magnitude = t.add1('Where', [t.add1('Less', [a, f(2 ** -9)]), f(0), clamped]);
  return t.add1('Where', [t.add1('Less', [v, f(0)]), t.add1('Neg', [magnitude]), magnitude]);
}

/**
 * FakeConvert-13 as OpenVINO's reference computes it: data * scale - shift
 * in the data's type, converted to f16 (for f32 data), the float8 format
 * emulated on the f16 value, and (x + shift) / scale in the data's type.
 * Everything is computed in float32 here: f16 results are rounded back to
 * f16 after each operation, as OpenVINO's float16 arithmetic rounds (f32 has
 * more than twice f16's precision, so rounding twice changes nothing).
 */
function fakeConvert(node: Node, t: Translation): Value[] {
  const destination = (t.str(node, 'destination_type') ?? t.fail(node, 'no destination_type')).trim();
  if (destination !== 'f8e4m3' && destination !== 'f8e5m2') t.fail(node, `destination_type="${destination}" is not translated (f8e4m3 and f8e5m2 are)`);
  const d = t.inputDType(node, 0) ?? t.fail(node, 'the element type of data is not declared');
  if (d !== 'float32' && d !== 'float16') t.fail(node, `data is ${ovName(d)}: FakeConvert is translated for f32 and f16 data`);
  const float32 = onnxTypeOf(node, t, 'float32');
  const float16 = onnxTypeOf(node, t, 'float16');
  const toF16AndBack = (v: Value): Value => t.add1('Cast', [t.add1('Cast', [v], { to: float16 })], { to: float32 });
  const inDataType = (v: Value): Value => (d === 'float16' ? toF16AndBack(v) : v);
  const input = (i: number): Value => (d === 'float32' ? t.input(node, i) : t.add1('Cast', [t.input(node, i)], { to: float32 }));
  const scale = input(1);
  const shift = node.inputs[2] ? input(2) : null;
  let x = inDataType(t.add1('Mul', [input(0), scale]));
  if (shift) x = inDataType(t.add1('Sub', [x, shift]));
  const half = d === 'float16' ? x : toF16AndBack(x);
  let y = destination === 'f8e4m3' ? f8e4m3(t, half) : f8e5m2(t, half);
  if (shift) y = inDataType(t.add1('Add', [y, shift]));
  y = t.add1('Div', [y, scale]);
  return [d === 'float16' ? t.add1('Cast', [y], { to: float16 }) : y];
}

registerTranslators({
  ConvertPromoteTypes: convertPromoteTypes,
  FakeConvert: fakeConvert,
});
