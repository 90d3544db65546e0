import {
  cloudEventHeaders,
  encodeEvent,
  partitionKey,
  type EventEnvelope,
  type EventSigningKey,
} from '@tokenledger/contracts';
import type { RecordProducer } from './client';
import type { DataSource, EntityManager } from 'typeorm';
import { quoteIdent, type TablePrivilege } from '@tokenledger/sql';
import { endSpans, startSendSpan, traceHeadersOf, type TraceHeaders } from './tracing';

/**
 * DDL of the outbox and inbox tables in `schema`, for an app's migration.
 * - outbox: events written in the same transaction as the state change they describe.
 * - inbox: ids of events a consumer has processed, so that a redelivery is dropped.
 */
export function outboxTablesDdl(schema: string): string[] {
  const s = quoteIdent(schema);
  return [
    `CREATE TABLE ${s}.outbox (
       seq bigserial PRIMARY KEY,
       event_id uuid NOT NULL UNIQUE,
       topic text NOT NULL,
       key text NOT NULL,
       payload bytea NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now(),
       published_at timestamptz
     )`,
    `CREATE INDEX outbox_unpublished ON ${s}.outbox (seq) WHERE published_at IS NULL`,
    `CREATE TABLE ${s}.inbox (
       consumer text NOT NULL,
       event_id uuid NOT NULL,
       processed_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (consumer, event_id)
     )`,
  ];
}

/**
 * What an app's login role needs on the outbox and inbox (its SchemaGrants spread them in): it
 * enqueues and the relay marks rows published, nothing more; a redelivery is recorded in the inbox.
 * An app that forgets processed events (a rebuild) adds DELETE on `inbox` itself.
 */
export const outboxTableGrants: Readonly<Record<'outbox' | 'inbox', readonly TablePrivilege[]>> = {
  outbox: ['SELECT', 'INSERT', 'UPDATE (published_at)'],
  inbox: ['SELECT', 'INSERT'],
};

export function dropOutboxTablesDdl(schema: string): string[] {
  const s = quoteIdent(schema);
  return [`DROP TABLE ${s}.inbox`, `DROP TABLE ${s}.outbox`];
}

export interface OutboxMessage {
  event: EventEnvelope;
  /** Full topic name (with any test prefix). */
  topic: string;
}

/** An outbox row whose event is already validated and encoded (see EventOutbox.prepare). */
export interface EncodedOutboxMessage {
  eventId: string;
  /** Full topic name (with any test prefix). */
  topic: string;
  key: string;
  payload: Buffer;
}

/**
 * The outbox column that carries the trace context of the request that wrote a row to the
 * relay, which publishes later (docs/design/tracing.md); migration OutboxTraceContext1795800000900.
 */
export function outboxTraceContextDdl(schema: string): string[] {
  return [`ALTER TABLE ${quoteIdent(schema)}.outbox ADD COLUMN trace_context jsonb`];
}

/**
 * The INSERT of `messages` into the outbox as one statement, its parameters numbered from
 * `firstParam`, for a caller that runs it in the same statement as its state change (a
 * data-modifying CTE: one round trip, and atomic without BEGIN/COMMIT) or in its transaction.
 * Each row keeps the active trace context (null without one, or with tracing off).
 */
export function outboxInsert(
  schema: string,
  messages: readonly EncodedOutboxMessage[],
  firstParam = 1,
): { sql: string; values: unknown[] } {
  const values: unknown[] = [];
  const trace = traceHeadersOf();
  const traceJson = trace ? JSON.stringify(trace) : null;
  const rows = messages.map((m, i) => {
    values.push(m.eventId, m.topic, m.key, m.payload, traceJson);
    const b = firstParam + i * 5;
    return `($${b}, $${b + 1}, $${b + 2}, $${b + 3}, $${b + 4})`;
  });
  return {
    sql: `INSERT INTO ${quoteIdent(schema)}.outbox (event_id, topic, key, payload, trace_context) VALUES ${rows.join(', ')}`,
    values,
  };
}

/**
 * Writes events to the outbox inside the caller's transaction.
 * MUST be called with the EntityManager of the transaction that makes the state change, so that
 * both commit or neither does.
 */
export async function enqueueEvents(
  manager: EntityManager,
  schema: string,
  messages: readonly OutboxMessage[],
  /** Signs each event (docs/design/event-signing.md); the relay publishes the bytes as stored. */
  signingKey?: EventSigningKey,
): Promise<void> {
  await enqueueEncoded(
    manager,
    schema,
    messages.map((m) => ({
      eventId: m.event.id,
      topic: m.topic,
      key: partitionKey(m.event),
      payload: encodeEvent(m.event, signingKey ? { signingKey } : {}),
    })),
  );
}

/** {@link enqueueEvents} for rows already encoded; the same transaction rule holds. */
export async function enqueueEncoded(
  manager: EntityManager,
  schema: string,
  messages: readonly EncodedOutboxMessage[],
): Promise<void> {
  if (messages.length === 0) return;
  if (!manager.queryRunner?.isTransactionActive) {
    throw new Error('enqueueEvents must run inside a transaction');
  }
  // PostgreSQL takes at most 65535 parameters per statement (5 per row here).
  for (let i = 0; i < messages.length; i += OUTBOX_INSERT_ROWS) {
    const { sql, values } = outboxInsert(schema, messages.slice(i, i + OUTBOX_INSERT_ROWS));
    await manager.query(sql, values);
  }
}

/** Rows per INSERT statement of enqueueEncoded. */
const OUTBOX_INSERT_ROWS = 5000;

export interface OutboxRelayOptions {
  dataSource: DataSource;
  schema: string;
  producer: RecordProducer;
  batchSize?: number;
  pollIntervalMs?: number;
  /**
   * How long a nudge waits before its pass (default 0): the commits of that window go to Kafka
   * in one request, and each consumer downstream then fetches and commits them as one batch.
   * Later nudges within the window join the pass already scheduled.
   */
  lingerMs?: number;
  /** Test seam: runs after Kafka acknowledged a batch and before the rows are marked published. */
  afterPublish?: (eventIds: string[]) => Promise<void>;
  onError?: (error: unknown) => void;
}

/**
 * Publishes outbox rows in commit order and marks them published.
 *
 * Guarantees: at-least-once (a crash between the Kafka ack and the mark republishes the batch, so
 * consumers MUST drop duplicates by event id); per-key order is kept because only one relay per
 * schema runs at a time (transaction-scoped advisory lock) and rows go out in `seq` order.
 */
export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private nudged = false;
  /** When the scheduled pass runs (performance.now() time). */
  private dueAt = 0;
  private readonly lockKey: string;

  constructor(private readonly options: OutboxRelayOptions) {
    this.lockKey = `tokenledger.outbox.${options.schema}`;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Asks for a publish pass now (after a commit that wrote outbox rows). */
  nudge(): void {
    if (this.stopped) return;
    if (this.running) {
      this.nudged = true;
      return;
    }
    const linger = this.options.lingerMs ?? 0;
    // A pass already due within the linger window takes this commit's rows too.
    if (this.timer && this.dueAt <= performance.now() + linger) return;
    this.schedule(linger);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: publishes up to batchSize rows; returns how many it published. */
  async publishOnce(): Promise<number> {
    const { dataSource, schema, producer } = this.options;
    const s = quoteIdent(schema);
    return dataSource.transaction(async (manager) => {
      const [lock] = await manager.query<Array<{ ok: boolean }>>(
        'SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok',
        [this.lockKey],
      );
      if (!lock?.ok) return 0;
      const rows = await manager.query<
        Array<{
          seq: string;
          event_id: string;
          topic: string;
          key: string;
          payload: Buffer;
          trace_context: TraceHeaders | null;
        }>
      >(
        `SELECT seq, event_id, topic, key, payload, trace_context FROM ${s}.outbox
          WHERE published_at IS NULL ORDER BY seq LIMIT $1`,
        [this.options.batchSize ?? 500],
      );
      if (rows.length === 0) return 0;
      const byTopic = new Map<
        string,
        Array<{ key: string; value: Buffer; headers: Record<string, string> }>
      >();
      const spans = [];
      for (const row of rows) {
        const list = byTopic.get(row.topic) ?? [];
        const headers = cloudEventHeaders();
        // The send span continues the trace of the request that wrote the row.
        spans.push(
          startSendSpan(
            row.topic,
            { key: row.key, eventId: row.event_id },
            row.trace_context,
            headers,
          ),
        );
        list.push({ key: row.key, value: row.payload, headers });
        byTopic.set(row.topic, list);
      }
      try {
        await producer.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
      } catch (error) {
        endSpans(spans, error);
        throw error;
      }
      endSpans(spans);
      const ids = rows.map((r) => r.event_id);
      await this.options.afterPublish?.(ids);
      await manager.query(
        `UPDATE ${s}.outbox SET published_at = now() WHERE seq = ANY($1::bigint[])`,
        [rows.map((r) => r.seq)],
      );
      return rows.length;
    });
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.dueAt = performance.now() + delayMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.loop().finally(() => {
        this.running = undefined;
        // A nudge between the loop's last check and here found it still running.
        if (this.nudged && !this.stopped) {
          this.nudged = false;
          this.schedule(this.options.lingerMs ?? 0);
        }
      });
    }, delayMs);
  }

  private async loop(): Promise<void> {
    try {
      const batchSize = this.options.batchSize ?? 500;
      let published: number;
      // A short pass took every row committed before its SELECT; a row committed since then
      // nudged (setting `nudged`), so no empty pass is needed to find out.
      do {
        this.nudged = false;
        published = await this.publishOnce();
      } while (!this.stopped && (published >= batchSize || this.nudged));
    } catch (error) {
      this.options.onError?.(error);
    }
    this.schedule(this.options.pollIntervalMs ?? 200);
  }
}
