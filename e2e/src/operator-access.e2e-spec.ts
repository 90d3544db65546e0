import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  type TestDatabase,
} from '@tokenledger/testing';
import { generateToken } from '@tokenledger/token-core';
import { Client } from 'pg';
import { DpopClient } from './dpop-client';
import { APP_NAMES, spawnApp, startSystem, type RunningSystem } from './system';

interface Issued {
  token: string;
  tokenId: string;
}

/** Issue 15 point 4: operator access that cannot be abused or lock itself out. */
describe('operator access', () => {
  let db: TestDatabase;
  let system: RunningSystem;
  const url = (app: keyof RunningSystem['apps'], path: string): string =>
    `${system.apps[app].url}${path}`;
  const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

  async function post(
    app: keyof RunningSystem['apps'],
    path: string,
    operator: string,
    body: unknown,
  ): Promise<Response> {
    return fetch(url(app, path), {
      method: 'POST',
      headers: { ...bearer(operator), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  async function issue(operator: string, body: Record<string, unknown>): Promise<Issued> {
    const res = await post('issuance', '/v1/tokens', operator, { ttlSeconds: 3600, ...body });
    expect(res.status).toBe(201);
    return (await res.json()) as Issued;
  }

  /** Waits until every app accepts `token` (revocation learns new tokens through Kafka). */
  async function knownEverywhere(token: string): Promise<void> {
    for (const app of APP_NAMES) {
      await eventually(
        async () =>
          (await fetch(url(app, '/v1/whoami'), { headers: bearer(token) })).status === 200
            ? true
            : undefined,
        20_000,
        `token known to ${app}`,
      );
    }
  }

  async function statusOf(tokenId: string): Promise<string> {
    const res = await fetch(url('issuance', `/v1/tokens/${tokenId}`), {
      headers: bearer(system.rootToken),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { status: string }).status;
  }

  beforeAll(async () => {
    db = await freshDatabase();
    system = await startSystem(
      { DATABASE_URL: db.url, KAFKA_BROKERS: kafkaBrokers(), TOPIC_PREFIX: freshTopicPrefix() },
      { witness: false },
    );
    await knownEverywhere(system.rootToken);
  }, 150_000);

  afterAll(async () => {
    await system?.stop();
    await db?.drop();
  }, 60_000);

  describe('revoking needs every scope of the token revoked', () => {
    it('tokens:revoke alone cannot revoke root or another admin token (403), one by one or by selector, and nothing changes', async () => {
      const root = system.rootToken;
      const rootId = (
        (await (
          await fetch(url('revocation', '/v1/whoami'), { headers: bearer(root) })
        ).json()) as {
          tokenId: string;
        }
      ).tokenId;
      const revoker = await issue(root, {
        owner: { type: 'user', id: 'sec-oncall' },
        name: 'revoker',
        scopes: ['tokens:revoke'],
      });
      const admin = await issue(root, {
        owner: { type: 'user', id: 'ops' },
        name: 'second-admin',
        scopes: ['admin'],
        labels: { tier: 'ops' },
      });
      await knownEverywhere(revoker.token);
      await knownEverywhere(admin.token);

      for (const target of [rootId, admin.tokenId]) {
        const res = await post('revocation', `/v1/tokens/${target}/revoke`, revoker.token, {});
        expect(res.status).toBe(403);
        const body = (await res.json()) as { code: string; detail: string };
        expect(body.code).toBe('insufficient_scope');
        expect(body.detail).toContain('admin');
      }
      for (const dryRun of [true, false]) {
        const res = await post('revocation', '/v1/revocations', revoker.token, {
          selector: { label: 'tier=ops' },
          dryRun,
        });
        expect(res.status).toBe(403);
      }
      // Still usable: every app still accepts both.
      expect((await fetch(url('ledger', '/v1/whoami'), { headers: bearer(root) })).status).toBe(
        200,
      );
      expect(
        (await fetch(url('revocation', '/v1/whoami'), { headers: bearer(admin.token) })).status,
      ).toBe(200);
      expect(await statusOf(admin.tokenId)).toBe('active');

      // With admin it works.
      const byAdmin = await post('revocation', `/v1/tokens/${admin.tokenId}/revoke`, root, {});
      expect(byAdmin.status).toBe(200);
      expect(await byAdmin.json()).toMatchObject({ revoked: true });
    });

    it('a token with a scope the caller lacks is refused; one with only scopes it holds is revoked', async () => {
      const root = system.rootToken;
      const revoker = await issue(root, {
        owner: { type: 'user', id: 'sec' },
        name: 'billing-revoker',
        scopes: ['tokens:revoke', 'billing:read'],
      });
      const billing = await issue(root, {
        owner: { type: 'service', id: 'billing' },
        name: 'billing-api',
        scopes: ['billing:read'],
        labels: { app: 'billing' },
      });
      const payments = await issue(root, {
        owner: { type: 'service', id: 'billing' },
        name: 'payments-api',
        scopes: ['billing:read', 'payments:write'],
        labels: { app: 'billing' },
      });
      for (const t of [revoker, billing, payments]) await knownEverywhere(t.token);

      const refused = await post(
        'revocation',
        `/v1/tokens/${payments.tokenId}/revoke`,
        revoker.token,
        {},
      );
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { detail: string }).detail).toContain('payments:write');
      // The selector matches both: refused as a whole, neither revoked.
      const bulk = await post('revocation', '/v1/revocations', revoker.token, {
        selector: { label: 'app=billing' },
      });
      expect(bulk.status).toBe(403);
      expect(((await bulk.json()) as { detail: string }).detail).toMatch(
        /^1 of the 2 matching tokens/,
      );
      expect(await statusOf(billing.tokenId)).toBe('active');

      const allowed = await post(
        'revocation',
        `/v1/tokens/${billing.tokenId}/revoke`,
        revoker.token,
        {},
      );
      expect(allowed.status).toBe(200);
      expect(await allowed.json()).toMatchObject({ revoked: true });
      await eventually(
        async () => ((await statusOf(billing.tokenId)) === 'revoked' ? true : undefined),
        20_000,
        'issuance to see the revocation',
      );
      expect(await statusOf(payments.tokenId)).toBe('active');
    });
  });

  describe('a DPoP-bound operator token needs a proof at every app', () => {
    let client: DpopClient;
    let stranger: DpopClient;
    let bound: Issued;
    const dpop = async (
      app: keyof RunningSystem['apps'],
      path: string,
      options: { method?: string; key?: DpopClient; body?: unknown; proof?: string } = {},
    ): Promise<Response> => {
      const method = options.method ?? 'GET';
      const target = url(app, path);
      const proof =
        options.proof ?? (await (options.key ?? client).proof(method, target, bound.token));
      return fetch(target, {
        method,
        headers: {
          authorization: `DPoP ${bound.token}`,
          dpop: proof,
          ...(options.body ? { 'content-type': 'application/json' } : {}),
        },
        ...(options.body ? { body: JSON.stringify(options.body) } : {}),
      });
    };

    beforeAll(async () => {
      client = await DpopClient.start();
      stranger = await DpopClient.start();
      bound = await issue(system.rootToken, {
        owner: { type: 'user', id: 'dpop-operator' },
        name: 'dpop-operator',
        scopes: ['tokens:issue', 'tokens:read', 'ledger:read', 'anomalies:read'],
        dpopJkt: client.jkt,
      });
      await eventually(
        async () => ((await dpop('revocation', '/v1/whoami')).status === 200 ? true : undefined),
        20_000,
        'the bound token known to revocation',
      );
    });
    afterAll(() => {
      client?.stop();
      stranger?.stop();
    });

    it.each(APP_NAMES)(
      '%s: as Bearer, or as DPoP without a proof, 401; with a proof 200',
      async (app) => {
        const asBearer = await fetch(url(app, '/v1/whoami'), { headers: bearer(bound.token) });
        expect(asBearer.status).toBe(401);
        expect(asBearer.headers.get('www-authenticate')).toMatch(/^DPoP /);
        // A valid proof does not make a Bearer presentation acceptable.
        const target = url(app, '/v1/whoami');
        const bearerWithProof = await fetch(target, {
          headers: { ...bearer(bound.token), dpop: await client.proof('GET', target, bound.token) },
        });
        expect(bearerWithProof.status).toBe(401);
        const noProof = await fetch(target, { headers: { authorization: `DPoP ${bound.token}` } });
        expect(noProof.status).toBe(401);
        const withProof = await dpop(app, '/v1/whoami');
        expect(withProof.status).toBe(200);
        expect(await withProof.json()).toMatchObject({ tokenId: bound.tokenId });
      },
    );

    it('the proof is checked as at introspection: another key, another URL or method, a replay at another app are refused', async () => {
      expect((await dpop('ledger', '/v1/whoami', { key: stranger })).status).toBe(401);
      const forIssuance = await client.proof('GET', url('issuance', '/v1/whoami'), bound.token);
      expect((await dpop('anomaly', '/v1/whoami', { proof: forIssuance })).status).toBe(401);
      const forPost = await client.proof('POST', url('ledger', '/v1/whoami'), bound.token);
      expect((await dpop('ledger', '/v1/whoami', { proof: forPost })).status).toBe(401);
      // Accepted once, then refused as a replay (the jti store is the one introspection uses).
      expect((await dpop('issuance', '/v1/whoami', { proof: forIssuance })).status).toBe(200);
      expect((await dpop('issuance', '/v1/whoami', { proof: forIssuance })).status).toBe(401);
      // A proof made for another token (no matching ath) is refused.
      const other = await client.proof('GET', url('issuance', '/v1/whoami'), system.rootToken);
      expect((await dpop('issuance', '/v1/whoami', { proof: other })).status).toBe(401);
    });

    it('with proofs, the bound token does real work: issues a token, reads it, queries the ledger and anomalies', async () => {
      const created = await dpop('issuance', '/v1/tokens', {
        method: 'POST',
        body: {
          owner: { type: 'service', id: 'search' },
          name: 'by-dpop-operator',
          scopes: ['tokens:read'],
          ttlSeconds: 600,
        },
      });
      expect(created.status).toBe(201);
      const { tokenId } = (await created.json()) as Issued;
      expect((await dpop('issuance', `/v1/tokens/${tokenId}`)).status).toBe(200);
      expect((await dpop('ledger', '/v1/ledger/logs')).status).toBe(200);
      expect((await dpop('anomaly', '/v1/anomalies')).status).toBe(200);
    });
  });

  /** The dpop-mismatch finding about a token of owner `payments` (for the owner-scoped reads). */
  let paymentsFinding: string | undefined;

  describe('usage reports are no DPoP facts', () => {
    it('a forged usage report cannot get a DPoP-bound token revoked; a real refused proof at introspection does', async () => {
      const root = system.rootToken;
      const key = await DpopClient.start();
      try {
        const reporter = await issue(root, {
          owner: { type: 'service', id: 'some-service' },
          name: 'usage-reporter',
          scopes: ['usage:report'],
        });
        const victim = await issue(root, {
          owner: { type: 'service', id: 'payments' },
          name: 'bound-api',
          scopes: ['payments:write'],
          dpopJkt: key.jkt,
        });
        await knownEverywhere(reporter.token);
        const report = (extra: Record<string, unknown>) =>
          post('anomaly', '/v1/usage', reporter.token, {
            events: [
              {
                tokenId: victim.tokenId,
                service: 'payments',
                operation: 'POST /pay',
                ip: '10.9.9.9',
                scopesRequested: ['payments:write'],
                outcome: 'accepted',
                ...extra,
              },
            ],
          });
        // DPoP fields are refused outright...
        expect((await report({ dpopJkt: 'A'.repeat(43) })).status).toBe(400);
        expect((await report({ outcome: 'rejected', rejection: 'dpop-invalid' })).status).toBe(400);
        // ...and an "accepted" use without a thumbprint is recorded but is no DPoP fact.
        expect((await report({})).status).toBe(202);

        // Control: introspection without a proof is a real dpop-invalid use (same partition,
        // after the forged one), and the rule fires on it alone.
        const answer = await fetch(url('revocation', '/v1/introspect'), {
          method: 'POST',
          headers: { ...bearer(root), 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token: victim.token }).toString(),
        });
        expect(await answer.json()).toEqual({ active: false });
        const findings = await eventually(
          async () => {
            const res = await fetch(url('anomaly', `/v1/anomalies?tokenId=${victim.tokenId}`), {
              headers: bearer(root),
            });
            const { anomalies } = (await res.json()) as {
              anomalies: Array<{ id: string; rule: string; evidence: string[] }>;
            };
            return anomalies.length > 0 ? anomalies : undefined;
          },
          30_000,
          'the dpop-mismatch finding',
        );
        expect(findings.map((f) => f.rule)).toEqual(['dpop-mismatch']);
        paymentsFinding = findings[0]?.id;
        const uses = await eventually(
          async () => {
            const res = await fetch(
              url(
                'ledger',
                `/v1/ledger/events?tokenId=${victim.tokenId}&type=tokenledger.token.used.v1`,
              ),
              { headers: bearer(root) },
            );
            const { entries } = (await res.json()) as {
              entries: Array<{ record: { event: { id: string; source: string } } }>;
            };
            return entries.length >= 2 ? entries.map((e) => e.record.event) : undefined;
          },
          30_000,
          'both uses in the ledger',
        );
        const evidence = uses.filter((u) => findings[0]?.evidence.includes(u.id));
        expect(evidence.map((u) => u.source)).toEqual(['/tokenledger/revocation']);
        expect(uses.map((u) => u.source).sort()).toEqual([
          '/tokenledger/anomaly',
          '/tokenledger/revocation',
        ]);
        // The real finding's default action (revoke) is carried out.
        await eventually(
          async () => ((await statusOf(victim.tokenId)) === 'revoked' ? true : undefined),
          30_000,
          'the bound token revoked on the real finding',
        );
      } finally {
        key.stop();
      }
    });
  });

  describe('owner-scoped operator tokens', () => {
    it('a malformed scope is a 400 naming it, and nothing is issued', async () => {
      for (const scope of [
        'tokens:issue@',
        'ledger:read@team-a',
        'tokens:read@team a',
        'Tokens:Read',
      ]) {
        const res = await post('issuance', '/v1/tokens', system.rootToken, {
          owner: { type: 'team', id: 'team-a' },
          name: 'malformed',
          scopes: [scope],
          ttlSeconds: 600,
        });
        expect(res.status).toBe(400);
        expect(((await res.json()) as { detail: string }).detail).toMatch(
          /scopes\[0\]: not a valid scope/,
        );
      }
      const listed = (await (
        await fetch(url('issuance', '/v1/tokens?ownerId=team-a'), {
          headers: bearer(system.rootToken),
        })
      ).json()) as { tokens: Array<{ name: string }> };
      expect(listed.tokens.map((t) => t.name)).not.toContain('malformed');
    });

    it('tokens:*@team-a sees and manages team-a tokens only; every other owner answers 404 or is left out', async () => {
      const root = system.rootToken;
      const teamA = await issue(root, {
        owner: { type: 'user', id: 'lead-a' },
        name: 'team-a-operator',
        scopes: [
          'tokens:issue@team-a',
          'tokens:read@team-a',
          'tokens:revoke@team-a',
          'billing:read',
        ],
      });
      const mine = await issue(root, {
        owner: { type: 'team', id: 'team-a' },
        name: 'a-api',
        scopes: ['billing:read'],
        labels: { app: 'shared' },
      });
      const theirs = await issue(root, {
        owner: { type: 'team', id: 'team-b' },
        name: 'b-api',
        scopes: ['billing:read'],
        labels: { app: 'shared' },
      });
      for (const t of [teamA, mine, theirs]) await knownEverywhere(t.token);
      const op = teamA.token;
      const get = (path: string) => fetch(url('issuance', path), { headers: bearer(op) });

      // Read
      const listed = (await (await get('/v1/tokens')).json()) as {
        tokens: Array<{ tokenId: string; owner: { id: string } }>;
      };
      expect(listed.tokens.map((t) => t.tokenId)).toContain(mine.tokenId);
      expect(new Set(listed.tokens.map((t) => t.owner.id))).toEqual(new Set(['team-a']));
      expect(
        ((await (await get('/v1/tokens?ownerId=team-b')).json()) as { tokens: unknown[] }).tokens,
      ).toEqual([]);
      expect((await get(`/v1/tokens/${mine.tokenId}`)).status).toBe(200);
      expect((await get(`/v1/tokens/${theirs.tokenId}`)).status).toBe(404);
      // Routes that cannot be narrowed to an owner stay closed (403), e.g. the policy.
      expect((await get('/v1/policies')).status).toBe(403);

      // Issue and rotate
      const forB = await post('issuance', '/v1/tokens', op, {
        owner: { type: 'team', id: 'team-b' },
        name: 'sneaky',
        scopes: ['billing:read'],
        ttlSeconds: 600,
      });
      expect(forB.status).toBe(404);
      const forA = await post('issuance', '/v1/tokens', op, {
        owner: { type: 'team', id: 'team-a' },
        name: 'a-worker',
        scopes: ['billing:read'],
        ttlSeconds: 600,
      });
      expect(forA.status).toBe(201);
      expect((await post('issuance', `/v1/tokens/${theirs.tokenId}/rotate`, op, {})).status).toBe(
        404,
      );

      // Revoke: by id, by selector, RFC 7009
      expect((await post('revocation', `/v1/tokens/${theirs.tokenId}/revoke`, op, {})).status).toBe(
        404,
      );
      const dry = await post('revocation', '/v1/revocations', op, {
        selector: { label: 'app=shared' },
        dryRun: true,
      });
      expect(dry.status).toBe(200);
      expect(await dry.json()).toMatchObject({ matched: 1, tokenIds: [mine.tokenId] });
      const rfc7009 = await fetch(url('revocation', '/v1/revoke'), {
        method: 'POST',
        headers: { ...bearer(op), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: theirs.token }).toString(),
      });
      expect(rfc7009.status).toBe(200);
      const bulk = await post('revocation', '/v1/revocations', op, {
        selector: { label: 'app=shared' },
      });
      expect(await bulk.json()).toMatchObject({ matched: 1, revoked: 1, tokenIds: [mine.tokenId] });
      await eventually(
        async () => ((await statusOf(mine.tokenId)) === 'revoked' ? true : undefined),
        20_000,
        'the team-a token revoked',
      );
      expect(await statusOf(theirs.tokenId)).toBe('active');
      expect(
        (await fetch(url('ledger', '/v1/whoami'), { headers: bearer(theirs.token) })).status,
      ).toBe(200);
    });
  });

  describe('owner-scoped anomaly reads', () => {
    it('anomalies:read@payments sees findings about payments tokens; anomalies:read@team-a gets 404 and an empty list', async () => {
      const root = system.rootToken;
      expect(paymentsFinding).toBeDefined();
      const payments = await issue(root, {
        owner: { type: 'user', id: 'payments-lead' },
        name: 'payments-anomalies',
        scopes: ['anomalies:read@payments'],
      });
      const teamA = await issue(root, {
        owner: { type: 'user', id: 'lead-a' },
        name: 'team-a-anomalies',
        scopes: ['anomalies:read@team-a'],
      });
      await knownEverywhere(payments.token);
      await knownEverywhere(teamA.token);
      const get = (token: string, path: string) =>
        fetch(url('anomaly', path), { headers: bearer(token) });
      const ids = async (token: string) =>
        (
          (await (await get(token, '/v1/anomalies')).json()) as { anomalies: Array<{ id: string }> }
        ).anomalies.map((a) => a.id);

      expect(await ids(payments.token)).toContain(paymentsFinding);
      expect((await get(payments.token, `/v1/anomalies/${paymentsFinding}`)).status).toBe(200);
      expect(await ids(teamA.token)).not.toContain(paymentsFinding);
      expect((await get(teamA.token, `/v1/anomalies/${paymentsFinding}`)).status).toBe(404);
      // The root sees it, and routes that cannot be narrowed stay closed to owner scopes.
      expect(await ids(root)).toContain(paymentsFinding);
      expect((await get(payments.token, '/v1/reports/sprawl')).status).toBe(403);
      expect((await get(payments.token, '/v1/anomaly-rules')).status).toBe(403);
    });
  });

  // Last: it revokes every admin token of the system.
  describe('break-glass', () => {
    async function sql<T>(text: string, params: unknown[] = []): Promise<T[]> {
      const client = new Client({ connectionString: db.url });
      await client.connect();
      try {
        return (await client.query(text, params)).rows as T[];
      } finally {
        await client.end();
      }
    }

    async function restartIssuance(env: Record<string, string>): Promise<void> {
      const old = system.apps.issuance.process;
      await new Promise<void>((resolve) => {
        if (old.exitCode !== null || old.signalCode !== null) return resolve();
        old.once('exit', () => resolve());
        old.kill('SIGTERM');
      });
      const restarted = spawnApp('issuance', {
        ...system.env,
        ...env,
        PORT: new URL(system.apps.issuance.url).port,
      });
      system.apps.issuance = { ...system.apps.issuance, ...restarted };
      await eventually(
        async () =>
          (await fetch(url('issuance', '/health/ready')).catch(() => undefined))?.status === 200
            ? true
            : undefined,
        60_000,
        'issuance ready again',
      );
    }

    it('after an admin revokes every admin token, a restart with a root token configured registers a new root, recorded in the ledger', async () => {
      const root = system.rootToken;
      const whoami = (await (
        await fetch(url('revocation', '/v1/whoami'), { headers: bearer(root) })
      ).json()) as { tokenId: string };
      // A restart while an admin is active changes nothing.
      await restartIssuance({});
      expect(
        await sql<{ n: number }>('SELECT count(*)::int AS n FROM issuance.tokens WHERE is_root'),
      ).toEqual([{ n: 1 }]);

      const killAll = await post('revocation', '/v1/revocations', root, {
        selector: { scope: 'admin' },
      });
      expect(killAll.status).toBe(200);
      expect(((await killAll.json()) as { tokenIds: string[] }).tokenIds).toContain(whoami.tokenId);
      // Locked out at every app, and issuance's own table knows it.
      for (const app of APP_NAMES) {
        await eventually(
          async () =>
            (await fetch(url(app, '/v1/whoami'), { headers: bearer(root) })).status === 401
              ? true
              : undefined,
          5_000,
          `root refused by ${app}`,
        );
      }
      await eventually(
        async () =>
          (
            await sql<{ n: number }>(
              `SELECT count(*)::int AS n FROM issuance.tokens WHERE status = 'active' AND 'admin' = ANY(scopes)`,
            )
          )[0]?.n === 0
            ? true
            : undefined,
        20_000,
        'issuance to see every admin token revoked',
      );

      const newRoot = generateToken();
      await restartIssuance({ TOKENLEDGER_ROOT_TOKEN: newRoot });
      await knownEverywhere(newRoot);
      const me = (await (
        await fetch(url('ledger', '/v1/whoami'), { headers: bearer(newRoot) })
      ).json()) as { tokenId: string; scopes: string[] };
      expect(me.scopes).toEqual(['admin']);
      expect(me.tokenId).not.toBe(whoami.tokenId);
      // The revoked root stays revoked.
      expect((await fetch(url('issuance', '/v1/whoami'), { headers: bearer(root) })).status).toBe(
        401,
      );
      // Access is really back: the new root issues.
      expect(
        (
          await post('issuance', '/v1/tokens', newRoot, {
            owner: { type: 'user', id: 'ops' },
            name: 'after-break-glass',
            scopes: ['admin'],
            ttlSeconds: 600,
          })
        ).status,
      ).toBe(201);

      const recorded = await eventually(
        async () => {
          const res = await fetch(
            url('ledger', '/v1/ledger/events?type=tokenledger.ops.break-glass.v1'),
            { headers: bearer(newRoot) },
          );
          expect(res.status).toBe(200);
          const { entries } = (await res.json()) as {
            entries: Array<{ logId: string; record: { kind: string; event: { data: unknown } } }>;
          };
          return entries.length > 0 ? entries : undefined;
        },
        30_000,
        'the break-glass event in the ledger',
      );
      expect(recorded).toHaveLength(1);
      expect(recorded[0]?.logId).toMatch(/^.*ops\.audit-\d+$/);
      expect(recorded[0]?.record.kind).toBe('event');
      expect(recorded[0]?.record.event.data).toMatchObject({
        tokenId: me.tokenId,
        rootTokenFrom: 'env',
        previousRootIds: [whoami.tokenId],
        reason: 'no-active-admin',
      });
      // And a restart now (an admin is active again) registers nothing more.
      await restartIssuance({ TOKENLEDGER_ROOT_TOKEN: generateToken() });
      expect(
        await sql<{ n: number }>('SELECT count(*)::int AS n FROM issuance.tokens WHERE is_root'),
      ).toEqual([{ n: 2 }]);
    }, 180_000);
  });
});
