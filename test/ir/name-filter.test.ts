import { NameFilter } from '../../src/ir/name-filter';

describe('NameFilter', () => {
  test('never says no to a name it was given, through every growth', () => {
    const names: string[] = [];
    const filter = new NameFilter(() => names);
    for (let i = 0; i < 50_000; i++) {
      const name = `layer${i}/conv_${i % 7}`;
      filter.add(name);
      names.push(name);
      if (i % 997 === 0) expect(names.filter((n) => !filter.mayHave(n))).toEqual([]);
    }
    expect(names.filter((n) => !filter.mayHave(n))).toEqual([]);
  });

  test('says no to almost every name it was not given', () => {
    const names: string[] = [];
    const filter = new NameFilter(() => names);
    for (let i = 0; i < 20_000; i++) {
      names.push(`bn${i}`);
      filter.add(`bn${i}`);
    }
    let maybe = 0;
    for (let i = 0; i < 20_000; i++) if (filter.mayHave(`bn${i}/Mul`)) maybe++;
    // 16+ bits per name and two bits per name: about 1 in 100 or better.
    expect(maybe).toBeLessThan(400);
  });
});

test('reserve makes room once; names added before and after stay found', () => {
  const names: string[] = [];
  let rebuilds = 0;
  const filter = new NameFilter(() => {
    rebuilds++;
    return names;
  });
  for (let i = 0; i < 10; i++) {
    names.push(`early${i}`);
    filter.add(`early${i}`);
  }
  const before = rebuilds;
  filter.reserve(100_000);
  expect(rebuilds).toBe(before + 1);
  for (let i = 0; i < 100_000; i++) {
    names.push(`n${i}`);
    filter.add(`n${i}`);
  }
  expect(rebuilds).toBe(before + 1);
  expect(names.filter((n) => !filter.mayHave(n))).toEqual([]);
});
