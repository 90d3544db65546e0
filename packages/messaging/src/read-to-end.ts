import { randomBytes } from 'node:crypto';
import { decodeEvent, type EventEnvelope } from '@tokenledger/contracts';
import type { Kafka } from 'kafkajs';

/**
 * Reads a topic from offset 0 up to the high watermarks it had when the call started, in offset
 * order per partition, with a throwaway consumer group that commits nothing. For rebuilding a
 * projection; records that do not decode are skipped (the ledger has recorded them as rejected).
 */
export async function readTopicToEnd(
  kafka: Kafka,
  topic: string,
  onEvent: (event: EventEnvelope, partition: number) => void,
): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(
    offsets.filter((o) => Number(o.high) > Number(o.low)).map((o) => [o.partition, Number(o.high)]),
  );
  if (remaining.size === 0) return 0;
  let count = 0;
  const consumer = kafka.consumer({
    groupId: `tokenledger-rebuild-${randomBytes(6).toString('hex')}`,
    allowAutoTopicCreation: false,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachMessage: ({ partition, message }) => {
            const end = remaining.get(partition);
            if (end === undefined || Number(message.offset) >= end) return Promise.resolve();
            const decoded = decodeEvent(message.value ?? Buffer.alloc(0));
            if (decoded.ok) {
              onEvent(decoded.event, partition);
              count += 1;
            }
            if (Number(message.offset) + 1 >= end) remaining.delete(partition);
            if (remaining.size === 0) resolve();
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return count;
}
