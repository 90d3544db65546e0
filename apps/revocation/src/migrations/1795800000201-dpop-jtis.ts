import { migrationSchema } from '@tokenledger/sql';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * DPoP proof ids (jti) already accepted, per token, until their proof's acceptance window ends:
 * shared by every revocation instance, so a proof replayed at another instance is refused too.
 */
export class DpopJtis1795800000201 implements MigrationInterface {
  name = 'DpopJtis1795800000201';

  async up(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    await q.query(`
      CREATE TABLE ${s}.dpop_jtis (
        token_id uuid NOT NULL,
        jti text NOT NULL,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (token_id, jti)
      )`);
    await q.query(`CREATE INDEX dpop_jtis_expiry ON ${s}.dpop_jtis (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ${migrationSchema(q)}.dpop_jtis`);
  }
}
