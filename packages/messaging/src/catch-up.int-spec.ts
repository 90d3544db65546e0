import { TOPICS, encodeEvent, partitionKey, topicName } from '@tokenledger/contracts';
import { eventually, freshTopicPrefix, kafkaBrokers } from '@tokenledger/testing';
import {
  BatchConsumer,
  createKafka,
  createKafkaClient,
  provisionTopics,
  type RecordProducer,
} from '../src';
import { sampleEvent } from '../test/fixtures';

describe('batch consumer catch-up (real Kafka): what readiness waits for', () => {
  let producer: RecordProducer;
  const prefix = freshTopicPrefix();
  const topic = topicName(TOPICS.lifecycle, prefix);
  const dlq = topicName(TOPICS.dlq, prefix);

  beforeAll(async () => {
    const admin = createKafka({ brokers: kafkaBrokers(), clientId: 'catch-up-admin' }).admin();
    await admin.connect();
    await provisionTopics(admin, { prefix, partitions: 3 });
    await admin.disconnect();
    producer = createKafkaClient({ brokers: kafkaBrokers(), clientId: 'catch-up' }).eventProducer();
    await producer.connect();
  });
  afterAll(() => producer.disconnect());

  const consumer = (groupId: string, handle: () => Promise<void>, handled: { n: number }) =>
    new BatchConsumer({
      kafka: createKafkaClient({ brokers: kafkaBrokers(), clientId: `catch-up-${groupId}` }),
      groupId,
      topics: [topic],
      producer,
      dlqTopic: dlq,
      handle: async (events) => {
        await handle();
        handled.n += events.length;
      },
    });

  it('is caught up only once every record that existed at its start is handled, whatever came after', async () => {
    const before = Array.from({ length: 300 }, () => sampleEvent());
    await producer.send({
      topic,
      acks: -1,
      messages: before.map((e) => ({ key: partitionKey(e), value: encodeEvent(e) })),
    });
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const handled = { n: 0 };
    const first = consumer(`catch-up-a-${prefix}`, () => gate, handled);
    expect(first.catchUpState()).toEqual({ caughtUp: false, behind: undefined });
    await first.start();
    try {
      // Targets known (3 partitions with records), nothing handled yet: not caught up.
      expect(first.catchUpState().behind).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 500));
      expect(first.catchUpState().caughtUp).toBe(false);
      expect(handled.n).toBe(0);
      // Records written after the start are not waited for.
      const after = sampleEvent();
      await producer.send({
        topic,
        acks: -1,
        messages: [{ key: partitionKey(after), value: encodeEvent(after) }],
      });
      open();
      await eventually(
        () => Promise.resolve(first.catchUpState().caughtUp ? true : undefined),
        20_000,
        'caught up',
      );
      expect(handled.n).toBeGreaterThanOrEqual(before.length);
    } finally {
      await first.stop();
    }

    // A member joining the same group later: its partitions are already consumed by the group
    // (committed offsets), so it is caught up without handling anything again.
    const again = { n: 0 };
    const second = consumer(`catch-up-a-${prefix}`, () => Promise.resolve(), again);
    await second.start();
    try {
      await eventually(
        () => Promise.resolve(second.catchUpState().caughtUp ? true : undefined),
        20_000,
        'second member caught up',
      );
      expect(again.n).toBeLessThanOrEqual(1); // at most the record written after the first start
    } finally {
      await second.stop();
    }
  });

  it('an empty topic is caught up at once', async () => {
    const emptyPrefix = freshTopicPrefix();
    const admin = createKafka({ brokers: kafkaBrokers(), clientId: 'catch-up-admin2' }).admin();
    await admin.connect();
    await provisionTopics(admin, { prefix: emptyPrefix, partitions: 2 });
    await admin.disconnect();
    const empty = new BatchConsumer({
      kafka: createKafkaClient({ brokers: kafkaBrokers(), clientId: 'catch-up-empty' }),
      groupId: `catch-up-empty-${emptyPrefix}`,
      topics: [topicName(TOPICS.lifecycle, emptyPrefix)],
      producer,
      dlqTopic: topicName(TOPICS.dlq, emptyPrefix),
      handle: () => Promise.resolve(),
    });
    // run(), not start(): right after creation a partition may have no leader yet (it retries).
    try {
      await empty.run();
      expect(empty.catchUpState()).toEqual({ caughtUp: true, behind: 0 });
    } finally {
      await empty.stop();
    }
  });
});
