import {
  TOPICS,
  buildEvent,
  encodeEvent,
  topicName,
  type EventEnvelope,
} from '@tokenledger/contracts';
import { DLQ_HEADERS, createEventProducer, createKafka } from '@tokenledger/messaging';
import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  readTopic,
  type TestDatabase,
} from '@tokenledger/testing';
import { startSystem, type RunningSystem } from './system';

/**
 * Issue 15 point 3: a record that passes the schema but makes its handler fail every time is
 * dead-lettered after the bounded tries, with the handler's error, and the records after it on
 * its partition are processed. Through the real revocation app (a Nest `@EventPattern` handler,
 * whose errors Nest's exception filter used to replace with a placeholder), real Kafka and
 * PostgreSQL.
 */
describe('a tokens.commands record whose handler keeps failing', () => {
  let db: TestDatabase;
  let system: RunningSystem;
  const prefix = freshTopicPrefix();
  const url = (app: keyof RunningSystem['apps'], path: string): string =>
    `${system.apps[app].url}${path}`;
  const auth = (): Record<string, string> => ({
    authorization: `Bearer ${system.rootToken}`,
    'content-type': 'application/json',
  });

  async function introspect(token: string): Promise<Record<string, unknown>> {
    const res = await fetch(url('revocation', '/v1/introspect'), {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  }

  function revokeRequested(data: Record<string, unknown>): EventEnvelope {
    return buildEvent({
      type: 'tokenledger.token.revoke-requested.v1',
      source: '/tokenledger/test',
      actor: 'system',
      // The tokenId, or for a selector the requester.
      subject: typeof data.tokenId === 'string' ? data.tokenId : 'system',
      data: { reason: 'requested', requester: 'system', ...data } as never,
    });
  }

  beforeAll(async () => {
    db = await freshDatabase();
    system = await startSystem(
      {
        DATABASE_URL: db.url,
        KAFKA_BROKERS: kafkaBrokers(),
        TOPIC_PREFIX: prefix,
        CONSUMER_MAX_ATTEMPTS: '3',
      },
      { witness: false },
    );
    await eventually(
      async () =>
        (await fetch(url('revocation', '/v1/whoami'), { headers: auth() })).status === 200
          ? true
          : undefined,
      30_000,
      'root token known to revocation',
    );
  }, 150_000);

  afterAll(async () => {
    await system?.stop();
    await db?.drop();
  }, 60_000);

  it('is dead-lettered (handler-failed, with the PostgreSQL error), counted, and the next command on its partition is carried out', async () => {
    const res = await fetch(url('issuance', '/v1/tokens'), {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({
        owner: { type: 'service', id: 'billing' },
        name: 'billing-api',
        scopes: ['billing:read'],
        ttlSeconds: 3600,
      }),
    });
    expect(res.status).toBe(201);
    const issued = (await res.json()) as { token: string; tokenId: string };
    await eventually(
      async () => ((await introspect(issued.token)).active === true ? true : undefined),
      20_000,
      'the new token active at revocation',
    );

    // Valid for the schema (an RFC 3339 UTC timestamp, a real calendar date), but PostgreSQL has
    // no year 0: `issued_at < '0000-01-01...'` fails with 22008 on every try.
    const poison = revokeRequested({ selector: { issuedBefore: '0000-01-01T00:00:00Z' } });
    const next = revokeRequested({ tokenId: issued.tokenId });
    const commands = topicName(TOPICS.commands, prefix);
    const producer = createEventProducer(
      createKafka({ brokers: kafkaBrokers(), clientId: 'poison-spec' }),
    );
    await producer.connect();
    try {
      // One key: one partition, the poison record first.
      const [meta] = await producer.send({
        topic: commands,
        acks: -1,
        messages: [poison, next].map((e) => ({
          key: issued.tokenId,
          value: encodeEvent(e, { signingKey: system.signing.driver }),
        })),
      });
      expect(meta?.baseOffset).toBeDefined();
    } finally {
      await producer.disconnect();
    }

    // The command after the poison one is carried out: the partition moved on.
    await eventually(
      async () => ((await introspect(issued.token)).active === false ? true : undefined),
      60_000,
      'the token revoked by the command after the poison one',
    );

    const letters = (
      await readTopic(topicName(TOPICS.dlq, prefix), (r) =>
        r.some((x) => x.headers[DLQ_HEADERS.topic] === commands),
      )
    ).filter((x) => x.headers[DLQ_HEADERS.topic] === commands);
    expect(letters).toHaveLength(1);
    const letter = letters[0];
    expect(letter?.headers[DLQ_HEADERS.code]).toBe('handler-failed');
    // The handler's own error (SQLSTATE and message), not Nest's "Internal server error".
    expect(letter?.headers[DLQ_HEADERS.reason]).toMatch(/^22008: .*out of range/);
    expect(letter?.value?.equals(encodeEvent(poison, { signingKey: system.signing.driver }))).toBe(
      true,
    );

    const metrics = await (await fetch(url('revocation', '/metrics'))).text();
    const consumer = `${prefix}tokenledger-revocation-commands`;
    expect(metrics).toContain(
      `tokenledger_dead_letters_total{consumer="${consumer}",topic="${commands}",code="handler-failed"} 1`,
    );
    // One failure on the batch (or the poison record's), then 3 on the record alone.
    const failures = new RegExp(
      `tokenledger_consumer_handler_failures_total\\{consumer="${consumer}",topic="${commands}",retryable="false"\\} (\\d+)`,
    ).exec(metrics);
    expect(Number(failures?.[1])).toBeGreaterThanOrEqual(3);
    expect(Number(failures?.[1])).toBeLessThanOrEqual(4);
  }, 120_000);
});
