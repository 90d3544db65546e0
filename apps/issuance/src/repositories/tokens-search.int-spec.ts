import { randomBytes } from 'node:crypto';
import { uuidv7Ids, systemClock } from '@tokenledger/contracts';
import { migrateSchema } from '@tokenledger/sql';
import { APP_ROLES, freshDatabase, type TestDatabase } from '@tokenledger/testing';
import { DataSource } from 'typeorm';
import type { IssuanceConfig } from '../config';
import { migrations } from '../migrations';
import { grants } from '../migrations/grants';
import { TokensRepository, type TokenFilter } from './tokens.repository';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.now();
const at = (offset: number): string => new Date(NOW + offset).toISOString();
const R = 'operator:0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
const S = 'operator:0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c';

/** Five tokens that differ in every searchable field, named A-E in issue (tokenId) order. */
const FIXTURES = {
  A: {
    owner: ['service', 'billing'],
    name: 'billing-api',
    prefix: 'tlk_live_AAAA',
    scopes: ['billing:read'],
    labels: { team: 'payments' },
    status: 'active',
    expiresAt: at(DAY),
    issuedBy: R,
    usedAt: at(-2 * HOUR),
  },
  B: {
    owner: ['user', 'alice'],
    name: 'Alice laptop',
    prefix: 'tlk_live_BBBB',
    scopes: ['tokens:issue', 'ledger:read'],
    labels: { team: 'security' },
    status: 'active',
    expiresAt: at(10 * DAY),
    issuedBy: 'system',
    usedAt: undefined,
  },
  C: {
    owner: ['service', 'billing'],
    name: 'billing-worker',
    prefix: 'tlk_test_CCCC',
    scopes: ['billing:read', 'billing:write'],
    labels: { team: 'payments', env: 'prod' },
    status: 'revoked',
    expiresAt: at(30 * DAY),
    issuedBy: R,
    usedAt: at(-10 * DAY),
  },
  D: {
    owner: ['team', 'search'],
    name: 'search_100%',
    prefix: 'tlk_live_AAAB',
    scopes: ['search:read'],
    labels: {},
    status: 'expired',
    expiresAt: at(-DAY),
    issuedBy: S,
    usedAt: at(-HOUR),
  },
  E: {
    owner: ['user', 'bob'],
    name: 'bob',
    prefix: 'tlk_live_EEEE',
    scopes: ['bob:read'],
    labels: {},
    status: 'active',
    expiresAt: at(5 * DAY),
    issuedBy: S,
    usedAt: undefined,
  },
} as const;
type Name = keyof typeof FIXTURES;

describe('TokensRepository.list: the search of GET /v1/tokens (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let tokens: TokensRepository;
  const ids = {} as Record<Name, string>;
  const names = new Map<string, Name>();

  async function search(filter: Omit<TokenFilter, 'limit'>, limit = 100): Promise<Name[]> {
    const rows = await tokens.list({ ...filter, limit });
    return rows.map((r) => names.get(r.tokenId) ?? (r.tokenId as Name));
  }

  beforeAll(async () => {
    db = await freshDatabase();
    await migrateSchema({
      ownerUrl: db.ownerUrl,
      schema: 'issuance',
      migrations,
      grants,
      loginRole: APP_ROLES.issuance,
    });
    ds = await new DataSource({
      type: 'postgres',
      url: db.appUrls.issuance,
      schema: 'issuance',
    }).initialize();
    tokens = new TokensRepository(ds, { DB_SCHEMA: 'issuance' } as IssuanceConfig);
    const idSource = uuidv7Ids(systemClock);
    for (const [name, t] of Object.entries(FIXTURES) as Array<[Name, (typeof FIXTURES)[Name]]>) {
      const tokenId = idSource.next();
      ids[name] = tokenId;
      names.set(tokenId, name);
      await ds.query(
        `INSERT INTO issuance.tokens (token_id, token_hash, prefix, owner_type, owner_id, name, scopes,
           labels, issued_at, expires_at, status, issued_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [
          tokenId,
          randomBytes(32),
          t.prefix,
          t.owner[0],
          t.owner[1],
          t.name,
          t.scopes,
          JSON.stringify(t.labels),
          at(-60 * DAY),
          t.expiresAt,
          t.status,
          t.issuedBy,
        ],
      );
    }
    await ds.query(`UPDATE issuance.tokens SET rotated_to = $2 WHERE token_id = $1`, [
      ids.A,
      ids.E,
    ]);
    await tokens.recordLastUse(
      (Object.entries(FIXTURES) as Array<[Name, (typeof FIXTURES)[Name]]>).flatMap(([name, t]) =>
        t.usedAt ? [{ tokenId: ids[name], at: t.usedAt }] : [],
      ),
    );
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('no filter: every token, in issue order', async () => {
    expect(await search({})).toEqual(['A', 'B', 'C', 'D', 'E']);
  });

  it.each<[string, Omit<TokenFilter, 'limit'>, Name[]]>([
    ['ownerId', { ownerId: 'billing' }, ['A', 'C']],
    ['ownerType', { ownerType: 'user' }, ['B', 'E']],
    ['owner type and id together', { ownerType: 'service', ownerId: 'alice' }, []],
    ['label', { label: { key: 'team', value: 'payments' } }, ['A', 'C']],
    ['a second label', { label: { key: 'env', value: 'prod' } }, ['C']],
    ['status active', { status: 'active' }, ['A', 'B', 'E']],
    ['status revoked', { status: 'revoked' }, ['C']],
    ['status expired', { status: 'expired' }, ['D']],
    ['scope', { scope: 'billing:read' }, ['A', 'C']],
    ['scope is exact, not a pattern', { scope: 'billing:*' }, []],
    ['another scope', { scope: 'ledger:read' }, ['B']],
    ['name: substring', { name: 'billing' }, ['A', 'C']],
    ['name: case-insensitive', { name: 'ALICE' }, ['B']],
    ['name: % is literal', { name: '100%' }, ['D']],
    ['name: _ is literal', { name: '_' }, ['D']],
    ['prefix: starts with', { prefix: 'tlk_live_AAA' }, ['A', 'D']],
    ['prefix: exact', { prefix: 'tlk_live_AAAA' }, ['A']],
    ['prefix: other environment', { prefix: 'tlk_test' }, ['C']],
    ['prefix: not a substring', { prefix: 'AAAA' }, []],
    ['expiresBefore now', { expiresBefore: at(0) }, ['D']],
    ['expiresBefore in 6 days', { expiresBefore: at(6 * DAY) }, ['A', 'D', 'E']],
    ['lastUsedBefore a day ago', { lastUsedBefore: at(-DAY) }, ['C']],
    ['lastUsedAfter 3 hours ago', { lastUsedAfter: at(-3 * HOUR) }, ['A', 'D']],
    ['lastUsed between', { lastUsedAfter: at(-3 * HOUR), lastUsedBefore: at(-90 * 60_000) }, ['A']],
    ['createdBy an operator', { createdBy: S }, ['D', 'E']],
    ['createdBy system', { createdBy: 'system' }, ['B']],
    ['neverUsed', { neverUsed: true }, ['B', 'E']],
    ['rotated (A was replaced by E)', { rotated: true }, ['A']],
    ['never rotated', { rotated: false }, ['B', 'C', 'D', 'E']],
    ['issuedBefore after their issue', { issuedBefore: at(-30 * DAY) }, ['A', 'B', 'C', 'D', 'E']],
    ['issuedBefore before their issue', { issuedBefore: at(-90 * DAY) }, []],
    [
      'unrotated for 30 days',
      { rotated: false, issuedBefore: at(-30 * DAY) },
      ['B', 'C', 'D', 'E'],
    ],
    ['used at least once', { neverUsed: false }, ['A', 'C', 'D']],
    [
      'filters combine (AND)',
      { status: 'active', neverUsed: true, expiresBefore: at(6 * DAY) },
      ['E'],
    ],
  ])('%s', async (_what, filter, expected) => {
    expect(await search(filter)).toEqual(expected);
  });

  it.each<[Omit<TokenFilter, 'limit'>, Name[]]>([
    [{ sort: 'issuedAt', descending: true }, ['E', 'D', 'C', 'B', 'A']],
    [{ sort: 'expiresAt' }, ['D', 'A', 'E', 'B', 'C']],
    [{ sort: 'expiresAt', descending: true }, ['C', 'B', 'E', 'A', 'D']],
    // Never used sorts first (oldest), ties by tokenId.
    [{ sort: 'lastUsedAt' }, ['B', 'E', 'C', 'A', 'D']],
    [{ sort: 'lastUsedAt', descending: true }, ['D', 'A', 'C', 'E', 'B']],
  ])('sort %j, and the same order page by page (limit 2)', async (order, expected) => {
    expect(await search(order)).toEqual(expected);
    const paged: Name[] = [];
    let after: TokenFilter['after'];
    for (let page = 0; page < 5; page += 1) {
      const rows = await tokens.list({ ...order, limit: 2, ...(after ? { after } : {}) });
      paged.push(...rows.map((r) => names.get(r.tokenId) as Name));
      const last = rows[rows.length - 1];
      if (rows.length < 2 || !last) break;
      after = { key: last.sortKey, tokenId: last.tokenId };
    }
    expect(paged).toEqual(expected);
  });

  it('sort by name: ascending is descending reversed, and pages agree', async () => {
    const up = await search({ sort: 'name' });
    expect([...up].sort()).toEqual(['A', 'B', 'C', 'D', 'E']);
    expect(await search({ sort: 'name', descending: true })).toEqual([...up].reverse());
    const first = await tokens.list({ sort: 'name', limit: 3 });
    const last = first[2];
    if (!last) throw new Error('expected 3 rows');
    const rest = await tokens.list({
      sort: 'name',
      limit: 3,
      after: { key: last.sortKey, tokenId: last.tokenId },
    });
    expect([...first, ...rest].map((r) => names.get(r.tokenId))).toEqual(up);
  });

  it('the last use only moves forward (a redelivered or older use changes nothing)', async () => {
    await tokens.recordLastUse([
      { tokenId: ids.A, at: at(-5 * DAY) },
      { tokenId: ids.A, at: at(-3 * DAY) },
    ]);
    const [a] = await tokens.list({ prefix: 'tlk_live_AAAA', limit: 1 });
    expect(a?.lastUsedAt).toBe(FIXTURES.A.usedAt);
    await tokens.recordLastUse([{ tokenId: ids.A, at: at(-30 * 60_000) }]);
    const [moved] = await tokens.list({ prefix: 'tlk_live_AAAA', limit: 1 });
    expect(moved?.lastUsedAt).toBe(at(-30 * 60_000));
    expect(moved?.createdBy).toBe(R);
  });
});
