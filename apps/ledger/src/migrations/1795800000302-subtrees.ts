import { migrationSchema } from '@tokenledger/sql';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tree nodes move into the leaf rows: `leaves.subtrees` holds the hashes of the perfect subtrees
 * that leaf completes (levels 1, 2, ... in order, 32 bytes each; empty for an even index), and
 * level 0 is `leaf_hash`. An append then writes one row per leaf instead of about three. Existing
 * nodes are copied over (the append-only trigger is disabled for that one statement), then the
 * `nodes` table is dropped. `down` rebuilds it from the leaves.
 */
export class Subtrees1795800000302 implements MigrationInterface {
  name = 'Subtrees1795800000302';

  async up(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    await q.query(`ALTER TABLE ${s}.leaves ADD COLUMN subtrees bytea NOT NULL DEFAULT ''::bytea`);
    await q.query(`ALTER TABLE ${s}.leaves DISABLE TRIGGER leaves_append_only`);
    await q.query(`
      UPDATE ${s}.leaves l SET subtrees = c.hashes
        FROM (SELECT log_id, (idx + 1) * (1::bigint << level) - 1 AS leaf_idx, string_agg(hash, ''::bytea ORDER BY level) AS hashes
                FROM ${s}.nodes WHERE level > 0 GROUP BY 1, 2) c
       WHERE l.log_id = c.log_id AND l.idx = c.leaf_idx`);
    await q.query(`ALTER TABLE ${s}.leaves ENABLE TRIGGER leaves_append_only`);
    await q.query(`ALTER TABLE ${s}.leaves ALTER COLUMN subtrees DROP DEFAULT`);
    await q.query(`DROP TABLE ${s}.nodes`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    await q.query(`
      CREATE TABLE ${s}.nodes (
        log_id text NOT NULL,
        level smallint NOT NULL,
        idx bigint NOT NULL,
        hash bytea NOT NULL,
        PRIMARY KEY (log_id, level, idx)
      )`);
    await q.query(
      `INSERT INTO ${s}.nodes (log_id, level, idx, hash) SELECT log_id, 0, idx, leaf_hash FROM ${s}.leaves`,
    );
    await q.query(`
      INSERT INTO ${s}.nodes (log_id, level, idx, hash)
      SELECT log_id, g.level, ((idx + 1) >> g.level) - 1, substring(subtrees FROM (g.level - 1) * 32 + 1 FOR 32)
        FROM ${s}.leaves, generate_series(1, length(subtrees) / 32) AS g(level)`);
    await q.query(
      `CREATE TRIGGER nodes_append_only BEFORE UPDATE OR DELETE ON ${s}.nodes FOR EACH ROW EXECUTE FUNCTION ${s}.reject_change()`,
    );
    await q.query(
      `CREATE TRIGGER nodes_no_truncate BEFORE TRUNCATE ON ${s}.nodes FOR EACH STATEMENT EXECUTE FUNCTION ${s}.reject_change()`,
    );
    await q.query(`ALTER TABLE ${s}.leaves DROP COLUMN subtrees`);
  }
}
