import { Inject, Injectable } from '@nestjs/common';
import { SchemaRepository } from '@tokenledger/sql';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import { DataSource } from 'typeorm';
import type { RevocationConfig } from '../config';

/** DPoP proof ids (jti) accepted per token, until their acceptance window ends. */
@Injectable()
export class DpopJtiRepository extends SchemaRepository {
  constructor(dataSource: DataSource, @Inject(SERVICE_CONFIG) config: RevocationConfig) {
    super(dataSource, config.DB_SCHEMA);
  }

  /** One atomic INSERT (the primary key decides between instances): false when the jti was there. */
  async record(tokenId: string, jti: string, expiresAtMs: number): Promise<boolean> {
    const rows = await this.dataSource.query<unknown[]>(
      `INSERT INTO ${this.s}.dpop_jtis (token_id, jti, expires_at) VALUES ($1, $2, to_timestamp($3::float8 / 1000))
       ON CONFLICT DO NOTHING RETURNING 1`,
      [tokenId, jti, expiresAtMs],
    );
    return rows.length === 1;
  }

  /** Deletes the jtis whose window ended before `now`; returns how many. */
  async deleteExpired(now: Date): Promise<number> {
    const [, deleted] = await this.dataSource.query<[unknown[], number]>(
      `DELETE FROM ${this.s}.dpop_jtis WHERE expires_at < $1`,
      [now],
    );
    return deleted;
  }
}
