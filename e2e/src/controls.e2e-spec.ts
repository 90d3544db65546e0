import type { EventEnvelope } from '@tokenledger/contracts';
import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  type TestDatabase,
} from '@tokenledger/testing';
import { generateKeyPairSync, sign } from 'node:crypto';
import { declaredBodyPost, startSystem, type RunningSystem } from './system';

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

  // GitHub's secret-scanning key, played by a key pair made here; the apps trust its public half.
  const github = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const githubKeyId = 'f9525bf080f75b3506ca1ead061add62b8633a346606dc5fe544e29231c6ee0d';

  beforeAll(async () => {
    db = await freshDatabase();
    system = await startSystem(
      {
        DATABASE_URL: db.url,
        KAFKA_BROKERS: kafkaBrokers(),
        TOPIC_PREFIX: prefix,
        GITHUB_SECRET_SCANNING_KEYS: JSON.stringify({
          public_keys: [
            {
              key_identifier: githubKeyId,
              key: github.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
              is_current: true,
            },
          ],
        }),
      },
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
      expect(((await tooMany.json()) as { detail: string }).detail).toMatch(/events.*1000/);
      // The route's limit is its own: other routes keep the global one.
      // (Declared in Content-Length and not sent: a client still writing a refused body can
      // get EPIPE instead of the 413.)
      const big = await declaredBodyPost(url('issuance', '/v1/tokens'), 100_000, auth());
      expect(big.status).toBe(413);
      // And the usage route's limit is a limit: 2 MB is refused before anything is parsed.
      const huge = await declaredBodyPost(url('anomaly', '/v1/usage'), 2 * 1024 * 1024, auth());
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
        const body = (await res.json()) as { code: string; detail: string };
        expect(body.detail).toMatch(/comment/);
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
  describe('GET /v1/tokens: search, sort, cursor', () => {
    const suite = `search-${Date.now().toString(36)}`;
    const ids: Record<string, string> = {};
    const byId = new Map<string, string>();
    let creatorActor = '';

    async function search(query: string): Promise<{ names: string[]; cursor: string | null }> {
      const res = await fetch(url('issuance', `/v1/tokens?label=suite=${suite}&${query}`), {
        headers: auth(),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        tokens: Array<{ tokenId: string; token?: string; tokenHash?: string }>;
        cursor: string | null;
      };
      for (const t of body.tokens) expect(Object.keys(t)).not.toContain('tokenHash');
      return {
        names: body.tokens.map((t) => byId.get(t.tokenId) ?? t.tokenId),
        cursor: body.cursor,
      };
    }

    beforeAll(async () => {
      const creator = await issue({
        owner: { type: 'user', id: 'creator' },
        name: 'creator',
        scopes: ['tokens:issue', 'ledger:read'],
        ttlSeconds: 3600,
      });
      creatorActor = `operator:${creator.tokenId}`;
      await eventually(
        async () =>
          (await fetch(url('issuance', '/v1/whoami'), { headers: auth(creator.token) })).status ===
          200
            ? true
            : undefined,
        20_000,
        'the creator token usable',
      );
      const specs: Array<[string, Record<string, unknown>, string | undefined]> = [
        [
          'A',
          {
            owner: { type: 'service', id: `billing-${suite}` },
            name: 'billing-api',
            scopes: ['billing:read'],
            ttlSeconds: 86_400,
            labels: { suite, team: 'payments' },
          },
          undefined,
        ],
        [
          'B',
          {
            owner: { type: 'user', id: `alice-${suite}` },
            name: 'Alice laptop',
            scopes: ['ledger:read'],
            ttlSeconds: 10 * 86_400,
            labels: { suite },
          },
          creator.token,
        ],
        [
          'C',
          {
            owner: { type: 'service', id: `billing-${suite}` },
            name: 'billing-worker',
            scopes: ['billing:read', 'billing:write'],
            ttlSeconds: 30 * 86_400,
            labels: { suite, team: 'payments' },
          },
          undefined,
        ],
      ];
      for (const [name, body, operator] of specs) {
        const res = await post('issuance', '/v1/tokens', body, auth(operator));
        expect(res.status).toBe(201);
        const issued = (await res.json()) as Issued;
        ids[name] = issued.tokenId;
        byId.set(issued.tokenId, name);
        ids[`${name}.prefix`] = issued.prefix;
      }
      // A used two hours ago, C ten hours ago (accepted), B never (a rejected use is no use).
      const use = (tokenId: string, ago: number, outcome: string): Record<string, unknown> => ({
        tokenId,
        service: 'gateway',
        operation: 'GET /v1/things',
        ip: '198.51.100.7',
        scopesRequested: [],
        outcome,
        ...(outcome === 'rejected' ? { rejection: 'insufficient-scope' } : {}),
        at: new Date(Date.now() - ago).toISOString(),
      });
      const usage = await post('anomaly', '/v1/usage', {
        events: [
          use(ids.A ?? '', 2 * 3_600_000, 'accepted'),
          use(ids.C ?? '', 10 * 3_600_000, 'accepted'),
          use(ids.B ?? '', 60_000, 'rejected'),
        ],
      });
      expect(usage.status).toBe(202);
      await eventually(
        async () => ((await search('neverUsed=false')).names.length === 2 ? true : undefined),
        20_000,
        'the uses seen by issuance',
      );
      const revoked = await post('revocation', `/v1/tokens/${ids.C}/revoke`, {});
      expect(revoked.status).toBe(200);
      await eventually(
        async () => ((await search('status=revoked')).names.length === 1 ? true : undefined),
        20_000,
        'the revocation seen by issuance',
      );
    }, 60_000);

    it('every filter returns exactly the matching tokens', async () => {
      const hoursAgo = (h: number): string => new Date(Date.now() - h * 3_600_000).toISOString();
      const inDays = (d: number): string => new Date(Date.now() + d * 86_400_000).toISOString();
      const cases: Array<[string, string[]]> = [
        ['', ['A', 'B', 'C']],
        [`ownerId=billing-${suite}`, ['A', 'C']],
        ['ownerType=user', ['B']],
        ['status=active', ['A', 'B']],
        ['status=revoked', ['C']],
        ['scope=billing:read', ['A', 'C']],
        ['scope=billing:write', ['C']],
        ['name=BILLING', ['A', 'C']],
        ['name=laptop', ['B']],
        [`prefix=${ids['A.prefix']}`, ['A']],
        [`expiresBefore=${encodeURIComponent(inDays(2))}`, ['A']],
        [`expiresBefore=${encodeURIComponent(inDays(20))}`, ['A', 'B']],
        [`lastUsedBefore=${encodeURIComponent(hoursAgo(5))}`, ['C']],
        [`lastUsedAfter=${encodeURIComponent(hoursAgo(5))}`, ['A']],
        [`createdBy=${creatorActor}`, ['B']],
        ['neverUsed=true', ['B']],
        ['neverUsed=false', ['A', 'C']],
        ['status=active&neverUsed=false', ['A']],
      ];
      for (const [query, expected] of cases)
        expect([query, (await search(query)).names]).toEqual([query, expected]);
      // Labels: the suite label is one filter; team=payments alone (without suite) finds A and C.
      const team = await fetch(
        url('issuance', `/v1/tokens?label=team=payments&ownerId=billing-${suite}`),
        {
          headers: auth(),
        },
      );
      const teamBody = (await team.json()) as { tokens: Array<{ tokenId: string }> };
      expect(teamBody.tokens.map((t) => byId.get(t.tokenId))).toEqual(['A', 'C']);
    });

    it('sorts, and pages with a cursor bound to its sort', async () => {
      expect((await search('sort=-expiresAt')).names).toEqual(['C', 'B', 'A']);
      expect((await search('sort=lastUsedAt')).names).toEqual(['B', 'C', 'A']);
      expect((await search('sort=-issuedAt')).names).toEqual(['C', 'B', 'A']);
      const first = await search('sort=expiresAt&limit=2');
      expect(first.names).toEqual(['A', 'B']);
      expect(first.cursor).toEqual(expect.any(String));
      const second = await search(`sort=expiresAt&limit=2&cursor=${first.cursor}`);
      expect(second).toEqual({ names: ['C'], cursor: null });
      const wrongSort = await fetch(
        url('issuance', `/v1/tokens?sort=name&cursor=${first.cursor}`),
        { headers: auth() },
      );
      expect(wrongSort.status).toBe(400);
      expect(((await wrongSort.json()) as { code: string }).code).toBe('bad_cursor');
    });

    it('bad filter values are a 400 naming the parameter', async () => {
      for (const [query, named] of <Array<[string, string]>>[
        ['status=gone', 'status'],
        ['ownerType=robot', 'ownerType'],
        ['expiresBefore=tomorrow', 'expiresBefore'],
        ['lastUsedAfter=2026-13-01T00:00:00Z', 'lastUsedAfter'],
        ['lastUsedBefore=1', 'lastUsedBefore'],
        ['neverUsed=yes', 'neverUsed'],
        ['sort=owner', 'sort'],
        ['scope=bad%20scope', 'scope'],
        ['prefix=tlk-live', 'prefix'],
        ['createdBy=alice', 'createdBy'],
        ['limit=0', 'limit'],
        ['cursor=not-a-cursor', 'cursor'],
        ['color=red', 'color'],
      ]) {
        const res = await fetch(url('issuance', `/v1/tokens?${query}`), { headers: auth() });
        const body = (await res.json()) as { detail: string };
        expect([query, res.status]).toEqual([query, 400]);
        expect(body.detail).toMatch(named === 'cursor' ? /cursor/ : new RegExp(named));
      }
    });

    it('needs tokens:read', async () => {
      const reader = await issue({
        owner: { type: 'user', id: 'no-read' },
        name: 'no-read',
        scopes: ['ledger:read'],
        ttlSeconds: 600,
      });
      const res = await eventually(
        async () => {
          const r = await fetch(url('issuance', '/v1/tokens'), { headers: auth(reader.token) });
          return r.status === 401 ? undefined : r;
        },
        20_000,
        'the reader token known',
      );
      expect(res.status).toBe(403);
      expect((await fetch(url('issuance', '/v1/tokens'))).status).toBe(401);
    });

    it('the ledger timeline of a token pages with a cursor', async () => {
      const tokenId = ids.C ?? '';
      const all = await eventually(
        async () => {
          const events = await timeline(tokenId);
          return events.length >= 3 ? events : undefined;
        },
        20_000,
        'issued, used and revoked in the ledger',
      );
      const paged: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await fetch(
          url(
            'ledger',
            `/v1/ledger/tokens/${tokenId}/timeline?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
          ),
          { headers: auth() },
        );
        expect(res.status).toBe(200);
        const body = (await res.json()) as {
          entries: Array<{ record: { event?: EventEnvelope } }>;
          cursor: string | null;
        };
        expect(body.entries.length).toBeLessThanOrEqual(1);
        paged.push(...body.entries.flatMap((e) => (e.record.event ? [e.record.event.id] : [])));
        cursor = body.cursor;
      } while (cursor && paged.length < 50);
      expect(paged).toEqual(all.map((e) => e.id));
      const bad = await fetch(url('ledger', `/v1/ledger/tokens/${tokenId}/timeline?limit=0`), {
        headers: auth(),
      });
      expect(bad.status).toBe(400);
    });
  });
  describe('POST /v1/leaks: GitHub secret-scanning partner deliveries', () => {
    const delivery = (token: string): string =>
      JSON.stringify([
        {
          token,
          type: 'tokenledger_live_token',
          url: 'https://github.com/octocat/Hello-World/blob/1234567/config.env',
          source: 'content',
        },
      ]);
    const signed = (body: string, key = github.privateKey): string =>
      sign('sha256', Buffer.from(body), { key, dsaEncoding: 'der' }).toString('base64');
    const deliver = (body: string, headers: Record<string, string>): Promise<Response> =>
      fetch(url('revocation', '/v1/leaks'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    const status = async (tokenId: string): Promise<string> =>
      (
        (await (
          await fetch(url('issuance', `/v1/tokens/${tokenId}`), { headers: auth() })
        ).json()) as { status: string }
      ).status;
    const introspect = async (token: string): Promise<boolean> => {
      const res = await fetch(url('revocation', '/v1/introspect'), {
        method: 'POST',
        headers: {
          authorization: `Bearer ${system.rootToken}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ token }).toString(),
      });
      return ((await res.json()) as { active: boolean }).active;
    };

    it('a bad signature, an unknown key or a missing header gets 401 and changes nothing', async () => {
      const issued = await issue({
        owner: { type: 'service', id: 'leaky' },
        name: 'leaky-but-safe',
        scopes: ['billing:read'],
        ttlSeconds: 3600,
      });
      await eventually(
        async () => ((await introspect(issued.token)) ? true : undefined),
        20_000,
        'active',
      );
      const body = delivery(issued.token);
      const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const attempts: Array<Record<string, string>> = [
        // signed by someone else's key under GitHub's key id
        {
          'Github-Public-Key-Identifier': githubKeyId,
          'Github-Public-Key-Signature': signed(body, other.privateKey),
        },
        // GitHub's signature over another body
        {
          'Github-Public-Key-Identifier': githubKeyId,
          'Github-Public-Key-Signature': signed(`${body} `),
        },
        {
          'Github-Public-Key-Identifier': 'no-such-key',
          'Github-Public-Key-Signature': signed(body),
        },
        { 'Github-Public-Key-Signature': signed(body) },
        { 'Github-Public-Key-Identifier': githubKeyId },
        // a signature header does not add to an operator token: it replaces it, and must verify
        {
          authorization: `Bearer ${system.rootToken}`,
          'Github-Public-Key-Identifier': githubKeyId,
          'Github-Public-Key-Signature': signed(body, other.privateKey),
        },
      ];
      for (const headers of attempts) {
        const res = await deliver(body, headers);
        expect(res.status).toBe(401);
        const error = (await res.json()) as { code: string; detail: string };
        expect(error.code).toBe('unauthorized');
        expect(error.detail).not.toContain(issued.token);
      }
      // Nothing was revoked and nothing reported: the token is active, its timeline holds no leak.
      expect(await introspect(issued.token)).toBe(true);
      expect(await status(issued.tokenId)).toBe('active');
      const events = await timeline(issued.tokenId);
      expect(events.map((e) => e.type)).not.toContain('tokenledger.token.leak-reported.v1');
    });

    it('a good signature revokes the token (reason leaked), reported by github-secret-scanning', async () => {
      const issued = await issue({
        owner: { type: 'service', id: 'leaky' },
        name: 'leaked-on-github',
        scopes: ['billing:read'],
        ttlSeconds: 3600,
      });
      const body = delivery(issued.token);
      const res = await deliver(body, {
        'Github-Public-Key-Identifier': githubKeyId,
        'Github-Public-Key-Signature': signed(body),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        results: [{ prefix: issued.prefix, tokenId: issued.tokenId, outcome: 'revoked' }],
      });
      expect(await introspect(issued.token)).toBe(false);
      const events = await eventually(
        async () => {
          const e = await timeline(issued.tokenId);
          return e.some((x) => x.type === 'tokenledger.token.leak-reported.v1') &&
            e.some((x) => x.type === 'tokenledger.token.revoked.v1')
            ? e
            : undefined;
        },
        20_000,
        'the leak report and the revocation in the ledger',
      );
      expect(events.find((e) => e.type === 'tokenledger.token.revoked.v1')).toMatchObject({
        actor: 'service:github-secret-scanning',
        data: { reason: 'leaked' },
      });
      expect(events.find((e) => e.type === 'tokenledger.token.leak-reported.v1')).toMatchObject({
        actor: 'service:github-secret-scanning',
        data: { source: 'github-content', type: 'tokenledger_live_token', outcome: 'revoked' },
      });
      for (const e of events) expect(JSON.stringify(e)).not.toContain(issued.token);
    });

    it('the operator-token path stays: leaks:report needed, then the token is revoked', async () => {
      const issued = await issue({
        owner: { type: 'service', id: 'leaky' },
        name: 'reported-by-hand',
        scopes: ['billing:read'],
        ttlSeconds: 3600,
      });
      const body = JSON.stringify([
        {
          token: issued.token,
          type: 'manual',
          url: 'https://example.com/paste',
          source: 'on-call',
        },
      ]);
      expect((await deliver(body, {})).status).toBe(401);
      const reader = await issue({
        owner: { type: 'user', id: 'reader' },
        name: 'reader',
        scopes: ['ledger:read'],
        ttlSeconds: 600,
      });
      const forbidden = await eventually(
        async () => {
          const r = await deliver(body, { authorization: `Bearer ${reader.token}` });
          return r.status === 401 ? undefined : r;
        },
        20_000,
        'the reader token known',
      );
      expect(forbidden.status).toBe(403);
      expect(await introspect(issued.token)).toBe(true);
      const res = await deliver(body, { authorization: `Bearer ${system.rootToken}` });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        results: [{ prefix: issued.prefix, tokenId: issued.tokenId, outcome: 'revoked' }],
      });
      expect(await introspect(issued.token)).toBe(false);
    });
  });
});
