import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Clock } from '@tokenledger/contracts';
import { CLOCK, PeriodicTask, SERVICE_CONFIG } from '@tokenledger/service-host';
import { UnitOfWork } from '@tokenledger/sql';
import { PinoLogger } from 'nestjs-pino';
import type { AnomalyConfig } from '../config';
import { anomalyIdOf, type Finding } from '../domain/detector';
import { classify, type SprawlRow } from '../domain/sprawl';
import { AnomalyRepository } from '../repositories/anomaly.repository';
import { InventoryRepository } from '../repositories/inventory.repository';
import { DetectionService } from './detection.service';

const DAY = 86_400_000;

/**
 * Token sprawl: the report (owner, age, last use, never used, past the maximum age, unrotated)
 * and a scheduled sweep that raises one low-severity `stale-token` finding per stale token.
 * Unlike the stream rules this looks at the wall clock: staleness is about now.
 */
@Injectable()
export class SprawlService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly task: PeriodicTask;

  constructor(
    private readonly inventory: InventoryRepository,
    private readonly anomalies: AnomalyRepository,
    private readonly detection: DetectionService,
    private readonly uow: UnitOfWork,
    @Inject(CLOCK) private readonly clock: Clock,
    logger: PinoLogger,
    @Inject(SERVICE_CONFIG) config: AnomalyConfig,
  ) {
    this.task = new PeriodicTask(
      config.SPRAWL_SWEEP_INTERVAL_MS,
      () => this.sweep(),
      (error) => logger.warn({ err: String(error) }, 'sprawl sweep failed; will retry'),
    );
  }

  onApplicationBootstrap(): void {
    this.task.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.task.stop();
  }

  async report(now = this.clock.now()): Promise<SprawlRow[]> {
    const policy = (await this.anomalies.rules())['stale-token'].params;
    return (await this.inventory.active()).map((t) => classify(t, now, policy));
  }

  /** One sweep; returns the findings it raised (a stale token is reported once). */
  async sweep(now = this.clock.now()): Promise<Finding[]> {
    const rules = await this.anomalies.rules();
    const rule = rules['stale-token'];
    if (!rule.enabled) return [];
    const stale = (await this.inventory.active()).filter(
      (t) => classify(t, now, rule.params).stale,
    );
    const raised: Finding[] = [];
    await this.uow.run(async (m) => {
      for (const t of stale) {
        // Deterministic per token and idle period: the same stale spell is reported once.
        const since = (t.lastUsedAt ?? t.issuedAt).getTime();
        const at = new Date(since + rule.params.staleAfterDays * DAY).toISOString();
        const finding: Finding = {
          anomalyId: anomalyIdOf('stale-token', [t.issuedEventId, String(since)], Date.parse(at)),
          rule: 'stale-token',
          severity: rule.severity,
          action: 'alert',
          tokenId: t.tokenId,
          evidence: [t.issuedEventId],
          detectedAt: at,
          summary: t.lastUsedAt
            ? `unused since ${t.lastUsedAt.toISOString()}`
            : `never used since it was issued at ${t.issuedAt.toISOString()}`,
        };
        if (await this.anomalies.insertFinding(m, finding)) {
          await this.detection.act(m, finding);
          raised.push(finding);
        }
      }
    });
    return raised;
  }
}
