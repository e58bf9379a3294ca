/**
 * Graph-text lines of an ONNX If on `cond` that gives Relu(x) when it holds
 * and Neg(x) when not, as output `y` of shape `shape`: which branch ran shows
 * in the numbers.
 */
export function reluOrNegIf(cond: string, shape: string): string {
  return `  i: y: float32${shape} = If(${cond}) {
    then_branch:
      graph then
        r: t: float32${shape} = Relu(x)
        out t
    else_branch:
      graph else
        n: u: float32${shape} = Neg(x)
        out u
  }
`;
}
