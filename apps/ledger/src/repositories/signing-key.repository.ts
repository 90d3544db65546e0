import { Inject, Injectable } from '@nestjs/common';
import { quoteIdent, type Tx } from '@tokenledger/sql';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import { DataSource } from 'typeorm';
import type { LedgerConfig } from '../config';

/**
 * SQL of the signing key's lifecycle: `signing_keys` (one row per key ever used) and
 * `signing_key_events` (migration 306). INSERT only: the ledger never updates a key row.
 */
@Injectable()
export class SigningKeyRepository {
  private readonly s: string;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(SERVICE_CONFIG) config: LedgerConfig,
  ) {
    this.s = quoteIdent(config.DB_SCHEMA);
  }

  /** The key activated last; for a database from before migration 306, the row marked active. */
  async activeKey(): Promise<string | undefined> {
    const [event] = await this.dataSource.query<Array<{ verifier_key: string }>>(
      `SELECT verifier_key FROM ${this.s}.signing_key_events WHERE event = 'activated' ORDER BY at DESC LIMIT 1`,
    );
    if (event) return event.verifier_key;
    const [legacy] = await this.dataSource.query<Array<{ verifier_key: string }>>(
      `SELECT verifier_key FROM ${this.s}.signing_keys WHERE active ORDER BY added_at DESC LIMIT 1`,
    );
    return legacy?.verifier_key;
  }

  async hasActivation(verifierKey: string): Promise<boolean> {
    const [row] = await this.dataSource.query<unknown[]>(
      `SELECT 1 FROM ${this.s}.signing_key_events WHERE verifier_key = $1 AND event = 'activated' LIMIT 1`,
      [verifierKey],
    );
    return row !== undefined;
  }

  /** The newest checkpoint note of every log (what a key change would leave unverifiable). */
  async latestNotes(): Promise<Array<{ logId: string; size: number; note: string }>> {
    const rows = await this.dataSource.query<Array<{ log_id: string; size: string; note: string }>>(
      `SELECT DISTINCT ON (log_id) log_id, size, note FROM ${this.s}.checkpoints ORDER BY log_id, size DESC`,
    );
    return rows.map((r) => ({ logId: r.log_id, size: Number(r.size), note: r.note }));
  }

  /** Lists the key (once) and records its activation, in the caller's transaction. */
  async activate(m: Tx, name: string, verifierKey: string): Promise<void> {
    await m.query(
      `INSERT INTO ${this.s}.signing_keys (key_name, verifier_key, active) VALUES ($1, $2, true)
       ON CONFLICT (verifier_key) DO NOTHING`,
      [name, verifierKey],
    );
    await m.query(
      `INSERT INTO ${this.s}.signing_key_events (verifier_key, key_name, event) VALUES ($1, $2, 'activated')`,
      [verifierKey, name],
    );
  }

  /** Records the retirement of `verifierKey` now; returns that time. */
  async retire(m: Tx, name: string, verifierKey: string): Promise<Date> {
    const [row] = await m.query<Array<{ at: Date }>>(
      `INSERT INTO ${this.s}.signing_key_events (verifier_key, key_name, event) VALUES ($1, $2, 'retired') RETURNING at`,
      [verifierKey, name],
    );
    if (!row) throw new Error('retirement not recorded');
    return row.at;
  }

  /**
   * The key-lifecycle lock of this schema, for the rest of the transaction: exclusive to decide
   * the active key at start (several instances may start at once), shared to sign a checkpoint,
   * so that a rotation by another instance waits for signatures under way, and every signature
   * after it sees the new active key.
   */
  async lockLifecycle(m: Tx, mode: 'exclusive' | 'shared'): Promise<void> {
    await m.query(
      `SELECT ${mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock'}(hashtext($1))`,
      [`tokenledger:signing-key:${this.s}`],
    );
  }

  transaction<T>(work: (m: Tx) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }
}
