import { migrationSchema } from '@tokenledger/sql';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Duplicates are detected per log (docs/design/ledger.md), so an event id is unique per log, not
 * across the ledger. With the old key (event_id alone), one event id in two partitions made the
 * second append fail on the primary key, and the consumer retried that batch forever.
 */
export class EventIdsPerLog1795800000303 implements MigrationInterface {
  name = 'EventIdsPerLog1795800000303';

  async up(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    await q.query(
      `ALTER TABLE ${s}.event_ids DROP CONSTRAINT event_ids_pkey, ADD PRIMARY KEY (log_id, event_id)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    await q.query(
      `ALTER TABLE ${s}.event_ids DROP CONSTRAINT event_ids_pkey, ADD PRIMARY KEY (event_id)`,
    );
  }
}
