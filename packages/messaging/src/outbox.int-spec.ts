import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { TOPICS, decodeEvent, topicName } from '@tokenledger/contracts';
import {
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  readTopic,
  testKafka,
  type TestDatabase,
} from '@tokenledger/testing';
import type { DataSource } from 'typeorm';
import {
  BatchConsumer,
  OutboxRelay,
  createKafkaClient,
  type RecordProducer,
  enqueueEvents,
  markProcessed,
  provisionTopics,
} from '../src';
import { SCHEMA, migratedDataSource, sampleEvent } from '../test/fixtures';

describe('transactional outbox (real PostgreSQL + Kafka)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let producer: RecordProducer;
  let topic: string;
  let prefix: string;

  beforeAll(async () => {
    db = await freshDatabase();
    dataSource = await migratedDataSource(db.url);
    prefix = freshTopicPrefix();
    topic = topicName(TOPICS.lifecycle, prefix);
    const admin = testKafka().admin();
    await admin.connect();
    await provisionTopics(admin, { prefix, partitions: 1 });
    await admin.disconnect();
    producer = createKafkaClient({
      brokers: kafkaBrokers(),
      clientId: 'outbox-spec',
    }).eventProducer();
    await producer.connect();
  });

  afterAll(async () => {
    await producer.disconnect();
    await dataSource.destroy();
    await db.drop();
  });

  it('publishes nothing for a rolled-back transaction and the committed event once', async () => {
    const rolledBack = sampleEvent();
    const committed = sampleEvent();
    await expect(
      dataSource.transaction(async (manager) => {
        await enqueueEvents(manager, SCHEMA, [{ event: rolledBack, topic }]);
        throw new Error('state change failed');
      }),
    ).rejects.toThrow('state change failed');
    await dataSource.transaction((manager) =>
      enqueueEvents(manager, SCHEMA, [{ event: committed, topic }]),
    );

    const relay = new OutboxRelay({ dataSource, schema: SCHEMA, producer });
    expect(await relay.publishOnce()).toBe(1);
    expect(await relay.publishOnce()).toBe(0);

    const records = await readTopic(topic, (r) => r.some((x) => x.value?.includes(committed.id)));
    const ids = records.map((r) => {
      const decoded = decodeEvent(r.value ?? Buffer.alloc(0));
      return decoded.ok ? decoded.event.id : 'undecodable';
    });
    expect(ids).toContain(committed.id);
    expect(ids).not.toContain(rolledBack.id);
    expect(records.find((r) => r.value?.includes(committed.id))?.key).toBe(committed.subject);
    const [row] = await dataSource.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM ${SCHEMA}.outbox WHERE event_id = $1`,
      [rolledBack.id],
    );
    expect(row?.n).toBe(0);
  });

  it('refuses to enqueue outside a transaction', async () => {
    await expect(
      enqueueEvents(dataSource.manager, SCHEMA, [{ event: sampleEvent(), topic }]),
    ).rejects.toThrow(/inside a transaction/);
  });

  it('redelivers after a relay killed between publishing and marking; the consumer drops the copy by event id', async () => {
    const event = sampleEvent();
    await dataSource.transaction((manager) => enqueueEvents(manager, SCHEMA, [{ event, topic }]));

    // A relay in its own process, SIGKILLed right after Kafka acknowledged the batch.
    const child = spawn(process.execPath, [path.join(__dirname, '..', 'test', 'relay-child.js')], {
      env: {
        ...process.env,
        RELAY_DATABASE_URL: db.url,
        RELAY_SCHEMA: SCHEMA,
        RELAY_BROKERS: kafkaBrokers(),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('PUBLISHED')) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', (code) => reject(new Error(`relay child exited early (${code})`)));
    });
    await new Promise((r) => child.once('exit', r));

    const [pending] = await dataSource.query<Array<{ published_at: Date | null }>>(
      `SELECT published_at FROM ${SCHEMA}.outbox WHERE event_id = $1`,
      [event.id],
    );
    expect(pending?.published_at).toBeNull();

    // The next relay pass publishes the same event again.
    const relay = new OutboxRelay({ dataSource, schema: SCHEMA, producer });
    expect(await relay.publishOnce()).toBe(1);
    const copies = await readTopic(
      topic,
      (r) => r.filter((x) => x.value?.includes(event.id)).length >= 2,
    );
    expect(copies.filter((r) => r.value?.includes(event.id))).toHaveLength(2);

    // An idempotent consumer applies it once.
    const deliveries: string[] = [];
    const consumer = new BatchConsumer({
      kafka: createKafkaClient({ brokers: kafkaBrokers(), clientId: 'outbox-spec-consumer' }),
      groupId: `outbox-spec-${event.id}`,
      topics: [topic],
      producer,
      dlqTopic: topicName(TOPICS.dlq, prefix),
      handle: async (events) => {
        await dataSource.transaction(async (manager) => {
          for (const { event: e } of events) {
            deliveries.push(e.id);
            if (await markProcessed(manager, SCHEMA, 'effects', e.id)) {
              await manager.query(
                `INSERT INTO ${SCHEMA}.effects (event_id, token_id) VALUES ($1, $2)`,
                [e.id, e.subject],
              );
            }
          }
        });
      },
    });
    await consumer.start();
    try {
      const deadline = Date.now() + 20_000;
      while (deliveries.filter((id) => id === event.id).length < 2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await consumer.stop();
    }
    expect(deliveries.filter((id) => id === event.id)).toHaveLength(2);
    const [effects] = await dataSource.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM ${SCHEMA}.effects WHERE event_id = $1`,
      [event.id],
    );
    expect(effects?.n).toBe(1);
  });
});
