import { migrationSchema } from '@tokenledger/sql';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Token inventory for the sprawl report, built from tokens.lifecycle and tokens.usage. */
export class Inventory1795800000401 implements MigrationInterface {
  name = 'Inventory1795800000401';

  async up(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    await q.query(`
      CREATE TABLE ${s}.inventory (
        token_id uuid PRIMARY KEY,
        issued_event_id uuid NOT NULL,
        prefix text NOT NULL,
        owner_type text NOT NULL,
        owner_id text NOT NULL,
        name text NOT NULL,
        issued_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        status text NOT NULL DEFAULT 'active',
        rotated_at timestamptz,
        last_used_at timestamptz
      )`);
    await q.query(`CREATE INDEX inventory_owner ON ${s}.inventory (owner_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    await q.query(`DROP TABLE ${s}.inventory`);
  }
}
