import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import type { Principal } from '@tokenledger/auth';
import type { Clock, Credits, RateLimit, TokenledgerReason } from '@tokenledger/contracts';
import { DomainError } from '@tokenledger/errors';
import { EventOutbox } from '@tokenledger/messaging-nest';
import { CLOCK, SERVICE_CONFIG } from '@tokenledger/service-host';
import { UnitOfWork } from '@tokenledger/sql';
import { LRUCache } from 'lru-cache';
import type { RevocationConfig } from '../config';
import { FixedWindowLimiter } from '../domain/rate-limiter';
import {
  LimitsRepository,
  MAX_SPEND_PER_STATEMENT,
  type TokenLimits,
} from '../repositories/limits.repository';
import { SpendCoalescer } from './spend-coalescer';
import { StatusSource } from './status-source';

/** A credit lease is at most 1/LEASE_DIVISOR of the balance left. */
const LEASE_DIVISOR = 1000;
const LEASE_IDLE_MS = 10_000;

export interface LimitsView {
  tokenId: string;
  rateLimit: RateLimit | null;
  credits: Credits | null;
  changedAt: string | null;
}

/** `PUT /v1/tokens/{id}/limits`: an absent field keeps its setting, `null` removes it. */
export interface LimitsUpdate {
  rateLimit?: RateLimit | null;
  credits?: Credits | null;
}

/**
 * Per-token rate limits and credits, enforced by introspection. Credits are exact across
 * instances (LimitsRepository.spend), and concurrent uses of one token on this instance share one
 * spend statement (SpendCoalescer); rate limits are counted per instance (FixedWindowLimiter).
 * Which limits a token has is cached like its status, for at most STATUS_CACHE_MS, so a change
 * made on another instance applies there within that time.
 */
@Injectable()
export class LimitsService implements BeforeApplicationShutdown {
  private readonly settings = new LRUCache<string, { at: number; limits: TokenLimits | undefined }>(
    { max: 100_000 },
  );
  private readonly limiter = new FixedWindowLimiter();
  private readonly credits: SpendCoalescer;
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly repository: LimitsRepository,
    private readonly statuses: StatusSource,
    private readonly outbox: EventOutbox,
    private readonly uow: UnitOfWork,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(SERVICE_CONFIG) private readonly config: RevocationConfig,
  ) {
    this.credits = new SpendCoalescer(
      (tokenId, k, at) => this.repository.spend(tokenId, k, at),
      MAX_SPEND_PER_STATEMENT,
      config.CREDIT_LEASE_MAX > 0
        ? {
            refund: (tokenId, n, version) => this.repository.refund(tokenId, n, version),
            max: config.CREDIT_LEASE_MAX,
            divisor: LEASE_DIVISOR,
          }
        : undefined,
    );
    // A lease not used for LEASE_IDLE_MS goes back to the balance.
    this.sweep = setInterval(
      () => void this.credits.release(this.clock.now() - LEASE_IDLE_MS),
      LEASE_IDLE_MS,
    );
    this.sweep.unref();
  }

  /** Gives the leases back while the database pool is still open. */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.sweep);
    await this.credits.release();
  }

  /**
   * Counts one use of an otherwise active token; the reason it is refused, if it is. A use the
   * rate limit refuses spends no credit. A credit is spent durably before this resolves; when
   * the spend fails, this rejects with its error and no credit is spent.
   */
  async check(tokenId: string, now: number): Promise<TokenledgerReason | undefined> {
    const limits = await this.cached(tokenId, now);
    if (!limits) return undefined;
    if (
      limits.rateLimit &&
      !this.limiter.take(tokenId, limits.rateLimit.limit, limits.rateLimit.windowSeconds, now)
    )
      return 'rate_limited';
    if (limits.credits && (await this.credits.take(tokenId, now)) === undefined)
      return 'credits_exhausted';
    return undefined;
  }

  async get(tokenId: string): Promise<LimitsView> {
    await this.known(tokenId);
    const l = await this.repository.find(tokenId);
    return {
      tokenId,
      rateLimit: l?.rateLimit ?? null,
      credits: l?.credits ?? null,
      changedAt: l?.changedAt.toISOString() ?? null,
    };
  }

  /** Sets or resets the limits; recorded as token.limits-changed (the ledger's evidence). */
  async put(tokenId: string, update: LimitsUpdate, principal: Principal): Promise<LimitsView> {
    await this.known(tokenId);
    const now = this.clock.now();
    const changedAt = new Date(now).toISOString();
    const view = await this.uow.run(async (m) => {
      const current = await this.repository.find(tokenId, m);
      const next = {
        tokenId,
        rateLimit: update.rateLimit !== undefined ? update.rateLimit : (current?.rateLimit ?? null),
        credits: update.credits !== undefined ? update.credits : (current?.credits ?? null),
        changedAt,
      };
      const [event] = await this.outbox.append(
        m,
        [{ type: 'tokenledger.token.limits-changed.v1', data: next }],
        { actor: principal.actor },
      );
      if (!event) throw new Error('outbox returned no event');
      await this.repository.apply(m, next, event.id);
      return next;
    });
    this.outbox.publishSoon();
    this.invalidate([tokenId]);
    return view;
  }

  /** Forgets cached settings, rate windows and credit leases (the limits changed). */
  invalidate(tokenIds: readonly string[]): void {
    this.credits.drop(tokenIds);
    for (const id of tokenIds) {
      this.settings.delete(id);
      this.limiter.reset(id);
    }
  }

  private async known(tokenId: string): Promise<void> {
    if (!(await this.statuses.find(tokenId)))
      throw new DomainError('token_not_found', `no token ${tokenId}`);
  }

  private async cached(tokenId: string, now: number): Promise<TokenLimits | undefined> {
    const hit = this.settings.get(tokenId);
    if (hit && now - hit.at < this.config.STATUS_CACHE_MS) return hit.limits;
    const limits = await this.repository.find(tokenId);
    const useful = limits && (limits.rateLimit || limits.credits) ? limits : undefined;
    // Reset on another instance since (its event is not applied here again): a lease taken
    // before it holds credits that no longer exist. So a reset bites within STATUS_CACHE_MS.
    this.credits.confirm(tokenId, useful?.credits ? useful.version : undefined);
    this.settings.set(tokenId, { at: now, limits: useful });
    return useful;
  }
}
