/**
 * x -> Outer{k} -> y: Outer calls Inner (a BatchNormalization of constants,
 * which core/batchnorm rewrites), reads its formal attribute k through a
 * reference, and holds an If with two subgraphs.
 */
export const NESTED_FUNCTIONS_TEXT = `model onnx
opsets ai.onnx:17, local:1
graph main
  in x: float32[1, 3, 4, 4]
  in c: bool[]
  call: y: float32[1, 3, 4, 4] = local::Outer(x, c) {k: 0.5}
  out y
function local::Inner
  opsets ai.onnx:17
  in X
  const scale: float32[3] = [1.0, 2.0, 3.0]
  const bias: float32[3] = [0.0, 0.5, 1.0]
  const mean: float32[3] = [0.1, 0.2, 0.3]
  const var: float32[3] = [1.0, 1.5, 2.0]
  bn: Y = BatchNormalization(X, scale, bias, mean, var) {epsilon: 0.001}
  out Y
function local::Outer
  opsets ai.onnx:17, local:1
  attr k = 2.0
  in X
  in C
  inner: h = local::Inner(X)
  kc: K = Constant() {value_float: @k}
  br: Y = If(C) {
    then_branch:
      graph then
        m: t = Mul(h, K)
        out t
    else_branch:
      graph else
        a: e = Abs(h)
        out e
  }
  out Y
`;
