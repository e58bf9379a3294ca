/**
 * Every name a graph has given out, in the order given, with what it was
 * given to: values (also once removed or renamed, so that their names stay
 * taken) and nodes. A graph of 100k+ nodes gives out 300k+ names while it is
 * read and asks about most of them once ("is this name new?"): a Map costs
 * about a microsecond per new key there (hashing, entry, growth, and a
 * remembered-set slot per young key for the garbage collector). Here a name
 * costs one hash and a probe of a typed array; entries with the same hash
 * are told apart by comparing the names themselves.
 *
 * Open addressing with linear probing, never deleting: entries of one name
 * lie along one probe run in the order they were added, so the first match
 * found is the earliest entry.
 */
export class NameIndex<T> {
  /**
   * Names and owners in the order added, the first `count` of each. Made at
   * the size `reserve` announces: grown by push, arrays of 400k entries are
   * copied several times into fresh memory, which costs page faults.
   */
  private names: string[] = [];
  private owners: T[] = [];
  private count = 0;
  /** Per slot: the name's hash, and 1 + its position in `names` (0: empty). */
  private slots: Int32Array;
  private mask: number;

  /**
   * `seed` starts every hash: random by default, so that a model cannot bring
   * thousands of names made to share one hash (the probe runs would grow
   * with their square); tests pass one to get known collisions.
   */
  constructor(private readonly seed = PROCESS_SEED) {
    this.slots = new Int32Array(2 * MIN_SLOTS);
    this.mask = MIN_SLOTS - 1;
  }

  get size(): number {
    return this.count;
  }

  /**
   * Adds `name` given to `owner`. With `earlier`, first returns the earliest
   * owner already added under `name` that `earlier` accepts (looked for on
   * the way to the free slot, so without a second probe).
   */
  add(name: string, owner: T, earlier?: (owner: T, name: string) => boolean): T | undefined {
    if ((this.count + 1) * LOAD_DENOMINATOR > (this.mask + 1) * LOAD_NUMERATOR) this.grow(2 * (this.mask + 1));
    const h = hashName(name, this.seed);
    const slots = this.slots;
    let found: T | undefined;
    let i = h & this.mask;
    for (;;) {
      const at = slots[2 * i + 1]!;
      if (at === 0) break;
      if (earlier && found === undefined && slots[2 * i] === h && this.names[at - 1] === name) {
        const o = this.owners[at - 1]!;
        if (earlier(o, name)) found = o;
      }
      i = (i + 1) & this.mask;
    }
    slots[2 * i] = h;
    slots[2 * i + 1] = this.count + 1;
    this.names[this.count] = name;
    this.owners[this.count] = owner;
    this.count++;
    return found;
  }

  /** Whether `name` was ever added. */
  has(name: string): boolean {
    const h = hashName(name, this.seed);
    const slots = this.slots;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const at = slots[2 * i + 1]!;
      if (at === 0) return false;
      if (slots[2 * i] === h && this.names[at - 1] === name) return true;
    }
  }

  /** The earliest owner added under `name` that `accept` accepts. */
  find(name: string, accept: (owner: T, name: string) => boolean): T | undefined {
    const h = hashName(name, this.seed);
    const slots = this.slots;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const at = slots[2 * i + 1]!;
      if (at === 0) return undefined;
      if (slots[2 * i] === h && this.names[at - 1] === name) {
        const o = this.owners[at - 1]!;
        if (accept(o, name)) return o;
      }
    }
  }

  /** Makes room for `more` names at once (one rehash instead of several as they come). */
  reserve(more: number): void {
    let size = this.mask + 1;
    while ((this.count + more) * LOAD_DENOMINATOR > size * LOAD_NUMERATOR) size *= 2;
    if (size > this.mask + 1) this.grow(size);
    const room = this.count + more;
    if (room > this.names.length) {
      const names = new Array<string>(room);
      const owners = new Array<T>(room);
      for (let at = 0; at < this.count; at++) {
        names[at] = this.names[at]!;
        owners[at] = this.owners[at]!;
      }
      this.names = names;
      this.owners = owners;
    }
  }

  /**
   * `size` slots (a power of two), filled again in the order names were
   * added, with the hashes the old slots hold (no name is hashed again).
   */
  private grow(size: number): void {
    const old = this.slots;
    const hashes = new Int32Array(this.count);
    for (let i = 1; i < old.length; i += 2) if (old[i] !== 0) hashes[old[i]! - 1] = old[i - 1]!;
    const slots = new Int32Array(2 * size);
    const mask = size - 1;
    for (let at = 0; at < hashes.length; at++) {
      const h = hashes[at]!;
      let i = h & mask;
      while (slots[2 * i + 1] !== 0) i = (i + 1) & mask;
      slots[2 * i] = h;
      slots[2 * i + 1] = at + 1;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

const MIN_SLOTS = 64;
/** Chosen once per process (not observable from outside it). */
const PROCESS_SEED = (Math.random() * 2 ** 32) | 0;
/** At most 3/4 of the slots are used (linear probing stays short; 8 slots share a cache line). */
const LOAD_NUMERATOR = 3;
const LOAD_DENOMINATOR = 4;

/**
 * FNV-1a over the UTF-16 code units (its offset basis changed by `seed`), then mixed (murmur3's finaliser) so that
 * names differing in their last characters (`bn1`, `bn2`) spread over the
 * low bits the slots are chosen by. A signed 32-bit integer.
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
