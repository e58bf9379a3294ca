/**
 * How many boxes PriorBox (-1, -8; the min_size / max_size / aspect_ratio
 * form of SSD) puts on each cell of its feature map: the reference's
 * number_of_priors. Aspect ratios count once each, 1 included, their
 * inverses too with `flip` (compared in float32 to six decimals). With
 * scale_all_sizes every min_size gets every ratio and each max_size one box
 * more; without it (MXNet's form) the ratios go to the last min_size only.
 * The shape rules and the ONNX translation both count with it.
 */
export function priorBoxesPerCell(aspectRatios: readonly number[], flip: boolean, minSizes: number, maxSizes: number, scaleAllSizes: boolean): number {
  const distinct = new Set<number>([1]);
  for (const r of aspectRatios) {
    distinct.add(Math.round(Math.fround(r) * 1e6) / 1e6);
    if (flip) distinct.add(Math.round(Math.fround(1 / Math.fround(r)) * 1e6) / 1e6);
  }
  return scaleAllSizes ? distinct.size * minSizes + maxSizes : distinct.size + minSizes - 1;
}
