import { migrationSchema } from '@tokenledger/sql';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Tokens (HMAC only, never the plaintext) and the issuance policy. */
export class Tokens1795800000100 implements MigrationInterface {
  name = 'Tokens1795800000100';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = migrationSchema(queryRunner);
    await queryRunner.query(`
      CREATE TABLE ${s}.tokens (
        token_id uuid PRIMARY KEY,
        token_hash bytea NOT NULL UNIQUE,
        prefix text NOT NULL,
        owner_type text NOT NULL,
        owner_id text NOT NULL,
        name text NOT NULL,
        scopes text[] NOT NULL,
        labels jsonb NOT NULL DEFAULT '{}',
        issued_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        dpop_jkt text,
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked', 'expired')),
        revoked_at timestamptz,
        revoked_reason text,
        rotated_from uuid,
        rotated_to uuid,
        grace_ends_at timestamptz,
        issued_by text NOT NULL,
        is_root boolean NOT NULL DEFAULT false
      )`);
    await queryRunner.query(`CREATE INDEX tokens_owner ON ${s}.tokens (owner_id, token_id)`);
    await queryRunner.query(`CREATE INDEX tokens_labels ON ${s}.tokens USING gin (labels)`);
    await queryRunner.query(
      `CREATE INDEX tokens_due ON ${s}.tokens (expires_at) WHERE status = 'active'`,
    );
    await queryRunner.query(
      `CREATE INDEX tokens_grace ON ${s}.tokens (grace_ends_at) WHERE status = 'active' AND grace_ends_at IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX tokens_one_root ON ${s}.tokens (is_root) WHERE is_root`,
    );
    await queryRunner.query(
      `CREATE TABLE ${s}.policies (id text PRIMARY KEY, body jsonb NOT NULL, version int NOT NULL DEFAULT 1, updated_at timestamptz NOT NULL DEFAULT now(), updated_by text NOT NULL)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = migrationSchema(queryRunner);
    await queryRunner.query(`DROP TABLE ${s}.policies`);
    await queryRunner.query(`DROP TABLE ${s}.tokens`);
  }
}
