import { Inject, Injectable } from '@nestjs/common';
import type { Clock } from '@tokenledger/contracts';
import { CLOCK, SERVICE_CONFIG } from '@tokenledger/service-host';
import { LRUCache } from 'lru-cache';
import type { RevocationConfig } from '../config';
import type { TokenStatus } from '../repositories/status.repository';
import type { CredentialRecord } from './issuance-client';
import { StatusSource } from './status-source';

const MAX_ENTRIES = 100_000;

/**
 * Token status for the hot path (introspection, operator auth), read through StatusSource (the
 * projection, or issuance for a token not projected yet). A status read from PostgreSQL is
 * reused for at most STATUS_CACHE_MS (default 500 ms); a revocation made by this instance drops
 * its entry at once. So this instance sees a revocation immediately, other instances within
 * STATUS_CACHE_MS (plus Kafka delivery for revocations decided by issuance or anomaly rules).
 *
 * Concurrent misses for one token share one read: without that, every request that arrived while
 * an entry was being refreshed sent its own query, and under load (thousands of requests per
 * second for one operator token) the queries queued behind each other in the pool, which kept
 * the entry missing and stalled every request for seconds.
 *
 * Full, it drops the least recently read entries, never all of them: emptying it at once sent
 * every hot token to PostgreSQL in the same instant.
 */
@Injectable()
export class StatusCache {
  private readonly entries = new LRUCache<string, { at: number; status: TokenStatus | undefined }>({
    max: MAX_ENTRIES,
  });
  private readonly loading = new Map<string, Promise<TokenStatus | undefined>>();
  /** Bumped by invalidate/clear: a read started before MUST NOT fill the cache after. */
  private generation = 0;

  constructor(
    private readonly source: StatusSource,
    @Inject(SERVICE_CONFIG) private readonly config: RevocationConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** `record`: issuance's answer for this token, when the caller has it (see StatusSource). */
  get(tokenId: string, record?: CredentialRecord): Promise<TokenStatus | undefined> {
    const now = this.clock.now();
    const hit = this.entries.get(tokenId);
    // A miss is never cached: the next read asks again (issuance included, see StatusSource).
    if (hit?.status && now - hit.at < this.config.STATUS_CACHE_MS)
      return Promise.resolve(hit.status);
    let pending = this.loading.get(tokenId);
    if (!pending) {
      pending = this.load(tokenId, now, record).finally(() => {
        if (this.loading.get(tokenId) === pending) this.loading.delete(tokenId);
      });
      this.loading.set(tokenId, pending);
    }
    return pending;
  }

  clear(): void {
    this.generation += 1;
    this.entries.clear();
    this.loading.clear();
  }

  invalidate(tokenIds: readonly string[]): void {
    this.generation += 1;
    for (const id of tokenIds) {
      this.entries.delete(id);
      this.loading.delete(id);
    }
  }

  private async load(
    tokenId: string,
    at: number,
    record: CredentialRecord | undefined,
  ): Promise<TokenStatus | undefined> {
    const generation = this.generation;
    const status = await this.source.find(tokenId, record);
    if (generation === this.generation) this.entries.set(tokenId, { at, status });
    return status;
  }
}
