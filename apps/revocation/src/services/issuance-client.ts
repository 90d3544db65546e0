import { Inject, Injectable } from '@nestjs/common';
import { INTERNAL_SECRET_HEADER } from '@tokenledger/auth';
import { creditsSchema, rateLimitSchema } from '@tokenledger/contracts';
import { DomainError } from '@tokenledger/errors';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import { z } from 'zod';
import type { RevocationConfig } from '../config';

/** Issuance's answer about one token (apps/issuance internal.controller.ts CredentialRecord). */
export const credentialRecordSchema = z.object({
  tokenId: z.uuid(),
  prefix: z.string().min(1).max(64),
  owner: z.object({ type: z.string().min(1), id: z.string().min(1) }),
  scopes: z.array(z.string()).min(1),
  labels: z.record(z.string(), z.string()),
  issuedAt: z.iso.datetime({ offset: true }),
  expiresAt: z.iso.datetime({ offset: true }),
  dpopJkt: z.string().optional(),
  /** The limits it was issued with (token.issued's): enforced from its first use. */
  rateLimit: rateLimitSchema.optional(),
  credits: creditsSchema.optional(),
  status: z.enum(['active', 'revoked', 'expired']),
});
export type CredentialRecord = z.infer<typeof credentialRecordSchema>;

const resolvedSchema = z.object({ tokenId: z.uuid(), record: credentialRecordSchema });

const TIMEOUT_MS = 2000;

/**
 * The issuance authority's internal API (shared secret), asked when this app has not yet seen a
 * token on Kafka. At most ISSUANCE_LOOKUP_CONCURRENCY lookups are in flight, and at most
 * ISSUANCE_LOOKUP_QUEUE wait: beyond that a lookup fails at once with `issuance_busy`
 * (retryable, 503), so a flood of random tokens cannot queue without bound nor take more than
 * that share of issuance. Errors never carry the token.
 */
@Injectable()
export class IssuanceClient {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(@Inject(SERVICE_CONFIG) private readonly config: RevocationConfig) {}

  /** The token's record, or undefined when issuance does not hold it. */
  async resolve(token: string): Promise<{ tokenId: string; record: CredentialRecord } | undefined> {
    const body = await this.call('/internal/v1/credentials/resolve', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    return body === undefined ? undefined : this.parse(resolvedSchema, body);
  }

  /** The record of a tokenId, or undefined when issuance has no such token. */
  async lookup(tokenId: string): Promise<CredentialRecord | undefined> {
    const body = await this.call(`/internal/v1/credentials/tokens/${encodeURIComponent(tokenId)}`, {
      method: 'GET',
    });
    return body === undefined ? undefined : this.parse(credentialRecordSchema, body);
  }

  private parse<T>(schema: z.ZodType<T>, body: unknown): T {
    const parsed = schema.safeParse(body);
    if (!parsed.success)
      throw new DomainError(
        'issuance_unavailable',
        'issuance answered a credential lookup with an unexpected body',
        true,
      );
    return parsed.data;
  }

  private async call(path: string, init: RequestInit): Promise<unknown> {
    await this.acquire();
    try {
      let res: Response;
      try {
        res = await fetch(`${this.config.ISSUANCE_URL}${path}`, {
          ...init,
          headers: {
            ...(init.headers as Record<string, string> | undefined),
            [INTERNAL_SECRET_HEADER]: this.config.TOKENLEDGER_INTERNAL_SECRET,
          },
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (error) {
        throw new DomainError(
          'issuance_unavailable',
          `issuance did not answer a credential lookup (${error instanceof Error ? error.name : 'error'})`,
          true,
        );
      }
      if (res.status === 404) {
        await res.body?.cancel();
        return undefined;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new DomainError(
          'issuance_unavailable',
          `issuance answered ${res.status} to a credential lookup`,
          true,
        );
      }
      return await res.json();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.config.ISSUANCE_LOOKUP_CONCURRENCY) {
      this.active += 1;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.config.ISSUANCE_LOOKUP_QUEUE)
      return Promise.reject(
        new DomainError('issuance_busy', 'too many credential lookups in flight; retry', true),
      );
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active -= 1;
  }
}
