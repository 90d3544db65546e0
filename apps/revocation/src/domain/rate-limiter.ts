/**
 * Fixed-window rate limiting, in this process only (pure: `now` is passed in). Across N
 * instances a token gets at most N x limit uses per window, and because windows are fixed, at
 * most 2 x N x limit in any span of windowSeconds (docs/design/controls.md).
 */
export class FixedWindowLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly maxKeys = 200_000) {}

  /** Counts one use of `key`; false when the window already holds `limit` uses. */
  take(key: string, limit: number, windowSeconds: number, now: number): boolean {
    const windowMs = windowSeconds * 1000;
    const start = now - (now % windowMs);
    let w = this.windows.get(key);
    if (!w || w.start !== start) {
      if (!w && this.windows.size >= this.maxKeys) this.sweep(now);
      w = { start, count: 0 };
      this.windows.set(key, w);
    }
    if (w.count >= limit) return false;
    w.count += 1;
    return true;
  }

  /** Forgets a key (its limits changed). */
  reset(key: string): void {
    this.windows.delete(key);
  }

  get size(): number {
    return this.windows.size;
  }

  /** Drops windows that ended (at most a day long), or everything when all are current. */
  private sweep(now: number): void {
    for (const [k, w] of this.windows) if (now - w.start >= 86_400_000) this.windows.delete(k);
    if (this.windows.size >= this.maxKeys) this.windows.clear();
  }
}
