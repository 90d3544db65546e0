import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import { SchemaRepository } from '@tokenledger/sql';
import { DataSource } from 'typeorm';
import type { IssuanceConfig } from '../config';

/** The one-row table that remembers which pepper the stored hashes were made with. */
@Injectable()
export class PepperFingerprintRepository extends SchemaRepository {
  constructor(dataSource: DataSource, @Inject(SERVICE_CONFIG) config: IssuanceConfig) {
    super(dataSource, config.DB_SCHEMA);
  }

  /**
   * The stored fingerprint; when there is none yet, `fingerprint` is stored first (the first
   * start, or another instance's at the same moment: whichever commits first wins) and the stored
   * one is returned. Also says whether tokens were stored before any fingerprint was.
   */
  async recordOnce(
    fingerprint: Buffer,
  ): Promise<{ stored: Buffer; inserted: boolean; tokensBefore: boolean }> {
    const inserted = await this.dataSource.query<Array<{ tokens_before: boolean }>>(
      `INSERT INTO ${this.s}.pepper_fingerprint (id, fingerprint) VALUES (1, $1)
       ON CONFLICT (id) DO NOTHING
       RETURNING EXISTS (SELECT 1 FROM ${this.s}.tokens) AS tokens_before`,
      [fingerprint],
    );
    const [row] = await this.dataSource.query<Array<{ fingerprint: Buffer }>>(
      `SELECT fingerprint FROM ${this.s}.pepper_fingerprint WHERE id = 1`,
    );
    if (!row) throw new Error('pepper_fingerprint has no row after an insert');
    return {
      stored: row.fingerprint,
      inserted: inserted.length > 0,
      tokensBefore: inserted[0]?.tokens_before === true,
    };
  }
}
