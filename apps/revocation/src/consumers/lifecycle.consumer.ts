import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { TOPICS } from '@tokenledger/contracts';
import { markProcessed, type ConsumedEvent } from '@tokenledger/messaging';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import type { RevocationConfig } from '../config';
import { StatusRepository } from '../repositories/status.repository';
import { StatusCache } from '../services/status-cache';
import { StatusProjection } from '../services/status-projection';

/** Builds the token status projection from tokens.lifecycle (issued by issuance, and the rest). */
@Controller()
export class LifecycleConsumer {
  constructor(
    private readonly statuses: StatusRepository,
    private readonly projection: StatusProjection,
    private readonly cache: StatusCache,
    @Inject(SERVICE_CONFIG) private readonly config: RevocationConfig,
  ) {}

  @EventPattern(TOPICS.lifecycle)
  async handle(@Payload() events: ConsumedEvent[]): Promise<void> {
        const touched: string[] = [];
        await this.statuses.dataSource.transaction(async (manager) => {
          for (const { event } of events) {
            if (!(await markProcessed(manager, this.config.DB_SCHEMA, 'lifecycle', event.id))) continue;
            touched.push(...(await this.projection.apply(manager, event)));
          }
        });
        this.cache.invalidate(touched);
  }
}
