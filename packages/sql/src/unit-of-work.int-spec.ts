import { freshDatabase, type TestDatabase } from '@tokenledger/testing';
import { DataSource } from 'typeorm';
import { UnitOfWork } from './unit-of-work';

describe('UnitOfWork (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let uow: UnitOfWork;

  beforeAll(async () => {
    db = await freshDatabase();
    ds = await new DataSource({ type: 'postgres', url: db.url }).initialize();
    await ds.query('CREATE TABLE t (v int)');
    uow = new UnitOfWork(ds);
  });
  afterAll(async () => {
    await ds.destroy();
    await db.drop();
  });

  const values = async () =>
    (await ds.query<Array<{ v: number }>>('SELECT v FROM t ORDER BY v')).map((r) => r.v);

  it('commits every statement of the unit when it resolves, and returns its result', async () => {
    const out = await uow.run(async (tx) => {
      await tx.query('INSERT INTO t VALUES (1)');
      await tx.query('INSERT INTO t VALUES (2)');
      return 'done';
    });
    expect(out).toBe('done');
    expect(await values()).toEqual([1, 2]);
  });

  it('rolls back every statement of the unit when it rejects, and passes the rejection on', async () => {
    await expect(
      uow.run(async (tx) => {
        await tx.query('INSERT INTO t VALUES (3)');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await values()).toEqual([1, 2]);
  });
});
