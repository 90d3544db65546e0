import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AUDITED_TOPICS, TOPICS, topicName } from '@tokenledger/contracts';
import { logIdOf } from '@tokenledger/ledger-core';
import { DLQ_HEADERS, KafkaConnection } from '@tokenledger/messaging';
import { MetricsService, SERVICE_CONFIG } from '@tokenledger/service-host';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import type { LedgerConfig } from '../config';
import { LedgerRepository } from '../repositories/ledger.repository';
import { AppenderService } from '../services/appender.service';

/**
 * Consumes every partition of the audited topics into the verifiable logs. PostgreSQL, not
 * Kafka, holds the position: on each assignment the consumer seeks to the next offset stored with
 * the log, and Kafka's committed offsets are only a hint. Several ledger instances form one
 * consumer group; a stale member cannot append (see AppenderService).
 */
@Injectable()
export class IngestConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private consumer: Consumer | undefined;
  private closing = false;

  constructor(
    private readonly kafka: KafkaConnection,
    private readonly appender: AppenderService,
    private readonly repository: LedgerRepository,
    private readonly metrics: MetricsService,
    private readonly logger: PinoLogger,
    @Inject(SERVICE_CONFIG) private readonly config: LedgerConfig,
  ) {}

  onApplicationBootstrap(): void {
    void this.startWhenConnected();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    await this.consumer?.disconnect();
  }

  private topics(): string[] {
    return AUDITED_TOPICS.map((t) => topicName(t, this.config.TOPIC_PREFIX));
  }

  private async startWhenConnected(): Promise<void> {
    while (!this.closing) {
      try {
        await this.kafka.ping(5000);
        await this.start();
        return;
      } catch (error) {
        this.logger.warn({ err: String(error) }, 'ledger consumer not started yet; retrying');
        await this.consumer?.disconnect().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private async start(): Promise<void> {
    const consumer = this.kafka.kafka.consumer({
      groupId: `${this.config.KAFKA_GROUP_PREFIX ?? this.config.TOPIC_PREFIX}tokenledger-ledger`,
      sessionTimeout: this.config.LEDGER_SESSION_TIMEOUT_MS,
      heartbeatInterval: Math.min(3000, Math.floor(this.config.LEDGER_SESSION_TIMEOUT_MS / 3)),
      allowAutoTopicCreation: false,
      maxBytesPerPartition: 1024 * 1024,
      retry: { initialRetryTime: 300, maxRetryTime: 5000, retries: 30 },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      void this.seekToStored(consumer, payload.memberAssignment);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: this.topics(), fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 3,
      eachBatch: (payload) => this.eachBatch(consumer, payload),
    });
  }

  /**
   * On assignment: continue from the offset stored with each log, whatever Kafka committed; a log
   * this database does not have yet starts at offset 0 (audited topics keep every record), which
   * is how a ledger is rebuilt from Kafka into an empty database.
   */
  private async seekToStored(consumer: Consumer, assignment: Record<string, number[]>): Promise<void> {
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) {
        const head = await this.repository.head(logIdOf(topic, partition));
        consumer.seek({ topic, partition, offset: String(head?.nextOffset ?? 0) });
      }
    }
  }

  private async eachBatch(consumer: Consumer, payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (!payload.isRunning() || payload.isStale() || batch.messages.length === 0) return;
    const records = batch.messages.map((m) => ({ offset: Number(m.offset), timestamp: Number(m.timestamp), value: m.value }));
    const result = await this.appender.append(batch.topic, batch.partition, records);
    for (const r of result.rejected) {
      await this.kafka.producer.send({
        topic: topicName(TOPICS.dlq, this.config.TOPIC_PREFIX),
        acks: -1,
        messages: [
          {
            value: r.value,
            headers: {
              [DLQ_HEADERS.reason]: r.reason,
              [DLQ_HEADERS.code]: r.reason.split(':')[0] ?? 'rejected',
              [DLQ_HEADERS.topic]: batch.topic,
              [DLQ_HEADERS.partition]: String(batch.partition),
              [DLQ_HEADERS.offset]: String(r.offset),
              [DLQ_HEADERS.sha256]: r.sha256,
            },
          },
        ],
      });
      this.metrics.deadLetters.inc({ topic: batch.topic, code: r.reason.split(':')[0] ?? 'rejected' });
    }
    const last = batch.messages[batch.messages.length - 1];
    if (last) payload.resolveOffset(last.offset);
    await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(result.nextOffset) }]).catch(() => undefined);
    this.metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, Number(batch.highWatermark) - result.nextOffset));
    await payload.heartbeat();
  }
}
