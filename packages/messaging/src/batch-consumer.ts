import { createHash } from 'node:crypto';
import { EventDecodeError, decodeEvent, type EventEnvelope } from '@tokenledger/contracts';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';

export interface ConsumedEvent {
  event: EventEnvelope;
  topic: string;
  partition: number;
  offset: string;
  /** Kafka record timestamp (LogAppendTime on audited topics), ms since epoch as a string. */
  timestamp: string;
  raw: Buffer;
}

export interface PoisonRecord {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  size: number;
  sha256: string;
  error: EventDecodeError;
}

export interface BatchConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  /** Producer used for dead letters (acks=all). */
  producer: Producer;
  /** Full name of the dead-letter topic (`ledger.dlq` with any prefix). */
  dlqTopic: string;
  /** Records larger than this are poison (default 256 KiB). */
  maxRecordBytes?: number;
  fromBeginning?: boolean;
  /**
   * Handles the valid events of one partition's batch, in offset order. Offsets are committed
   * only after it resolves, so it MUST be idempotent by event id (see `markProcessed`): after a
   * crash or a rebalance the same records can come again.
   */
  handle: (events: ConsumedEvent[]) => Promise<void>;
  onPoison?: (record: PoisonRecord) => void;
  /** Lag of the partition after a batch, for metrics. */
  onLag?: (topic: string, partition: number, lag: number) => void;
  log?: (message: string, extra?: Record<string, unknown>) => void;
}

export const DLQ_HEADERS = {
  reason: 'tl-dlq-reason',
  code: 'tl-dlq-code',
  topic: 'tl-source-topic',
  partition: 'tl-source-partition',
  offset: 'tl-source-offset',
  sha256: 'tl-source-sha256',
} as const;

/**
 * A consumer-group member that validates every record, dead-letters poison instead of blocking
 * its partition, hands valid events to `handle` batch by batch, and commits offsets manually
 * after each batch. Kafka's partition assignment spreads partitions over instances.
 */
export class BatchConsumer {
  private consumer: Consumer | undefined;
  private readonly maxRecordBytes: number;

  constructor(private readonly options: BatchConsumerOptions) {
    this.maxRecordBytes = options.maxRecordBytes ?? 256 * 1024;
  }

  async start(): Promise<void> {
    const { kafka, groupId, topics } = this.options;
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 300, maxRetryTime: 5_000, retries: 30 },
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: this.options.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.eachBatch(consumer, payload),
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.consumer = undefined;
  }

  private async eachBatch(consumer: Consumer, payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const valid: ConsumedEvent[] = [];
    let last: string | undefined;
    for (const message of batch.messages) {
      if (!payload.isRunning() || payload.isStale()) break;
      const raw = message.value ?? Buffer.alloc(0);
      const decoded =
        raw.length > this.maxRecordBytes
          ? { ok: false as const, error: tooLarge(raw.length, this.maxRecordBytes) }
          : decodeEvent(raw);
      if (decoded.ok) {
        valid.push({
          event: decoded.event,
          topic: batch.topic,
          partition: batch.partition,
          offset: message.offset,
          timestamp: message.timestamp,
          raw,
        });
      } else {
        await this.deadLetter(batch.topic, batch.partition, message, raw, decoded.error);
      }
      last = message.offset;
    }
    if (last === undefined) return;
    if (valid.length > 0) await this.options.handle(valid);
    // Resolving tells kafkajs where to fetch from next; committing makes it survive a restart.
    payload.resolveOffset(last);
    const next = (BigInt(last) + 1n).toString();
    await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
    this.options.onLag?.(batch.topic, batch.partition, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(next))));
    await payload.heartbeat();
  }

  private async deadLetter(
    topic: string,
    partition: number,
    message: KafkaMessage,
    raw: Buffer,
    error: EventDecodeError,
  ): Promise<void> {
    const sha256 = createHash('sha256').update(raw).digest('hex');
    const record: PoisonRecord = {
      topic,
      partition,
      offset: message.offset,
      timestamp: message.timestamp,
      size: raw.length,
      sha256,
      error,
    };
    await this.options.producer.send({
      topic: this.options.dlqTopic,
      acks: -1,
      messages: [
        {
          key: message.key,
          value: raw,
          headers: {
            [DLQ_HEADERS.reason]: error.message,
            [DLQ_HEADERS.code]: error.code,
            [DLQ_HEADERS.topic]: topic,
            [DLQ_HEADERS.partition]: String(partition),
            [DLQ_HEADERS.offset]: message.offset,
            [DLQ_HEADERS.sha256]: sha256,
          },
        },
      ],
    });
    this.options.onPoison?.(record);
    this.options.log?.('poison record sent to the dead-letter topic', {
      topic,
      partition,
      offset: message.offset,
      code: error.code,
      reason: error.message,
    });
  }
}

function tooLarge(size: number, limit: number): EventDecodeError {
  return new EventDecodeError('too-large', '', `record is ${size} bytes, over the ${limit}-byte limit`);
}
