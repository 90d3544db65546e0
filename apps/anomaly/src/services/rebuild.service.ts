import { Inject, Injectable } from '@nestjs/common';
import type { Principal } from '@tokenledger/auth';
import {
  ReplayAudit,
  TOPICS,
  topicName,
  type Clock,
  type EventEnvelope,
  type IdSource,
} from '@tokenledger/contracts';
import { readTopicToEnd } from '@tokenledger/messaging';
import { EventOutbox, KafkaConnection } from '@tokenledger/messaging-nest';
import { CLOCK, ID_SOURCE, SERVICE_CONFIG } from '@tokenledger/service-host';
import { UnitOfWork } from '@tokenledger/sql';
import type { AnomalyConfig } from '../config';
import { AnomalyRepository } from '../repositories/anomaly.repository';
import { InventoryRepository } from '../repositories/inventory.repository';
import { DetectionService } from './detection.service';

/**
 * Drops the detector's state, findings and inventory and rebuilds them from tokens.lifecycle and
 * tokens.usage (offset 0 up to now) in one transaction, without re-emitting any event. The rules
 * are order-independent across the two topics, so the rebuilt findings equal the ones replaced.
 * Stale-token findings (wall-clock sweeps) are kept as they are. Recorded in ops.audit.
 */
@Injectable()
export class RebuildService {
  constructor(
    private readonly repository: AnomalyRepository,
    private readonly inventory: InventoryRepository,
    private readonly detection: DetectionService,
    private readonly kafka: KafkaConnection,
    private readonly outbox: EventOutbox,
    private readonly uow: UnitOfWork,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_SOURCE) private readonly ids: IdSource,
    @Inject(SERVICE_CONFIG) private readonly config: AnomalyConfig,
  ) {}

  async rebuild(
    principal: Principal,
  ): Promise<{ replayId: string; events: number; findings: number }> {
    const audit = new ReplayAudit(this.ids, this.clock, {
      topic: topicName(TOPICS.usage, this.config.TOPIC_PREFIX),
      target: 'projection:anomaly',
      reason: 'rebuild',
    });
    const events: EventEnvelope[] = [];
    for (const base of [TOPICS.lifecycle, TOPICS.usage]) {
      await readTopicToEnd(this.kafka.kafka, topicName(base, this.config.TOPIC_PREFIX), (event) =>
        events.push(event),
      );
    }
    const findings = await this.uow.run(async (tx) => {
      await this.outbox.append(tx, [audit.started()], { actor: principal.actor });
      await this.repository.resetDetector(tx);
      await this.inventory.deleteAll(tx);
      const found = await this.detection.process(tx, events, false);
      await this.outbox.append(tx, [audit.finished('completed', events.length)], {
        actor: principal.actor,
      });
      return found.length;
    });
    this.outbox.publishSoon();
    return { replayId: audit.replayId, events: events.length, findings };
  }
}
