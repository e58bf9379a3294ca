import type { Attr } from '../ir/attr';
import type { Node, Value } from '../ir/graph';
import type { Tensor } from '../ir/tensor';

/** What a capture name stands for; `values-list` is a variadic `$rest...`. */
export type CaptureKind = 'value' | 'const' | 'node' | 'attr' | 'values-list';

/** One capture of a compiled pattern: its kind and where it is first written. */
export interface CaptureInfo {
  readonly name: string;
  readonly kind: CaptureKind;
  /** True when a match may bind it to null (`$b?`, `$eps?`). */
  readonly optional: boolean;
  /** Offsets of its first occurrence in the pattern text. */
  readonly start: number;
  readonly end: number;
}

/**
 * What a successful match captured. Names are without `$`/`@`.
 * - `values`: value and const captures, and `$t=` node outputs (null: an absent optional input);
 * - `consts`: the tensor of every `:const` capture (an initializer, or an ONNX Constant node's value);
 * - `nodes`: `@n` captures; `attrs`: attribute captures (null: absent, optional, no default);
 * - `lists`: variadic captures; `listConsts`: the tensors of every `$parts:const...`;
 * - `matchedNodes`: every node the pattern matched, root last.
 */
export interface Bindings {
  readonly root: Node;
  readonly values: ReadonlyMap<string, Value | null>;
  readonly consts: ReadonlyMap<string, Tensor>;
  readonly nodes: ReadonlyMap<string, Node>;
  readonly attrs: ReadonlyMap<string, Attr | null>;
  readonly lists: ReadonlyMap<string, readonly (Value | null)[]>;
  readonly listConsts: ReadonlyMap<string, readonly Tensor[]>;
  readonly matchedNodes: readonly Node[];
}

/** The outcome of matching one candidate node: bindings, or the first condition that failed. */
export type MatchResult =
  | { ok: true; bindings: Bindings }
  | { ok: false; reason: string; node?: Node };
