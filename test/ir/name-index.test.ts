import { NameIndex, hashName } from '../../src/ir/name-index';

interface Owner {
  id: number;
  live: boolean;
}
const isLive = (o: Owner): boolean => o.live;

describe('NameIndex', () => {
  test('finds every name it was given, through every growth, and no other', () => {
    const index = new NameIndex<Owner>();
    const names: string[] = [];
    for (let i = 0; i < 50_000; i++) {
      const name = `layer${i}/conv_${i % 7}`;
      index.add(name, { id: i, live: true });
      names.push(name);
      if (i % 4999 === 0) {
        expect(names.filter((n) => !index.has(n))).toEqual([]);
        expect(names.filter((n) => index.has(`${n}/`))).toEqual([]);
      }
    }
    expect(index.size).toBe(50_000);
    const missing: string[] = [];
    for (let i = 0; i < names.length; i++) if (index.find(names[i]!, isLive)?.id !== i) missing.push(names[i]!);
    expect(missing).toEqual([]);
    expect(index.has('layer50000/conv_6')).toBe(false);
    expect(index.find('', isLive)).toBeUndefined();
  });

  test('a name given twice: find and add see the earliest accepted owner first', () => {
    const index = new NameIndex<Owner>();
    const a = { id: 1, live: true };
    const b = { id: 2, live: true };
    expect(index.add('x', a, isLive)).toBeUndefined();
    for (let i = 0; i < 1000; i++) index.add(`filler${i}`, { id: -i, live: true }); // grows between the two
    expect(index.add('x', b, isLive)).toBe(a);
    expect(index.find('x', isLive)).toBe(a);
    a.live = false; // a tombstone: passed over, still taken
    expect(index.find('x', isLive)).toBe(b);
    b.live = false;
    expect(index.find('x', isLive)).toBeUndefined();
    expect(index.has('x')).toBe(true);
    const c = { id: 3, live: true };
    expect(index.add('x', c, isLive)).toBeUndefined();
    expect(index.find('x', isLive)).toBe(c);
  });

  test('names whose hashes are equal are told apart by their text', () => {
    // Two names with the same 32-bit hash (found once by a birthday search over `n${i.toString(36)}`).
    const [first, second] = ['n3pvu', 'ne3ea'];
    expect(hashName(first)).toBe(hashName(second));
    expect(hashName(first, 12345)).not.toBe(hashName(second, 12345));
    const index = new NameIndex<Owner>(0);
    index.add(first, { id: 1, live: true });
    expect(index.has(first)).toBe(true);
    expect(index.has(second)).toBe(false);
    expect(index.find(second, isLive)).toBeUndefined();
    expect(index.add(second, { id: 2, live: true }, isLive)).toBeUndefined();
    expect(index.find(second, isLive)?.id).toBe(2);
    expect(index.find(first, isLive)?.id).toBe(1);
  });

  test('reserve sizes the slots once; names added before and after stay found', () => {
    const index = new NameIndex<Owner>();
    for (let i = 0; i < 10; i++) index.add(`early${i}`, { id: i, live: true });
    index.reserve(100_000);
    for (let i = 0; i < 100_000; i++) index.add(`n${i}`, { id: i, live: true });
    for (let i = 0; i < 10; i++) expect(index.find(`early${i}`, isLive)?.id).toBe(i);
    let found = 0;
    for (let i = 0; i < 100_000; i += 97) if (index.find(`n${i}`, isLive)?.id === i) found++;
    expect(found).toBe(Math.ceil(100_000 / 97));
  });
});

test('a name given 100,000 times (unnamed nodes) is chained: adds and finds do not walk past the others', () => {
  // Probed past, this would take 5e9 steps (jest's timeout, not a timer, is the check).
  const index = new NameIndex<Owner>();
  const owners: Owner[] = [];
  let wrong = 0;
  for (let i = 0; i < 100_000; i++) {
    const o = { id: i, live: true };
    owners.push(o);
    if (index.add('', o, isLive) !== (i === 0 ? undefined : owners[0])) wrong++;
    index.add(`n${i}`, { id: -i, live: true });
  }
  expect(wrong).toBe(0);
  expect(index.find('', isLive)).toBe(owners[0]);
  expect(index.has('')).toBe(true);
  expect(index.has('n99999')).toBe(true);
  // Entries of one name are found in the order they were added.
  owners[0]!.live = false;
  owners[1]!.live = false;
  expect(index.find('', isLive)).toBe(owners[2]);
});
