import { GraphError, ModelError } from '../errors';
import type { Graph, Node, Value } from '../ir/graph';
import { functionLabel, type Model, type ModelFunction } from '../ir/model';
import { CycleError, cleanup, hasSource, nodeOnCycle, sourcelessValues, toposort, validate } from '../ir/passes';
import { opArity } from '../recipe/ops';
import type { ActionRule, CompiledRule, PatternRule, RuleContext, RuleHit, RuleMiss } from './rule';

/** Per rule: how often it was tried, matched, applied and refused. */
export interface RuleStats {
  id: string;
  kind: 'pattern' | 'action';
  /** Nodes it was tried at (each node once per round). */
  candidates: number;
  /** Times the pattern and its conditions held. */
  matches: number;
  /** Replacements applied. */
  rewrites: number;
  /** Replacements refused because they would leave the graph invalid (the graph kept as before). */
  refused: { node: string; graph: string; reason: string }[];
  /** Candidates where a condition could not be evaluated, and the first such failure. */
  evalErrors: number;
  firstEvalError?: string;
  /** For an action: its own summary line. */
  summary?: string;
}

/** Why a rule did not fire at a node: the first failed condition (`--explain`). */
export interface NearMiss {
  node: string;
  op: string;
  graph: string;
  reason: string;
}

/** What applying a bundle did. */
export interface ApplyReport {
  rules: RuleStats[];
  /** Fixpoint rounds run, summed over graphs and rule groups. */
  rounds: number;
  /** Set when a group still changed the graph at the iteration bound. */
  boundHit: boolean;
  warnings: string[];
  /** Near misses of the rule named in `explain`, one per candidate node. */
  explain: NearMiss[];
  /** Nodes and values removed by the final cleanup. */
  cleanup: { nodes: number; values: number };
}

/** Progress of a long run, for a display. */
export interface Progress {
  rule: string;
  graph: string;
  done: number;
  total: number;
}

export interface ApplyOptions {
  target?: string;
  /** Bound on fixpoint rounds per group of pattern rules (per graph). */
  maxIterations?: number;
  /** Collect near misses of this rule id. */
  explain?: string;
  /** Called now and then during long runs. */
  onProgress?: (p: Progress) => void;
  /** Skip the final cleanup + toposort (tests that look at the raw result). */
  skipCleanup?: boolean;
}

/**
 * Applies rules to a model: consecutive pattern rules together to a fixpoint
 * (every graph, subgraphs and function bodies included), each action once
 * where it stands; then removes what is unused and sorts the nodes. Every
 * application is checked locally; one that would leave the graph invalid is
 * undone and reported.
 */
export function applyRules(model: Model, rules: readonly CompiledRule[], options: ApplyOptions = {}): ApplyReport {
  const target = options.target ?? 'default';
  const maxIterations = options.maxIterations ?? 16;
  const stats = new Map<string, RuleStats>();
  for (const r of rules) stats.set(r.id, { id: r.id, kind: r.kind, candidates: 0, matches: 0, rewrites: 0, refused: [], evalErrors: 0 });
  const report: ApplyReport = { rules: [...stats.values()], rounds: 0, boundHit: false, warnings: [], explain: [], cleanup: { nodes: 0, values: 0 } };
  const explained = new Map<Node, NearMiss>();
  // Real models are not always valid to the letter (a TFLite RESHAPE reading a
  // tensor nobody writes, an Ethos-U op's scratch inputs): only problems that
  // the rules introduced are errors.
  // Checked as ordered: an unordered check would sort a copy of each graph to
  // find cycles, but a cycle stops the run at the final toposort anyway, and
  // the reads-before-producer lines it adds cannot come back after that sort.
  // Constants a caller may override (ONNX initializers listed as inputs, from
  // IR version 4): a rule that folds them into new constants no longer sees an
  // override. Rules treat them as constants, as TensorRT and OpenVINO do; the
  // report says when that happened.
  const overridable = model.graphs.flatMap((g) => g.inputs.filter((v) => v.overridable && v.useCount > 0));
  // The graphs that cleanup, toposort and validate each take whole: the model's and the function bodies.
  const topGraphs = [...model.graphs, ...model.functions.map((f) => f.body)];
  const sourceless = new Set<Value>();
  for (const g of topGraphs) sourcelessValues(g, sourceless);
  const sourcelessNames = new Set([...sourceless].map((v) => v.name));
  // An ONNX node may read only what a node, an initializer, an input or an
  // enclosing graph defines: a read of nothing is a model no runtime loads.
  // TFLite models hold such tensors legitimately (an NPU op's scratch tensors).
  if (model.format === 'onnx' && sourceless.size > 0) {
    const names = [...sourcelessNames].slice(0, 3).map((n) => `'${n}'`).join(', ') + (sourcelessNames.size > 3 ? `, and ${sourcelessNames.size - 3} more` : '');
    report.warnings.push(`the model reads ${sourcelessNames.size} value(s) that nothing defines (${names}): no runtime loads it as it is; the rewrite leaves those reads as they are`);
  }
  const problemsBefore = new Map(topGraphs.map((g) => [g, new Set(validate(g, { ordered: true, sourceless }))]));
  // ...but a cycle is not a quirk: no rule can fix it and no order of the nodes
  // exists to write. Said at once, as the model's fault, not at the end as the recipe's.
  for (const g of topGraphs) {
    const cycle = nodeOnCycle(g);
    if (cycle) {
      // A function's body is named after it, without its domain: name the function itself.
      const fn = model.functions.find((f) => f.body === g);
      throw new ModelError(
        { file: model.source ?? '(model in memory)', node: cycle.node.name, ...(fn ? { function: functionLabel(fn) } : {}) },
        `graph '${cycle.graph.name}' has a cycle through ${cycle.node.op} '${cycle.node.name}': its nodes read each other in a circle, so it is not a valid model`,
      );
    }
  }

  // Pattern rules that have run, in bundle order, and whether actions changed
  // the model since: an action can make new matches for them (fold-shapes
  // turns sizes computed from Shape into constants, which the folding rules of
  // a pack before it then fold). When a recipe's actions are done, the rules
  // before them run again, with the group that follows if there is one: what
  // an action exposes is rewritten as if those rules came after it. Actions
  // themselves run once, where they stand.
  const ranBefore: PatternRule[] = [];
  let actionsChanged = false;
  const groups = groupRules(rules);
  const runPatterns = (patterns: readonly PatternRule[]): void => {
    for (const ctx of ruleContexts(model, target)) {
      const graph = ctx.graph;
      const nodesBefore = graph.nodeCount;
      const rounds = runToFixpoint(graph, patterns, ctx, { sourceless, maxIterations, stats, explain: options.explain, explained, onProgress: options.onProgress });
      report.rounds += rounds.rounds;
      if (rounds.grewTo !== undefined) {
        report.boundHit = true;
        report.warnings.push(
          `graph '${graph.name}': rules ${patterns.map((r) => r.id).join(', ')} grew the graph from ${nodesBefore} to ${rounds.grewTo} nodes; stopped there (a rule may rewrite its own output into several copies of itself)`,
        );
      }
      if (rounds.boundHit) {
        report.boundHit = true;
        report.warnings.push(
          `graph '${graph.name}': rules ${patterns.map((r) => r.id).join(', ')} still changed the graph after ${maxIterations} rounds; stopped there (a rule may undo another, or rewrite its own output)`,
        );
      }
    }
  };
  groups.forEach((group, i) => {
    if (group.kind === 'action') {
      let outcome: ReturnType<ActionRule['run']>;
      try {
        outcome = group.rule.run(model, target);
      } catch (e) {
        // The model had no cycle before the rules: one now is the rules' doing.
        if (e instanceof CycleError) throw new GraphError([e.message], `after the rules before action '${group.rule.id}'`);
        throw e;
      }
      const s = stats.get(group.rule.id)!;
      s.rewrites += outcome.changes;
      s.summary = outcome.summary;
      // Cleanup only removes what nothing reads, which the rules have already seen.
      if (outcome.changes > 0 && group.rule.action !== 'cleanup') actionsChanged = true;
      const next = groups[i + 1];
      const recipeGoesOn = next?.kind === 'action' && next.rule.recipe === group.rule.recipe;
      if (actionsChanged && !recipeGoesOn && next?.kind !== 'pattern' && ranBefore.length > 0) {
        runPatterns(ranBefore);
        actionsChanged = false;
      }
      return;
    }
    const patterns = actionsChanged ? [...ranBefore, ...group.rules] : group.rules;
    actionsChanged = false;
    ranBefore.push(...group.rules);
    runPatterns(patterns);
  });
  report.explain = [...explained.values()];
  for (const s of stats.values()) {
    // A rule whose condition fails to evaluate does not fire there: say so even without --explain.
    if (s.evalErrors > 0) {
      report.warnings.push(`rule '${s.id}': a condition could not be evaluated at ${s.evalErrors} candidate(s), so the rule did not fire there; first: ${s.firstEvalError}`);
    }
  }
  if (!options.skipCleanup) {
    // (a function body's outputs are its graph outputs: cleanup keeps whatever produces them)
    for (const g of topGraphs) {
      const r = cleanup(g);
      report.cleanup.nodes += r.nodes;
      report.cleanup.values += r.values;
      try {
        toposort(g);
      } catch (e) {
        throw new GraphError([(e as Error).message], 'after applying the recipe');
      }
      // Each application was checked locally; this whole-graph check is the backstop.
      // An action that copies nodes (an If replaced with its branch, a function
      // inlined) copies the model's reads of nothing too: known by their names.
      for (const v of sourcelessValues(g)) if (sourcelessNames.has(v.name)) sourceless.add(v);
      const known = problemsBefore.get(g);
      const problems = validate(g, { ordered: true, sourceless }).filter((p) => !known?.has(p));
      if (problems.length) throw new GraphError(problems, 'after applying the recipe');
    }
  }
  const folded = overridable.filter((v) => v.useCount === 0);
  if (folded.length > 0) {
    const names = folded.slice(0, 6).map((v) => `'${v.name}'`).join(', ') + (folded.length > 6 ? `, and ${folded.length - 6} more` : '');
    report.warnings.push(
      `${folded.length} constant(s) that are also graph inputs were folded into the rewrite and are read no more: ${names}. ` +
        'The model lets a caller override them (ONNX IR version 4 and later); the rewritten model ignores an override of them',
    );
  }
  return report;
}

/**
 * Every graph rules are tried in, with what they see there: the model's
 * graphs with the model's opsets, then each function's body (and the
 * subgraphs inside it) with the function's own.
 */
function ruleContexts(model: Model, target: string): RuleContext[] {
  const contexts: RuleContext[] = model.allGraphs().map((graph) => ({ model, graph, target, opsets: model.opsets }));
  for (const fn of model.functions) {
    for (const graph of fn.body.walkGraphs()) contexts.push({ model, graph, target, opsets: fn.opsets, function: fn });
  }
  return contexts;
}

/**
 * Why no rule may rewrite where `nodes` are, when one of them has an
 * attribute that refers to the enclosing function's: its value is the
 * caller's, unknown here, so a rule can neither read it nor tell what the
 * node does. Undefined when none has one.
 */
function callerAttribute(nodes: readonly Node[], fn: ModelFunction): string | undefined {
  for (const n of nodes) {
    if (n.attrCount === 0) continue;
    for (const [name, a] of n.attrs) {
      if (a.kind === 'ref') {
        return `attribute '${name}' of ${n.op} '${n.name}' refers to attribute '${a.value}' of function '${functionLabel(fn)}': its value is each caller's, not known here`;
      }
    }
  }
  return undefined;
}

/** Nodes a group of rules may add to a graph beyond 16 times its size before the run stops (see runToFixpoint). */
const NODE_GROWTH = 200_000;

type Group = { kind: 'pattern'; rules: PatternRule[] } | { kind: 'action'; rule: ActionRule };

/** Consecutive pattern rules share a fixpoint; an action splits the sequence. */
function groupRules(rules: readonly CompiledRule[]): Group[] {
  const groups: Group[] = [];
  for (const r of rules) {
    if (r.kind === 'action') groups.push({ kind: 'action', rule: r });
    else {
      const last = groups[groups.length - 1];
      if (last?.kind === 'pattern') last.rules.push(r);
      else groups.push({ kind: 'pattern', rules: [r] });
    }
  }
  return groups;
}

interface FixpointOptions {
  /** Values the model read although nothing produces them: a replacement may read them too. */
  sourceless: ReadonlySet<Value>;
  maxIterations: number;
  stats: Map<string, RuleStats>;
  explain?: string;
  explained: Map<Node, NearMiss>;
  onProgress?: (p: Progress) => void;
}

/**
 * The nodes of one graph that a group of rules may start at, by op, kept up
 * to date as rules add nodes (removed ones are skipped and swept). Only the
 * ops some rule's pattern can have at its root are indexed by op: on a graph
 * of 100k nodes a rule for one op looks at that op's nodes alone.
 */
class OpIndex {
  private readonly byOp = new Map<string, Node[]>();
  /** Every node known so far: where rules for any op ('*') start, and what a failed rewrite is told apart from. */
  private all: Node[];
  /** Whether a rule starts at any op, so that `all` must be kept free of removed nodes. */
  private readonly anyOp: boolean;

  constructor(nodes: readonly Node[], rules: readonly PatternRule[]) {
    this.anyOp = rules.some((r) => r.rootOps === '*');
    for (const r of rules) if (r.rootOps !== '*') for (const op of r.rootOps) this.byOp.set(op, []);
    this.all = nodes.slice();
    for (const n of nodes) this.byOp.get(n.op)?.push(n);
  }

  add(node: Node): void {
    this.all.push(node);
    this.byOp.get(node.op)?.push(node);
  }

  /** Live nodes whose op is in `ops` ('*': all), as a snapshot: nodes added meanwhile wait for the next round. */
  candidates(ops: readonly string[] | '*'): Node[] {
    if (ops === '*') return this.all.filter((n) => !n.removed);
    const out: Node[] = [];
    for (const op of ops) for (const n of this.byOp.get(op) ?? []) if (!n.removed) out.push(n);
    return out;
  }

  /** Drops removed nodes from the lists, between rounds. */
  sweep(): void {
    for (const [op, list] of this.byOp) this.byOp.set(op, list.filter((n) => !n.removed));
    if (this.anyOp) this.all = this.all.filter((n) => !n.removed);
  }

  /** Every node known so far, removed or not (the slow path of a failed rewrite only). */
  snapshot(): Set<Node> {
    return new Set(this.all);
  }
}

function runToFixpoint(graph: Graph, rules: readonly PatternRule[], ctx: RuleContext, o: FixpointOptions): { rounds: number; boundHit: boolean; grewTo?: number } {
  const index = new OpIndex(graph.nodes, rules);
  // The round bound alone does not stop a rule that rewrites its own output
  // into several copies of itself: the graph would grow geometrically within
  // the bound. No real rewrite comes near this many nodes.
  const nodeBudget = Math.max(16 * graph.nodeCount, graph.nodeCount + NODE_GROWTH);
  /** (rule, node) pairs whose replacement was refused: not tried again. */
  const refused = new Map<PatternRule, Set<Node>>(rules.map((r) => [r, new Set<Node>()]));
  let rounds = 0;
  let changed = true;
  while (changed && rounds < o.maxIterations) {
    changed = false;
    rounds++;
    for (const rule of rules) {
      const s = o.stats.get(rule.id)!;
      const candidates = index.candidates(rule.rootOps);
      const skip = refused.get(rule)!;
      let done = 0;
      for (const node of candidates) {
        if (o.onProgress && ++done % 4096 === 0) o.onProgress({ rule: rule.id, graph: graph.name, done, total: candidates.length });
        if (node.removed || skip.has(node)) continue;
        s.candidates++;
        // In a function body, a node with an attribute that is the caller's is
        // not even tried: what it computes depends on a value not known here.
        const atRoot = ctx.function && callerAttribute([node], ctx.function);
        let result: RuleHit | RuleMiss = atRoot ? { ok: false, reason: atRoot } : rule.match(node, ctx);
        if (result.ok) {
          const outside = nodeOutside(result.matched, graph);
          if (outside) result = { ok: false, reason: `the match reaches ${outside.op} '${outside.name}' in another graph` };
        }
        if (result.ok && ctx.function) {
          const inside = callerAttribute(result.matched, ctx.function);
          if (inside) result = { ok: false, reason: inside };
        }
        if (result.ok && !rule.sharedIntermediates) {
          const shared = sharedIntermediate(result);
          if (shared) result = { ok: false, reason: shared };
        }
        if (!result.ok) {
          if (o.explain === rule.id) o.explained.set(node, { node: node.name, op: node.op, graph: graph.name, reason: result.reason });
          if (result.error) {
            s.evalErrors++;
            s.firstEvalError ??= `${result.reason} at ${node.op} '${node.name}'`;
          }
          continue;
        }
        if (o.explain === rule.id) o.explained.delete(node);
        s.matches++;
        const outcome = applyHit(graph, ctx, result, index, o.sourceless);
        if (outcome.ok) {
          s.rewrites++;
          changed = true;
          if (graph.nodeCount > nodeBudget) return { rounds, boundHit: false, grewTo: graph.nodeCount };
        } else {
          skip.add(outcome.root);
          s.refused.push({ node: outcome.root.name, graph: graph.name, reason: outcome.reason });
        }
      }
      if (o.onProgress && candidates.length >= 4096) o.onProgress({ rule: rule.id, graph: graph.name, done: candidates.length, total: candidates.length });
    }
    index.sweep();
  }
  return { rounds, boundHit: changed && rounds >= o.maxIterations };
}

/** A matched node of another graph than `graph`, if any. */
function nodeOutside(matched: readonly Node[], graph: Graph): Node | undefined {
  for (const n of matched) if (n.graph !== graph) return n;
  return undefined;
}

/**
 * By default a multi-node match must not swallow a value others still read:
 * the rewrite would change what they see. Returns why, or undefined.
 */
function sharedIntermediate(hit: RuleHit): string | undefined {
  const inside = new Set(hit.matched);
  const root = hit.matched[hit.matched.length - 1];
  for (const node of hit.matched) {
    if (node === root) continue;
    for (const v of node.outputs) {
      if (v.isGraphOutput) return `intermediate value '${v.name}' of ${node.op} '${node.name}' is a graph output`;
      const outside = v.uses.filter((u) => !inside.has(u.node)).length;
      if (outside > 0) return `intermediate value '${v.name}' of ${node.op} '${node.name}' has ${outside} reader(s) outside the pattern`;
    }
  }
  return undefined;
}

type Applied = { ok: true } | { ok: false; root: Node; reason: string };

/**
 * Applies one match as a transaction: the root's outputs are detached from it
 * and handed to the replacement; if the replacement fails or leaves the graph
 * invalid, its nodes and values are removed and the root gets its outputs back,
 * so the graph is exactly as before.
 */
function applyHit(graph: Graph, ctx: RuleContext, hit: RuleHit, index: OpIndex, sourceless: ReadonlySet<Value>): Applied {
  const root = hit.matched[hit.matched.length - 1]!;
  const reuse = [...root.outputs];
  const valuesBefore = graph.valueCount;
  root.setOutputs([]);
  let created: readonly Node[] = [];
  let undo: (() => void) | undefined;
  let problems: string[];
  try {
    const built = hit.rewrite(graph, reuse);
    created = built.nodes;
    undo = built.undo;
    problems = checkReplacement(graph, ctx, created, reuse, sourceless);
  } catch (e) {
    // A rewrite that throws is expected to leave nothing behind; sweep in case it did.
    problems = [`the replacement failed: ${(e as Error).message}`];
    const known = index.snapshot();
    created = graph.nodes.filter((n) => !known.has(n) && n !== root);
  }
  if (problems.length > 0) {
    if (undo) undo();
    for (const n of created) graph.removeNode(n);
    root.setOutputs(reuse);
    const added = [...graph.values].slice(valuesBefore);
    for (const v of added) {
      if (v.useCount === 0 && (!v.producer || v.producer.removed) && !graph.inputs.includes(v)) graph.removeValue(v);
    }
    return { ok: false, root, reason: problems.join('; ') };
  }
  graph.removeNode(root);
  // The other matched nodes go when nothing reads them any more (with shared
  // intermediates allowed, some stay for their other readers).
  for (let i = hit.matched.length - 2; i >= 0; i--) {
    const n = hit.matched[i]!;
    if (!n.removed && n.outputs.every((v) => v.useCount === 0)) graph.removeNode(n);
  }
  for (const n of created) index.add(n);
  return { ok: true };
}

/** Local checks of a fresh replacement: every read value has a source, the outputs are produced, arities hold, no cycle. */
function checkReplacement(graph: Graph, ctx: RuleContext, created: readonly Node[], reuse: readonly Value[], sourceless: ReadonlySet<Value>): string[] {
  const problems: string[] = [];
  // A replacement has a few nodes: looking them up in the array beats building a Set at every match.
  const mine = created.length > 16 ? new Set(created) : undefined;
  const isMine = (n: Node): boolean => (mine ? mine.has(n) : created.includes(n));
  for (const v of reuse) {
    // A replacement by an existing value points the readers there instead; then nobody reads `v`.
    const producedHere = v.producer !== null && !v.producer.removed && isMine(v.producer);
    if (!producedHere && v.useCount > 0) problems.push(`nothing in the replacement produces output '${v.name}'`);
  }
  for (const n of created) {
    const inputs = n.inputs;
    for (let i = 0; i < inputs.length; i++) {
      const v = inputs[i];
      if (!v) continue;
      if (!visibleFrom(graph, v)) problems.push(`${n.op} '${n.name}' input ${i} reads '${v.name}' from a graph out of scope`);
      // A value the model already read without a source (real models hold such
      // reads) is the model's quirk, not a problem this rewrite made.
      else if (!hasSource(v) && !sourceless.has(v)) {
        problems.push(`${n.op} '${n.name}' input ${i} reads '${v.name}', which nothing produces`);
      }
    }
    if (n.outputs.length === 0) problems.push(`${n.op} '${n.name}' has no output`);
    const arity = opArity(ctx.model.format, n.op, n.domain);
    if (arity && (n.inputs.length < arity.min || (arity.max !== null && n.inputs.length > arity.max))) {
      const want = arity.max === null ? `at least ${arity.min}` : arity.min === arity.max ? `${arity.min}` : `${arity.min} to ${arity.max}`;
      problems.push(`${n.op} '${n.name}' has ${n.inputs.length} input(s), ${ctx.model.format} ${n.op} takes ${want}`);
    }
  }
  const cycle = inOrder(created) ? undefined : cycleAmong(created);
  if (cycle) problems.push(`the replacement has a cycle through ${cycle.op} '${cycle.name}'`);
  return problems;
}

/**
 * Whether every node of `nodes` reads only nodes of `nodes` that come before
 * it: then they have no cycle (a replacement builds its nodes producers
 * first, so this answers at once, without the search of cycleAmong).
 */
function inOrder(nodes: readonly Node[]): boolean {
  if (nodes.length > 16) return false;
  for (let i = 0; i < nodes.length; i++) {
    for (const v of nodes[i]!.inputs) {
      const p = v?.producer;
      if (p && nodes.indexOf(p) >= i) return false;
    }
  }
  return true;
}

function visibleFrom(graph: Graph, v: Value): boolean {
  for (let g: Graph | undefined = graph; g; g = g.parent) if (g === v.graph) return true;
  return false;
}

/** A node of `nodes` that reaches itself through producers inside `nodes`, if any. */
function cycleAmong(nodes: readonly Node[]): Node | undefined {
  const set = new Set(nodes);
  const state = new Map<Node, 1 | 2>();
  for (const start of nodes) {
    if (state.has(start)) continue;
    const stack: { node: Node; next: number }[] = [{ node: start, next: 0 }];
    state.set(start, 1);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const inputs = top.node.inputs;
      if (top.next < inputs.length) {
        const p = inputs[top.next++]?.producer;
        if (!p || !set.has(p)) continue;
        const s = state.get(p);
        if (s === 1) return p;
        if (s === 2) continue;
        state.set(p, 1);
        stack.push({ node: p, next: 0 });
      } else {
        state.set(top.node, 2);
        stack.pop();
      }
    }
  }
  return undefined;
}
