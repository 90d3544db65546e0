import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Clock } from '@tokenledger/contracts';
import { CLOCK, PeriodicTask } from '@tokenledger/service-host';
import { PinoLogger } from 'nestjs-pino';
import { DpopJtiRepository } from '../repositories/dpop-jti.repository';

const SWEEP_INTERVAL_MS = 60_000;

/**
 * The DPoP jti check shared by all revocation instances: a jti is recorded per token in
 * PostgreSQL (one INSERT, which the primary key makes atomic across instances) until the
 * proof's acceptance window ends. A jti already there is a replay. Expired rows are swept every
 * minute; until then they only refuse proofs whose `iat` is out of the window anyway.
 */
@Injectable()
export class DpopReplayStore implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly sweeper: PeriodicTask;

  constructor(
    private readonly jtis: DpopJtiRepository,
    logger: PinoLogger,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.sweeper = new PeriodicTask(
      SWEEP_INTERVAL_MS,
      () => this.sweep(),
      (error) => logger.warn({ err: String(error) }, 'DPoP jti sweep failed; will retry'),
    );
  }

  onApplicationBootstrap(): void {
    this.sweeper.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.sweeper.stop();
  }

  /** True when this token's proof id was accepted before (by any instance); otherwise records it. */
  async isReplay(tokenId: string, jti: string, expiresAtMs: number): Promise<boolean> {
    return !(await this.jtis.record(tokenId, jti, expiresAtMs));
  }

  sweep(now = new Date(this.clock.now())): Promise<number> {
    return this.jtis.deleteExpired(now);
  }
}
