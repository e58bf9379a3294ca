import type { Model } from '../ir/model';
import { cleanup, toposort } from '../ir/passes';
import type { ActionOutcome } from './rule';

/** A JSON Schema (draft-07) for an action's parameters; its descriptions are the docs. */
export type ParamSchema = {
  type: 'object';
  additionalProperties: false;
  properties: Record<string, ParamProperty & { description: string }>;
  required?: string[];
};

/** The JSON Schema of one parameter: the part of JSON Schema the actions use. */
export interface ParamProperty {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  additionalProperties?: false;
  minProperties?: number;
  properties?: Record<string, ParamProperty>;
  items?: ParamProperty;
}

/** A built-in action: what cannot be a local pattern (cleanup, fix shapes, merge models). */
export interface ActionDefinition {
  readonly name: string;
  readonly description: string;
  /** The parameters it takes, checked when the recipe is compiled. */
  readonly params: ParamSchema;
  /**
   * For an action whose parameters name files: the parameters with every
   * relative path made absolute against `dir`, the folder of the recipe file
   * that wrote them. Values of an unexpected shape are returned as they are
   * (checking them is the schema's job).
   */
  resolvePaths?(params: Readonly<Record<string, unknown>>, dir: string): Record<string, unknown>;
  run(model: Model, params: Readonly<Record<string, unknown>>): ActionOutcome;
}

const cleanupAction: ActionDefinition = {
  name: 'cleanup',
  description: 'Removes nodes and constants no graph output needs (in subgraphs and function bodies too), then sorts the nodes topologically.',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      toposort: { type: 'boolean', description: 'Also sort nodes so that producers come before readers.', default: true },
    },
  },
  run(model, params) {
    let nodes = 0;
    let values = 0;
    for (const g of [...model.graphs, ...model.functions.map((f) => f.body)]) {
      const r = cleanup(g);
      nodes += r.nodes;
      values += r.values;
      if (params.toposort !== false) toposort(g);
    }
    return { changes: nodes + values, summary: `removed ${nodes} node(s) and ${values} value(s)` };
  },
};

const REGISTRY = new Map<string, ActionDefinition>([[cleanupAction.name, cleanupAction]]);

/** The built-in action named `name`, if there is one. */
export function findAction(name: string): ActionDefinition | undefined {
  return REGISTRY.get(name);
}

/**
 * `params` of a rule calling action `name`, with the file paths among them
 * made absolute against `dir` (the folder of the recipe file they are written in).
 */
export function resolveActionPaths(name: string, params: Readonly<Record<string, unknown>>, dir: string): Record<string, unknown> {
  const def = REGISTRY.get(name);
  return def?.resolvePaths ? def.resolvePaths(params, dir) : { ...params };
}

/** Every built-in action, by name. */
export function actionNames(): string[] {
  return [...REGISTRY.keys()].sort();
}

/**
 * Adds an action to the registry (for library users and later issues). A name
 * already taken is an error: two actions must not silently shadow each other.
 */
export function registerAction(def: ActionDefinition): void {
  if (REGISTRY.has(def.name)) throw new Error(`action '${def.name}' is already registered`);
  REGISTRY.set(def.name, def);
}
