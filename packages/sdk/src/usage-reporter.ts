import {
  EVENT_TOPIC,
  buildEncodedEvent,
  cloudEventHeaders,
  parseSigningKey,
  partitionKey,
  topicName,
  type EventSigningKey,
  type TokenUsedV1,
} from '@tokenledger/contracts';
import type { Producer } from 'kafkajs';

type KafkaLayer = Pick<
  typeof import('@tokenledger/messaging'),
  'createEventProducer' | 'createKafka'
>;

/**
 * The Kafka layer (and with it the Kafka client, a few hundred modules) is loaded when a reporter
 * first starts, not when the SDK is required: a service that only introspects never pays for it.
 * `require` rather than `import()`: it keeps `start()` synchronous and works in CommonJS test runners.
 */
function loadKafkaLayer(): KafkaLayer {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@tokenledger/messaging') as KafkaLayer;
}

export interface UsageReporterOptions {
  /** `host:port[,host:port]` of the Kafka cluster Tokenledger uses. */
  brokers: string;
  /** This service's name: the `service` of every event and the actor `service:<name>`. */
  service: string;
  topicPrefix?: string;
  /**
   * The Kafka principal to produce as (SCRAM; the `usage-reporter` principal may write
   * tokens.usage only). Undefined: KAFKA_SASL_* from the environment; null: none (PLAINTEXT).
   */
  sasl?: {
    mechanism: 'scram-sha-512' | 'scram-sha-256';
    username: string;
    password: string;
  } | null;
  /** Send at least this often (default 200 ms) ... */
  flushIntervalMs?: number;
  /** ... or as soon as this many events wait (default 500). */
  maxBatch?: number;
  /** Events kept while Kafka is unreachable; beyond that the oldest are dropped (default 100 000). */
  maxBuffered?: number;
  /**
   * The key this service signs its events with: an EventSigningKey, or its text form
   * `<keyId>:<base64url seed>`. Tokenledger's consumers accept this service's `token.used` only
   * when EVENT_SIGNERS lists the key for `token.used` and source `/services/<service>`
   * (docs/design/event-signing.md); without a key the events are unsigned.
   */
  signingKey?: EventSigningKey | string;
  onError?: (error: unknown) => void;
}

export type UsageReport = Omit<TokenUsedV1, 'service' | 'at'> & { at?: string };

/**
 * Batches `token.used` events to Kafka (tokens.usage, key = tokenId, acks=all) without making
 * the caller wait. Validation happens at `report()`: a bad event throws there, not later.
 */
export class UsageReporter {
  private producer: Producer | undefined;
  private buffer: Array<{ key: string; value: Buffer; headers: Record<string, string> }> = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private connected: Promise<Producer> | undefined;
  private readonly topic: string;
  private readonly signingKey: EventSigningKey | undefined;

  constructor(private readonly options: UsageReporterOptions) {
    const key = options.signingKey;
    this.signingKey = typeof key === 'string' ? parseSigningKey(key) : key;
    this.topic = topicName(EVENT_TOPIC['tokenledger.token.used.v1'], options.topicPrefix ?? '');
  }

  start(): void {
    // A failed connection is reported by the next flush (onError), which retries the batch.
    this.connection().catch(() => undefined);
    this.timer ??= setInterval(() => void this.flush(), this.options.flushIntervalMs ?? 200);
  }

  report(usage: UsageReport): void {
    const { event, bytes } = buildEncodedEvent(
      {
        type: 'tokenledger.token.used.v1',
        source: `/services/${this.options.service}`,
        actor: `service:${this.options.service}`,
        data: { ...usage, service: this.options.service, at: usage.at ?? new Date().toISOString() },
      },
      this.signingKey ? { signingKey: this.signingKey } : {},
    );
    this.buffer.push({ key: partitionKey(event), value: bytes, headers: cloudEventHeaders() });
    const max = this.options.maxBuffered ?? 100_000;
    if (this.buffer.length > max) this.buffer = this.buffer.slice(-max);
    if (this.buffer.length >= (this.options.maxBatch ?? 500)) void this.flush();
  }

  async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = (async () => {
      try {
        this.start();
        const producer = await this.connection();
        await producer.send({ topic: this.topic, acks: -1, messages: batch });
      } catch (error) {
        this.buffer = batch.concat(this.buffer);
        this.options.onError?.(error);
      } finally {
        this.flushing = undefined;
      }
    })();
    return this.flushing;
  }

  /** Sends what is buffered and disconnects. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
    if (this.producer) await this.producer.disconnect();
  }

  /** Loads the Kafka layer and connects, once; throws here on a malformed `brokers` list. */
  private connection(): Promise<Producer> {
    if (!this.producer) {
      const { createEventProducer, createKafka } = loadKafkaLayer();
      this.producer = createEventProducer(
        createKafka({
          brokers: this.options.brokers,
          clientId: `tokenledger-sdk-${this.options.service}`,
          sasl: this.options.sasl,
        }),
      );
    }
    const producer = this.producer;
    return (this.connected ??= producer.connect().then(() => producer));
  }
}
