import { migrationSchema } from '@tokenledger/sql';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The token status projection, built from tokens.lifecycle; revocations write it directly too. */
export class TokenStatus1795800000200 implements MigrationInterface {
  name = 'TokenStatus1795800000200';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = migrationSchema(queryRunner);
    await queryRunner.query(`
      CREATE TABLE ${s}.token_status (
        token_id uuid PRIMARY KEY,
        prefix text NOT NULL,
        owner_type text NOT NULL,
        owner_id text NOT NULL,
        scopes text[] NOT NULL,
        labels jsonb NOT NULL DEFAULT '{}',
        issued_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        dpop_jkt text,
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked', 'expired')),
        revoked_at timestamptz,
        revoked_reason text,
        grace_ends_at timestamptz
      )`);
    await queryRunner.query(`CREATE INDEX token_status_owner ON ${s}.token_status (owner_id)`);
    await queryRunner.query(
      `CREATE INDEX token_status_labels ON ${s}.token_status USING gin (labels)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = migrationSchema(queryRunner);
    await queryRunner.query(`DROP TABLE ${s}.token_status`);
  }
}
