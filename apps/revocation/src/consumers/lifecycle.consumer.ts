import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { TOPICS } from '@tokenledger/contracts';
import type { ConsumedEvent } from '@tokenledger/messaging';
import { StatusProjection } from '../services/status-projection';

/** Builds the token status projection from tokens.lifecycle (issued by issuance, and the rest). */
@Controller()
export class LifecycleConsumer {
  constructor(private readonly projection: StatusProjection) {}

  @EventPattern(TOPICS.lifecycle)
  async handle(@Payload() events: ConsumedEvent[]): Promise<void> {
    await this.projection.applyBatch(events.map(({ event }) => event));
  }
}
