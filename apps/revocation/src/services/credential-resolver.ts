import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { INTERNAL_SECRET_HEADER } from '@tokenledger/auth';
import type { Clock } from '@tokenledger/contracts';
import { CLOCK, SERVICE_CONFIG } from '@tokenledger/service-host';
import { isWellFormed } from '@tokenledger/token-core';
import { LRUCache } from 'lru-cache';
import type { RevocationConfig } from '../config';

const MAX_ENTRIES = 200_000;
const UNKNOWN_TTL_MS = 500;

/**
 * Presented token -> tokenId. Only issuance holds the pepper and the stored hashes, so it is
 * asked (internal API) once per token; the answer never changes, so it is kept in memory (keyed
 * by a SHA-256 of the token, never written anywhere). "Unknown" is kept only briefly, since the
 * token may have been issued a moment ago. Full, each map drops its least recently used keys.
 */
@Injectable()
export class CredentialResolver {
  private readonly known = new LRUCache<string, string>({ max: MAX_ENTRIES });
  private readonly unknown = new LRUCache<string, number>({ max: MAX_ENTRIES });

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: RevocationConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async resolve(token: string): Promise<string | undefined> {
    if (!isWellFormed(token)) return undefined;
    const key = createHash('sha256').update(token).digest('base64');
    const hit = this.known.get(key);
    if (hit) return hit;
    const missAt = this.unknown.get(key);
    if (missAt !== undefined && this.clock.now() - missAt < UNKNOWN_TTL_MS) return undefined;

    const res = await fetch(`${this.config.ISSUANCE_URL}/internal/v1/credentials/resolve`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [INTERNAL_SECRET_HEADER]: this.config.TOKENLEDGER_INTERNAL_SECRET,
      },
      body: JSON.stringify({ token }),
      signal: AbortSignal.timeout(2000),
    });
    if (res.status === 404) {
      this.unknown.set(key, this.clock.now());
      return undefined;
    }
    if (!res.ok) throw new Error(`issuance answered ${res.status} to a credential lookup`);
    const { tokenId } = (await res.json()) as { tokenId: string };
    this.known.set(key, tokenId);
    this.unknown.delete(key);
    return tokenId;
  }
}
