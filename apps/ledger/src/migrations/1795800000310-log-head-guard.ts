import { migrationSchema } from '@tokenledger/sql';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The guarded path of the log head (`logs`): the ledger's login role may UPDATE only its moving
 * columns (grants.ts), and this trigger, owned by the schema's owner, refuses any update that
 * shrinks a log (`size` or `next_offset` smaller), rewrites it at the same size (another root or
 * chain head) or changes which log a row is. DELETE and TRUNCATE of `logs` are refused like those
 * of the append-only tables (trigger, and no such privilege even for the owner). The login role
 * cannot disable the trigger: it does not own the table. A superuser still can; against that only
 * verification against checkpoints published outside the database helps.
 */
export class LogHeadGuard1795800000310 implements MigrationInterface {
  name = 'LogHeadGuard1795800000310';

  async up(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    await q.query(`
      CREATE FUNCTION ${s}.guard_log_head() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.log_id IS DISTINCT FROM OLD.log_id OR NEW.topic IS DISTINCT FROM OLD.topic
           OR NEW.partition IS DISTINCT FROM OLD.partition THEN
          RAISE EXCEPTION 'ledger log head %: log_id, topic and partition never change', OLD.log_id
            USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NEW.size < OLD.size OR NEW.next_offset < OLD.next_offset THEN
          RAISE EXCEPTION 'ledger log head %: a log never shrinks (size % -> %, next_offset % -> %)',
            OLD.log_id, OLD.size, NEW.size, OLD.next_offset, NEW.next_offset
            USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NEW.size = OLD.size AND (NEW.root_hash IS DISTINCT FROM OLD.root_hash
           OR NEW.chain_head IS DISTINCT FROM OLD.chain_head) THEN
          RAISE EXCEPTION 'ledger log head %: the root and chain head of size % never change', OLD.log_id, OLD.size
            USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(
      `CREATE TRIGGER logs_never_shrink BEFORE UPDATE ON ${s}.logs FOR EACH ROW EXECUTE FUNCTION ${s}.guard_log_head()`,
    );
    await q.query(
      `CREATE TRIGGER logs_no_delete BEFORE DELETE ON ${s}.logs FOR EACH ROW EXECUTE FUNCTION ${s}.reject_change()`,
    );
    await q.query(
      `CREATE TRIGGER logs_no_truncate BEFORE TRUNCATE ON ${s}.logs FOR EACH STATEMENT EXECUTE FUNCTION ${s}.reject_change()`,
    );
    await q.query(`REVOKE DELETE, TRUNCATE ON ${s}.logs FROM PUBLIC, CURRENT_USER`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    await q.query(`GRANT DELETE, TRUNCATE ON ${s}.logs TO CURRENT_USER`);
    for (const trigger of ['logs_no_truncate', 'logs_no_delete', 'logs_never_shrink'])
      await q.query(`DROP TRIGGER ${trigger} ON ${s}.logs`);
    await q.query(`DROP FUNCTION ${s}.guard_log_head()`);
  }
}
