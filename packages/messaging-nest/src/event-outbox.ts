import { Inject, Injectable } from '@nestjs/common';
import {
  EVENT_TOPIC,
  buildEvent,
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
import { enqueueEvents } from '@tokenledger/messaging';
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
    const now = (): number => this.clock.now();
    const events = drafts.map((draft): EventEnvelope =>
      buildEvent(
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
        { now },
      ),
    );
    await enqueueEvents(
      manager,
      this.options.schema,
      events.map((event) => ({ event, topic: this.topic(EVENT_TOPIC[event.type]) })),
    );
    return events;
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
