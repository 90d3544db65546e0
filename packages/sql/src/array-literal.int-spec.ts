import { freshDatabase, type TestDatabase } from '@tokenledger/testing';
import { DataSource } from 'typeorm';
import { arrayLiteral } from './array-literal';

describe('arrayLiteral (PostgreSQL array text, real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await freshDatabase();
    ds = await new DataSource({ type: 'postgres', url: db.url }).initialize();
  });
  afterAll(async () => {
    await ds.destroy();
    await db.drop();
  });

  it('round-trips strings that need quoting or escaping, empty strings, NULL-like text and real nulls', async () => {
    const values = [
      'plain',
      'with space',
      'comma,here',
      'quote"d',
      'back\\slash',
      '{brace}',
      '',
      'NULL',
      'null',
      'tab\there',
      'é ✓',
      null,
      'operator:0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
    ];
    const rows = await ds.query<Array<{ a: Array<string | null> }>>('SELECT $1::text[] AS a', [
      arrayLiteral(values),
    ]);
    expect(rows[0]?.a).toEqual(values);
  });

  it('writes numbers, uuids and timestamps that PostgreSQL parses into typed arrays', async () => {
    const rows = await ds.query<Array<{ n: string[]; u: Array<string | null>; t: Date[] }>>(
      'SELECT $1::bigint[] AS n, $2::uuid[] AS u, $3::timestamptz[] AS t',
      [
        arrayLiteral([0, 9007199254740991, -5]),
        arrayLiteral(['0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', undefined]),
        arrayLiteral(['2026-11-28T01:02:03.456Z']),
      ],
    );
    expect(rows[0]?.n).toEqual(['0', '9007199254740991', '-5']);
    expect(rows[0]?.u).toEqual(['0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', null]);
    expect(rows[0]?.t.map((d) => d.toISOString())).toEqual(['2026-11-28T01:02:03.456Z']);
  });
});
