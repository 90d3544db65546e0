import { DEFAULT_POLICY, type Policy } from '../domain/policy';
import { PolicyCache } from './policy-cache';

const strict: Policy = { ...DEFAULT_POLICY, defaultTtlSeconds: 60 };

/** A policy store that counts its reads and answers when told to. */
function store(initial: Policy) {
  let current = initial;
  let reads = 0;
  const pending: Array<() => void> = [];
  return {
    load: () => {
      reads += 1;
      const answer = current;
      return new Promise<Policy>((resolve) => pending.push(() => resolve(answer)));
    },
    set: (p: Policy) => (current = p),
    answerAll: () => pending.splice(0).forEach((answer) => answer()),
    reads: () => reads,
  };
}

describe('PolicyCache', () => {
  it('reuses a read for maxAgeMs on its clock, then reads again', async () => {
    let now = 0;
    const db = store(DEFAULT_POLICY);
    const cache = new PolicyCache(db.load, 1000, () => now);
    const first = cache.current();
    db.answerAll();
    await expect(first).resolves.toEqual(DEFAULT_POLICY);
    db.set(strict); // saved through another instance
    now = 999;
    await expect(cache.current()).resolves.toEqual(DEFAULT_POLICY);
    expect(db.reads()).toBe(1);
    now = 1000;
    const fresh = cache.current();
    db.answerAll();
    await expect(fresh).resolves.toEqual(strict);
    expect(db.reads()).toBe(2);
  });

  it('shares one read between concurrent misses', async () => {
    const db = store(DEFAULT_POLICY);
    const cache = new PolicyCache(db.load, 1000, () => 0);
    const both = Promise.all([cache.current(), cache.current()]);
    db.answerAll();
    await expect(both).resolves.toEqual([DEFAULT_POLICY, DEFAULT_POLICY]);
    expect(db.reads()).toBe(1);
  });

  it('uses a policy saved through this instance at once, even over a read begun before it', async () => {
    const db = store(DEFAULT_POLICY);
    const cache = new PolicyCache(db.load, 1000, () => 0);
    const stale = cache.current(); // read in flight with the old policy
    cache.replace(strict);
    db.answerAll();
    await expect(stale).resolves.toEqual(DEFAULT_POLICY); // that caller began before the save
    await expect(cache.current()).resolves.toEqual(strict);
    expect(db.reads()).toBe(1);
  });

  it('with maxAgeMs 0 reads every time', async () => {
    const db = store(DEFAULT_POLICY);
    const cache = new PolicyCache(db.load, 0, () => 0);
    for (let i = 0; i < 3; i++) {
      const p = cache.current();
      db.answerAll();
      await p;
    }
    expect(db.reads()).toBe(3);
  });
});
