import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { TOPICS } from '@tokenledger/contracts';
import { KafkaConnection, markProcessed } from '@tokenledger/messaging';
import { MetricsService, SERVICE_CONFIG } from '@tokenledger/service-host';
import type { RevocationConfig } from '../config';
import { StatusRepository } from '../repositories/status.repository';
import { StatusCache } from '../services/status-cache';

/** Builds the token status projection from tokens.lifecycle (issued by issuance, and the rest). */
@Injectable()
export class LifecycleConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly kafka: KafkaConnection,
    private readonly statuses: StatusRepository,
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
            switch (event.type) {
              case 'tokenledger.token.issued.v1':
                await this.statuses.insertIssued(manager, event.data);
                break;
              case 'tokenledger.token.revoked.v1':
                await this.statuses.markRevoked(manager, event.data.tokenId, event.data.reason, event.data.revokedAt);
                touched.push(event.data.tokenId);
                break;
              case 'tokenledger.token.expired.v1':
                await this.statuses.markExpired(manager, event.data.tokenId);
                touched.push(event.data.tokenId);
                break;
              case 'tokenledger.token.rotated.v1':
                await this.statuses.markRotated(manager, event.data.tokenId, event.data.graceEndsAt);
                break;
              default:
                break;
            }
          }
        });
        this.cache.invalidate(touched);
      },
    });
  }
}
