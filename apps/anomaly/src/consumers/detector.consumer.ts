import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { TOPICS } from '@tokenledger/contracts';
import { KafkaConnection } from '@tokenledger/messaging';
import { MetricsService } from '@tokenledger/service-host';
import { DetectionService } from '../services/detection.service';

/** Feeds tokens.usage and tokens.lifecycle to the rules. */
@Injectable()
export class DetectorConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly kafka: KafkaConnection,
    private readonly detection: DetectionService,
    private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    this.kafka.startConsumer({
      topics: [TOPICS.usage, TOPICS.lifecycle],
      onLag: (topic, partition, lag) => this.metrics.consumerLag.set({ topic, partition: String(partition) }, lag),
      handle: async (events) => {
        await this.detection.handle(events);
      },
    });
  }
}
