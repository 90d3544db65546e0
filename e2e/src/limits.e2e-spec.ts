import type { ChildProcess } from 'node:child_process';
import { TOPICS, decodeEvent, topicName, type EventEnvelope } from '@tokenledger/contracts';
import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  readTopic,
  type TestDatabase,
} from '@tokenledger/testing';
import { freePort, spawnApp, startSystem, type RunningSystem, untilReady } from './system';

function decoded(value: Buffer | null): EventEnvelope {
  const r = decodeEvent(value ?? Buffer.alloc(0));
  if (!r.ok) throw new Error('undecodable record');
  return r.event;
}

/**
 * Issue 16 point 1: per-token credits (exact across revocation instances) and rate limits
 * (per instance: at most N x limit per window with N instances), enforced by introspection.
 */
describe('per-token limits and credits through two revocation instances', () => {
  let db: TestDatabase;
  let system: RunningSystem;
  let second: ChildProcess;
  let secondUrl: string;
  const prefix = freshTopicPrefix();
  const auth = (token = system.rootToken): Record<string, string> => ({
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
  });

  async function issue(
    owner: string,
    scopes = ['things:read'],
  ): Promise<{ tokenId: string; token: string }> {
    const res = await fetch(`${system.apps.issuance.url}/v1/tokens`, {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({
        owner: { type: 'service', id: owner },
        name: owner,
        scopes,
        ttlSeconds: 3600,
      }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { tokenId: string; token: string };
  }

  async function introspect(base: string, token: string): Promise<Record<string, unknown>> {
    const res = await fetch(`${base}/v1/introspect`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  }

  async function putLimits(tokenId: string, body: unknown, token?: string): Promise<Response> {
    return fetch(`${system.apps.revocation.url}/v1/tokens/${tokenId}/limits`, {
      method: 'PUT',
      headers: auth(token),
      body: JSON.stringify(body),
    });
  }

  /** Waits past STATUS_CACHE_MS so both instances read the new settings. */
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 700));

  beforeAll(async () => {
    db = await freshDatabase();
    system = await startSystem(
      { DATABASE_URL: db.url, KAFKA_BROKERS: kafkaBrokers(), TOPIC_PREFIX: prefix },
      { witness: false },
    );
    const port = await freePort();
    second = spawnApp('revocation', { ...system.env, PORT: String(port) }).process;
    secondUrl = `http://127.0.0.1:${port}`;
    await untilReady(secondUrl, 'the second revocation instance');
  }, 150_000);

  afterAll(async () => {
    if (second && second.exitCode === null) {
      const exited = new Promise((r) => second.once('exit', r));
      second.kill('SIGTERM');
      await exited;
    }
    await system?.stop();
    await db?.drop();
  }, 60_000);

  it('refuses bad limits and callers without the scopes, changing nothing', async () => {
    const t = await issue('limits-bad');
    for (const bad of [
      {},
      { credits: { remaining: -1 } },
      { rateLimit: { limit: 0, windowSeconds: 60 } },
      { rateLimit: { limit: 5 } },
      { credits: { remaining: 5, refill: { amount: 5, intervalSeconds: 1 } } },
      { other: 1 },
    ]) {
      const res = await putLimits(t.tokenId, bad);
      expect([bad, res.status]).toEqual([bad, 400]);
    }
    const unknown = await putLimits('0190f4a0-0000-7000-8000-000000000001', {
      credits: { remaining: 1 },
    });
    expect(unknown.status).toBe(404);
    const none = await fetch(`${system.apps.revocation.url}/v1/tokens/${t.tokenId}/limits`);
    expect(none.status).toBe(401);
    const reader = await issue('limits-reader', ['tokens:read']);
    const readerPut = await putLimits(t.tokenId, { credits: { remaining: 1 } }, reader.token);
    expect(readerPut.status).toBe(403);
    const weak = await issue('limits-weak', ['nothing:here']);
    const weakGet = await fetch(`${system.apps.revocation.url}/v1/tokens/${t.tokenId}/limits`, {
      headers: auth(weak.token),
    });
    expect(weakGet.status).toBe(403);
    const get = await fetch(`${system.apps.revocation.url}/v1/tokens/${t.tokenId}/limits`, {
      headers: auth(),
    });
    expect(await get.json()).toEqual({
      tokenId: t.tokenId,
      rateLimit: null,
      credits: null,
      changedAt: null,
    });
    // Unlimited: active as often as asked.
    for (let i = 0; i < 5; i++)
      expect(await introspect(secondUrl, t.token)).toMatchObject({ active: true });
  }, 60_000);

  /** Two more revocation instances of this system, ready; stopped by the test (SIGTERM). */
  async function twoMoreInstances(): Promise<Array<{ url: string; stop: () => Promise<void> }>> {
    return Promise.all(
      [0, 1].map(async () => {
        const port = await freePort();
        const child = spawnApp('revocation', { ...system.env, PORT: String(port) }).process;
        const url = `http://127.0.0.1:${port}`;
        await untilReady(url, 'a revocation instance');
        const stop = (): Promise<void> =>
          new Promise((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          });
        return { url, stop };
      }),
    );
  }

  it('credit leases: a large balance used on two instances, exact once they stopped; a reset bites through a lease', async () => {
    const initial = 2_000_000;
    const instances = await twoMoreInstances();
    try {
      const remaining = async (): Promise<number> => {
        const res = await fetch(`${system.apps.revocation.url}/v1/tokens/${big.tokenId}/limits`, {
          headers: auth(),
        });
        return ((await res.json()) as { credits: { remaining: number } }).credits.remaining;
      };
      const big = await issue('limits-leased');
      expect((await putLimits(big.tokenId, { credits: { remaining: initial } })).status).toBe(200);
      await settle();
      // 20 waves of 10 introspections at once on each instance: 400 uses, all active.
      for (let wave = 0; wave < 20; wave++) {
        const answers = await Promise.all(
          instances.flatMap(({ url }) =>
            Array.from({ length: 10 }, () => introspect(url, big.token)),
          ),
        );
        expect(answers.filter((a) => a['active'] === true)).toHaveLength(20);
      }
      // The instances hold leases: more is gone from the balance than was used...
      const held = initial - 400 - (await remaining());
      expect(held).toBeGreaterThan(0);
      expect(held).toBeLessThanOrEqual(2 * 1000);
      // ...and given back when they stop: exactly one credit per use is spent.
      await Promise.all(instances.map((i) => i.stop()));
      expect(await remaining()).toBe(initial - 400);

      // A reset while a lease is held elsewhere: two fresh instances take leases again, an
      // operator sets 3 credits, and after STATUS_CACHE_MS exactly 3 more uses are active.
      const again = await twoMoreInstances();
      instances.splice(0, 2, ...again);
      for (let wave = 0; wave < 5; wave++)
        await Promise.all(
          again.flatMap(({ url }) => Array.from({ length: 10 }, () => introspect(url, big.token))),
        );
      expect(initial - 500 - (await remaining())).toBeGreaterThan(0); // leases held
      expect((await putLimits(big.tokenId, { credits: { remaining: 3 } })).status).toBe(200);
      await settle();
      const after = await Promise.all(
        again.flatMap(({ url }) => Array.from({ length: 6 }, () => introspect(url, big.token))),
      );
      expect(after.filter((a) => a['active'] === true)).toHaveLength(3);
      expect(after.filter((a) => a['tokenledger_reason'] === 'credits_exhausted')).toHaveLength(9);
      // Stopping gives back nothing to the new balance (the leases were from the old one).
      await Promise.all(again.map((i) => i.stop()));
      expect(await remaining()).toBe(0);
    } finally {
      await Promise.all(instances.map((i) => i.stop()));
    }
  }, 180_000);

  it('a token with 5 credits is active for exactly 5 introspections across two instances, then credits_exhausted', async () => {
    const t = await issue('limits-credits');
    const put = await putLimits(t.tokenId, { credits: { remaining: 5 } });
    expect(put.status).toBe(200);
    await settle();
    const bases = [system.apps.revocation.url, secondUrl];
    // 12 concurrent introspections, alternating between the instances.
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => introspect(bases[i % 2] ?? '', t.token)),
    );
    expect(answers.filter((a) => a.active === true)).toHaveLength(5);
    const refused = answers.filter((a) => a.active === false);
    expect(refused).toHaveLength(7);
    for (const a of refused)
      expect(a).toEqual({ active: false, tokenledger_reason: 'credits_exhausted' });
    const get = await fetch(`${secondUrl}/v1/tokens/${t.tokenId}/limits`, { headers: auth() });
    expect(((await get.json()) as { credits: { remaining: number } }).credits.remaining).toBe(0);

    // An operator reset gives exactly the new credits again.
    expect((await putLimits(t.tokenId, { credits: { remaining: 2 } })).status).toBe(200);
    await settle();
    const again = await Promise.all(
      Array.from({ length: 6 }, (_, i) => introspect(bases[i % 2] ?? '', t.token)),
    );
    expect(again.filter((a) => a.active === true)).toHaveLength(2);

    // Both changes are token.limits-changed events in the audited lifecycle topic, and the
    // refused uses are token.used events rejected with credits-exhausted.
    const lifecycle = await readTopic(
      topicName(TOPICS.lifecycle, prefix),
      (rs) =>
        rs.filter(
          (r) =>
            r.key === t.tokenId && decoded(r.value).type === 'tokenledger.token.limits-changed.v1',
        ).length >= 2,
    );
    const changes = lifecycle
      .filter((r) => r.key === t.tokenId)
      .map((r) => decoded(r.value))
      .filter((e) => e.type === 'tokenledger.token.limits-changed.v1')
      .map((e) => (e.data as { credits: { remaining: number } }).credits.remaining);
    expect(changes).toEqual([5, 2]);
    const usage = await readTopic(
      topicName(TOPICS.usage, prefix),
      (rs) =>
        rs.filter(
          (r) =>
            r.key === t.tokenId &&
            (decoded(r.value).data as { rejection?: string }).rejection === 'credits-exhausted',
        ).length >= 11,
    );
    const outcomes = usage
      .filter((r) => r.key === t.tokenId)
      .map((r) => decoded(r.value).data as { outcome: string; rejection?: string });
    expect(outcomes.filter((o) => o.outcome === 'accepted')).toHaveLength(7);
    expect(outcomes.filter((o) => o.rejection === 'credits-exhausted')).toHaveLength(11);
  }, 90_000);

  it('a rate-limited token is refused past its limit on one instance, and within 2 x limit across two', async () => {
    const t = await issue('limits-rate');
    expect(
      (await putLimits(t.tokenId, { rateLimit: { limit: 4, windowSeconds: 3600 } })).status,
    ).toBe(200);
    await settle();
    const one = [];
    for (let i = 0; i < 6; i++) one.push(await introspect(system.apps.revocation.url, t.token));
    expect(one.map((a) => a.active)).toEqual([true, true, true, true, false, false]);
    expect(one[5]).toEqual({ active: false, tokenledger_reason: 'rate_limited' });
    // The second instance counts on its own: the stated bound is N x limit per window.
    const two = [];
    for (let i = 0; i < 6; i++) two.push(await introspect(secondUrl, t.token));
    const acceptedAcross = [...one, ...two].filter((a) => a.active === true).length;
    expect(acceptedAcross).toBeGreaterThanOrEqual(4);
    expect(acceptedAcross).toBeLessThanOrEqual(2 * 4);
    expect(
      two.filter((a) => a.active === false).every((a) => a.tokenledger_reason === 'rate_limited'),
    ).toBe(true);
    // Removing the limit lifts it.
    expect((await putLimits(t.tokenId, { rateLimit: null })).status).toBe(200);
    await settle();
    expect(await introspect(system.apps.revocation.url, t.token)).toMatchObject({ active: true });
  }, 60_000);

  // Limits at issue time and by policy: they travel with the token (token.issued, issuance's
  // record for read-your-writes), so the very first introspection already enforces them.

  async function issueWith(owner: string, extra: Record<string, unknown>): Promise<Response> {
    return fetch(`${system.apps.issuance.url}/v1/tokens`, {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({
        owner: { type: 'service', id: owner },
        name: owner,
        scopes: ['things:read'],
        ttlSeconds: 3600,
        ...extra,
      }),
    });
  }

  async function limitsOf(base: string, tokenId: string): Promise<Record<string, unknown>> {
    const res = await fetch(`${base}/v1/tokens/${tokenId}/limits`, { headers: auth() });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  }

  /** The tokens named `name` (every test issues under a name of its own). */
  async function tokensNamed(name: string): Promise<unknown[]> {
    const res = await fetch(
      `${system.apps.issuance.url}/v1/tokens?name=${encodeURIComponent(name)}`,
      { headers: auth() },
    );
    expect(res.status).toBe(200);
    return ((await res.json()) as { tokens: Array<{ name: string }> }).tokens.filter(
      (t) => t.name === name,
    );
  }

  async function putPolicy(policy: Record<string, unknown>): Promise<void> {
    const res = await fetch(`${system.apps.issuance.url}/v1/policies`, {
      method: 'PUT',
      headers: auth(),
      body: JSON.stringify(policy),
    });
    expect([res.status, await res.text()]).toEqual([200, expect.any(String)]);
  }

  it('a token issued with 3 credits is active for its first 3 introspections, at once, then credits_exhausted', async () => {
    const res = await issueWith('limits-issued-credits', { credits: { remaining: 3 } });
    expect(res.status).toBe(201);
    const t = (await res.json()) as { tokenId: string; token: string };
    // Immediately, on the instance that has not seen token.issued on Kafka necessarily.
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await introspect(secondUrl, t.token));
    expect(answers.map((a) => a.active)).toEqual([true, true, true, false]);
    expect(answers[3]).toEqual({ active: false, tokenledger_reason: 'credits_exhausted' });
    expect(await limitsOf(system.apps.revocation.url, t.tokenId)).toMatchObject({
      rateLimit: null,
      credits: { remaining: 0 },
    });

    // Evidence: token.issued on the lifecycle topic, and its ledger leaf, carry the limits.
    const lifecycle = await readTopic(topicName(TOPICS.lifecycle, prefix), (rs) =>
      rs.some((r) => r.key === t.tokenId),
    );
    const issued = lifecycle
      .filter((r) => r.key === t.tokenId)
      .map((r) => decoded(r.value))
      .find((e) => e.type === 'tokenledger.token.issued.v1');
    expect(issued?.data).toMatchObject({ tokenId: t.tokenId, credits: { remaining: 3 } });
    expect(issued?.data).not.toHaveProperty('rateLimit');
    const leaf = await eventually(
      async () => {
        const r = await fetch(`${system.apps.ledger.url}/v1/ledger/tokens/${t.tokenId}/timeline`, {
          headers: auth(),
        });
        if (r.status !== 200) return undefined;
        const body = (await r.json()) as {
          entries: Array<{ record: { event?: EventEnvelope } }>;
        };
        return body.entries
          .map((e) => e.record.event)
          .find((e) => e?.type === 'tokenledger.token.issued.v1');
      },
      15_000,
      'token.issued in the ledger timeline',
    );
    expect(leaf.data).toMatchObject({ credits: { remaining: 3 } });

    // The consumer applying token.issued later resets nothing: still exhausted on both.
    await settle();
    expect(await introspect(system.apps.revocation.url, t.token)).toEqual({
      active: false,
      tokenledger_reason: 'credits_exhausted',
    });
  }, 60_000);

  it('a token issued with a rate limit is limited from its first use; GET limits shows it at once', async () => {
    const res = await issueWith('limits-issued-rate', {
      rateLimit: { limit: 2, windowSeconds: 3600 },
    });
    expect(res.status).toBe(201);
    const t = (await res.json()) as { tokenId: string; token: string };
    // Read back before any introspection: the limits are there right after issue.
    expect(await limitsOf(secondUrl, t.tokenId)).toMatchObject({
      tokenId: t.tokenId,
      rateLimit: { limit: 2, windowSeconds: 3600 },
      credits: null,
    });
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await introspect(secondUrl, t.token));
    expect(answers.map((a) => a.active)).toEqual([true, true, false]);
    expect(answers[2]).toEqual({ active: false, tokenledger_reason: 'rate_limited' });
    // A later PUT is not undone by the token.issued event arriving afterwards.
    expect((await putLimits(t.tokenId, { rateLimit: null })).status).toBe(200);
    await readTopic(topicName(TOPICS.lifecycle, prefix), (rs) =>
      rs.some(
        (r) =>
          r.key === t.tokenId && decoded(r.value).type === 'tokenledger.token.limits-changed.v1',
      ),
    );
    await settle();
    expect(await limitsOf(secondUrl, t.tokenId)).toMatchObject({ rateLimit: null });
    expect(await introspect(secondUrl, t.token)).toMatchObject({ active: true });
  }, 60_000);

  it('an owner-scoped issuer, without policies:write, may limit the tokens it issues', async () => {
    const issuer = await issue('limits-scoped-issuer', [
      'tokens:issue@limits-scoped',
      'things:read',
    ]);
    const res = await fetch(`${system.apps.issuance.url}/v1/tokens`, {
      method: 'POST',
      headers: auth(issuer.token),
      body: JSON.stringify({
        owner: { type: 'service', id: 'limits-scoped' },
        name: 'limits-scoped',
        scopes: ['things:read'],
        ttlSeconds: 3600,
        credits: { remaining: 1 },
      }),
    });
    expect(res.status).toBe(201);
    const t = (await res.json()) as { tokenId: string; token: string };
    expect(await limitsOf(secondUrl, t.tokenId)).toMatchObject({ credits: { remaining: 1 } });
    // Changing them afterwards is an operator's PUT, which this issuer may not do.
    expect((await putLimits(t.tokenId, { credits: null }, issuer.token)).status).toBe(403);
  }, 60_000);

  it('refuses a bad limits body with 400 and issues nothing', async () => {
    for (const [i, bad] of [
      { credits: { remaining: -1 } },
      { credits: { remaining: 5, refill: { amount: 5, intervalSeconds: 1 } } },
      { rateLimit: { limit: 0, windowSeconds: 60 } },
      { rateLimit: { limit: 5 } },
      { rateLimit: { limit: 5, windowSeconds: 60, burst: 10 } },
      { credits: 5 },
    ].entries()) {
      const name = `limits-bad-issue-${i}`;
      const res = await issueWith(name, bad);
      const body = (await res.json()) as { code?: string; detail?: string };
      expect([bad, res.status]).toEqual([bad, 400]);
      expect(JSON.stringify(body)).toMatch(/rateLimit|credits/);
      expect(await tokensNamed(name)).toEqual([]);
    }
  }, 60_000);

  it('a policy default applies when the request has none; a request over the policy maximum is refused and nothing is issued', async () => {
    const before = await fetch(`${system.apps.issuance.url}/v1/policies`, { headers: auth() });
    const policy = (await before.json()) as Record<string, unknown>;
    await putPolicy({
      ...policy,
      defaultCredits: { remaining: 2 },
      maxCredits: { remaining: 10 },
      maxRateLimit: { limit: 100, windowSeconds: 60 },
    });
    try {
      const res = await issueWith('limits-policy-default', {});
      expect(res.status).toBe(201);
      const t = (await res.json()) as { tokenId: string; token: string };
      // The default credits, and the maximum as the rate limit (none asked, no default).
      expect(await limitsOf(secondUrl, t.tokenId)).toMatchObject({
        rateLimit: { limit: 100, windowSeconds: 60 },
        credits: { remaining: 2 },
      });
      const answers = [];
      for (let i = 0; i < 3; i++)
        answers.push(await introspect(system.apps.revocation.url, t.token));
      expect(answers.map((a) => a.active)).toEqual([true, true, false]);

      // Within the maximum: allowed, the request wins over the default.
      const within = await issueWith('limits-policy-within', { credits: { remaining: 10 } });
      expect(within.status).toBe(201);

      for (const [name, over, rule] of [
        ['limits-policy-over-credits', { credits: { remaining: 11 } }, 'max-credits'],
        ['limits-policy-no-credits', { credits: null }, 'max-credits'],
        [
          'limits-policy-over-rate',
          { rateLimit: { limit: 100, windowSeconds: 30 } },
          'max-rate-limit',
        ],
      ] as const) {
        const refused = await issueWith(name, over);
        const problem = (await refused.json()) as { code: string; detail: string };
        expect([name, refused.status, problem.code]).toEqual([name, 422, 'policy_violation']);
        expect(problem.detail).toContain(`policy rule ${rule}`);
        expect(await tokensNamed(name)).toEqual([]);
      }
    } finally {
      await putPolicy(policy);
    }
    // Without the policy's limits again: a token without limits is unlimited.
    const free = await issueWith('limits-policy-after', {});
    const t = (await free.json()) as { tokenId: string };
    expect(await limitsOf(secondUrl, t.tokenId)).toMatchObject({ rateLimit: null, credits: null });
  }, 60_000);
});
