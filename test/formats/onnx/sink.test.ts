import { Sink } from '../../../src/formats/onnx/wire';

function bytesOf(sink: Sink): Buffer {
  return Buffer.concat(sink.finish().map((c) => (c instanceof Uint8Array ? c : c.bytes())));
}

/** A buffer of `n` bytes that differ from their neighbours, so that a misplaced range shows. */
function input(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 17 + (i >> 8)) & 0xff;
  return out;
}

/** Chunks of `sink` that are views of `buf`'s memory rather than copies. */
function viewsOf(sink: Sink, buf: Uint8Array): Uint8Array[] {
  return sink.finish().filter((c): c is Uint8Array => c instanceof Uint8Array && c.buffer === buf.buffer);
}

describe('Sink.rawRange joins ranges that follow one another', () => {
  test('three adjacent ranges of 200 bytes are one view of the input, 600 bytes long', () => {
    const buf = input(2000);
    const sink = new Sink();
    sink.rawRange(buf, 100, 300);
    sink.rawRange(buf, 300, 500);
    sink.rawRange(buf, 500, 700);
    expect(sink.size).toBe(600);
    const views = viewsOf(sink, buf);
    expect(views).toHaveLength(1);
    expect(views[0]!.byteOffset).toBe(100);
    expect(views[0]!.byteLength).toBe(600);
    expect(bytesOf(sink).equals(Buffer.from(buf.subarray(100, 700)))).toBe(true);
  });

  test('adjacent ranges shorter than 512 bytes in all are copied, not referenced', () => {
    const buf = input(1000);
    const sink = new Sink();
    sink.rawRange(buf, 0, 255);
    sink.rawRange(buf, 255, 511);
    expect(viewsOf(sink, buf)).toHaveLength(0);
    expect(bytesOf(sink).equals(Buffer.from(buf.subarray(0, 511)))).toBe(true);
  });

  test('exactly 512 bytes joined is referenced; a gap, another buffer or another append ends a run', () => {
    const buf = input(4000);
    const other = input(4000, 2);
    const sink = new Sink();
    sink.rawRange(buf, 0, 256);
    sink.rawRange(buf, 256, 512); // 512: referenced
    sink.rawRange(buf, 513, 600); // a gap of one byte
    sink.rawRange(other, 600, 700); // same offsets, another buffer
    sink.varint(300);
    sink.rawRange(other, 700, 800); // follows, but after the varint
    sink.rawRange(buf, 800, 800); // empty: nothing
    const expected = Buffer.concat([buf.subarray(0, 512), buf.subarray(513, 600), other.subarray(600, 700), Buffer.from([0xac, 0x02]), other.subarray(700, 800)]);
    expect(sink.size).toBe(expected.length);
    expect(viewsOf(sink, buf).map((v) => [v.byteOffset, v.byteLength])).toEqual([[0, 512]]);
    expect(viewsOf(sink, other)).toHaveLength(0);
    expect(bytesOf(sink).equals(expected)).toBe(true);
  });

  test('a nested message whose content ends in a pending range is measured and copied whole', () => {
    const buf = input(3000);
    for (const n of [10, 127, 128, 511, 512, 2000]) {
      const parent = new Sink();
      parent.rawRange(buf, 0, 5);
      parent.open(7);
      parent.stringField(1, 'name');
      parent.rawRange(buf, 1000, 1000 + n);
      parent.close();
      parent.rawRange(buf, 5, 10); // follows the first range in `buf`, but not in the output
      const content = Buffer.concat([Buffer.from([0x0a, 4, ...Buffer.from('name')]), buf.subarray(1000, 1000 + n)]);
      const len = content.length < 128 ? [content.length] : [(content.length & 0x7f) | 0x80, content.length >> 7];
      const expected = Buffer.concat([buf.subarray(0, 5), Buffer.from([(7 << 3) | 2, ...len]), content, buf.subarray(5, 10)]);
      expect(parent.size).toBe(expected.length);
      expect(bytesOf(parent).equals(expected)).toBe(true);
    }
  });

  test('random appends give the bytes a plain concatenation gives', () => {
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const bufs = [input(1 << 16, 3), input(1 << 16, 4)];
    for (let round = 0; round < 50; round++) {
      const sink = new Sink(rand(2) === 0 ? 64 : 8);
      const parts: Uint8Array[] = [];
      let next = rand(1000);
      for (let op = 0; op < 200; op++) {
        const kind = rand(10);
        if (kind < 6) {
          const buf = bufs[rand(4) === 0 ? 1 : 0]!;
          const start = rand(3) === 0 ? rand(60000) : Math.min(next, 60000);
          const len = [0, 1, 20, 300, 511, 512, 600, 3000][rand(8)]!;
          sink.rawRange(buf, start, start + len);
          parts.push(buf.subarray(start, start + len));
          next = start + len;
        } else if (kind < 8) {
          const v = rand(100000);
          sink.varint(v);
          const s = new Sink();
          s.varint(v);
          parts.push(bytesOf(s));
        } else {
          const bytes = input([3, 600][rand(2)]!, rand(50));
          sink.raw(bytes);
          parts.push(bytes);
        }
        expect(sink.size).toBe(parts.reduce((n, p) => n + p.byteLength, 0));
      }
      expect(bytesOf(sink).equals(Buffer.concat(parts))).toBe(true);
    }
  });
});

/** The bytes of a length-delimited field `field` holding `content`, built by hand. */
function field(no: number, content: Uint8Array): Buffer {
  const len: number[] = [];
  let n = content.byteLength;
  while (n > 0x7f) {
    len.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  len.push(n);
  return Buffer.concat([Buffer.from([(no << 3) | 2, ...len]), content]);
}

describe('Sink.open and close write a nested message in place', () => {
  test.each([0, 1, 127, 128, 300, 16383, 16384, 70000])('content of %i bytes, small pieces: the length takes as many bytes as it needs', (n) => {
    const content = input(n, 5);
    const sink = new Sink(8);
    sink.varint(1);
    sink.open(3);
    for (let at = 0; at < n; at += 100) sink.raw(content.subarray(at, Math.min(n, at + 100)));
    sink.close();
    sink.varint(2);
    const expected = Buffer.concat([Buffer.from([1]), field(3, content), Buffer.from([2])]);
    expect(sink.size).toBe(expected.length);
    expect(bytesOf(sink).equals(expected)).toBe(true);
  });

  test.each([127, 128, 600, 5000])('content of %i bytes that holds a referenced chunk: the chunk holding the length byte is split', (n) => {
    const big = input(n, 6);
    const sink = new Sink();
    sink.varint(9);
    sink.open(4);
    sink.varint(150);
    sink.raw(big); // referenced when 512 bytes or more
    sink.varint(7);
    sink.close();
    const expected = Buffer.concat([Buffer.from([9]), field(4, Buffer.concat([Buffer.from([0x96, 0x01]), big, Buffer.from([7])]))]);
    expect(sink.size).toBe(expected.length);
    expect(bytesOf(sink).equals(expected)).toBe(true);
  });

  test('the length byte first in its chunk, and a message that fills its scratch buffer to the last byte', () => {
    for (const fill of [0, 1, 50, 62, 63]) {
      const sink = new Sink(64);
      const head = input(fill, 8);
      sink.raw(head);
      sink.open(1);
      const body = input(130, 9);
      sink.raw(body);
      sink.close();
      const expected = Buffer.concat([head, field(1, body)]);
      expect(sink.size).toBe(expected.length);
      expect(bytesOf(sink).equals(expected)).toBe(true);
    }
  });

  test('messages nested three deep, each long or short, around ranges of the input and referenced chunks', () => {
    const buf = input(5000, 10);
    for (const [a, b, c] of [
      [5, 5, 5],
      [5, 200, 5],
      [200, 5, 700],
      [700, 700, 700],
      [0, 0, 130],
    ] as const) {
      const sink = new Sink(32);
      sink.open(1);
      sink.rawRange(buf, 0, a);
      sink.open(2);
      sink.rawRange(buf, a, a + b);
      sink.open(3);
      sink.rawRange(buf, 2000, 2000 + c);
      sink.close();
      sink.stringField(4, 'n');
      sink.close();
      sink.raw(input(a + 1, 11));
      sink.close();
      const inner = field(3, buf.subarray(2000, 2000 + c));
      const middle = field(2, Buffer.concat([buf.subarray(a, a + b), inner, Buffer.from([(4 << 3) | 2, 1, 0x6e])]));
      const expected = field(1, Buffer.concat([buf.subarray(0, a), middle, input(a + 1, 11)]));
      expect(sink.size).toBe(expected.length);
      expect(bytesOf(sink).equals(expected)).toBe(true);
    }
  });

  test('close without open is an error', () => {
    expect(() => new Sink().close()).toThrow(/without open/);
  });
});

describe('Sink scratch buffers', () => {
  test('megabytes of small fields: every byte handed out is one written (scratch memory is not zeroed first)', () => {
    const sink = new Sink();
    const expected: number[] = [];
    for (let i = 0; i < 1_500_000; i++) {
      const v = (i * 7919) % 300;
      sink.varint(v);
      if (v > 0x7f) expected.push((v & 0x7f) | 0x80, v >> 7);
      else expected.push(v);
    }
    expect(sink.size).toBe(expected.length);
    expect(bytesOf(sink).equals(Buffer.from(expected))).toBe(true);
  });
});
