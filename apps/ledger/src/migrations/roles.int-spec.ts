import { buildEvent, encodeEvent, uuidv7 } from '@tokenledger/contracts';
import { migrateSchema } from '@tokenledger/sql';
import { APP_ROLES, OWNER_ROLE, freshDatabase, type TestDatabase } from '@tokenledger/testing';
import { DataSource } from 'typeorm';
import type { LedgerConfig } from '../config';
import { LedgerRepository } from '../repositories/ledger.repository';
import { SigningKeyRepository } from '../repositories/signing-key.repository';
import { AppenderService } from '../services/appender.service';
import { grants } from './grants';
import { migrations } from '.';

/** The ledger's tables whose rows its role may change (every other table is evidence). */
const MUTABLE = ['logs', 'replays', 'outbox', 'inbox', 'migrations'];

function records(n: number, start: number) {
  return Array.from({ length: n }, (_, i) => {
    const event = buildEvent({
      type: 'tokenledger.token.expired.v1',
      source: '/tokenledger/test',
      actor: 'system',
      data: { tokenId: uuidv7(), expiredAt: '2026-11-28T00:00:00.000Z' },
    });
    return {
      offset: start + i,
      timestamp: 1_800_000_000_000 + start + i,
      value: encodeEvent(event),
    };
  });
}

describe('the ledger as its login role (tokenledger_ledger), real PostgreSQL', () => {
  let db: TestDatabase;
  let app: DataSource;
  let owner: DataSource;
  let superuser: DataSource;
  let repository: LedgerRepository;
  let evidence: string[];

  beforeAll(async () => {
    db = await freshDatabase();
    const migrated = await migrateSchema({
      ownerUrl: db.ownerUrl,
      schema: 'ledger',
      migrations,
      grants,
      loginRole: APP_ROLES.ledger,
    });
    expect(migrated).toEqual({ owner: OWNER_ROLE, granted: true });
    app = await new DataSource({
      type: 'postgres',
      url: db.appUrls.ledger,
      schema: 'ledger',
    }).initialize();
    owner = await new DataSource({ type: 'postgres', url: db.ownerUrl }).initialize();
    superuser = await new DataSource({ type: 'postgres', url: db.url }).initialize();
    repository = new LedgerRepository(app, { DB_SCHEMA: 'ledger' } as LedgerConfig);
    // Rows in every evidence table, written through the ledger's own code paths.
    const appender = new AppenderService(repository);
    expect((await appender.append('t.roles', 0, records(4, 0))).appended).toBe(4);
    const keys = new SigningKeyRepository(app, { DB_SCHEMA: 'ledger' } as LedgerConfig);
    await app.transaction((m) =>
      keys.activate(m, 'tokenledger.local/ledger', 'tokenledger.local/ledger+00000000+AAAA'),
    );
    await app.transaction((m) =>
      repository.insertCheckpoint(m, {
        logId: 't.roles-0',
        size: 4,
        rootHash: Buffer.alloc(32, 1),
        note: 'note',
        keyName: 'tokenledger.local/ledger',
      }),
    );
    const tables = await superuser.query<Array<{ t: string }>>(
      `SELECT relname AS t FROM pg_class WHERE relnamespace = 'ledger'::regnamespace AND relkind = 'r' ORDER BY 1`,
    );
    evidence = tables.map((r) => r.t).filter((t) => !MUTABLE.includes(t));
  });
  afterAll(async () => {
    for (const ds of [app, owner, superuser]) await ds?.destroy();
    await db?.drop();
  });

  const count = async (table: string): Promise<number> => {
    const [row] = await superuser.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM ledger.${table}`,
    );
    return row?.n ?? -1;
  };

  it('is an ordinary login role: not a superuser, not the owner, not a member of it, no CREATE anywhere', async () => {
    const [me] = await app.query<Array<Record<string, unknown>>>(
      `SELECT current_user AS u, r.rolsuper AS super, r.rolcreaterole AS createrole, r.rolcreatedb AS createdb,
              pg_has_role(current_user, $1, 'MEMBER') AS member,
              has_schema_privilege('ledger', 'CREATE') AS create_in_schema,
              has_database_privilege(current_database(), 'CREATE') AS create_in_database,
              (SELECT count(*)::int FROM pg_class WHERE relowner = r.oid) AS owns
         FROM pg_roles r WHERE r.rolname = current_user`,
      [OWNER_ROLE],
    );
    expect(me).toEqual({
      u: APP_ROLES.ledger,
      super: false,
      createrole: false,
      createdb: false,
      member: false,
      create_in_schema: false,
      create_in_database: false,
      owns: 0,
    });
    expect(evidence).toEqual(
      expect.arrayContaining([
        'checkpoints',
        'cosignatures',
        'event_ids',
        'leaves',
        'signing_key_events',
        'signing_keys',
      ]),
    );
    // (event_ids is frozen since migration 311, which moved the duplicate index into leaves: it
    // only holds rows of logs written before, and keeps its guards.)
    for (const table of ['leaves', 'checkpoints', 'signing_keys', 'signing_key_events'])
      expect(await count(table)).toBeGreaterThan(0);
    await expect(app.query('CREATE TABLE ledger.mine (x int)')).rejects.toThrow(
      /permission denied/,
    );
    await expect(app.query(`SET ROLE ${OWNER_ROLE}`)).rejects.toThrow(/permission denied/);
  });

  it('cannot UPDATE any column, DELETE or TRUNCATE any evidence table; rows stay', async () => {
    for (const table of evidence) {
      const before = await count(table);
      const columns = await superuser.query<Array<{ c: string }>>(
        `SELECT column_name AS c FROM information_schema.columns WHERE table_schema = 'ledger' AND table_name = $1`,
        [table],
      );
      expect(columns.length).toBeGreaterThan(0);
      for (const { c } of columns) {
        await expect(app.query(`UPDATE ledger.${table} SET "${c}" = "${c}"`)).rejects.toThrow(
          /permission denied/,
        );
      }
      await expect(app.query(`DELETE FROM ledger.${table}`)).rejects.toThrow(/permission denied/);
      await expect(app.query(`TRUNCATE ledger.${table}`)).rejects.toThrow(/permission denied/);
      expect(await count(table)).toBe(before);
    }
  });

  it('cannot DISABLE TRIGGER, ALTER, DROP or GRANT itself privileges on any ledger table', async () => {
    for (const table of [...evidence, 'logs']) {
      await expect(app.query(`ALTER TABLE ledger.${table} DISABLE TRIGGER USER`)).rejects.toThrow(
        /must be owner/,
      );
      await expect(app.query(`ALTER TABLE ledger.${table} ADD COLUMN x int`)).rejects.toThrow(
        /must be owner/,
      );
      await expect(app.query(`ALTER TABLE ledger.${table} OWNER TO CURRENT_USER`)).rejects.toThrow(
        /must be owner/,
      );
      await expect(app.query(`DROP TABLE ledger.${table}`)).rejects.toThrow(/must be owner/);
      // Holding SELECT without grant option, GRANT only warns ("no privileges were granted"):
      // what counts is that afterwards the role still holds none of them.
      await app
        .query(`GRANT ALL ON ledger.${table} TO CURRENT_USER, PUBLIC`)
        .catch(() => undefined);
      const [held] = await superuser.query<Array<Record<string, boolean>>>(
        `SELECT has_table_privilege($1, $2, 'UPDATE') AS update, has_table_privilege($1, $2, 'DELETE') AS delete,
                has_table_privilege($1, $2, 'TRUNCATE') AS truncate, has_table_privilege($1, $2, 'TRIGGER') AS trigger,
                has_table_privilege($1, $2, 'SELECT WITH GRANT OPTION') AS grant_option`,
        [APP_ROLES.ledger, `ledger.${table}`],
      );
      expect({ table, ...held }).toEqual({
        table,
        // (logs' column UPDATE of its head does not count here: it is not a table privilege.)
        update: false,
        delete: false,
        truncate: false,
        trigger: false,
        grant_option: false,
      });
    }
    await expect(app.query(`GRANT ${OWNER_ROLE} TO CURRENT_USER`)).rejects.toThrow(
      /permission denied|must have admin option/,
    );
  });

  it('moves the log head forward through its guarded path, and never back', async () => {
    const head = await repository.head('t.roles-0');
    expect(head?.size).toBe(4);
    // Growing: the appender's own UPDATE of the head.
    const appender = new AppenderService(repository);
    expect(await appender.append('t.roles', 0, records(2, 4))).toMatchObject({
      size: 6,
      nextOffset: 6,
    });
    // Shrinking, as the ledger's role: refused by the owner's trigger.
    await expect(
      app.query(`UPDATE ledger.logs SET size = 3, next_offset = 3 WHERE log_id = 't.roles-0'`),
    ).rejects.toThrow(/never shrinks/);
    await expect(
      app.query(`UPDATE ledger.logs SET next_offset = 2 WHERE log_id = 't.roles-0'`),
    ).rejects.toThrow(/never shrinks/);
    await expect(
      app.query(`UPDATE ledger.logs SET root_hash = '\\x00'::bytea WHERE log_id = 't.roles-0'`),
    ).rejects.toThrow(/never change/);
    // Columns outside the head: no privilege. No DELETE, no TRUNCATE.
    await expect(
      app.query(`UPDATE ledger.logs SET topic = 'other' WHERE log_id = 't.roles-0'`),
    ).rejects.toThrow(/permission denied/);
    await expect(app.query(`DELETE FROM ledger.logs`)).rejects.toThrow(/permission denied/);
    await expect(app.query(`TRUNCATE ledger.logs`)).rejects.toThrow(/permission denied/);
    // The owner is refused too: the trigger, and no DELETE or TRUNCATE privilege.
    await expect(
      owner.query(`UPDATE ledger.logs SET size = 0, next_offset = 0 WHERE log_id = 't.roles-0'`),
    ).rejects.toThrow(/never shrinks/);
    await expect(owner.query(`DELETE FROM ledger.logs`)).rejects.toThrow(/permission denied/);
    await expect(owner.query(`TRUNCATE ledger.leaves`)).rejects.toThrow(/permission denied/);
    expect((await repository.head('t.roles-0'))?.size).toBe(6);
  });

  it('re-applying the grants changes nothing (idempotent) and the role still works', async () => {
    const acl = async (): Promise<unknown> =>
      superuser.query(
        `SELECT c.relname, c.relacl::text, (SELECT array_agg(attname || ':' || attacl::text ORDER BY attname)
                  FROM pg_attribute WHERE attrelid = c.oid AND attacl IS NOT NULL) AS columns
           FROM pg_class c WHERE c.relnamespace = 'ledger'::regnamespace ORDER BY 1`,
      );
    const before = await acl();
    await migrateSchema({
      ownerUrl: db.ownerUrl,
      schema: 'ledger',
      migrations,
      grants,
      loginRole: APP_ROLES.ledger,
    });
    expect(await acl()).toEqual(before);
    const appender = new AppenderService(repository);
    expect(await appender.append('t.roles', 0, records(1, 6))).toMatchObject({ size: 7 });
  });
});
