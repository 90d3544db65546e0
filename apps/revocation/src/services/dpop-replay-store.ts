import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { quoteIdent } from '@tokenledger/sql';
import { PeriodicTask, SERVICE_CONFIG } from '@tokenledger/service-host';
import { PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import type { RevocationConfig } from '../config';

const SWEEP_INTERVAL_MS = 60_000;

/**
 * The DPoP jti check shared by all revocation instances: a jti is recorded per token in
 * PostgreSQL (one INSERT, which the primary key makes atomic across instances) until the
 * proof's acceptance window ends. A jti already there is a replay. Expired rows are swept every
 * minute; until then they only refuse proofs whose `iat` is out of the window anyway.
 */
@Injectable()
export class DpopReplayStore implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly s: string;
  private readonly sweeper: PeriodicTask;

  constructor(
    private readonly dataSource: DataSource,
    logger: PinoLogger,
    @Inject(SERVICE_CONFIG) config: RevocationConfig,
  ) {
    this.s = quoteIdent(config.DB_SCHEMA);
    this.sweeper = new PeriodicTask(SWEEP_INTERVAL_MS, () => this.sweep(), (error) => logger.warn({ err: String(error) }, 'DPoP jti sweep failed; will retry'));
  }

  onApplicationBootstrap(): void {
    this.sweeper.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.sweeper.stop();
  }

  /** True when this token's proof id was accepted before (by any instance); otherwise records it. */
  async isReplay(tokenId: string, jti: string, expiresAtMs: number): Promise<boolean> {
    const rows = await this.dataSource.query<unknown[]>(
      `INSERT INTO ${this.s}.dpop_jtis (token_id, jti, expires_at) VALUES ($1, $2, to_timestamp($3::float8 / 1000))
       ON CONFLICT DO NOTHING RETURNING 1`,
      [tokenId, jti, expiresAtMs],
    );
    return rows.length === 0;
  }

  async sweep(now = new Date()): Promise<number> {
    const [, deleted] = await this.dataSource.query<[unknown[], number]>(`DELETE FROM ${this.s}.dpop_jtis WHERE expires_at < $1`, [now]);
    return deleted;
  }
}
