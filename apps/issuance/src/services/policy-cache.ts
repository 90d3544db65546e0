import type { Policy } from '../domain/policy';

/**
 * The issuance policy as last read, reused for `maxAgeMs` so that an issuance does not read the
 * policies table (one round trip per request before). Bounded staleness: a policy saved through
 * this instance applies to its next issuance (`replace`); one saved through another instance
 * applies here at most `maxAgeMs` later. Concurrent misses share one read. `now` is a monotonic
 * clock in ms (injected for tests).
 */
export class PolicyCache {
  private cached: { at: number; policy: Policy } | undefined;
  private loading: Promise<Policy> | undefined;
  /** Bumped by replace(), so that a read begun before it cannot overwrite the newer policy. */
  private generation = 0;

  constructor(
    private readonly load: () => Promise<Policy>,
    private readonly maxAgeMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  current(): Promise<Policy> {
    const hit = this.cached;
    if (hit && this.now() - hit.at < this.maxAgeMs) return Promise.resolve(hit.policy);
    if (this.loading) return this.loading;
    const generation = this.generation;
    const at = this.now();
    const loading = this.load().then((policy) => {
      if (this.generation === generation) this.cached = { at, policy };
      return policy;
    });
    this.loading = loading;
    const clear = (): void => {
      if (this.loading === loading) this.loading = undefined;
    };
    loading.then(clear, clear);
    return loading;
  }

  /** After a commit that saved `policy`: use it from now on. */
  replace(policy: Policy): void {
    this.generation += 1;
    this.loading = undefined;
    this.cached = { at: this.now(), policy };
  }
}
