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

  test('a varint of six to ten bytes ends where its last byte is, not five bytes past its fifth', () => {
    // 5 padded to six bytes, then 42: protobuf's C++ reader reads 5 and then 42.
    const cur = new Cursor(new Uint8Array([0x85, 0x80, 0x80, 0x80, 0x80, 0x00, 0x2a]), 'f');
    expect(cur.uint32(7)).toBe(5);
    expect(cur.pos).toBe(6);
    expect(cur.uint32(7)).toBe(42);
    // Ten bytes is the most a varint has.
    const ten = new Cursor(new Uint8Array([...Array<number>(9).fill(0x81), 0x01]), 'f');
    ten.uint32(10);
    expect(ten.pos).toBe(10);
    expect(() => new Cursor(new Uint8Array([...Array<number>(10).fill(0x81), 0x01]), 'f').uint32(11)).toThrow(/longer than 10 bytes/);
  });

  test('a length past 2^31 - 1 is refused, not read as its low 32 bits (protobuf refuses it too)', () => {
    // 2^32 + 6, then six bytes: the low bits alone would be a length of 6 that fits.
    const wide = new Uint8Array([0x86, 0x80, 0x80, 0x80, 0x10, ...Buffer.from('padded')]);
    expect(() => new Cursor(wide, 'f').lenEnd(wide.length)).toThrow(/length 4294967302 is over protobuf's limit of 2\^31 - 1 bytes/);
    expect(() => new Cursor(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x08, 0]), 'f').lenEnd(6)).toThrow(/length 2147483648 is over/);
    // A length padded to six bytes is still its value.
    const padded = new Uint8Array([0x86, 0x80, 0x80, 0x80, 0x80, 0x00, ...Buffer.from('padded')]);
    const cur = new Cursor(padded, 'f');
    expect(cur.lenEnd(padded.length)).toBe(padded.length);
    expect(cur.pos).toBe(6);
  });
});
