import { migrationSchema } from '@tokenledger/sql';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Replays requested through the API and their progress. */
export class Replays1795800000301 implements MigrationInterface {
  name = 'Replays1795800000301';

  async up(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    await q.query(`
      CREATE TABLE ${s}.replays (
        replay_id uuid PRIMARY KEY,
        request jsonb NOT NULL,
        requested_by text NOT NULL,
        status text NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
        total bigint NOT NULL,
        done bigint NOT NULL DEFAULT 0,
        error text,
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ${migrationSchema(q)}.replays`);
  }
}
