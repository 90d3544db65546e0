import { migrationSchema } from '@tokenledger/sql';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One row: the fingerprint of the pepper the stored token hashes were made with
 * (HMAC-SHA256(pepper, "tokenledger pepper fingerprint v1"), never the pepper), checked at every
 * start (services/pepper-check.service.ts).
 */
export class PepperFingerprint1795800000500 implements MigrationInterface {
  name = 'PepperFingerprint1795800000500';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = migrationSchema(queryRunner);
    await queryRunner.query(
      `CREATE TABLE ${s}.pepper_fingerprint (id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1), fingerprint bytea NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ${migrationSchema(queryRunner)}.pepper_fingerprint`);
  }
}
