/**
 * The shape rules fix-shape carries sizes with, against the shapes the
 * converters that wrote real TFLite and OpenVINO IR files declared: every
 * tensor a node computes loses its shape, the rules carry the sizes from the
 * graph inputs again, and each one they fill must be what the file says.
 * Where they stop, it must be at an operator whose output they cannot know
 * (a compiled accelerator op, a control-flow op).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readModel } from '../../src/formats';
import { shapeRuleOf as openvinoRule } from '../../src/formats/openvino/shapes';
import { shapeRuleOf as tfliteRule } from '../../src/formats/tflite/shapes';
import type { Shape } from '../../src/ir/graph';
import { carryStaticShapes } from '../../src/ir/static-shapes';
import { corpusOpenvinoModels, corpusTfliteModels, tempDir } from '../helpers/corpus';
import { withSeededWeights } from '../helpers/openvino-build';

/** Operators no rule can see through: compiled for an accelerator, custom, or control flow. */
const OPAQUE = new Set(['edgetpu-custom-op', 'ethos-u', 'IF']);

const work = tempDir('declared-shapes-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

// The IRs whose .bin is not published (MobileNet v2 and Inception v3, by the Model Optimizer) get seeded weights;
// the ports they declare are the converter's.
const irs = corpusOpenvinoModels().map((f) => (fs.existsSync(f.replace(/\.xml$/, '.bin')) ? f : withSeededWeights(f, work)));
const models = [...corpusTfliteModels(), ...irs];

test('the corpus has TFLite files and IRs with weights to check the rules on', () => {
  expect(models.filter((f) => f.endsWith('.tflite')).length).toBeGreaterThan(30);
  expect(models.filter((f) => f.endsWith('.xml')).length).toBeGreaterThan(9);
});

test.each(models.map((f) => [path.relative(work, f).startsWith('..') ? path.basename(f) : `${path.basename(f)} (seeded weights)`, f]))('%s: the rules give back every shape the file declares', (_name, file) => {
  const model = readModel(file);
  const rule = model.format === 'tflite' ? tfliteRule : openvinoRule;
  const differ: string[] = [];
  const unfilled: string[] = [];
  for (const graph of model.allGraphs()) {
    const declared = new Map<(typeof graph.values)[number], Shape>();
    for (const node of graph.nodes) {
      for (const v of node.outputs) {
        if (v.const || !v.shape?.every((d) => typeof d === 'number')) continue;
        declared.set(v, v.shape);
        v.shape = undefined;
      }
    }
    carryStaticShapes(graph, rule);
    for (const [v, shape] of declared) {
      if (v.shape === undefined) unfilled.push(`${v.producer!.op} '${v.name}'`);
      else if (JSON.stringify(v.shape) !== JSON.stringify(shape)) differ.push(`${v.producer!.op} '${v.name}': ${JSON.stringify(v.shape)}, the file ${JSON.stringify(shape)}`);
    }
  }
  expect(differ).toEqual([]);
  // A tensor left without a shape is one an opaque operator computes, or one after it.
  const stuckAt = new Set<string>();
  for (const graph of model.allGraphs()) {
    for (const node of graph.nodes) {
      if (node.outputs.some((v) => v.shape === undefined) && node.inputs.every((v) => v === null || v.shape !== undefined)) stuckAt.add(node.op);
    }
  }
  expect([...stuckAt].filter((op) => !OPAQUE.has(op))).toEqual([]);
  if (unfilled.length) expect(stuckAt.size).toBeGreaterThan(0);
});
