import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { TOPICS } from '@tokenledger/contracts';
import { KafkaConnection } from '@tokenledger/messaging';
import { MetricsService, SERVICE_CONFIG } from '@tokenledger/service-host';
import { Inject } from '@nestjs/common';
import type { IssuanceConfig } from '../config';
import { TokensRepository } from '../repositories/tokens.repository';
import { IssuanceService } from '../services/issuance.service';

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
      handle: (events) => this.issuance.applyBatch(events.map(({ event }) => event)),
    });
  }
}
