import { buildEvent, encodeEvent, partitionKey, uuidv7 } from '@tokenledger/contracts';
import { createEventProducer, createKafka } from '@tokenledger/messaging';
import { migrateSchema } from '@tokenledger/sql';
import {
  APP_ROLES,
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  testKafka,
  type TestDatabase,
} from '@tokenledger/testing';
import type { Consumer } from 'kafkajs';
import { DataSource } from 'typeorm';
import type { LedgerConfig } from '../config';
import { migrations } from '../migrations';
import { grants } from '../migrations/grants';
import { LedgerRepository } from '../repositories/ledger.repository';
import { AppenderService, type AppendResult } from './appender.service';

/**
 * A consumer that stalls past its session (a long GC pause, a frozen VM) loses its partition to
 * another member; when it wakes up, it still holds a batch it had fetched. Its append MUST NOT
 * add anything: the new owner already appended those offsets. Here the zombie is stopped by the
 * head it locks (its offsets are below the head's next offset); the conditional head update that
 * fences a zombie holding a stale head is tested in appender.int-spec.ts.
 */
describe('zombie consumer (real Kafka rebalance, real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  const topic = `${freshTopicPrefix()}zombie`;

  beforeAll(async () => {
    db = await freshDatabase();
    // Migrated by the owner, reached as the ledger's login role: as the app runs.
    const loginRole = APP_ROLES.ledger;
    await migrateSchema({ ownerUrl: db.ownerUrl, schema: 'ledger', migrations, grants, loginRole });
    ds = await new DataSource({
      type: 'postgres',
      url: db.appUrls.ledger,
      schema: 'ledger',
    }).initialize();
    const admin = testKafka().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
  });

  afterAll(async () => {
    await ds.destroy();
    await db.drop();
  });

  it('stalls past its session, loses the partition, then cannot append its stale batch', async () => {
    const appender = new AppenderService(
      new LedgerRepository(ds, { DB_SCHEMA: 'ledger' } as LedgerConfig),
    );
    const producer = createEventProducer(
      createKafka({ brokers: kafkaBrokers(), clientId: 'zombie-producer' }),
    );
    await producer.connect();
    const send = async (n: number): Promise<void> => {
      const messages = Array.from({ length: n }, () => {
        const tokenId = uuidv7();
        const event = buildEvent({
          type: 'tokenledger.token.expired.v1',
          source: '/tokenledger/test',
          actor: 'system',
          data: { tokenId, expiredAt: '2026-11-27T00:00:00.000Z' },
        });
        return { key: partitionKey(event), value: encodeEvent(event) };
      });
      await producer.send({ topic, acks: -1, messages });
    };
    const groupId = `zombie-${topic}`;
    const member = (
      name: string,
      onBatch: (
        records: Array<{ offset: number; timestamp: number; value: Buffer | null }>,
      ) => Promise<void>,
    ): Consumer => {
      const consumer = createKafka({ brokers: kafkaBrokers(), clientId: name }).consumer({
        groupId,
        sessionTimeout: 6000,
        heartbeatInterval: 1000,
        rebalanceTimeout: 6000,
      });
      void (async () => {
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          eachBatch: async ({ batch }) => {
            await onBatch(
              batch.messages.map((m) => ({
                offset: Number(m.offset),
                timestamp: Number(m.timestamp),
                value: m.value,
              })),
            );
          },
        });
      })();
      return consumer;
    };

    await send(10);
    let release: () => void = () => undefined;
    const stalled = new Promise<void>((r) => {
      release = r;
    });
    let zombieResult: AppendResult | undefined;
    let zombieBatch = 0;
    // A: fetches the first batch, then stalls (no heartbeats) before appending it.
    const a = member('zombie-a', async (records) => {
      zombieBatch = records.length;
      await stalled;
      zombieResult = await appender.append(topic, 0, records);
    });
    await eventually(
      () => Promise.resolve(zombieBatch > 0 ? true : undefined),
      20_000,
      'A to fetch a batch',
    );

    // B joins; A misses its session and B gets the partition, appends everything.
    const appendedByB: number[] = [];
    const b = member('zombie-b', async (records) => {
      const result = await appender.append(topic, 0, records);
      appendedByB.push(result.appended);
    });
    await send(5);
    const head = await eventually(
      async () => {
        const [row] = await ds.query<Array<{ size: string }>>(
          `SELECT size FROM ledger.logs WHERE log_id = $1`,
          [`${topic}-0`],
        );
        return row && Number(row.size) === 15 ? row : undefined;
      },
      40_000,
      'B to append all 15 records',
    );
    expect(Number(head.size)).toBe(15);

    // A wakes up and tries to append what it fetched before the rebalance.
    release();
    await eventually(() => Promise.resolve(zombieResult), 10_000, 'the zombie append to finish');
    expect(zombieResult).toMatchObject({ appended: 0, size: 15 });

    const rows = await ds.query<Array<{ kafka_offset: string }>>(
      `SELECT kafka_offset FROM ledger.leaves WHERE log_id = $1 ORDER BY idx`,
      [`${topic}-0`],
    );
    expect(rows.map((r) => Number(r.kafka_offset))).toEqual(
      Array.from({ length: 15 }, (_, i) => i),
    );
    await Promise.all([a.disconnect(), b.disconnect(), producer.disconnect()]);
  }, 90_000);
});
