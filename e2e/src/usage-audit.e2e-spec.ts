import { CLOUDEVENTS_CONTENT_TYPE, TOPICS, decodeEvent, topicName } from '@tokenledger/contracts';
import { createKafka } from '@tokenledger/messaging';
import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  readTopic,
  type TestDatabase,
} from '@tokenledger/testing';
import { freePort, spawnApp, startSystem, type RunningSystem, untilReady } from './system';

/**
 * Issue 15 point 7: with USAGE_AUDIT=required an introspection is answered only once its
 * token.used event is acknowledged by Kafka, and refused (503) when it cannot be; the default
 * (best-effort) answers whatever Kafka does. Both modes side by side: the system's revocation
 * runs `required`, a second instance on the same database runs the default.
 */
describe('USAGE_AUDIT: introspection fails closed when its use cannot be recorded', () => {
  let db: TestDatabase;
  let system: RunningSystem;
  let bestEffort: ReturnType<typeof spawnApp> | undefined;
  let bestEffortUrl = '';
  const prefix = freshTopicPrefix();
  const auth = (): Record<string, string> => ({ authorization: `Bearer ${system.rootToken}` });

  function introspect(base: string, token: string): Promise<Response> {
    return fetch(`${base}/v1/introspect`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, service: 'audit-spec' }).toString(),
    });
  }

  beforeAll(async () => {
    db = await freshDatabase();
    system = await startSystem(
      {
        DATABASE_URL: db.url,
        KAFKA_BROKERS: kafkaBrokers(),
        TOPIC_PREFIX: prefix,
        USAGE_AUDIT: 'required',
        USAGE_AUDIT_TIMEOUT_MS: '1500',
      },
      { witness: false },
    );
    const port = await freePort();
    bestEffortUrl = `http://127.0.0.1:${port}`;
    bestEffort = spawnApp('revocation', {
      ...system.env,
      PORT: String(port),
      USAGE_AUDIT: 'best-effort',
    });
    await untilReady(bestEffortUrl, 'the best-effort instance ready');
  }, 180_000);

  afterAll(async () => {
    if (bestEffort && bestEffort.process.exitCode === null) {
      const exited = new Promise((r) => bestEffort?.process.once('exit', r));
      bestEffort.process.kill('SIGTERM');
      await exited;
    }
    await system?.stop();
    await db?.drop();
  }, 60_000);

  it('required: the answer comes with its token.used on record; without Kafka it is a 503 (best-effort still answers)', async () => {
    const res = await fetch(`${system.apps.issuance.url}/v1/tokens`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({
        owner: { type: 'service', id: 'audit' },
        name: 'audit',
        scopes: ['audit:read'],
        ttlSeconds: 3600,
      }),
    });
    expect(res.status).toBe(201);
    const issued = (await res.json()) as { token: string; tokenId: string };
    const revocationUrl = system.apps.revocation.url;
    await eventually(
      async () => {
        const r = await introspect(revocationUrl, issued.token);
        return r.status === 200 && ((await r.json()) as { active: boolean }).active
          ? true
          : undefined;
      },
      20_000,
      'the token active at the required-mode instance',
    );

    // Required: the event is on the topic when the answer arrives (read once, no waiting for it).
    const before = Date.now();
    const answered = await introspect(revocationUrl, issued.token);
    expect(answered.status).toBe(200);
    const admin = createKafka({ brokers: kafkaBrokers(), clientId: 'audit-spec' }).admin();
    await admin.connect();
    try {
      const usage = topicName(TOPICS.usage, prefix);
      const offsets = await admin.fetchTopicOffsets(usage);
      const end = offsets.reduce((n, p) => n + Number(p.high), 0);
      const records = await readTopic(usage, (r) => r.length >= end);
      const used = records
        .map((r) => ({ record: r, decoded: decodeEvent(r.value ?? Buffer.alloc(0)) }))
        .flatMap(({ record, decoded: d }) =>
          d.ok && d.event.type === 'tokenledger.token.used.v1' ? [{ record, event: d.event }] : [],
        )
        .filter(
          ({ event: e }) =>
            e.data.tokenId === issued.tokenId &&
            e.data.outcome === 'accepted' &&
            Date.parse(e.time) >= before - 1,
        );
      expect(used.length).toBeGreaterThanOrEqual(1);
      // The required-mode send follows the CloudEvents Kafka binding like every other producer.
      for (const { record } of used)
        expect(record.headers['content-type']).toBe(CLOUDEVENTS_CONTENT_TYPE);

      // Kafka cannot take the event any more (its topic is gone; topics are not auto-created).
      await admin.deleteTopics({ topics: [usage], timeout: 10_000 });
    } finally {
      await admin.disconnect();
    }
    await eventually(
      async () =>
        (await introspect(revocationUrl, issued.token)).status === 503 ? true : undefined,
      30_000,
      'the required-mode instance refusing to answer',
    );
    const refused = await introspect(revocationUrl, issued.token);
    expect(refused.status).toBe(503);
    // /v1/introspect answers errors as RFC 6749 §5.2 bodies.
    const body = (await refused.json()) as { error: string; error_description: string };
    expect(body.error).toBe('temporarily_unavailable');
    expect(body.error_description).toMatch(/could not be recorded/);
    expect(JSON.stringify(body)).not.toContain(issued.token);

    // Best effort (the default): the same question is answered.
    const answeredAnyway = await introspect(bestEffortUrl, issued.token);
    expect(answeredAnyway.status).toBe(200);
    expect(((await answeredAnyway.json()) as { active: boolean }).active).toBe(true);
  }, 120_000);
});
