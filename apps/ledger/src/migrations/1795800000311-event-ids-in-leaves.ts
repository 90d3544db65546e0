import { migrationSchema } from '@tokenledger/sql';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Append speed (docs/design/ledger.md, "Storage and the cost of an append"): the duplicate index
 * moves into the leaf rows.
 *
 * - `leaves.payload_sha256` (SHA-256 of the Kafka record) is set on every `event` leaf, and a
 *   unique partial index `(log_id, event_id) WHERE event_id IS NOT NULL` replaces the `event_ids`
 *   table for duplicate and conflict detection (only `event` leaves carry an event id). An append
 *   then writes one heap row and one statement per batch instead of two.
 * - The unique index on `(log_id, kafka_offset)` stays. The locked, conditionally moved head already
 *   keeps offsets unique and in order; the index is the database's own backstop for exactly-once
 *   (a second leaf for one record fails its transaction), worth one B-tree insert per leaf now that
 *   several ledger instances share the partitions.
 *
 * Existing data is moved: each event leaf gets its record's hash from `event_ids` (the owner grants
 * itself UPDATE and disables the append-only trigger for that one statement, then revokes it
 * again, as 302 did before the grants of 304 existed). `event_ids` stays as a frozen, append-only
 * table (the ledger no longer writes it); a later migration may drop it. `down` writes the event ids
 * of leaves appended since back into it.
 */
export class EventIdsInLeaves1795800000311 implements MigrationInterface {
  name = 'EventIdsInLeaves1795800000311';

  async up(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    await q.query(`ALTER TABLE ${s}.leaves ADD COLUMN payload_sha256 bytea`);
    await q.query(`GRANT UPDATE ON ${s}.leaves TO CURRENT_USER`);
    await q.query(`ALTER TABLE ${s}.leaves DISABLE TRIGGER leaves_append_only`);
    await q.query(`
      UPDATE ${s}.leaves l SET payload_sha256 = e.payload_sha256
        FROM ${s}.event_ids e
       WHERE l.log_id = e.log_id AND l.idx = e.idx AND l.event_id = e.event_id`);
    await q.query(`ALTER TABLE ${s}.leaves ENABLE TRIGGER leaves_append_only`);
    await q.query(`REVOKE UPDATE ON ${s}.leaves FROM PUBLIC, CURRENT_USER`);
    await q.query(
      `ALTER TABLE ${s}.leaves ADD CONSTRAINT leaves_event_sha256 CHECK ((event_id IS NULL) = (payload_sha256 IS NULL))`,
    );
    await q.query(
      `CREATE UNIQUE INDEX leaves_event_id ON ${s}.leaves (log_id, event_id) WHERE event_id IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    await q.query(`
      INSERT INTO ${s}.event_ids (event_id, log_id, idx, payload_sha256)
      SELECT l.event_id, l.log_id, l.idx, l.payload_sha256 FROM ${s}.leaves l
       WHERE l.event_id IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM ${s}.event_ids e WHERE e.log_id = l.log_id AND e.event_id = l.event_id)`);
    await q.query(`DROP INDEX ${s}.leaves_event_id`);
    await q.query(`ALTER TABLE ${s}.leaves DROP CONSTRAINT leaves_event_sha256`);
    await q.query(`ALTER TABLE ${s}.leaves DROP COLUMN payload_sha256`);
  }
}
