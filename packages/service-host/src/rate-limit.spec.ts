import { TokenBuckets } from './rate-limit';

describe('TokenBuckets', () => {
  let now = 0;
  const clock = (): number => now;
  beforeEach(() => (now = 0));

  it('allows `capacity` at once, then says how long until the next one', () => {
    const buckets = new TokenBuckets(3, 1000, 10, clock);
    expect([buckets.take('a'), buckets.take('a'), buckets.take('a')]).toEqual([0, 0, 0]);
    expect(buckets.take('a')).toBe(334); // one request comes back every 333.3 ms
    now = 200;
    expect(buckets.take('a')).toBe(134);
    now = 340;
    expect(buckets.take('a')).toBe(0);
    expect(buckets.take('a')).toBeGreaterThan(0);
  });

  it('keeps keys apart', () => {
    const buckets = new TokenBuckets(1, 1000, 10, clock);
    expect(buckets.take('a')).toBe(0);
    expect(buckets.take('a')).toBeGreaterThan(0);
    expect(buckets.take('b')).toBe(0);
  });

  it('refills to capacity, never beyond', () => {
    const buckets = new TokenBuckets(2, 1000, 10, clock);
    buckets.take('a');
    now = 1_000_000;
    expect([buckets.take('a'), buckets.take('a'), buckets.take('a') > 0]).toEqual([0, 0, true]);
  });

  it('keeps at most maxKeys buckets, forgetting the least recently used', () => {
    const buckets = new TokenBuckets(1, 1000, 3, clock);
    for (const key of ['a', 'b', 'c']) buckets.take(key);
    expect(buckets.take('a')).toBeGreaterThan(0); // a is now the most recent
    buckets.take('d'); // forgets b
    expect(buckets.size).toBe(3);
    expect(buckets.take('a')).toBeGreaterThan(0);
    expect(buckets.take('b')).toBe(0);
    for (let i = 0; i < 1000; i++) buckets.take(`k${i}`);
    expect(buckets.size).toBe(3);
  });
});
