import { Inject, Injectable } from '@nestjs/common';
import { SchemaRepository, type Tx } from '@tokenledger/sql';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import { DataSource } from 'typeorm';
import type { AnomalyConfig } from '../config';
import type { WebhookFilter } from '../domain/webhooks';

export type WebhookFormat = 'standard' | 'slack';

/** A subscription as the API shows it: never the secret. */
export interface WebhookView {
  id: string;
  url: string;
  format: WebhookFormat;
  filter: WebhookFilter;
  description: string | null;
  createdBy: string;
  createdAt: string;
}

export interface WebhookRecord extends WebhookView {
  secret: string;
}

export interface DueDelivery {
  deliveryId: string;
  webhookId: string;
  eventId: string;
  body: string;
  attempts: number;
  firstAttemptAt: Date | null;
}

export interface AttemptView {
  attempt: number;
  attemptedAt: string;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  outcome: 'delivered' | 'failed' | 'dead-lettered';
}

export interface DeliveryView {
  id: string;
  eventId: string;
  eventType: string;
  status: 'pending' | 'delivered' | 'dead-lettered' | 'cancelled';
  attempts: AttemptView[];
  createdAt: string;
  nextAttemptAt: string | null;
  finishedAt: string | null;
}

interface WebhookRow {
  webhook_id: string;
  url: string;
  secret: string;
  format: WebhookFormat;
  filter: WebhookFilter;
  description: string | null;
  created_by: string;
  created_at: Date;
}

function toRecord(r: WebhookRow): WebhookRecord {
  return {
    id: r.webhook_id,
    url: r.url,
    secret: r.secret,
    format: r.format,
    filter: r.filter,
    description: r.description,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
  };
}

/** pg returns [rows, count] for UPDATE ... RETURNING through TypeORM's query(). */
function updatedRows<R>(result: unknown): R[] {
  const r = result as unknown[];
  return (Array.isArray(r[0]) ? r[0] : r) as R[];
}

export function toView(r: WebhookRecord): WebhookView {
  const { secret: _secret, ...view } = r;
  return view;
}

/** Subscriptions, the delivery queue and its attempts. */
@Injectable()
export class WebhookRepository extends SchemaRepository {
  constructor(dataSource: DataSource, @Inject(SERVICE_CONFIG) config: AnomalyConfig) {
    super(dataSource, config.DB_SCHEMA);
  }

  async insert(m: Tx, w: WebhookRecord): Promise<void> {
    await m.query(
      `INSERT INTO ${this.s}.webhooks (webhook_id, url, secret, format, filter, description, created_by, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        w.id,
        w.url,
        w.secret,
        w.format,
        JSON.stringify(w.filter),
        w.description,
        w.createdBy,
        w.createdAt,
      ],
    );
  }

  /** Soft delete; pending deliveries are cancelled. False when there was no such live webhook. */
  async delete(m: Tx, id: string, at: number): Promise<WebhookRecord | undefined> {
    const rows = updatedRows<WebhookRow>(
      await m.query(
        `UPDATE ${this.s}.webhooks SET deleted_at = $2 WHERE webhook_id = $1 AND deleted_at IS NULL RETURNING *`,
        [id, new Date(at)],
      ),
    );
    const row = rows[0];
    if (!row) return undefined;
    await m.query(
      `UPDATE ${this.s}.webhook_deliveries SET status = 'cancelled', finished_at = $2 WHERE webhook_id = $1 AND status = 'pending'`,
      [id, new Date(at)],
    );
    return toRecord(row);
  }

  /**
   * Live subscriptions. `forShare` (enqueueing) holds them until the transaction ends, so a
   * delete waits for it and then cancels what it queued: nothing stays queued for a deleted one.
   */
  async live(m: Tx = this.dataSource.manager, forShare = false): Promise<WebhookRecord[]> {
    const rows = await m.query<WebhookRow[]>(
      `SELECT * FROM ${this.s}.webhooks WHERE deleted_at IS NULL ORDER BY created_at, webhook_id${forShare ? ' FOR SHARE' : ''}`,
    );
    return rows.map(toRecord);
  }

  async find(id: string): Promise<WebhookRecord | undefined> {
    const rows = await this.dataSource.query<WebhookRow[]>(
      `SELECT * FROM ${this.s}.webhooks WHERE webhook_id = $1 AND deleted_at IS NULL`,
      [id],
    );
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /** Whether the webhook ever existed (deliveries of a deleted one stay listed). */
  async exists(id: string): Promise<boolean> {
    const rows = await this.dataSource.query<unknown[]>(
      `SELECT 1 FROM ${this.s}.webhooks WHERE webhook_id = $1`,
      [id],
    );
    return rows.length > 0;
  }

  /** Queues one delivery; a redelivered event queues nothing twice. */
  async enqueue(
    m: Tx,
    d: { deliveryId: string; webhookId: string; eventId: string; eventType: string; body: string },
    at: number,
  ): Promise<void> {
    await m.query(
      `INSERT INTO ${this.s}.webhook_deliveries (delivery_id, webhook_id, event_id, event_type, body, created_at, next_attempt_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (webhook_id, event_id) DO NOTHING`,
      [d.deliveryId, d.webhookId, d.eventId, d.eventType, d.body, new Date(at)],
    );
  }

  /**
   * Claims up to `limit` due deliveries for `leaseMs`: another instance skips them (SKIP LOCKED
   * now, the lease later), and a crashed worker's claim lapses, so delivery is at least once.
   */
  async claimDue(now: number, leaseMs: number, limit: number): Promise<DueDelivery[]> {
    const rows = updatedRows<{
      delivery_id: string;
      webhook_id: string;
      event_id: string;
      body: string;
      attempts: number;
      first_attempt_at: Date | null;
    }>(
      await this.dataSource.query(
        `UPDATE ${this.s}.webhook_deliveries d SET next_attempt_at = $2
       WHERE d.delivery_id IN (
         SELECT delivery_id FROM ${this.s}.webhook_deliveries
         WHERE status = 'pending' AND next_attempt_at <= $1
         ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING d.delivery_id, d.webhook_id, d.event_id, d.body, d.attempts, d.first_attempt_at`,
        [new Date(now), new Date(now + leaseMs), limit],
      ),
    );
    return rows.map((r) => ({
      deliveryId: r.delivery_id,
      webhookId: r.webhook_id,
      eventId: r.event_id,
      body: r.body,
      attempts: r.attempts,
      firstAttemptAt: r.first_attempt_at,
    }));
  }

  /** A delivery whose subscription is gone is not attempted. */
  async cancel(deliveryId: string, at: number): Promise<void> {
    await this.dataSource.query(
      `UPDATE ${this.s}.webhook_deliveries SET status = 'cancelled', finished_at = $2 WHERE delivery_id = $1 AND status = 'pending'`,
      [deliveryId, new Date(at)],
    );
  }

  /** Records one attempt and its consequence (delivered, retry at `nextAt`, dead-lettered). */
  async recordAttempt(
    d: DueDelivery,
    a: {
      at: number;
      statusCode: number | null;
      error: string | null;
      durationMs: number;
      outcome: AttemptView['outcome'];
      nextAt?: number;
    },
  ): Promise<void> {
    const attempt = d.attempts + 1;
    const status =
      a.outcome === 'delivered' ? 'delivered' : a.outcome === 'dead-lettered' ? 'dead' : 'pending';
    await this.dataSource.transaction(async (m) => {
      await m.query(
        `INSERT INTO ${this.s}.webhook_attempts (delivery_id, attempt, attempted_at, status_code, error, duration_ms, outcome)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
        [d.deliveryId, attempt, new Date(a.at), a.statusCode, a.error, a.durationMs, a.outcome],
      );
      await m.query(
        `UPDATE ${this.s}.webhook_deliveries
         SET attempts = $2, status = CASE WHEN status = 'pending' THEN $3 ELSE status END,
             first_attempt_at = coalesce(first_attempt_at, $4),
             next_attempt_at = $5, finished_at = $6
         WHERE delivery_id = $1`,
        [
          d.deliveryId,
          attempt,
          status,
          new Date(a.at),
          new Date(a.nextAt ?? a.at),
          status === 'pending' ? null : new Date(a.at),
        ],
      );
    });
  }

  async deliveries(
    webhookId: string,
    q: { limit: number; status?: string; after?: { at: string; id: string } },
  ): Promise<DeliveryView[]> {
    const params: unknown[] = [webhookId, q.limit];
    let where = 'webhook_id = $1';
    if (q.status) {
      params.push(q.status === 'dead-lettered' ? 'dead' : q.status);
      where += ` AND status = $${params.length}`;
    }
    if (q.after) {
      params.push(q.after.at, q.after.id);
      where += ` AND (created_at, delivery_id) > ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
    }
    const rows = await this.dataSource.query<
      Array<{
        delivery_id: string;
        event_id: string;
        event_type: string;
        status: string;
        created_at: Date;
        next_attempt_at: Date;
        finished_at: Date | null;
      }>
    >(
      `SELECT delivery_id, event_id, event_type, status, created_at, next_attempt_at, finished_at
       FROM ${this.s}.webhook_deliveries WHERE ${where} ORDER BY created_at, delivery_id LIMIT $2`,
      params,
    );
    if (rows.length === 0) return [];
    const attempts = await this.dataSource.query<
      Array<{
        delivery_id: string;
        attempt: number;
        attempted_at: Date;
        status_code: number | null;
        error: string | null;
        duration_ms: number;
        outcome: AttemptView['outcome'];
      }>
    >(
      `SELECT * FROM ${this.s}.webhook_attempts WHERE delivery_id = ANY($1::uuid[]) ORDER BY delivery_id, attempt`,
      [rows.map((r) => r.delivery_id)],
    );
    const byDelivery = new Map<string, AttemptView[]>();
    for (const a of attempts) {
      const list = byDelivery.get(a.delivery_id) ?? [];
      list.push({
        attempt: a.attempt,
        attemptedAt: a.attempted_at.toISOString(),
        statusCode: a.status_code,
        error: a.error,
        durationMs: a.duration_ms,
        outcome: a.outcome,
      });
      byDelivery.set(a.delivery_id, list);
    }
    return rows.map((r) => ({
      id: r.delivery_id,
      eventId: r.event_id,
      eventType: r.event_type,
      status: (r.status === 'dead' ? 'dead-lettered' : r.status) as DeliveryView['status'],
      attempts: byDelivery.get(r.delivery_id) ?? [],
      createdAt: r.created_at.toISOString(),
      nextAttemptAt: r.status === 'pending' ? r.next_attempt_at.toISOString() : null,
      finishedAt: r.finished_at?.toISOString() ?? null,
    }));
  }

  /** The owner (`type:id`) of each known token. */
  async owners(m: Tx, tokenIds: string[]): Promise<Map<string, string>> {
    if (tokenIds.length === 0) return new Map();
    const rows = await m.query<Array<{ token_id: string; owner: string }>>(
      `SELECT token_id, owner_type || ':' || owner_id AS owner FROM ${this.s}.inventory WHERE token_id = ANY($1::uuid[])`,
      [tokenIds],
    );
    return new Map(rows.map((r) => [r.token_id, r.owner]));
  }
}
