/**
 * The recurrent OpenVINO ops translated to ONNX LSTM/GRU/RNN, checked against
 * a reference loop written here from the OpenVINO specifications (LSTMCell,
 * GRUCell, RNNCell equations; the *Sequence ops' batch-major layouts, gate
 * orders f,i,c,o / z,r,h, summed biases, sequence_lengths and directions).
 */
import type { DType } from '../../src/ir/dtype';
import type { Graph, Value } from '../../src/ir/graph';
import { openvinoToOnnx } from '../../src/verify/openvino-onnx';
import { newOvModel, ovConst, ovOp, ovParam } from '../helpers/openvino-build';
import { TranslatedRunner, testValues } from '../helpers/openvino-translate';

let runner: TranslatedRunner;
beforeAll(() => {
  runner = new TranslatedRunner();
});
afterAll(() => runner.close());

type Kind = 'LSTM' | 'GRU' | 'RNN';
const GATES: Record<Kind, number> = { LSTM: 4, GRU: 3, RNN: 1 };
const DEFAULT_ACTS: Record<Kind, string[]> = { LSTM: ['sigmoid', 'tanh', 'tanh'], GRU: ['sigmoid', 'tanh'], RNN: ['tanh'] };
const FN: Record<string, (x: number) => number> = {
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  tanh: Math.tanh,
  relu: (x) => Math.max(0, x),
};

const BATCH = 2;
const SEQ = 3;
const INPUT = 3;
const HIDDEN = 2;

interface Case {
  kind: Kind;
  direction?: 'forward' | 'reverse' | 'bidirectional';
  lengths?: number[];
  /** sequence_lengths as a Parameter (else a Const) and its type. */
  lengthsParam?: boolean;
  lengthsType?: DType;
  clip?: number;
  lbr?: boolean;
  activations?: string[];
  /** W, R, B as Parameters (else Consts). */
  dynamicWeights?: boolean;
  /** Cells: leave B out. */
  noBias?: boolean;
  /** Scale of the initial states' values. */
  stateScale?: number;
}

/** One step of a cell, from the OpenVINO specification's equations; W/R/B rows of one direction, gate blocks in OpenVINO's order. */
function cellStep(
  kind: Kind,
  x: number[],
  h: number[],
  c: number[] | undefined,
  W: number[][],
  R: number[][],
  B: number[],
  acts: string[],
  clip: number | undefined,
  lbr: boolean,
): { h: number[]; c?: number[] } {
  const cl = (v: number): number => (clip === undefined ? v : Math.min(Math.max(v, -clip), clip));
  const dot = (a: number[], b: number[]): number => a.reduce((s, v, k) => s + v * b[k]!, 0);
  const pre = (g: number, j: number): number => dot(x, W[g * HIDDEN + j]!) + dot(h, R[g * HIDDEN + j]!) + B[g * HIDDEN + j]!;
  const [f, g2, h3] = acts.map((a) => FN[a]!);
  const out: number[] = [];
  const cell: number[] = [];
  for (let j = 0; j < HIDDEN; j++) {
    if (kind === 'RNN') out.push(f!(cl(pre(0, j))));
    else if (kind === 'LSTM') {
      const ft = f!(cl(pre(0, j)));
      const it = f!(cl(pre(1, j)));
      const ct = g2!(cl(pre(2, j)));
      const ot = f!(cl(pre(3, j)));
      const C = ft * c![j]! + it * ct;
      cell.push(C);
      out.push(ot * h3!(C));
    } else {
      const zt = f!(cl(pre(0, j)));
      const rt = (k: number): number => f!(cl(pre(1, k)));
      const xh = dot(x, W[2 * HIDDEN + j]!);
      const Rh = R[2 * HIDDEN + j]!;
      const ht = lbr
        ? g2!(cl(xh + rt(j) * (dot(h, Rh) + B[3 * HIDDEN + j]!) + B[2 * HIDDEN + j]!))
        : g2!(cl(xh + dot(h.map((v, k) => rt(k) * v), Rh) + B[2 * HIDDEN + j]!));
      out.push((1 - zt) * ht + zt * h[j]!);
    }
  }
  return kind === 'LSTM' ? { h: out, c: cell } : { h: out };
}

/** Splits flat row-major data into rows of `n`. */
function rows(data: number[], offset: number, count: number, n: number): number[][] {
  return Array.from({ length: count }, (_, r) => data.slice(offset + r * n, offset + (r + 1) * n));
}

interface Data {
  X: number[];
  H0: number[];
  C0: number[];
  W: number[];
  R: number[];
  B: number[];
}

/** OpenVINO *Sequence outputs (Y [batch, dirs, seq, hidden], Ho, Co [batch, dirs, hidden]) by the reference loop. */
function referenceSequence(k: Case, d: Data): { Y: number[]; Ho: number[]; Co: number[] } {
  const dirs = k.direction === 'bidirectional' ? 2 : 1;
  const G = GATES[k.kind];
  const bRows = k.kind === 'GRU' && k.lbr ? 4 : G;
  const acts = k.activations ?? DEFAULT_ACTS[k.kind];
  const Y = new Array<number>(BATCH * dirs * SEQ * HIDDEN).fill(0);
  const Ho = new Array<number>(BATCH * dirs * HIDDEN).fill(0);
  const Co = new Array<number>(BATCH * dirs * HIDDEN).fill(0);
  for (let dir = 0; dir < dirs; dir++) {
    const reverse = k.direction === 'reverse' || dir === 1;
    const W = rows(d.W, dir * G * HIDDEN * INPUT, G * HIDDEN, INPUT);
    const R = rows(d.R, dir * G * HIDDEN * HIDDEN, G * HIDDEN, HIDDEN);
    const B = d.B.slice(dir * bRows * HIDDEN, (dir + 1) * bRows * HIDDEN);
    for (let b = 0; b < BATCH; b++) {
      const len = k.lengths?.[b] ?? SEQ;
      const at = (b * dirs + dir) * HIDDEN;
      let h = d.H0.slice(at, at + HIDDEN);
      let c: number[] | undefined = d.C0.slice(at, at + HIDDEN);
      for (let s = 0; s < len; s++) {
        const time = reverse ? len - 1 - s : s;
        const x = d.X.slice((b * SEQ + time) * INPUT, (b * SEQ + time + 1) * INPUT);
        const next = cellStep(k.kind, x, h, c, W, R, B, acts, k.clip, k.lbr ?? false);
        h = next.h;
        c = next.c;
        for (let j = 0; j < HIDDEN; j++) Y[((b * dirs + dir) * SEQ + time) * HIDDEN + j] = h[j]!;
      }
      // OpenVINO's reference gives zero states for a length of 0 (not the initial ones).
      if (len === 0) continue;
      for (let j = 0; j < HIDDEN; j++) {
        Ho[at + j] = h[j]!;
        Co[at + j] = c?.[j] ?? 0;
      }
    }
  }
  return { Y, Ho, Co };
}

function dataFor(k: Case, seed: number): Data {
  const dirs = k.direction === 'bidirectional' ? 2 : 1;
  const G = GATES[k.kind];
  const bRows = k.kind === 'GRU' && k.lbr ? 4 : G;
  const f = (n: number, s: number, scale = 1): number[] => testValues(n, s, -scale, scale).map(Math.fround);
  return {
    X: f(BATCH * SEQ * INPUT, seed, 2),
    H0: f(BATCH * dirs * HIDDEN, seed + 1, k.stateScale ?? 1),
    C0: f(BATCH * dirs * HIDDEN, seed + 2, k.stateScale ?? 1),
    W: f(dirs * G * HIDDEN * INPUT, seed + 3),
    R: f(dirs * G * HIDDEN * HIDDEN, seed + 4),
    B: f(dirs * bRows * HIDDEN, seed + 5),
  };
}

function attrsOf(k: Case, withDirection: boolean): Record<string, string> {
  const a: Record<string, string> = { hidden_size: String(HIDDEN) };
  if (withDirection) a.direction = k.direction ?? 'forward';
  if (k.clip !== undefined) a.clip = String(k.clip);
  if (k.lbr !== undefined) a.linear_before_reset = k.lbr ? 'true' : 'false';
  if (k.activations) a.activations = k.activations.join(',');
  return a;
}

function expectClose(actual: { shape: number[]; values: number[] } | undefined, shape: number[], expected: number[]): void {
  expect(actual?.shape).toEqual(shape);
  actual!.values.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(2e-5));
}

async function checkSequence(k: Case, seed = 7): Promise<void> {
  const dirs = k.direction === 'bidirectional' ? 2 : 1;
  const G = GATES[k.kind];
  const bRows = k.kind === 'GRU' && k.lbr ? 4 : G;
  const d = dataFor(k, seed);
  const m = newOvModel('net');
  const g = m.graph;
  const feeds: Record<string, { dtype?: DType; shape: number[]; values: number[] }> = {};
  const param = (name: string, shape: number[], values: number[], dtype: DType = 'float32'): Value => {
    feeds[name] = { dtype, shape, values };
    return ovParam(g, name, shape, dtype);
  };
  const weight = (name: string, shape: number[], values: number[]): Value => (k.dynamicWeights ? param(name, shape, values) : ovConst(g, name, 'float32', shape, values));
  const lengths = k.lengths ?? new Array<number>(BATCH).fill(SEQ);
  const lengthsType = k.lengthsType ?? 'int64';
  const ins: Value[] = [param('x', [BATCH, SEQ, INPUT], d.X), param('h0', [BATCH, dirs, HIDDEN], d.H0)];
  if (k.kind === 'LSTM') ins.push(param('c0', [BATCH, dirs, HIDDEN], d.C0));
  ins.push(k.lengthsParam ? param('len', [BATCH], lengths, lengthsType) : ovConst(g, 'len', lengthsType, [BATCH], lengths));
  ins.push(weight('w', [dirs, G * HIDDEN, INPUT], d.W), weight('r', [dirs, G * HIDDEN, HIDDEN], d.R), weight('b', [dirs, bRows * HIDDEN], d.B));
  const outShapes = [[BATCH, dirs, SEQ, HIDDEN], [BATCH, dirs, HIDDEN]];
  if (k.kind === 'LSTM') outShapes.push([BATCH, dirs, HIDDEN]);
  const op = ovOp(g, `${k.kind}Sequence`, 'opset5', ins, outShapes, attrsOf(k, true), 'seq');
  g.outputs = [...op.outputs];
  const out = await runner.run(m, feeds);
  const ref = referenceSequence(k, d);
  expectClose(out.seq_out0, outShapes[0]!, ref.Y);
  expectClose(out.seq_out1, outShapes[1]!, ref.Ho);
  if (k.kind === 'LSTM') expectClose(out.seq_out2, outShapes[2]!, ref.Co);
}

async function checkCell(k: Case, seed = 11): Promise<void> {
  const G = GATES[k.kind];
  const bRows = k.kind === 'GRU' && k.lbr ? 4 : G;
  const d = dataFor({ ...k, direction: 'forward' }, seed);
  const x = d.X.slice(0, BATCH * INPUT);
  const m = newOvModel('net');
  const g = m.graph;
  const feeds: Record<string, { shape: number[]; values: number[] }> = {};
  const param = (name: string, shape: number[], values: number[]): Value => {
    feeds[name] = { shape, values };
    return ovParam(g, name, shape);
  };
  const weight = (name: string, shape: number[], values: number[]): Value => (k.dynamicWeights ? param(name, shape, values) : ovConst(g, name, 'float32', shape, values));
  const ins: Value[] = [param('x', [BATCH, INPUT], x), param('h0', [BATCH, HIDDEN], d.H0)];
  if (k.kind === 'LSTM') ins.push(param('c0', [BATCH, HIDDEN], d.C0));
  ins.push(weight('w', [G * HIDDEN, INPUT], d.W), weight('r', [G * HIDDEN, HIDDEN], d.R));
  if (!k.noBias) ins.push(weight('b', [bRows * HIDDEN], d.B));
  const outShapes = k.kind === 'LSTM' ? [[BATCH, HIDDEN], [BATCH, HIDDEN]] : [[BATCH, HIDDEN]];
  const opset = { LSTM: 'opset4', GRU: 'opset3', RNN: 'opset3' }[k.kind];
  const op = ovOp(g, `${k.kind}Cell`, opset, ins, outShapes, attrsOf(k, false), 'cell');
  g.outputs = [...op.outputs];
  const out = await runner.run(m, feeds);
  const W = rows(d.W, 0, G * HIDDEN, INPUT);
  const R = rows(d.R, 0, G * HIDDEN, HIDDEN);
  const B = k.noBias ? new Array<number>(bRows * HIDDEN).fill(0) : d.B;
  const acts = k.activations ?? DEFAULT_ACTS[k.kind];
  const ho: number[] = [];
  const co: number[] = [];
  for (let b = 0; b < BATCH; b++) {
    const step = cellStep(k.kind, x.slice(b * INPUT, (b + 1) * INPUT), d.H0.slice(b * HIDDEN, (b + 1) * HIDDEN), d.C0.slice(b * HIDDEN, (b + 1) * HIDDEN), W, R, B, acts, k.clip, k.lbr ?? false);
    ho.push(...step.h);
    co.push(...(step.c ?? []));
  }
  if (k.kind === 'LSTM') {
    expectClose(out.cell_out0, [BATCH, HIDDEN], ho);
    expectClose(out.cell_out1, [BATCH, HIDDEN], co);
  } else expectClose(out.cell_out, [BATCH, HIDDEN], ho);
}

describe('LSTMSequence-5', () => {
  it('forward, full lengths (gate order f,i,c,o, batch-major layouts)', () => checkSequence({ kind: 'LSTM' }));
  it('reverse, sequence_lengths [2, 3] as an i32 Parameter, clip 0.3 (cell state not clipped: initial states up to 3)', () =>
    checkSequence({ kind: 'LSTM', direction: 'reverse', lengths: [2, 3], lengthsParam: true, lengthsType: 'int32', clip: 0.3, stateScale: 3 }));
  it('bidirectional, sequence_lengths [3, 1], W/R/B computed (not Const)', () => checkSequence({ kind: 'LSTM', direction: 'bidirectional', lengths: [3, 1], dynamicWeights: true }));
  it('bidirectional, a sequence_length of 0 (zero Y, Ho and Co)', () => checkSequence({ kind: 'LSTM', direction: 'bidirectional', lengths: [0, 2] }));
  it('bidirectional, activations relu,tanh,sigmoid, clip 1.5', () => checkSequence({ kind: 'LSTM', direction: 'bidirectional', activations: ['relu', 'tanh', 'sigmoid'], clip: 1.5 }));
});

describe('GRUSequence-5', () => {
  it('forward', () => checkSequence({ kind: 'GRU' }));
  it('forward, linear_before_reset (B [1, 4*hidden]: z, r, Wbh, Rbh)', () => checkSequence({ kind: 'GRU', lbr: true }));
  it('reverse, linear_before_reset, sequence_lengths [1, 2], clip 0.5', () => checkSequence({ kind: 'GRU', direction: 'reverse', lbr: true, lengths: [1, 2], clip: 0.5 }));
  it('bidirectional, sequence_lengths [2, 3] as a Parameter, activations sigmoid,relu', () =>
    checkSequence({ kind: 'GRU', direction: 'bidirectional', lengths: [2, 3], lengthsParam: true, activations: ['sigmoid', 'relu'] }));
  it('reverse, a sequence_length of 0', () => checkSequence({ kind: 'GRU', direction: 'reverse', lengths: [3, 0] }));
  it('bidirectional, linear_before_reset, W/R/B computed', () => checkSequence({ kind: 'GRU', direction: 'bidirectional', lbr: true, dynamicWeights: true }));
});

describe('RNNSequence-5', () => {
  it('forward', () => checkSequence({ kind: 'RNN' }));
  it('reverse, sequence_lengths [3, 2], relu, clip 0.7', () => checkSequence({ kind: 'RNN', direction: 'reverse', lengths: [3, 2], activations: ['relu'], clip: 0.7 }));
  it('bidirectional, sequence_lengths [1, 3], W/R/B computed', () => checkSequence({ kind: 'RNN', direction: 'bidirectional', lengths: [1, 3], dynamicWeights: true }));
});

describe('Cells', () => {
  it('LSTMCell-4', () => checkCell({ kind: 'LSTM' }));
  it('LSTMCell-4, clip 0.4, W/R/B computed', () => checkCell({ kind: 'LSTM', clip: 0.4, dynamicWeights: true, stateScale: 3 }));
  it('LSTMCell-4 without B', () => checkCell({ kind: 'LSTM', noBias: true }));
  it('GRUCell-3', () => checkCell({ kind: 'GRU' }));
  it('GRUCell-3, linear_before_reset, W/R/B computed', () => checkCell({ kind: 'GRU', lbr: true, dynamicWeights: true }));
  it('GRUCell-3, linear_before_reset, relu, clip 0.5', () => checkCell({ kind: 'GRU', lbr: true, activations: ['sigmoid', 'relu'], clip: 0.5 }));
  it('RNNCell', () => checkCell({ kind: 'RNN' }));
  it('RNNCell without B, sigmoid, W/R computed', () => checkCell({ kind: 'RNN', noBias: true, activations: ['sigmoid'], dynamicWeights: true }));
});

describe('refusals', () => {
  /** A sequence layer on f32 inputs with the given attributes/opset, translated (not run). */
  function translate(op: string, opset: string, attrs: Record<string, string>, dtype: DType = 'float32'): () => unknown {
    const m = newOvModel('net');
    const g: Graph = m.graph;
    const lstm = op.startsWith('LSTM');
    const G = lstm ? 4 : op.startsWith('GRU') ? 3 : 1;
    const ins = [ovParam(g, 'x', [1, 2, 3], dtype), ovParam(g, 'h0', [1, 1, 2], dtype)];
    if (lstm) ins.push(ovParam(g, 'c0', [1, 1, 2], dtype));
    ins.push(ovConst(g, 'len', 'int64', [1], [2]));
    ins.push(ovConst(g, 'w', dtype, [1, G * 2, 3], new Array<number>(G * 6).fill(0)), ovConst(g, 'r', dtype, [1, G * 2, 2], new Array<number>(G * 4).fill(0)));
    ins.push(ovConst(g, 'b', dtype, [1, G * 2], new Array<number>(G * 2).fill(0)));
    const node = ovOp(g, op, opset, ins, [[1, 1, 2, 2], [1, 1, 2]], { hidden_size: '2', direction: 'forward', ...attrs }, 'rec');
    g.outputs = [node.output(0)];
    return () => openvinoToOnnx(m);
  }

  it('LSTMSequence-1 (opset1: peepholes, weights_format)', () => {
    expect(translate('LSTMSequence', 'opset1', {})).toThrow("cannot translate OpenVINO layer 'rec' (LSTMSequence, opset1) to ONNX: LSTMSequence of opset1 is not translated (LSTMSequence-5 is)");
  });
  it('activations other than relu, sigmoid, tanh', () => {
    expect(translate('RNNSequence', 'opset5', { activations: 'hardsigmoid' })).toThrow(
      "cannot translate OpenVINO layer 'rec' (RNNSequence, opset5) to ONNX: activation 'hardsigmoid' is not translated (relu, sigmoid and tanh are)",
    );
  });
  it('a wrong number of activations', () => {
    expect(translate('GRUSequence', 'opset5', { activations: 'tanh' })).toThrow(
      "cannot translate OpenVINO layer 'rec' (GRUSequence, opset5) to ONNX: activations=\"tanh\" must name 2 function(s)",
    );
  });
  it('an unknown direction', () => {
    expect(translate('RNNSequence', 'opset5', { direction: 'sideways' })).toThrow(
      "cannot translate OpenVINO layer 'rec' (RNNSequence, opset5) to ONNX: direction=\"sideways\" is not forward, reverse or bidirectional",
    );
  });
  it('a negative clip', () => {
    expect(translate('RNNSequence', 'opset5', { clip: '-1' })).toThrow("cannot translate OpenVINO layer 'rec' (RNNSequence, opset5) to ONNX: clip=\"-1\" is not a non-negative number");
  });
  it('element types other than f32', () => {
    expect(translate('GRUSequence', 'opset5', {}, 'float16')).toThrow(
      "cannot translate OpenVINO layer 'rec' (GRUSequence, opset5) to ONNX: element type float16 is not translated (float32 is: onnxruntime's GRU takes float)",
    );
  });
  it('LSTMCell-1', () => {
    const m = newOvModel('net');
    const g = m.graph;
    const ins = [ovParam(g, 'x', [1, 3]), ovParam(g, 'h0', [1, 2]), ovParam(g, 'c0', [1, 2])];
    ins.push(ovConst(g, 'w', 'float32', [8, 3], new Array<number>(24).fill(0)), ovConst(g, 'r', 'float32', [8, 2], new Array<number>(16).fill(0)));
    const node = ovOp(g, 'LSTMCell', 'opset1', ins, [[1, 2], [1, 2]], { hidden_size: '2' }, 'cell');
    g.outputs = [node.output(0)];
    expect(() => openvinoToOnnx(m)).toThrow("cannot translate OpenVINO layer 'cell' (LSTMCell, opset1) to ONNX: LSTMCell of opset1 is not translated (LSTMCell-4 is)");
  });
  it('clip "inf" and "0" mean no clipping', async () => {
    for (const clip of ['inf', '0']) {
      const m = newOvModel('net');
      const g = m.graph;
      const ins = [ovParam(g, 'x', [1, 1, 1]), ovParam(g, 'h0', [1, 1, 1]), ovConst(g, 'len', 'int32', [1], [1])];
      ins.push(ovConst(g, 'w', 'float32', [1, 1, 1], [1]), ovConst(g, 'r', 'float32', [1, 1, 1], [0]), ovConst(g, 'b', 'float32', [1, 1], [0]));
      const node = ovOp(g, 'RNNSequence', 'opset5', ins, [[1, 1, 1, 1], [1, 1, 1]], { hidden_size: '1', direction: 'forward', activations: 'relu', clip }, 'rnn');
      g.outputs = [node.output(1)];
      const out = await runner.run(m, { x: { shape: [1, 1, 1], values: [5] }, h0: { shape: [1, 1, 1], values: [0] } });
      expect(out.rnn_out1!.values).toEqual([5]);
    }
  });
});
