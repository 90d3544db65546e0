import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { TOPICS } from '@tokenledger/contracts';
import { markProcessed, type ConsumedEvent } from '@tokenledger/messaging';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import type { IssuanceConfig } from '../config';
import type { LifecycleEvent } from '../domain/token-decider';
import { TokensRepository } from '../repositories/tokens.repository';
import { IssuanceService } from '../services/issuance.service';

const LIFECYCLE_TYPES = new Set<string>([
  'tokenledger.token.issued.v1',
  'tokenledger.token.rotated.v1',
  'tokenledger.token.revoked.v1',
  'tokenledger.token.expired.v1',
]);

/** Keeps issuance's token table in step with revocations and expiries decided elsewhere. */
@Controller()
export class LifecycleConsumer {
  constructor(
    private readonly issuance: IssuanceService,
    private readonly tokens: TokensRepository,
    @Inject(SERVICE_CONFIG) private readonly config: IssuanceConfig,
  ) {}

  @EventPattern(TOPICS.lifecycle)
  async handle(@Payload() events: ConsumedEvent[]): Promise<void> {
        await this.tokens.dataSource.transaction(async (manager) => {
          for (const { event } of events) {
            if (!LIFECYCLE_TYPES.has(event.type)) continue;
            if (!(await markProcessed(manager, this.config.DB_SCHEMA, 'lifecycle', event.id))) continue;
            await this.issuance.apply(manager, event as LifecycleEvent);
          }
        });
  }
}
