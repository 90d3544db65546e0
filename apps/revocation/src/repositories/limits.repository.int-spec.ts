import { migrateSchema } from '@tokenledger/sql';
import { APP_ROLES, freshDatabase, type TestDatabase } from '@tokenledger/testing';
import { DataSource } from 'typeorm';
import type { RevocationConfig } from '../config';
import { migrations } from '../migrations';
import { grants } from '../migrations/grants';
import { SpendCoalescer } from '../services/spend-coalescer';
import { LimitsRepository, MAX_SPEND_PER_STATEMENT } from './limits.repository';

describe('LimitsRepository (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let repo: LimitsRepository;
  const token = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
  const t0 = Date.parse('2026-12-01T00:00:00.000Z');
  const ev = (n: number): string =>
    `0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4${String(n).padStart(3, '0')}`;

  beforeAll(async () => {
    db = await freshDatabase();
    await migrateSchema({
      ownerUrl: db.ownerUrl,
      schema: 'revocation',
      migrations,
      grants,
      loginRole: APP_ROLES.revocation,
    });
    ds = await new DataSource({
      type: 'postgres',
      url: db.appUrls.revocation,
      schema: 'revocation',
    }).initialize();
    repo = new LimitsRepository(ds, { DB_SCHEMA: 'revocation' } as RevocationConfig);
  });
  afterAll(async () => {
    await ds.destroy();
    await db.drop();
  });

  /** Sets the credits of `id` with a new change event, as a PUT does. */
  let events = 100;
  async function setCredits(
    id: string,
    credits: { remaining: number; refill?: { amount: number; intervalSeconds: number } },
  ): Promise<void> {
    events += 1;
    const applied = await ds.transaction((m) =>
      repo.apply(
        m,
        { tokenId: id, rateLimit: null, credits, changedAt: new Date(t0).toISOString() },
        ev(events),
      ),
    );
    expect(applied).toBe(true);
  }
  const one = async (id: string, now: number): Promise<number | undefined> => {
    const r = await repo.spend(id, 1, now);
    return r.granted === 1 ? r.remaining : undefined;
  };

  it('spends each credit once under concurrency, then refuses', async () => {
    await ds.transaction((m) =>
      repo.apply(
        m,
        {
          tokenId: token,
          rateLimit: null,
          credits: { remaining: 10 },
          changedAt: new Date(t0).toISOString(),
        },
        ev(1),
      ),
    );
    const spent = await Promise.all(Array.from({ length: 25 }, () => one(token, t0 + 1000)));
    const granted = spent.filter((x) => x !== undefined);
    expect(granted).toHaveLength(10);
    expect(new Set(granted).size).toBe(10);
    expect((await repo.find(token))?.credits?.remaining).toBe(0);
  });

  it('refills once per period, aligned to the period, never twice under concurrency', async () => {
    await ds.transaction((m) =>
      repo.apply(
        m,
        {
          tokenId: token,
          rateLimit: null,
          credits: { remaining: 1, refill: { amount: 3, intervalSeconds: 60 } },
          changedAt: new Date(t0).toISOString(),
        },
        ev(2),
      ),
    );
    expect(await one(token, t0 + 10_000)).toBe(0);
    expect(await one(token, t0 + 59_999)).toBeUndefined();
    // 2.5 periods later: one refill to 3 (not 3 per period missed), 8 concurrent uses get 3.
    const later = t0 + 150_000;
    const spent = await Promise.all(Array.from({ length: 8 }, () => one(token, later)));
    expect(spent.filter((x) => x !== undefined).sort()).toEqual([0, 1, 2]);
    // The next refill is due at t0 + 180 s (aligned), not 60 s after the refill.
    expect(await one(token, t0 + 179_000)).toBeUndefined();
    expect(await one(token, t0 + 180_000)).toBe(2);
  });

  it('applies only a change newer than the last one, so a consumed own event resets nothing', async () => {
    const older = await ds.transaction((m) =>
      repo.apply(
        m,
        {
          tokenId: token,
          rateLimit: null,
          credits: { remaining: 99 },
          changedAt: new Date(t0).toISOString(),
        },
        ev(2),
      ),
    );
    expect(older).toBe(false);
    expect((await repo.find(token))?.credits?.remaining).toBe(2);
    const newer = await ds.transaction((m) =>
      repo.apply(
        m,
        {
          tokenId: token,
          rateLimit: { limit: 5, windowSeconds: 60 },
          credits: null,
          changedAt: new Date(t0).toISOString(),
        },
        ev(3),
      ),
    );
    expect(newer).toBe(true);
    expect(await repo.find(token)).toMatchObject({
      rateLimit: { limit: 5, windowSeconds: 60 },
      credits: null,
    });
    expect(await repo.spend(token, 5, t0)).toEqual({ granted: 0, remaining: 0 });
  });

  it('the limits a token was issued with: inserted once, never over a PUT or spent credits', async () => {
    // A UUIDv7 tokenId minted before the change events below (ev(n) sort after it).
    const issuedToken = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f0000';
    const issued = {
      tokenId: issuedToken,
      rateLimit: { limit: 5, windowSeconds: 60 },
      credits: { remaining: 3 },
      issuedAt: new Date(t0).toISOString(),
    };
    expect(await repo.insertIssued({ tokenId: issuedToken, issuedAt: issued.issuedAt })).toBe(
      false,
    );
    expect(await repo.find(issuedToken)).toBeUndefined();
    expect(await repo.insertIssued(issued)).toBe(true);
    expect(await repo.find(issuedToken)).toMatchObject({
      rateLimit: { limit: 5, windowSeconds: 60 },
      credits: { remaining: 3 },
      changedAt: new Date(t0),
    });
    // No refill: the spend names the limits' version, for a lease (the token id until a PUT).
    expect(await repo.spend(issuedToken, 1, t0 + 1000)).toEqual({
      granted: 1,
      remaining: 2,
      leaseVersion: issuedToken,
    });
    // token.issued arriving after the adoption (or replayed by a rebuild) resets nothing.
    expect(await ds.transaction((m) => repo.insertIssued(issued, m))).toBe(false);
    expect((await repo.find(issuedToken))?.credits?.remaining).toBe(2);
    // A later PUT (a newer limits-changed) applies over the issued limits...
    const put = {
      tokenId: issuedToken,
      rateLimit: null,
      credits: { remaining: 50 },
      changedAt: new Date(t0 + 5000).toISOString(),
    };
    expect(await ds.transaction((m) => repo.apply(m, put, ev(10)))).toBe(true);
    // ...and the token.issued event coming after it does not undo it.
    expect(await repo.insertIssued(issued)).toBe(false);
    expect(await repo.find(issuedToken)).toMatchObject({
      rateLimit: null,
      credits: { remaining: 50 },
    });
  });

  describe('spend(tokenId, k, now): one statement for k uses', () => {
    const batched = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3fb000';

    it('grants exactly min(k, left), never below 0', async () => {
      await setCredits(batched, { remaining: 10 });
      const v = ev(events);
      expect(await repo.spend(batched, 4, t0)).toEqual({
        granted: 4,
        remaining: 6,
        leaseVersion: v,
      });
      expect(await repo.spend(batched, 6, t0)).toEqual({
        granted: 6,
        remaining: 0,
        leaseVersion: v,
      });
      expect(await repo.spend(batched, 3, t0)).toEqual({ granted: 0, remaining: 0 });
      await setCredits(batched, { remaining: 5 });
      expect(await repo.spend(batched, 1000, t0)).toEqual({
        granted: 5,
        remaining: 0,
        leaseVersion: ev(events),
      });
      expect((await repo.find(batched))?.credits?.remaining).toBe(0);
    });

    it('refuses k outside 1..MAX_SPEND_PER_STATEMENT, spending nothing', async () => {
      await setCredits(batched, { remaining: 10 });
      for (const k of [0, -1, 1.5, MAX_SPEND_PER_STATEMENT + 1])
        await expect(repo.spend(batched, k, t0)).rejects.toThrow(RangeError);
      expect((await repo.find(batched))?.credits?.remaining).toBe(10);
    });

    it('grants nothing to a token without credits, or without a row', async () => {
      await ds.transaction((m) =>
        repo.apply(
          m,
          {
            tokenId: batched,
            rateLimit: { limit: 5, windowSeconds: 60 },
            credits: null,
            changedAt: new Date(t0).toISOString(),
          },
          ev((events += 1)),
        ),
      );
      expect(await repo.spend(batched, 3, t0)).toEqual({ granted: 0, remaining: 0 });
      const unknown = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3fbfff';
      expect(await repo.spend(unknown, 3, t0)).toEqual({ granted: 0, remaining: 0 });
      expect(await repo.find(unknown)).toBeUndefined();
    });

    it('refills before granting: k uses after a period get least(k, refill amount)', async () => {
      await setCredits(batched, { remaining: 2, refill: { amount: 5, intervalSeconds: 60 } });
      expect(await repo.spend(batched, 3, t0 + 1000)).toEqual({ granted: 2, remaining: 0 });
      expect(await repo.spend(batched, 3, t0 + 59_999)).toEqual({ granted: 0, remaining: 0 });
      // The refill sets the balance to the amount (the 0 left does not carry over), then 3 of it.
      expect(await repo.spend(batched, 3, t0 + 60_000)).toEqual({ granted: 3, remaining: 2 });
      // Not refilled again within the period: the 2 left, then none.
      expect(await repo.spend(batched, 7, t0 + 119_999)).toEqual({ granted: 2, remaining: 0 });
      // 3.5 periods after t0 + 60 s: one refill (not one per period missed), capped by k.
      expect(await repo.spend(batched, 9, t0 + 270_000)).toEqual({ granted: 5, remaining: 0 });
      // Aligned to the period: the next refill is due at t0 + 300 s.
      expect(await repo.spend(batched, 1, t0 + 299_999)).toEqual({ granted: 0, remaining: 0 });
      expect(await repo.spend(batched, 1, t0 + 300_000)).toEqual({ granted: 1, remaining: 4 });
    });

    it('a reset (a newer PUT) sets the balance the next spend grants from', async () => {
      await setCredits(batched, { remaining: 3 });
      expect(await repo.spend(batched, 5, t0)).toMatchObject({ granted: 3, remaining: 0 });
      await setCredits(batched, { remaining: 2 });
      expect(await repo.spend(batched, 5, t0)).toMatchObject({ granted: 2, remaining: 0 });
    });

    it('refund gives a lease back only under the version it was granted in, without a refill', async () => {
      await setCredits(batched, { remaining: 100 });
      const lease = await repo.spend(batched, 30, t0);
      expect(lease).toEqual({ granted: 30, remaining: 70, leaseVersion: ev(events) });
      const version = lease.leaseVersion ?? '';
      expect(await repo.refund(batched, 12, version)).toBe(true);
      expect((await repo.find(batched))?.credits?.remaining).toBe(82);
      // After a reset the lease's credits are gone: a refund under the old version changes nothing.
      await setCredits(batched, { remaining: 5 });
      expect(await repo.refund(batched, 18, version)).toBe(false);
      expect((await repo.find(batched))?.credits?.remaining).toBe(5);
      // Credits with a refill are never leased, so nothing is refunded to them either.
      await setCredits(batched, { remaining: 5, refill: { amount: 5, intervalSeconds: 60 } });
      expect(await repo.spend(batched, 2, t0)).toEqual({ granted: 2, remaining: 3 });
      expect(await repo.refund(batched, 2, ev(events))).toBe(false);
      expect((await repo.find(batched))?.credits?.remaining).toBe(3);
      for (const n of [0, -1, 1.5, MAX_SPEND_PER_STATEMENT + 1])
        await expect(repo.refund(batched, n, ev(events))).rejects.toThrow(RangeError);
    });

    describe('from several connections at once', () => {
      let pool: DataSource[];
      beforeAll(async () => {
        pool = await Promise.all(
          Array.from({ length: 10 }, () =>
            new DataSource({
              type: 'postgres',
              url: db.appUrls.revocation,
              schema: 'revocation',
              extra: { max: 1 },
            }).initialize(),
          ),
        );
      });
      afterAll(async () => {
        await Promise.all(pool.map((p) => p.destroy()));
      });
      const repos = (): LimitsRepository[] =>
        pool.map((p) => new LimitsRepository(p, { DB_SCHEMA: 'revocation' } as RevocationConfig));

      it('never over-grants: 50 credits, 10 parallel spends of 7 grant exactly 50', async () => {
        await setCredits(batched, { remaining: 50 });
        const results = await Promise.all(repos().map((r) => r.spend(batched, 7, t0)));
        expect(results.reduce((n, r) => n + r.granted, 0)).toBe(50);
        for (const r of results) expect(r.granted).toBeLessThanOrEqual(7);
        // Serialized on the row: each statement left a different balance, from 43 down to 0.
        const granting = results.filter((r) => r.granted > 0);
        expect(new Set(granting.map((r) => r.remaining)).size).toBe(granting.length);
        expect(granting.map((r) => r.remaining + r.granted).sort((x, y) => y - x)[0]).toBe(50);
        expect((await repo.find(batched))?.credits?.remaining).toBe(0);
      });

      it('through SpendCoalescer on two instances: 20 credits, 30 uses on each, exactly 20 active in 4 statements', async () => {
        await setCredits(batched, { remaining: 20 });
        const statements: number[] = [];
        const instances = repos()
          .slice(0, 2)
          .map(
            (r) =>
              new SpendCoalescer((id, k, now) => {
                statements.push(k);
                return r.spend(id, k, now);
              }, MAX_SPEND_PER_STATEMENT),
          );
        const answers = await Promise.all(
          instances.flatMap((c) => Array.from({ length: 30 }, () => c.take(batched, t0))),
        );
        const active = answers.filter((a) => a !== undefined);
        expect(active).toHaveLength(20);
        expect(new Set(active)).toEqual(new Set(Array.from({ length: 20 }, (_, i) => i)));
        // Per instance: the first use alone, then one statement for the 29 queued behind it.
        expect(statements.sort((x, y) => x - y)).toEqual([1, 1, 29, 29]);
        expect((await repo.find(batched))?.credits?.remaining).toBe(0);
      });

      it('with leases on two instances: 100,000 credits, 3000 uses, every one active, none lost once released', async () => {
        const initial = 100_000;
        await setCredits(batched, { remaining: initial });
        const statements: number[] = [];
        const instances = repos()
          .slice(0, 2)
          .map(
            (r) =>
              new SpendCoalescer(
                (id, k, now) => {
                  statements.push(k);
                  return r.spend(id, k, now);
                },
                MAX_SPEND_PER_STATEMENT,
                { refund: (id, n, v) => r.refund(id, n, v), max: 100, divisor: 1000 },
              ),
          );
        // 30 waves of 50 uses on each instance, each wave at once.
        const answers: Array<number | undefined> = [];
        for (let wave = 0; wave < 30; wave++)
          answers.push(
            ...(await Promise.all(
              instances.flatMap((c) => Array.from({ length: 50 }, () => c.take(batched, t0))),
            )),
          );
        expect(answers.filter((a) => a === undefined)).toHaveLength(0);
        // Leases: far fewer statements than uses (without them, at least one per wave and instance).
        expect(statements.length).toBeLessThan(60);
        // Let the background lease statements in flight come back before counting.
        while (instances.some((c) => c.inFlight > 0)) await new Promise((r) => setTimeout(r, 5));
        const leased = instances.reduce((n, c) => n + c.leased, 0);
        expect(leased).toBeGreaterThan(0);
        const before = (await repo.find(batched))?.credits?.remaining;
        expect(before).toBe(initial - 3000 - leased);
        // Given back, the balance is exactly the credits not used.
        expect((await Promise.all(instances.map((c) => c.release()))).reduce((a, b) => a + b)).toBe(
          leased,
        );
        expect((await repo.find(batched))?.credits?.remaining).toBe(initial - 3000);
      });

      it('refills once under concurrency: 10 parallel spends of 2 after a period share one refill', async () => {
        await setCredits(batched, { remaining: 0, refill: { amount: 9, intervalSeconds: 60 } });
        const results = await Promise.all(repos().map((r) => r.spend(batched, 2, t0 + 61_000)));
        expect(results.reduce((n, r) => n + r.granted, 0)).toBe(9);
        expect((await repo.find(batched))?.credits?.remaining).toBe(0);
        // Still in the same period: the refill is not repeated.
        expect(await repo.spend(batched, 2, t0 + 119_000)).toEqual({ granted: 0, remaining: 0 });
      });
    });
  });
});
