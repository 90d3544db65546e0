import { Inject, Injectable } from '@nestjs/common';
import {
  EVENT_TOPIC,
  buildEncodedEvent,
  partitionKey,
  systemClock,
  topicName,
  uuidv7Ids,
  type Clock,
  type EventData,
  type EventEnvelope,
  type EventType,
  type IdSource,
} from '@tokenledger/contracts';
import type { EntityManager } from 'typeorm';
import { enqueueEncoded, type EncodedOutboxMessage } from '@tokenledger/messaging';
import { KafkaConnection, MESSAGING_OPTIONS, type MessagingOptions } from './kafka-connection';

/** An event to record: its type and data; the envelope is filled in by EventOutbox. */
export interface EventDraft<T extends EventType = EventType> {
  type: T;
  data: EventData<T>;
  subject?: string;
}

export interface EventMeta {
  /** `operator:<tokenId>`, `service:<name>` or `system`. */
  actor: string;
  correlationid?: string;
  causationid?: string;
}

/**
 * The way an app records events: inside the transaction of its state change, into its outbox,
 * on the topic the contracts assign to the type. Call `publishSoon()` after the commit.
 */
@Injectable()
export class EventOutbox {
  private readonly clock: Clock;
  private readonly ids: IdSource;

  constructor(
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
    private readonly kafka: KafkaConnection,
  ) {
    this.clock = options.clock ?? systemClock;
    this.ids = options.ids ?? uuidv7Ids(this.clock);
  }

  /** MUST be called with the EntityManager of the transaction that makes the state change. */
  async append(
    manager: EntityManager,
    drafts: readonly EventDraft[],
    meta: EventMeta,
  ): Promise<EventEnvelope[]> {
    const { events, rows } = this.prepare(drafts, meta);
    await this.write(manager, rows);
    return events;
  }

  /**
   * Writes rows made by `prepare` (several calls' worth, in the order given). MUST be called with
   * the EntityManager of the transaction that makes the state change they describe.
   */
  async write(manager: EntityManager, rows: readonly EncodedOutboxMessage[]): Promise<void> {
    await enqueueEncoded(manager, this.options.schema, rows);
  }

  /**
   * Builds the envelopes and their outbox rows (validated and encoded once) without writing
   * them, for a caller that inserts the rows in the same statement as its state change (see
   * `outboxInsert`). The rows MUST commit together with that change or not at all.
   */
  prepare(
    drafts: readonly EventDraft[],
    meta: EventMeta,
  ): { events: EventEnvelope[]; rows: EncodedOutboxMessage[] } {
    const now = (): number => this.clock.now();
    const events: EventEnvelope[] = [];
    const rows: EncodedOutboxMessage[] = [];
    for (const draft of drafts) {
      const { event, bytes } = buildEncodedEvent(
        {
          type: draft.type,
          data: draft.data,
          source: `/tokenledger/${this.options.service}`,
          actor: meta.actor,
          id: this.ids.next(),
          ...(draft.subject ? { subject: draft.subject } : {}),
          ...(meta.correlationid ? { correlationid: meta.correlationid } : {}),
          ...(meta.causationid ? { causationid: meta.causationid } : {}),
        },
        this.options.signingKey ? { now, signingKey: this.options.signingKey } : { now },
      );
      events.push(event);
      rows.push({
        eventId: event.id,
        topic: this.topic(EVENT_TOPIC[event.type]),
        key: partitionKey(event),
        payload: bytes,
      });
    }
    return { events, rows };
  }

  /** Full name of a topic, with this deployment's prefix. */
  topic(base: string): string {
    return topicName(base, this.options.topicPrefix);
  }

  /** Asks the relay to publish now rather than at its next poll. */
  publishSoon(): void {
    this.kafka.relay.nudge();
  }
}
