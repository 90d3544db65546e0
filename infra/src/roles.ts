import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The apps, each with its own login role and schema. */
export const APP_NAMES = ['issuance', 'revocation', 'anomaly', 'ledger'] as const;
export type AppName = (typeof APP_NAMES)[number];

/** Owns every app schema and its tables; used only to migrate and grant. */
export const OWNER_ROLE = 'tokenledger_owner';
/** The role each app connects as (DATABASE_URL): not an owner, not a superuser, no DDL. */
export const APP_ROLES: Readonly<Record<AppName, string>> = {
  issuance: 'tokenledger_issuance',
  revocation: 'tokenledger_revocation',
  anomaly: 'tokenledger_anomaly',
  ledger: 'tokenledger_ledger',
};

/** The role names of an installation: `<prefix>_owner`, `<prefix>_<app>`. */
export function roleNames(prefix = 'tokenledger'): {
  owner: string;
  apps: Record<AppName, string>;
} {
  const apps = {} as Record<AppName, string>;
  for (const app of APP_NAMES) apps[app] = `${prefix}_${app}`;
  return { owner: `${prefix}_owner`, apps };
}

export interface ProvisionRolesOptions {
  /**
   * A superuser connection to the database the apps use (or, in production, a role with
   * CREATEROLE that owns that database). Only used here, never given to an app.
   */
  adminUrl: string;
  /** Passwords to set (as SCRAM-SHA-256 verifiers; the plaintext never reaches the server). */
  passwords?: Partial<Record<AppName | 'owner', string>>;
  /**
   * App schemas that may already exist owned by another role (an installation from before the
   * roles, migrated by the superuser): their ownership, and that of everything in them, moves to
   * the owner role.
   */
  adoptSchemas?: readonly string[];
  /** Role names `<prefix>_owner`, `<prefix>_<app>` (default `tokenledger`: OWNER_ROLE, APP_ROLES). */
  rolePrefix?: string;
}

export interface ProvisionedRoles {
  /** DATABASE_OWNER_URL of every app. */
  ownerUrl: string;
  /** DATABASE_URL of each app. */
  appUrls: Record<AppName, string>;
}

/** `url` with another user (and password, when given). */
export function roleUrl(url: string, role: string, password?: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = password ?? '';
  return u.toString();
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677, as `\password`
 * computes it client-side), so `ALTER ROLE ... PASSWORD` never carries the plaintext into a
 * statement the server may log. `password` is used as UTF-8 without SASLprep: keep passwords
 * ASCII (generated ones are).
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** True when `stored` (pg_authid.rolpassword) is the SCRAM verifier of `password`. */
export function scramMatches(stored: string | null, password: string): boolean {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(stored ?? '');
  if (!m) return false;
  return scramVerifier(password, Buffer.from(m[2] ?? '', 'base64'), Number(m[1])) === stored;
}

const ident = (name: string): string => {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`invalid role or schema "${name}"`);
  return `"${name}"`;
};

/** Catalog races between sessions of different databases (roles are cluster-wide): retried. */
const RACES = new Set(['XX000', '40001', '40P01', '23505', '42710']);

const ROLE_ATTRIBUTES = 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS';

async function ensureRole(client: Client, role: string, password?: string): Promise<void> {
  const r = ident(role);
  // CREATE ROLE has no IF NOT EXISTS; a racing session's role shows up as either error.
  await client.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${role}') THEN
        CREATE ROLE ${r} ${ROLE_ATTRIBUTES};
      END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END $$`);
  const { rows } = await client.query<{ ok: boolean }>(
    `SELECT rolcanlogin AND NOT (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls) AS ok
       FROM pg_roles WHERE rolname = $1`,
    [role],
  );
  // Only written when wrong: concurrent writes of one catalog row fail ("tuple concurrently updated").
  if (!rows[0]?.ok) await client.query(`ALTER ROLE ${r} WITH ${ROLE_ATTRIBUTES}`);
  if (password !== undefined) {
    const stored = await client
      .query<{ p: string | null }>('SELECT rolpassword AS p FROM pg_authid WHERE rolname = $1', [
        role,
      ])
      .then((res) => res.rows[0]?.p ?? null)
      .catch(() => null); // pg_authid is for superusers; then the password is always set
    if (!scramMatches(stored, password)) {
      await client.query(
        `ALTER ROLE ${r} PASSWORD ${client.escapeLiteral(scramVerifier(password))}`,
      );
    }
  }
}

async function adopt(client: Client, schema: string, ownerRole: string): Promise<void> {
  const owner = ident(ownerRole);
  const { rows: found } = await client.query<{ owner: string }>(
    'SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = $1',
    [schema],
  );
  if (found.length === 0) return;
  const s = ident(schema);
  if (found[0]?.owner !== ownerRole) await client.query(`ALTER SCHEMA ${s} OWNER TO ${owner}`);
  // Tables (their serial sequences follow them), then functions (trigger functions).
  const { rows: tables } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND pg_get_userbyid(c.relowner) <> $2`,
    [schema, ownerRole],
  );
  for (const t of tables) await client.query(`ALTER TABLE ${s}.${ident(t.name)} OWNER TO ${owner}`);
  const { rows: functions } = await client.query<{ signature: string }>(
    `SELECT p.oid::regprocedure::text AS signature FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = $1 AND pg_get_userbyid(p.proowner) <> $2`,
    [schema, ownerRole],
  );
  // regprocedure text is already qualified and quoted as needed.
  for (const f of functions) await client.query(`ALTER FUNCTION ${f.signature} OWNER TO ${owner}`);
}

async function provisionOnce(client: Client, options: ProvisionRolesOptions): Promise<void> {
  const names = roleNames(options.rolePrefix);
  const OWNER = names.owner;
  await client.query('BEGIN');
  try {
    // Serializes provisioning of this database; other databases' provisioning may still race on
    // the roles themselves, which the DO block and the retry absorb.
    await client.query("SELECT pg_advisory_xact_lock(hashtext('tokenledger:provision-roles'))");
    await ensureRole(client, OWNER, options.passwords?.owner);
    for (const app of APP_NAMES) {
      const role = names.apps[app];
      await ensureRole(client, role, options.passwords?.[app]);
      const { rows } = await client.query<{ member: boolean }>(
        `SELECT pg_has_role($1, $2, 'MEMBER') AS member`,
        [role, OWNER],
      );
      if (rows[0]?.member) await client.query(`REVOKE ${ident(OWNER)} FROM ${ident(role)}`);
    }
    const { rows: db } = await client.query<{ name: string; create: boolean; connect: boolean }>(
      `SELECT current_database() AS name,
              has_database_privilege($1, current_database(), 'CREATE') AS create,
              has_database_privilege($1, current_database(), 'CONNECT') AS connect`,
      [OWNER],
    );
    const database = ident(db[0]?.name ?? '');
    // The owner creates the app schemas; the app roles only connect (no CREATE on the database).
    if (!db[0]?.create || !db[0]?.connect)
      await client.query(`GRANT CONNECT, CREATE ON DATABASE ${database} TO ${ident(OWNER)}`);
    for (const app of APP_NAMES) {
      const role = names.apps[app];
      const { rows } = await client.query<{ connect: boolean; create: boolean; public: boolean }>(
        `SELECT has_database_privilege($1, current_database(), 'CONNECT') AS connect,
                has_database_privilege($1, current_database(), 'CREATE') AS create,
                EXISTS (SELECT FROM pg_namespace WHERE nspname = 'public')
                  AND has_schema_privilege($1, 'public', 'CREATE') AS public`,
        [role],
      );
      if (!rows[0]?.connect)
        await client.query(`GRANT CONNECT ON DATABASE ${database} TO ${ident(role)}`);
      if (rows[0]?.create)
        await client.query(`REVOKE CREATE ON DATABASE ${database} FROM PUBLIC, ${ident(role)}`);
      // Before PostgreSQL 15 everyone may create tables in `public`.
      if (rows[0]?.public) await client.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
    }
    for (const schema of options.adoptSchemas ?? []) await adopt(client, schema, OWNER);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Creates (or corrects) the owner role and the four app login roles, and gives the owner CREATE
 * on the database of `adminUrl`. Idempotent, and safe when several processes call it at once
 * (tests, replicas): an advisory lock per database, CREATE ROLE that tolerates a racing
 * session's role, catalog writes only when something is wrong, and retries of catalog races.
 * Returns the URLs each app gets (the admin URL's host and database, the roles' names and
 * passwords).
 */
export async function provisionRoles(options: ProvisionRolesOptions): Promise<ProvisionedRoles> {
  for (let attempt = 1; ; attempt += 1) {
    const client = new Client({ connectionString: options.adminUrl });
    await client.connect();
    try {
      await provisionOnce(client, options);
      break;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt >= 8 || !code || !RACES.has(code)) throw error;
      await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 50));
    } finally {
      await client.end();
    }
  }
  const names = roleNames(options.rolePrefix);
  const appUrls = {} as Record<AppName, string>;
  for (const app of APP_NAMES)
    appUrls[app] = roleUrl(options.adminUrl, names.apps[app], options.passwords?.[app]);
  return { ownerUrl: roleUrl(options.adminUrl, names.owner, options.passwords?.owner), appUrls };
}
