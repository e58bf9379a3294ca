import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readModel, writeModel } from '../../../src/formats';
import { ovIntAttr, ovIntsAttr, ovSetAttr } from '../../../src/formats/openvino';
import type { Model } from '../../../src/ir/model';
import { cleanup, toposort } from '../../../src/ir/passes';
import { BytesData, Tensor } from '../../../src/ir/tensor';
import { printGraph } from '../../../src/ir/text/print';
import { tempDir } from '../../helpers/corpus';
import { newOvModel, ovOp, ovParam, pseudoRandomFloats, xmlTreeOf, constRanges } from '../../helpers/openvino-build';
import { buildMixedModel } from '../../helpers/openvino-models';
import { evaluateOv, type Dense } from '../../helpers/openvino-eval';

const work = tempDir('recipe-ov-written-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function sha(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

const input: Dense = { shape: [1, 4, 8, 8], data: pseudoRandomFloats(256, 42) };

describe('an IR written from a graph built with the IR API', () => {
  const file = path.join(work, 'mixed.xml');
  let built: Model;
  beforeAll(() => {
    built = buildMixedModel();
    writeModel(built, file);
  });

  test('reads back as the same graph, opsets and metadata', () => {
    const back = readModel(file);
    // The reader lists constants in layer order; the writer put each new one before its first reader.
    const normal = (text: string): string[] => {
      const lines = text.split('\n');
      return [...lines.filter((l) => l.trim().startsWith('const ')).sort(), ...lines.filter((l) => !l.trim().startsWith('const '))];
    };
    cleanup(built.graph);
    expect(normal(printGraph(back.graph))).toEqual(normal(printGraph(built.graph)));
    expect(back.opsets.map((o) => o.domain)).toEqual(['opset1', 'opset6']);
    expect(back.metadata).toEqual([{ key: 'framework', value: 'recipe-test' }]);
    const gconv = back.graph.nodes.find((n) => n.name === 'gconv')!;
    expect(gconv.op).toBe('GroupConvolution');
    expect(ovIntsAttr(gconv, 'pads_begin')).toEqual([1, 1]);
    expect(gconv.attrs.get('auto_pad')).toEqual({ kind: 'string', value: 'explicit' });
    expect(back.graph.nodes.find((n) => n.op === 'Assign')?.outputs).toHaveLength(0);
  });

  test('the .bin holds the used constants once each: no unused one, no duplicate', () => {
    const ranges = [...constRanges(xmlTreeOf(file)).values()];
    expect(ranges.map((r) => r.name)).not.toContain('unused');
    const scale = ranges.find((r) => r.name === 'scale')!;
    const copy = ranges.find((r) => r.name === 'scale_copy')!;
    expect(copy.offset).toBe(scale.offset);
    const distinct = new Map(ranges.map((r) => [`${r.offset}:${r.size}`, r.size]));
    expect(fs.statSync(file.replace(/\.xml$/, '.bin')).size).toBe([...distinct.values()].reduce((a, b) => a + b, 0));
  });

  test('writing what was read gives the same two files, byte for byte', () => {
    const again = path.join(work, 'mixed-again.xml');
    writeModel(readModel(file), again);
    expect(fs.readFileSync(again, 'utf8')).toBe(fs.readFileSync(file, 'utf8'));
    expect(sha(again.replace(/\.xml$/, '.bin'))).toBe(sha(file.replace(/\.xml$/, '.bin')));
  });

  test('computes the same outputs before writing and after reading back', () => {
    const before = evaluateOv(built.graph, new Map([['x', input]]));
    const after = evaluateOv(readModel(file).graph, new Map([['x', input]]));
    expect(after.map((d) => d.shape)).toEqual([[1, 48], [1, 4, 1, 4]]);
    expect(after).toEqual(before);
  });

  test('GroupConvolution -> Split + Convolutions + Concat keeps the outputs, ids and the other layers', () => {
    const model = readModel(file);
    const g = model.graph;
    const gconv = g.nodes.find((n) => n.op === 'GroupConvolution')!;
    const idsBefore = new Map(
      [...constRanges(xmlTreeOf(file)).entries()].map(([id, r]) => [r.name, id]),
    );
    const x = gconv.input(0)!;
    const w = gconv.input(1)!.const!;
    const [groups, cout, cin, kh, kw] = w.shape as [number, number, number, number, number];
    const bytes = w.data.bytes();
    const axis = g.addConstant('gsplit_axis', Tensor.scalar('int64', 1));
    const parts = g.addNode({
      op: 'Split', domain: 'opset1', name: 'gconv/split', inputs: [x, axis],
      outputs: Array.from({ length: groups }, (_, i) => g.addValue(`gconv/split:${i}`, { dtype: 'float32', shape: [1, cin, 8, 8] })),
    });
    ovSetAttr(parts, 'num_splits', groups);
    const convs = Array.from({ length: groups }, (_, i) => {
      const per = cout * cin * kh * kw * 4;
      const wi = g.addConstant(`gconv/w${i}`, new Tensor('float32', [cout, cin, kh, kw], new BytesData(bytes.slice(i * per, (i + 1) * per))));
      const conv = g.addNode({
        op: 'Convolution', domain: 'opset1', name: `gconv/conv${i}`, inputs: [parts.output(i), wi],
        outputs: [g.addValue(`gconv/conv${i}:0`, { dtype: 'float32', shape: [1, cout, 8, 8] })],
        attrs: new Map(gconv.attrs),
      });
      return conv.output(0);
    });
    const cat = g.addNode({ op: 'Concat', domain: 'opset1', name: 'gconv/concat', inputs: convs, outputs: [g.addValue('gconv/out', { dtype: 'float32', shape: [1, cout * groups, 8, 8] })] });
    ovSetAttr(cat, 'axis', 1);
    gconv.output(0).replaceAllUsesWith(cat.output(0));
    g.removeNode(gconv);
    cleanup(g);
    toposort(g);

    const out = path.join(work, 'split.xml');
    writeModel(model, out);
    const back = readModel(out);
    expect(back.graph.nodes.some((n) => n.op === 'GroupConvolution')).toBe(false);
    expect(back.graph.nodes.filter((n) => n.op === 'Convolution')).toHaveLength(3);
    expect(ovIntAttr(back.graph.nodes.find((n) => n.name === 'gconv/concat')!, 'axis')).toBe(1);

    const ref = evaluateOv(readModel(file).graph, new Map([['x', input]]));
    const got = evaluateOv(back.graph, new Map([['x', input]]));
    expect(got.map((d) => d.shape)).toEqual(ref.map((d) => d.shape));
    got.forEach((d, i) => d.data.forEach((v, j) => expect(Math.abs(v - ref[i]!.data[j]!)).toBeLessThan(1e-5)));

    // Layers that stayed keep their ids; new ones get ids above every id the file had.
    const after = constRanges(xmlTreeOf(out));
    const idsAfter = new Map([...after.entries()].map(([id, r]) => [r.name, id]));
    for (const name of ['bias', 'conv_w', 'scale', 'axis1']) expect(idsAfter.get(name)).toBe(idsBefore.get(name));
    expect(idsAfter.has('gconv_w')).toBe(false);
    const maxBefore = Math.max(...[...idsBefore.values()].map(Number));
    expect(Number(idsAfter.get('gconv/w0'))).toBeGreaterThan(maxBefore);
    // The bin: old grouped weights gone, the two halves stored.
    const distinct = new Map([...after.values()].map((r) => [`${r.offset}:${r.size}`, r.size]));
    expect(fs.statSync(out.replace(/\.xml$/, '.bin')).size).toBe([...distinct.values()].reduce((a, b) => a + b, 0));
  });
});

describe('an IR over 100 MB', () => {
  const file = path.join(work, 'large.xml');
  const elements = 26_500_000; // 106 MB of float32
  let digest: string;
  beforeAll(() => {
    const model = newOvModel('large');
    const g = model.graph;
    const x = ovParam(g, 'x', [1, elements]);
    const data = new Uint8Array(elements * 4);
    const words = new Uint32Array(data.buffer);
    for (let i = 0; i < words.length; i++) words[i] = Math.imul(i, 2654435761) >>> 0;
    digest = createHash('sha256').update(data).digest('hex');
    const w = g.addConstant('big', new Tensor('float32', [1, elements], new BytesData(data)));
    const add = ovOp(g, 'Add', 'opset1', [x, w], [[1, elements]], { auto_broadcast: 'numpy' }, 'add');
    g.outputs = [add.output(0)];
    writeModel(model, file);
  });

  test('is written with its constant bytes, and read back lazily with the same bytes', () => {
    expect(fs.statSync(file.replace(/\.xml$/, '.bin')).size).toBe(elements * 4);
    expect(sha(file.replace(/\.xml$/, '.bin'))).toBe(digest);
    const back = readModel(file);
    const big = back.graph.constants[0]!;
    expect(big.const!.shape).toEqual([1, elements]);
    expect(big.const!.data.constructor.name).toBe('LazyData');
    expect(createHash('sha256').update(big.const!.data.bytes()).digest('hex')).toBe(digest);
  });

  test('round-trips through a copy: same XML tree, same bin', () => {
    const copy = path.join(work, 'large-copy.xml');
    writeModel(readModel(file), copy);
    expect(xmlTreeOf(copy)).toEqual(xmlTreeOf(file));
    expect(sha(copy.replace(/\.xml$/, '.bin'))).toBe(digest);
  });
});
