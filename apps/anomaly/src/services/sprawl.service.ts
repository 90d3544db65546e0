import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Clock } from '@tokenledger/contracts';
import { EventOutbox } from '@tokenledger/messaging-nest';
import { CLOCK, PeriodicTask, SERVICE_CONFIG } from '@tokenledger/service-host';
import { UnitOfWork } from '@tokenledger/sql';
import { PinoLogger } from 'nestjs-pino';
import type { AnomalyConfig } from '../config';
import { anomalyIdOf, type Finding } from '../domain/detector';
import { rotationByOwner, rotationStatus, type RotationOwnerRow } from '../domain/rotation';
import { classify, type SprawlRow } from '../domain/sprawl';
import { AnomalyRepository } from '../repositories/anomaly.repository';
import { InventoryRepository } from '../repositories/inventory.repository';
import { DETECTOR_ACTOR, DetectionService } from './detection.service';
import { WebhookService } from './webhook.service';

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
    private readonly outbox: EventOutbox,
    private readonly webhooks: WebhookService,
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

  /** Tokens due and overdue for rotation per owner (empty while the policy is disabled). */
  async rotationReport(now = this.clock.now()): Promise<RotationOwnerRow[]> {
    const rule = (await this.anomalies.rules())['rotation-policy'];
    if (!rule.enabled) return [];
    return rotationByOwner(await this.inventory.active(), now, rule.params);
  }

  /**
   * The rotation policy: one `token.rotation-due` per token once due (queued to webhooks in the
   * same transaction), then at the maximum age one revoke request with reason `policy`. An
   * overdue token that was never reminded gets both, reminder first. Returns what it emitted.
   */
  async rotationSweep(now = this.clock.now()): Promise<{ reminded: string[]; revoked: string[] }> {
    const rule = (await this.anomalies.rules())['rotation-policy'];
    const done = { reminded: [] as string[], revoked: [] as string[] };
    if (!rule.enabled) return done;
    const candidates = (await this.inventory.active())
      .map((t) => ({ t, r: rotationStatus(t, now, rule.params) }))
      .filter(({ r }) => r.status === 'due' || r.status === 'overdue');
    if (candidates.length === 0) return done;
    await this.uow.run(async (m) => {
      const progress = await this.inventory.lockRotationProgress(
        m,
        candidates.map(({ t }) => t.tokenId),
      );
      for (const { t, r } of candidates) {
        const p = progress.get(t.tokenId) ?? { remindedAt: null, revokeRequestedAt: null };
        if (p.remindedAt === null) {
          const due = await this.outbox.append(
            m,
            [
              {
                type: 'tokenledger.token.rotation-due.v1',
                data: {
                  tokenId: t.tokenId,
                  issuedAt: t.issuedAt.toISOString(),
                  revokeAt: new Date(r.revokeAt).toISOString(),
                  maxAgeDays: rule.params.maxAgeDays,
                  rotationReminderDays: rule.params.rotationReminderDays,
                  dueAt: new Date(r.dueAt).toISOString(),
                },
              },
            ],
            { actor: DETECTOR_ACTOR },
          );
          await this.webhooks.enqueue(m, due);
          p.remindedAt = new Date(now);
          done.reminded.push(t.tokenId);
        }
        if (r.status === 'overdue' && rule.action === 'revoke' && p.revokeRequestedAt === null) {
          await this.outbox.append(
            m,
            [
              {
                type: 'tokenledger.token.revoke-requested.v1',
                data: { tokenId: t.tokenId, reason: 'policy', requester: DETECTOR_ACTOR },
              },
            ],
            { actor: DETECTOR_ACTOR },
          );
          p.revokeRequestedAt = new Date(now);
          done.revoked.push(t.tokenId);
        }
        await this.inventory.saveRotationProgress(m, t.tokenId, p);
      }
    });
    if (done.reminded.length + done.revoked.length > 0) this.outbox.publishSoon();
    return done;
  }

  /** One sweep; returns the findings it raised (a stale token is reported once). */
  async sweep(now = this.clock.now()): Promise<Finding[]> {
    await this.rotationSweep(now);
    const rules = await this.anomalies.rules();
    const rule = rules['stale-token'];
    if (!rule.enabled) return [];
    const stale = (await this.inventory.active()).filter(
      (t) => classify(t, now, rule.params).stale,
    );
    return this.uow.run(async (m) => {
      const found = stale.map((t): Finding => {
        // Deterministic per token and idle period: the same stale spell is reported once.
        const since = (t.lastUsedAt ?? t.issuedAt).getTime();
        const at = new Date(since + rule.params.staleAfterDays * DAY).toISOString();
        return {
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
      });
      const raised = await this.anomalies.insertFindings(m, found);
      await this.detection.actAll(
        m,
        raised.map((finding) => ({ finding })),
      );
      return raised;
    });
  }
}
