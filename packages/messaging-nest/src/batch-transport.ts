import type { Type } from '@nestjs/common';
import {
  BaseRpcContext,
  Server,
  type CustomTransportStrategy,
  type MessageHandler,
} from '@nestjs/microservices';
import type { EventEnvelope } from '@tokenledger/contracts';
import type {
  BatchConsumer,
  ConsumedEvent,
  ConsumedRecord,
  DeadLetter,
  RawBatchOutcome,
} from '@tokenledger/messaging';
import { isObservable, lastValueFrom } from 'rxjs';
import type { KafkaConnection } from './kafka-connection';

/** Settings of one consumer group, from a provider that a handler's extras name. */
export interface ConsumerGroupSettings {
  sessionTimeoutMs?: number;
  partitionsConsumedConcurrently?: number;
  /** Where each assigned partition continues, whatever Kafka committed (see BatchConsumer). */
  seekOnAssign?(topic: string, partition: number): Promise<string | number>;
  /** This member's assignment on every join, `{}` around rebalances (see BatchConsumer). */
  onAssignment?(assignment: Readonly<Record<string, readonly number[]>>): void;
  /**
   * Decoded groups: a fold's key and order per event; per batch only the latest valid record of
   * each key is checked and handled (see BatchConsumer's `latestOnly`).
   */
  latestOnly?(event: EventEnvelope): { key: string; order: number } | undefined;
}

/**
 * The extras of `@EventPattern(topics, extras)` that this transport reads. Handlers with the same
 * `group` share one consumer-group member (`tokenledger-<service>[-<group>]`) over all their topics.
 */
export interface BatchPatternExtras {
  group?: string;
  /** Hand the handler the records as delivered; it returns a RawBatchOutcome. Same for a whole group. */
  raw?: boolean;
  /** Provider (resolved from the app) of the group's settings. At most one per group. */
  settings?: Type<ConsumerGroupSettings>;
}

/** `@Ctx()` of a batch handler: the full topic name and the partition of the batch. */
export class BatchContext extends BaseRpcContext<[topic: string, partition: number]> {
  getTopic(): string {
    return this.args[0];
  }

  getPartition(): number {
    return this.args[1];
  }
}

export interface BatchTransportOptions {
  connection: KafkaConnection;
  /** Resolves a `settings` provider named in a handler's extras, e.g. `(token) => app.get(token)`. */
  resolve: <T>(token: Type<T>) => T;
  onLag?: (topic: string, partition: number, lag: number) => void;
  /** Every dead letter of every group, with the group id of the consumer that wrote it. */
  onDeadLetter?: (letter: DeadLetter, consumer: string) => void;
  /** Every failed handler call (see BatchConsumer's onHandlerFailure), with the group id. */
  onHandlerFailure?: (
    failure: { topic: string; partition: number; retryable: boolean },
    consumer: string,
  ) => void;
}

interface Group {
  name: string | undefined;
  raw: boolean;
  settings: Type<ConsumerGroupSettings> | undefined;
  /** Base topic name -> handler. */
  handlers: Map<string, MessageHandler>;
}

export const BATCH_TRANSPORT = Symbol('tokenledger-batch');

/**
 * A Nest transport strategy over BatchConsumer: every `@EventPattern(<base topic name(s)>)` handler
 * in a controller receives one partition's batch, in offset order: the decoded events
 * (`ConsumedEvent[]`; poison already dead-lettered) or, with `raw: true`, the records as
 * delivered. The offset after the batch is committed only when the handler resolved; a handler
 * that throws commits nothing and the batch comes again (at-least-once), so handlers MUST be
 * idempotent. Consumers start once Kafka is connected and stop when the app closes.
 */
export class BatchTransport extends Server implements CustomTransportStrategy {
  override readonly transportId = BATCH_TRANSPORT;
  private consumers: BatchConsumer[] = [];

  constructor(private readonly options: BatchTransportOptions) {
    super();
  }

  listen(callback: (error?: unknown) => void): void {
    let groups: Group[];
    try {
      groups = this.groups();
    } catch (error) {
      callback(error);
      return;
    }
    this.consumers = groups.map((group) => this.start(group));
    this.options.connection.markConsumersRegistered();
    callback();
  }

  async close(): Promise<void> {
    const consumers = this.consumers;
    this.consumers = [];
    for (const consumer of consumers) await consumer.stop();
  }

  on(): never {
    throw new Error('BatchTransport emits no events');
  }

  unwrap<T>(): T {
    return this.options.connection.kafka as T;
  }

  /** The registered event handlers, grouped by consumer group. */
  private groups(): Group[] {
    const groups = new Map<string, Group>();
    for (const [pattern, handler] of this.getHandlers()) {
      if (!handler.isEventHandler)
        throw new Error(`"${pattern}": only @EventPattern handlers are supported on Kafka`);
      // Nest chains the event handlers of one pattern and calls them all with each message.
      if (handler.next)
        throw new Error(`topic "${pattern}" has two handlers; one handler per topic`);
      const extras = (handler.extras ?? {}) as BatchPatternExtras;
      const key = extras.group ?? '';
      const group = groups.get(key) ?? {
        name: extras.group,
        raw: extras.raw ?? false,
        settings: extras.settings,
        handlers: new Map(),
      };
      groups.set(key, group);
      if (group.raw !== (extras.raw ?? false))
        throw new Error(`consumer group "${key}": raw and decoded handlers mixed`);
      if (extras.settings && group.settings && extras.settings !== group.settings) {
        throw new Error(`consumer group "${key}": two settings providers`);
      }
      group.settings ??= extras.settings;
      group.handlers.set(pattern, handler);
    }
    return [...groups.values()];
  }

  private start(group: Group): BatchConsumer {
    const { connection, onLag, onDeadLetter, onHandlerFailure } = this.options;
    const consumer = connection.consumerGroupId(group.name);
    const settings = group.settings ? this.options.resolve(group.settings) : {};
    const byTopic = new Map(
      [...group.handlers].map(([base, handler]) => [connection.topic(base), handler]),
    );
    const common = {
      ...(group.name ? { name: group.name } : {}),
      topics: [...group.handlers.keys()],
      ...(settings.sessionTimeoutMs ? { sessionTimeoutMs: settings.sessionTimeoutMs } : {}),
      ...(settings.partitionsConsumedConcurrently
        ? { partitionsConsumedConcurrently: settings.partitionsConsumedConcurrently }
        : {}),
      ...(settings.seekOnAssign ? { seekOnAssign: settings.seekOnAssign.bind(settings) } : {}),
      ...(settings.onAssignment ? { onAssignment: settings.onAssignment.bind(settings) } : {}),
      ...(onLag ? { onLag } : {}),
      ...(onDeadLetter
        ? { onDeadLetter: (letter: DeadLetter) => onDeadLetter(letter, consumer) }
        : {}),
      ...(onHandlerFailure
        ? {
            onHandlerFailure: (topic: string, partition: number, retryable: boolean) =>
              onHandlerFailure({ topic, partition, retryable }, consumer),
          }
        : {}),
    };
    if (group.raw) {
      return connection.startConsumer({
        ...common,
        raw: true,
        handle: async (records: ConsumedRecord[]) =>
          (await this.invoke<RawBatchOutcome>(byTopic, records[0], records)) ?? {},
      });
    }
    return connection.startConsumer({
      ...common,
      ...(settings.latestOnly ? { latestOnly: settings.latestOnly.bind(settings) } : {}),
      handle: async (events: ConsumedEvent[]) => {
        await this.invoke(byTopic, events[0], events);
      },
    });
  }

  private async invoke<T>(
    handlers: Map<string, MessageHandler>,
    first: { topic: string; partition: number } | undefined,
    batch: unknown[],
  ): Promise<T | undefined> {
    if (!first) return undefined;
    const handler = handlers.get(first.topic);
    if (!handler) throw new Error(`no handler for topic ${first.topic}`);
    // Nest's proxy hands back an Observable for an observable result and for an error that went
    // through the exception filters; either way a failure rejects here. BatchHandlerErrorFilter
    // hands back the handler's own error, so BatchConsumer can tell a transient error (retried)
    // from a fault of a record (dead-lettered after bounded tries).
    const result: unknown = await handler(batch, new BatchContext([first.topic, first.partition]));
    try {
      return (
        isObservable(result) ? await lastValueFrom(result, { defaultValue: undefined }) : result
      ) as T | undefined;
    } catch (error) {
      if (error instanceof Error) throw error;
      // Not an Error: Nest's default exception filter replaced the handler's error with a
      // placeholder (BatchHandlerErrorFilter is not installed), or the handler threw a non-Error.
      // Whether it was transient cannot be known: it is marked retryable, and the batch comes
      // again until the handler succeeds (never dead-lettered for it).
      throw Object.assign(
        new Error(
          `handler for ${first.topic}[${first.partition}] failed: ${JSON.stringify(error)}`,
        ),
        { retryable: true },
      );
    }
  }
}
