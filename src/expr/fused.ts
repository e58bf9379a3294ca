/**
 * Fused elementwise arithmetic: an expression such as
 * `$scale / sqrt($var + $eps)` computed element by element in one pass, with
 * no tensor for `$var + $eps` or its square root. A rule evaluates a few such
 * expressions at every match, and the intermediate tensors (their arrays,
 * shapes and wrappers) were most of what its arithmetic allocated.
 *
 * The result is exactly the one of evaluating operation by operation: the
 * fused pass is taken only where each operation would have taken the
 * same-shape float path of tensor-math.ts (float32 or float64 tensors of one
 * dtype and one shape, plain numbers beside them), and it rounds as that path
 * does (each number to the dtype where it meets a tensor, each result to the
 * dtype). Anything else (a bigint, a list, another dtype, broadcasting, an
 * error) makes `run` return undefined, and the caller evaluates the usual way,
 * which gives the usual result or error.
 */
import { Value as GraphValue } from '../ir/graph';
import { Tensor } from '../ir/tensor';
import type { Expr } from './ast';
import { UNARY_MATH_SPECS } from './builtins/math';
import { BINARY_OPS, lookupFunction } from './functions';
import type { ElementwiseSpec } from './tensor-math';
import { ExprValue, NumberArray, SCRATCH_ELEMENTS, floatTensor, numbersFor } from './values';

/** What the caller compiled an expression to: its value in an environment. */
export type CompiledLeaf<Env> = (env: Env) => ExprValue;

/** One operation of a fused tree: its spec, and its operands as indexes into the tree's list of steps. */
interface OpStep {
  readonly kind: 'op';
  readonly spec: ElementwiseSpec;
  readonly operands: readonly number[];
}
/** A leaf: any other expression, evaluated the usual way; its value must be a float tensor or a number. */
interface LeafStep<Env> {
  readonly kind: 'leaf';
  readonly leaf: number;
  readonly evaluate: CompiledLeaf<Env>;
}
type Step<Env> = OpStep | LeafStep<Env>;

/** Binary operators whose float path is plain elementwise math (no comparisons, no integer division). */
const FUSED_BINARY = new Set(['+', '-', '*', '/']);

/** The spec an expression computes elementwise on its operands, with the operands; undefined for anything else. */
function asOperation(e: Expr): { spec: ElementwiseSpec; operands: readonly Expr[] } | undefined {
  if (e.type === 'binary' && FUSED_BINARY.has(e.op)) {
    const spec = BINARY_OPS[e.op];
    return spec ? { spec, operands: [e.left, e.right] } : undefined;
  }
  if (e.type === 'call' && e.args.length === 1) {
    const spec = UNARY_MATH_SPECS.get(e.callee);
    return spec && lookupFunction(e.callee) ? { spec, operands: e.args } : undefined;
  }
  return undefined;
}

/**
 * The fused form of `e`, or undefined when fusing gains nothing (fewer than
 * two operations in a row). `compileLeaf` compiles what is not fused.
 */
export function fuseElementwise<Env>(e: Expr, compileLeaf: (e: Expr) => CompiledLeaf<Env>): FusedElementwise<Env> | undefined {
  // Only an operation roots a fused tree (a leaf is compiled by the caller, which may be compiling `e` itself).
  if (!asOperation(e)) return undefined;
  const steps: Step<Env>[] = [];
  let leaves = 0;
  let ops = 0;
  // Post-order: operands before the operation, leaves left to right (the order they are evaluated in unfused).
  const add = (x: Expr): number => {
    const op = asOperation(x);
    if (!op) {
      steps.push({ kind: 'leaf', leaf: leaves++, evaluate: compileLeaf(x) });
      return steps.length - 1;
    }
    const operands = op.operands.map(add);
    ops++;
    steps.push({ kind: 'op', spec: op.spec, operands });
    return steps.length - 1;
  };
  add(e);
  return ops >= 2 ? new FusedElementwise(steps, leaves) : undefined;
}

/** A compiled fused expression (see the file comment). */
export class FusedElementwise<Env> {
  // Working arrays, one set per expression, reused at every evaluation: a
  // rule evaluates its expressions at every match, and fresh arrays for each
  // evaluation would cost about as much as the tensors fusing saves.
  /** Each leaf's value. */
  private readonly leafValues: (ExprValue | undefined)[];
  /** Each leaf's tensor (undefined for a number). */
  private readonly leafTensors: (Tensor | undefined)[];
  /** Where each leaf's small tensor is decoded. */
  private readonly scratch: Float64Array[];
  /** Per step: the elements of a tensor leaf, undefined for a number leaf or an operation. */
  private readonly elements: (NumberArray | undefined)[];
  /** Per step: the number of a number leaf (rounded to the dtype), or the current element's value. */
  private readonly values: Float64Array;
  /** Per step: whether it gives a tensor. */
  private readonly isTensor: boolean[];
  /** Set while `run` runs: a leaf that evaluated this very expression again would find the arrays in use. */
  private busy = false;

  constructor(
    private readonly steps: readonly Step<Env>[],
    private readonly leafCount: number,
  ) {
    this.leafValues = new Array<ExprValue | undefined>(leafCount).fill(undefined);
    this.leafTensors = new Array<Tensor | undefined>(leafCount).fill(undefined);
    this.scratch = Array.from({ length: leafCount }, () => new Float64Array(SCRATCH_ELEMENTS));
    this.elements = new Array<NumberArray | undefined>(steps.length).fill(undefined);
    this.values = new Float64Array(steps.length);
    this.isTensor = new Array<boolean>(steps.length).fill(false);
  }

  /** The value, or undefined when the fused pass does not apply here (the caller then evaluates unfused). */
  run(env: Env): Tensor | undefined {
    if (this.busy) return undefined;
    this.busy = true;
    try {
      return this.compute(env);
    } finally {
      // Keep no tensor of this evaluation alive until the next one.
      this.leafValues.fill(undefined);
      this.leafTensors.fill(undefined);
      this.elements.fill(undefined);
      this.busy = false;
    }
  }

  private compute(env: Env): Tensor | undefined {
    const { steps, leafValues, leafTensors, elements, values, isTensor } = this;
    for (const step of steps) {
      if (step.kind !== 'leaf') continue;
      try {
        leafValues[step.leaf] = step.evaluate(env);
      } catch {
        // The unfused evaluation reports the error (or an earlier one) itself.
        return undefined;
      }
    }
    // Every tensor leaf: float32 or float64, one dtype, one shape.
    let like: Tensor | undefined;
    for (let i = 0; i < leafValues.length; i++) {
      const v = leafValues[i];
      const t = v instanceof Tensor ? v : v instanceof GraphValue ? v.const : undefined;
      if (t) {
        if (t.dtype !== 'float32' && t.dtype !== 'float64') return undefined;
        if (!like) like = t;
        else if (t.dtype !== like.dtype || !sameDims(t.shape, like.shape)) return undefined;
      } else if (typeof v !== 'number') return undefined;
      leafTensors[i] = t;
    }
    if (!like) return undefined;
    const dtype = like.dtype as 'float32' | 'float64';
    const single = dtype === 'float32';
    for (let s = 0; s < steps.length; s++) {
      const step = steps[s]!;
      if (step.kind === 'leaf') {
        const t = leafTensors[step.leaf];
        isTensor[s] = t !== undefined;
        if (t) elements[s] = numbersFor(t, this.scratch[step.leaf]!);
        else {
          // A number is rounded to the dtype where it meets a tensor, as the same-shape float path rounds it.
          const x = leafValues[step.leaf] as number;
          values[s] = single ? Math.fround(x) : x;
        }
      } else {
        // An operation on numbers alone computes as scalars (no rounding to the dtype): not fused.
        const o = step.operands;
        if (!isTensor[o[0]!] && !(o.length > 1 && isTensor[o[1]!])) return undefined;
        isTensor[s] = true;
      }
    }
    const n = elementCount(like.shape);
    const out = new Float64Array(n);
    const last = steps.length - 1;
    for (let i = 0; i < n; i++) {
      for (let s = 0; s <= last; s++) {
        const step = steps[s]!;
        if (step.kind === 'leaf') {
          const e = elements[s];
          if (e) values[s] = e[i]!;
        } else {
          const o = step.operands;
          const r = step.spec.num(values[o[0]!]!, o.length > 1 ? values[o[1]!]! : 0, 0);
          values[s] = single ? Math.fround(r) : r;
        }
      }
      out[i] = values[last]!;
    }
    return floatTensor(dtype, like.shape, out);
  }

  /** How many leaves the fused tree reads (for tests). */
  get leaves(): number {
    return this.leafCount;
  }
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i]!;
  return n;
}
