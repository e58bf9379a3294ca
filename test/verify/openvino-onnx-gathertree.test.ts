/**
 * GatherTree-1 translated to ONNX (an unrolled walk back through the beam
 * parents), run in onnxruntime and compared with the specification's
 * pseudo-code run here: sequences shorter and longer than MAX_TIME, empty
 * ones, end tokens in the middle of a beam, each element type translated.
 */
import type { DType } from '../../src/ir/dtype';
import { newOvModel, ovOp, ovParam } from '../helpers/openvino-build';
import { TranslatedRunner, testValues, translationFailure } from '../helpers/openvino-translate';

let runner: TranslatedRunner;
beforeAll(() => {
  runner = new TranslatedRunner();
});
afterAll(() => runner.close());

interface Beams {
  T: number;
  B: number;
  W: number;
  stepIds: number[];
  parentIds: number[];
  maxSeqLen: number[];
  endToken: number;
}

/** The specification's pseudo-code, over flat [T, B, W] arrays. */
function gatherTreeRef({ T, B, W, stepIds, parentIds, maxSeqLen, endToken }: Beams): number[] {
  const at = (time: number, batch: number, beam: number): number => (time * B + batch) * W + beam;
  const finalIds = new Array<number>(T * B * W).fill(endToken);
  for (let batch = 0; batch < B; batch++) {
    for (let beam = 0; beam < W; beam++) {
      const maxInBeam = Math.min(T, maxSeqLen[batch]!);
      if (maxInBeam <= 0) continue;
      let parent = parentIds[at(maxInBeam - 1, batch, beam)]!;
      finalIds[at(maxInBeam - 1, batch, beam)] = stepIds[at(maxInBeam - 1, batch, beam)]!;
      for (let level = maxInBeam - 2; level >= 0; level--) {
        finalIds[at(level, batch, beam)] = stepIds[at(level, batch, parent)]!;
        parent = parentIds[at(level, batch, parent)]!;
      }
      let finished = false;
      for (let time = 0; time < maxInBeam; time++) {
        if (finished) finalIds[at(time, batch, beam)] = endToken;
        else if (finalIds[at(time, batch, beam)] === endToken) finished = true;
      }
    }
  }
  return finalIds;
}

function model(T: number | null, B: number, W: number, dtype: DType) {
  const m = newOvModel('net');
  const g = m.graph;
  const steps = ovParam(g, 'step_ids', [T ?? -1, B, W], dtype);
  if (T === null) steps.shape = [null, B, W];
  const parents = ovParam(g, 'parent_ids', [T ?? -1, B, W], dtype);
  const lengths = ovParam(g, 'max_seq_len', [B], dtype);
  const end = ovParam(g, 'end_token', [], dtype);
  const node = ovOp(g, 'GatherTree', 'opset1', [steps, parents, lengths, end], [[T ?? -1, B, W]], {}, 'tree');
  g.outputs = [node.output(0)];
  return { m, out: node.output(0).name };
}

async function run(beams: Beams, dtype: DType): Promise<number[]> {
  const { T, B, W } = beams;
  const { m, out } = model(T, B, W, dtype);
  const got = (
    await runner.run(m, {
      step_ids: { dtype, shape: [T, B, W], values: beams.stepIds },
      parent_ids: { dtype, shape: [T, B, W], values: beams.parentIds },
      max_seq_len: { dtype, shape: [B], values: beams.maxSeqLen },
      end_token: { dtype, shape: [], values: [beams.endToken] },
    })
  )[out]!;
  expect(got.shape).toEqual([T, B, W]);
  expect(got.dtype).toBe(dtype);
  return got.values;
}

/** Seeded beams: ids in [0, vocabulary), parents in [0, W). */
function randomBeams(T: number, B: number, W: number, maxSeqLen: number[], endToken: number, vocabulary: number, seed: number): Beams {
  const stepIds = testValues(T * B * W, seed, 0, vocabulary).map(Math.floor);
  const parentIds = testValues(T * B * W, seed + 1, 0, W).map(Math.floor);
  return { T, B, W, stepIds, parentIds, maxSeqLen, endToken };
}

test('the specification pseudo-code example shape: parents followed back from the last step', async () => {
  // T 3, B 1, W 3: beam 0 comes from beam 2 at step 1, which comes from beam 0 at step 0.
  const beams: Beams = {
    T: 3,
    B: 1,
    W: 3,
    stepIds: [10, 11, 12, 20, 21, 22, 30, 31, 32],
    parentIds: [0, 0, 0, 1, 2, 0, 2, 0, 1],
    maxSeqLen: [3],
    endToken: 99,
  };
  const expected = gatherTreeRef(beams);
  // Beam 0: 30 at step 2 (parent 2), 22 at step 1 (parent 0), 10 at step 0.
  expect(expected.filter((_, i) => i % 3 === 0)).toEqual([10, 22, 30]);
  expect(await run(beams, 'int32')).toEqual(expected);
});

test.each([
  ['int32', 'int32'],
  ['int64', 'int64'],
  ['float32', 'float32'],
  ['float16 (computed in float32)', 'float16'],
  ['uint8 (computed in int64)', 'uint8'],
] as const)('%s: lengths shorter than, equal to and longer than MAX_TIME, an empty one, end tokens mid-beam', async (_name, dtype) => {
  // End token 1 out of 4 ids: most beams meet it before their end.
  const beams = randomBeams(6, 4, 3, [3, 6, 9, 0], 1, 4, 17);
  const expected = gatherTreeRef(beams);
  // The case covers: a beam cut by an end token before its length, and end tokens past a length.
  expect(expected.some((id, i) => id === 1 && beams.stepIds[i] !== 1)).toBe(true);
  expect(await run(beams, dtype)).toEqual(expected);
});

test.each([
  [1, 2, 1, [1, 0], 3],
  [8, 3, 5, [8, 5, 2], 0],
  [5, 1, 4, [4], 7],
])('T %i, B %i, W %i, max_seq_len %j, end_token %i over seeded beams', async (T, B, W, maxSeqLen, endToken) => {
  for (const seed of [3, 29, 71]) {
    const beams = randomBeams(T, B, W, maxSeqLen, endToken, 8, seed);
    expect(await run(beams, 'int32')).toEqual(gatherTreeRef(beams));
  }
});

test('a dynamic MAX_TIME and an element type not translated are refused by name', () => {
  expect(translationFailure(model(null, 2, 3, 'int32').m)).toContain('MAX_TIME (dimension 0 of step_ids) must be static for this translation');
  expect(translationFailure(model(4, 2, 3, 'uint64').m)).toContain('element type uint64 is not translated (the integer types up to 32 bits, i64, f16, f32 and f64 are)');
});
