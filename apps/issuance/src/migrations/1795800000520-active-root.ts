import { migrationSchema } from '@tokenledger/sql';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * At most one active root token (was: at most one root ever). Break-glass registers a new root
 * while the revoked ones stay as they were; two instances doing it at once still conflict.
 */
export class ActiveRoot1795800000520 implements MigrationInterface {
  name = 'ActiveRoot1795800000520';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = migrationSchema(queryRunner);
    await queryRunner.query(`DROP INDEX ${s}.tokens_one_root`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX tokens_one_active_root ON ${s}.tokens (is_root) WHERE is_root AND status = 'active'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = migrationSchema(queryRunner);
    await queryRunner.query(`DROP INDEX ${s}.tokens_one_active_root`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX tokens_one_root ON ${s}.tokens (is_root) WHERE is_root`,
    );
  }
}
