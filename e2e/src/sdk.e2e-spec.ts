import type { AddressInfo } from 'node:net';
import { TokenledgerClient, TokenledgerError, UsageReporter, requireToken } from '@tokenledger/sdk';
import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  kafkaTestCredentials,
  type TestDatabase,
} from '@tokenledger/testing';
import express from 'express';
import type { Server } from 'node:http';
import { startSystem, type RunningSystem } from './system';

describe('SDK: a service protects its routes with Tokenledger', () => {
  let db: TestDatabase;
  let system: RunningSystem;
  let server: Server;
  let reporter: UsageReporter;
  let base: string;
  const prefix = freshTopicPrefix();
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
    // The service's own operator token, allowed to introspect.
    const svc = (await (
      await fetch(`${system.apps.issuance.url}/v1/tokens`, {
        method: 'POST',
        headers: admin(),
        body: JSON.stringify({
          owner: { type: 'service', id: 'orders' },
          name: 'orders-introspect',
          scopes: ['tokens:introspect'],
          ttlSeconds: 3600,
        }),
      })
    ).json()) as { token: string };
    await eventually(
      async () =>
        (
          await fetch(`${system.apps.revocation.url}/v1/whoami`, {
            headers: { authorization: `Bearer ${svc.token}` },
          })
        ).status === 200
          ? true
          : undefined,
      15_000,
      'service token known',
    );

    const client = new TokenledgerClient({
      revocationUrl: system.apps.revocation.url,
      operatorToken: svc.token,
      service: 'orders',
    });
    reporter = new UsageReporter({
      brokers: kafkaBrokers(),
      service: 'orders',
      topicPrefix: prefix,
      flushIntervalMs: 50,
      // The SDK producers' principal (it may write tokens.usage and nothing else).
      sasl: kafkaTestCredentials()?.['usage-reporter'],
      signingKey: system.signing.sdk.text,
    });
    reporter.start();
    const app = express();
    app.get('/orders', requireToken({ client, scopes: ['orders:read'], reporter }), (_req, res) => {
      res.json({ ok: true, sub: (res.locals.tokenledger as { sub: string }).sub });
    });
    app.post(
      '/orders',
      requireToken({ client, scopes: ['orders:write'], reporter }),
      (_req, res) => {
        res.status(201).json({ ok: true });
      },
    );
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 150_000);

  afterAll(async () => {
    await reporter?.close();
    await new Promise((r) => server?.close(r));
    await system?.stop();
    await db?.drop();
  }, 60_000);

  it('lets a token with the scope in, refuses a missing scope with 403, and the reported refusals raise scope-probing', async () => {
    const user = (await (
      await fetch(`${system.apps.issuance.url}/v1/tokens`, {
        method: 'POST',
        headers: admin(),
        body: JSON.stringify({
          owner: { type: 'user', id: 'mallory' },
          name: 'reader',
          scopes: ['orders:read'],
          ttlSeconds: 3600,
        }),
      })
    ).json()) as { token: string; tokenId: string };
    const call = (method: string): Promise<Response> =>
      fetch(`${base}/orders`, { method, headers: { authorization: `Bearer ${user.token}` } });
    await eventually(
      async () => ((await call('GET')).status === 200 ? true : undefined),
      10_000,
      'the token to be accepted',
    );
    const anonymous = await fetch(`${base}/orders`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await anonymous.json()).toEqual({
      type: 'about:blank',
      title: 'Unauthorized',
      status: 401,
      detail: 'missing token',
      instance: '/orders',
      code: 'unauthorized',
    });
    expect(
      (await fetch(`${base}/orders`, { headers: { authorization: 'Bearer tlk_live_nope' } }))
        .status,
    ).toBe(401);
    for (let i = 0; i < 5; i += 1) {
      const refused = await call('POST');
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({
        status: 403,
        code: 'insufficient_scope',
        detail: 'missing scope: orders:write',
      });
    }
    await reporter.flush();
    const finding = await eventually(
      async () => {
        const res = await fetch(`${system.apps.anomaly.url}/v1/anomalies?tokenId=${user.tokenId}`, {
          headers: admin(),
        });
        const { anomalies } = (await res.json()) as {
          anomalies: Array<{ rule: string; evidence: string[] }>;
        };
        return anomalies.find((a) => a.rule === 'scope-probing');
      },
      15_000,
      'scope-probing from the reported refusals',
    );
    expect(finding.evidence).toHaveLength(5);
  });

  it('reads every error answer into one shape: TokenledgerError with the problem (OAuth bodies included)', async () => {
    const client = new TokenledgerClient({
      revocationUrl: system.apps.revocation.url,
      operatorToken: 'tlk_live_notarealtoken',
      service: 'orders',
    });
    const error = await client.introspect('tlk_live_whatever').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TokenledgerError);
    expect(error).toMatchObject({
      status: 401,
      code: 'invalid_token',
      requestId: expect.any(String),
      problem: {
        type: 'about:blank',
        status: 401,
        code: 'invalid_token',
        detail: expect.stringMatching(/not valid/),
      },
    });
  });
});
