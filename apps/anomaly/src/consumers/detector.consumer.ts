import { Controller, Inject, type OnApplicationBootstrap } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { TOPICS } from '@tokenledger/contracts';
import type { ConsumedEvent } from '@tokenledger/messaging';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import type { AnomalyConfig } from '../config';
import { AnomalyService } from '../services/anomaly.service';
import { DetectionService } from '../services/detection.service';

/**
 * Feeds tokens.usage and tokens.lifecycle to the rules. The rules are seeded at bootstrap, which
 * completes before the transport hands over the first batch (see runService).
 */
@Controller()
export class DetectorConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly detection: DetectionService,
    private readonly anomalies: AnomalyService,
    @Inject(SERVICE_CONFIG) private readonly config: AnomalyConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.anomalies.seedRules(this.config.ANOMALY_RULES);
  }

  @EventPattern([TOPICS.usage, TOPICS.lifecycle])
  async handle(@Payload() events: ConsumedEvent[]): Promise<void> {
    await this.detection.handle(events);
  }
}
