import { migrationSchema } from '@tokenledger/sql';
import type { MigrationInterface, QueryRunner } from 'typeorm';

const APPEND_ONLY = ['leaves', 'checkpoints', 'event_ids'];

/**
 * The second guard on the append-only tables: besides the triggers, nobody holds UPDATE, DELETE or
 * TRUNCATE on them, not even the role that owns them (the app's own database user). A
 * non-superuser app role then cannot change a row even with the triggers disabled, short of
 * granting itself the privilege back first, which is a deliberate, logged DDL act. Superusers
 * bypass privileges; against them only verification against signed checkpoints helps. A later
 * migration that must rewrite these tables has to grant the privilege to itself first.
 */
export class AppendOnlyGrants1795800000304 implements MigrationInterface {
  name = 'AppendOnlyGrants1795800000304';

  async up(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    for (const table of APPEND_ONLY) {
      await q.query(`REVOKE UPDATE, DELETE, TRUNCATE ON ${s}.${table} FROM PUBLIC, CURRENT_USER`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    for (const table of APPEND_ONLY)
      await q.query(`GRANT UPDATE, DELETE, TRUNCATE ON ${s}.${table} TO CURRENT_USER`);
  }
}
