import { AUDITED_TOPICS, TOPICS, topicName } from '@tokenledger/contracts';
import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  testKafka,
  type TestDatabase,
} from '@tokenledger/testing';
import { Client } from 'pg';
import { APP_NAMES, declaredBodyPost, spawnApp, startSystem, type RunningSystem } from './system';

describe('foundation: the four apps as real processes against real Kafka and PostgreSQL', () => {
  let db: TestDatabase;
  let system: RunningSystem;
  const prefix = freshTopicPrefix();

  beforeAll(async () => {
    db = await freshDatabase();
    system = await startSystem({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: kafkaBrokers(),
      TOPIC_PREFIX: prefix,
    });
  }, 150_000);

  afterAll(async () => {
    await system?.stop();
    await db?.drop();
  }, 60_000);

  it.each(APP_NAMES)(
    '%s: live, ready (PostgreSQL and Kafka up), metrics, OpenAPI',
    async (name) => {
      const { url } = system.apps[name];
      expect((await fetch(`${url}/health/live`)).status).toBe(200);
      expect((await fetch(`${url}/health/live/`)).status).toBe(200); // a trailing slash is the same route

      const ready = await fetch(`${url}/health/ready`);
      expect(ready.status).toBe(200);
      // The ledger adds its own checks (witness quorum, signer guard); no log exists yet here.
      const extra = name === 'ledger' ? { witnesses: 'ok', signing: 'ok', signingKey: 'ok' } : {};
      expect(await ready.json()).toEqual({
        status: 'ok',
        checks: { postgres: 'up', kafka: 'up', consumers: 'up', ...extra },
      });

      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^process_cpu_user_seconds_total /m);
      expect(metrics).toMatch(/^http_request_duration_seconds_bucket\{.*route="\/health\/ready"/m);

      const openapi = (await (await fetch(`${url}/openapi.json`)).json()) as {
        info: { title: string };
        paths: Record<string, unknown>;
      };
      expect(openapi.info.title).toBe(`Tokenledger ${name}`);
      expect(Object.keys(openapi.paths)).toEqual(
        expect.arrayContaining(['/health/live', '/health/ready']),
      );
      const docs = await fetch(`${url}/docs`);
      expect(docs.status).toBe(200);
      expect(await docs.text()).toContain('swagger');
    },
  );

  // A POST route of each app: bodies are parsed (and refused) before authentication.
  const postRoute = {
    issuance: '/v1/tokens',
    revocation: '/v1/tokens/x/revoke',
    anomaly: '/v1/usage',
    ledger: '/v1/ledger/verify',
  } as const;

  const problemType = /^application\/problem\+json; charset=utf-8$/;

  it.each(APP_NAMES)(
    '%s: errors are RFC 9457 problem details with code and requestId',
    async (name) => {
      const { url } = system.apps[name];
      const missing = await fetch(`${url}/v1/no-such-resource?q=1`, {
        headers: { 'x-request-id': 'req-123' },
      });
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-type')).toMatch(problemType);
      expect(await missing.json()).toEqual({
        type: 'about:blank',
        title: 'Not Found',
        status: 404,
        detail: expect.any(String),
        instance: '/v1/no-such-resource',
        code: 'not_found',
        requestId: 'req-123',
      });
      expect(missing.headers.get('x-request-id')).toBe('req-123');

      const malformed = await fetch(`${url}${postRoute[name]}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"a":',
      });
      expect(malformed.status).toBe(400);
      expect(malformed.headers.get('content-type')).toMatch(problemType);
      const malformedBody = (await malformed.json()) as {
        status: number;
        code: string;
        detail: string;
        requestId: string;
      };
      expect(malformedBody).toMatchObject({ status: 400, code: 'bad_request' });
      expect(malformedBody.detail).toMatch(/JSON/);
      // The id is fixed before body parsing, so even a parse error carries it.
      expect(malformedBody.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(malformed.headers.get('x-request-id')).toBe(malformedBody.requestId);

      // Past every route's limit: the global 64 KB and POST /v1/usage's own 1 MiB, declared in
      // Content-Length. The server answers 413 from the header and closes: a client still
      // writing the body would get EPIPE instead of the answer, so this one sends none.
      const huge = await declaredBodyPost(`${url}${postRoute[name]}`, 2 * 1024 * 1024);
      expect(huge.status).toBe(413);
      expect(huge.headers.get('content-type')).toMatch(problemType);
      expect(await huge.json()).toEqual({
        type: 'about:blank',
        title: 'Payload Too Large',
        status: 413,
        detail: expect.stringMatching(/too large/i),
        instance: postRoute[name],
        code: 'payload_too_large',
        requestId: expect.any(String),
      });

      const unsupported = await fetch(`${url}${postRoute[name]}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'hello',
      });
      expect(unsupported.status).toBe(415);
      expect(await unsupported.json()).toMatchObject({
        status: 415,
        code: 'unsupported_media_type',
      });

      const anonymous = await fetch(`${url}/v1/whoami`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('content-type')).toMatch(problemType);
      expect(await anonymous.json()).toMatchObject({
        type: 'about:blank',
        status: 401,
        code: 'unauthorized',
      });
    },
  );

  it('the OAuth routes (RFC 7662, RFC 7009) answer RFC 6749 §5.2 error bodies', async () => {
    const { url } = system.apps.revocation;
    const post = (path: string, authorization: string | null, body: string, type?: string) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: {
          'content-type': type ?? 'application/x-www-form-urlencoded',
          ...(authorization ? { authorization } : {}),
        },
        body,
      });
    const oauthError = async (res: Response) => {
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const body = (await res.json()) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
      return [res.status, body.error];
    };
    for (const path of ['/v1/introspect', '/v1/revoke']) {
      const anonymous = await post(path, null, 'token=x');
      expect(await oauthError(anonymous)).toEqual([401, 'invalid_token']);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await oauthError(await post(path, 'Bearer tlk_live_nope', 'token=x'))).toEqual([
        401,
        'invalid_token',
      ]);
      const bad = await post(path, `Bearer ${system.rootToken}`, 'nottoken=x');
      expect(await oauthError(bad)).toEqual([400, 'invalid_request']);
      expect(
        await oauthError(await post(path, `Bearer ${system.rootToken}`, 'hello', 'text/plain')),
      ).toEqual([415, 'invalid_request']);
    }
    // A caller without the scope: RFC 6750 §3.1 insufficient_scope.
    const issued = await fetch(`${system.apps.issuance.url}/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${system.rootToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        owner: { type: 'service', id: 'reader' },
        name: 'no-introspect',
        scopes: ['ledger:read'],
        ttlSeconds: 600,
      }),
    });
    expect(issued.status).toBe(201);
    const { token } = (await issued.json()) as { token: string };
    await eventually(
      async () =>
        (await fetch(`${url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } }))
          .status === 200
          ? true
          : undefined,
      10_000,
      'the new token to be known to revocation',
    );
    const denied = await post('/v1/introspect', `Bearer ${token}`, 'token=x');
    expect(await oauthError(denied)).toEqual([403, 'insufficient_scope']);
    expect(denied.headers.get('www-authenticate')).toMatch(/insufficient_scope/);
  });

  it('provisioned every topic; audited ones keep LogAppendTime and unlimited retention', async () => {
    const admin = testKafka().admin();
    await admin.connect();
    try {
      const names = Object.values(TOPICS).map((t) => topicName(t, prefix));
      expect(await admin.listTopics()).toEqual(expect.arrayContaining(names));
      const metadata = await admin.fetchTopicMetadata({ topics: names });
      for (const t of metadata.topics) expect(t.partitions).toHaveLength(3);
      const configs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: AUDITED_TOPICS.map((t) => ({
          type: 2,
          name: topicName(t, prefix),
          configNames: ['message.timestamp.type', 'retention.ms'],
        })),
      });
      for (const resource of configs.resources) {
        const entries = Object.fromEntries(
          resource.configEntries.map((e) => [e.configName, e.configValue]),
        );
        expect({ topic: resource.resourceName, ...entries }).toEqual({
          topic: resource.resourceName,
          'message.timestamp.type': 'LogAppendTime',
          'retention.ms': '-1',
        });
      }
    } finally {
      await admin.disconnect();
    }
  });

  it('each app owns its schema, created by migrations', async () => {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      for (const name of APP_NAMES) {
        const tables = await client.query<{ table_name: string }>(
          'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
          [name],
        );
        expect(tables.rows.map((r) => r.table_name)).toEqual(
          expect.arrayContaining(['inbox', 'migrations', 'outbox']),
        );
        const migrations = await client.query<{ name: string }>(
          `SELECT name FROM "${name}".migrations`,
        );
        expect(migrations.rows.map((r) => r.name)).toContain('CreateSchemaAndOutbox1795800000000');
      }
    } finally {
      await client.end();
    }
  });

  it('refuses to boot with invalid configuration and names the variable, not its value', async () => {
    const { process: child, output } = spawnApp('issuance', {
      PORT: 'not-a-port',
      KAFKA_BROKERS: 'nohostport',
      DATABASE_URL: db.url,
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    const text = output.join('');
    expect(text).toMatch(/invalid configuration for issuance/);
    expect(text).toMatch(/PORT: /);
    expect(text).toMatch(/KAFKA_BROKERS: must be host:port/);
    // Named, never quoted: a rejected value may be a secret.
    expect(text).not.toContain('not-a-port');
    expect(text).not.toContain('nohostport');
  });
});
