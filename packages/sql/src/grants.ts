import type { DataSource } from 'typeorm';
import { quoteIdent } from './sql';

/**
 * A privilege an app's login role may hold on a table of its schema. Only data access: never
 * TRUNCATE, REFERENCES or TRIGGER, and nothing that makes the role an owner. `UPDATE (a, b)` is a
 * column-level UPDATE of those columns only.
 */
export type TablePrivilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE' | `UPDATE (${string})`;

/** What an append-only table gives the app: it reads and appends, nothing else. */
export const APPEND_ONLY: readonly TablePrivilege[] = ['SELECT', 'INSERT'];

/**
 * The privileges of an app's login role on the tables of its own schema, declared next to the
 * app's migrations and applied by the owner after every migration run ({@link applySchemaGrants}).
 */
export interface SchemaGrants {
  /** Per table name. A table listed here that the schema does not have is an error. */
  tables: Readonly<Record<string, readonly TablePrivilege[]>>;
  /**
   * For any table of the schema not in `tables` (e.g. the ledger: a new table is append-only
   * unless declared otherwise). Without it, a table with no declared grants stops the boot.
   */
  otherTables?: readonly TablePrivilege[];
}

/** TypeORM's record of applied migrations: the login role may read it (to check it is current). */
export const MIGRATIONS_TABLE = 'migrations';

const COLUMNS = /^UPDATE \(([a-z_][a-z0-9_]*(?:, [a-z_][a-z0-9_]*)*)\)$/;

/** `UPDATE (a, b)` -> `UPDATE ("a", "b")`; the plain privileges as they are; anything else throws. */
export function privilegeSql(privilege: TablePrivilege): string {
  if (['SELECT', 'INSERT', 'UPDATE', 'DELETE'].includes(privilege)) return privilege;
  const columns = COLUMNS.exec(privilege)?.[1];
  if (!columns) throw new Error(`invalid table privilege "${privilege}"`);
  return `UPDATE (${columns.split(', ').map(quoteIdent).join(', ')})`;
}

/**
 * Per table of `schema`, the privileges `grants` gives it, or the problems that make `grants`
 * unusable for these tables (an undeclared table, a declared table that does not exist).
 */
export function planGrants(
  tables: readonly string[],
  grants: SchemaGrants,
): { plan: Map<string, readonly TablePrivilege[]>; problems: string[] } {
  const plan = new Map<string, readonly TablePrivilege[]>();
  const problems: string[] = [];
  for (const name of Object.keys(grants.tables)) {
    if (!tables.includes(name))
      problems.push(`grants name table "${name}", which the schema does not have`);
  }
  for (const table of tables) {
    if (table === MIGRATIONS_TABLE) {
      plan.set(table, ['SELECT']);
      continue;
    }
    const privileges = grants.tables[table] ?? grants.otherTables;
    if (!privileges) problems.push(`table "${table}" has no grants declared for the app's role`);
    else plan.set(table, privileges);
  }
  return { plan, problems };
}

/**
 * Makes `role`'s privileges in `schema` exactly what `grants` says: USAGE on the schema (never
 * CREATE), per table the declared privileges and nothing else (earlier ones are revoked, so a
 * privilege removed from `grants` is removed from the role), USAGE on the schema's sequences
 * (nextval of a serial column). Idempotent; one transaction, serialized per schema with an
 * advisory lock, so two instances booting at once do not collide in the catalog.
 *
 * MUST run as the owner of the schema and its tables, and `role` MUST NOT be that owner (revoking
 * from the owner would take its own privileges away).
 */
export async function applySchemaGrants(
  owner: DataSource,
  options: { schema: string; role: string; grants: SchemaGrants },
): Promise<void> {
  const s = quoteIdent(options.schema);
  const r = quoteIdent(options.role);
  await owner.transaction(async (m) => {
    await m.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
      `tokenledger:grants:${options.schema}`,
    ]);
    const rows = await m.query<Array<{ relname: string }>>(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.relname`,
      [options.schema],
    );
    const { plan, problems } = planGrants(
      rows.map((row) => row.relname),
      options.grants,
    );
    if (problems.length > 0) {
      throw new Error(
        `grants of schema ${options.schema} do not fit its tables:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      );
    }
    await m.query(`REVOKE ALL ON SCHEMA ${s} FROM ${r}`);
    await m.query(`GRANT USAGE ON SCHEMA ${s} TO ${r}`);
    for (const [table, privileges] of plan) {
      const t = `${s}.${quoteIdent(table)}`;
      // Revoking a table's privileges also revokes its column privileges.
      await m.query(`REVOKE ALL ON TABLE ${t} FROM ${r}`);
      if (privileges.length > 0)
        await m.query(`GRANT ${privileges.map(privilegeSql).join(', ')} ON TABLE ${t} TO ${r}`);
    }
    await m.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${s} FROM ${r}`);
    await m.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${s} TO ${r}`);
  });
}
