import * as path from 'node:path';
import { ActionError } from '../errors';
import { readModel } from '../formats';
import { GraphCopier } from '../ir/copy';
import type { Graph, Value } from '../ir/graph';
import { functionLabel, type Model } from '../ir/model';
import { toposort, validate } from '../ir/passes';
import type { ActionDefinition } from '../rewrite/actions';

/** A merge-models parameter that does not fit the models (unknown name, format or opset clash, cycle). */
export class MergeModelsError extends ActionError {}

interface ModelParam {
  path: string;
  prefix?: string;
}

interface ConnectParam {
  from: string;
  to: string;
}

/**
 * `merge-models`: adds the graphs of other models to this one and wires them
 * together (seed slides 48-49: three models merged into one; several models
 * fused). Parameters:
 * - `models`: the models to add, in order: `{path, prefix?}` (a relative path
 *   is relative to the recipe file that writes it; every name of that model
 *   gets the prefix, default `<file name>/`), or just the path;
 * - `connect`: `{from, to}` pairs of names in the merged graph (added models'
 *   names with their prefix): graph input `to` is fed by value `from` and stops
 *   being an input. A value used as `from` stops being a graph output unless
 *   `outputs` names it.
 * - `outputs`: the merged graph's outputs, by name (default: every output of
 *   every model that no connection consumed).
 * The models must have the same format and agree on the versions of the opset
 * domains they share. Subgraphs (If/Loop/Scan bodies) are copied with their
 * nodes; the functions a model defines are added as they are (a function this
 * model defines too is refused).
 */
export const mergeModelsAction: ActionDefinition = {
  name: 'merge-models',
  description: 'Adds the graphs of other models (names prefixed) and connects outputs to inputs by name.',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      models: { type: 'array', description: 'Models to add, in order: a path (relative to this recipe file), or {path, prefix}.' },
      connect: { type: 'array', description: 'Pairs {from, to}: graph input `to` is fed by value `from`.' },
      outputs: { type: 'array', description: 'Outputs of the merged graph, by name (default: every output no connection consumed).' },
    },
    required: ['models'],
  },
  resolvePaths(params, dir) {
    const models = params.models;
    if (!Array.isArray(models)) return { ...params };
    const absolute = (p: unknown): unknown => (typeof p === 'string' ? path.resolve(dir, p) : p);
    return {
      ...params,
      models: models.map((m: unknown) =>
        typeof m === 'string' ? absolute(m) : m && typeof m === 'object' && 'path' in m ? { ...m, path: absolute((m as { path: unknown }).path) } : m,
      ),
    };
  },
  run(model, params) {
    const graph = model.graph;
    const models = asList(params.models, 'models').map((m, i): ModelParam => {
      if (typeof m === 'string') return { path: m };
      if (m && typeof m === 'object' && typeof (m as ModelParam).path === 'string') return m as ModelParam;
      throw new MergeModelsError(`merge-models: models[${i}] must be a path or {path, prefix}`);
    });
    const outputs = [...graph.outputs];
    let added = 0;
    for (const m of models) {
      const other = readModel(m.path);
      if (other.format !== model.format) throw new MergeModelsError(`merge-models: ${m.path} is a ${other.format} model, this one is ${model.format}`);
      mergeOpsets(model, other, m.path);
      // Its nodes call its functions by domain and name: they come along, unprefixed.
      for (const f of other.functions) {
        const clash = model.functions.find((g) => g.domain === f.domain && g.name === f.name && g.overload === f.overload);
        if (clash) throw new MergeModelsError(`merge-models: ${m.path} defines function ${functionLabel(f)}, and so does this model`);
        model.functions.push(f);
      }
      const prefix = m.prefix ?? `${path.basename(m.path).replace(/\.[^.]+$/, '')}/`;
      outputs.push(...copyGraph(other.graph, graph, prefix));
      added += other.graph.nodes.length;
    }
    const consumed = new Set<Value>();
    for (const [i, c] of asList(params.connect ?? [], 'connect').entries()) {
      const pair = c as Partial<ConnectParam>;
      if (typeof pair.from !== 'string' || typeof pair.to !== 'string') throw new MergeModelsError(`merge-models: connect[${i}] must be {from: NAME, to: NAME}`);
      const from = graph.findValue(pair.from);
      if (!from) throw new MergeModelsError(`merge-models: connect[${i}].from: no value '${pair.from}' in the merged graph`);
      const to = graph.inputs.find((v) => v.name === pair.to && !v.const);
      if (!to) throw new MergeModelsError(`merge-models: connect[${i}].to: '${pair.to}' is not a graph input of the merged graph (inputs: ${graph.inputs.filter((v) => !v.const).map((v) => v.name).join(', ')})`);
      const misfit = connectionMisfit(from, to);
      if (misfit) throw new MergeModelsError(`merge-models: connect[${i}]: '${from.name}' cannot feed '${to.name}': ${misfit}`);
      graph.inputs = graph.inputs.filter((v) => v !== to);
      to.replaceAllUsesWith(from);
      const k = outputs.indexOf(to);
      if (k >= 0) outputs[k] = from;
      consumed.add(from);
    }
    if (params.outputs !== undefined) {
      graph.outputs = asList(params.outputs, 'outputs').map((name, i) => {
        const v = typeof name === 'string' ? graph.findValue(name) : undefined;
        if (!v) throw new MergeModelsError(`merge-models: outputs[${i}]: no value '${String(name)}' in the merged graph`);
        return v;
      });
    } else {
      graph.outputs = [...new Set(outputs.filter((v) => !consumed.has(v)))];
    }
    try {
      toposort(graph);
    } catch (e) {
      throw new MergeModelsError(`merge-models: the connections make a cycle: ${(e as Error).message}`);
    }
    const problems = validate(graph);
    if (problems.length) throw new MergeModelsError(`merge-models: the merged graph is not valid: ${problems.slice(0, 3).join('; ')}`);
    return { changes: added, summary: `added ${models.length} model(s), ${added} node(s)` };
  },
};

function asList(value: unknown, name: string): unknown[] {
  if (!Array.isArray(value)) throw new MergeModelsError(`merge-models: ${name} must be a list`);
  return value;
}

function mergeOpsets(model: Model, other: Model, file: string): void {
  for (const o of other.opsets) {
    const mine = model.opsets.find((x) => x.domain === o.domain);
    if (!mine) model.opsets.push({ ...o });
    else if (mine.version !== o.version) {
      throw new MergeModelsError(
        `merge-models: ${file} imports ${o.domain || 'ai.onnx'} version ${o.version}, this model version ${mine.version}`,
      );
    }
  }
}

/**
 * Copies every value and node of `from` into `into` with prefixed names, the
 * subgraphs of its nodes (If branches, Loop and Scan bodies) included.
 * Returns the copies of `from`'s outputs.
 */
function copyGraph(from: Graph, into: Graph, prefix: string): Value[] {
  const copier = new GraphCopier({ name: (base, target) => target.uniqueName(prefix + base) });
  copier.mapGraph(from, into);
  for (const v of from.inputs) {
    const c = copier.value(v)!;
    if (!v.const) into.inputs = [...into.inputs, c];
  }
  copier.nodes(from, into);
  return from.outputs.map((v) => copier.value(v)!);
}

/**
 * Why the value `from` cannot feed the graph input `to`, as far as both
 * declare it: another element type, another rank, or a dimension both fix to
 * different sizes. Symbolic and unknown dimensions fit anything.
 */
function connectionMisfit(from: Value, to: Value): string | undefined {
  const shape = (v: Value): string => (v.shape ? `[${v.shape.map((d) => d ?? '?').join(', ')}]` : '');
  if (from.dtype && to.dtype && from.dtype !== to.dtype) return `it is ${from.dtype}${shape(from)}, the input takes ${to.dtype}${shape(to)}`;
  if (!from.shape || !to.shape) return undefined;
  if (from.shape.length !== to.shape.length) return `it is ${shape(from)} (rank ${from.shape.length}), the input takes ${shape(to)} (rank ${to.shape.length})`;
  for (let k = 0; k < from.shape.length; k++) {
    const a = from.shape[k];
    const b = to.shape[k];
    if (typeof a === 'number' && typeof b === 'number' && a >= 0 && b >= 0 && a !== b) {
      return `it is ${shape(from)}, the input takes ${shape(to)}: dimension ${k} is ${a} against ${b}`;
    }
  }
  return undefined;
}
