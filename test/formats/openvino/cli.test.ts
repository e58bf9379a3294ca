import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../../src/cli/main';
import type { Io } from '../../../src/cli/command';
import { corpusOpenvinoModels, tempDir } from '../../helpers/corpus';
import { binSizeNeeded, pseudoRandomBytes, xmlTreeOf } from '../../helpers/openvino-build';

const work = tempDir('recipe-ov-cli-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t), interactive: false };
  const code = await main(argv, io);
  return { code, out, err };
}

const models = corpusOpenvinoModels();
const summator = models.find((f) => f.endsWith('summator.xml'))!;

test('recipe show on an IR .xml: inputs, outputs, ops and parameters', async () => {
  const r = await run('show', summator, '--json');
  expect(r.code).toBe(0);
  const s = JSON.parse(r.out) as {
    format: string; inputs: { name: string; dtype: string; shape: number[] }[]; outputs: { name: string }[];
    ops: Record<string, number>; parameters: { tensors: number; bytes: number };
  };
  expect(s.format).toBe('openvino');
  expect(s.inputs).toEqual([{ name: 'input', dtype: 'float32', shape: [1, 1] }]);
  expect(s.outputs.map((o) => o.name)).toEqual(['add_sum:2']);
  expect(s.ops).toEqual({ 'opset6::Add': 1, 'opset6::Assign': 1, 'opset6::ReadValue': 1 });
  expect(s.parameters).toMatchObject({ tensors: 1, bytes: 4 });
});

test('recipe show --graph prints the canonical text', async () => {
  const r = await run('show', summator, '--graph');
  expect(r.code).toBe(0);
  expect(r.out).toContain('opset6::ReadValue(init_value)');
  expect(r.out).toContain('opset6::Assign("add_sum:2")');
});

test('recipe copy writes the same .xml and .bin for every corpus IR', async () => {
  for (const [i, f] of models.entries()) {
    const dir = path.join(work, `in${i}`);
    fs.mkdirSync(dir);
    const input = path.join(dir, path.basename(f));
    fs.copyFileSync(f, input);
    const bin = f.replace(/\.xml$/, '.bin');
    if (fs.existsSync(bin)) fs.copyFileSync(bin, input.replace(/\.xml$/, '.bin'));
    else fs.writeFileSync(input.replace(/\.xml$/, '.bin'), pseudoRandomBytes(binSizeNeeded(f), i));
    const output = path.join(work, `out${i}.xml`);
    const r = await run('copy', input, '-o', output);
    expect({ file: f, code: r.code, err: r.err }).toEqual({ file: f, code: 0, err: expect.stringContaining('wrote') });
    expect(fs.readFileSync(output, 'utf8')).toBe(fs.readFileSync(input, 'utf8'));
    expect(xmlTreeOf(output)).toEqual(xmlTreeOf(input));
  }
});

test('recipe show on a broken IR exits 4 and names the layer', async () => {
  const input = path.join(work, 'broken.xml');
  fs.writeFileSync(input, fs.readFileSync(summator, 'utf8'));
  fs.writeFileSync(input.replace(/\.xml$/, '.bin'), new Uint8Array(2));
  const r = await run('show', input);
  expect(r.code).toBe(4);
  expect(r.err).toContain("node 'init_value (layer id 0)'");
  expect(r.err).toContain('past the end');
});

test('recipe show names element types the IR has no dtype for by their OpenVINO spelling (nf4, u1), not "undefined"', async () => {
  const dir = fs.mkdtempSync(path.join(work, 'rare-'));
  const xml = path.join(dir, 'rare.xml');
  const layer = (id: number, et: string, dims: number, offset: number, size: number) =>
    `<layer id="${id}" name="c_${et}" type="Const" version="opset1"><data element_type="${et}" shape="${dims}" offset="${offset}" size="${size}"/>` +
    `<output><port id="0" precision="${et.toUpperCase()}"><dim>${dims}</dim></port></output></layer>` +
    `<layer id="${id + 1}" name="c_${et}/sink_port_0" type="Result" version="opset1"><input><port id="0" precision="${et.toUpperCase()}"><dim>${dims}</dim></port></input></layer>`;
  fs.writeFileSync(
    xml,
    `<?xml version="1.0"?>\n<net name="rare" version="11"><layers>${layer(0, 'nf4', 7, 0, 4)}${layer(2, 'u1', 13, 4, 2)}</layers>` +
      '<edges><edge from-layer="0" from-port="0" to-layer="1" to-port="0"/><edge from-layer="2" from-port="0" to-layer="3" to-port="0"/></edges></net>\n',
  );
  fs.writeFileSync(path.join(dir, 'rare.bin'), Buffer.from([1, 2, 3, 4, 5, 6]));
  const r = await run('show', xml);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  expect(r.out).toContain('  c_nf4: nf4[7]\n');
  expect(r.out).toContain('  c_u1: u1[13]\n');
  expect(r.out).not.toContain('undefined');
  const json = JSON.parse((await run('show', xml, '--json')).out) as { outputs: { name: string; dtype: string }[] };
  expect(json.outputs.map((o) => o.dtype)).toEqual(['nf4', 'u1']);
});
