/**
 * Every name a graph has given out, in the order given, with what it was
 * given to: values (also once removed or renamed, so that their names stay
 * taken) and nodes. A graph of 100k+ nodes gives out 300k+ names while it is
 * read and asks about most of them once ("is this name new?"): a Map costs
 * about a microsecond per new key there (hashing, entry, growth, and a
 * remembered-set slot per young key for the garbage collector). Here a name
 * costs one hash and a probe of a typed array; names with the same hash are
 * told apart by comparing them.
 *
 * Open addressing with linear probing, never deleting, one slot per distinct
 * name. The entries of a name (a name given many times: ONNX nodes without a
 * name, TFLite tensors sharing one) are chained from its slot in the order
 * they were added, so that the first match is the earliest entry and adding
 * one more costs the same as adding the first.
 */
export class NameIndex<T> {
  /**
   * Names and owners in the order added, the first `count` of each, in
   * chunks of CHUNK entries: a flat array of 400k entries that outgrows its
   * room is copied into fresh (page-faulting) memory, and a rewrite adds
   * 100k+ names to an index sized for the names read.
   */
  private names: string[][] = [];
  private owners: T[][] = [];
  private count = 0;
  /** Per entry: 1 + the position of the next entry of the same name (0: none). */
  private next: Int32Array;
  /** Per first entry of a name: the position of its last entry. */
  private last: Int32Array;
  /** Per slot: the name's hash, and 1 + the position of its first entry (0: empty slot). */
  private slots: Int32Array;
  private mask: number;
  /** Slots in use: distinct names. */
  private distinct = 0;

  /**
   * `seed` starts every hash: random by default, so that a model cannot bring
   * thousands of names made to share one hash (the probe runs would grow
   * with their square); tests pass one to get known collisions.
   */
  constructor(private readonly seed = PROCESS_SEED) {
    this.slots = new Int32Array(2 * MIN_SLOTS);
    this.mask = MIN_SLOTS - 1;
    this.next = new Int32Array(MIN_SLOTS);
    this.last = new Int32Array(MIN_SLOTS);
  }

  get size(): number {
    return this.count;
  }

  /**
   * Adds `name` given to `owner`. With `earlier`, first returns the earliest
   * owner already added under `name` that `earlier` accepts.
   */
  add(name: string, owner: T, earlier?: (owner: T, name: string) => boolean): T | undefined {
    if ((this.distinct + 1) * LOAD_DENOMINATOR > (this.mask + 1) * LOAD_NUMERATOR) this.grow(2 * (this.mask + 1));
    if (this.count === this.next.length) this.growChains(2 * this.count);
    const at = this.count;
    if ((at & CHUNK_MASK) === 0) {
      // The first chunk grows as names come (most graphs have few); the
      // others are made at full size, as they will be filled.
      this.names.push(at === 0 ? [] : new Array<string>(CHUNK));
      this.owners.push(at === 0 ? [] : new Array<T>(CHUNK));
    }
    this.names[at >>> CHUNK_BITS]![at & CHUNK_MASK] = name;
    this.owners[at >>> CHUNK_BITS]![at & CHUNK_MASK] = owner;
    this.count++;
    const h = hashName(name, this.seed);
    const slots = this.slots;
    let i = h & this.mask;
    for (;;) {
      const first = slots[2 * i + 1]!;
      if (first === 0) break;
      if (slots[2 * i] === h && this.nameAt(first - 1) === name) {
        // Given before: the new entry goes to the end of the name's chain.
        const found = earlier ? this.firstAccepted(first - 1, name, earlier) : undefined;
        this.next[this.last[first - 1]!] = at + 1;
        this.last[first - 1] = at;
        return found;
      }
      i = (i + 1) & this.mask;
    }
    slots[2 * i] = h;
    slots[2 * i + 1] = at + 1;
    this.last[at] = at;
    this.distinct++;
    return undefined;
  }

  /** Whether `name` was ever added. */
  has(name: string): boolean {
    return this.firstEntry(name) >= 0;
  }

  /** The earliest owner added under `name` that `accept` accepts. */
  find(name: string, accept: (owner: T, name: string) => boolean): T | undefined {
    const first = this.firstEntry(name);
    return first < 0 ? undefined : this.firstAccepted(first, name, accept);
  }

  /** Makes room for `more` names at once (one rehash and one array each instead of several as they come). */
  reserve(more: number): void {
    let size = this.mask + 1;
    while ((this.distinct + more) * LOAD_DENOMINATOR > size * LOAD_NUMERATOR) size *= 2;
    if (size > this.mask + 1) this.grow(size);
    if (this.count + more > this.next.length) this.growChains(this.count + more);
  }

  /** The name of the entry at `at`. */
  private nameAt(at: number): string {
    return this.names[at >>> CHUNK_BITS]![at & CHUNK_MASK]!;
  }

  /** Position of the first entry of `name`, or -1. */
  private firstEntry(name: string): number {
    const h = hashName(name, this.seed);
    const slots = this.slots;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const first = slots[2 * i + 1]!;
      if (first === 0) return -1;
      if (slots[2 * i] === h && this.nameAt(first - 1) === name) return first - 1;
    }
  }

  /** Along the chain from the entry at `from`: the first owner `accept` accepts. */
  private firstAccepted(from: number, name: string, accept: (owner: T, name: string) => boolean): T | undefined {
    for (let at = from; at >= 0; at = this.next[at]! - 1) {
      const o = this.owners[at >>> CHUNK_BITS]![at & CHUNK_MASK]!;
      if (accept(o, name)) return o;
    }
    return undefined;
  }

  /** Room for `size` entries in the chain arrays. */
  private growChains(size: number): void {
    size = Math.max(size, MIN_SLOTS);
    const next = new Int32Array(size);
    next.set(this.next.subarray(0, this.count));
    this.next = next;
    const last = new Int32Array(size);
    last.set(this.last.subarray(0, this.count));
    this.last = last;
  }

  /** `size` slots (a power of two), filled again with the hashes the old slots hold (no name is hashed again). */
  private grow(size: number): void {
    const old = this.slots;
    const slots = new Int32Array(2 * size);
    const mask = size - 1;
    for (let k = 0; k < old.length; k += 2) {
      const first = old[k + 1]!;
      if (first === 0) continue;
      const h = old[k]!;
      let i = h & mask;
      while (slots[2 * i + 1] !== 0) i = (i + 1) & mask;
      slots[2 * i] = h;
      slots[2 * i + 1] = first;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

const MIN_SLOTS = 64;
/** Entries per chunk of `names` and `owners` (128 KB of pointers each). */
const CHUNK_BITS = 14;
const CHUNK = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK - 1;
/** Chosen once per process (not observable from outside it). */
const PROCESS_SEED = (Math.random() * 2 ** 32) | 0;
/** At most 3/4 of the slots are used (linear probing stays short; 8 slots share a cache line). */
const LOAD_NUMERATOR = 3;
const LOAD_DENOMINATOR = 4;

/**
 * FNV-1a over the UTF-16 code units (its offset basis changed by `seed`), then
 * mixed (murmur3's finaliser) so that names differing in their last characters
 * (`bn1`, `bn2`) spread over the low bits the slots are chosen by. A signed
 * 32-bit integer.
 */
export function hashName(s: string, seed = 0): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
