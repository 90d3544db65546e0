import { Inject, Injectable } from '@nestjs/common';
import type { EventEnvelope } from '@tokenledger/contracts';
import { markProcessed } from '@tokenledger/messaging';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import { UnitOfWork, type Tx } from '@tokenledger/sql';
import type { RevocationConfig } from '../config';
import { LimitsRepository } from '../repositories/limits.repository';
import { StatusRepository } from '../repositories/status.repository';
import { LimitsService } from './limits.service';
import { StatusCache } from './status-cache';

/**
 * How tokens.lifecycle events shape the token status projection. One definition for the live
 * consumer and for rebuilds, so that a rebuilt projection equals the live one.
 * Returns the tokenIds whose status changed (for cache invalidation).
 */
@Injectable()
export class StatusProjection {
  constructor(
    private readonly statuses: StatusRepository,
    private readonly cache: StatusCache,
    private readonly limitsRepository: LimitsRepository,
    private readonly limits: LimitsService,
    private readonly uow: UnitOfWork,
    @Inject(SERVICE_CONFIG) private readonly config: RevocationConfig,
  ) {}

  /**
   * The live consumer's batch: every event not seen before is applied, all in one transaction
   * (each event's id recorded in the inbox with its effect, so a redelivered event is skipped),
   * then the touched cache entries are dropped.
   */
  async applyBatch(events: readonly EventEnvelope[]): Promise<void> {
    const limitsTouched: string[] = [];
    const touched = await this.uow.run(async (tx) => {
      const ids: string[] = [];
      for (const event of events) {
        if (!(await markProcessed(tx, this.config.DB_SCHEMA, 'lifecycle', event.id))) continue;
        if (event.type === 'tokenledger.token.limits-changed.v1') {
          // This app's own changes come back here too: applied already, so nothing is reset.
          if (await this.limitsRepository.apply(tx, event.data, event.id))
            limitsTouched.push(event.data.tokenId);
          continue;
        }
        ids.push(...(await this.apply(tx, event)));
      }
      return ids;
    });
    this.cache.invalidate(touched);
    this.limits.invalidate(limitsTouched);
  }

  async apply(m: Tx, event: EventEnvelope): Promise<string[]> {
    switch (event.type) {
      case 'tokenledger.token.issued.v1':
        // Limits first, in the same transaction: no reader sees the token without them. Only
        // when the token has no limits row (adopted, PUT since, or a rebuild's replay: kept).
        await this.limitsRepository.insertIssued(event.data, m);
        await this.statuses.insertIssued(m, event.data);
        return [];
      case 'tokenledger.token.revoked.v1':
        await this.statuses.markRevoked(
          m,
          event.data.tokenId,
          event.data.reason,
          event.data.revokedAt,
        );
        return [event.data.tokenId];
      case 'tokenledger.token.expired.v1':
        await this.statuses.markExpired(m, event.data.tokenId);
        return [event.data.tokenId];
      case 'tokenledger.token.rotated.v1':
        await this.statuses.markRotated(m, event.data.tokenId, event.data.graceEndsAt);
        return [];
      default:
        return [];
    }
  }
}
