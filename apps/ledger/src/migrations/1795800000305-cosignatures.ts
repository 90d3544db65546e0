import { migrationSchema } from '@tokenledger/sql';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Witness cosignatures (c2sp.org/tlog-cosignature) of the ledger's checkpoints, one row per
 * checkpoint and witness key, each verified before it is stored. Append-only like the checkpoints
 * (trigger and no UPDATE, DELETE or TRUNCATE privilege, as in migrations 300 and 304): a cosignature
 * once collected stays.
 */
export class Cosignatures1795800000305 implements MigrationInterface {
  name = 'Cosignatures1795800000305';

  async up(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    await q.query(`
      CREATE TABLE ${s}.cosignatures (
        log_id text NOT NULL,
        size bigint NOT NULL,
        root_hash bytea NOT NULL,
        witness_key text NOT NULL,
        witness_name text NOT NULL,
        cosigned_at bigint NOT NULL,
        line text NOT NULL,
        stored_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (log_id, size, witness_key)
      )`);
    await q.query(
      `CREATE INDEX cosignatures_by_witness ON ${s}.cosignatures (witness_key, log_id, size)`,
    );
    await q.query(
      `CREATE TRIGGER cosignatures_append_only BEFORE UPDATE OR DELETE ON ${s}.cosignatures FOR EACH ROW EXECUTE FUNCTION ${s}.reject_change()`,
    );
    await q.query(
      `CREATE TRIGGER cosignatures_no_truncate BEFORE TRUNCATE ON ${s}.cosignatures FOR EACH STATEMENT EXECUTE FUNCTION ${s}.reject_change()`,
    );
    await q.query(`REVOKE UPDATE, DELETE, TRUNCATE ON ${s}.cosignatures FROM PUBLIC, CURRENT_USER`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    await q.query(`DROP TABLE ${s}.cosignatures`);
  }
}
