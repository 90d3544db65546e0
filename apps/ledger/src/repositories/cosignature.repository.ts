import { Inject, Injectable } from '@nestjs/common';
import { quoteIdent } from '@tokenledger/sql';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import { DataSource } from 'typeorm';
import type { LedgerConfig } from '../config';
import type { CheckpointRow } from './ledger.repository';

export interface CosignatureRow {
  logId: string;
  size: number;
  rootHash: Buffer;
  /** The witness's verifier key (`<name>+<hex key ID>+<base64>`). */
  witnessKey: string;
  witnessName: string;
  /** The cosignature's timestamp, POSIX seconds. */
  cosignedAt: number;
  /** The signature line, with its final newline. */
  line: string;
}

interface CosignatureDbRow {
  log_id: string;
  size: string;
  root_hash: Buffer;
  witness_key: string;
  witness_name: string;
  cosigned_at: string;
  line: string;
}

const toRow = (r: CosignatureDbRow): CosignatureRow => ({
  logId: r.log_id,
  size: Number(r.size),
  rootHash: r.root_hash,
  witnessKey: r.witness_key,
  witnessName: r.witness_name,
  cosignedAt: Number(r.cosigned_at),
  line: r.line,
});

/** SQL of `cosignatures` (migration 305): append-only, one row per checkpoint and witness key. */
@Injectable()
export class CosignatureRepository {
  private readonly s: string;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(SERVICE_CONFIG) config: LedgerConfig,
  ) {
    this.s = quoteIdent(config.DB_SCHEMA);
  }

  /** Stores verified cosignatures; one already stored for that checkpoint and key is kept as is. */
  async insert(rows: readonly CosignatureRow[]): Promise<void> {
    for (const c of rows)
      await this.dataSource.query(
        `INSERT INTO ${this.s}.cosignatures (log_id, size, root_hash, witness_key, witness_name, cosigned_at, line)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
        [c.logId, c.size, c.rootHash, c.witnessKey, c.witnessName, c.cosignedAt, c.line],
      );
  }

  /** The newest checkpoint of every log that has one. */
  async latestCheckpoints(): Promise<CheckpointRow[]> {
    const rows = await this.dataSource.query<
      Array<{
        log_id: string;
        size: string;
        root_hash: Buffer;
        note: string;
        key_name: string;
        signed_at: Date;
      }>
    >(
      `SELECT DISTINCT ON (log_id) log_id, size, root_hash, note, key_name, signed_at
         FROM ${this.s}.checkpoints ORDER BY log_id, size DESC`,
    );
    return rows.map((r) => ({
      logId: r.log_id,
      size: Number(r.size),
      rootHash: r.root_hash,
      note: r.note,
      keyName: r.key_name,
      signedAt: r.signed_at,
    }));
  }

  /**
   * The stored cosignature lines of the checkpoints of `logId` with sizes in [`from`, `to`], by
   * size, each size's lines in witness-key order (not checked here: the caller verifies them).
   */
  async linesBetween(logId: string, from: number, to: number): Promise<Map<number, string>> {
    const rows = await this.dataSource.query<Array<{ size: string; line: string }>>(
      `SELECT size, line FROM ${this.s}.cosignatures WHERE log_id = $1 AND size BETWEEN $2 AND $3
        ORDER BY size, witness_key`,
      [logId, from, to],
    );
    const lines = new Map<number, string>();
    for (const r of rows) lines.set(Number(r.size), `${lines.get(Number(r.size)) ?? ''}${r.line}`);
    return lines;
  }

  /** The cosignatures stored for checkpoint `size` of `logId`. */
  async forCheckpoint(logId: string, size: number): Promise<CosignatureRow[]> {
    const rows = await this.dataSource.query<CosignatureDbRow[]>(
      `SELECT * FROM ${this.s}.cosignatures WHERE log_id = $1 AND size = $2 ORDER BY witness_key`,
      [logId, size],
    );
    return rows.map(toRow);
  }

  /** The largest size each of `witnessKeys` cosigned, per log: where its next proof starts. */
  async lastCosignedSizes(witnessKeys: readonly string[]): Promise<Map<string, number>> {
    if (witnessKeys.length === 0) return new Map();
    const rows = await this.dataSource.query<
      Array<{ witness_key: string; log_id: string; size: string }>
    >(
      `SELECT witness_key, log_id, max(size) AS size FROM ${this.s}.cosignatures
        WHERE witness_key = ANY($1::text[]) GROUP BY witness_key, log_id`,
      [witnessKeys],
    );
    return new Map(rows.map((r) => [`${r.witness_key} ${r.log_id}`, Number(r.size)]));
  }
}
