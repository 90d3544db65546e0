import { migrationSchema } from '@tokenledger/sql';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Revokes a finding asked for before the detector knew the token's owner (its use was processed
 * before its token.issued: the two topics interleave freely). The token.issued decides them.
 */
export class PendingRevokes1795800000403 implements MigrationInterface {
  name = 'PendingRevokes1795800000403';

  async up(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    await q.query(`
      CREATE TABLE ${s}.pending_revokes (
        anomaly_id uuid PRIMARY KEY,
        token_id uuid NOT NULL,
        reporter text NOT NULL,
        cause_event_id uuid NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX pending_revokes_token ON ${s}.pending_revokes (token_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ${migrationSchema(q)}.pending_revokes`);
  }
}
