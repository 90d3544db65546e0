import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { TOPICS } from '@tokenledger/contracts';
import type { ConsumedEvent } from '@tokenledger/messaging';
import { IssuanceService } from '../services/issuance.service';

/** Keeps each token's last use, for the search of `GET /v1/tokens` (last used, never used). */
@Controller()
export class UsageConsumer {
  constructor(private readonly issuance: IssuanceService) {}

  @EventPattern(TOPICS.usage)
  async handle(@Payload() events: ConsumedEvent[]): Promise<void> {
    await this.issuance.recordUses(events.map(({ event }) => event));
  }
}
