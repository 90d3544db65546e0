import { migrateSchema } from '@tokenledger/sql';
import { APP_ROLES, freshDatabase, type TestDatabase } from '@tokenledger/testing';
import { DataSource } from 'typeorm';
import type { RevocationConfig } from '../config';
import { migrations } from '../migrations';
import { grants } from '../migrations/grants';
import { LimitsRepository } from './limits.repository';

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
    const spent = await Promise.all(Array.from({ length: 25 }, () => repo.spend(token, t0 + 1000)));
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
    expect(await repo.spend(token, t0 + 10_000)).toBe(0);
    expect(await repo.spend(token, t0 + 59_999)).toBeUndefined();
    // 2.5 periods later: one refill to 3 (not 3 per period missed), 8 concurrent uses get 3.
    const later = t0 + 150_000;
    const spent = await Promise.all(Array.from({ length: 8 }, () => repo.spend(token, later)));
    expect(spent.filter((x) => x !== undefined).sort()).toEqual([0, 1, 2]);
    // The next refill is due at t0 + 180 s (aligned), not 60 s after the refill.
    expect(await repo.spend(token, t0 + 179_000)).toBeUndefined();
    expect(await repo.spend(token, t0 + 180_000)).toBe(2);
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
    expect(await repo.spend(token, t0)).toBeUndefined();
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
    expect(await repo.spend(issuedToken, t0 + 1000)).toBe(2);
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
});
