/**
 * Rule tests: `<recipe>.test.yaml` beside each recipe file, with `rewrites`
 * cases (must fire; the graph after the rule is compared to a snapshot in
 * `__snapshots__/<recipe>.snap.yaml`) and `keeps` cases (must not fire), each
 * optionally checked numerically in the format's runtime (before vs after on
 * the same seeded random inputs). `recipe test` and the jest suite of the
 * built-in packs both run them through `runRuleTests`.
 */
export { loadRuleTestFile, findRuleTestFiles, testFileFor, RULETEST_SCHEMA_PATH } from './spec';
export type { CaseSpec, NumericSpec, RuleTestFile } from './spec';
export { runRuleTests, runRuleTestFile, readSnapshots } from './run';
export type { CaseResult, FileResult, NumericOutcome, RuleTestOptions } from './run';
export { DEFAULT_BACKENDS, onnxBackend, tfliteBackend, randomInputs, compareOutputs, seededRandom } from './numeric';
export type { NumericBackend, NumericRun } from './numeric';
export { diffLines } from './diff';
export { formatResults, totals } from './report';
export type { Totals } from './report';
