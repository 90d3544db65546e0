import { Controller, Injectable } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { TOPICS, type EventEnvelope } from '@tokenledger/contracts';
import type { ConsumedEvent } from '@tokenledger/messaging';
import type { BatchPatternExtras, ConsumerGroupSettings } from '@tokenledger/messaging-nest';
import { IssuanceService } from '../services/issuance.service';

/**
 * A token's last use is the latest accepted use: per batch, only the latest accepted
 * `token.used` of each token is checked (its signature) and handled, the earlier ones being
 * superseded (BatchConsumer `latestOnly`). One Ed25519 check per token and batch instead of one
 * per use: in a profile of 1600 introspections/s of one token, the checks were a third of
 * issuance's CPU (bench/RESULTS.md, LEASE runs).
 */
@Injectable()
export class LastUseFold implements ConsumerGroupSettings {
  latestOnly(event: EventEnvelope): { key: string; order: number } | undefined {
    if (event.type !== 'tokenledger.token.used.v1') return undefined;
    const { outcome, tokenId, at } = event.data;
    return outcome === 'accepted' && tokenId ? { key: tokenId, order: Date.parse(at) } : undefined;
  }
}

/** Keeps each token's last use, for the search of `GET /v1/tokens` (last used, never used). */
@Controller()
export class UsageConsumer {
  constructor(private readonly issuance: IssuanceService) {}

  @EventPattern(TOPICS.usage, { settings: LastUseFold } satisfies BatchPatternExtras)
  async handle(@Payload() events: ConsumedEvent[]): Promise<void> {
    await this.issuance.recordUses(events.map(({ event }) => event));
  }
}
