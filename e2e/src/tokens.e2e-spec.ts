import { TOPICS, decodeEvent, topicName, type EventEnvelope } from '@tokenledger/contracts';
import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  readTopic,
  type TestDatabase,
} from '@tokenledger/testing';
import { execFileSync } from 'node:child_process';
import { Client } from 'pg';
import { DpopClient } from './dpop-client';
import { freePort, spawnApp, startSystem, type RunningSystem } from './system';

interface Issued {
  token: string;
  tokenId: string;
  prefix: string;
  scopes: string[];
  expiresAt: string;
}

describe('tokens: issuance, introspection, revocation through the real apps', () => {
  let db: TestDatabase;
  let system: RunningSystem;
  const prefix = freshTopicPrefix();
  const url = (app: keyof RunningSystem['apps'], path: string): string =>
    `${system.apps[app].url}${path}`;
  const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

  async function issue(operator: string, body: Record<string, unknown>): Promise<Response> {
    return fetch(url('issuance', '/v1/tokens'), {
      method: 'POST',
      headers: { ...bearer(operator), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  /** Every plaintext token seen in this run, to search for it where it must not be. */
  const plaintexts: string[] = [];

  async function issueOk(operator: string, body: Record<string, unknown>): Promise<Issued> {
    const res = await issue(operator, body);
    expect(res.status).toBe(201);
    const issued = (await res.json()) as Issued;
    plaintexts.push(issued.token);
    return issued;
  }

  async function introspect(operator: string, token: string): Promise<Record<string, unknown>> {
    const res = await fetch(url('revocation', '/v1/introspect'), {
      method: 'POST',
      headers: { ...bearer(operator), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  }

  /**
   * Introspection of a just-issued token, polled until it is active. How soon (the 1 s goal) is
   * measured by bench/e2e.mjs (issue-to-visible lag), not asserted here.
   */
  async function activeEventually(
    operator: string,
    token: string,
  ): Promise<Record<string, unknown>> {
    return eventually(
      async () => {
        const answer = await introspect(operator, token);
        return answer.active === true ? answer : undefined;
      },
      20_000,
      'the new token to be active',
    );
  }

  async function lifecycleEvents(
    until: (events: EventEnvelope[]) => boolean,
  ): Promise<EventEnvelope[]> {
    const records = await readTopic(topicName(TOPICS.lifecycle, prefix), (r) =>
      until(r.flatMap(decoded)),
    );
    return records.flatMap(decoded);
  }

  function decoded(record: { value: Buffer | null }): EventEnvelope[] {
    const result = decodeEvent(record.value ?? Buffer.alloc(0));
    return result.ok ? [result.event] : [];
  }

  beforeAll(async () => {
    db = await freshDatabase();
    system = await startSystem({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: kafkaBrokers(),
      TOPIC_PREFIX: prefix,
    });
    plaintexts.push(system.rootToken);
    // The root token is registered by issuance; revocation learns it through Kafka.
    await eventually(
      async () =>
        (await fetch(url('revocation', '/v1/whoami'), { headers: bearer(system.rootToken) }))
          .status === 200
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

  it('issue -> introspect active -> revoke -> introspect inactive at once; events carry the operator', async () => {
    const root = system.rootToken;
    const rootId = (
      (await (await fetch(url('issuance', '/v1/whoami'), { headers: bearer(root) })).json()) as {
        tokenId: string;
      }
    ).tokenId;
    const issued = await issueOk(root, {
      owner: { type: 'service', id: 'billing' },
      name: 'billing-api',
      scopes: ['billing:read'],
      ttlSeconds: 3600,
      labels: { team: 'payments' },
    });
    expect(issued.token).toMatch(/^tlk_live_[0-9A-Za-z]{38}$/);
    expect(issued.prefix).toBe(issued.token.slice(0, 13));

    const active = await activeEventually(root, issued.token);
    expect(active).toMatchObject({
      active: true,
      scope: 'billing:read',
      client_id: issued.tokenId,
      sub: 'service:billing',
      token_type: 'Bearer',
    });
    expect(active.exp).toBe(Math.floor(Date.parse(issued.expiresAt) / 1000));

    const revoke = await fetch(url('revocation', `/v1/tokens/${issued.tokenId}/revoke`), {
      method: 'POST',
      headers: { ...bearer(root), 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'requested' }),
    });
    expect(revoke.status).toBe(200);
    expect(await revoke.json()).toEqual({
      tokenId: issued.tokenId,
      revoked: true,
      alreadyInactive: false,
    });
    expect(await introspect(root, issued.token)).toEqual({ active: false });

    const again = await fetch(url('revocation', `/v1/tokens/${issued.tokenId}/revoke`), {
      method: 'POST',
      headers: { ...bearer(root), 'content-type': 'application/json' },
      body: '{}',
    });
    expect(await again.json()).toEqual({
      tokenId: issued.tokenId,
      revoked: false,
      alreadyInactive: true,
    });

    const events = await lifecycleEvents((all) =>
      all.some((e) => e.type === 'tokenledger.token.revoked.v1' && e.subject === issued.tokenId),
    );
    const mine = events.filter((e) => e.subject === issued.tokenId);
    expect(mine.map((e) => e.type)).toEqual([
      'tokenledger.token.issued.v1',
      'tokenledger.token.revoked.v1',
    ]);
    for (const e of mine) expect(e.actor).toBe(`operator:${rootId}`);

    // Issuance learns the revocation from Kafka.
    await eventually(
      async () => {
        const view = (await (
          await fetch(url('issuance', `/v1/tokens/${issued.tokenId}`), { headers: bearer(root) })
        ).json()) as { status: string };
        return view.status === 'revoked' ? true : undefined;
      },
      20_000,
      'issuance to show the token revoked',
    );

    const usage = await readTopic(
      topicName(TOPICS.usage, prefix),
      (r) => r.flatMap(decoded).filter((e) => e.subject === issued.tokenId).length >= 2,
    );
    const outcomes = usage
      .flatMap(decoded)
      .filter((e) => e.subject === issued.tokenId)
      .map((e) => e.data as { outcome: string; rejection?: string });
    expect(outcomes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ outcome: 'accepted' }),
        { ...outcomes.find((o) => o.outcome === 'rejected'), rejection: 'revoked' },
      ]),
    );
  });

  it('denies issuance against policy with 422 naming the rule, and records who tried', async () => {
    const root = system.rootToken;
    const limited = await issueOk(root, {
      owner: { type: 'user', id: 'alice' },
      name: 'alice-issuer',
      scopes: ['tokens:issue', 'ledger:read'],
      ttlSeconds: 600,
    });
    await activeEventually(root, limited.token);
    const denied = await issue(limited.token, {
      owner: { type: 'user', id: 'bob' },
      name: 'escalate',
      scopes: ['ledger:export'],
      ttlSeconds: 60,
    });
    expect(denied.status).toBe(422);
    expect(denied.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await denied.json()).toMatchObject({
      type: 'urn:tokenledger:problem:policy_violation',
      status: 422,
      code: 'policy_violation',
      detail: expect.stringContaining('scope-escalation'),
    });
    const tooLong = await issue(root, {
      owner: { type: 'user', id: 'bob' },
      name: 'long',
      scopes: ['ledger:read'],
      ttlSeconds: 91 * 86400,
    });
    expect(tooLong.status).toBe(422);

    const events = await lifecycleEvents(
      (all) => all.filter((e) => e.type === 'tokenledger.token.issuance-denied.v1').length >= 2,
    );
    const denial = events.find(
      (e) =>
        e.type === 'tokenledger.token.issuance-denied.v1' &&
        e.actor === `operator:${limited.tokenId}`,
    );
    expect(denial?.data).toMatchObject({
      rule: 'scope-escalation',
      requested: { owner: { type: 'user', id: 'bob' }, scopes: ['ledger:export'] },
    });
  });

  it('rotates with a grace period: both work, then the old one is revoked with reason rotated', async () => {
    const root = system.rootToken;
    const old = await issueOk(root, {
      owner: { type: 'service', id: 'search' },
      name: 'search',
      scopes: ['search:read'],
      ttlSeconds: 3600,
    });
    await activeEventually(root, old.token);
    const res = await fetch(url('issuance', `/v1/tokens/${old.tokenId}/rotate`), {
      method: 'POST',
      headers: { ...bearer(root), 'content-type': 'application/json' },
      body: JSON.stringify({ graceSeconds: 2 }),
    });
    expect(res.status).toBe(201);
    const fresh = (await res.json()) as Issued & { rotatedFrom: string; graceEndsAt: string };
    plaintexts.push(fresh.token);
    expect(fresh.rotatedFrom).toBe(old.tokenId);
    await activeEventually(root, fresh.token);
    expect((await introspect(root, old.token)).active).toBe(true);
    await eventually(
      async () => ((await introspect(root, old.token)).active === false ? true : undefined),
      20_000,
      'the old token to stop after its grace',
    );
    expect((await introspect(root, fresh.token)).active).toBe(true);
    const events = await lifecycleEvents((all) =>
      all.some((e) => e.type === 'tokenledger.token.revoked.v1' && e.subject === old.tokenId),
    );
    const revoked = events.find(
      (e) => e.type === 'tokenledger.token.revoked.v1' && e.subject === old.tokenId,
    );
    expect(revoked).toMatchObject({ actor: 'system', data: { reason: 'rotated' } });
    expect(
      events.some((e) => e.type === 'tokenledger.token.rotated.v1' && e.subject === old.tokenId),
    ).toBe(true);
  });

  it('bulk revocation by label: dry run counts, the real run revokes each with its own event', async () => {
    const root = system.rootToken;
    const batch = await Promise.all(
      [1, 2, 3].map((i) =>
        issueOk(root, {
          owner: { type: 'team', id: 'red' },
          name: `red-${i}`,
          scopes: ['red:x'],
          ttlSeconds: 600,
          labels: { incident: 'inc-42' },
        }),
      ),
    );
    const other = await issueOk(root, {
      owner: { type: 'team', id: 'red' },
      name: 'red-other',
      scopes: ['red:x'],
      ttlSeconds: 600,
      labels: { incident: 'inc-43' },
    });
    for (const t of [...batch, other]) await activeEventually(root, t.token);
    const post = (body: unknown): Promise<Response> =>
      fetch(url('revocation', '/v1/revocations'), {
        method: 'POST',
        headers: { ...bearer(root), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    const dry = await post({ selector: { label: 'incident=inc-42' }, dryRun: true });
    expect(await dry.json()).toMatchObject({ matched: 3, revoked: 0 });
    for (const t of batch) expect((await introspect(root, t.token)).active).toBe(true);

    const real = await post({ selector: { label: 'incident=inc-42' } });
    expect(await real.json()).toMatchObject({ matched: 3, revoked: 3 });
    for (const t of batch) expect(await introspect(root, t.token)).toEqual({ active: false });
    expect((await introspect(root, other.token)).active).toBe(true);

    const empty = await post({ selector: {} });
    expect(empty.status).toBe(400);
  });

  it('leak reports revoke live tokens, check the checksum offline and answer per item', async () => {
    const root = system.rootToken;
    const leaked = await issueOk(root, {
      owner: { type: 'user', id: 'carol' },
      name: 'laptop',
      scopes: ['repo:read'],
      ttlSeconds: 600,
    });
    await activeEventually(root, leaked.token);
    const broken = `${leaked.token.slice(0, -1)}${leaked.token.endsWith('A') ? 'B' : 'A'}`;
    const res = await fetch(url('revocation', '/v1/leaks'), {
      method: 'POST',
      headers: { ...bearer(root), 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          token: leaked.token,
          type: 'tokenledger_live',
          url: 'https://github.com/acme/app/blob/main/.env',
          source: 'content',
        },
        {
          token: broken,
          type: 'tokenledger_live',
          url: 'https://github.com/acme/app/blob/main/x',
          source: 'content',
        },
      ]),
    });
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as { results: Array<Record<string, unknown>> };
    expect(results).toEqual([
      { prefix: leaked.prefix, tokenId: leaked.tokenId, outcome: 'revoked' },
      { outcome: 'malformed' },
    ]);
    expect(JSON.stringify(results)).not.toContain(leaked.token);
    expect(await introspect(root, leaked.token)).toEqual({ active: false });
    const events = await lifecycleEvents((all) =>
      all.some(
        (e) => e.type === 'tokenledger.token.leak-reported.v1' && e.subject === leaked.tokenId,
      ),
    );
    expect(
      events.find(
        (e) => e.type === 'tokenledger.token.leak-reported.v1' && e.subject === leaked.tokenId,
      )?.data,
    ).toMatchObject({ source: 'content', outcome: 'revoked', prefix: leaked.prefix });
    expect(
      events.find((e) => e.type === 'tokenledger.token.revoked.v1' && e.subject === leaked.tokenId)
        ?.data,
    ).toMatchObject({ reason: 'leaked' });
  });

  it('RFC 7009 revoke answers 200 for unknown tokens too', async () => {
    const root = system.rootToken;
    const t = await issueOk(root, {
      owner: { type: 'user', id: 'dave' },
      name: 'cli',
      scopes: ['x:y'],
      ttlSeconds: 600,
    });
    await activeEventually(root, t.token);
    const form = (token: string): RequestInit => ({
      method: 'POST',
      headers: { ...bearer(root), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
    });
    expect((await fetch(url('revocation', '/v1/revoke'), form(t.token))).status).toBe(200);
    expect((await fetch(url('revocation', '/v1/revoke'), form('not-a-token'))).status).toBe(200);
    expect(await introspect(root, t.token)).toEqual({ active: false });
  });

  it('security: 401 without or with a bad token, 403 with a missing scope, revoked operators refused by every app', async () => {
    const root = system.rootToken;
    const routes: Array<[keyof RunningSystem['apps'], string, string]> = [
      ['issuance', 'POST', '/v1/tokens'],
      ['issuance', 'GET', '/v1/tokens'],
      ['issuance', 'PUT', '/v1/policies'],
      ['revocation', 'POST', '/v1/introspect'],
      ['revocation', 'POST', '/v1/revocations'],
      ['revocation', 'POST', '/v1/leaks'],
      ['anomaly', 'GET', '/v1/whoami'],
      ['ledger', 'GET', '/v1/whoami'],
    ];
    const weak = await issueOk(root, {
      owner: { type: 'user', id: 'eve' },
      name: 'weak',
      scopes: ['nothing:here'],
      ttlSeconds: 600,
    });
    await activeEventually(root, weak.token);
    for (const [app, method, path] of routes) {
      const none = await fetch(url(app, path), { method });
      expect([app, path, none.status]).toEqual([app, path, 401]);
      const bad = await fetch(url(app, path), { method, headers: bearer('tlk_live_notatoken') });
      expect([app, path, bad.status]).toEqual([app, path, 401]);
      if (!path.endsWith('whoami')) {
        const forbidden = await fetch(url(app, path), {
          method,
          headers: { ...bearer(weak.token), 'content-type': 'application/json' },
          body: method === 'GET' ? undefined : '{}',
        });
        expect([app, path, forbidden.status]).toEqual([app, path, 403]);
      }
    }

    const operator = await issueOk(root, {
      owner: { type: 'user', id: 'frank' },
      name: 'ops',
      scopes: ['tokens:read'],
      ttlSeconds: 600,
    });
    await activeEventually(root, operator.token);
    for (const app of ['issuance', 'revocation', 'anomaly', 'ledger'] as const) {
      expect(
        (await fetch(url(app, '/v1/whoami'), { headers: bearer(operator.token) })).status,
      ).toBe(200);
    }
    await fetch(url('revocation', `/v1/tokens/${operator.tokenId}/revoke`), {
      method: 'POST',
      headers: { ...bearer(root), 'content-type': 'application/json' },
      body: '{}',
    });
    // Every app learns the revocation (how fast, the 1 s goal, is a benchmark's measure, not a test's).
    for (const app of ['issuance', 'revocation', 'anomaly', 'ledger'] as const) {
      const status = async (): Promise<number> =>
        (await fetch(url(app, '/v1/whoami'), { headers: bearer(operator.token) })).status;
      await eventually(
        async () => ((await status()) === 401 ? true : undefined),
        20_000,
        `${app} to refuse the revoked operator`,
      );
      expect([app, await status()]).toEqual([app, 401]);
    }
  });

  it('bad input: malformed JSON, wrong types, unknown fields, oversized bodies -> 4xx, nothing written', async () => {
    const root = system.rootToken;
    const before = (
      (await (
        await fetch(url('issuance', '/v1/tokens?limit=500'), { headers: bearer(root) })
      ).json()) as { tokens: unknown[] }
    ).tokens.length;
    const post = (body: string): Promise<Response> =>
      fetch(url('issuance', '/v1/tokens'), {
        method: 'POST',
        headers: { ...bearer(root), 'content-type': 'application/json' },
        body,
      });
    const cases: Array<[string, number, RegExp]> = [
      ['{"owner":', 400, /JSON/],
      [
        JSON.stringify({ owner: { type: 'user', id: 'x' }, name: 'n', scopes: 'admin' }),
        400,
        /scopes/,
      ],
      [
        JSON.stringify({ owner: { type: 'user', id: 'x' }, name: 'n', scopes: ['a:b'], extra: 1 }),
        400,
        /unknown field\(s\) extra/,
      ],
      [
        JSON.stringify({ owner: { type: 'robot', id: 'x' }, name: 'n', scopes: ['a:b'] }),
        400,
        /owner\.type/,
      ],
      [
        JSON.stringify({
          owner: { type: 'user', id: 'x' },
          name: 'n',
          scopes: ['a:b'],
          pad: 'x'.repeat(100_000),
        }),
        413,
        /too large/i,
      ],
    ];
    for (const [body, status, message] of cases) {
      const res = await post(body);
      const problem = (await res.json()) as { status: number; detail: string };
      expect([res.status, problem.status, problem.detail]).toEqual([
        status,
        status,
        expect.stringMatching(message),
      ]);
    }
    const after = (
      (await (
        await fetch(url('issuance', '/v1/tokens?limit=500'), { headers: bearer(root) })
      ).json()) as { tokens: unknown[] }
    ).tokens.length;
    expect(after).toBe(before);
  });

  it('DPoP: proofs from the dpop npm package are accepted; another key, another htu and a replayed jti are refused', async () => {
    const root = system.rootToken;
    const client = await DpopClient.start();
    const stranger = await DpopClient.start();
    try {
      const bound = await issueOk(root, {
        owner: { type: 'service', id: 'pay' },
        name: 'pay-bound',
        scopes: ['pay:charge'],
        ttlSeconds: 600,
        dpopJkt: client.jkt,
      });
      const htu = 'https://api.example.test/v1/charges';
      const ask = async (
        proof: string | undefined,
        htm = 'POST',
        at = htu,
      ): Promise<Record<string, unknown>> => {
        const res = await fetch(url('revocation', '/v1/introspect'), {
          method: 'POST',
          headers: {
            ...bearer(root),
            'content-type': 'application/x-www-form-urlencoded',
            ...(proof ? { dpop: proof } : {}),
          },
          body: new URLSearchParams({ token: bound.token, htm, htu: at }).toString(),
        });
        return (await res.json()) as Record<string, unknown>;
      };
      const good = await client.proof('POST', htu, bound.token);
      const answer = await eventually(
        async () => {
          const a = await ask(await client.proof('POST', htu, bound.token));
          return a.active === true ? a : undefined;
        },
        10_000,
        'a valid proof to be accepted',
      );
      expect(answer).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt: client.jkt } });
      expect(await ask(good)).toEqual({
        active: true,
        scope: 'pay:charge',
        client_id: bound.tokenId,
        sub: 'service:pay',
        exp: expect.any(Number),
        iat: expect.any(Number),
        token_type: 'DPoP',
        cnf: { jkt: client.jkt },
      });
      expect(await ask(good)).toEqual({ active: false }); // replayed jti
      expect(await ask(await stranger.proof('POST', htu, bound.token))).toEqual({ active: false }); // another key
      expect(
        await ask(await client.proof('POST', 'https://api.example.test/v1/refunds', bound.token)),
      ).toEqual({ active: false }); // htu mismatch
      expect(await ask(await client.proof('GET', htu, bound.token))).toEqual({ active: false }); // htm mismatch
      expect(await ask(await client.proof('POST', htu, `${bound.token}x`))).toEqual({
        active: false,
      }); // wrong ath
      expect(await ask(undefined)).toEqual({ active: false }); // no proof
    } finally {
      client.stop();
      stranger.stop();
    }
  });

  it('expiry: a token is inactive once expired and token.expired is recorded', async () => {
    const root = system.rootToken;
    const short = await issueOk(root, {
      owner: { type: 'user', id: 'gina' },
      name: 'short',
      scopes: ['x:y'],
      ttlSeconds: 2,
    });
    await activeEventually(root, short.token);
    await eventually(
      async () => ((await introspect(root, short.token)).active === false ? true : undefined),
      20_000,
      'expiry',
    );
    const events = await lifecycleEvents((all) =>
      all.some((e) => e.type === 'tokenledger.token.expired.v1' && e.subject === short.tokenId),
    );
    expect(
      events.find((e) => e.type === 'tokenledger.token.expired.v1' && e.subject === short.tokenId),
    ).toMatchObject({ actor: 'system', data: { expiredAt: short.expiresAt } });
  });

  it('a second revocation instance sees a revocation made by the first, and refuses a DPoP proof the first accepted', async () => {
    const root = system.rootToken;
    const port = await freePort();
    const second = spawnApp('revocation', { ...system.env, PORT: String(port) });
    const secondUrl = `http://127.0.0.1:${port}`;
    try {
      await eventually(
        async () => ((await fetch(`${secondUrl}/health/ready`)).status === 200 ? true : undefined),
        30_000,
        'the second instance',
      );
      const t = await issueOk(root, {
        owner: { type: 'user', id: 'ivy' },
        name: 'two-instances',
        scopes: ['x:y'],
        ttlSeconds: 600,
      });
      const ask = async (base: string): Promise<Record<string, unknown>> =>
        (await (
          await fetch(`${base}/v1/introspect`, {
            method: 'POST',
            headers: { ...bearer(root), 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ token: t.token }).toString(),
          })
        ).json()) as Record<string, unknown>;
      await eventually(
        async () => ((await ask(secondUrl)).active === true ? true : undefined),
        10_000,
        'active on the second instance',
      );
      expect((await ask(url('revocation', ''))).active).toBe(true);
      await fetch(url('revocation', `/v1/tokens/${t.tokenId}/revoke`), {
        method: 'POST',
        headers: { ...bearer(root), 'content-type': 'application/json' },
        body: '{}',
      });
      expect(await ask(url('revocation', ''))).toEqual({ active: false }); // this instance: at once
      // The other one learns it from Kafka (how fast, the 1 s goal, belongs to a benchmark).
      await eventually(
        async () => ((await ask(secondUrl)).active === false ? true : undefined),
        20_000,
        'the second instance to see the revocation',
      );

      // The DPoP jti store is shared: a proof accepted by one instance is a replay at the other.
      const client = await DpopClient.start();
      try {
        const bound = await issueOk(root, {
          owner: { type: 'service', id: 'pay2' },
          name: 'two-instances-dpop',
          scopes: ['pay:charge'],
          ttlSeconds: 600,
          dpopJkt: client.jkt,
        });
        const htu = 'https://api.example.test/v1/charges';
        const askWithProof = async (
          base: string,
          proof: string,
        ): Promise<Record<string, unknown>> =>
          (await (
            await fetch(`${base}/v1/introspect`, {
              method: 'POST',
              headers: {
                ...bearer(root),
                'content-type': 'application/x-www-form-urlencoded',
                dpop: proof,
              },
              body: new URLSearchParams({ token: bound.token, htm: 'POST', htu }).toString(),
            })
          ).json()) as Record<string, unknown>;
        for (const base of [secondUrl, url('revocation', '')]) {
          await eventually(
            async () =>
              (await askWithProof(base, await client.proof('POST', htu, bound.token))).active ===
              true
                ? true
                : undefined,
            10_000,
            `the bound token active at ${base}`,
          );
        }
        const proof = await client.proof('POST', htu, bound.token);
        expect(await askWithProof(url('revocation', ''), proof)).toMatchObject({
          active: true,
          token_type: 'DPoP',
        });
        expect(await askWithProof(secondUrl, proof)).toEqual({ active: false });
      } finally {
        client.stop();
      }
    } finally {
      second.process.kill('SIGTERM');
      await new Promise((r) => second.process.once('exit', r));
    }
  });

  it('rebuild: the token status projection rebuilt from tokens.lifecycle equals the one it replaced', async () => {
    const snapshot = async (): Promise<string> => {
      const client = new Client({ connectionString: db.url });
      await client.connect();
      try {
        const rows = await client.query(
          'SELECT token_id, prefix, owner_type, owner_id, scopes, labels, issued_at, expires_at, dpop_jkt, status, revoked_at, revoked_reason, grace_ends_at FROM revocation.token_status ORDER BY token_id',
        );
        return JSON.stringify(rows.rows);
      } finally {
        await client.end();
      }
    };
    // Let the projection catch up with everything issued and revoked so far: every lifecycle
    // event published (no unpublished outbox row in the apps that write them), then the
    // projection unchanged over 500 ms. (A fixed 1 s wait once left an RFC 7009 revocation out
    // of Kafka when the rebuild read it, with other suites loading the machine.)
    const unpublished = async (): Promise<number> => {
      const client = new Client({ connectionString: db.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ n: string }>(
          `SELECT (SELECT count(*) FROM issuance.outbox WHERE published_at IS NULL)
                + (SELECT count(*) FROM revocation.outbox WHERE published_at IS NULL)
                + (SELECT count(*) FROM anomaly.outbox WHERE published_at IS NULL) AS n`,
        );
        return Number(rows[0]?.n);
      } finally {
        await client.end();
      }
    };
    await eventually(
      async () => ((await unpublished()) === 0 ? true : undefined),
      30_000,
      'every outbox published',
    );
    let before = await snapshot();
    await eventually(
      async () => {
        await new Promise((r) => setTimeout(r, 500));
        const now = await snapshot();
        const settled = now === before;
        before = now;
        return settled ? true : undefined;
      },
      30_000,
      'the projection settled',
    );
    expect(JSON.parse(before)).not.toHaveLength(0);
    const res = await fetch(url('revocation', '/v1/admin/rebuild'), {
      method: 'POST',
      headers: bearer(system.rootToken),
    });
    expect(res.status).toBe(200);
    const result = (await res.json()) as { events: number; tokens: number };
    expect(result.tokens).toBe((JSON.parse(before) as unknown[]).length);
    expect(await snapshot()).toEqual(before);
    const weak = await fetch(url('revocation', '/v1/admin/rebuild'), { method: 'POST' });
    expect(weak.status).toBe(401);
  });

  it('introspections are not access-logged (each one is a token.used event); other revocation routes are', () => {
    const urls = system.apps.revocation.output
      .join('')
      .split('\n')
      .flatMap((line) => {
        try {
          const parsed = JSON.parse(line) as { req?: { url?: string } };
          return parsed.req?.url ? [parsed.req.url] : [];
        } catch {
          return [];
        }
      });
    expect(urls.some((u) => /^\/v1\/tokens\/[^/]+\/revoke$/.test(u))).toBe(true);
    expect(urls.filter((u) => u.startsWith('/v1/introspect'))).toEqual([]);
  });

  it('no plaintext token, internal secret or pepper in any log line, Kafka record or database row (searched last)', async () => {
    expect(plaintexts.length).toBeGreaterThan(10);
    const logs = Object.values(system.apps)
      .map((a) => a.output.join(''))
      .join('\n');
    expect(logs.length).toBeGreaterThan(1000);
    const perTopic = await Promise.all(
      Object.values(TOPICS).map((base) => readTopic(topicName(base, prefix), () => false, 4000)),
    );
    const records = perTopic
      .flat()
      .map((r) => `${r.key ?? ''} ${r.value?.toString('utf8') ?? ''} ${JSON.stringify(r.headers)}`);
    expect(records.length).toBeGreaterThan(50);
    const dump = execFileSync('pg_dump', ['--data-only', db.url], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    expect(dump).toContain('token_status');
    const places = [
      ['logs', logs],
      ['kafka', records.join('\n')],
      ['database', dump],
    ] as const;
    for (const token of plaintexts) {
      const random = token.slice(token.lastIndexOf('_') + 1);
      for (const [where, text] of places) {
        expect([where, text.includes(random)]).toEqual([where, false]);
      }
    }
    // The apps' shared secret (sent on every internal call, so in request headers that are
    // logged) and the pepper, in every encoding a log or a row could show it in.
    // The header is in the request log lines of internal routes, redacted: the search below
    // would find the secret if it were not.
    expect(logs).toContain('"x-tokenledger-internal":"[redacted]"');
    const secret = system.env.TOKENLEDGER_INTERNAL_SECRET ?? '';
    const pepper = Buffer.from(system.env.TOKEN_PEPPER ?? '', 'base64');
    expect([secret.length, pepper.length]).toEqual([43, 32]);
    const secrets = {
      'internal secret': [secret],
      pepper: (['base64', 'base64url', 'hex'] as const).map((encoding) =>
        pepper.toString(encoding),
      ),
    };
    for (const [what, forms] of Object.entries(secrets))
      for (const form of forms)
        for (const [where, text] of places)
          expect([what, where, text.includes(form)]).toEqual([what, where, false]);
  });
});
