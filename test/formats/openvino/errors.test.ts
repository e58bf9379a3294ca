import * as fs from 'node:fs';
import * as path from 'node:path';
import { readModel, writeModel } from '../../../src/formats';
import { readOpenvino, sniffOpenvino } from '../../../src/formats/openvino';
import { ModelError, UnsupportedError } from '../../../src/errors';
import { corpusOpenvinoModels, tempDir } from '../../helpers/corpus';
import { binSizeNeeded, pseudoRandomBytes } from '../../helpers/openvino-build';

const work = tempDir('recipe-ov-errors-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const dummy = corpusOpenvinoModels().find((f) => f.endsWith('dummy/1/dummy.xml'))!;
const summator = corpusOpenvinoModels().find((f) => f.endsWith('summator.xml'))!;
const dummyXml = fs.readFileSync(dummy, 'utf8');
const dummyBin = fs.readFileSync(dummy.replace(/\.xml$/, '.bin'));

let n = 0;
/** Writes an IR pair under a fresh name; `bin: null` leaves the .bin out. */
function ir(xml: string | Uint8Array, bin: Uint8Array | null = dummyBin): string {
  const file = path.join(work, `m${n++}.xml`);
  fs.writeFileSync(file, xml);
  if (bin) fs.writeFileSync(file.replace(/\.xml$/, '.bin'), bin);
  return file;
}

function modelError(file: string): ModelError {
  try {
    readModel(file);
  } catch (e) {
    if (e instanceof ModelError) return e;
    throw e;
  }
  throw new Error(`${file} was read without error`);
}

describe('a clear ModelError naming the file and the layer', () => {
  test('malformed XML: file and line', () => {
    const file = ir(dummyXml.replace('</layers>', '</layer>'));
    const e = modelError(file);
    expect(e.location.file).toBe(file);
    expect(e.message).toMatch(/malformed XML/);
    expect(e.location.path).toMatch(/^line \d+, column \d+$/);
  });

  test('a truncated XML: names the elements left open, at the end of the file', () => {
    const text = dummyXml.slice(0, dummyXml.indexOf('</layers>'));
    const file = ir(text);
    const e = modelError(file);
    expect(e.message).toMatch(/malformed XML: the file ends before <net> > <layers> (> <[a-z]+> )*(is|are) closed \(truncated\?\)/);
    const lines = text.split('\n');
    expect(e.location.path).toBe(`line ${lines.length}, column ${lines[lines.length - 1]!.length + 1}`);
  });

  test('a missing .bin: names the .bin and the Const layer', () => {
    const file = ir(dummyXml, null);
    const e = modelError(file);
    expect(e.message).toContain(file.replace(/\.xml$/, '.bin'));
    expect(e.location.node).toBe('c/read/Output_0/Data_/copy_const (layer id 1)');
  });

  test('a model without constants needs no .bin', () => {
    const add = corpusOpenvinoModels().find((f) => f.endsWith('add.xml'))!;
    const model = readModel(ir(fs.readFileSync(add, 'utf8'), null));
    expect(model.graph.inputs).toHaveLength(2);
  });

  test('an offset past the end of the .bin', () => {
    const e = modelError(ir(dummyXml.replace('offset="0"', 'offset="1"')));
    expect(e.location.node).toBe('c/read/Output_0/Data_/copy_const (layer id 1)');
    expect(e.reason).toMatch(/past the end of .*\(4 bytes\)/);
  });

  test('a huge claimed size is checked against the file, never allocated', () => {
    const e = modelError(ir(dummyXml.replace('size="4"', 'size="900000000000000"')));
    expect(e.reason).toMatch(/past the end/);
  });

  test('a size smaller than the shape needs', () => {
    const e = modelError(ir(dummyXml.replace('size="4"', 'size="2"')));
    expect(e.reason).toMatch(/needs 4 bytes but size is 2/);
  });

  test('an edge to a layer that does not exist', () => {
    const e = modelError(ir(dummyXml.replace('to-layer="3"', 'to-layer="7"')));
    expect(e.reason).toMatch(/edge 2 .*to-layer 7.* ends at a layer that does not exist/);
    expect(e.location.node).toBe('a (layer id 2)');
  });

  test('an edge to a port that does not exist', () => {
    const e = modelError(ir(dummyXml.replace('to-layer="2" to-port="1"', 'to-layer="2" to-port="5"')));
    expect(e.reason).toMatch(/has no input port 5/);
    expect(e.location.node).toBe('a (layer id 2)');
  });

  test('a cycle', () => {
    const xml = fs.readFileSync(summator, 'utf8').replace('<edge from-layer="0" from-port="1" to-layer="1" to-port="0"/>', '<edge from-layer="3" from-port="2" to-layer="1" to-port="0"/>');
    const e = modelError(ir(xml, fs.readFileSync(summator.replace(/\.xml$/, '.bin'))));
    expect(e.reason).toMatch(/cycle/);
    expect(e.location.node).toMatch(/\(layer id [13]\)$/);
  });

  test('a duplicate layer id and a DOCTYPE', () => {
    expect(modelError(ir(dummyXml.replace('<layer id="2"', '<layer id="1"'))).reason).toMatch(/layer id 1 is used twice/);
    const doctype = ir(dummyXml.replace('<net ', '<!DOCTYPE net [<!ENTITY a "aaaa">]>\n<net '));
    expect(() => readOpenvino(doctype)).toThrow(/DOCTYPE is not allowed/);
  });

  test('IR v7 is refused as unsupported, not misread', () => {
    expect(() => readModel(ir(dummyXml.replace('version="10"', 'version="7"')))).toThrow(UnsupportedError);
  });
});

describe('sniffing', () => {
  test('XML whose root is <net>, after a declaration or a comment', () => {
    const enc = (s: string): Uint8Array => Buffer.from(s);
    expect(sniffOpenvino(enc('<?xml version="1.0" ?>\n<net name="x" version="11">'))).toBe(true);
    expect(sniffOpenvino(enc('<!-- made by hand -->\n<net version="10">'))).toBe(true);
    expect(sniffOpenvino(enc('<?xml version="1.0"?>\n<network>'))).toBe(false);
    expect(sniffOpenvino(enc('<?xml version="1.0"?><svg>'))).toBe(false);
    expect(sniffOpenvino(enc('\x08\x03\x12\x04'))).toBe(false);
  });

  test('a long prolog cut by the 64-byte head is decided from the file', () => {
    const file = ir(`<?xml version="1.0" encoding="UTF-8" standalone="yes"   ?>\n<!-- ${'x'.repeat(100)} -->\n` + dummyXml.replace(/^<\?xml[^>]*>\n/, ''));
    const head = fs.readFileSync(file).subarray(0, 64);
    expect(sniffOpenvino(head, file)).toBe(true);
    expect(readModel(file).format).toBe('openvino');
  });
});

describe('fuzz: truncated and bit-flipped files give ModelError or a model, never anything else', () => {
  const corpus = corpusOpenvinoModels().filter((f) => fs.existsSync(f.replace(/\.xml$/, '.bin')));

  function attempt(xml: Uint8Array, bin: Uint8Array): 'ok' | 'error' {
    const file = ir(xml, bin);
    const started = Date.now();
    try {
      const model = readModel(file);
      // What reads must also write.
      writeModel(model, path.join(work, `w${n}.xml`));
      return 'ok';
    } catch (e) {
      if (e instanceof ModelError || e instanceof UnsupportedError) return 'error';
      throw new Error(`${file}: ${(e as Error).stack}`);
    } finally {
      expect(Date.now() - started).toBeLessThan(2000);
    }
  }

  test('every truncation of the XML of each corpus pair', () => {
    let errors = 0;
    for (const f of corpus) {
      const xml = fs.readFileSync(f);
      const bin = fs.readFileSync(f.replace(/\.xml$/, '.bin'));
      const step = Math.max(1, Math.floor(xml.byteLength / 40));
      for (let cut = 0; cut < xml.byteLength; cut += step) if (attempt(xml.subarray(0, cut), bin) === 'error') errors++;
    }
    expect(errors).toBeGreaterThan(0);
  });

  test('every truncation of the .bin', () => {
    // Only the pairs whose every .bin byte belongs to a Const: a shorter bin cannot be read.
    const full = corpus.filter((f) => binSizeNeeded(f) === fs.statSync(f.replace(/\.xml$/, '.bin')).size && binSizeNeeded(f) > 0);
    expect(full.length).toBeGreaterThanOrEqual(5);
    for (const f of full) {
      const xml = fs.readFileSync(f);
      const bin = fs.readFileSync(f.replace(/\.xml$/, '.bin'));
      for (let cut = 0; cut < bin.byteLength; cut++) {
        const r = attempt(xml, bin.subarray(0, cut));
        expect(r).toBe('error');
      }
    }
  });

  test('seeded changes of numbers (ids, ports, offsets, sizes, dims) in the XML', () => {
    const outcomes = { ok: 0, error: 0 };
    const values = ['0', '1', '-1', '7', '4294967296', '99999999999999999999', '', 'x'];
    corpus.forEach((f, k) => {
      const xml = fs.readFileSync(f, 'utf8');
      const bin = fs.readFileSync(f.replace(/\.xml$/, '.bin'));
      const numbers = [...xml.matchAll(/="(\d+)"|<dim>(-?\d+)<\/dim>/g)];
      const noise = pseudoRandomBytes(2 * 40, 100 + k);
      for (let t = 0; t < 40; t++) {
        const m = numbers[(noise[2 * t]! * 256 + noise[2 * t + 1]!) % numbers.length]!;
        const digits = m[1] ?? m[2]!;
        const at = m.index! + m[0].indexOf(digits);
        const changed = xml.slice(0, at) + values[t % values.length]! + xml.slice(at + digits.length);
        outcomes[attempt(Buffer.from(changed), bin)]++;
      }
    });
    expect(outcomes.error).toBeGreaterThan(0);
    expect(outcomes.ok).toBeGreaterThan(0);
  });

  test('seeded byte flips in the XML', () => {
    const outcomes = { ok: 0, error: 0 };
    corpus.forEach((f, k) => {
      const xml = fs.readFileSync(f);
      const bin = fs.readFileSync(f.replace(/\.xml$/, '.bin'));
      const noise = pseudoRandomBytes(4 * 60, 7 + k);
      for (let t = 0; t < 60; t++) {
        const copy = Buffer.from(xml);
        const at = (noise[4 * t]! | (noise[4 * t + 1]! << 8)) % copy.byteLength;
        copy[at] = copy[at]! ^ (1 << (noise[4 * t + 2]! & 7));
        outcomes[attempt(copy, bin)]++;
      }
    });
    expect(outcomes.ok + outcomes.error).toBe(corpus.length * 60);
    expect(outcomes.error).toBeGreaterThan(0);
  });
});
