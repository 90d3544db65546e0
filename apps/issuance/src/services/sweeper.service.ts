import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import { PinoLogger } from 'nestjs-pino';
import type { IssuanceConfig } from '../config';
import { IssuanceService } from './issuance.service';

/** Runs IssuanceService.sweep every SWEEP_INTERVAL_MS: rotation grace ends and expiries. */
@Injectable()
export class SweeperService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly issuance: IssuanceService,
    private readonly logger: PinoLogger,
    @Inject(SERVICE_CONFIG) private readonly config: IssuanceConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.issuance
        .sweep()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'sweep failed; will retry'))
        .finally(() => {
          this.running = undefined;
        });
    }, this.config.SWEEP_INTERVAL_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
