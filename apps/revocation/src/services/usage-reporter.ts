import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { TokenUsedV1 } from '@tokenledger/contracts';
import { KafkaConnection } from '@tokenledger/messaging-nest';
import { type BackgroundEventProducer } from '@tokenledger/messaging';

/**
 * Emits `token.used` for every introspection answer without making the request wait for Kafka,
 * and without building the event on the request's thread: the answer's data is handed to a
 * background producer (a worker thread with its own Kafka connection) that validates, encodes
 * and sends the events in batches (acks=all). Trade-off: a crash loses the events not yet
 * acknowledged (usage is telemetry; lifecycle events go through the outbox).
 */
@Injectable()
export class UsageReporter implements OnApplicationShutdown {
  private readonly producer: BackgroundEventProducer;

  constructor(kafka: KafkaConnection) {
    this.producer = kafka.backgroundProducer();
  }

  /** `now` is when the answer was given: the event's time and the time in its id. */
  report(data: TokenUsedV1, actor: string, now: number): void {
    this.producer.emit(
      { type: 'tokenledger.token.used.v1', source: '/tokenledger/revocation', actor, data },
      now,
    );
  }

  onApplicationShutdown(): Promise<void> {
    return this.producer.close();
  }
}
