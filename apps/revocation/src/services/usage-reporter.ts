import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { EVENT_TOPIC, buildEncodedEvent, partitionKey, type TokenUsedV1 } from '@tokenledger/contracts';
import { EventOutbox, KafkaConnection } from '@tokenledger/messaging';
import { PinoLogger } from 'nestjs-pino';

const FLUSH_MS = 50;
const MAX_BUFFER = 50_000;

/**
 * Emits `token.used` for every introspection answer without making the request wait for Kafka:
 * events are buffered in memory and sent in batches (acks=all) every 50 ms. Trade-off: a crash
 * loses at most the unsent buffer (usage is telemetry; lifecycle events go through the outbox).
 */
@Injectable()
export class UsageReporter implements OnApplicationShutdown {
  private buffer: Array<{ key: string; value: Buffer }> = [];
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | undefined;
  private dropped = 0;

  constructor(
    private readonly kafka: KafkaConnection,
    private readonly outbox: EventOutbox,
    private readonly logger: PinoLogger,
  ) {
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  report(data: TokenUsedV1, actor: string): void {
    if (this.buffer.length >= MAX_BUFFER) {
      this.dropped += 1;
      return;
    }
    const { event, bytes } = buildEncodedEvent({ type: 'tokenledger.token.used.v1', source: '/tokenledger/revocation', actor, data });
    this.buffer.push({ key: partitionKey(event), value: bytes });
  }

  async flush(): Promise<void> {
    if (this.flushing || this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = this.kafka.producer
      .send({ topic: this.outbox.topic(EVENT_TOPIC['tokenledger.token.used.v1']), acks: -1, messages: batch })
      .then(() => undefined)
      .catch((error: unknown) => {
        this.logger.warn({ err: String(error), events: batch.length }, 'usage events not sent yet; will retry');
        this.buffer = batch.concat(this.buffer).slice(0, MAX_BUFFER);
      })
      .finally(() => {
        this.flushing = undefined;
        if (this.dropped > 0) {
          this.logger.warn({ dropped: this.dropped }, 'usage buffer full: events dropped');
          this.dropped = 0;
        }
      });
    await this.flushing;
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    await this.flush().catch(() => undefined);
  }
}
