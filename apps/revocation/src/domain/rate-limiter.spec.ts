import { FixedClock } from '@tokenledger/contracts';
import { FixedWindowLimiter } from './rate-limiter';

describe('fixed-window rate limiter', () => {
  it('given limit 3 per 10 s, allows 3 uses per window and resets at the next window', () => {
    const clock = new FixedClock(1_000_000);
    const l = new FixedWindowLimiter();
    expect([1, 2, 3, 4].map(() => l.take('t', 3, 10, clock.now()))).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(l.take('other', 3, 10, clock.now())).toBe(true);
    clock.advance(9_999);
    expect(l.take('t', 3, 10, clock.now())).toBe(false);
    clock.advance(1);
    expect(l.take('t', 3, 10, clock.now())).toBe(true);
  });

  it('forgets a reset key and stays bounded', () => {
    const l = new FixedWindowLimiter(10);
    expect(l.take('t', 1, 10, 0)).toBe(true);
    expect(l.take('t', 1, 10, 0)).toBe(false);
    l.reset('t');
    expect(l.take('t', 1, 10, 0)).toBe(true);
    for (let i = 0; i < 100; i++) l.take(`k${i}`, 1, 10, 0);
    expect(l.size).toBeLessThanOrEqual(10);
  });
});
