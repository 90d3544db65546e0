import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { TOPICS } from '@tokenledger/contracts';
import { KafkaConnection } from '@tokenledger/messaging-nest';
import { markProcessed } from '@tokenledger/messaging';
import { MetricsService, SERVICE_CONFIG } from '@tokenledger/service-host';
import { Inject } from '@nestjs/common';
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
@Injectable()
export class LifecycleConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly kafka: KafkaConnection,
    private readonly issuance: IssuanceService,
    private readonly tokens: TokensRepository,
    private readonly metrics: MetricsService,
    @Inject(SERVICE_CONFIG) private readonly config: IssuanceConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.kafka.startConsumer({
      topics: [TOPICS.lifecycle],
      onLag: (topic, partition, lag) => this.metrics.consumerLag.set({ topic, partition: String(partition) }, lag),
      handle: (events) =>
        this.tokens.dataSource.transaction(async (manager) => {
          for (const { event } of events) {
            if (!LIFECYCLE_TYPES.has(event.type)) continue;
            if (!(await markProcessed(manager, this.config.DB_SCHEMA, 'lifecycle', event.id))) continue;
            await this.issuance.apply(manager, event as LifecycleEvent);
          }
        }),
    });
  }
}
