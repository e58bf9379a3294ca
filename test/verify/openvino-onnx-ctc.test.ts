/**
 * OpenVINO's greedy CTC decoders translated to ONNX, run in onnxruntime and
 * compared with best path decoding done here as the specification describes
 * it: the most probable class per step, consecutive repeats merged (when
 * asked), blanks dropped, each row filled up with -1.
 */
import { newOvModel, ovConst, ovOp, ovParam } from '../helpers/openvino-build';
import { TranslatedRunner, testValues } from '../helpers/openvino-translate';

let runner: TranslatedRunner;
beforeAll(() => {
  runner = new TranslatedRunner();
});
afterAll(() => runner.close());

const N = 3;
const T = 8;
const C = 4;

/**
 * Logits [N, T, C] whose best classes per step are `paths[n]`: the chosen
 * class gets 2 plus a little noise, the others noise below 1.
 */
function logitsFor(paths: number[][]): number[] {
  const noise = testValues(N * T * C, 71, 0, 0.9);
  return paths.flatMap((path, n) => path.flatMap((best, t) => Array.from({ length: C }, (_, c) => Math.fround((c === best ? 2 : 0) + noise[(n * T + t) * C + c]!))));
}

/** The decoding by the specification. */
function decode(path: number[], length: number, blank: number, merge: boolean): number[] {
  const out: number[] = [];
  for (let t = 0; t < length; t++) {
    const c = path[t]!;
    if (merge && t > 0 && path[t - 1] === c) continue;
    if (c !== blank) out.push(c);
  }
  return [...out, ...new Array<number>(T - out.length).fill(-1)];
}

// Row 0: the spec's ABB*B*B (A=0, B=1, blank 3) then a trailing class; row 1: blanks and repeats, cut at 5 steps; row 2: empty.
const PATHS = [
  [0, 1, 1, 3, 1, 3, 1, 2],
  [3, 2, 2, 3, 2, 0, 0, 1],
  [3, 3, 3, 3, 3, 3, 3, 3],
];
const LENGTHS = [8, 5, 0];

test.each([
  [true, 'i32'],
  [false, 'i64'],
])('CTCGreedyDecoderSeqLen-6, merge_repeated %s, outputs %s: classes moved to the front, -1 after, and the lengths', async (merge, type) => {
  const m = newOvModel('net');
  const g = m.graph;
  const data = ovParam(g, 'data', [N, T, C]);
  const lengths = ovParam(g, 'lengths', [N]);
  lengths.dtype = 'int32';
  const node = ovOp(g, 'CTCGreedyDecoderSeqLen', 'opset6', [data, lengths], [[N, T], [N]], { merge_repeated: String(merge), classes_index_type: type, sequence_length_type: type }, 'ctc');
  const dtype = type === 'i32' ? 'int32' : 'int64';
  node.outputs.forEach((v) => (v.dtype = dtype));
  g.outputs = [...node.outputs];
  const out = await runner.run(m, { data: { shape: [N, T, C], values: logitsFor(PATHS) }, lengths: { dtype: 'int32', shape: [N], values: LENGTHS } });
  const want = PATHS.map((p, n) => decode(p, LENGTHS[n]!, C - 1, merge));
  expect(out[node.outputs[0]!.name]!.values).toEqual(want.flat());
  expect(out[node.outputs[0]!.name]!.dtype).toBe(dtype);
  expect(out[node.outputs[1]!.name]!.values).toEqual(want.map((row) => row.filter((c) => c >= 0).length));
  // The spec's own example: ABB*B*B is ABBB merged, ABBBB not.
  expect(want[0]!.slice(0, merge ? 5 : 6)).toEqual(merge ? [0, 1, 1, 1, 2] : [0, 1, 1, 1, 1, 2]);
});

test('CTCGreedyDecoderSeqLen-6 with a blank_index input: that class is the one dropped', async () => {
  const m = newOvModel('net');
  const g = m.graph;
  const data = ovParam(g, 'data', [N, T, C]);
  const lengths = ovConst(g, 'lengths', 'int64', [N], [8, 8, 8]);
  const blank = ovConst(g, 'blank', 'int64', [], [1]);
  const node = ovOp(g, 'CTCGreedyDecoderSeqLen', 'opset6', [data, lengths, blank], [[N, T], [N]], {}, 'ctc');
  node.outputs.forEach((v) => (v.dtype = 'int32'));
  g.outputs = [node.output(0)];
  const out = await runner.run(m, { data: { shape: [N, T, C], values: logitsFor(PATHS) } });
  expect(out[node.output(0).name]!.values).toEqual(PATHS.map((p) => decode(p, 8, 1, true)).flat());
});

test('CTCGreedyDecoder-1: time-major data, a sequence mask, blank C - 1, classes as floats [N, T, 1, 1]', async () => {
  const m = newOvModel('net');
  const g = m.graph;
  const data = ovParam(g, 'data', [T, N, C]);
  const mask = ovParam(g, 'mask', [T, N]);
  const node = ovOp(g, 'CTCGreedyDecoder', 'opset1', [data, mask], [[N, T, 1, 1]], { ctc_merge_repeated: 'true' }, 'ctc');
  g.outputs = [node.output(0)];
  // The same logits, time-major.
  const batchMajor = logitsFor(PATHS);
  const timeMajor = Array.from({ length: T * N * C }, (_, i) => {
    const [t, n, c] = [Math.floor(i / (N * C)), Math.floor(i / C) % N, i % C];
    return batchMajor[(n * T + t) * C + c]!;
  });
  const maskValues = Array.from({ length: T * N }, (_, i) => (Math.floor(i / N) < LENGTHS[i % N]! ? 1 : 0));
  const out = await runner.run(m, { data: { shape: [T, N, C], values: timeMajor }, mask: { shape: [T, N], values: maskValues } });
  expect(out[node.output(0).name]!.shape).toEqual([N, T, 1, 1]);
  expect(out[node.output(0).name]!.values).toEqual(PATHS.map((p, n) => decode(p, LENGTHS[n]!, C - 1, true)).flat());
});
