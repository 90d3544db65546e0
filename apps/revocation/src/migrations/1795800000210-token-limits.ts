import { migrationSchema } from '@tokenledger/sql';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-token usage limits: the settings (from token.limits-changed) and the durable credit
 * balance, spent by one statement on the locked row per use or batch of uses
 * (LimitsRepository.spend) so that no credit is spent twice.
 */
export class TokenLimits1795800000210 implements MigrationInterface {
  name = 'TokenLimits1795800000210';

  async up(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    await q.query(`
      CREATE TABLE ${s}.token_limits (
        token_id uuid PRIMARY KEY,
        rate_limit int,
        rate_window_seconds int,
        credits_remaining bigint CHECK (credits_remaining >= 0),
        refill_amount bigint,
        refill_interval_seconds int,
        refilled_at timestamptz,
        last_event_id uuid NOT NULL,
        changed_at timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    await q.query(`DROP TABLE ${s}.token_limits`);
  }
}
