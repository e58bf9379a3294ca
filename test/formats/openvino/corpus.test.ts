import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readModel, writeModel } from '../../../src/formats';
import { buildOpenvino } from '../../../src/formats/openvino';
import { serializeXml } from '../../../src/formats/openvino/xml';
import type { Model } from '../../../src/ir/model';
import { BytesData, Tensor } from '../../../src/ir/tensor';
import { printGraph } from '../../../src/ir/text/print';
import { corpusOpenvinoModels, SHARED, tempDir } from '../../helpers/corpus';
import { binSizeNeeded, constRanges, pseudoRandomBytes, xmlTreeOf } from '../../helpers/openvino-build';

const models = corpusOpenvinoModels();
const withBin = models.filter((f) => fs.existsSync(f.replace(/\.xml$/, '.bin')));
const xmlOnly = models.filter((f) => !withBin.includes(f));
const work = tempDir('recipe-ov-corpus-');

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** Copies an IR into the work folder; an XML-only topology gets a .bin of the size its offsets ask for. */
function stage(xml: string, i: number): string {
  const dir = path.join(work, `in${i}`);
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join(dir, path.basename(xml));
  fs.copyFileSync(xml, target);
  const bin = xml.replace(/\.xml$/, '.bin');
  const targetBin = target.replace(/\.xml$/, '.bin');
  if (fs.existsSync(bin)) fs.copyFileSync(bin, targetBin);
  else fs.writeFileSync(targetBin, pseudoRandomBytes(binSizeNeeded(xml), 1000 + i));
  return target;
}

/** The bytes of every Const layer, by layer id, as its XML says to find them in its .bin. */
function constBytes(xml: string): Map<string, Buffer> {
  const bin = fs.readFileSync(xml.replace(/\.xml$/, '.bin'));
  const out = new Map<string, Buffer>();
  for (const [id, r] of constRanges(xmlTreeOf(xml))) out.set(id, bin.subarray(r.offset, r.offset + r.size));
  return out;
}

test('the corpus has the eight model_server IR pairs and the two XML-only topologies', () => {
  expect(withBin).toHaveLength(8);
  expect(xmlOnly.map((f) => path.basename(f)).sort()).toEqual(['inception.xml', 'mobilenet.xml']);
});

describe.each(models.map((f, i) => [path.relative(path.join(SHARED, 'corpus'), f), f, i] as const))('%s', (_label, original, i) => {
  let input: string;
  let output: string;
  let model: Model;
  beforeAll(() => {
    input = stage(original, i);
    output = path.join(work, `out${i}`, 'model.xml');
    fs.mkdirSync(path.dirname(output), { recursive: true });
    model = readModel(input);
    writeModel(model, output);
  });

  test('is recognised as OpenVINO IR and read', () => {
    expect(model.format).toBe('openvino');
    expect(model.graph.outputs.length).toBeGreaterThan(0);
  });

  test('the written XML is the same tree (byte-identical text, here)', () => {
    expect(xmlTreeOf(output)).toEqual(xmlTreeOf(input));
    expect(fs.readFileSync(output, 'utf8')).toBe(fs.readFileSync(input, 'utf8'));
  });

  test('the regenerated XML (not the kept text) is the same tree too', () => {
    const image = buildOpenvino(model, output);
    expect(image.verbatim).toBe(true);
    const regenerated = path.join(work, `regen${i}.xml`);
    fs.writeFileSync(regenerated, serializeXml(image.doc, { indent: '  ', spaceBeforeSlash: false, spaceInDeclaration: true }));
    expect(xmlTreeOf(regenerated)).toEqual(xmlTreeOf(input));
    // The declaration too (xmlTreeOf leaves it out).
    expect(fs.readFileSync(regenerated, 'utf8').split('\n')[0]).toBe('<?xml version="1.0" ?>');
  });

  test('every Const keeps its bytes, and the .bin holds nothing else', () => {
    const before = constBytes(input);
    const after = constBytes(output);
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [id, bytes] of before) expect(Buffer.compare(after.get(id)!, bytes)).toBe(0);
    const distinct = new Map([...before.values()].map((b) => [createHash('sha256').update(b).digest('hex'), b.byteLength]));
    const total = [...distinct.values()].reduce((s, n) => s + n, 0);
    expect(fs.statSync(output.replace(/\.xml$/, '.bin')).size).toBe(total);
  });

  test('reading the written model gives the same graph', () => {
    expect(printGraph(readModel(output).graph)).toBe(printGraph(model.graph));
  });
});

test('mobilenet maps layers to nodes, Consts to constants, Parameter/Result to inputs/outputs', () => {
  const file = xmlOnly.find((f) => f.endsWith('mobilenet.xml'))!;
  const model = readModel(stage(file, 99));
  const g = model.graph;
  expect(g.inputs.map((v) => [v.name, v.dtype, v.shape])).toEqual([['input', 'float32', [1, 3, 224, 224]]]);
  const gconv = g.nodes.find((n) => n.op === 'GroupConvolution')!;
  expect(gconv.domain).toBe('opset1');
  expect(gconv.input(1)?.const?.shape.length).toBe(5);
  expect(gconv.attrs.get('strides')).toEqual({ kind: 'string', value: expect.stringMatching(/^\d+,\d+$/) });
  const ops = new Set(g.nodes.map((n) => n.op));
  expect(ops.has('Const')).toBe(false);
  expect(ops.has('Parameter')).toBe(false);
  expect(ops.has('Result')).toBe(false);
  expect(g.constants.length).toBe(111);
  // Layer counts of the file: 274 layers = 111 Const + 1 Parameter + 1 Result + 161 others.
  expect(g.nodes.length).toBe(161);
  expect(g.nodes.filter((n) => n.op === 'GroupConvolution')).toHaveLength(17);
});

/** mobilenet.xml staged in `name` with a .bin of seeded bytes, the first two Consts (ids 1 and 3, 12 bytes each) holding the same bytes. */
function mobilenetWithRepeatedBytes(name: string): { input: string; bin: Uint8Array } {
  const file = xmlOnly.find((f) => f.endsWith('mobilenet.xml'))!;
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  const input = path.join(dir, 'mobilenet.xml');
  fs.copyFileSync(file, input);
  const bin = pseudoRandomBytes(binSizeNeeded(file), 77);
  bin.fill(0, 0, 24);
  fs.writeFileSync(input.replace(/\.xml$/, '.bin'), bin);
  return { input, bin };
}

test('an untouched IR comes back byte for byte though its Consts repeat bytes, share them, or leave bytes unused', () => {
  const repeated = mobilenetWithRepeatedBytes('repeat').input;
  // Another copy where Const 3 reads Const 1's bytes, its own 12 become a gap, and the file ends in 16 bytes no Const reads.
  const shared = path.join(work, 'repeat', 'shared.xml');
  const text = fs.readFileSync(repeated, 'utf8');
  const sharedText = text.replace(/(<layer id="3"[^]*?<data [^>]*?offset=")12"/, '$10"');
  expect(sharedText).not.toBe(text);
  fs.writeFileSync(shared, sharedText);
  fs.writeFileSync(shared.replace(/\.xml$/, '.bin'), Buffer.concat([fs.readFileSync(repeated.replace(/\.xml$/, '.bin')), pseudoRandomBytes(16, 78)]));
  for (const input of [repeated, shared]) {
    const output = path.join(work, 'repeat', `out-${path.basename(input)}`);
    writeModel(readModel(input), output);
    expect(fs.readFileSync(output, 'utf8')).toBe(fs.readFileSync(input, 'utf8'));
    expect(Buffer.compare(fs.readFileSync(output.replace(/\.xml$/, '.bin')), fs.readFileSync(input.replace(/\.xml$/, '.bin')))).toBe(0);
  }
});

test('once a rewrite drops a Const, the .bin holds the bytes still used, identical ones once', () => {
  const { input, bin } = mobilenetWithRepeatedBytes('dedup');
  const ranges = constRanges(xmlTreeOf(input));
  const model = readModel(input);
  // Const 5's one reader gets a new constant of other bytes: Const 5's range is no longer used.
  const dropped = ranges.get('5')!;
  const old = model.graph.findValue(dropped.name)!;
  expect(old.consumers).toHaveLength(1);
  const fresh = model.graph.addConstant(`${dropped.name}/new`, new Tensor(old.const!.dtype, old.const!.shape, new BytesData(pseudoRandomBytes(dropped.size, 79))));
  const reader = old.consumers[0]!;
  reader.setInput(reader.inputs.indexOf(old), fresh);
  model.graph.removeValue(old);
  const output = path.join(path.dirname(input), 'out.xml');
  writeModel(model, output);
  expect(fs.statSync(output.replace(/\.xml$/, '.bin')).size).toBe(bin.byteLength - 12);
  const after = constRanges(xmlTreeOf(output));
  expect(after.get('1')!.offset).toBe(0);
  expect(after.get('3')!.offset).toBe(0);
  const b0 = constBytes(input);
  const b1 = constBytes(output);
  for (const [id, bytes] of b0) if (id !== '5') expect(Buffer.compare(b1.get(id)!, bytes)).toBe(0);
  expect([...after.values()].filter((r) => r.name === dropped.name)).toEqual([]);
});
