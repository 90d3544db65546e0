import { TOPICS, topicName } from '@tokenledger/contracts';
import { ensureLocalBroker, type LocalBroker } from '@tokenledger/infra';
import { freshTopicPrefix, kafkaBrokers, kafkaTestCredentials } from '@tokenledger/testing';
import type { Kafka } from 'kafkajs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyAcls } from './acls';
import { createKafkaClient } from './create-client';
import { createKafka, type KafkaSasl } from './kafka-client';
import { provisionTopics } from './topics';

// The run's broker when it is the SASL one (the default); otherwise (TOKENLEDGER_KAFKA_SASL=0)
// its own SASL broker on TL_TEST_SASL_KAFKA_PORT, default 19392.
const port = Number(process.env.TL_TEST_SASL_KAFKA_PORT ?? 19392);
const dataDir = path.join(os.tmpdir(), `tokenledger-sasl-test-${port}`);

describe('Kafka SASL/SCRAM-SHA-512 and ACLs (real broker)', () => {
  let broker: LocalBroker;
  const prefix = freshTopicPrefix();
  const lifecycle = topicName(TOPICS.lifecycle, prefix);
  const record = { key: 'tok_1', value: '{}' };

  const as = (who: 'admin' | 'issuance' | 'anomaly' | null): Kafka =>
    createKafka({
      brokers: broker.brokers,
      clientId: `acl-test-${who ?? 'anonymous'}`,
      sasl: who === null ? null : broker.credentials?.[who],
    });

  const produce = async (kafka: Kafka, topic: string): Promise<void> => {
    const producer = kafka.producer({ retry: { retries: 0 }, allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({ topic, acks: -1, messages: [record] });
    } finally {
      await producer.disconnect();
    }
  };

  beforeAll(async () => {
    const shared = kafkaTestCredentials();
    broker = shared
      ? {
          brokers: kafkaBrokers(),
          pid: -1,
          startedHere: false,
          credentials: shared,
          stop: () => Promise.resolve(),
        }
      : await ensureLocalBroker({ dataDir, port, controllerPort: port + 1, sasl: true });
    const admin = as('admin').admin();
    await admin.connect();
    try {
      await provisionTopics(admin, { prefix, partitions: 1 });
      await applyAcls(admin, { prefix });
      await applyAcls(admin, { prefix }); // idempotent
    } finally {
      await admin.disconnect();
    }
  }, 120_000);

  afterAll(async () => {
    if (broker.startedHere) await broker.stop();
  }, 60_000);

  it('lets the issuance principal produce to tokens.lifecycle', async () => {
    await expect(produce(as('issuance'), lifecycle)).resolves.toBeUndefined();
  });

  it('refuses the anomaly principal on tokens.lifecycle (TOPIC_AUTHORIZATION_FAILED)', async () => {
    await expect(produce(as('anomaly'), lifecycle)).rejects.toMatchObject({
      type: 'TOPIC_AUTHORIZATION_FAILED',
    });
  });

  it('lets the anomaly principal produce to tokens.commands', async () => {
    await expect(
      produce(as('anomaly'), topicName(TOPICS.commands, prefix)),
    ).resolves.toBeUndefined();
  });

  it('refuses a client without credentials on every topic', async () => {
    for (const base of Object.values(TOPICS)) {
      const kafka = as(null);
      const producer = kafka.producer({ retry: { retries: 0 } });
      await expect(
        (async () => {
          await producer.connect();
          await producer.send({ topic: topicName(base, prefix), messages: [record] });
        })(),
      ).rejects.toThrow();
      await producer.disconnect().catch(() => undefined);
    }
  }, 60_000);

  it('refuses a wrong password', async () => {
    const kafka = createKafka({
      brokers: broker.brokers,
      clientId: 'acl-test-wrong',
      sasl: { mechanism: 'scram-sha-512', username: 'issuance', password: 'wrong' },
    });
    await expect(produce(kafka, lifecycle)).rejects.toThrow(/SASL|authentication/i);
  });

  describe("the event producer of createKafkaClient (KAFKA_CLIENT's library)", () => {
    const produceWith = async (sasl: KafkaSasl | null, topic: string): Promise<void> => {
      const producer = createKafkaClient({
        brokers: broker.brokers,
        clientId: 'acl-test-client',
        sasl,
      }).eventProducer();
      try {
        await producer.connect();
        await producer.send({ topic, acks: -1, messages: [record] });
      } finally {
        await producer.disconnect().catch(() => undefined);
      }
    };
    const credentials = (who: 'issuance' | 'anomaly'): KafkaSasl | null =>
      broker.credentials?.[who] ?? null;

    it('authenticates with SCRAM-SHA-512 and produces where the ACLs allow', async () => {
      await expect(produceWith(credentials('issuance'), lifecycle)).resolves.toBeUndefined();
    });

    it('is refused where they do not (anomaly on tokens.lifecycle), without retrying forever', async () => {
      await expect(produceWith(credentials('anomaly'), lifecycle)).rejects.toThrow();
    }, 30_000);

    it('is refused with a wrong password', async () => {
      await expect(
        produceWith(
          { mechanism: 'scram-sha-512', username: 'issuance', password: 'wrong' },
          lifecycle,
        ),
      ).rejects.toThrow();
    }, 30_000);
  });
});
