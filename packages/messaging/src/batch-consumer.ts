import {
  EventDecodeError,
  decodeEvent,
  type EventEnvelope,
  type EventVerifier,
} from '@tokenledger/contracts';
import type { Kafka } from 'kafkajs';
import { CatchUpTracker, type CatchUpSource, type CatchUpState } from './catch-up';
import {
  isKafkaClient,
  type GroupConsumer,
  type IncomingRecord,
  type KafkaClient,
  type PartitionBatch,
  type RecordProducer,
} from './client';
import { kafkajsClient } from './kafkajs-client';
import { DeadLetterWriter, deadLetterOf, type DeadLetter } from './dead-letter';
import { processInSpans } from './tracing';

export interface ConsumedEvent {
  event: EventEnvelope;
  topic: string;
  partition: number;
  offset: string;
  /** Kafka record timestamp (LogAppendTime on audited topics), ms since epoch as a string. */
  timestamp: string;
  raw: Buffer;
}

/** A record as Kafka delivered it, undecoded (raw mode). */
export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: string;
  /** ms since epoch as a string. */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
}

/** What a raw handler reports back about its batch. */
export interface RawBatchOutcome {
  /** Records of the batch to dead-letter (after the handler resolved), by offset. */
  deadLetters?: ReadonlyArray<{ offset: string | number; code: string; reason: string }>;
  /** Offset to commit (default: the one after the batch's last record). */
  nextOffset?: string | number;
}

interface CommonOptions {
  /** The client (see createKafkaClient); a kafkajs `Kafka` is taken as the kafkajs client. */
  kafka: KafkaClient | Kafka;
  groupId: string;
  topics: string[];
  /** Producer used for dead letters (acks=all). */
  producer: RecordProducer;
  /** Full name of the dead-letter topic (`ledger.dlq` with any prefix). */
  dlqTopic: string;
  /** Records larger than this are poison (default 256 KiB; decoded mode). */
  maxRecordBytes?: number;
  fromBeginning?: boolean;
  /** Group session timeout (default 30 s); heartbeats every third of it, at most every 3 s. */
  sessionTimeoutMs?: number;
  /** Partitions whose batches are handled at the same time (default 1). */
  partitionsConsumedConcurrently?: number;
  /**
   * Where each partition continues when this member is assigned it, whatever Kafka committed
   * (e.g. an offset stored in PostgreSQL with the state it produced). With it, Kafka's committed
   * offsets are only a hint and a failed commit is logged, not retried; readiness (catch-up)
   * reads the group's position through it too.
   */
  seekOnAssign?: (topic: string, partition: number) => Promise<string | number>;
  /**
   * This member's whole assignment (full topic name -> partitions), as Kafka's group protocol gave
   * it: on every join, and `{}` when the member starts, sees a rebalance begin, stops or crashes.
   * Informative only: during a rebalance two members can both believe they hold a partition, so
   * nothing that needs exclusivity may rely on it (the ledger uses it to spread signing work).
   */
  onAssignment?: (assignment: Readonly<Record<string, readonly number[]>>) => void;
  onDeadLetter?: (letter: DeadLetter) => void;
  /**
   * Decoded mode: the signers this consumer trusts. A record that is unsigned, badly signed or
   * signed by a key not allowed its type and source is dead-lettered with that code
   * (`unsigned`, `bad-signature`, `signer-not-allowed`) and MUST NOT reach `handle`. Without it
   * signatures are not checked (see docs/design/event-signing.md for when that is allowed).
   */
  verifier?: EventVerifier;
  /**
   * Decoded mode, for a consumer that keeps only the latest value per key (a fold, e.g. each
   * token's last use): names the key and the order of an event (undefined: handled as usual).
   * Of the records of one batch with the same key, only the one of greatest `order` (then
   * offset) reaches `handle`, and its signature is the only one checked: if the check fails it
   * is dead-lettered and the next one in order is tried. The others are superseded: neither
   * checked nor handled (the ledger checks and records every record). So one check per key and
   * batch instead of one per record, with the same result as checking them all when the handler
   * keeps the greatest.
   */
  latestOnly?: (event: EventEnvelope) => { key: string; order: number } | undefined;

  /**
   * Every failed call of the handler, with whether the error was taken as retryable (for
   * metrics: a partition stuck on a retryable error shows here and in the lag).
   */
  onHandlerFailure?: (topic: string, partition: number, retryable: boolean) => void;
  /**
   * Tries of one record whose handler fails with a deterministic (non-retryable) error before it
   * is dead-lettered with code `handler-failed` (default CONSUMER_MAX_ATTEMPTS or 5). Retryable
   * errors (see `isRetryableError`) are retried without bound and never dead-lettered; so are the
   * errors of a raw handler (see `handle` in raw mode).
   */
  maxAttempts?: number;
  /** First backoff between tries, doubled each time (default 200 ms, at most 5 s). */
  retryBackoffMs?: number;
  /** Lag of the partition after a batch, for metrics. */
  onLag?: (topic: string, partition: number, lag: number) => void;
  log?: (message: string, extra?: Record<string, unknown>) => void;
}

export type BatchConsumerOptions = CommonOptions &
  (
    | {
        raw?: false;
        /**
         * Handles the valid events of one partition's batch, in offset order; poison records of
         * the batch are already dead-lettered. Offsets are committed only after it resolves, so
         * it MUST be idempotent by event id (see `markProcessed`): after a crash or a rebalance
         * the same records can come again.
         */
        handle: (events: ConsumedEvent[]) => Promise<void>;
      }
    | {
        raw: true;
        /**
         * Handles one partition's batch as delivered, in offset order, and names the records to
         * dead-letter. Offsets are committed only after it resolves (and after its dead letters
         * are acknowledged), so it MUST be idempotent. It MUST turn every fault of a record into
         * a dead letter of its outcome: a throw is taken as trouble of the handler's own (its
         * database), and the batch comes again without bound. No record is skipped for it, so
         * that a consumer that keeps one result per record (the ledger's leaves) has no gaps.
         */
        handle: (records: ConsumedRecord[]) => Promise<RawBatchOutcome>;
      }
  );

const RETRY_MS = 1000;

/**
 * A consumer-group member that hands batches to `handle` partition by partition and commits
 * offsets manually after each batch. In decoded mode (the default) every record is validated
 * first and poison is dead-lettered instead of blocking its partition; in raw mode the handler
 * sees the records as delivered and names what to dead-letter. Kafka's partition assignment
 * spreads partitions over instances.
 */
export class BatchConsumer {
  private consumer: GroupConsumer | undefined;
  private stopped = false;
  private readonly client: KafkaClient;
  private readonly maxRecordBytes: number;
  private readonly deadLetters: DeadLetterWriter;
  private readonly catchUpSource: CatchUpSource & { close(): Promise<void> };
  private readonly catchUp: CatchUpTracker;
  /**
   * Records dead-lettered by `handleBounded` whose batch has not been committed yet (a retryable
   * error later in the batch makes kafkajs deliver it again): they are not handled or
   * dead-lettered twice. Emptied as offsets are committed.
   */
  private readonly deadLettered = new Set<string>();

  constructor(private readonly options: BatchConsumerOptions) {
    this.maxRecordBytes = options.maxRecordBytes ?? 256 * 1024;
    this.deadLetters = new DeadLetterWriter(options.producer, options.dlqTopic);
    this.client = isKafkaClient(options.kafka) ? options.kafka : kafkajsClient(options.kafka);
    this.catchUpSource = this.client.catchUpSource();
    this.catchUp = new CatchUpTracker(this.catchUpSource, options.groupId, options.topics, {
      onCaughtUp: () => void this.catchUpSource.close().catch(() => undefined),
      // A group that keeps its own offsets is caught up by those, not by its commits (hints).
      ...(options.seekOnAssign ? { positions: options.seekOnAssign } : {}),
    });
  }

  /**
   * Whether the group has consumed every partition up to where it ended when this member first
   * started (see CatchUpTracker): what `/health/ready` waits for.
   */
  catchUpState(): CatchUpState {
    return this.catchUp.state();
  }

  /**
   * Starts; on failure (broker unreachable, group coordinator not ready, topic not created yet)
   * retries every second until it runs or `stop()` is called.
   */
  async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.start();
        return;
      } catch (error) {
        this.options.log?.('consumer could not start; retrying', {
          groupId: this.options.groupId,
          err: String(error),
        });
        await this.disconnect();
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }

  /** Starts once; throws if it cannot. See `run()` for the retrying form. */
  async start(): Promise<void> {
    const { groupId, topics, seekOnAssign, onAssignment } = this.options;
    const sessionTimeout = this.options.sessionTimeoutMs ?? 30_000;
    onAssignment?.({});
    let consumer: GroupConsumer | undefined = undefined;
    consumer = this.client.groupConsumer({
      groupId,
      topics,
      fromBeginning: this.options.fromBeginning ?? true,
      sessionTimeoutMs: sessionTimeout,
      heartbeatIntervalMs: Math.min(3_000, Math.floor(sessionTimeout / 3)),
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      onJoin: (assignment) => {
        onAssignment?.(assignment);
        if (seekOnAssign && consumer)
          this.seek(consumer, assignment, seekOnAssign).catch((error: unknown) =>
            this.options.log?.('could not seek to the stored offsets', {
              groupId,
              err: String(error),
            }),
          );
      },
      ...(onAssignment ? { onRevoke: () => onAssignment({}) } : {}),
      eachBatch: (batch) => this.eachBatch(consumer as GroupConsumer, batch),
    });
    this.consumer = consumer;
    // The end offsets as of this moment, before the first fetch: readiness waits for them.
    await this.catchUp.start();
    await consumer.run();
    // stop() came while starting: it saw no consumer (or this one half-connected).
    if (this.stopped) await this.disconnect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.catchUp.stop();
    await this.disconnect();
    await this.catchUpSource.close().catch(() => undefined);
  }

  private async disconnect(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer
      ?.disconnect()
      .catch((error: unknown) =>
        this.options.log?.('consumer did not disconnect cleanly', { err: String(error) }),
      );
  }

  private async seek(
    consumer: GroupConsumer,
    assignment: Readonly<Record<string, readonly number[]>>,
    offsetOf: (topic: string, partition: number) => Promise<string | number>,
  ): Promise<void> {
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) {
        consumer.seek(topic, partition, String(await offsetOf(topic, partition)));
      }
    }
  }

  private async eachBatch(consumer: GroupConsumer, batch: PartitionBatch): Promise<void> {
    const payload = batch;
    const where = { topic: batch.topic, partition: batch.partition, groupId: this.options.groupId };
    let last: string | undefined;
    let next: string | undefined;
    if (this.options.raw) {
      if (!payload.isRunning() || payload.isStale() || batch.messages.length === 0) return;
      const records = batch.messages.map((m) => recordOf(batch.topic, batch.partition, m));
      const handle = this.options.handle;
      let outcome: RawBatchOutcome;
      try {
        outcome = await processInSpans(where, batch.messages, () => handle(records));
      } catch (error) {
        this.handlerFailed(batch.topic, batch.partition, error, true, 0);
        throw error;
      }
      const byOffset = new Map(records.map((r) => [r.offset, r]));
      for (const { offset, code, reason } of outcome.deadLetters ?? []) {
        const record = byOffset.get(String(offset));
        if (!record)
          throw new Error(
            `dead letter for offset ${offset}, which is not in the batch of ${batch.topic}[${batch.partition}]`,
          );
        await this.deadLetter(
          deadLetterOf({ ...record, value: record.value ?? Buffer.alloc(0) }, code, reason),
        );
      }
      last = records[records.length - 1]?.offset;
      if (outcome.nextOffset !== undefined) next = String(outcome.nextOffset);
    } else {
      let valid: Array<{ event: ConsumedEvent; message: IncomingRecord }> = [];
      const latestOnly = this.options.latestOnly;
      const folded = new Map<string, Folded[]>();
      const sourceOf = (message: IncomingRecord, raw: Buffer) => ({
        topic: batch.topic,
        partition: batch.partition,
        offset: message.offset,
        key: message.key,
        value: raw,
      });
      for (const message of batch.messages) {
        if (!payload.isRunning() || payload.isStale()) break;
        const raw = message.value ?? Buffer.alloc(0);
        last = message.offset;
        const decoded = this.decode(raw);
        if (!decoded.ok) {
          await this.deadLetter(
            deadLetterOf(sourceOf(message, raw), decoded.code, decoded.message),
          );
          continue;
        }
        const event: ConsumedEvent = {
          event: decoded.event,
          topic: batch.topic,
          partition: batch.partition,
          offset: message.offset,
          timestamp: message.timestamp,
          raw,
        };
        const fold = latestOnly?.(decoded.event);
        if (fold && Number.isFinite(fold.order)) {
          const line = folded.get(fold.key) ?? [];
          line.push({ event, message, order: fold.order, value: decoded.value });
          folded.set(fold.key, line);
          continue;
        }
        const check = this.checkSignature(decoded.value);
        if (check.ok) valid.push({ event, message });
        else await this.deadLetter(deadLetterOf(sourceOf(message, raw), check.code, check.message));
      }
      if (last === undefined) return;
      // Per key, the latest record whose signature holds; each one that does not is dead-lettered.
      for (const line of folded.values()) {
        line.sort((a, b) =>
          a.order === b.order
            ? Number(BigInt(b.event.offset) - BigInt(a.event.offset))
            : b.order - a.order,
        );
        for (const candidate of line) {
          const check = this.checkSignature(candidate.value);
          if (check.ok) {
            valid.push(candidate);
            break;
          }
          await this.deadLetter(
            deadLetterOf(
              sourceOf(candidate.message, candidate.event.raw),
              check.code,
              check.message,
            ),
          );
        }
      }
      if (folded.size > 0)
        valid = valid.sort((a, b) => Number(BigInt(a.event.offset) - BigInt(b.event.offset)));
      const validEvents = valid.map((v) => v.event);
      const validMessages = valid.map((v) => v.message);
      if (validEvents.length > 0)
        await processInSpans(where, validMessages, () =>
          this.handleBounded(validEvents, () => payload.isRunning() && !payload.isStale()),
        );
    }
    if (last === undefined) return;
    next ??= (BigInt(last) + 1n).toString();
    // Resolving tells kafkajs where to fetch from next; committing makes it survive a restart.
    payload.resolveOffset(last);
    const commit = consumer.commit(batch.topic, batch.partition, next);
    if (this.options.seekOnAssign) {
      await commit.catch((error: unknown) =>
        this.options.log?.('offset commit failed (a hint only here)', { err: String(error) }),
      );
    } else {
      await commit;
    }
    this.forgetDeadLettered(batch.topic, batch.partition, BigInt(next));
    this.catchUp.progress(batch.topic, batch.partition, next);
    if (batch.highWatermark !== undefined)
      this.options.onLag?.(
        batch.topic,
        batch.partition,
        Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(next))),
      );
    await payload.heartbeat();
  }

  /** Decodes (size, JSON, schema); the signature is checked apart (`checkSignature`). */
  private decode(
    raw: Buffer,
  ):
    | { ok: true; event: EventEnvelope; value: Readonly<Record<string, unknown>> }
    | { ok: false; code: string; message: string } {
    if (raw.length > this.maxRecordBytes) {
      const error = tooLarge(raw.length, this.maxRecordBytes);
      return { ok: false, code: error.code, message: error.message };
    }
    const decoded = decodeEvent(raw);
    if (!decoded.ok) return { ok: false, code: decoded.error.code, message: decoded.error.message };
    return { ok: true, event: decoded.event, value: decoded.value };
  }

  private checkSignature(
    value: Readonly<Record<string, unknown>>,
  ): { ok: true } | { ok: false; code: string; message: string } {
    return this.options.verifier?.verify(value) ?? { ok: true };
  }

  /**
   * Runs the handler on the batch; if it fails deterministically, runs it record by record, each
   * up to `maxAttempts` times with backoff, and dead-letters the record that still fails. A
   * retryable error is rethrown, so kafkajs redelivers the batch and nothing is dead-lettered.
   */
  private async handleBounded(events: ConsumedEvent[], owned: () => boolean): Promise<void> {
    const handle = this.options.handle as (events: ConsumedEvent[]) => Promise<void>;
    events = events.filter(
      (e) => !this.deadLettered.has(recordKey(e.topic, e.partition, e.offset)),
    );
    if (events.length === 0) return;
    const first = events[0] as ConsumedEvent;
    try {
      await handle(events);
      return;
    } catch (error) {
      const retryable = isRetryableError(error);
      this.handlerFailed(first.topic, first.partition, error, retryable, 0);
      if (retryable) throw error;
    }
    for (const event of events) {
      for (let attempt = 1; ; attempt++) {
        try {
          await handle([event]);
          break;
        } catch (error) {
          const retryable = isRetryableError(error);
          this.handlerFailed(event.topic, event.partition, error, retryable, attempt, event.offset);
          // Stopping or rebalanced away: the app's own resources (its database pool) may be
          // closing under the handler, so the failure says nothing about the record. Nothing is
          // dead-lettered; the batch comes again to whoever owns the partition next.
          if (retryable || this.stopped || !owned()) throw error;
          if (attempt >= this.maxAttempts()) {
            await this.deadLetter(
              deadLetterOf(
                {
                  topic: event.topic,
                  partition: event.partition,
                  offset: event.offset,
                  key: null,
                  value: event.raw,
                },
                'handler-failed',
                errorSummary(error),
              ),
            );
            this.deadLettered.add(recordKey(event.topic, event.partition, event.offset));
            break;
          }
          const base = this.options.retryBackoffMs ?? 200;
          await new Promise((r) => setTimeout(r, Math.min(5_000, base * 2 ** (attempt - 1))));
        }
      }
    }
  }

  private handlerFailed(
    topic: string,
    partition: number,
    error: unknown,
    retryable: boolean,
    attempt: number,
    offset?: string,
  ): void {
    this.options.onHandlerFailure?.(topic, partition, retryable);
    this.options.log?.(
      retryable
        ? 'handler failed with a retryable error; the batch comes again'
        : attempt === 0
          ? 'handler failed on the batch; trying its records one by one'
          : `handler failed on a record (try ${attempt} of ${this.maxAttempts()})`,
      {
        groupId: this.options.groupId,
        topic,
        partition,
        ...(offset !== undefined ? { offset } : {}),
        err: errorSummary(error),
      },
    );
  }

  private forgetDeadLettered(topic: string, partition: number, committed: bigint): void {
    if (this.deadLettered.size === 0) return;
    const prefix = recordKey(topic, partition, '');
    for (const key of this.deadLettered)
      if (key.startsWith(prefix) && BigInt(key.slice(prefix.length)) < committed)
        this.deadLettered.delete(key);
  }

  private maxAttempts(): number {
    return this.options.maxAttempts ?? (Number(process.env['CONSUMER_MAX_ATTEMPTS']) || 5);
  }

  private async deadLetter(letter: DeadLetter): Promise<void> {
    await this.deadLetters.write(letter);
    this.options.onDeadLetter?.(letter);
    this.options.log?.('poison record sent to the dead-letter topic', {
      topic: letter.topic,
      partition: letter.partition,
      offset: letter.offset,
      code: letter.code,
      reason: letter.reason,
    });
  }
}

function recordOf(topic: string, partition: number, message: IncomingRecord): ConsumedRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    timestamp: message.timestamp,
    key: message.key,
    value: message.value,
  };
}

function tooLarge(size: number, limit: number): EventDecodeError {
  return new EventDecodeError(
    'too-large',
    '',
    `record is ${size} bytes, over the ${limit}-byte limit`,
  );
}

const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '40001', // serialization_failure
  '40P01', // deadlock_detected
]);

/**
 * Whether a handler error is transient infrastructure trouble (retry forever, never dead-letter)
 * rather than a deterministic failure of the record. Errors that say so with `retryable` are
 * believed; connection errors, PostgreSQL connection/serialization SQLSTATEs, PostgreSQL class 08
 * and kafkajs retriable errors are retryable; everything else is deterministic.
 */
export function isRetryableError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { retryable?: unknown; retriable?: unknown; code?: unknown; name?: unknown };
  if (typeof e.retryable === 'boolean') return e.retryable;
  if (e.retriable === true) return true;
  const code = typeof e.code === 'string' ? e.code : '';
  if (RETRYABLE_CODES.has(code) || code.startsWith('08')) return true;
  if (typeof e.name === 'string' && /^Kafka/.test(e.name)) return true;
  const message = String((error as Error).message ?? '');
  return /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Cannot use a pool after calling end|Client was closed and is not queryable|Driver not Connected/i.test(
    message,
  );
}

/** A record of a `latestOnly` consumer, decoded, its signature not checked yet. */
interface Folded {
  event: ConsumedEvent;
  message: IncomingRecord;
  order: number;
  value: Readonly<Record<string, unknown>>;
}

function recordKey(topic: string, partition: number, offset: string): string {
  return `${topic}\0${partition}\0${offset}`;
}

/** Code and message of a handler error, for the dead letter (first 500 characters). */
function errorSummary(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? `${e.code}: ` : '';
  return `${code}${String(e?.message ?? error)}`.slice(0, 500);
}
