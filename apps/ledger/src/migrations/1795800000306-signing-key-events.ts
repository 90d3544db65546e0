import { migrationSchema } from '@tokenledger/sql';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The signing key's lifecycle as appended rows: `activated` when a key starts signing, `retired`
 * when a rotation replaces it (its retirement time). The active key is the one activated last
 * (`at` is clock_timestamp(), so a retirement and an activation in one transaction are ordered).
 * Append-only (trigger, no UPDATE/DELETE/TRUNCATE privilege), so no key history is ever rewritten;
 * `signing_keys.active` is no longer updated (the ledger's role may not UPDATE signing_keys).
 */
export class SigningKeyEvents1795800000306 implements MigrationInterface {
  name = 'SigningKeyEvents1795800000306';

  async up(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    await q.query(`
      CREATE TABLE ${s}.signing_key_events (
        verifier_key text NOT NULL,
        key_name text NOT NULL,
        event text NOT NULL CHECK (event IN ('activated', 'retired')),
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (verifier_key, event, at)
      )`);
    await q.query(`CREATE INDEX signing_key_events_at ON ${s}.signing_key_events (at)`);
    await q.query(
      `CREATE TRIGGER signing_key_events_append_only BEFORE UPDATE OR DELETE ON ${s}.signing_key_events FOR EACH ROW EXECUTE FUNCTION ${s}.reject_change()`,
    );
    await q.query(
      `CREATE TRIGGER signing_key_events_no_truncate BEFORE TRUNCATE ON ${s}.signing_key_events FOR EACH STATEMENT EXECUTE FUNCTION ${s}.reject_change()`,
    );
    await q.query(
      `REVOKE UPDATE, DELETE, TRUNCATE ON ${s}.signing_key_events FROM PUBLIC, CURRENT_USER`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    await q.query(`DROP TABLE ${s}.signing_key_events`);
  }
}
