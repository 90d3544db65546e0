import { Worker } from 'node:worker_threads';
import type { BuildEventInput, EventSigningKey, EventType } from '@tokenledger/contracts';
import { traceHeadersOf, type TraceHeaders } from './tracing';

export type ProducerLog = (
  level: 'info' | 'warn' | 'error',
  message: string,
  extra?: Record<string, unknown>,
) => void;

export interface BackgroundProducerOptions {
  brokers: string;
  clientId: string;
  topicPrefix: string;
  /** How often queued events are handed to the sending thread, in ms. Default 20. */
  flushMs?: number;
  /**
   * Events emitted but not yet acknowledged by Kafka (or refused as invalid), at most. Beyond it
   * emit() drops the event and the drops are logged as a count. Default 50,000.
   */
  maxPending?: number;
  /** How long close() waits for the sending thread to deliver what it holds. Default 10 s. */
  closeTimeoutMs?: number;
  /** Signs every event (in the sending thread). Without it the events are unsigned. */
  signingKey?: EventSigningKey;
  log?: ProducerLog;
}

/** What the sending thread needs to start (worker_threads `workerData`). */
export type BackgroundWorkerData = Pick<
  BackgroundProducerOptions,
  'brokers' | 'clientId' | 'topicPrefix'
> & {
  /** EventSigningKey.text: the worker parses it (a KeyObject cannot cross threads as is). */
  signingKey?: string;
};

/** One event to build in the sending thread; `now` is the emitter's clock (id and time). */
export interface BackgroundDraft {
  input: BuildEventInput<EventType>;
  now: number;
  /** The emitter's trace context (tracing on and a span active), for the record's headers. */
  trace?: TraceHeaders;
}

export type ToWorker = { kind: 'events'; drafts: BackgroundDraft[] } | { kind: 'close' };
export type FromWorker =
  | { kind: 'settled'; sent: number; invalid: number }
  | {
      kind: 'log';
      level: Parameters<ProducerLog>[0];
      message: string;
      extra?: Record<string, unknown>;
    }
  | { kind: 'closed' };

/** The compiled worker, resolved through this package's own `exports` (also from ts-jest). */
const WORKER_ENTRY = '@tokenledger/messaging/background-producer-worker';
const RESPAWN_DELAY_MS = 1000;

/**
 * Builds, encodes and publishes events on a worker thread, so that the thread that emits them
 * (a request handler) pays only for queueing a plain object: building and validating the
 * envelope, canonical JSON, the Kafka client and the buffers of unsent events live in the
 * worker's own isolate and heap.
 *
 * Delivery is at most once: emit() returns before anything is sent; what the worker holds when
 * the process dies, or beyond `maxPending`, is lost (and logged as a count). Use it for
 * telemetry (`token.used`), never for events that MUST reach the ledger (use the outbox).
 * Each event goes to `EVENT_TOPIC[type]` keyed by its subject, in emit order per key.
 */
export class BackgroundEventProducer {
  private worker: Worker | undefined;
  private queued: BackgroundDraft[] = [];
  private pending = 0;
  private dropped = 0;
  private closing = false;
  private closed: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly flushMs: number;
  private readonly maxPending: number;

  constructor(private readonly options: BackgroundProducerOptions) {
    this.flushMs = options.flushMs ?? 20;
    this.maxPending = options.maxPending ?? 50_000;
    this.worker = this.spawn();
    this.timer = setInterval(() => this.handOver(), this.flushMs);
    this.timer.unref();
  }

  /**
   * Queues one event. Returns false when it was dropped (closing, or `maxPending` reached).
   * The input is validated in the worker: an invalid one is logged there and not sent.
   */
  emit<T extends EventType>(input: BuildEventInput<T>, now = Date.now()): boolean {
    if (this.closing || this.pending >= this.maxPending) {
      this.dropped += 1;
      return false;
    }
    this.pending += 1;
    const trace = traceHeadersOf();
    this.queued.push(trace ? { input, now, trace } : { input, now });
    return true;
  }

  /** Events emitted and not yet settled (acknowledged by Kafka or refused as invalid). */
  get unsettled(): number {
    return this.pending;
  }

  /** Hands over what is queued, lets the worker deliver it (up to `closeTimeoutMs`), stops it. */
  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    clearInterval(this.timer);
    this.handOver();
    const worker = this.worker;
    // Without a thread (between one's death and its replacement) nothing can deliver what is queued.
    if (!worker) return this.reportLoss();
    const timeoutMs = this.options.closeTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      new Promise<boolean>((resolve) => {
        worker.on('message', (message: FromWorker) => message.kind === 'closed' && resolve(true));
        worker.once('exit', () => resolve(true));
        worker.postMessage({ kind: 'close' } satisfies ToWorker);
      }),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    this.reportLoss(!done);
    this.worker = undefined;
    await worker.terminate();
  }

  /** Logs what close() could not deliver; `timedOut`: also when the count is 0 (unconfirmed). */
  private reportLoss(timedOut = false): void {
    if (timedOut || this.pending > 0)
      this.options.log?.('warn', 'background producer closed with events not delivered', {
        lost: this.pending,
      });
  }

  private handOver(): void {
    if (this.dropped > 0) {
      this.options.log?.('warn', 'background producer full or closing: events dropped', {
        dropped: this.dropped,
        unsettled: this.pending,
      });
      this.dropped = 0;
    }
    if (this.queued.length === 0 || !this.worker) return;
    const drafts = this.queued;
    this.queued = [];
    this.worker.postMessage({ kind: 'events', drafts } satisfies ToWorker);
  }

  private spawn(): Worker {
    const data: BackgroundWorkerData = {
      brokers: this.options.brokers,
      clientId: this.options.clientId,
      topicPrefix: this.options.topicPrefix,
      ...(this.options.signingKey ? { signingKey: this.options.signingKey.text } : {}),
    };
    const worker = new Worker(require.resolve(WORKER_ENTRY), { workerData: data });
    worker.unref();
    worker.on('message', (message: FromWorker) => {
      if (message.kind === 'settled') this.pending -= message.sent + message.invalid;
      else if (message.kind === 'log')
        this.options.log?.(message.level, message.message, message.extra);
    });
    worker.on('error', (error) =>
      this.options.log?.('error', 'background producer thread failed', { err: String(error) }),
    );
    worker.on('exit', (code) => {
      if (this.closing || this.worker !== worker) return;
      // Whatever it held is gone; a new thread takes the next events.
      this.options.log?.('error', 'background producer thread exited; starting a new one', {
        code,
        lost: this.pending - this.queued.length,
      });
      this.pending = this.queued.length;
      this.worker = undefined;
      setTimeout(() => {
        if (!this.closing) this.worker = this.spawn();
      }, RESPAWN_DELAY_MS).unref();
    });
    return worker;
  }
}
