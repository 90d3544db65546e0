import { CLOUDEVENTS_CONTENT_TYPE, TOPICS, decodeEvent, topicName } from '@tokenledger/contracts';
import { DLQ_HEADERS } from '@tokenledger/messaging';
import { TokenledgerClient, UsageReporter } from '@tokenledger/sdk';
import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  readTopic,
  testKafka,
  type ReadRecord,
  type TestDatabase,
} from '@tokenledger/testing';
import { startSystem, type RunningSystem } from './system';

/**
 * The Kafka protocol binding of CloudEvents: a record holding an event says so with
 * `content-type: application/cloudevents+json` (structured mode). Every producer of the system
 * runs here once (the issuance outbox, the revocation usage worker, the SDK's UsageReporter, the
 * ledger's replays, its checkpoints and its dead letters), then every record of every topic of the
 * run is read back and its header checked.
 */
describe('CloudEvents Kafka binding: every produced record carries its content-type', () => {
  let db: TestDatabase;
  let system: RunningSystem;
  let reporter: UsageReporter;
  const prefix = freshTopicPrefix();
  const POISON_KEY = 'cloudevents-e2e-poison';
  const admin = (): Record<string, string> => ({
    authorization: `Bearer ${system.rootToken}`,
    'content-type': 'application/json',
  });

  beforeAll(async () => {
    db = await freshDatabase();
    system = await startSystem({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: kafkaBrokers(),
      TOPIC_PREFIX: prefix,
      CHECKPOINT_INTERVAL_MS: '200',
    });
    await eventually(
      async () =>
        (await fetch(`${system.apps.revocation.url}/v1/whoami`, { headers: admin() })).status ===
        200
          ? true
          : undefined,
      20_000,
      'root token known',
    );
    reporter = new UsageReporter({
      brokers: kafkaBrokers(),
      service: 'orders',
      topicPrefix: prefix,
      flushIntervalMs: 50,
    });
    reporter.start();
  }, 150_000);

  afterAll(async () => {
    await reporter?.close();
    await system?.stop();
    await db?.drop();
  }, 60_000);

  it('outbox, usage worker, SDK, replay, checkpoints and dead letters all set content-type', async () => {
    // Outbox (issuance): token.issued on tokens.lifecycle.
    const issued = (await (
      await fetch(`${system.apps.issuance.url}/v1/tokens`, {
        method: 'POST',
        headers: admin(),
        body: JSON.stringify({
          owner: { type: 'user', id: 'ada' },
          name: 'ce',
          scopes: ['orders:read'],
          ttlSeconds: 3600,
        }),
      })
    ).json()) as { token: string; tokenId: string };
    expect(issued.tokenId).toBeTruthy();

    // Usage worker (revocation's background producer): one introspection, one token.used.
    const client = new TokenledgerClient({
      revocationUrl: system.apps.revocation.url,
      operatorToken: system.rootToken,
      service: 'orders',
    });
    await eventually(
      async () => ((await client.introspect(issued.token)).active ? true : undefined),
      15_000,
      'the issued token active at the revocation service',
    );

    // SDK UsageReporter.
    reporter.report({
      tokenId: issued.tokenId,
      operation: 'GET /orders',
      ip: '10.0.0.7',
      scopesRequested: ['orders:read'],
      outcome: 'accepted',
    });
    await reporter.flush();

    // Dead letter: a record that is no event on an audited topic (the ledger dead-letters it).
    const producer = testKafka().producer();
    await producer.connect();
    try {
      await producer.send({
        topic: topicName(TOPICS.usage, prefix),
        acks: -1,
        messages: [{ key: POISON_KEY, value: Buffer.from('not an event') }],
      });
    } finally {
      await producer.disconnect();
    }

    const usageTopic = topicName(TOPICS.usage, prefix);
    const usage = await readTopic(
      usageTopic,
      (rs) =>
        rs.some((r) => sourceOf(r) === '/tokenledger/revocation') &&
        rs.some((r) => sourceOf(r) === '/services/orders'),
      20_000,
    );
    const workerRecord = usage.find((r) => sourceOf(r) === '/tokenledger/revocation');
    const sdkRecord = usage.find((r) => sourceOf(r) === '/services/orders');
    expect(workerRecord?.headers['content-type']).toBe(CLOUDEVENTS_CONTENT_TYPE);
    expect(sdkRecord?.headers['content-type']).toBe(CLOUDEVENTS_CONTENT_TYPE);

    const lifecycle = await readTopic(
      topicName(TOPICS.lifecycle, prefix),
      (rs) => rs.length > 0,
      15_000,
    );
    expect(lifecycle[0]?.headers['content-type']).toBe(CLOUDEVENTS_CONTENT_TYPE);

    const dlq = await readTopic(
      topicName(TOPICS.dlq, prefix),
      (rs) => rs.some((r) => r.key === POISON_KEY),
      20_000,
    );
    const letter = dlq.find((r) => r.key === POISON_KEY);
    expect(letter?.headers[DLQ_HEADERS.topic]).toBe(usageTopic);
    expect(letter?.headers['content-type']).toBe('application/octet-stream');

    const checkpoints = await readTopic(
      topicName(TOPICS.checkpoints, prefix),
      (rs) => rs.length > 0,
      20_000,
    );
    expect(checkpoints[0]?.headers['content-type']).toBe('text/plain; charset=utf-8');

    // Replay: the lifecycle log replayed to a topic of its own.
    const logs = await eventually(
      async () => {
        const res = await fetch(`${system.apps.ledger.url}/v1/ledger/logs`, { headers: admin() });
        const body = (await res.json()) as {
          logs: Array<{ logId: string; topic: string; size: number }>;
        };
        const log = body.logs.find(
          (l) => l.topic === topicName(TOPICS.lifecycle, prefix) && l.size >= 1,
        );
        return log;
      },
      20_000,
      'the lifecycle log with the issuance',
    );
    const targetTopic = `${prefix}replay.cloudevents`;
    const started = await fetch(`${system.apps.ledger.url}/v1/replays`, {
      method: 'POST',
      headers: admin(),
      body: JSON.stringify({ logId: logs.logId, fromIndex: 0, toIndex: logs.size, targetTopic }),
    });
    expect(started.status).toBe(202);
    const { replayId, total } = (await started.json()) as { replayId: string; total: number };
    const final = await eventually(
      async () => {
        const res = await fetch(`${system.apps.ledger.url}/v1/replays/${replayId}`, {
          headers: admin(),
        });
        const st = (await res.json()) as { status: string; done: number };
        return st.status !== 'running' ? st : undefined;
      },
      20_000,
      'the replay to finish',
    );
    expect(final).toMatchObject({ status: 'completed', done: total });
    const replayed = await readTopic(targetTopic, (rs) => rs.length >= total, 20_000);
    expect(replayed).toHaveLength(total);
    for (const r of replayed) expect(r.headers['content-type']).toBe(CLOUDEVENTS_CONTENT_TYPE);

    // Every record of every topic of this run, whoever produced it (except the test's poison
    // record): an event is marked as one, and nothing is left without a content-type.
    const admin_ = testKafka().admin();
    await admin_.connect();
    const topics = (await admin_.listTopics()).filter((t) => t.startsWith(prefix));
    await admin_.disconnect();
    expect(topics).toEqual(
      expect.arrayContaining([
        topicName(TOPICS.lifecycle, prefix),
        topicName(TOPICS.opsAudit, prefix),
        targetTopic,
      ]),
    );
    let checked = 0;
    for (const topic of topics) {
      const records = await readTopic(topic, () => false, 3_000);
      for (const r of records) {
        if (r.key === POISON_KEY && topic === usageTopic) continue;
        const type = r.headers['content-type'];
        expect({ topic, offset: r.offset, type: type ?? null }).toEqual({
          topic,
          offset: r.offset,
          type: expect.any(String),
        });
        // A dead letter holds its source's bytes, an event or not: application/octet-stream.
        if (topic !== topicName(TOPICS.dlq, prefix) && r.value && decodeEvent(r.value).ok)
          expect(type).toBe(CLOUDEVENTS_CONTENT_TYPE);
        checked += 1;
      }
    }
    // lifecycle, 2 usage, ops.audit (replay started/finished), replayed, a checkpoint, a letter.
    expect(checked).toBeGreaterThanOrEqual(8);
  }, 180_000);
});

function sourceOf(record: ReadRecord): string | undefined {
  if (!record.value) return undefined;
  const decoded = decodeEvent(record.value);
  return decoded.ok ? decoded.event.source : undefined;
}
