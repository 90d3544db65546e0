import type { EventEnvelope } from '@tokenledger/contracts';
import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  type TestDatabase,
} from '@tokenledger/testing';
import { startSystem, type RunningSystem } from './system';

interface Issued {
  token: string;
  tokenId: string;
  prefix: string;
}

/** Issue 16: usage intake limits, revocation comments, search, GitHub-signed leak reports. */
describe('token controls through the real apps', () => {
  let db: TestDatabase;
  let system: RunningSystem;
  const prefix = freshTopicPrefix();
  const url = (app: keyof RunningSystem['apps'], path: string): string =>
    `${system.apps[app].url}${path}`;
  const auth = (token = system.rootToken): Record<string, string> => ({
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
  });

  async function post(
    app: keyof RunningSystem['apps'],
    path: string,
    body: unknown,
    headers: Record<string, string> = auth(),
  ): Promise<Response> {
    return fetch(url(app, path), {
      method: 'POST',
      headers,
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  async function issue(body: Record<string, unknown>): Promise<Issued> {
    const res = await post('issuance', '/v1/tokens', body);
    expect(res.status).toBe(201);
    return (await res.json()) as Issued;
  }

  async function timeline(tokenId: string, query = ''): Promise<EventEnvelope[]> {
    const res = await fetch(url('ledger', `/v1/ledger/tokens/${tokenId}/timeline${query}`), {
      headers: auth(),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { entries: Array<{ record: { event?: EventEnvelope } }> };
    return body.entries.flatMap((e) => (e.record.event ? [e.record.event] : []));
  }

  beforeAll(async () => {
    db = await freshDatabase();
    system = await startSystem(
      { DATABASE_URL: db.url, KAFKA_BROKERS: kafkaBrokers(), TOPIC_PREFIX: prefix },
      { witness: false },
    );
    await eventually(
      async () =>
        (await fetch(url('revocation', '/v1/whoami'), { headers: auth() })).status === 200
          ? true
          : undefined,
      20_000,
      'root token known to revocation',
    );
  }, 150_000);

  afterAll(async () => {
    await system?.stop();
    await db?.drop();
  }, 60_000);

  describe('POST /v1/usage: its own body limit fits the documented 1000 events', () => {
    const use = (tokenId: string, i: number): Record<string, unknown> => ({
      tokenId,
      service: 'gateway-eu-west-1',
      operation: `GET /v1/accounts/${i}/transactions`,
      ip: '198.51.100.23',
      country: 'DE',
      userAgent: 'billing-worker/4.2.1 (linux; node 22)',
      scopesRequested: ['billing:read', 'accounts:read'],
      outcome: 'accepted',
      at: new Date(Date.now() - 60_000 + i).toISOString(),
    });

    it('accepts a batch of 1000 events (well over the global 64 KB limit) and refuses 1001 with 400', async () => {
      const issued = await issue({
        owner: { type: 'service', id: 'usage-batch' },
        name: 'usage-batch',
        scopes: ['billing:read'],
        ttlSeconds: 3600,
      });
      const events = Array.from({ length: 1000 }, (_, i) => use(issued.tokenId, i));
      const body = JSON.stringify({ events });
      expect(body.length).toBeGreaterThan(200 * 1024);
      const accepted = await post('anomaly', '/v1/usage', body);
      expect(accepted.status).toBe(202);
      expect(await accepted.json()).toEqual({ accepted: 1000 });

      const tooMany = await post('anomaly', '/v1/usage', {
        events: [...events, use(issued.tokenId, 1000)],
      });
      expect(tooMany.status).toBe(400);
      expect(((await tooMany.json()) as { error: { message: string } }).error.message).toMatch(
        /events.*1000/,
      );
      // The route's limit is its own: other routes keep the global one.
      const big = await post('issuance', '/v1/tokens', { pad: 'x'.repeat(100_000) });
      expect(big.status).toBe(413);
      // And the usage route's limit is a limit: 2 MB is refused before anything is parsed.
      const huge = await post('anomaly', '/v1/usage', { pad: 'x'.repeat(2 * 1024 * 1024) });
      expect(huge.status).toBe(413);
    });
  });

  describe('revocation with a comment', () => {
    it('records the comment in the token.revoked ledger entry', async () => {
      const issued = await issue({
        owner: { type: 'team', id: 'payments' },
        name: 'comment-me',
        scopes: ['billing:read'],
        ttlSeconds: 3600,
      });
      const comment = 'found in a public gist by the on-call, ticket SEC-1234 (clé publiée)';
      const res = await post('revocation', `/v1/tokens/${issued.tokenId}/revoke`, {
        reason: 'leaked',
        comment,
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ tokenId: issued.tokenId, revoked: true });
      const revoked = await eventually(
        async () =>
          (await timeline(issued.tokenId)).find((e) => e.type === 'tokenledger.token.revoked.v1'),
        20_000,
        'the revocation in the ledger',
      );
      expect(revoked.data).toMatchObject({ reason: 'leaked', comment });
    });

    it('refuses control characters and over-long comments with 400 and revokes nothing', async () => {
      const issued = await issue({
        owner: { type: 'team', id: 'payments' },
        name: 'keep-me',
        scopes: ['billing:read'],
        ttlSeconds: 3600,
      });
      for (const comment of ['line one\nline two', 'bell\u0007', 'x'.repeat(501), '']) {
        const res = await post('revocation', `/v1/tokens/${issued.tokenId}/revoke`, { comment });
        expect(res.status).toBe(400);
        const body = (await res.json()) as { error: { code: string; message: string } };
        expect(body.error.message).toMatch(/comment/);
      }
      const bulk = await post('revocation', '/v1/revocations', {
        selector: { ownerId: 'payments' },
        comment: 'tab\there',
      });
      expect(bulk.status).toBe(400);
      const status = await fetch(url('issuance', `/v1/tokens/${issued.tokenId}`), {
        headers: auth(),
      });
      expect(((await status.json()) as { status: string }).status).toBe('active');
    });
  });
});
