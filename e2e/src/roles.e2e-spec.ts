import {
  APP_ROLES,
  OWNER_ROLE,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  type TestDatabase,
} from '@tokenledger/testing';
import { Client } from 'pg';
import { APP_NAMES, startSystem, type RunningSystem } from './system';

/** A table of each app's schema (made by its migrations), for the cross-schema attempts. */
const TABLE: Record<(typeof APP_NAMES)[number], string> = {
  issuance: 'tokens',
  revocation: 'token_status',
  anomaly: 'anomalies',
  ledger: 'leaves',
};

describe('database roles: the system runs as least-privilege login roles', () => {
  let db: TestDatabase;
  let system: RunningSystem;

  async function sql<T>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(text, params)).rows as T[];
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    db = await freshDatabase();
    system = await startSystem({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: kafkaBrokers(),
      TOPIC_PREFIX: freshTopicPrefix(),
    });
  }, 150_000);
  afterAll(async () => {
    await system?.stop();
    await db?.drop();
  }, 60_000);

  it('each app connects as its own role, its schema and tables belong to the owner, and no warning says otherwise', async () => {
    const sessions = await sql<{ app: string; role: string }>(
      db.url,
      `SELECT DISTINCT application_name AS app, usename AS role FROM pg_stat_activity
        WHERE datname = current_database() AND application_name LIKE 'tokenledger-%' ORDER BY 1`,
    );
    expect(sessions).toEqual(
      [...APP_NAMES].sort().map((app) => ({ app: `tokenledger-${app}`, role: APP_ROLES[app] })),
    );
    const owners = await sql<{ owner: string }>(
      db.url,
      `SELECT DISTINCT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = ANY($1)
       UNION SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY($1)`,
      [[...APP_NAMES]],
    );
    expect(owners).toEqual([{ owner: OWNER_ROLE }]);
    for (const app of APP_NAMES) {
      const output = system.apps[app].output.join('');
      expect(output).toContain(`holds the app's grants`);
      expect(output).not.toMatch(/DATABASE_OWNER_URL is not set|a superuser/);
    }
  });

  it("no app role can read, write or create in another app's schema, nor create in its own", async () => {
    for (const app of APP_NAMES) {
      const url = db.appUrls[app];
      await expect(sql(url, `SELECT count(*) FROM ${app}.${TABLE[app]}`)).resolves.toHaveLength(1);
      await expect(sql(url, `CREATE TABLE ${app}.extra (x int)`)).rejects.toThrow(
        /permission denied for schema/,
      );
      await expect(sql(url, `CREATE SCHEMA extra_${app}`)).rejects.toThrow(/permission denied/);
      await expect(sql(url, `CREATE TABLE public.extra_${app} (x int)`)).rejects.toThrow(
        /permission denied/,
      );
      for (const other of APP_NAMES.filter((o) => o !== app)) {
        for (const statement of [
          `SELECT count(*) FROM ${other}.${TABLE[other]}`,
          `DELETE FROM ${other}.outbox`,
          `INSERT INTO ${other}.inbox (consumer, event_id) VALUES ('x', gen_random_uuid())`,
        ]) {
          await expect(sql(url, statement)).rejects.toThrow(
            new RegExp(`permission denied for schema ${other}`),
          );
        }
      }
    }
  });
});
