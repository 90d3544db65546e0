import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AUDITED_TOPICS } from '@tokenledger/contracts';
import { KafkaConnection } from '@tokenledger/messaging-nest';
import { MetricsService, SERVICE_CONFIG } from '@tokenledger/service-host';
import type { LedgerConfig } from '../config';
import { LedgerRepository } from '../repositories/ledger.repository';
import { AppenderService } from '../services/appender.service';
import { logIdOf } from '../domain/leaf';

/**
 * Consumes every partition of the audited topics into the verifiable logs. PostgreSQL, not
 * Kafka, holds the position: on each assignment the consumer seeks to the next offset stored with
 * the log, and Kafka's committed offsets are only a hint. Several ledger instances form one
 * consumer group; a stale member cannot append (see AppenderService).
 */
@Injectable()
export class IngestConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly kafka: KafkaConnection,
    private readonly appender: AppenderService,
    private readonly repository: LedgerRepository,
    private readonly metrics: MetricsService,
    @Inject(SERVICE_CONFIG) private readonly config: LedgerConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.kafka.startConsumer({
      topics: [...AUDITED_TOPICS],
      raw: true,
      sessionTimeoutMs: this.config.LEDGER_SESSION_TIMEOUT_MS,
      partitionsConsumedConcurrently: 3,
      seekOnAssign: (topic, partition) => this.storedOffset(topic, partition),
      onLag: (topic, partition, lag) => this.metrics.consumerLag.set({ topic, partition: String(partition) }, lag),
      onDeadLetter: ({ topic, code }) => this.metrics.deadLetters.inc({ topic, code }),
      handle: async (batch) => {
        const [first] = batch;
        if (!first) return {};
        const records = batch.map((m) => ({ offset: Number(m.offset), timestamp: Number(m.timestamp), value: m.value }));
        const result = await this.appender.append(first.topic, first.partition, records);
        return {
          nextOffset: result.nextOffset,
          deadLetters: result.rejected.map((r) => ({ offset: r.offset, code: r.reason.split(':')[0] ?? 'rejected', reason: r.reason })),
        };
      },
    });
  }

  /**
   * On assignment: continue from the offset stored with each log, whatever Kafka committed; a log
   * this database does not have yet starts at offset 0 (audited topics keep every record), which
   * is how a ledger is rebuilt from Kafka into an empty database.
   */
  private async storedOffset(topic: string, partition: number): Promise<number> {
    const head = await this.repository.head(logIdOf(topic, partition));
    return head?.nextOffset ?? 0;
  }
}
