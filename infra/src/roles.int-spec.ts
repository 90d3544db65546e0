import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { createDatabaseIfMissing, withDatabase } from './postgres';
import { APP_NAMES, APP_ROLES, OWNER_ROLE, provisionRoles, roleNames, scramMatches } from './roles';

/** The machine's server (tests run against the one PostgreSQL the global setup found). */
const ADMIN =
  process.env.TL_TEST_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function query<T>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('provisionRoles (real PostgreSQL)', () => {
  const names = Array.from({ length: 3 }, () => `tl_roles_${randomBytes(4).toString('hex')}`);
  const urls = names.map((n) => withDatabase(ADMIN, n));
  // Tests that change roles use their own installation's names, never the shared tokenledger_*.
  const rolePrefix = `tl_roles_${randomBytes(4).toString('hex')}`;
  const own = roleNames(rolePrefix);
  const ownRoles = [own.owner, ...Object.values(own.apps)];

  beforeAll(async () => {
    for (const n of names) await createDatabaseIfMissing(ADMIN, n);
  });
  afterAll(async () => {
    for (const n of names) await query(ADMIN, `DROP DATABASE IF EXISTS "${n}" WITH (FORCE)`);
    for (const role of ownRoles) await query(ADMIN, `DROP ROLE IF EXISTS ${role}`);
  });

  it('is idempotent under concurrent calls, in one database and across databases', async () => {
    const results = await Promise.all(
      [...urls, ...urls, ...urls].map((adminUrl) => provisionRoles({ adminUrl })),
    );
    expect(results).toHaveLength(9);
    const roles = await query<Record<string, unknown>>(
      ADMIN,
      `SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls
         FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname`,
      [[OWNER_ROLE, ...Object.values(APP_ROLES)]],
    );
    expect(roles).toHaveLength(5);
    for (const role of roles) {
      expect(role).toMatchObject({
        rolcanlogin: true,
        rolsuper: false,
        rolcreatedb: false,
        rolcreaterole: false,
        rolreplication: false,
        rolbypassrls: false,
      });
    }
    for (const url of urls) {
      const [db] = await query<Record<string, boolean>>(
        url,
        `SELECT has_database_privilege($1, current_database(), 'CREATE') AS owner_create,
                bool_or(has_database_privilege(r, current_database(), 'CREATE')) AS app_create,
                bool_and(has_database_privilege(r, current_database(), 'CONNECT')) AS app_connect,
                bool_or(pg_has_role(r, $1, 'MEMBER')) AS app_member_of_owner
           FROM unnest($2::text[]) AS r`,
        [OWNER_ROLE, Object.values(APP_ROLES)],
      );
      expect(db).toEqual({
        owner_create: true,
        app_create: false,
        app_connect: true,
        app_member_of_owner: false,
      });
    }
    // The URLs handed out name the roles, on the database provisioned.
    expect(new URL(results[0]?.appUrls.ledger ?? '').username).toBe(APP_ROLES.ledger);
    expect(new URL(results[0]?.ownerUrl ?? '').pathname).toBe(`/${names[0]}`);
  });

  it('corrects a role given too much, and sets passwords as SCRAM verifiers without churn', async () => {
    const url = urls[0] ?? '';
    await provisionRoles({ adminUrl: url, rolePrefix });
    await query(ADMIN, `ALTER ROLE ${own.apps.ledger} CREATEDB CREATEROLE`);
    await query(ADMIN, `GRANT ${own.owner} TO ${own.apps.ledger}`);
    const passwords = Object.fromEntries(
      ['owner', ...APP_NAMES].map((who) => [who, `pw-${who}-${randomBytes(6).toString('hex')}`]),
    );
    const { appUrls } = await provisionRoles({ adminUrl: url, passwords, rolePrefix });
    expect(decodeURIComponent(new URL(appUrls.ledger).password)).toBe(passwords.ledger);
    const [ledger] = await query<Record<string, unknown>>(
      url,
      `SELECT rolcreatedb, rolcreaterole, pg_has_role(rolname, $2, 'MEMBER') AS member
         FROM pg_roles WHERE rolname = $1`,
      [own.apps.ledger, own.owner],
    );
    expect(ledger).toEqual({ rolcreatedb: false, rolcreaterole: false, member: false });
    const stored = async (): Promise<Record<string, string>> =>
      Object.fromEntries(
        (
          await query<{ rolname: string; rolpassword: string }>(
            ADMIN,
            'SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY($1)',
            [[own.owner, ...Object.values(own.apps)]],
          )
        ).map((r) => [r.rolname, r.rolpassword]),
      );
    const first = await stored();
    expect(scramMatches(first[own.owner] ?? null, passwords.owner ?? '')).toBe(true);
    for (const app of APP_NAMES)
      expect(scramMatches(first[own.apps[app]] ?? null, passwords[app] ?? '')).toBe(true);
    await provisionRoles({ adminUrl: url, passwords, rolePrefix });
    expect(await stored()).toEqual(first); // same passwords: nothing rewritten
    const rotated = { ...passwords, ledger: 'rotated-password' };
    await provisionRoles({ adminUrl: url, passwords: rotated, rolePrefix });
    const after = await stored();
    expect(scramMatches(after[own.apps.ledger] ?? null, 'rotated-password')).toBe(true);
    expect(after[own.apps.issuance]).toBe(first[own.apps.issuance]);
  });

  it('adopts an app schema a superuser created before the roles existed', async () => {
    const url = urls[1] ?? '';
    await query(url, 'CREATE SCHEMA ledger');
    await query(url, 'CREATE TABLE ledger.leaves (idx bigserial PRIMARY KEY)');
    await query(
      url,
      `CREATE FUNCTION ledger.reject_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`,
    );
    await provisionRoles({ adminUrl: url, adoptSchemas: ['ledger', 'issuance'], rolePrefix });
    const owners = await query<{ what: string; owner: string }>(
      url,
      `SELECT 'schema' AS what, pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = 'ledger'
       UNION ALL SELECT relkind::text, pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = 'ledger'::regnamespace AND relkind IN ('r', 'S')
       UNION ALL SELECT 'function', pg_get_userbyid(proowner) FROM pg_proc WHERE pronamespace = 'ledger'::regnamespace
       ORDER BY 1`,
    );
    expect(owners.map((o) => o.what)).toEqual(['S', 'function', 'r', 'schema']);
    for (const o of owners) expect(o.owner).toBe(own.owner);
  });
});
