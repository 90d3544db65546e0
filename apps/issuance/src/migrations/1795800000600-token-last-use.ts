import { migrationSchema } from '@tokenledger/sql';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When each token was last used (accepted), learned from `tokens.usage`, for the search of
 * `GET /v1/tokens` (last used before/after, never used); indexes for the new filters and sorts.
 */
export class TokenLastUse1795800000600 implements MigrationInterface {
  name = 'TokenLastUse1795800000600';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = migrationSchema(queryRunner);
    await queryRunner.query(`ALTER TABLE ${s}.tokens ADD COLUMN last_used_at timestamptz`);
    await queryRunner.query(
      `CREATE INDEX tokens_last_used ON ${s}.tokens ((COALESCE(last_used_at, 'epoch'::timestamptz)), token_id)`,
    );
    await queryRunner.query(`CREATE INDEX tokens_expires ON ${s}.tokens (expires_at, token_id)`);
    await queryRunner.query(`CREATE INDEX tokens_scopes ON ${s}.tokens USING gin (scopes)`);
    await queryRunner.query(`CREATE INDEX tokens_prefix ON ${s}.tokens (prefix text_pattern_ops)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = migrationSchema(queryRunner);
    await queryRunner.query(`DROP INDEX ${s}.tokens_prefix`);
    await queryRunner.query(`DROP INDEX ${s}.tokens_scopes`);
    await queryRunner.query(`DROP INDEX ${s}.tokens_expires`);
    await queryRunner.query(`DROP INDEX ${s}.tokens_last_used`);
    await queryRunner.query(`ALTER TABLE ${s}.tokens DROP COLUMN last_used_at`);
  }
}
