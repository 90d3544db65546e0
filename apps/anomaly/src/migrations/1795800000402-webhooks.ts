import { migrationSchema } from '@tokenledger/sql';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhook subscriptions, their durable delivery queue (one row per subscription and event) and
 * every delivery attempt; and the rotation-policy progress of each token.
 */
export class Webhooks1795800000402 implements MigrationInterface {
  name = 'Webhooks1795800000402';

  async up(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    await q.query(`
      CREATE TABLE ${s}.webhooks (
        webhook_id uuid PRIMARY KEY,
        url text NOT NULL,
        secret text NOT NULL,
        format text NOT NULL,
        filter jsonb NOT NULL,
        description text,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL,
        deleted_at timestamptz
      )`);
    await q.query(`
      CREATE TABLE ${s}.webhook_deliveries (
        delivery_id uuid PRIMARY KEY,
        webhook_id uuid NOT NULL REFERENCES ${s}.webhooks (webhook_id),
        event_id uuid NOT NULL,
        event_type text NOT NULL,
        body text NOT NULL,
        status text NOT NULL DEFAULT 'pending',
        attempts int NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL,
        first_attempt_at timestamptz,
        next_attempt_at timestamptz NOT NULL,
        finished_at timestamptz,
        UNIQUE (webhook_id, event_id)
      )`);
    await q.query(
      `CREATE INDEX webhook_deliveries_due ON ${s}.webhook_deliveries (next_attempt_at) WHERE status = 'pending'`,
    );
    await q.query(
      `CREATE INDEX webhook_deliveries_list ON ${s}.webhook_deliveries (webhook_id, created_at, delivery_id)`,
    );
    await q.query(`
      CREATE TABLE ${s}.webhook_attempts (
        delivery_id uuid NOT NULL REFERENCES ${s}.webhook_deliveries (delivery_id),
        attempt int NOT NULL,
        attempted_at timestamptz NOT NULL,
        status_code int,
        error text,
        duration_ms int NOT NULL,
        outcome text NOT NULL,
        PRIMARY KEY (delivery_id, attempt)
      )`);
    await q.query(`
      CREATE TABLE ${s}.rotation_progress (
        token_id uuid PRIMARY KEY,
        reminded_at timestamptz,
        revoke_requested_at timestamptz
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    for (const t of ['rotation_progress', 'webhook_attempts', 'webhook_deliveries', 'webhooks'])
      await q.query(`DROP TABLE ${s}.${t}`);
  }
}
