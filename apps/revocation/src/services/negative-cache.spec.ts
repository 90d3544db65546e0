import { NegativeCache } from './negative-cache';

describe('NegativeCache', () => {
  it('trusts a miss for ttlMs on its clock, then forgets it', () => {
    let now = 1_000;
    const cache = new NegativeCache({ maxEntries: 10, ttlMs: 500, now: () => now });
    cache.add('a');
    now += 499;
    expect(cache.has('a')).toBe(true);
    now += 1;
    expect(cache.has('a')).toBe(false);
    expect(cache.size).toBe(0);
  });

  it('never holds more than maxEntries keys: the least recently written go first', () => {
    const cache = new NegativeCache({ maxEntries: 3, ttlMs: 60_000, now: () => 0 });
    for (const key of ['a', 'b', 'c', 'd', 'e']) cache.add(key);
    expect(cache.size).toBe(3);
    expect(['a', 'b', 'c', 'd', 'e'].map((k) => cache.has(k))).toEqual([
      false,
      false,
      true,
      true,
      true,
    ]);
  });

  it('a miss of one key says nothing about another key', () => {
    const cache = new NegativeCache({ maxEntries: 10, ttlMs: 60_000, now: () => 0 });
    cache.add('a');
    expect(cache.has('b')).toBe(false);
  });

  it('refuses bounds that would make it unbounded or meaningless', () => {
    expect(() => new NegativeCache({ maxEntries: 0, ttlMs: 1, now: () => 0 })).toThrow(
      /maxEntries/,
    );
    expect(() => new NegativeCache({ maxEntries: 1, ttlMs: -1, now: () => 0 })).toThrow(/ttlMs/);
  });
});
