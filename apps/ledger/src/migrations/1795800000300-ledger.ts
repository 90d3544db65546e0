import { migrationSchema } from '@tokenledger/sql';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The verifiable logs. leaves, nodes and checkpoints are append-only: a trigger rejects UPDATE,
 * DELETE and TRUNCATE (superusers can still disable triggers; tampering is then caught by
 * verification against signed checkpoints). `logs` holds each log's head and the next Kafka
 * offset, updated only conditionally (the exactly-once fence).
 */
export class Ledger1795800000300 implements MigrationInterface {
  name = 'Ledger1795800000300';

  async up(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    await q.query(`
      CREATE TABLE ${s}.logs (
        log_id text PRIMARY KEY,
        topic text NOT NULL,
        partition int NOT NULL,
        size bigint NOT NULL DEFAULT 0,
        root_hash bytea NOT NULL,
        chain_head bytea NOT NULL,
        next_offset bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE ${s}.leaves (
        log_id text NOT NULL,
        idx bigint NOT NULL,
        kafka_offset bigint NOT NULL,
        kind text NOT NULL CHECK (kind IN ('event', 'duplicate', 'rejected')),
        leaf bytea NOT NULL,
        leaf_hash bytea NOT NULL,
        chain_hash bytea NOT NULL,
        event_id uuid,
        event_type text,
        subject text,
        actor text,
        event_time timestamptz,
        appended_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (log_id, idx),
        UNIQUE (log_id, kafka_offset)
      )`);
    await q.query(`CREATE INDEX leaves_subject ON ${s}.leaves (subject, event_time)`);
    await q.query(`CREATE INDEX leaves_type ON ${s}.leaves (event_type, event_time)`);
    await q.query(`CREATE INDEX leaves_actor ON ${s}.leaves (actor, event_time)`);
    await q.query(`
      CREATE TABLE ${s}.event_ids (
        event_id uuid PRIMARY KEY,
        log_id text NOT NULL,
        idx bigint NOT NULL,
        payload_sha256 bytea NOT NULL
      )`);
    await q.query(`
      CREATE TABLE ${s}.nodes (
        log_id text NOT NULL,
        level smallint NOT NULL,
        idx bigint NOT NULL,
        hash bytea NOT NULL,
        PRIMARY KEY (log_id, level, idx)
      )`);
    await q.query(`
      CREATE TABLE ${s}.checkpoints (
        log_id text NOT NULL,
        size bigint NOT NULL,
        root_hash bytea NOT NULL,
        note text NOT NULL,
        key_name text NOT NULL,
        signed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (log_id, size)
      )`);
    await q.query(`
      CREATE TABLE ${s}.signing_keys (
        verifier_key text PRIMARY KEY,
        key_name text NOT NULL,
        active boolean NOT NULL,
        added_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE FUNCTION ${s}.reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'ledger table %.% is append-only: % refused', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    for (const table of ['leaves', 'nodes', 'checkpoints', 'event_ids']) {
      await q.query(
        `CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${s}.${table} FOR EACH ROW EXECUTE FUNCTION ${s}.reject_change()`,
      );
      await q.query(
        `CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${s}.${table} FOR EACH STATEMENT EXECUTE FUNCTION ${s}.reject_change()`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    const s = migrationSchema(q);
    for (const table of ['signing_keys', 'checkpoints', 'nodes', 'event_ids', 'leaves', 'logs'])
      await q.query(`DROP TABLE ${s}.${table}`);
    await q.query(`DROP FUNCTION ${s}.reject_change()`);
  }
}
