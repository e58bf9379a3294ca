/**
 * Fused elementwise arithmetic: an expression such as
 * `$scale / sqrt($var + $eps)` computed operation by operation into working
 * vectors the expression keeps, with no tensor for `$var + $eps` or its
 * square root. A rule evaluates a few such expressions at every match, and
 * the intermediate tensors (their arrays, shapes and wrappers) were most of
 * what its arithmetic allocated.
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
import { ExprValue, SCRATCH_ELEMENTS, floatTensor, numbersFor } from './values';

/** What the caller compiled an expression to: its value in an environment. */
export type CompiledLeaf<Env> = (env: Env) => ExprValue;

/** One operation of a fused tree: its spec, its loop, and its operands as indexes into the tree's list of steps. */
interface OpStep {
  readonly kind: 'op';
  readonly spec: ElementwiseSpec;
  readonly loop: Loop;
  readonly operands: readonly number[];
}

/**
 * Which loop computes an operation: the four arithmetic operators and sqrt
 * (what folded constants such as `$scale / sqrt($var + $eps)` are made of)
 * each have their own, in which the operation is inlined; any other spec is
 * called per element. One loop for all specs would call a different function
 * at one call site, which the JIT cannot inline: that call was most of the
 * fused pass's time.
 */
const enum Loop {
  Add,
  Subtract,
  Multiply,
  Divide,
  Sqrt,
  Generic,
}

function loopFor(spec: ElementwiseSpec): Loop {
  if (spec === BINARY_OPS['+']) return Loop.Add;
  if (spec === BINARY_OPS['-']) return Loop.Subtract;
  if (spec === BINARY_OPS['*']) return Loop.Multiply;
  if (spec === BINARY_OPS['/']) return Loop.Divide;
  if (spec === UNARY_MATH_SPECS.get('sqrt')) return Loop.Sqrt;
  return Loop.Generic;
}
/** A leaf: any other expression, evaluated the usual way; its value must be a float tensor or a number. */
interface LeafStep<Env> {
  readonly kind: 'leaf';
  readonly leaf: number;
  readonly evaluate: CompiledLeaf<Env>;
}
type Step<Env> = OpStep | LeafStep<Env>;

/** The largest working vector an expression keeps between evaluations (elements); larger ones are made each time. */
const KEPT_BUFFER_ELEMENTS = 4096;

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
    steps.push({ kind: 'op', spec: op.spec, loop: loopFor(op.spec), operands });
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
  /** Per step: its elements (a tensor leaf's or an operation's result), undefined for a number leaf. */
  private readonly vectors: (Float64Array | undefined)[];
  /** Per step: the number of a number leaf, rounded to the dtype. */
  private readonly numbers: Float64Array;
  /** Working vectors: one per operation step, then one per leaf whose elements need converting. */
  private readonly buffers: (Float64Array | undefined)[];
  /** Set while `run` runs: a leaf that evaluated this very expression again would find the arrays in use. */
  private busy = false;

  constructor(
    private readonly steps: readonly Step<Env>[],
    private readonly leafCount: number,
  ) {
    this.leafValues = new Array<ExprValue | undefined>(leafCount).fill(undefined);
    this.leafTensors = new Array<Tensor | undefined>(leafCount).fill(undefined);
    this.scratch = Array.from({ length: leafCount }, () => new Float64Array(SCRATCH_ELEMENTS));
    this.vectors = new Array<Float64Array | undefined>(steps.length).fill(undefined);
    this.numbers = new Float64Array(steps.length);
    this.buffers = new Array<Float64Array | undefined>(steps.length + leafCount).fill(undefined);
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
      this.vectors.fill(undefined);
      this.busy = false;
    }
  }

  private compute(env: Env): Tensor | undefined {
    const { steps, leafValues, leafTensors, vectors, numbers } = this;
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
    const n = elementCount(like.shape);
    const last = steps.length - 1;
    let out: Float64Array | undefined;
    // Operation by operation over whole vectors (each loop calls one function
    // on arrays of one kind), each step's vector in a buffer of this expression.
    for (let s = 0; s <= last; s++) {
      const step = steps[s]!;
      if (step.kind === 'leaf') {
        const t = leafTensors[step.leaf];
        if (t) vectors[s] = this.leafVector(step.leaf, t, n);
        else {
          vectors[s] = undefined;
          // A number is rounded to the dtype where it meets a tensor, as the same-shape float path rounds it.
          const x = leafValues[step.leaf] as number;
          numbers[s] = single ? Math.fround(x) : x;
        }
        continue;
      }
      const o = step.operands;
      const a = vectors[o[0]!];
      const b = o.length > 1 ? vectors[o[1]!] : undefined;
      // An operation on numbers alone computes as scalars (no rounding to the dtype): not fused.
      if (!a && !b) return undefined;
      const x = a ? 0 : numbers[o[0]!]!;
      const y = b || o.length < 2 ? 0 : numbers[o[1]!]!;
      const result = s === last ? (out = new Float64Array(n)) : this.buffer(s, n);
      computeStep(step, a, b, x, y, result, n);
      // Each result is stored in the dtype, as a Float32Array store would round it.
      if (single) for (let i = 0; i < n; i++) result[i] = Math.fround(result[i]!);
      vectors[s] = result;
    }
    return out ? floatTensor(dtype, like.shape, out) : undefined;
  }

  /** A tensor leaf's `n` elements as doubles: as they are when they already are, else copied into this leaf's buffer. */
  private leafVector(leaf: number, t: Tensor, n: number): Float64Array {
    const e = numbersFor(t, this.scratch[leaf]!);
    if (e instanceof Float64Array) return e;
    const into = this.buffer(this.steps.length + leaf, n);
    for (let i = 0; i < n; i++) into[i] = e[i]!;
    return into;
  }

  /** Buffer `k` (a step's vector, or after the steps a leaf's copy), at least `n` long; kept for the next evaluation unless large. */
  private buffer(k: number, n: number): Float64Array {
    const kept = this.buffers[k];
    if (kept && kept.length >= n) return kept;
    const made = new Float64Array(n);
    if (n <= KEPT_BUFFER_ELEMENTS) this.buffers[k] = made;
    return made;
  }

  /** How many leaves the fused tree reads (for tests). */
  get leaves(): number {
    return this.leafCount;
  }
}

/**
 * `result[i] = op(a[i], b[i])` for i < n, where a missing vector stands for
 * its number (`x` for `a`, `y` for `b`); a one-operand op reads `a` or `x`.
 */
function computeStep(step: OpStep, a: Float64Array | undefined, b: Float64Array | undefined, x: number, y: number, result: Float64Array, n: number): void {
  switch (step.loop) {
    case Loop.Add:
      for (let i = 0; i < n; i++) result[i] = (a ? a[i]! : x) + (b ? b[i]! : y);
      return;
    case Loop.Subtract:
      for (let i = 0; i < n; i++) result[i] = (a ? a[i]! : x) - (b ? b[i]! : y);
      return;
    case Loop.Multiply:
      for (let i = 0; i < n; i++) result[i] = (a ? a[i]! : x) * (b ? b[i]! : y);
      return;
    case Loop.Divide:
      for (let i = 0; i < n; i++) result[i] = (a ? a[i]! : x) / (b ? b[i]! : y);
      return;
    case Loop.Sqrt:
      for (let i = 0; i < n; i++) result[i] = Math.sqrt(a ? a[i]! : x);
      return;
    case Loop.Generic: {
      const num = step.spec.num;
      for (let i = 0; i < n; i++) result[i] = num(a ? a[i]! : x, b ? b[i]! : y, 0);
    }
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
