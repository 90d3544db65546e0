import { Inject, Injectable } from '@nestjs/common';
import type { Principal } from '@tokenledger/auth';
import { TOPICS, topicName, uuidv7, type EventEnvelope } from '@tokenledger/contracts';
import { EventOutbox, KafkaConnection } from '@tokenledger/messaging-nest';
import { readTopicToEnd } from '@tokenledger/messaging';
import { quoteIdent } from '@tokenledger/sql';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import type { AnomalyConfig } from '../config';
import { AnomalyRepository } from '../repositories/anomaly.repository';
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
    private readonly detection: DetectionService,
    private readonly kafka: KafkaConnection,
    private readonly outbox: EventOutbox,
    @Inject(SERVICE_CONFIG) private readonly config: AnomalyConfig,
  ) {}

  async rebuild(principal: Principal): Promise<{ replayId: string; events: number; findings: number }> {
    const replayId = uuidv7();
    const events: EventEnvelope[] = [];
    for (const base of [TOPICS.lifecycle, TOPICS.usage]) {
      await readTopicToEnd(this.kafka.kafka, topicName(base, this.config.TOPIC_PREFIX), (event) => events.push(event));
    }
    const s = quoteIdent(this.config.DB_SCHEMA);
    const findings = await this.repository.dataSource.transaction(async (m) => {
      await this.outbox.append(
        m,
        [{ type: 'tokenledger.ops.replay-started.v1', data: { replayId, topic: topicName(TOPICS.usage, this.config.TOPIC_PREFIX), target: 'projection:anomaly', reason: 'rebuild', startedAt: new Date().toISOString() } }],
        { actor: principal.actor },
      );
      await m.query(`DELETE FROM ${s}.token_state`);
      await m.query(`DELETE FROM ${s}.inventory`);
      await m.query(`DELETE FROM ${s}.anomalies WHERE rule <> 'stale-token'`);
      await m.query(`DELETE FROM ${s}.inbox WHERE consumer = 'detector'`);
      const found = await this.detection.process(m, events, false);
      await this.outbox.append(
        m,
        [{ type: 'tokenledger.ops.replay-finished.v1', data: { replayId, outcome: 'completed', recordsReplayed: events.length, finishedAt: new Date().toISOString() } }],
        { actor: principal.actor },
      );
      return found.length;
    });
    this.outbox.publishSoon();
    return { replayId, events: events.length, findings };
  }
}
