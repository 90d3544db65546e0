import { APP_ROLES, OWNER_ROLE, freshDatabase, type TestDatabase } from '@tokenledger/testing';
import { Client } from 'pg';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import type { ServiceConfig } from './config';
import { DatabaseNotReadyError, prepareDatabase, type AppDatabase } from './database';

class Things1700000000001 implements MigrationInterface {
  name = 'Things1700000000001';
  async up(q: QueryRunner): Promise<void> {
    await q.query(
      'CREATE TABLE issuance.things (id bigserial PRIMARY KEY, note text NOT NULL, hidden text)',
    );
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE issuance.things');
  }
}

class Extra1700000000002 implements MigrationInterface {
  name = 'Extra1700000000002';
  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE TABLE issuance.extra (id int PRIMARY KEY)');
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE issuance.extra');
  }
}

const database: AppDatabase = {
  migrations: [Things1700000000001],
  grants: { tables: { things: ['SELECT', 'INSERT', 'UPDATE (note)'] } },
};

describe('prepareDatabase (real PostgreSQL): migrate as the owner, run as the login role', () => {
  let db: TestDatabase;
  const lines: Array<[string, string]> = [];
  const log = {
    info: (m: string) => lines.push(['info', m]),
    warn: (m: string) => lines.push(['warn', m]),
  };
  const config = (over: Partial<ServiceConfig>): ServiceConfig =>
    ({ DB_SCHEMA: 'issuance', DB_MIGRATE: 'boot', ...over }) as ServiceConfig;

  async function as<T>(url: string, text: string): Promise<T[]> {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(text)).rows as T[];
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });
  beforeEach(() => lines.splice(0));

  it('DB_MIGRATE=off before any migration: refuses, naming what is pending', async () => {
    await expect(
      prepareDatabase(
        config({ DATABASE_URL: db.appUrls.issuance, DB_MIGRATE: 'off' }),
        database,
        log,
      ),
    ).rejects.toThrow(/lacks 1 migration\(s\) \(Things1700000000001\)/);
    await expect(
      prepareDatabase(
        config({ DATABASE_URL: db.appUrls.issuance, DB_MIGRATE: 'off' }),
        database,
        log,
      ),
    ).rejects.toBeInstanceOf(DatabaseNotReadyError);
  });

  it('with DATABASE_OWNER_URL: the owner migrates, the login role gets exactly the declared grants', async () => {
    await prepareDatabase(
      config({ DATABASE_URL: db.appUrls.issuance, DATABASE_OWNER_URL: db.ownerUrl }),
      database,
      log,
    );
    expect(lines.filter(([level]) => level === 'warn')).toEqual([]);
    expect(lines).toContainEqual([
      'info',
      `schema issuance migrated by ${OWNER_ROLE}; ${APP_ROLES.issuance} holds the app's grants`,
    ]);
    const url = db.appUrls.issuance;
    await as(url, `INSERT INTO issuance.things (note) VALUES ('a')`); // serial: sequence usage
    await as(url, `UPDATE issuance.things SET note = 'b'`);
    await expect(as(url, `UPDATE issuance.things SET hidden = 'x'`)).rejects.toThrow(
      /permission denied/,
    );
    await expect(as(url, 'DELETE FROM issuance.things')).rejects.toThrow(/permission denied/);
    await expect(as(url, 'CREATE TABLE issuance.mine (x int)')).rejects.toThrow(
      /permission denied/,
    );
    // The login role may read the migrations table, so DB_MIGRATE=off can check it.
    await prepareDatabase(config({ DATABASE_URL: url, DB_MIGRATE: 'off' }), database, log);
  });

  it('a new table without declared grants stops the boot, naming it; nothing half-granted', async () => {
    await expect(
      prepareDatabase(
        config({ DATABASE_URL: db.appUrls.issuance, DATABASE_OWNER_URL: db.ownerUrl }),
        { ...database, migrations: [Things1700000000001, Extra1700000000002] },
        log,
      ),
    ).rejects.toThrow(/table "extra" has no grants declared/);
    await expect(as(db.appUrls.issuance, 'SELECT * FROM issuance.extra')).rejects.toThrow(
      /permission denied/,
    );
  });

  it('without DATABASE_OWNER_URL, as a superuser: still boots, and warns twice', async () => {
    await prepareDatabase(config({ DATABASE_URL: db.url }), database, log);
    const warnings = lines.filter(([level]) => level === 'warn').map(([, m]) => m);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/a superuser/);
    expect(warnings[1]).toMatch(/DATABASE_OWNER_URL is not set: .* not least privilege/);
  });
});
