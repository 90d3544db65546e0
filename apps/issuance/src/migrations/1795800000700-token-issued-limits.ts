import { migrationSchema } from '@tokenledger/sql';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The usage limits a token was issued with (`{rateLimit?, credits?}`, as in its token.issued
 * event), for the revocation app's read-your-writes adoption. Not its limits now: those live at
 * revocation (token_limits) and change by `PUT /v1/tokens/{id}/limits`.
 */
export class TokenIssuedLimits1795800000700 implements MigrationInterface {
  name = 'TokenIssuedLimits1795800000700';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = migrationSchema(queryRunner);
    await queryRunner.query(`ALTER TABLE ${s}.tokens ADD COLUMN issued_limits jsonb`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = migrationSchema(queryRunner);
    await queryRunner.query(`ALTER TABLE ${s}.tokens DROP COLUMN issued_limits`);
  }
}
