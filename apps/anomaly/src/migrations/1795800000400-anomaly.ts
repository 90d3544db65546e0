import { migrationSchema } from '@tokenledger/sql';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Detector state per token, findings, and rule configuration. */
export class Anomaly1795800000400 implements MigrationInterface {
  name = 'Anomaly1795800000400';

  async up(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    await q.query(
      `CREATE TABLE ${s}.token_state (token_id uuid PRIMARY KEY, state jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
    );
    await q.query(`
      CREATE TABLE ${s}.anomalies (
        anomaly_id uuid PRIMARY KEY,
        rule text NOT NULL,
        severity text NOT NULL,
        token_id uuid NOT NULL,
        action text NOT NULL,
        evidence uuid[] NOT NULL,
        detected_at timestamptz NOT NULL,
        summary text NOT NULL
      )`);
    await q.query(`CREATE INDEX anomalies_token ON ${s}.anomalies (token_id, detected_at)`);
    await q.query(`CREATE INDEX anomalies_time ON ${s}.anomalies (detected_at, anomaly_id)`);
    await q.query(
      `CREATE TABLE ${s}.rules (rule text PRIMARY KEY, config jsonb NOT NULL, updated_by text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    for (const t of ['rules', 'anomalies', 'token_state']) await q.query(`DROP TABLE ${s}.${t}`);
  }
}
