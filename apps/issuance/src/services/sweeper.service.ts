import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { PeriodicTask, SERVICE_CONFIG } from '@tokenledger/service-host';
import { PinoLogger } from 'nestjs-pino';
import type { IssuanceConfig } from '../config';
import { IssuanceService } from './issuance.service';

/** Runs IssuanceService.sweep every SWEEP_INTERVAL_MS: rotation grace ends and expiries. */
@Injectable()
export class SweeperService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly task: PeriodicTask;

  constructor(
    issuance: IssuanceService,
    logger: PinoLogger,
    @Inject(SERVICE_CONFIG) config: IssuanceConfig,
  ) {
    this.task = new PeriodicTask(
      config.SWEEP_INTERVAL_MS,
      () => issuance.sweep(),
      (error) => logger.warn({ err: String(error) }, 'sweep failed; will retry'),
    );
  }

  onApplicationBootstrap(): void {
    this.task.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.task.stop();
  }
}
