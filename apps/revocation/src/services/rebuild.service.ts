import { Inject, Injectable } from '@nestjs/common';
import type { Principal } from '@tokenledger/auth';
import { TOPICS, topicName, uuidv7, type EventEnvelope } from '@tokenledger/contracts';
import { EventOutbox, KafkaConnection } from '@tokenledger/messaging-nest';
import { readTopicToEnd } from '@tokenledger/messaging';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import type { RevocationConfig } from '../config';
import { StatusRepository } from '../repositories/status.repository';
import { StatusCache } from './status-cache';
import { StatusProjection } from './status-projection';

/**
 * Drops the token status projection and rebuilds it from tokens.lifecycle (offset 0 up to now),
 * in one transaction, with the same rules as the live consumer. Recorded in ops.audit.
 */
@Injectable()
export class RebuildService {
  constructor(
    private readonly statuses: StatusRepository,
    private readonly projection: StatusProjection,
    private readonly cache: StatusCache,
    private readonly kafka: KafkaConnection,
    private readonly outbox: EventOutbox,
    @Inject(SERVICE_CONFIG) private readonly config: RevocationConfig,
  ) {}

  async rebuild(principal: Principal): Promise<{ replayId: string; events: number; tokens: number }> {
    const topic = topicName(TOPICS.lifecycle, this.config.TOPIC_PREFIX);
    const replayId = uuidv7();
    const events: EventEnvelope[] = [];
    await readTopicToEnd(this.kafka.kafka, topic, (event) => events.push(event));
    const tokens = await this.statuses.dataSource.transaction(async (m) => {
      await this.outbox.append(
        m,
        [{ type: 'tokenledger.ops.replay-started.v1', data: { replayId, topic, target: 'projection:revocation.token_status', reason: 'rebuild', startedAt: new Date().toISOString() } }],
        { actor: principal.actor },
      );
      await m.query(`DELETE FROM ${this.statuses.schema}.token_status`);
      for (const event of events) await this.projection.apply(m, event);
      const [row] = await m.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM ${this.statuses.schema}.token_status`);
      await this.outbox.append(
        m,
        [{ type: 'tokenledger.ops.replay-finished.v1', data: { replayId, outcome: 'completed', recordsReplayed: events.length, finishedAt: new Date().toISOString() } }],
        { actor: principal.actor },
      );
      return row?.n ?? 0;
    });
    this.cache.clear();
    this.outbox.publishSoon();
    return { replayId, events: events.length, tokens };
  }
}
