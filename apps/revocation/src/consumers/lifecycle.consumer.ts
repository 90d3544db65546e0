import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { TOPICS } from '@tokenledger/contracts';
import { KafkaConnection } from '@tokenledger/messaging-nest';
import { markProcessed } from '@tokenledger/messaging';
import { MetricsService, SERVICE_CONFIG } from '@tokenledger/service-host';
import type { RevocationConfig } from '../config';
import { StatusRepository } from '../repositories/status.repository';
import { StatusCache } from '../services/status-cache';
import { StatusProjection } from '../services/status-projection';

/** Builds the token status projection from tokens.lifecycle (issued by issuance, and the rest). */
@Injectable()
export class LifecycleConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly kafka: KafkaConnection,
    private readonly statuses: StatusRepository,
    private readonly projection: StatusProjection,
    private readonly cache: StatusCache,
    private readonly metrics: MetricsService,
    @Inject(SERVICE_CONFIG) private readonly config: RevocationConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.kafka.startConsumer({
      topics: [TOPICS.lifecycle],
      onLag: (topic, partition, lag) => this.metrics.consumerLag.set({ topic, partition: String(partition) }, lag),
      handle: async (events) => {
        const touched: string[] = [];
        await this.statuses.dataSource.transaction(async (manager) => {
          for (const { event } of events) {
            if (!(await markProcessed(manager, this.config.DB_SCHEMA, 'lifecycle', event.id))) continue;
            touched.push(...(await this.projection.apply(manager, event)));
          }
        });
        this.cache.invalidate(touched);
      },
    });
  }
}
