import { Injectable } from '@nestjs/common';
import type { EventEnvelope } from '@tokenledger/contracts';
import type { EntityManager } from 'typeorm';
import { StatusRepository } from '../repositories/status.repository';

/**
 * How tokens.lifecycle events shape the token status projection. One definition for the live
 * consumer and for rebuilds, so that a rebuilt projection equals the live one.
 * Returns the tokenIds whose status changed (for cache invalidation).
 */
@Injectable()
export class StatusProjection {
  constructor(private readonly statuses: StatusRepository) {}

  async apply(m: EntityManager, event: EventEnvelope): Promise<string[]> {
    switch (event.type) {
      case 'tokenledger.token.issued.v1':
        await this.statuses.insertIssued(m, event.data);
        return [];
      case 'tokenledger.token.revoked.v1':
        await this.statuses.markRevoked(m, event.data.tokenId, event.data.reason, event.data.revokedAt);
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
