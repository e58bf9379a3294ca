import { shapeRuleOf as openvinoShapeRule } from '../formats/openvino/shapes';
import { shapeRuleOf as tfliteShapeRule } from '../formats/tflite/shapes';
import { declareAddedShapes } from '../ir/static-shapes';
import type { Model } from '../ir/model';
import { applyRules, type ApplyReport, type Progress } from '../rewrite/driver';
import { bundleTarget, type Bundle } from './bundle';
import { compileForModel, type SkippedRule } from './compile';

/** The metadata key under which a rewritten model lists the recipes applied to it. */
export const APPLIED_METADATA_KEY = 'recipe.applied';

/** One recipe applied to a model, as recorded in its metadata. */
export interface AppliedRecipe {
  name: string;
  version: string | null;
  /** sha256 of the recipe file's bytes. */
  sha256: string;
}

export interface RunOptions {
  /** Default `default`. */
  target?: string;
  /** Collect the near misses of this rule id. */
  explain?: string;
  onProgress?: (p: Progress) => void;
}

/** What `applyBundle` did: the driver's report plus what was left out and what was recorded. */
export interface RunReport extends ApplyReport {
  target: string;
  skipped: SkippedRule[];
  applied: AppliedRecipe[];
}

/**
 * Applies a bundle to a model in place: compiles the rules that apply to its
 * format and the target, runs them to a fixpoint, cleans up, and records the
 * recipes in the model's metadata. Throws RecipeErrors when a rule does not
 * compile (nothing is changed then).
 */
export function applyBundle(model: Model, bundle: Bundle, options: RunOptions = {}): RunReport {
  const target = options.target ?? bundleTarget(bundle);
  const compiled = compileForModel(bundle, model, target);
  const report = applyRules(model, compiled.rules, {
    target,
    maxIterations: bundle.maxIterations,
    explain: options.explain,
    onProgress: options.onProgress,
  });
  // Shapes the rules' elementwise results do not already have (a split convolution's slices, a Concat).
  const shapeRule = model.format === 'openvino' ? openvinoShapeRule : model.format === 'tflite' ? tfliteShapeRule : undefined;
  if (shapeRule && report.rules.some((r) => r.rewrites > 0)) for (const g of model.allGraphs()) declareAddedShapes(g, shapeRule);
  const applied = bundle.recipes.map((r) => ({ name: r.name, version: r.version ?? null, sha256: r.sha256 }));
  recordApplied(model, applied);
  return { ...report, target, skipped: compiled.skipped, applied };
}

/** Appends to the model's `recipe.applied` metadata (a JSON list), keeping earlier runs' entries. */
export function recordApplied(model: Model, recipes: readonly AppliedRecipe[]): void {
  let earlier: AppliedRecipe[] = [];
  const existing = model.getMetadata(APPLIED_METADATA_KEY);
  if (existing) {
    try {
      const parsed = JSON.parse(existing) as unknown;
      if (Array.isArray(parsed)) earlier = parsed as AppliedRecipe[];
    } catch {
      // Not ours or damaged: start a new list rather than fail the run.
    }
  }
  model.setMetadata(APPLIED_METADATA_KEY, JSON.stringify([...earlier, ...recipes]));
}
