/**
 * TFLite string tensors: a buffer holding the count N (int32), N + 1 int32
 * offsets from the buffer start, then the bytes of the strings back to back.
 */

/** The strings of a canonical string buffer, or undefined when the buffer is not one. */
export function decodeStringBuffer(bytes: Uint8Array): Uint8Array[] | undefined {
  if (bytes.byteLength < 4) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = dv.getInt32(0, true);
  const header = 4 * (count + 2);
  if (count < 0 || header > bytes.byteLength) return undefined;
  const out: Uint8Array[] = [];
  let prev = dv.getInt32(4, true);
  if (prev !== header) return undefined;
  for (let i = 1; i <= count; i++) {
    const end = dv.getInt32(4 + 4 * i, true);
    if (end < prev || end > bytes.byteLength) return undefined;
    out.push(bytes.subarray(prev, end));
    prev = end;
  }
  // Only a buffer we would write back byte for byte counts as canonical.
  return prev === bytes.byteLength ? out : undefined;
}

/** Encodes strings as a TFLite string buffer. */
export function encodeStringBuffer(strings: readonly Uint8Array[]): Uint8Array {
  const header = 4 * (strings.length + 2);
  let total = header;
  for (const s of strings) total += s.byteLength;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, strings.length, true);
  let at = header;
  strings.forEach((s, i) => {
    dv.setInt32(4 + 4 * i, at, true);
    out.set(s, at);
    at += s.byteLength;
  });
  dv.setInt32(4 + 4 * strings.length, at, true);
  return out;
}
