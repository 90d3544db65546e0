import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { TOPICS } from '@tokenledger/contracts';
import { KafkaConnection } from '@tokenledger/messaging-nest';
import { MetricsService, SERVICE_CONFIG } from '@tokenledger/service-host';
import { Inject } from '@nestjs/common';
import type { AnomalyConfig } from '../config';
import { AnomalyService } from '../services/anomaly.service';
import { DetectionService } from '../services/detection.service';

/** Feeds tokens.usage and tokens.lifecycle to the rules. */
@Injectable()
export class DetectorConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly kafka: KafkaConnection,
    private readonly detection: DetectionService,
    private readonly metrics: MetricsService,
    private readonly anomalies: AnomalyService,
    @Inject(SERVICE_CONFIG) private readonly config: AnomalyConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.anomalies.seedRules(this.config.ANOMALY_RULES);
    this.kafka.startConsumer({
      topics: [TOPICS.usage, TOPICS.lifecycle],
      onLag: (topic, partition, lag) => this.metrics.consumerLag.set({ topic, partition: String(partition) }, lag),
      handle: async (events) => {
        await this.detection.handle(events);
      },
    });
  }
}
