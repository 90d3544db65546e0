import {
  migrateSchema,
  pendingMigrations,
  type MigrationClass,
  type SchemaGrants,
} from '@tokenledger/sql';
import { Client } from 'pg';
import type { ServiceConfig } from './config';

/** An app's database: its migrations (in order) and what its login role may do in its schema. */
export interface AppDatabase {
  migrations: readonly MigrationClass[];
  grants: SchemaGrants;
}

export interface DatabaseLog {
  info(message: string): void;
  warn(message: string): void;
}

/** Who DATABASE_URL logs in as. */
async function loginOf(url: string): Promise<{ role: string; superuser: boolean }> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ role: string; superuser: boolean }>(
      'SELECT current_user AS role, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user',
    );
    const [row] = rows;
    if (!row) throw new Error('the role of DATABASE_URL is not in pg_roles');
    return row;
  } finally {
    await client.end();
  }
}

/**
 * The database is not in the state this app needs, and the message says what to do (e.g. a
 * pending migration with `DB_MIGRATE=off`). Printed at boot as one line, without a stack.
 */
export class DatabaseNotReadyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseNotReadyError';
  }
}

async function checkCurrent(url: string, schema: string, database: AppDatabase): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const pending = await pendingMigrations(
      async <T>(sql: string) => (await client.query(sql)).rows as T,
      schema,
      database.migrations,
    );
    if (pending.length > 0) {
      throw new DatabaseNotReadyError(
        `DB_MIGRATE=off, but schema ${schema} lacks ${pending.length} migration(s) (${pending.join(', ')}): run the app once with DB_MIGRATE=only and DATABASE_OWNER_URL`,
      );
    }
  } finally {
    await client.end();
  }
}

/**
 * Before the app connects: its schema exists, is migrated and its login role (DATABASE_URL) holds
 * exactly the grants of `database`, all done as the owner (DATABASE_OWNER_URL). With
 * `DB_MIGRATE=off` only checks, as the login role, that no migration is pending.
 */
export async function prepareDatabase(
  config: ServiceConfig,
  database: AppDatabase,
  log: DatabaseLog,
): Promise<void> {
  const login = await loginOf(config.DATABASE_URL);
  if (login.superuser) {
    log.warn(
      `DATABASE_URL logs in as ${login.role}, a superuser: the ledger's append-only protection does not hold against it (see docs/design/operations.md, database roles)`,
    );
  }
  if (config.DB_MIGRATE === 'off') {
    await checkCurrent(config.DATABASE_URL, config.DB_SCHEMA, database);
    return;
  }
  if (!config.DATABASE_OWNER_URL) {
    log.warn(
      `DATABASE_OWNER_URL is not set: ${login.role} (DATABASE_URL) migrates and owns schema ${config.DB_SCHEMA}, which is not least privilege: an owner can grant itself any privilege and disable triggers (see docs/design/operations.md, database roles)`,
    );
  }
  const migrated = await migrateSchema({
    ownerUrl: config.DATABASE_OWNER_URL ?? config.DATABASE_URL,
    schema: config.DB_SCHEMA,
    migrations: database.migrations,
    grants: database.grants,
    loginRole: login.role,
  });
  if (config.DATABASE_OWNER_URL && !migrated.granted) {
    log.warn(
      `DATABASE_OWNER_URL and DATABASE_URL are the same role (${login.role}): nothing granted, not least privilege`,
    );
  }
  log.info(
    `schema ${config.DB_SCHEMA} migrated by ${migrated.owner}${migrated.granted ? `; ${login.role} holds the app's grants` : ''}`,
  );
}
