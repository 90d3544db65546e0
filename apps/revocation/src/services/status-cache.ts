import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import type { RevocationConfig } from '../config';
import { StatusRepository, type TokenStatus } from '../repositories/status.repository';

/**
 * Token status for the hot path (introspection, operator auth). A status read from PostgreSQL is
 * reused for at most STATUS_CACHE_MS (default 500 ms); a revocation made by this instance drops
 * its entry at once. So this instance sees a revocation immediately, other instances within
 * STATUS_CACHE_MS (plus Kafka delivery for revocations decided by issuance or anomaly rules).
 */
@Injectable()
export class StatusCache {
  private readonly entries = new Map<string, { at: number; status: TokenStatus | undefined }>();

  constructor(
    private readonly repository: StatusRepository,
    @Inject(SERVICE_CONFIG) private readonly config: RevocationConfig,
  ) {}

  async get(tokenId: string): Promise<TokenStatus | undefined> {
    const now = Date.now();
    const hit = this.entries.get(tokenId);
    // A miss is never cached: a just-issued token must show up as soon as its event arrives.
    if (hit?.status && now - hit.at < this.config.STATUS_CACHE_MS) return hit.status;
    const status = await this.repository.find(tokenId);
    if (this.entries.size > 100_000) this.entries.clear();
    this.entries.set(tokenId, { at: now, status });
    return status;
  }

  clear(): void {
    this.entries.clear();
  }

  invalidate(tokenIds: readonly string[]): void {
    for (const id of tokenIds) this.entries.delete(id);
  }
}
