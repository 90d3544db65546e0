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
    private readonly uow: UnitOfWork,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_SOURCE) private readonly ids: IdSource,
    @Inject(SERVICE_CONFIG) private readonly config: RevocationConfig,
  ) {}

  async rebuild(
    principal: Principal,
  ): Promise<{ replayId: string; events: number; tokens: number }> {
    const topic = topicName(TOPICS.lifecycle, this.config.TOPIC_PREFIX);
    const audit = new ReplayAudit(this.ids, this.clock, {
      topic,
      target: 'projection:revocation.token_status',
      reason: 'rebuild',
    });
    const events: EventEnvelope[] = [];
    await readTopicToEnd(this.kafka.kafka, topic, (event) => events.push(event));
    const tokens = await this.uow.run(async (tx) => {
      await this.outbox.append(tx, [audit.started()], { actor: principal.actor });
      await this.statuses.deleteAll(tx);
      for (const event of events) await this.projection.apply(tx, event);
      const count = await this.statuses.count(tx);
      await this.outbox.append(tx, [audit.finished('completed', events.length)], {
        actor: principal.actor,
      });
      return count;
    });
    this.cache.clear();
    this.outbox.publishSoon();
    return { replayId: audit.replayId, events: events.length, tokens };
  }
}
