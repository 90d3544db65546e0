import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Clock } from '@tokenledger/contracts';
import { CLOCK, PeriodicTask, SERVICE_CONFIG } from '@tokenledger/service-host';
import { PinoLogger } from 'nestjs-pino';
import type { AnomalyConfig } from '../config';
import { nextAttemptAt, sign, type RetrySchedule } from '../domain/webhooks';
import { WebhookRepository, type DueDelivery } from '../repositories/webhook.repository';

const BATCH = 50;

/**
 * The delivery worker: claims due deliveries from the queue in PostgreSQL, POSTs each with
 * Standard Webhooks headers, records every attempt, and retries failures with exponential
 * backoff until the retry window is over, then dead-letters them. Several instances share the
 * queue (SKIP LOCKED + a lease). A receiver MUST deduplicate by `webhook-id`: a crash between
 * the POST and the record sends the same delivery again (at least once).
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly task: PeriodicTask;
  private readonly schedule: RetrySchedule;

  constructor(
    private readonly repository: WebhookRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly logger: PinoLogger,
    @Inject(SERVICE_CONFIG) private readonly config: AnomalyConfig,
  ) {
    this.schedule = {
      baseMs: config.WEBHOOK_BACKOFF_BASE_MS,
      maxMs: config.WEBHOOK_BACKOFF_MAX_MS,
      windowMs: config.WEBHOOK_RETRY_WINDOW_MS,
    };
    this.task = new PeriodicTask(
      config.WEBHOOK_POLL_INTERVAL_MS,
      () => this.runOnce(),
      (error) => logger.warn({ err: String(error) }, 'webhook dispatch failed; will retry'),
    );
  }

  onApplicationBootstrap(): void {
    this.task.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.task.stop();
  }

  /** One pass: every due delivery (in batches) gets one attempt. Returns how many were tried. */
  async runOnce(): Promise<number> {
    let tried = 0;
    for (;;) {
      const due = await this.repository.claimDue(
        this.clock.now(),
        this.config.WEBHOOK_TIMEOUT_MS * 3,
        BATCH,
      );
      if (due.length === 0) return tried;
      await Promise.all(due.map((d) => this.attempt(d)));
      tried += due.length;
      if (due.length < BATCH) return tried;
    }
  }

  private async attempt(d: DueDelivery): Promise<void> {
    const hook = await this.repository.find(d.webhookId);
    if (!hook) {
      // Deleted after this delivery was claimed.
      await this.repository.cancel(d.deliveryId, this.clock.now());
      return;
    }
    const started = this.clock.now();
    const timestamp = Math.floor(started / 1000);
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'tokenledger-webhooks/1',
          'webhook-id': d.deliveryId,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': sign(hook.secret, d.deliveryId, timestamp, d.body),
        },
        body: d.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.WEBHOOK_TIMEOUT_MS),
      });
      statusCode = res.status;
      await res.body?.cancel();
    } catch (e) {
      // The message only (e.g. ECONNREFUSED, timeout): never the headers, which hold the signature.
      error = (
        e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)
      ).slice(0, 300);
    }
    const at = this.clock.now();
    const durationMs = Math.max(0, at - started);
    if (statusCode !== null && statusCode >= 200 && statusCode < 300) {
      await this.repository.recordAttempt(d, {
        at,
        statusCode,
        error,
        durationMs,
        outcome: 'delivered',
      });
      return;
    }
    const first = d.firstAttemptAt?.getTime() ?? started;
    const nextAt = nextAttemptAt(this.schedule, d.attempts + 1, first, at);
    if (nextAt === undefined) {
      await this.repository.recordAttempt(d, {
        at,
        statusCode,
        error,
        durationMs,
        outcome: 'dead-lettered',
      });
      this.logger.warn(
        {
          webhookId: d.webhookId,
          deliveryId: d.deliveryId,
          eventId: d.eventId,
          attempts: d.attempts + 1,
        },
        'webhook delivery dead-lettered after its retry window',
      );
      return;
    }
    await this.repository.recordAttempt(d, {
      at,
      statusCode,
      error,
      durationMs,
      outcome: 'failed',
      nextAt,
    });
  }
}
