import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Graph } from '../../src/ir';
import { parseModel } from '../../src/ir/text/parse';
import { loadBundle } from '../../src/recipe/bundle';
import { applyBundle } from '../../src/recipe/run';
import { tempDir } from '../helpers/corpus';

// An ONNX model-local function binds its nodes to its own opsets, not the
// model's: a rule's `opset:` range and the `opset()` expression see the
// function's version inside its body, the model's elsewhere.
const dir = tempDir('function-opsets-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Main graph at opset 17 and a function at opset 13, each with an Abs and a Neg. */
const MODEL = `model onnx
opsets ai.onnx:17, local:1
graph main
  in x: float32[2, 3]
  a: ax: float32[2, 3] = Abs(x)
  n: nx: float32[2, 3] = Neg(ax)
  call: y: float32[2, 3] = local::Old(nx)
  out y
function local::Old
  opsets ai.onnx:13
  in X
  fa: A = Abs(X)
  fn: Y = Neg(A)
  out Y
`;

function recipe(name: string, body: string): string {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, `recipe: test/${name}\nversion: 0.1.0\nrules:\n${body}`);
  return file;
}

function ops(g: Graph): string[] {
  return g.nodes.map((n) => n.op);
}

test("a rule limited to opsets the model's main graph is past still runs in a function of an opset it takes", () => {
  const model = parseModel(MODEL);
  const file = recipe(
    'old-abs',
    `  - id: abs-old-opsets
    description: Abs as sqrt(x * x), only up to opset 13.
    formats: [onnx]
    opset: { max: 13 }
    match: Abs($x)
    replace: Sqrt(Mul($x, $x))
`,
  );
  const report = applyBundle(model, loadBundle([file]), { explain: 'abs-old-opsets' });
  const rule = report.rules.find((r) => r.id === 'abs-old-opsets')!;
  expect(rule.rewrites).toBe(1);
  expect(ops(model.graph)).toEqual(['Abs', 'Neg', 'Old']);
  expect(ops(model.functions[0]!.body)).toEqual(['Mul', 'Sqrt', 'Neg']);
  expect(report.explain.map((e) => [e.node, e.reason])).toEqual([['a', 'not for opset 17, the opset of the model (opset ..13)']]);
});

test('a rule for newer opsets than every graph holds is skipped, saying so', () => {
  const model = parseModel(MODEL);
  const file = recipe(
    'new-abs',
    `  - id: abs-new-opsets
    description: only from opset 18.
    formats: [onnx]
    opset: { min: 18 }
    match: Abs($x)
    replace: Sqrt(Mul($x, $x))
`,
  );
  const report = applyBundle(model, loadBundle([file]));
  expect(report.skipped).toEqual([{ id: 'abs-new-opsets', reason: 'not for opset 17 (opset 18..)' }]);
  expect(ops(model.functions[0]!.body)).toEqual(['Abs', 'Neg']);
});

test("opset() is the function's own version inside its body, the model's in the main graph", () => {
  const model = parseModel(MODEL);
  const file = recipe(
    'by-opset',
    `  - id: neg-at-17
    description: tags Neg by the opset it runs under.
    formats: [onnx]
    match: Neg($x)
    where:
      - opset() == 17
    replace: Sub(0.0, $x)
`,
  );
  const report = applyBundle(model, loadBundle([file]), { explain: 'neg-at-17' });
  expect(report.rules.find((r) => r.id === 'neg-at-17')!.rewrites).toBe(1);
  expect(ops(model.graph)).toEqual(['Abs', 'Sub', 'Old']);
  expect(ops(model.functions[0]!.body)).toEqual(['Abs', 'Neg']);
  expect(report.explain.map((e) => [e.node, e.reason])).toEqual([['fn', "condition 'opset() == 17' is false"]]);
});
