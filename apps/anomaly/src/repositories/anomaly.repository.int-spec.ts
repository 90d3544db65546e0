import { migrateSchema } from '@tokenledger/sql';
import { APP_ROLES, freshDatabase, type TestDatabase } from '@tokenledger/testing';
import { DataSource } from 'typeorm';
import type { AnomalyConfig } from '../config';
import type { Finding } from '../domain/detector';
import { migrations } from '../migrations';
import { grants } from '../migrations/grants';
import { AnomalyRepository } from './anomaly.repository';

describe('AnomalyRepository (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let repo: AnomalyRepository;
  const id = (n: number): string =>
    `0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4${String(n).padStart(3, '0')}`;
  const finding = (n: number, evidence: string[] = [id(900 + n)]): Finding => ({
    anomalyId: id(n),
    rule: 'new-network',
    severity: 'low',
    action: 'alert',
    tokenId: id(500),
    evidence,
    detectedAt: `2026-12-01T00:00:0${n % 10}.123Z`,
    summary: `finding ${n}`,
  });

  beforeAll(async () => {
    db = await freshDatabase();
    await migrateSchema({
      ownerUrl: db.ownerUrl,
      schema: 'anomaly',
      migrations,
      grants,
      loginRole: APP_ROLES.anomaly,
    });
    ds = await new DataSource({
      type: 'postgres',
      url: db.appUrls.anomaly,
      schema: 'anomaly',
      extra: { max: 4 },
    }).initialize();
    repo = new AnomalyRepository(ds, { DB_SCHEMA: 'anomaly' } as AnomalyConfig);
  });
  afterAll(async () => {
    await ds.destroy();
    await db.drop();
  });

  it('records findings in one call and returns only those not recorded before', async () => {
    const first = await ds.transaction((m) =>
      repo.insertFindings(m, [finding(1), finding(2, [id(901), id(902)]), finding(1)]),
    );
    expect(first.map((f) => f.anomalyId)).toEqual([id(1), id(2)]);
    const again = await ds.transaction((m) => repo.insertFindings(m, [finding(2), finding(3)]));
    expect(again.map((f) => f.anomalyId)).toEqual([id(3)]);
    const stored = await repo.find(id(2));
    expect(stored).toMatchObject({
      rule: 'new-network',
      evidence: [id(901), id(902)],
      detectedAt: '2026-12-01T00:00:02.123Z',
      summary: 'finding 2',
    });
  });

  it('serializes two transactions that name the same token, and the second sees the first', async () => {
    const token = id(600);
    const other = id(601);
    const first = ds.createQueryRunner();
    await first.connect();
    await first.startTransaction();
    try {
      await repo.lockTokens(first.manager, [token]);
      await repo.addPendingRevoke(first.manager, {
        anomalyId: id(10),
        tokenId: token,
        reporter: 'service:a',
        causeEventId: id(11),
      });
      // A batch on other tokens does not wait.
      await ds.transaction((m) => repo.lockTokens(m, [other]));
      let taken: Array<{ anomalyId: string }> | undefined;
      const second = ds.transaction(async (m) => {
        await repo.lockTokens(m, [other, token]);
        taken = await repo.takePendingRevokes(m, [token]);
      });
      // The second transaction is queued behind the first's lock (PostgreSQL says so).
      for (;;) {
        const [row] = await ds.query<Array<{ waiting: number }>>(
          `SELECT count(*)::int AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`,
        );
        if ((row?.waiting ?? 0) > 0) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(taken).toBeUndefined();
      await first.commitTransaction();
      await second;
      expect(taken?.map((t) => t.anomalyId)).toEqual([id(10)]);
    } finally {
      await first.release();
    }
  });
});
