import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Clock } from '@tokenledger/contracts';
import { CLOCK, SERVICE_CONFIG } from '@tokenledger/service-host';
import { isWellFormed } from '@tokenledger/token-core';
import { LRUCache } from 'lru-cache';
import type { RevocationConfig } from '../config';
import { IssuanceClient, type CredentialRecord } from './issuance-client';
import { NegativeCache } from './negative-cache';

const MAX_KNOWN = 200_000;

export interface Resolved {
  tokenId: string;
  /** Issuance's record, when this call asked issuance (the token may not be projected yet). */
  record?: CredentialRecord;
}

/**
 * Presented token -> tokenId. Only issuance holds the pepper and the stored hashes, so it is
 * asked (internal API) once per token; the answer never changes, so it is kept in memory (keyed
 * by a SHA-256 of the token, never written anywhere). "Unknown" goes to a NegativeCache, bounded
 * in size and time (see there for why a miss cannot hide a token issued after it). Concurrent
 * lookups of one token share one request to issuance.
 */
@Injectable()
export class CredentialResolver {
  private readonly known = new LRUCache<string, string>({ max: MAX_KNOWN });
  private readonly unknown: NegativeCache;
  private readonly inFlight = new Map<string, Promise<Resolved | undefined>>();

  constructor(
    private readonly issuance: IssuanceClient,
    @Inject(SERVICE_CONFIG) config: RevocationConfig,
    @Inject(CLOCK) clock: Clock,
  ) {
    this.unknown = new NegativeCache({
      maxEntries: config.NEGATIVE_CACHE_ENTRIES,
      ttlMs: config.NEGATIVE_CACHE_MS,
      now: () => clock.now(),
    });
  }

  async resolve(token: string): Promise<Resolved | undefined> {
    if (!isWellFormed(token)) return undefined;
    const key = createHash('sha256').update(token).digest('base64');
    const tokenId = this.known.get(key);
    if (tokenId) return { tokenId };
    if (this.unknown.has(key)) return undefined;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.ask(key, token).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  /** How many misses are remembered (for tests and metrics). */
  get negativeEntries(): number {
    return this.unknown.size;
  }

  private async ask(key: string, token: string): Promise<Resolved | undefined> {
    const answer = await this.issuance.resolve(token);
    if (!answer) {
      this.unknown.add(key);
      return undefined;
    }
    this.known.set(key, answer.tokenId);
    this.unknown.delete(key);
    return { tokenId: answer.tokenId, record: answer.record };
  }
}
