import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import {
  TOPICS,
  buildEncodedEvent,
  cloudEventHeaders,
  partitionKey,
  type TokenUsedV1,
} from '@tokenledger/contracts';
import { DomainError } from '@tokenledger/errors';
import { KafkaConnection } from '@tokenledger/messaging-nest';
import { traceHeadersOf, type BackgroundEventProducer } from '@tokenledger/messaging';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import type { RevocationConfig } from '../config';

/**
 * Emits `token.used` for every introspection answer.
 *
 * Best effort (USAGE_AUDIT=best-effort, the default): without making the request wait for Kafka,
 * and without building the event on the request's thread: the answer's data is handed to a
 * background producer (a worker thread with its own Kafka connection) that validates, encodes
 * and sends the events in batches (acks=all). Trade-off: a crash loses the events not yet
 * acknowledged (usage is telemetry; lifecycle events go through the outbox).
 *
 * Required (USAGE_AUDIT=required): `record` MUST resolve before the answer is given: it sends
 * the event with the app's producer (acks=all) and resolves once Kafka acknowledged it; if Kafka
 * does not within USAGE_AUDIT_TIMEOUT_MS it rejects with `usage_audit_unavailable` (503), so no
 * answer goes out whose use is not on record (fail closed).
 */
const MAX_QUEUED = 10_000;
const MAX_BATCH = 1_000;

@Injectable()
export class UsageReporter implements OnApplicationShutdown {
  readonly required: boolean;
  private readonly producer: BackgroundEventProducer | undefined;
  private readonly topic: string;
  private readonly timeoutMs: number;
  private readonly queue: Array<{
    key: string;
    value: Buffer;
    headers: Record<string, string>;
    resolve: () => void;
    reject: (error: Error) => void;
  }> = [];
  private sending = false;

  constructor(
    private readonly kafka: KafkaConnection,
    @Inject(SERVICE_CONFIG) config: RevocationConfig,
  ) {
    this.required = config.USAGE_AUDIT === 'required';
    this.producer = this.required ? undefined : kafka.backgroundProducer();
    this.topic = kafka.topic(TOPICS.usage);
    this.timeoutMs = config.USAGE_AUDIT_TIMEOUT_MS;
  }

  /** Best effort. `now` is when the answer was given: the event's time and the time in its id. */
  report(data: TokenUsedV1, actor: string, now: number): void {
    this.producer?.emit(
      { type: 'tokenledger.token.used.v1', source: '/tokenledger/revocation', actor, data },
      now,
    );
  }

  /**
   * Required mode: resolves once Kafka acknowledged the event; else `usage_audit_unavailable`.
   * Group commit: while one send is in flight (the producer is idempotent, one request in flight)
   * the events of other answers queue, and go together in the next send, so that concurrent
   * answers share one acknowledgement. At most MAX_QUEUED wait; more are refused at once.
   */
  async record(data: TokenUsedV1, actor: string, now: number): Promise<void> {
    const { event, bytes } = buildEncodedEvent(
      { type: 'tokenledger.token.used.v1', source: '/tokenledger/revocation', actor, data },
      { now: () => now },
    );
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        if (this.queue.length >= MAX_QUEUED) {
          reject(new Error(`${MAX_QUEUED} usage events already waiting for Kafka`));
          return;
        }
        timer = setTimeout(
          () => reject(new Error(`no acknowledgement within ${this.timeoutMs} ms`)),
          this.timeoutMs,
        );
        // The CloudEvents binding's content-type, and the answering request's trace context.
        const headers: Record<string, string> = { ...cloudEventHeaders(), ...traceHeadersOf() };
        this.queue.push({ key: partitionKey(event), value: bytes, headers, resolve, reject });
        this.flush();
      });
    } catch (error) {
      throw new DomainError(
        'usage_audit_unavailable',
        'the use of this token could not be recorded (USAGE_AUDIT=required); no answer is given',
        true,
        { cause: error instanceof Error ? error.message : String(error) },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  private flush(): void {
    if (this.sending || this.queue.length === 0) return;
    const batch = this.queue.splice(0, MAX_BATCH);
    this.sending = true;
    this.kafka.producer
      .send({
        topic: this.topic,
        acks: -1,
        messages: batch.map(({ key, value, headers }) => ({ key, value, headers })),
      })
      .then(
        () => batch.forEach((b) => b.resolve()),
        (error: unknown) =>
          batch.forEach((b) => b.reject(error instanceof Error ? error : new Error(String(error)))),
      )
      .finally(() => {
        this.sending = false;
        this.flush();
      });
  }

  onApplicationShutdown(): Promise<void> {
    return this.producer?.close() ?? Promise.resolve();
  }
}
