import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { TOPICS } from '@tokenledger/contracts';
import type { ConsumedEvent } from '@tokenledger/messaging';
import { IssuanceService } from '../services/issuance.service';

/** Keeps issuance's token table in step with revocations and expiries decided elsewhere. */
@Controller()
export class LifecycleConsumer {
  constructor(private readonly issuance: IssuanceService) {}

  @EventPattern(TOPICS.lifecycle)
  async handle(@Payload() events: ConsumedEvent[]): Promise<void> {
    await this.issuance.applyBatch(events.map(({ event }) => event));
  }
}
