import { DataSource, type MigrationInterface } from 'typeorm';
import { applySchemaGrants, MIGRATIONS_TABLE, type SchemaGrants } from './grants';
import { quoteIdent } from './sql';

export type MigrationClass = new () => MigrationInterface;

export interface MigrateSchemaOptions {
  /** Connection of the role that owns the schema: it creates it, migrates it and grants. */
  ownerUrl: string;
  schema: string;
  /** In order. */
  migrations: readonly MigrationClass[];
  grants: SchemaGrants;
  /** The app's login role (its `current_user`), which gets `grants`. */
  loginRole: string;
}

export interface MigratedSchema {
  /** `current_user` of the owner connection. */
  owner: string;
  /** False when the login role is the owner itself: nothing to grant, no least privilege. */
  granted: boolean;
}

/**
 * Creates `schema` when missing, runs the pending migrations and applies the app's grants to its
 * login role, all as the owner. Serialized per schema by a session advisory lock, so replicas
 * booting at once migrate one after the other (the second finds nothing pending).
 */
export async function migrateSchema(options: MigrateSchemaOptions): Promise<MigratedSchema> {
  const s = quoteIdent(options.schema);
  const owner = await new DataSource({
    type: 'postgres',
    url: options.ownerUrl,
    schema: options.schema,
    migrations: [...options.migrations],
    migrationsTableName: MIGRATIONS_TABLE,
    extra: { max: 2, application_name: `tokenledger-migrate-${options.schema}` },
  }).initialize();
  const lock = owner.createQueryRunner();
  try {
    await lock.connect();
    await lock.query('SELECT pg_advisory_lock(hashtext($1))', [
      `tokenledger:migrate:${options.schema}`,
    ]);
    const [me] = (await lock.query('SELECT current_user AS u')) as Array<{ u: string }>;
    await lock.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await owner.runMigrations({ transaction: 'all' });
    const granted = me?.u !== options.loginRole;
    if (granted) {
      await applySchemaGrants(owner, {
        schema: options.schema,
        role: options.loginRole,
        grants: options.grants,
      });
    }
    return { owner: me?.u ?? '', granted };
  } finally {
    await lock
      .query('SELECT pg_advisory_unlock(hashtext($1))', [`tokenledger:migrate:${options.schema}`])
      .catch(() => undefined);
    await lock.release();
    await owner.destroy();
  }
}

/**
 * The names of `migrations` that the schema's migrations table does not list (all of them when
 * it is missing), read on `query` (any role that may read the table: the app's login role).
 */
export async function pendingMigrations(
  query: <T>(sql: string) => Promise<T>,
  schema: string,
  migrations: readonly MigrationClass[],
): Promise<string[]> {
  const names = migrations.map((M) => new M().name ?? M.name);
  const [table] = await query<Array<{ t: string | null }>>(
    `SELECT to_regclass('${quoteIdent(schema)}.${MIGRATIONS_TABLE}')::text AS t`,
  );
  if (!table?.t) return names;
  const done = await query<Array<{ name: string }>>(
    `SELECT name FROM ${quoteIdent(schema)}.${MIGRATIONS_TABLE}`,
  );
  const applied = new Set(done.map((row) => row.name));
  return names.filter((name) => !applied.has(name));
}
