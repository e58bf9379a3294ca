import { Cursor, Sink } from '../../../src/formats/onnx/wire';

function bytesOf(sink: Sink): Buffer {
  return Buffer.concat(sink.finish().map((c) => (c instanceof Uint8Array ? c : c.bytes())));
}

describe('Sink.stringField', () => {
  test.each([
    ['', 'empty'],
    ['conv1/weight', 'ASCII'],
    ['x'.repeat(127), 'ASCII, longest with a one-byte length'],
    ['y'.repeat(128), 'ASCII, two-byte length'],
    ['caf\u00e9', 'two-byte UTF-8'],
    ['\u{1F600} node', 'a surrogate pair'],
    ['a'.repeat(120) + '\u00e9', 'non-ASCII at the end of a short name'],
  ])('%j (%s): tag, UTF-8 length, UTF-8 bytes; read back the same', (text) => {
    const sink = new Sink();
    sink.stringField(3, text);
    sink.stringField(4, 'after');
    const utf8 = Buffer.from(text, 'utf8');
    const out = bytesOf(sink);
    const lengthBytes = utf8.length < 128 ? [utf8.length] : [(utf8.length & 0x7f) | 0x80, utf8.length >> 7];
    expect([...out.subarray(0, 1 + lengthBytes.length)]).toEqual([(3 << 3) | 2, ...lengthBytes]);
    expect(out.subarray(1 + lengthBytes.length, 1 + lengthBytes.length + utf8.length).equals(utf8)).toBe(true);
    const cur = new Cursor(new Uint8Array(out), 'test');
    expect(cur.tag(out.length)).toBe((3 << 3) | 2);
    expect(cur.string(out.length)).toBe(text);
    expect(cur.tag(out.length)).toBe((4 << 3) | 2);
    expect(cur.string(out.length)).toBe('after');
  });
});

describe('Cursor varints', () => {
  test('values up to 2^32 - 1, and a too-long or truncated varint is a ModelError', () => {
    for (const v of [0, 1, 127, 128, 300, 2 ** 21, 2 ** 28 - 1, 2 ** 31, 2 ** 32 - 1]) {
      const sink = new Sink();
      sink.varint(v);
      const bytes = new Uint8Array(bytesOf(sink));
      const cur = new Cursor(bytes, 'test');
      expect(cur.uint32(bytes.length)).toBe(v);
      expect(cur.pos).toBe(bytes.length);
    }
    expect(() => new Cursor(new Uint8Array([0x80, 0x80]), 'f').uint32(2)).toThrow(/truncated varint/);
    expect(() => new Cursor(new Uint8Array([0x08]), 'f').lenEnd(1)).toThrow(/length 8 runs past the end/);
    expect(() => new Cursor(new Uint8Array([]), 'f').tag(0)).toThrow(/truncated field tag/);
  });
});
