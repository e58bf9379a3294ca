/**
 * `recipe apply --verify` on real OpenVINO IR topologies (MobileNet v2 and
 * Inception v3 from intel/openvino-rs, IR v10, written by the Model
 * Optimizer), translated to ONNX and run in onnxruntime. Their .bin files are
 * not published: the test gives every float constant small seeded values and
 * the few integer ones (a Transpose order, Squeeze axes, a Reshape target)
 * the values the XML's port dimensions imply. The check is differential (the
 * model before and after a rewrite, with the same weights), so any weights do.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readModel } from '../../src/formats';
import { runCli } from '../helpers/cli';
import { ROOT, SHARED, tempDir } from '../helpers/corpus';
import { compressToFp16, withSeededWeights } from '../helpers/openvino-build';

const FIXTURES = path.join(SHARED, 'corpus/intel/openvino-rs/crates/openvino/tests/fixtures');
const work = tempDir('recipe-ov-real-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** The parts of `apply --report json` these tests read. */
interface ApplyReport {
  rules: { id: string; rewrites: number; summary?: string }[];
  verify: { ok: boolean; inputs: { shape: number[] }[]; outputs: { shape: number[]; dtype: string }[] };
}

/**
 * MobileNet v2's only GroupConvolutions are depthwise, which the split leaves
 * alone unless asked: these tests ask, to run the split on a real model.
 */
const SPLIT_DEPTHWISE = ['--override', 'groupconv-split-openvino={options: {depthwise: true}}'];

/** `recipe apply recipes/myriad.yaml <xml> -o <xml>.myriad.xml --verify --report json [extra...]`, which must succeed quietly; the written path and the report. */
async function applyMyriadVerified(xml: string, ...extra: string[]): Promise<{ out: string; report: ApplyReport }> {
  const out = xml.replace(/\.xml$/, '.myriad.xml');
  const r = await runCli('apply', path.join(ROOT, 'recipes/myriad.yaml'), xml, '-o', out, '--verify', '--runs', '1', '--report', 'json', ...extra);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return { out, report: JSON.parse(r.stdout) };
}

describe.each([
  ['MobileNet v2', 'mobilenet/mobilenet.xml', 'groupconv'],
  ['Inception v3', 'inception/inception.xml', undefined],
])('%s (IR v10) translated to ONNX', (_name, file, changedBy) => {
  test('the myriad bundle rewrites it and apply --verify runs both in onnxruntime: they agree', async () => {
    const xml = withSeededWeights(path.join(FIXTURES, file), work);
    const { report } = await applyMyriadVerified(xml, ...SPLIT_DEPTHWISE);
    const rewrites = report.rules.reduce((n, x) => n + x.rewrites, 0);
    if (changedBy) expect(report.rules.filter((x) => x.rewrites > 0 && x.id.includes(changedBy)).length).toBeGreaterThan(0);
    else expect(rewrites).toBe(0);
    expect(report.verify).toMatchObject({ format: 'openvino', translatedTo: 'onnx', runtime: 'onnxruntime', ok: true });
    expect(report.verify.outputs).toHaveLength(1);
    expect(report.verify.outputs[0]!.shape).toEqual([1, 1001]);
  });
});

test('MobileNet v2 with a dynamic batch: fix-batch (to every port) and the split rewrite it, and apply --verify agrees', async () => {
  const xml = withSeededWeights(path.join(FIXTURES, 'mobilenet/mobilenet.xml'), work, true);
  expect(readModel(xml).graph.inputs[0]!.shape![0]).toBeNull();
  const { out, report } = await applyMyriadVerified(xml, ...SPLIT_DEPTHWISE);
  // The batch reaches every port: no layer of MobileNet v2 (and of the split rewrite) stops it.
  expect(report.rules.find((x) => x.id === 'fix-batch')!.summary).toMatch(/^fixed 1 dimension\(s\); \d+ tensor shape\(s\) follow$/);
  const ports = readModel(out).graph.nodes.flatMap((n) => n.outputs);
  expect(ports.filter((v) => v.shape?.some((d) => typeof d !== 'number')).map((v) => `${v.name} ${JSON.stringify(v.shape)}`)).toEqual([]);
  // The sizes are the ones the Model Optimizer wrote for batch 1 in the original file, port by port.
  const original = new Map([...readModel(withSeededWeights(path.join(FIXTURES, 'mobilenet/mobilenet.xml'), work)).graph.values].map((v) => [v.name, v.shape]));
  const compared = ports.filter((v) => original.has(v.name));
  expect(compared.length).toBeGreaterThan(150);
  expect(compared.filter((v) => JSON.stringify(v.shape) !== JSON.stringify(original.get(v.name))).map((v) => v.name)).toEqual([]);
  expect(report.verify).toMatchObject({ translatedTo: 'onnx', ok: true });
  expect(report.verify.inputs[0]!.shape[0]).toBe(1);
});

test('MobileNet v2 with FP16-compressed weights (Const f16 + decompression Convert, as OpenVINO saves by default): the split still fires, and apply --verify agrees', async () => {
  const xml = compressToFp16(withSeededWeights(path.join(FIXTURES, 'mobilenet/mobilenet.xml'), work));
  const before = readModel(xml).graph;
  const groupConvs = before.nodes.filter((n) => n.op === 'GroupConvolution');
  expect(groupConvs.length).toBe(17);
  // every GroupConvolution reads its weights through a Convert of a Const f16
  for (const n of groupConvs) expect([n.input(1)!.producer!.op, n.input(1)!.producer!.input(0)!.const?.dtype]).toEqual(['Convert', 'float16']);
  const { out, report } = await applyMyriadVerified(xml, ...SPLIT_DEPTHWISE);
  // as on the f32 model: the one GroupConvolution of 32 groups (the rule's bound) is split, the 16 larger ones stay
  expect(report.rules.find((x) => x.id === 'groupconv-split-openvino')!.rewrites).toBe(1);
  expect(report.verify).toMatchObject({ translatedTo: 'onnx', ok: true });
  const after = readModel(out).graph;
  expect(after.nodes.filter((n) => n.op === 'GroupConvolution')).toHaveLength(16);
  expect(after.nodes.filter((n) => n.op === 'Convolution').length).toBe(before.nodes.filter((n) => n.op === 'Convolution').length + 32);
  // the compressed weights the split replaced are gone with their Convert; the others stay compressed, and
  // the 32 slices of the split filter (float16 values all) are stored compressed too (keep-fp16-compression)
  const compressed = (g: typeof before) => g.nodes.filter((n) => n.op === 'Convert' && n.input(0)?.const?.dtype === 'float16').length;
  expect(compressed(after)).toBe(compressed(before) - 1 + 32);
  expect(report.rules.find((x) => x.id === 'keep-fp16-compression')!.rewrites).toBe(32);
  expect([...after.values].filter((v) => v.const?.dtype === 'float32' && v.const.size > 1)).toEqual([]);
});

test('MobileNet v2 as an FP16 IR (f16 throughout, as IR for Myriad was written): the split makes f16 weights, and apply --verify agrees', async () => {
  const xml = compressToFp16(withSeededWeights(path.join(FIXTURES, 'mobilenet/mobilenet.xml'), work), 'fp16-ir');
  const before = readModel(xml).graph;
  expect(before.inputs[0]!.dtype).toBe('float16');
  expect([...before.values].filter((v) => v.const?.dtype === 'float32')).toEqual([]);
  const { out, report } = await applyMyriadVerified(xml, ...SPLIT_DEPTHWISE);
  expect(report.rules.find((x) => x.id === 'groupconv-split-openvino')!.rewrites).toBe(1);
  expect(report.verify).toMatchObject({ translatedTo: 'onnx', ok: true });
  expect(report.verify.outputs[0]!.dtype).toBe('float16');
  const after = readModel(out).graph;
  expect(after.nodes.filter((n) => n.op === 'Convolution').length).toBe(before.nodes.filter((n) => n.op === 'Convolution').length + 32);
  // the split weights stay f16, like the rest of the model
  expect([...after.values].filter((v) => v.const && v.const.dtype !== 'float16' && v.const.dtype !== 'int64').map((v) => `${v.name}: ${v.const!.dtype}`)).toEqual([]);
});
