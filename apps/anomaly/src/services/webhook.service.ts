import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Principal } from '@tokenledger/auth';
import type { Clock, EventEnvelope, IdSource } from '@tokenledger/contracts';
import { DomainError } from '@tokenledger/errors';
import { EventOutbox } from '@tokenledger/messaging-nest';
import { CLOCK, decodeCursor, encodeCursor, ID_SOURCE } from '@tokenledger/service-host';
import { UnitOfWork, type Tx } from '@tokenledger/sql';
import {
  generateSecret,
  isWebhookEventType,
  matches,
  slackBody,
  standardBody,
  type WebhookFilter,
} from '../domain/webhooks';
import {
  toView,
  WebhookRepository,
  type DeliveryView,
  type WebhookFormat,
  type WebhookView,
} from '../repositories/webhook.repository';

export interface CreateWebhook {
  url: string;
  secret?: string;
  format: WebhookFormat;
  filter: WebhookFilter;
  description?: string;
}

/**
 * Subscriptions and the enqueueing side of delivery. Enqueueing MUST happen in the transaction
 * that records what the event is about (a finding, a consumed lifecycle event), so an event is
 * queued exactly when it is committed; the HTTP calls happen later in WebhookDispatcher and
 * never hold up detection.
 */
@Injectable()
export class WebhookService {
  constructor(
    private readonly repository: WebhookRepository,
    private readonly outbox: EventOutbox,
    private readonly uow: UnitOfWork,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_SOURCE) private readonly ids: IdSource,
  ) {}

  /** The secret is in this answer and never again. */
  async create(
    input: CreateWebhook,
    principal: Principal,
  ): Promise<WebhookView & { secret: string }> {
    const now = this.clock.now();
    const record = {
      id: this.ids.next(),
      url: input.url,
      secret: input.secret ?? generateSecret(randomBytes),
      format: input.format,
      filter: input.filter,
      description: input.description ?? null,
      createdBy: principal.actor,
      createdAt: new Date(now).toISOString(),
    };
    await this.uow.run(async (m) => {
      await this.repository.insert(m, record);
      await this.audit(m, record.id, 'created', record, principal, now);
    });
    this.outbox.publishSoon();
    return { ...toView(record), secret: record.secret };
  }

  async list(): Promise<WebhookView[]> {
    return (await this.repository.live()).map(toView);
  }

  async get(id: string): Promise<WebhookView> {
    const found = await this.repository.find(id);
    if (!found) throw new DomainError('webhook_not_found', `no webhook ${id}`);
    return toView(found);
  }

  async delete(id: string, principal: Principal): Promise<void> {
    const now = this.clock.now();
    await this.uow.run(async (m) => {
      const deleted = await this.repository.delete(m, id, now);
      if (!deleted) throw new DomainError('webhook_not_found', `no webhook ${id}`);
      await this.audit(m, id, 'deleted', deleted, principal, now);
    });
    this.outbox.publishSoon();
  }

  async deliveries(
    id: string,
    q: { limit: number; status?: string; cursor?: string },
  ): Promise<{ deliveries: DeliveryView[]; cursor: string | null }> {
    if (!(await this.repository.exists(id)))
      throw new DomainError('webhook_not_found', `no webhook ${id}`);
    let after: { at: string; id: string } | undefined;
    if (q.cursor) {
      const [at, did] = decodeCursor(q.cursor, ['string', 'string']);
      after = { at, id: did };
    }
    const deliveries = await this.repository.deliveries(id, {
      limit: q.limit,
      ...(q.status ? { status: q.status } : {}),
      ...(after ? { after } : {}),
    });
    const last = deliveries.length === q.limit ? deliveries[deliveries.length - 1] : undefined;
    return { deliveries, cursor: last ? encodeCursor([last.createdAt, last.id]) : null };
  }

  /**
   * Queues a delivery of each event to every live subscription whose filter matches, inside
   * the caller's transaction. Events of other types are ignored; an event queued before (a
   * redelivery, or an event queued when produced and seen again when consumed) is not queued
   * twice.
   */
  async enqueue(m: Tx, events: EventEnvelope[]): Promise<void> {
    const candidates = events.filter((e) => isWebhookEventType(e.type));
    if (candidates.length === 0) return;
    const hooks = await this.repository.live(m, true);
    if (hooks.length === 0) return;
    const owners = await this.repository.owners(
      m,
      candidates.map((e) => e.subject),
    );
    const now = this.clock.now();
    for (const event of candidates) {
      if (!isWebhookEventType(event.type)) continue;
      const data = event.data as { rule?: unknown; severity?: unknown };
      const owner = owners.get(event.subject);
      const subject = {
        type: event.type,
        ...(typeof data.rule === 'string' ? { rule: data.rule } : {}),
        ...(typeof data.severity === 'string' ? { severity: data.severity } : {}),
        ...(owner ? { owner } : {}),
      };
      for (const hook of hooks) {
        if (!matches(hook.filter, subject)) continue;
        await this.repository.enqueue(
          m,
          {
            deliveryId: this.ids.next(),
            webhookId: hook.id,
            eventId: event.id,
            eventType: event.type,
            body: hook.format === 'slack' ? slackBody(event) : standardBody(event),
          },
          now,
        );
      }
    }
  }

  private async audit(
    m: Tx,
    webhookId: string,
    change: 'created' | 'deleted',
    w: { url: string; format: WebhookFormat; filter: WebhookFilter },
    principal: Principal,
    now: number,
  ): Promise<void> {
    await this.outbox.append(
      m,
      [
        {
          type: 'tokenledger.ops.webhook-changed.v1',
          data: {
            webhookId,
            change,
            urlOrigin: new URL(w.url).origin,
            eventTypes: w.filter.eventTypes,
            format: w.format,
            changedAt: new Date(now).toISOString(),
          },
        },
      ],
      { actor: principal.actor },
    );
  }
}
