import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { kafkaCatchUpSource } from './catch-up';
import type {
  GroupConsumer,
  GroupConsumerOptions,
  IncomingRecord,
  KafkaClient,
  PartitionBatch,
} from './client';
import { createEventProducer } from './kafka-client';

/** {@link KafkaClient} over a kafkajs client (the default library). */
export function kafkajsClient(kafka: Kafka): KafkaClient {
  return {
    kind: 'kafkajs',
    eventProducer: () => createEventProducer(kafka),
    groupConsumer: (options) => new KafkajsGroupConsumer(kafka, options),
    catchUpSource: () => kafkaCatchUpSource(kafka),
  };
}

class KafkajsGroupConsumer implements GroupConsumer {
  private readonly consumer: Consumer;

  constructor(
    kafka: Kafka,
    private readonly options: GroupConsumerOptions,
  ) {
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 300, maxRetryTime: 5_000, retries: 30 },
    });
    const consumer = this.consumer;
    const { onJoin, onRevoke } = options;
    if (onJoin)
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => onJoin(payload.memberAssignment));
    if (onRevoke)
      for (const event of [
        consumer.events.REBALANCING,
        consumer.events.STOP,
        consumer.events.CRASH,
      ])
        consumer.on(event, () => onRevoke());
  }

  async run(): Promise<void> {
    const { topics, fromBeginning, partitionsConsumedConcurrently, eachBatch } = this.options;
    await this.consumer.connect();
    await this.consumer.subscribe({ topics, fromBeginning });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently,
      eachBatch: (payload) => eachBatch(batchOf(payload)),
    });
  }

  async commit(topic: string, partition: number, nextOffset: string): Promise<void> {
    await this.consumer.commitOffsets([{ topic, partition, offset: nextOffset }]);
  }

  seek(topic: string, partition: number, offset: string): void {
    this.consumer.seek({ topic, partition, offset });
  }

  disconnect(): Promise<void> {
    return this.consumer.disconnect();
  }
}

function batchOf(payload: EachBatchPayload): PartitionBatch {
  const { batch } = payload;
  return {
    topic: batch.topic,
    partition: batch.partition,
    highWatermark: batch.highWatermark,
    messages: batch.messages.map((m): IncomingRecord => ({
      offset: m.offset,
      timestamp: m.timestamp,
      key: m.key,
      value: m.value,
      headers: m.headers ?? {},
    })),
    isRunning: () => payload.isRunning(),
    isStale: () => payload.isStale(),
    resolveOffset: (offset) => payload.resolveOffset(offset),
    heartbeat: () => payload.heartbeat(),
  };
}
