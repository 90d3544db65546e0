import { freshDatabase, type TestDatabase } from '@tokenledger/testing';
import { uuidv7 } from '@tokenledger/contracts';
import type { DataSource } from 'typeorm';
import { markProcessed, markProcessedMany } from './inbox';
import { SCHEMA, migratedDataSource } from '../test/fixtures';

describe('the inbox (real PostgreSQL)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    db = await freshDatabase();
    dataSource = await migratedDataSource(db.url);
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  it('markProcessedMany marks a batch in one statement and returns only the new ids, once each', async () => {
    const [a, b, c] = [uuidv7(), uuidv7(), uuidv7()];
    expect(await markProcessed(dataSource.manager, SCHEMA, 'detector', a)).toBe(true);
    // a was processed before; b is given twice; c is new.
    const fresh = await dataSource.transaction((m) =>
      markProcessedMany(m, SCHEMA, 'detector', [a, b, c, b]),
    );
    expect([...fresh].sort()).toEqual([b, c].sort());
    // All three are marked now, for this consumer only.
    expect(await markProcessedMany(dataSource.manager, SCHEMA, 'detector', [a, b, c])).toEqual(
      new Set(),
    );
    expect(await markProcessedMany(dataSource.manager, SCHEMA, 'other', [a])).toEqual(new Set([a]));
    expect(await markProcessedMany(dataSource.manager, SCHEMA, 'detector', [])).toEqual(new Set());
  });

  it('a rolled-back batch marks nothing', async () => {
    const id = uuidv7();
    await expect(
      dataSource.transaction(async (m) => {
        await markProcessedMany(m, SCHEMA, 'detector', [id]);
        throw new Error('the effect failed');
      }),
    ).rejects.toThrow('the effect failed');
    expect(await markProcessedMany(dataSource.manager, SCHEMA, 'detector', [id])).toEqual(
      new Set([id]),
    );
  });
});
