import { LRUCache } from 'lru-cache';

export interface NegativeCacheOptions {
  /** At most this many keys; beyond that the least recently written go. */
  maxEntries: number;
  /** A miss is trusted for this long after it was recorded, on `now`. */
  ttlMs: number;
  now: () => number;
}

/**
 * Recent "issuance does not know this token" answers, keyed by a digest of the token (never the
 * token). Bounded in size (LRU) and in time (TTL on the injected clock), so an unauthenticated
 * caller presenting random well-formed tokens costs at most one issuance lookup per distinct
 * token per TTL, and this map at most `maxEntries` keys.
 *
 * Why a miss cannot hide a token issued just after it: issuance commits a token's row before its
 * response carries the plaintext, and plaintexts come from its CSPRNG (>= 190 bits), so a token
 * missed at time t is either never issued or was chosen outside issuance. The one chosen
 * plaintext, TOKENLEDGER_ROOT_TOKEN, is registered before issuance listens, so issuance never
 * answers "unknown" for it. A different token is a different key: a miss never affects it.
 */
export class NegativeCache {
  private readonly misses: LRUCache<string, number>;

  constructor(private readonly options: NegativeCacheOptions) {
    if (!(options.maxEntries >= 1)) throw new Error('NegativeCache: maxEntries must be >= 1');
    if (!(options.ttlMs >= 0)) throw new Error('NegativeCache: ttlMs must be >= 0');
    this.misses = new LRUCache({ max: options.maxEntries });
  }

  /** Records a miss seen now. */
  add(key: string): void {
    this.misses.set(key, this.options.now());
  }

  /** Whether a miss for this key was recorded less than ttlMs ago (an older one is dropped). */
  has(key: string): boolean {
    const at = this.misses.peek(key);
    if (at === undefined) return false;
    if (this.options.now() - at < this.options.ttlMs) return true;
    this.misses.delete(key);
    return false;
  }

  delete(key: string): void {
    this.misses.delete(key);
  }

  get size(): number {
    return this.misses.size;
  }
}
