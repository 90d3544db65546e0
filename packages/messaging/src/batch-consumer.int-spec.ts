import { spawn, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import {
  EventVerifier,
  TOPICS,
  buildEvent,
  encodeEvent,
  type EventEnvelope,
  uuidv7,
  partitionKey,
  signerEntry,
  signingKeyFromSeed,
  topicName,
} from '@tokenledger/contracts';
import { ensureLocalBroker, type LocalBroker } from '@tokenledger/infra';
import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  readTopic,
  type TestDatabase,
} from '@tokenledger/testing';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import {
  BatchConsumer,
  DLQ_HEADERS,
  createKafka,
  createKafkaClient,
  type RecordProducer,
  markProcessed,
  provisionTopics,
  type BatchConsumerOptions,
  type ConsumedEvent,
  type KafkaSasl,
} from '../src';
import { SCHEMA, migratedDataSource, sampleEvent } from '../test/fixtures';

async function provision(brokers: string, prefix: string, sasl?: KafkaSasl): Promise<void> {
  const admin = createKafka({ brokers, clientId: 'spec-admin', sasl }).admin();
  await admin.connect();
  await provisionTopics(admin, { prefix, partitions: 1 });
  await admin.disconnect();
}

/** Provisions the topics of `prefix` and connects a producer for a describe block's records. */
async function provisionedProducer(prefix: string, clientId: string): Promise<RecordProducer> {
  await provision(kafkaBrokers(), prefix);
  const producer = createKafkaClient({ brokers: kafkaBrokers(), clientId }).eventProducer();
  await producer.connect();
  return producer;
}

/**
 * Runs a BatchConsumer that collects the events it is handed, until `count` are in (at most
 * 20 s, `what` names them on a timeout), then stops it; the events, in the order handed.
 */
async function handledBy(
  options: Omit<BatchConsumerOptions, 'handle' | 'raw'>,
  count: number,
  what: string,
): Promise<ConsumedEvent[]> {
  const handled: ConsumedEvent[] = [];
  const consumer = new BatchConsumer({
    ...options,
    handle: (events) => {
      handled.push(...events);
      return Promise.resolve();
    },
  });
  await consumer.start();
  try {
    await eventually(
      () => Promise.resolve(handled.length >= count ? true : undefined),
      20_000,
      what,
    );
  } finally {
    await consumer.stop();
  }
  return handled;
}

describe('batch consumer: poison records go to the DLQ and the partition goes on', () => {
  let producer: RecordProducer;
  const prefix = freshTopicPrefix();
  const topic = topicName(TOPICS.lifecycle, prefix);
  const dlq = topicName(TOPICS.dlq, prefix);

  beforeAll(async () => {
    producer = await provisionedProducer(prefix, 'poison-spec');
  });
  afterAll(() => producer.disconnect());

  it('dead-letters not-JSON, schema-invalid and oversized records with a reason, then handles the next record', async () => {
    const first = sampleEvent();
    const last = sampleEvent();
    const invalid = JSON.parse(encodeEvent(sampleEvent()).toString()) as {
      data: { expiredAt: unknown };
    };
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

    const handled = await handledBy(
      {
        kafka: createKafkaClient({ brokers: kafkaBrokers(), clientId: 'poison-spec-consumer' }),
        groupId: `poison-${prefix}`,
        topics: [topic],
        producer,
        dlqTopic: dlq,
        maxRecordBytes: 4096,
      },
      2,
      'both valid events',
    );
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

describe('batch consumer: with a verifier, only events of allowed signers reach the handler', () => {
  let producer: RecordProducer;
  const prefix = freshTopicPrefix();
  const topic = topicName(TOPICS.lifecycle, prefix);
  const dlq = topicName(TOPICS.dlq, prefix);
  const test = signingKeyFromSeed('test-1', randomBytes(32));
  const other = signingKeyFromSeed('other-1', randomBytes(32));
  const verifier = new EventVerifier([
    signerEntry(test, ['token.expired'], ['/tokenledger/test']),
    signerEntry(other, ['token.used'], ['*']),
  ]);

  beforeAll(async () => {
    producer = await provisionedProducer(prefix, 'signed-spec');
  });
  afterAll(() => producer.disconnect());

  it('dead-letters unsigned, badly signed and not-allowed records with that code, before the handler', async () => {
    const good = sampleEvent();
    const last = sampleEvent();
    const tampered = JSON.parse(encodeEvent(sampleEvent(), { signingKey: test }).toString()) as {
      actor: string;
    };
    tampered.actor = 'operator:0190f0f0-0000-7000-8000-000000000000';
    const values = [
      encodeEvent(good, { signingKey: test }),
      encodeEvent(sampleEvent()),
      Buffer.from(JSON.stringify(tampered)),
      encodeEvent(sampleEvent(), { signingKey: signingKeyFromSeed('test-1', randomBytes(32)) }),
      encodeEvent(sampleEvent(), { signingKey: other }),
      encodeEvent(last, { signingKey: test }),
    ];
    await producer.send({
      topic,
      acks: -1,
      messages: values.map((value) => ({ key: 'k', value })),
    });

    const handled = await handledBy(
      {
        kafka: createKafkaClient({ brokers: kafkaBrokers(), clientId: 'signed-spec-consumer' }),
        groupId: `signed-${prefix}`,
        topics: [topic],
        producer,
        dlqTopic: dlq,
        verifier,
      },
      2,
      'both valid events',
    );
    expect(handled.map((h) => [h.offset, h.event.id, h.event.sigkeyid])).toEqual([
      ['0', good.id, 'test-1'],
      ['5', last.id, 'test-1'],
    ]);
    const dead = await readTopic(dlq, (r) => r.length >= 4);
    expect(
      dead.map((r) => [r.headers[DLQ_HEADERS.offset], r.headers[DLQ_HEADERS.code]]).sort(),
    ).toEqual([
      ['1', 'unsigned'],
      ['2', 'bad-signature'],
      ['3', 'bad-signature'],
      ['4', 'signer-not-allowed'],
    ]);
    // The dead letter keeps the record's bytes, signature included.
    expect(dead.find((r) => r.headers[DLQ_HEADERS.offset] === '4')?.value).toEqual(values[4]);
  });
});

describe('batch consumer: latestOnly checks and hands over only the latest valid record of each key', () => {
  let producer: RecordProducer;
  const prefix = freshTopicPrefix();
  const topic = topicName(TOPICS.lifecycle, prefix);
  const dlq = topicName(TOPICS.dlq, prefix);
  const key = signingKeyFromSeed('fold-1', randomBytes(32));
  const verifier = new EventVerifier([signerEntry(key, ['token.expired'], ['/tokenledger/test'])]);

  beforeAll(async () => {
    producer = await provisionedProducer(prefix, 'fold-spec');
  });
  afterAll(() => producer.disconnect());

  it('per key: the latest whose signature holds; a bad latest is dead-lettered and the next one taken; superseded records are not checked', async () => {
    const [a, b, c, plain] = [uuidv7(), uuidv7(), uuidv7(), uuidv7()];
    const at = (tokenId: string, minute: number): EventEnvelope =>
      buildEvent({
        type: 'tokenledger.token.expired.v1',
        source: '/tokenledger/test',
        actor: 'system',
        subject: tokenId,
        data: { tokenId, expiredAt: `2026-12-04T00:0${minute}:00Z` },
      });
    const signed = (e: EventEnvelope): Buffer => encodeEvent(e, { signingKey: key });
    const forged = (e: EventEnvelope): Buffer =>
      encodeEvent(e, { signingKey: signingKeyFromSeed('fold-1', randomBytes(32)) });
    const values = [
      signed(at(a, 1)), // 0: superseded by 1
      signed(at(a, 3)), // 1: handled (2 is later but forged)
      forged(at(a, 4)), // 2: bad-signature
      encodeEvent(at(b, 2)), // 3: unsigned, but superseded by 4: never checked
      signed(at(b, 5)), // 4: handled
      forged(at(c, 1)), // 5: bad-signature, nothing for c
      encodeEvent(at(plain, 1)), // 6: not folded: checked as usual, unsigned
      signed(at(plain, 2)), // 7: not folded: handled
    ];
    await producer.send({
      topic,
      acks: -1,
      messages: values.map((value) => ({ key: 'k', value })),
    });
    const handled = await handledBy(
      {
        kafka: createKafkaClient({ brokers: kafkaBrokers(), clientId: 'fold-spec-consumer' }),
        groupId: `fold-${prefix}`,
        topics: [topic],
        producer,
        dlqTopic: dlq,
        verifier,
        latestOnly: (e) =>
          e.subject === plain || e.type !== 'tokenledger.token.expired.v1'
            ? undefined
            : { key: e.subject ?? '', order: Date.parse(e.data.expiredAt) },
      },
      3,
      'the three latest valid events',
    );
    expect(handled.map((h) => h.offset)).toEqual(['1', '4', '7']);
    const dead = await readTopic(dlq, (r) => r.length >= 3);
    expect(
      dead.map((r) => [r.headers[DLQ_HEADERS.offset], r.headers[DLQ_HEADERS.code]]).sort(),
    ).toEqual([
      ['2', 'bad-signature'],
      ['5', 'bad-signature'],
      ['6', 'unsigned'],
    ]);
  });
});

describe('batch consumer: a handler that keeps failing on one record dead-letters it after bounded tries', () => {
  let producer: RecordProducer;
  let db: TestDatabase;
  let sql: Client;
  const prefix = freshTopicPrefix();
  const topic = topicName(TOPICS.lifecycle, prefix);
  const dlq = topicName(TOPICS.dlq, prefix);

  beforeAll(async () => {
    producer = await provisionedProducer(prefix, 'stuck-spec');
    db = await freshDatabase();
    sql = new Client({ connectionString: db.url });
    await sql.connect();
    await sql.query('CREATE TABLE seen (event_id text PRIMARY KEY, body jsonb NOT NULL)');
  });
  afterAll(async () => {
    await producer.disconnect();
    await sql.end();
    await db.drop();
  });

  it('PostgreSQL refusing one record (\\u0000 in jsonb) dead-letters it with the error after maxAttempts; the records after it are handled; a retryable error is retried, never dead-lettered', async () => {
    const [first, poisoned, flaky, last] = [
      sampleEvent(),
      sampleEvent(),
      sampleEvent(),
      sampleEvent(),
    ];
    await producer.send({
      topic,
      acks: -1,
      messages: [first, poisoned, flaky, last].map((e) => ({
        key: 'one-partition',
        value: encodeEvent(e),
      })),
    });
    const tries = new Map<string, number>();
    let flakyFailures = 0;
    const letters: string[] = [];
    const consumer = new BatchConsumer({
      kafka: createKafkaClient({ brokers: kafkaBrokers(), clientId: 'stuck-spec-consumer' }),
      groupId: `stuck-${prefix}`,
      topics: [topic],
      producer,
      dlqTopic: dlq,
      maxAttempts: 3,
      retryBackoffMs: 10,
      onDeadLetter: (letter) => letters.push(letter.offset),
      handle: async (events) => {
        for (const { event } of events) {
          tries.set(event.id, (tries.get(event.id) ?? 0) + 1);
          if (event.id === flaky.id && flakyFailures < 2) {
            flakyFailures += 1;
            throw Object.assign(new Error('database restarting'), { retryable: true });
          }
          // The reported bug: a label value with U+0000 passes the schema, but jsonb refuses it.
          const label = event.id === poisoned.id ? '\u0000' : 'ok';
          await sql.query(
            'INSERT INTO seen VALUES ($1, $2::jsonb) ON CONFLICT (event_id) DO NOTHING',
            [event.id, JSON.stringify({ label })],
          );
        }
      },
    });
    await consumer.start();
    try {
      await eventually(
        async () => ((await sql.query('SELECT 1 FROM seen')).rowCount === 3 ? true : undefined),
        30_000,
        'the three good records',
      );
    } finally {
      await consumer.stop();
    }
    const rows = await sql.query<{ event_id: string }>('SELECT event_id FROM seen');
    expect(new Set(rows.rows.map((r) => r.event_id))).toEqual(
      new Set([first.id, flaky.id, last.id]),
    );
    // Once in the batch, then maxAttempts times on its own.
    expect(tries.get(poisoned.id)).toBe(4);
    expect(letters).toEqual(['1']);
    const dead = await readTopic(dlq, (r) => r.length >= 1);
    expect(dead).toHaveLength(1);
    expect(dead[0]?.headers[DLQ_HEADERS.offset]).toBe('1');
    expect(dead[0]?.headers[DLQ_HEADERS.code]).toBe('handler-failed');
    expect(dead[0]?.headers[DLQ_HEADERS.reason]).toMatch(
      /^22P05: unsupported Unicode escape sequence/,
    );
    expect(dead[0]?.value).toEqual(encodeEvent(poisoned));
    expect(flakyFailures).toBe(2);
  });
});

/** A consumer-child.js process: its batches as [first, last] offsets, in order. */
function crashingMember(
  env: Record<string, string>,
  crashAt: number,
): { next: () => Promise<[number, number]>; exited: Promise<void>; child: ChildProcess } {
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'test', 'consumer-child.js')], {
    env: { ...process.env, ...env, CRASH_AT: String(crashAt) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Array<[number, number]> = [];
  const waiting: Array<(batch: [number, number]) => void> = [];
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    let end: number;
    while ((end = pending.indexOf('\n')) >= 0) {
      const [tag, first, last] = pending.slice(0, end).split(' ');
      pending = pending.slice(end + 1);
      if (tag !== 'BATCH') continue;
      const batch: [number, number] = [Number(first), Number(last)];
      const waiter = waiting.shift();
      if (waiter) waiter(batch);
      else lines.push(batch);
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = (): Promise<[number, number]> => {
    const ready = lines.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('no batch from the child within 40 s')),
        40_000,
      );
      waiting.push((batch) => {
        clearTimeout(timer);
        resolve(batch);
      });
    });
  };
  return { next, exited, child };
}

describe('batch consumer: a crash before the commit redelivers the batch in flight, and nothing before it', () => {
  let producer: RecordProducer;
  const prefix = freshTopicPrefix();
  const topic = topicName(TOPICS.usage, prefix);
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    await provision(kafkaBrokers(), prefix);
    producer = createKafkaClient({
      brokers: kafkaBrokers(),
      clientId: 'crash-spec',
    }).eventProducer();
    await producer.connect();
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await producer.disconnect();
  });

  it('resumes each time at the first offset of the batch whose handler was killed', async () => {
    // Six slices of ten records; each is sent only when the member has handled the one before,
    // so every batch is exactly one slice (one record batch in the log).
    const slices = Array.from({ length: 6 }, () => Array.from({ length: 10 }, () => sampleEvent()));
    const send = async (i: number): Promise<void> => {
      await producer.send({
        topic,
        acks: -1,
        messages: (slices[i] ?? []).map((e) => ({ key: partitionKey(e), value: encodeEvent(e) })),
      });
    };
    const env = {
      CHILD_BROKERS: kafkaBrokers(),
      CHILD_GROUP: `crash-${prefix}`,
      CHILD_TOPIC: topic,
      CHILD_DLQ: topicName(TOPICS.dlq, prefix),
    };

    // Killed in its 2nd batch: batch 1 was committed, batch 2 was not.
    const first = crashingMember(env, 2);
    children.push(first.child);
    await send(0);
    expect(await first.next()).toEqual([0, 9]);
    await send(1);
    expect(await first.next()).toEqual([10, 19]);
    await first.exited;

    // Killed in its 3rd batch. Its 1st is the redelivered one: from 10, not from 0.
    const second = crashingMember(env, 3);
    children.push(second.child);
    expect(await second.next()).toEqual([10, 19]);
    await send(2);
    expect(await second.next()).toEqual([20, 29]);
    await send(3);
    expect(await second.next()).toEqual([30, 39]);
    await second.exited;

    // A clean member: from 30 (the killed batch), not from 20 or earlier; each record once.
    const seen: number[] = [];
    const consumer = new BatchConsumer({
      kafka: createKafkaClient({ brokers: kafkaBrokers(), clientId: 'crash-spec-consumer' }),
      groupId: `crash-${prefix}`,
      topics: [topic],
      producer,
      dlqTopic: topicName(TOPICS.dlq, prefix),
      handle: (events) => {
        seen.push(...events.map((e) => Number(e.offset)));
        return Promise.resolve();
      },
    });
    await consumer.start();
    try {
      await eventually(
        () => Promise.resolve(seen.length >= 10 ? true : undefined),
        40_000,
        'the killed batch again',
      );
      await send(4);
      await send(5);
      await eventually(
        () => Promise.resolve(seen.includes(59) ? true : undefined),
        20_000,
        'the last record',
      );
    } finally {
      await consumer.stop();
    }
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => 30 + i));
  }, 150_000);
});

describe('batch consumer across a broker restart', () => {
  let broker: LocalBroker;
  let db: TestDatabase;
  let dataSource: DataSource;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-restart-broker-'));
  const port = 19500 + Math.floor(Math.random() * 400);

  beforeAll(async () => {
    broker = await ensureLocalBroker({ dataDir, port, controllerPort: port + 1000, sasl: true });
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
    await provision(broker.brokers, prefix, broker.credentials?.admin);
    const events = Array.from({ length: 200 }, () => sampleEvent());
    const deliveries = new Map<string, number>();
    /** Index of the batch that first delivered each event. */
    const firstBatch = new Map<string, number>();
    let batchCount = 0;

    const send = async (slice: typeof events): Promise<void> => {
      const producer = createKafkaClient({
        brokers: broker.brokers,
        clientId: 'restart-producer',
        sasl: broker.credentials?.admin,
      }).eventProducer();
      await producer.connect();
      for (let i = 0; i < slice.length; i += 20) {
        await producer.send({
          topic,
          acks: -1,
          messages: slice
            .slice(i, i + 20)
            .map((e) => ({ key: partitionKey(e), value: encodeEvent(e) })),
        });
      }
      await producer.disconnect();
    };
    const applied = async (): Promise<number> => {
      const [row] = await dataSource.query<Array<{ n: number }>>(
        `SELECT count(*)::int AS n FROM ${SCHEMA}.effects`,
      );
      return row?.n ?? 0;
    };

    const kafka = createKafkaClient({
      brokers: broker.brokers,
      clientId: 'restart-consumer',
      sasl: broker.credentials?.admin,
    });
    const dlqProducer = kafka.eventProducer();
    await dlqProducer.connect();
    const consumer = new BatchConsumer({
      kafka,
      groupId: `restart-${prefix}`,
      topics: [topic],
      producer: dlqProducer,
      dlqTopic: topicName(TOPICS.dlq, prefix),
      handle: async (batch) => {
        batchCount += 1;
        for (const { event } of batch)
          if (!firstBatch.has(event.id)) firstBatch.set(event.id, batchCount);
        await dataSource.transaction(async (manager) => {
          for (const { event } of batch) {
            deliveries.set(event.id, (deliveries.get(event.id) ?? 0) + 1);
            if (await markProcessed(manager, SCHEMA, 'effects', event.id)) {
              await manager.query(
                `INSERT INTO ${SCHEMA}.effects (event_id, token_id) VALUES ($1, $2)`,
                [event.id, event.subject],
              );
            }
          }
        });
      },
    });
    await consumer.start();
    try {
      await send(events.slice(0, 100));
      await eventually(
        async () => ((await applied()) === 100 ? true : undefined),
        30_000,
        'first half applied',
      );

      await broker.stop();
      await new Promise((r) => setTimeout(r, 3000));
      broker = await ensureLocalBroker({ dataDir, port, controllerPort: port + 1000, sasl: true });

      await send(events.slice(100));
      await eventually(
        async () => ((await applied()) === 200 ? true : undefined),
        90_000,
        'all 200 applied after the restart',
      );
    } finally {
      await consumer.stop();
      await dlqProducer.disconnect();
    }

    const rows = await dataSource.query<Array<{ event_id: string }>>(
      `SELECT event_id FROM ${SCHEMA}.effects`,
    );
    expect(new Set(rows.map((r) => r.event_id))).toEqual(new Set(events.map((e) => e.id)));
    expect(rows).toHaveLength(200);
    // Every event reached the handler; a redelivery (the restart interrupted a commit) is at most
    // once more, of records of one and the same batch (the one in flight), and the inbox dropped it.
    expect(events.every((e) => (deliveries.get(e.id) ?? 0) >= 1)).toBe(true);
    expect(Math.max(...deliveries.values())).toBeLessThanOrEqual(2);
    const redelivered = [...deliveries].filter(([, n]) => n > 1).map(([id]) => firstBatch.get(id));
    expect(new Set(redelivered).size).toBeLessThanOrEqual(1);
  }, 240_000);
});
