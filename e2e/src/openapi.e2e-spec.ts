import { TOPICS, topicName } from '@tokenledger/contracts';
import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  type TestDatabase,
} from '@tokenledger/testing';
import { ResponseChecker, validateDocument } from './openapi';
import { APP_NAMES, startSystem, type AppName, type RunningSystem } from './system';

/**
 * Every app's OpenAPI document is valid, declares every route completely (input, answer, errors),
 * and the real answers of the running system, successes and errors, match what it declares.
 */
describe('OpenAPI: valid documents, complete routes, real answers as declared', () => {
  let db: TestDatabase;
  let system: RunningSystem;
  const prefix = freshTopicPrefix();
  const checkers = {} as Record<AppName, ResponseChecker>;

  beforeAll(async () => {
    db = await freshDatabase();
    system = await startSystem({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: kafkaBrokers(),
      TOPIC_PREFIX: prefix,
      CHECKPOINT_INTERVAL_MS: '200',
    });
    for (const name of APP_NAMES)
      checkers[name] = await ResponseChecker.load(system.apps[name].url);
    await eventually(
      async () =>
        (
          await fetch(`${system.apps.ledger.url}/v1/whoami`, {
            headers: { authorization: `Bearer ${system.rootToken}` },
          })
        ).status === 200
          ? true
          : undefined,
      20_000,
      'root token known',
    );
  }, 150_000);

  afterAll(async () => {
    await system?.stop();
    await db?.drop();
  }, 60_000);

  it.each(APP_NAMES)('%s: the document is valid OpenAPI 3.1 (swagger-parser)', async (name) => {
    const { doc } = checkers[name];
    expect(doc.openapi).toBe('3.1.0');
    await expect(validateDocument(doc)).resolves.toBeUndefined();
  });

  it.each(APP_NAMES)(
    '%s: every route declares its answer and its errors as problem details (OAuth bodies on the OAuth routes)',
    (name) => {
      const { doc } = checkers[name];
      const operations = checkers[name].operations();
      expect(operations.length).toBeGreaterThanOrEqual(3);
      for (const key of operations) {
        const [method, template] = key.split(' ') as [string, string];
        const operation = doc.paths[template]![method.toLowerCase()]!;
        const statuses = Object.keys(operation.responses ?? {});
        expect([key, statuses.some((s) => /^2\d\d$/.test(s))]).toEqual([key, true]);
        expect([key, statuses]).toEqual([key, expect.arrayContaining(['500'])]);
        const health = template.startsWith('/health/');
        if (!health)
          expect([key, statuses]).toEqual([key, expect.arrayContaining(['401', '403', '429'])]);
        // Path parameters and inputs are declared with schemas.
        for (const p of operation.parameters ?? [])
          expect([key, p.name, typeof p.schema]).toEqual([key, p.name, 'object']);
        const oauth = template === '/v1/introspect' || template === '/v1/revoke';
        for (const status of statuses.filter((s) => Number(s) >= 400)) {
          const content = operation.responses![status]!.content ?? {};
          expect([key, status, content]).toEqual([
            key,
            status,
            oauth
              ? { 'application/json': { schema: { $ref: '#/components/schemas/OAuthError' } } }
              : {
                  'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
                },
          ]);
        }
      }
    },
  );

  it('issuance: the issue request declares rateLimit and credits, the shapes of the limits PUT', () => {
    const { doc } = checkers.issuance;
    let body = JSON.stringify(doc.paths['/v1/tokens']?.post?.requestBody ?? null);
    // Inline or by reference to a component schema.
    for (const [, name] of body.matchAll(/"#\/components\/schemas\/([^"]+)"/g))
      body += JSON.stringify(doc.components?.schemas?.[name ?? ''] ?? null);
    for (const field of ['rateLimit', 'windowSeconds', 'credits', 'remaining', 'refill'])
      expect([field, body.includes(`"${field}"`)]).toEqual([field, true]);
  });

  it('the checker refuses an answer that differs from the document', async () => {
    const checker = checkers.issuance;
    const url = `${system.apps.issuance.url}/v1/tokens/${'0'.repeat(8)}-0000-7000-8000-000000000000`;
    const json = (status: number, body: unknown, type = 'application/json') =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': type } });
    await expect(checker.check('GET', url, json(200, { tokenId: 'x' }))).rejects.toThrow(
      /GET \/v1\/tokens\/\{tokenId\} -> 200: body does not match/,
    );
    await expect(checker.check('GET', url, json(418, {}))).rejects.toThrow(/status not declared/);
    await expect(
      checker.check('GET', url, json(404, { code: 'not_found' }, 'application/json')),
    ).rejects.toThrow(/content-type application\/json not declared/);
    await expect(
      checker.check('GET', url, json(404, { code: 'not_found' }, 'application/problem+json')),
    ).rejects.toThrow(/does not match/);
    await expect(checker.check('DELETE', url, json(200, {}))).rejects.toThrow(/not declared/);
  });

  it('real answers of every route, successes and errors, match their declared schemas', async () => {
    const root = { authorization: `Bearer ${system.rootToken}` };
    const call = async <T = unknown>(
      app: AppName,
      method: string,
      path: string,
      options: {
        body?: unknown;
        form?: Record<string, string>;
        auth?: Record<string, string>;
      } = {},
    ): Promise<{ status: number; body: T; text: string }> => {
      const url = `${system.apps[app].url}${path}`;
      const headers: Record<string, string> = { ...(options.auth ?? root) };
      let body: string | undefined;
      if (options.form) {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        body = new URLSearchParams(options.form).toString();
      } else if (options.body !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(options.body);
      }
      const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
      await checkers[app].check(method, url, res);
      const text = await res.text();
      const type = res.headers.get('content-type') ?? '';
      return {
        status: res.status,
        text,
        body: (/json/.test(type) && !/ndjson/.test(type) ? JSON.parse(text) : text) as T,
      };
    };
    const expectStatus = async <R extends { status: number; text: string }>(
      promise: Promise<R>,
      status: number,
    ): Promise<R> => {
      const res = await promise;
      expect([res.status, res.text.slice(0, 300)]).toEqual([status, expect.any(String)]);
      return res;
    };
    const unknownId = '01900000-0000-7000-8000-000000000000';

    // Every app: health, whoami, and the errors every route shares.
    for (const app of APP_NAMES) {
      await expectStatus(call(app, 'GET', '/health/live'), 200);
      await expectStatus(call(app, 'GET', '/health/ready'), 200);
      await expectStatus(call(app, 'GET', '/v1/whoami'), 200);
      await expectStatus(call(app, 'GET', '/v1/whoami', { auth: {} }), 401);
    }

    // issuance
    const issued = await expectStatus(
      call<{ token: string; tokenId: string }>('issuance', 'POST', '/v1/tokens', {
        body: {
          owner: { type: 'service', id: 'openapi' },
          name: 'reader',
          scopes: ['orders:read'],
          ttlSeconds: 3600,
          labels: { env: 'test' },
          rateLimit: { limit: 1000, windowSeconds: 60 },
          credits: { remaining: 1000 },
        },
      }),
      201,
    );
    const { token, tokenId } = issued.body;
    await expectStatus(call('issuance', 'POST', '/v1/tokens', { body: { name: 'x' } }), 400);
    await expectStatus(
      call('issuance', 'POST', '/v1/tokens', {
        body: {
          owner: { type: 'service', id: 'openapi' },
          name: 'bad-limits',
          scopes: ['orders:read'],
          credits: { remaining: -1 },
        },
      }),
      400,
    );
    await expectStatus(call('issuance', 'GET', '/v1/tokens?limit=2'), 200);
    await expectStatus(call('issuance', 'GET', '/v1/tokens?limit=0'), 400);
    await expectStatus(call('issuance', 'GET', `/v1/tokens/${tokenId}`), 200);
    await expectStatus(call('issuance', 'GET', `/v1/tokens/${unknownId}`), 404);
    const policy = await expectStatus(call('issuance', 'GET', '/v1/policies'), 200);
    await expectStatus(call('issuance', 'PUT', '/v1/policies', { body: policy.body }), 200);
    const rotated = await expectStatus(
      call<{ token: string; tokenId: string }>('issuance', 'POST', `/v1/tokens/${tokenId}/rotate`, {
        body: { graceSeconds: 600 },
      }),
      201,
    );
    // The token lacks every operator scope: 403 once the apps know it.
    const reader = { authorization: `Bearer ${rotated.body.token}` };
    await eventually(
      async () =>
        (await fetch(`${system.apps.issuance.url}/v1/whoami`, { headers: reader })).status === 200
          ? true
          : undefined,
      10_000,
      'the rotated token known',
    );
    await expectStatus(call('issuance', 'GET', '/v1/tokens', { auth: reader }), 403);

    // revocation
    const answer = await expectStatus(
      call<{ active: boolean }>('revocation', 'POST', '/v1/introspect', {
        form: { token: rotated.body.token, service: 'openapi' },
      }),
      200,
    );
    expect(answer.body.active).toBe(true);
    await expectStatus(
      call('revocation', 'POST', '/v1/introspect', { form: { token: 'tlk_live_nope' } }),
      200,
    );
    await expectStatus(call('revocation', 'POST', '/v1/introspect', { form: { nope: 'x' } }), 400);
    await expectStatus(
      call('revocation', 'POST', '/v1/introspect', { form: { token: 'x' }, auth: {} }),
      401,
    );
    await expectStatus(
      call('revocation', 'POST', '/v1/introspect', { form: { token: 'x' }, auth: reader }),
      403,
    );
    await expectStatus(
      call('revocation', 'POST', '/v1/revoke', { form: { token: 'tlk_live_nope' } }),
      200,
    );
    await expectStatus(call('revocation', 'POST', '/v1/revoke', { form: {} }), 400);
    await expectStatus(
      call('revocation', 'POST', `/v1/tokens/${tokenId}/revoke`, { body: {} }),
      200,
    );
    await expectStatus(
      call('revocation', 'POST', `/v1/tokens/${unknownId}/revoke`, { body: {} }),
      404,
    );
    await expectStatus(
      call('revocation', 'POST', '/v1/revocations', {
        body: { selector: { ownerId: 'nobody' }, dryRun: true },
      }),
      200,
    );
    await expectStatus(
      call('revocation', 'POST', '/v1/leaks', {
        body: [{ token: 'tlk_live_notachecksum', type: 'tokenledger', url: '', source: 'test' }],
      }),
      200,
    );
    await expectStatus(call('revocation', 'POST', '/v1/admin/rebuild'), 200);
    await expectStatus(call('revocation', 'GET', `/v1/tokens/${tokenId}/limits`), 200);
    await expectStatus(
      call('revocation', 'PUT', `/v1/tokens/${tokenId}/limits`, {
        body: { credits: { remaining: 5 } },
      }),
      200,
    );
    await expectStatus(
      call('revocation', 'PUT', `/v1/tokens/${tokenId}/limits`, { body: {} }),
      400,
    );

    // anomaly
    await expectStatus(
      call('anomaly', 'POST', '/v1/usage', {
        body: {
          events: [
            {
              tokenId: rotated.body.tokenId,
              service: 'openapi',
              operation: 'GET /orders',
              ip: '192.0.2.1',
              scopesRequested: ['orders:read'],
              outcome: 'accepted',
            },
          ],
        },
      }),
      202,
    );
    await expectStatus(call('anomaly', 'POST', '/v1/usage', { body: { events: [] } }), 400);
    await expectStatus(call('anomaly', 'GET', '/v1/anomalies?limit=5'), 200);
    await expectStatus(call('anomaly', 'GET', `/v1/anomalies/${unknownId}`), 404);
    // The revoked token, presented again: a revoked-token-use finding.
    await expectStatus(
      call('revocation', 'POST', '/v1/introspect', { form: { token, service: 'openapi' } }),
      200,
    );
    const finding = await eventually(
      async () =>
        (
          await call<{ anomalies: Array<{ id: string }> }>(
            'anomaly',
            'GET',
            `/v1/anomalies?tokenId=${tokenId}`,
          )
        ).body.anomalies[0],
      20_000,
      'a finding for the revoked token',
    );
    await expectStatus(call('anomaly', 'GET', `/v1/anomalies/${finding.id}`), 200);
    await expectStatus(call('anomaly', 'GET', '/v1/anomaly-rules'), 200);
    await expectStatus(
      call('anomaly', 'PUT', '/v1/anomaly-rules/rate-spike', { body: { enabled: true } }),
      200,
    );
    await expectStatus(call('anomaly', 'GET', '/v1/reports/sprawl'), 200);
    await expectStatus(call('anomaly', 'GET', '/v1/reports/sprawl?format=csv'), 200);
    const hook = await expectStatus(
      call<{ id: string }>('anomaly', 'POST', '/v1/webhooks', {
        body: { url: 'http://127.0.0.1:9/openapi' },
      }),
      201,
    );
    await expectStatus(call('anomaly', 'GET', '/v1/webhooks'), 200);
    await expectStatus(call('anomaly', 'GET', `/v1/webhooks/${hook.body.id}`), 200);
    await expectStatus(call('anomaly', 'GET', `/v1/webhooks/${hook.body.id}/deliveries`), 200);
    await expectStatus(call('anomaly', 'GET', `/v1/webhooks/${unknownId}`), 404);
    await expectStatus(call('anomaly', 'DELETE', `/v1/webhooks/${hook.body.id}`), 204);
    await expectStatus(call('anomaly', 'POST', '/v1/admin/rebuild'), 200);

    // ledger: wait for a signed checkpoint of a lifecycle log
    const lifecycle = topicName(TOPICS.lifecycle, prefix);
    const log = await eventually(
      async () => {
        const { body } = await call<{
          logs: Array<{
            logId: string;
            topic: string;
            size: number;
            checkpointSize: number | null;
          }>;
        }>('ledger', 'GET', '/v1/ledger/logs');
        return body.logs.find((l) => l.topic === lifecycle && (l.checkpointSize ?? 0) >= 2);
      },
      20_000,
      'a signed checkpoint of a lifecycle log',
    );
    const size = log.checkpointSize as number;
    const id = log.logId;
    await expectStatus(call('ledger', 'GET', '/v1/ledger/keys'), 200);
    await expectStatus(call('ledger', 'GET', `/v1/ledger/logs/${id}/checkpoint`), 200);
    await expectStatus(call('ledger', 'GET', `/v1/ledger/logs/${prefix}nope-0/checkpoint`), 404);
    await expectStatus(call('ledger', 'GET', `/v1/ledger/logs/${id}/entries/0`), 200);
    await expectStatus(call('ledger', 'GET', `/v1/ledger/logs/${id}/entries/999999`), 404);
    await expectStatus(call('ledger', 'GET', `/v1/ledger/logs/${id}/entries?from=0&limit=2`), 200);
    await expectStatus(
      call('ledger', 'GET', `/v1/ledger/logs/${id}/proofs/inclusion?index=0&treeSize=${size}`),
      200,
    );
    await expectStatus(
      call('ledger', 'GET', `/v1/ledger/logs/${id}/proofs/consistency?from=1&to=${size}`),
      200,
    );
    await expectStatus(call('ledger', 'GET', `/v1/ledger/logs/${id}/proofs/inclusion`), 400);
    await expectStatus(call('ledger', 'GET', '/v1/ledger/events?limit=3'), 200);
    await expectStatus(call('ledger', 'GET', '/v1/ledger/events?cursor=garbage'), 400);
    await expectStatus(call('ledger', 'GET', `/v1/ledger/tokens/${tokenId}/timeline`), 200);
    await expectStatus(call('ledger', 'POST', '/v1/ledger/verify', { body: {} }), 200);
    await expectStatus(
      call('ledger', 'GET', `/v1/ledger/export?logId=${id}&from=0&to=${size}`),
      200,
    );
    await expectStatus(call('ledger', 'GET', `/v1/ledger/tokens/${unknownId}/evidence`), 404);
    const evidence = await eventually(
      async () => {
        const res = await call('ledger', 'GET', `/v1/ledger/tokens/${tokenId}/evidence`);
        return res.status === 200 ? res : undefined;
      },
      20_000,
      "the token's events under a checkpoint",
    );
    expect(evidence.text.split('\n').filter(Boolean).length).toBeGreaterThan(1);
    await expectStatus(call('ledger', 'GET', `/v1/ledger/tiles/${id}/checkpoint`), 200);
    // The checkpoint's tree may have grown since: ask for the partial tile of the first entries.
    const tileSize = Number(
      (await call<string>('ledger', 'GET', `/v1/ledger/tiles/${id}/checkpoint`)).text.split(
        '\n',
      )[1],
    );
    await expectStatus(
      call(
        'ledger',
        'GET',
        `/v1/ledger/tiles/${id}/tile/0/000${tileSize < 256 ? `.p/${tileSize}` : ''}`,
      ),
      200,
    );
    await expectStatus(call('ledger', 'GET', `/v1/ledger/tiles/${id}/tile/9/999`), 404);
    const replay = await expectStatus(
      call<{ replayId: string }>('ledger', 'POST', '/v1/replays', {
        body: { logId: id, fromIndex: 0, toIndex: 1, targetTopic: `${prefix}openapi.replay` },
      }),
      202,
    );
    await expectStatus(call('ledger', 'GET', `/v1/replays/${replay.body.replayId}`), 200);
    await expectStatus(call('ledger', 'GET', `/v1/replays/${unknownId}`), 404);
    await expectStatus(call('ledger', 'POST', '/v1/replays', { body: { targetTopic: 'x' } }), 400);

    // Every declared operation answered a success at least once, so each schema met a real answer.
    for (const app of APP_NAMES) {
      const missed = checkers[app].operations().filter((k) => !checkers[app].succeeded.has(k));
      expect([app, missed]).toEqual([app, []]);
    }
  }, 120_000);
});
