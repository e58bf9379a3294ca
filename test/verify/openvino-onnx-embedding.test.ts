/**
 * OpenVINO's embedding bags translated to ONNX, run in onnxruntime and
 * compared with the bags computed here by their definition: rows of the
 * table gathered per index, weighted, summed (or averaged) per bag, an empty
 * bag filled with the default row or zeros.
 */
import type { DType } from '../../src/ir/dtype';
import { newOvModel, ovConst, ovOp, ovParam } from '../helpers/openvino-build';
import { TranslatedRunner, expectClose, testValues } from '../helpers/openvino-translate';

let runner: TranslatedRunner;
beforeAll(() => {
  runner = new TranslatedRunner();
});
afterAll(() => runner.close());

const f = Math.fround;
/** A table of 5 rows of [2, 3]. */
const ROWS = 5;
const ROW = [2, 3];
const WIDTH = 6;
const table = testValues(ROWS * WIDTH, 71).map(f);
const row = (i: number): number[] => table.slice(i * WIDTH, (i + 1) * WIDTH);

/** Each bag: its indices and weights, reduced; an empty one `empty`. */
function bags(lists: number[][], weights: number[][] | undefined, mean: boolean, empty: number[]): number[] {
  return lists.flatMap((indices, b) => {
    if (indices.length === 0) return empty;
    const sum = new Array<number>(WIDTH).fill(0);
    indices.forEach((i, k) => row(i).forEach((v, c) => (sum[c]! += v * (weights?.[b]![k] ?? 1))));
    return mean ? sum.map((s) => s / indices.length) : sum;
  });
}

async function run(op: string, opset: string, inputs: (m: ReturnType<typeof newOvModel>) => Parameters<typeof ovOp>[3], batch: number, attrs: Record<string, string> = {}): Promise<number[]> {
  const m = newOvModel('net');
  const g = m.graph;
  g.outputs = [ovOp(g, op, opset, inputs(m), [[batch, ...ROW]], attrs, 'emb').output(0)];
  const out = (await runner.run(m, { table: { shape: [ROWS, ...ROW], values: table } })).emb_out!;
  expect(out.shape).toEqual([batch, ...ROW]);
  return out.values;
}

const tableParam = (m: ReturnType<typeof newOvModel>) => ovParam(m.graph, 'table', [ROWS, ...ROW]);
const ints = (m: ReturnType<typeof newOvModel>, name: string, values: number[], dtype: DType = 'int32', shape = [values.length]) => ovConst(m.graph, name, dtype, shape, values);

test.each([
  ['EmbeddingBagPackedSum', 'opset3', {}, true, false],
  ['EmbeddingBagPacked', 'opset15', { reduction: 'sum' }, true, false],
  ['EmbeddingBagPacked', 'opset15', { reduction: 'mean' }, false, true],
] as const)('%s (%s %j): equal bags, rows of the index tensor', async (op, opset, attrs, weighted, mean) => {
  const lists = [[0, 2, 2], [4, 1, 3]];
  const w = [[0.5, 1, -2], [1.5, 0.25, 1]];
  const got = await run(op, opset, (m) => [tableParam(m), ints(m, 'idx', lists.flat(), 'int64', [2, 3]), ...(weighted ? [ovConst(m.graph, 'w', 'float32', [2, 3], w.flat())] : [])], 2, attrs);
  expectClose(got, bags(lists, weighted ? w : undefined, mean, []), 1e-6);
});

test.each([
  ['EmbeddingBagOffsetsSum', 'opset3', {}, false],
  ['EmbeddingBagOffsets', 'opset15', { reduction: 'mean' }, true],
] as const)('%s: bags from offsets, an empty one filled with the default row, then zeros with default_index -1', async (op, opset, attrs, mean) => {
  // Bags [0, 3, 3, 5): {1, 4, 4}, {}, {0, 2}; then default row 2.
  const flat = [1, 4, 4, 0, 2];
  const lists = [[1, 4, 4], [], [0, 2]];
  for (const defaultIndex of [2, -1]) {
    const got = await run(op, opset, (m) => [tableParam(m), ints(m, 'idx', flat), ints(m, 'off', [0, 3, 3]), ints(m, 'def', [defaultIndex], 'int32', [])], 3, attrs);
    expectClose(got, bags(lists, undefined, mean, defaultIndex >= 0 ? row(defaultIndex) : new Array<number>(WIDTH).fill(0)), 1e-6);
  }
});

test('EmbeddingBagOffsetsSum-3 with per-sample weights (the default index, before them, unused: no bag is empty)', async () => {
  const flat = [3, 0, 1, 1];
  const w = [2, -1, 0.5, 0.5];
  const got = await run('EmbeddingBagOffsetsSum', 'opset3', (m) => [tableParam(m), ints(m, 'idx', flat, 'int64'), ints(m, 'off', [0, 1], 'int64'), ints(m, 'def', [0], 'int64', []), ovConst(m.graph, 'w', 'float32', [4], w)], 2);
  expectClose(got, bags([[3], [0, 1, 1]], [[2], [-1, 0.5, 0.5]], false, []), 1e-6);
});

test('EmbeddingSegmentsSum-3: bags by segment id, four segments of which two are empty', async () => {
  const flat = [0, 4, 2, 2];
  const segmentIds = [0, 0, 2, 2];
  const got = await run('EmbeddingSegmentsSum', 'opset3', (m) => [tableParam(m), ints(m, 'idx', flat), ints(m, 'seg', segmentIds), ints(m, 'n', [4], 'int32', []), ints(m, 'def', [3], 'int32', [])], 4);
  expectClose(got, bags([[0, 4], [], [2, 2], []], undefined, false, row(3)), 1e-6);
});
