import { migrateSchema } from '@tokenledger/sql';
import { APP_ROLES, freshDatabase, type TestDatabase } from '@tokenledger/testing';
import type { PinoLogger } from 'nestjs-pino';
import { systemClock } from '@tokenledger/contracts';
import { DataSource } from 'typeorm';
import type { RevocationConfig } from '../config';
import { migrations } from '../migrations';
import { grants } from '../migrations/grants';
import { DpopJtiRepository } from '../repositories/dpop-jti.repository';
import { DpopReplayStore } from './dpop-replay-store';

describe('DpopReplayStore (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let instanceA: DpopReplayStore;
  let instanceB: DpopReplayStore;

  beforeAll(async () => {
    db = await freshDatabase();
    // Migrated by the owner, reached as revocation's login role: as the app runs.
    const loginRole = APP_ROLES.revocation;
    await migrateSchema({
      ownerUrl: db.ownerUrl,
      schema: 'revocation',
      migrations,
      grants,
      loginRole,
    });
    ds = await new DataSource({
      type: 'postgres',
      url: db.appUrls.revocation,
      schema: 'revocation',
    }).initialize();
    const logger = { warn: () => undefined } as unknown as PinoLogger;
    const config = { DB_SCHEMA: 'revocation' } as RevocationConfig;
    instanceA = new DpopReplayStore(new DpopJtiRepository(ds, config), logger, systemClock);
    instanceB = new DpopReplayStore(new DpopJtiRepository(ds, config), logger, systemClock);
  });
  afterAll(async () => {
    await ds.destroy();
    await db.drop();
  });

  const token = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
  const other = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c';

  it('a jti accepted by one instance is a replay at another; per token; concurrent checks let exactly one through', async () => {
    const until = Date.now() + 60_000;
    expect(await instanceA.isReplay(token, 'j1', until)).toBe(false);
    expect(await instanceB.isReplay(token, 'j1', until)).toBe(true);
    expect(await instanceA.isReplay(token, 'j1', until)).toBe(true);
    expect(await instanceB.isReplay(other, 'j1', until)).toBe(false); // another token's proof may reuse the id
    const race = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? instanceA : instanceB).isReplay(token, 'j2', until),
      ),
    );
    expect(race.filter((replay) => !replay)).toHaveLength(1);
  });

  it('sweeps only the jtis whose window has ended', async () => {
    const now = Date.now();
    await instanceA.isReplay(token, 'old', now - 1000);
    await instanceA.isReplay(token, 'fresh', now + 60_000);
    expect(await instanceA.sweep(new Date(now))).toBe(1);
    const left = await ds.query<Array<{ jti: string }>>(
      "SELECT jti FROM revocation.dpop_jtis WHERE jti IN ('old', 'fresh')",
    );
    expect(left).toEqual([{ jti: 'fresh' }]);
  });
});
