/**
 * A Bloom filter of names: answers "certainly not present" without a lookup
 * in a graph's name tables. On a graph of 100k+ names each table lookup of a
 * fresh string costs several cache misses, and most names a rewrite asks for
 * (`bn7/Mul`, `bn7/k`) are new: the filter, a few hundred KB of bits, tells
 * so at the cost of hashing the name. It grows (rebuilt from the names it is
 * given) so that it keeps at least 16 bits per name: about 1 false "maybe"
 * in 200.
 */
export class NameFilter {
  private bits: Uint32Array;
  private mask: number;
  private count = 0;

  constructor(private readonly allNames: () => Iterable<string>) {
    this.bits = new Uint32Array(MIN_BITS / 32);
    this.mask = MIN_BITS - 1;
  }

  /** False when `name` was certainly never added. */
  mayHave(name: string): boolean {
    const h = hashName(name);
    const a = h & this.mask;
    const b = second(h) & this.mask;
    return (this.bits[a >>> 5]! & (1 << (a & 31))) !== 0 && (this.bits[b >>> 5]! & (1 << (b & 31))) !== 0;
  }

  add(name: string): void {
    if ((this.count + 1) * BITS_PER_NAME > this.bits.length * 32) this.grow(this.bits.length * 32 * 4);
    this.count++;
    this.set(name);
  }

  /** Makes room for `more` names at once (one rebuild instead of several as they come). */
  reserve(more: number): void {
    let size = this.bits.length * 32;
    while ((this.count + more) * BITS_PER_NAME > size) size *= 2;
    if (size > this.bits.length * 32) this.grow(size);
  }

  private set(name: string): void {
    const h = hashName(name);
    const a = h & this.mask;
    const b = second(h) & this.mask;
    this.bits[a >>> 5]! |= 1 << (a & 31);
    this.bits[b >>> 5]! |= 1 << (b & 31);
  }

  /** `size` bits (a power of two), filled again from every name the graph has. */
  private grow(size: number): void {
    this.bits = new Uint32Array(size / 32);
    this.mask = size - 1;
    let count = 0;
    for (const name of this.allNames()) {
      this.set(name);
      count++;
    }
    // Names given more than once count once now: `count` only bounds the fill.
    this.count = count;
  }
}

const MIN_BITS = 1 << 10;
const BITS_PER_NAME = 16;

/** FNV-1a over the UTF-16 code units. */
function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A second position from the same hash (mixing its halves). */
function second(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}
