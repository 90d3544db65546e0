import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { TOPICS, encodeEvent, partitionKey, topicName } from '@tokenledger/contracts';
import { ensureLocalBroker, type LocalBroker } from '@tokenledger/infra';
import { eventually, freshDatabase, freshTopicPrefix, kafkaBrokers, readTopic, type TestDatabase } from '@tokenledger/testing';
import type { Producer } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { BatchConsumer, DLQ_HEADERS, createEventProducer, createKafka, markProcessed, provisionTopics, type ConsumedEvent } from '../src';
import { SCHEMA, migratedDataSource, sampleEvent } from '../test/fixtures';

async function provision(brokers: string, prefix: string): Promise<void> {
  const admin = createKafka({ brokers, clientId: 'spec-admin' }).admin();
  await admin.connect();
  await provisionTopics(admin, { prefix, partitions: 1 });
  await admin.disconnect();
}

describe('batch consumer: poison records go to the DLQ and the partition goes on', () => {
  let producer: Producer;
  const prefix = freshTopicPrefix();
  const topic = topicName(TOPICS.lifecycle, prefix);
  const dlq = topicName(TOPICS.dlq, prefix);

  beforeAll(async () => {
    await provision(kafkaBrokers(), prefix);
    producer = createEventProducer(createKafka({ brokers: kafkaBrokers(), clientId: 'poison-spec' }));
    await producer.connect();
  });
  afterAll(() => producer.disconnect());

  it('dead-letters not-JSON, schema-invalid and oversized records with a reason, then handles the next record', async () => {
    const first = sampleEvent();
    const last = sampleEvent();
    const invalid = JSON.parse(encodeEvent(sampleEvent()).toString()) as { data: { expiredAt: unknown } };
    invalid.data.expiredAt = 42;
    // Valid JSON of a valid event, made large by trailing whitespace: only its size is wrong.
    const oversized = Buffer.concat([encodeEvent(sampleEvent()), Buffer.alloc(8000, 0x20)]);
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { key: partitionKey(first), value: encodeEvent(first) },
        { key: 'k', value: Buffer.from([0xff, 0x00, 0x7b]) },
        { key: 'k', value: Buffer.from(JSON.stringify(invalid)) },
        { key: 'k', value: oversized },
        { key: partitionKey(last), value: encodeEvent(last) },
      ],
    });

    const handled: ConsumedEvent[] = [];
    const consumer = new BatchConsumer({
      kafka: createKafka({ brokers: kafkaBrokers(), clientId: 'poison-spec-consumer' }),
      groupId: `poison-${prefix}`,
      topics: [topic],
      producer,
      dlqTopic: dlq,
      maxRecordBytes: 4096,
      handle: (events) => {
        handled.push(...events);
        return Promise.resolve();
      },
    });
    await consumer.start();
    try {
      await eventually(() => Promise.resolve(handled.length >= 2 ? true : undefined), 20_000, 'both valid events');
    } finally {
      await consumer.stop();
    }
    expect(handled.map((h) => [h.offset, h.event.id])).toEqual([
      ['0', first.id],
      ['4', last.id],
    ]);

    const dead = await readTopic(dlq, (r) => r.length >= 3);
    const byOffset = new Map(dead.map((r) => [r.headers[DLQ_HEADERS.offset], r]));
    expect(byOffset.get('1')?.headers[DLQ_HEADERS.code]).toBe('not-json');
    expect(byOffset.get('2')?.headers[DLQ_HEADERS.code]).toBe('invalid-data');
    expect(byOffset.get('2')?.headers[DLQ_HEADERS.reason]).toMatch(/expiredAt/);
    expect(byOffset.get('3')?.headers[DLQ_HEADERS.code]).toBe('too-large');
    expect(byOffset.get('1')?.value).toEqual(Buffer.from([0xff, 0x00, 0x7b]));
    for (const record of dead) expect(record.headers[DLQ_HEADERS.topic]).toBe(topic);
  });
});

describe('batch consumer across a broker restart', () => {
  let broker: LocalBroker;
  let db: TestDatabase;
  let dataSource: DataSource;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-restart-broker-'));
  const port = 19500 + Math.floor(Math.random() * 400);

  beforeAll(async () => {
    broker = await ensureLocalBroker({ dataDir, port, controllerPort: port + 1000 });
    db = await freshDatabase();
    dataSource = await migratedDataSource(db.url);
  }, 120_000);

  afterAll(async () => {
    await broker?.stop();
    await dataSource?.destroy();
    await db?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('resumes by itself; every record is applied exactly once', async () => {
    const prefix = freshTopicPrefix();
    const topic = topicName(TOPICS.usage, prefix);
    await provision(broker.brokers, prefix);
    const events = Array.from({ length: 200 }, () => sampleEvent());
    const deliveries = new Map<string, number>();

    const send = async (slice: typeof events): Promise<void> => {
      const producer = createEventProducer(createKafka({ brokers: broker.brokers, clientId: 'restart-producer' }));
      await producer.connect();
      for (let i = 0; i < slice.length; i += 20) {
        await producer.send({
          topic,
          acks: -1,
          messages: slice.slice(i, i + 20).map((e) => ({ key: partitionKey(e), value: encodeEvent(e) })),
        });
      }
      await producer.disconnect();
    };
    const applied = async (): Promise<number> => {
      const [row] = await dataSource.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM ${SCHEMA}.effects`);
      return row?.n ?? 0;
    };

    const kafka = createKafka({ brokers: broker.brokers, clientId: 'restart-consumer' });
    const dlqProducer = createEventProducer(kafka);
    await dlqProducer.connect();
    const consumer = new BatchConsumer({
      kafka,
      groupId: `restart-${prefix}`,
      topics: [topic],
      producer: dlqProducer,
      dlqTopic: topicName(TOPICS.dlq, prefix),
      handle: async (batch) => {
        await dataSource.transaction(async (manager) => {
          for (const { event } of batch) {
            deliveries.set(event.id, (deliveries.get(event.id) ?? 0) + 1);
            if (await markProcessed(manager, SCHEMA, 'effects', event.id)) {
              await manager.query(`INSERT INTO ${SCHEMA}.effects (event_id, token_id) VALUES ($1, $2)`, [event.id, event.subject]);
            }
          }
        });
      },
    });
    await consumer.start();
    try {
      await send(events.slice(0, 100));
      await eventually(async () => ((await applied()) === 100 ? true : undefined), 30_000, 'first half applied');

      await broker.stop();
      await new Promise((r) => setTimeout(r, 3000));
      broker = await ensureLocalBroker({ dataDir, port, controllerPort: port + 1000 });

      await send(events.slice(100));
      await eventually(async () => ((await applied()) === 200 ? true : undefined), 90_000, 'all 200 applied after the restart');
    } finally {
      await consumer.stop();
      await dlqProducer.disconnect();
    }

    const rows = await dataSource.query<Array<{ event_id: string }>>(`SELECT event_id FROM ${SCHEMA}.effects`);
    expect(new Set(rows.map((r) => r.event_id))).toEqual(new Set(events.map((e) => e.id)));
    expect(rows).toHaveLength(200);
    // Every event reached the handler; redeliveries (if the restart interrupted a commit) are
    // bounded to the one batch in flight, and the inbox dropped them.
    expect(events.every((e) => (deliveries.get(e.id) ?? 0) >= 1)).toBe(true);
    const redelivered = [...deliveries.values()].filter((n) => n > 1).length;
    expect(redelivered).toBeLessThanOrEqual(100);
  }, 240_000);
});
