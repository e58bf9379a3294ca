import type { Graph, Node, Value } from '../ir/graph';
import type { Model, ModelFunction, Opset } from '../ir/model';

/** What a rule sees besides the node it is tried at. */
export interface RuleContext {
  readonly model: Model;
  readonly graph: Graph;
  /** The target the bundle is applied for (`--target`, default `default`). */
  readonly target: string;
  /**
   * The operator sets the nodes of `graph` bind to: the model's, or in a
   * function body (and the subgraphs inside it) the function's own.
   */
  readonly opsets: readonly Opset[];
  /** The function whose body `graph` is (or is inside), if any. */
  readonly function?: ModelFunction;
}

/** A rule matched at a node and its conditions hold: what to remove, and how to build the replacement. */
export interface RuleHit {
  readonly ok: true;
  /** Every node of the matched subgraph, the root (whose outputs the replacement takes over) last. */
  readonly matched: readonly Node[];
  /**
   * Builds the replacement in `graph` and returns the nodes it added. Its final
   * node(s) must produce exactly `reuseOutputs` (the root's outputs, detached
   * from the root before the call), so names, value_info and graph outputs stay.
   */
  rewrite(graph: Graph, reuseOutputs: readonly Value[]): Replacement;
}

/** What a rule's rewrite built. */
export interface Replacement {
  /** The nodes it added. */
  readonly nodes: readonly Node[];
  /**
   * Takes back everything the rewrite did (nodes, values, readers pointed
   * elsewhere), for when the driver refuses the result. Without it the driver
   * removes `nodes` and the values they made.
   */
  readonly undo?: () => void;
}

/** A rule did not apply at a node: the first condition that failed, in words. */
export interface RuleMiss {
  readonly ok: false;
  readonly reason: string;
  /** Set when a condition could not be evaluated (a fault of the rule, not a property of the node). */
  readonly error?: boolean;
}

/**
 * A rule compiled to something the driver can run: a pattern rule is tried at
 * nodes whose op is in `rootOps` (the driver keeps nodes indexed by op, so the
 * cost grows with the graph, not graph x rules x pattern size).
 */
export interface PatternRule {
  readonly kind: 'pattern';
  readonly id: string;
  /** Ops the root node may have; '*' for any. */
  readonly rootOps: readonly string[] | '*';
  /** Allows intermediate values of the match to have readers outside it (they are then kept). */
  readonly sharedIntermediates?: boolean;
  /** Tries the rule at `node` as the root of its pattern. */
  match(node: Node, ctx: RuleContext): RuleHit | RuleMiss;
}

/** What an action reports back. */
export interface ActionOutcome {
  /** How many things it changed (nodes removed, shapes fixed...), 0 when nothing. */
  readonly changes: number;
  /** One line for the report. */
  readonly summary: string;
}

/** A named built-in action with its parameters, run once where it stands in the bundle. */
export interface ActionRule {
  readonly kind: 'action';
  readonly id: string;
  readonly action: string;
  /** The recipe the action comes from: the actions of one recipe in a row run as one step (see applyRules). */
  readonly recipe?: string;
  run(model: Model, target: string): ActionOutcome;
}

/** A rule the driver can run. */
export type CompiledRule = PatternRule | ActionRule;
