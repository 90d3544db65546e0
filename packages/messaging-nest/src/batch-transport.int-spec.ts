import 'reflect-metadata';
import { Controller, Global, Module, type INestMicroservice } from '@nestjs/common';
import { ModuleRef, NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import {
  TOPICS,
  buildEvent,
  encodeEvent,
  partitionKey,
  topicName,
  uuidv7,
  type EventEnvelope,
} from '@tokenledger/contracts';
import {
  CreateSchemaAndOutbox1795800000000,
  DLQ_HEADERS,
  createEventProducer,
  createKafka,
  provisionTopics,
  type ConsumedEvent,
  type ConsumedRecord,
  type RawBatchOutcome,
} from '@tokenledger/messaging';
import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  migratedDataSource,
  readTopic,
  type TestDatabase,
} from '@tokenledger/testing';
import type { Producer } from 'kafkajs';
import { DataSource } from 'typeorm';
import {
  BatchContext,
  BatchHandlerErrorFilter,
  BatchTransport,
  KafkaConnection,
  MessagingModule,
  type BatchPatternExtras,
  type ConsumerGroupSettings,
} from './index';

const prefix = freshTopicPrefix();
const LOGGER = Symbol('LOGGER');
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

function expired(): EventEnvelope {
  const tokenId = uuidv7();
  return buildEvent({
    type: 'tokenledger.token.expired.v1',
    source: '/tokenledger/test',
    actor: 'system',
    subject: tokenId,
    data: { tokenId, expiredAt: '2026-11-27T00:00:00Z' },
  });
}

/** What the handlers saw, in call order. */
const calls: Array<{ handler: string; topic: string; partition: number; offsets: string[] }> = [];
let failNextLifecycle = true;
const seeks: string[] = [];
/** Events of tokens.commands whose subject is this fail every time (a fault of the record). */
const poisonSubjects = new Set<string>();
const handledCommands: string[] = [];
const deadLetters: Array<{ consumer: string; topic: string; code: string; offset: string }> = [];
const failures: Array<{ consumer: string; retryable: boolean }> = [];

class UsageSettings implements ConsumerGroupSettings {
  readonly sessionTimeoutMs = 10_000;
  seekOnAssign(topic: string, partition: number): Promise<number> {
    seeks.push(`${topic}/${partition}`);
    return Promise.resolve(1);
  }
}

@Controller()
class ProbeConsumers {
  @EventPattern(TOPICS.lifecycle)
  lifecycle(@Payload() events: ConsumedEvent[], @Ctx() context: BatchContext): Promise<void> {
    calls.push({
      handler: 'lifecycle',
      topic: context.getTopic(),
      partition: context.getPartition(),
      offsets: events.map((e) => e.offset),
    });
    if (failNextLifecycle) {
      failNextLifecycle = false;
      // Transient (as a connection error would be): the whole batch comes again, no dead letter.
      return Promise.reject(Object.assign(new Error('first delivery fails'), { retryable: true }));
    }
    return Promise.resolve();
  }

  @EventPattern(TOPICS.commands, { group: 'commands' } satisfies BatchPatternExtras)
  async commands(@Payload() events: ConsumedEvent[]): Promise<void> {
    for (const { event } of events) {
      if (event.subject && poisonSubjects.has(event.subject))
        // What a PostgreSQL error looks like to the handler: an Error with a SQLSTATE code.
        throw Object.assign(new Error('invalid input syntax for type json'), { code: '22P02' });
    }
    await Promise.resolve();
    handledCommands.push(...events.map((e) => e.event.id));
  }

  @EventPattern(TOPICS.usage, {
    group: 'usage',
    raw: true,
    settings: UsageSettings,
  } satisfies BatchPatternExtras)
  usage(
    @Payload() records: ConsumedRecord[],
    @Ctx() context: BatchContext,
  ): Promise<RawBatchOutcome> {
    calls.push({
      handler: 'usage',
      topic: context.getTopic(),
      partition: context.getPartition(),
      offsets: records.map((r) => r.offset),
    });
    return Promise.resolve({
      deadLetters: records
        .filter((r) => r.value?.toString() === 'reject me')
        .map((r) => ({ offset: r.offset, code: 'probe', reason: 'probe: refused' })),
    });
  }
}

describe('BatchTransport: @EventPattern handlers over the batch consumer', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let app: INestMicroservice;
  let producer: Producer;

  beforeAll(async () => {
    db = await freshDatabase();
    dataSource = await migratedDataSource(db.url, 'app', [CreateSchemaAndOutbox1795800000000]);
    // The raw group's records are there before it joins, so that its seek lands inside the log.
    const kafka = createKafka({ brokers: kafkaBrokers(), clientId: 'probe-setup' });
    const admin = kafka.admin();
    await admin.connect();
    await provisionTopics(admin, { prefix, partitions: 1 });
    await admin.disconnect();
    producer = createEventProducer(kafka);
    await producer.connect();
    await producer.send({
      topic: topicName(TOPICS.usage, prefix),
      acks: -1,
      messages: [
        { value: Buffer.from('skipped by the seek') },
        { value: Buffer.from('reject me') },
        { value: Buffer.from('kept') },
      ],
    });

    @Global()
    @Module({
      providers: [
        { provide: DataSource, useValue: dataSource },
        { provide: LOGGER, useValue: quiet },
      ],
      exports: [DataSource, LOGGER],
    })
    class Infrastructure {}

    @Module({
      imports: [
        Infrastructure,
        MessagingModule.forRootAsync(
          {
            service: 'probe',
            brokers: kafkaBrokers(),
            clientId: 'probe',
            schema: 'app',
            topicPrefix: prefix,
            partitions: 1,
          },
          DataSource,
          LOGGER,
        ),
      ],
      controllers: [ProbeConsumers],
      providers: [UsageSettings],
    })
    class ProbeModule {}

    process.env['CONSUMER_MAX_ATTEMPTS'] = '3';
    app = await NestFactory.createMicroservice(ProbeModule, {
      logger: false,
      inject: [KafkaConnection, ModuleRef],
      useFactory: (connection: KafkaConnection, moduleRef: ModuleRef) => ({
        strategy: new BatchTransport({
          connection,
          resolve: (token) => moduleRef.get(token, { strict: false }),
          onDeadLetter: (letter, consumer) =>
            deadLetters.push({
              consumer,
              topic: letter.topic,
              code: letter.code,
              offset: letter.offset,
            }),
          onHandlerFailure: ({ retryable }, consumer) => failures.push({ consumer, retryable }),
        }),
      }),
    });
    app.useGlobalFilters(new BatchHandlerErrorFilter());
    await app.listen();
    await eventually(
      async () =>
        (await app
          .get(KafkaConnection)
          .ping()
          .then(() => true)
          .catch(() => undefined))
          ? true
          : undefined,
      30_000,
      'Kafka connected',
    );
  }, 60_000);

  afterAll(async () => {
    delete process.env['CONSUMER_MAX_ATTEMPTS'];
    await producer?.disconnect();
    await app?.close();
    await dataSource?.destroy();
    await db?.drop();
  }, 60_000);

  it("hands each handler its topic's decoded batch, dead-letters poison before it, and redelivers a batch whose handler threw", async () => {
    const first = expired();
    const last = expired();
    const topic = topicName(TOPICS.lifecycle, prefix);
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { key: partitionKey(first), value: encodeEvent(first) },
        { key: 'k', value: Buffer.from('not json') },
        { key: partitionKey(last), value: encodeEvent(last) },
      ],
    });
    await eventually(
      () =>
        Promise.resolve(
          calls.filter((c) => c.handler === 'lifecycle').length >= 2 ? true : undefined,
        ),
      40_000,
      'two lifecycle calls',
    );
    const lifecycle = calls.filter((c) => c.handler === 'lifecycle');
    // The first call threw: nothing committed, the same batch came again.
    expect(lifecycle.slice(0, 2)).toEqual([
      { handler: 'lifecycle', topic, partition: 0, offsets: ['0', '2'] },
      { handler: 'lifecycle', topic, partition: 0, offsets: ['0', '2'] },
    ]);
    const dead = await readTopic(topicName(TOPICS.dlq, prefix), (r) =>
      r.some((x) => x.headers[DLQ_HEADERS.topic] === topic),
    );
    const letter = dead.find((x) => x.headers[DLQ_HEADERS.topic] === topic);
    expect(letter?.headers[DLQ_HEADERS.code]).toBe('not-json');
    expect(letter?.headers[DLQ_HEADERS.offset]).toBe('1');

    // Committed after the handler resolved, under the app's group name.
    const admin = createKafka({ brokers: kafkaBrokers(), clientId: 'probe-admin' }).admin();
    await admin.connect();
    try {
      await eventually(
        async () => {
          const [offsets] = await admin.fetchOffsets({
            groupId: `${prefix}tokenledger-probe`,
            topics: [topic],
          });
          return offsets?.partitions[0]?.offset === '3' ? true : undefined;
        },
        20_000,
        'offset 3 committed for tokenledger-probe',
      );
    } finally {
      await admin.disconnect();
    }
  }, 90_000);

  it('runs a raw group as its own member: seeks on assignment, and dead-letters what the handler names', async () => {
    const topic = topicName(TOPICS.usage, prefix);
    await eventually(
      () => Promise.resolve(calls.some((c) => c.handler === 'usage') ? true : undefined),
      40_000,
      'a usage call',
    );
    // seekOnAssign said 1: the record at offset 0 never reaches the handler.
    expect(calls.find((c) => c.handler === 'usage')).toEqual({
      handler: 'usage',
      topic,
      partition: 0,
      offsets: ['1', '2'],
    });
    expect(seeks).toContain(`${topic}/0`);
    const dead = await readTopic(topicName(TOPICS.dlq, prefix), (r) =>
      r.some((x) => x.headers[DLQ_HEADERS.topic] === topic),
    );
    const letter = dead.find((x) => x.headers[DLQ_HEADERS.topic] === topic);
    expect([
      letter?.headers[DLQ_HEADERS.code],
      letter?.headers[DLQ_HEADERS.offset],
      letter?.value?.toString(),
    ]).toEqual(['probe', '1', 'reject me']);

    const admin = createKafka({ brokers: kafkaBrokers(), clientId: 'probe-admin' }).admin();
    await admin.connect();
    try {
      await eventually(
        async () => {
          const [offsets] = await admin.fetchOffsets({
            groupId: `${prefix}tokenledger-probe-usage`,
            topics: [topic],
          });
          return offsets?.partitions[0]?.offset === '3' ? true : undefined;
        },
        20_000,
        'offset 3 committed for tokenledger-probe-usage',
      );
    } finally {
      await admin.disconnect();
    }
  }, 90_000);

  it('dead-letters a record whose Nest handler keeps failing (handler-failed, with the error) after bounded tries, and the partition goes on', async () => {
    const topic = topicName(TOPICS.commands, prefix);
    const before = expired();
    const poison = expired();
    const after = expired();
    poisonSubjects.add(poison.subject ?? '');
    await producer.send({
      topic,
      acks: -1,
      messages: [before, poison, after].map((e) => ({ key: 'one-key', value: encodeEvent(e) })),
    });
    // The record after the poison one is handled: the partition moved on.
    await eventually(
      () => Promise.resolve(handledCommands.includes(after.id) ? true : undefined),
      60_000,
      'the command after the poison one handled',
    );
    expect(handledCommands).toContain(before.id);
    expect(handledCommands).not.toContain(poison.id);
    const dead = await readTopic(topicName(TOPICS.dlq, prefix), (r) =>
      r.some((x) => x.headers[DLQ_HEADERS.topic] === topic),
    );
    const letters = dead.filter((x) => x.headers[DLQ_HEADERS.topic] === topic);
    expect(letters).toHaveLength(1);
    expect(letters[0]?.headers[DLQ_HEADERS.code]).toBe('handler-failed');
    // The handler's own error, not Nest's "Internal server error" placeholder.
    expect(letters[0]?.headers[DLQ_HEADERS.reason]).toBe(
      '22P02: invalid input syntax for type json',
    );
    expect(letters[0]?.value?.equals(encodeEvent(poison))).toBe(true);
    const consumer = `${prefix}tokenledger-probe-commands`;
    expect(deadLetters.filter((d) => d.topic === topic)).toEqual([
      { consumer, topic, code: 'handler-failed', offset: letters[0]?.headers[DLQ_HEADERS.offset] },
    ]);
    // One failure on the batch, then CONSUMER_MAX_ATTEMPTS (3) on the record alone.
    expect(failures.filter((f) => f.consumer === consumer)).toEqual([
      { consumer, retryable: false },
      { consumer, retryable: false },
      { consumer, retryable: false },
      { consumer, retryable: false },
    ]);
    expect(failures.filter((f) => f.retryable)).toEqual([
      { consumer: `${prefix}tokenledger-probe`, retryable: true },
    ]);
  }, 90_000);
});
