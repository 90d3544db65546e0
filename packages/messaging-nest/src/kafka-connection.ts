import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Admin, Kafka } from 'kafkajs';
import type { DataSource } from 'typeorm';
import {
  topicName,
  type Clock,
  type EventSigningKey,
  type EventVerifier,
  type IdSource,
} from '@tokenledger/contracts';
import {
  BackgroundEventProducer,
  BatchConsumer,
  OutboxRelay,
  createKafka,
  createKafkaClient,
  provisionTopics,
  type BackgroundProducerOptions,
  type BatchConsumerOptions,
  type KafkaClient,
  type KafkaClientKind,
  type ProducerLog,
  type RecordProducer,
} from '@tokenledger/messaging';

export interface MessagingOptions {
  /** The app's short name: the event `source` is `/tokenledger/<service>`. */
  service: string;
  brokers: string;
  /** The producing and consuming library (default: KAFKA_CLIENT from the environment). */
  kafkaClient?: KafkaClientKind;
  clientId: string;
  /** Schema that holds this app's outbox. */
  schema: string;
  topicPrefix: string;
  /** Prefix of consumer group ids (usually the topic prefix). */
  groupPrefix?: string;
  partitions: number;
  log?: ProducerLog;
  /** The outbox relay's linger after a commit (OutboxRelayOptions.lingerMs); default 5 ms. */
  outboxLingerMs?: number;
  /** Time and ids of the events the outbox builds (default: the system clock, UUIDv7 by it). */
  clock?: Clock;
  ids?: IdSource;
  /** Signs every event this app produces: outbox and background producer (event-signing.md). */
  signingKey?: EventSigningKey;
  /**
   * The signers this app's consumers trust: a record that fails the check is dead-lettered
   * before any handler sees it (raw-mode consumers check it themselves: `verifier`).
   */
  verifier?: EventVerifier;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');
/** Token under which the app provides its TypeORM DataSource to the messaging module. */
export const MESSAGING_DATA_SOURCE = Symbol('MESSAGING_DATA_SOURCE');

/**
 * Owns the app's Kafka client: one connected producer (acks=all), an admin for health checks,
 * topic provisioning at start, the outbox relay, and the consumer-group members that
 * BatchTransport starts. Why not `@nestjs/microservices`' Kafka transport: docs/design/messaging.md.
 */
@Injectable()
export class KafkaConnection
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  /** kafkajs, for administration (topics, health, replays' and rebuilds' own readers). */
  readonly kafka: Kafka;
  /** The producing and consuming client: KAFKA_CLIENT's library (default kafkajs). */
  readonly client: KafkaClient;
  readonly producer: RecordProducer;
  readonly relay: OutboxRelay;
  /** The configured signers (undefined: signatures are not checked). */
  readonly verifier: EventVerifier | undefined;
  private readonly admin: Admin;
  private adminConnected = false;
  private connected = false;
  private closing = false;
  private startup: Promise<void> | undefined;
  private markConnected: () => void = () => undefined;
  private readonly connectedOnce = new Promise<void>((resolve) => {
    this.markConnected = resolve;
  });

  constructor(
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
    @Inject(MESSAGING_DATA_SOURCE) dataSource: DataSource,
  ) {
    const log = options.log;
    this.verifier = options.verifier;
    if (!options.signingKey)
      log?.('warn', 'EVENT_SIGNING_KEY is not set: this app produces unsigned events', {});
    if (!options.verifier)
      log?.('warn', 'EVENT_SIGNERS is not set: event signatures are not checked', {});
    const clientConfig = {
      brokers: options.brokers,
      clientId: options.clientId,
      log: log
        ? (level: 'warn' | 'error', message: string, extra: Record<string, unknown>) =>
            log(level, `kafka: ${message}`, extra)
        : undefined,
    };
    this.kafka = createKafka(clientConfig);
    this.client = createKafkaClient({
      ...clientConfig,
      ...(options.kafkaClient ? { client: options.kafkaClient } : {}),
    });
    if (this.client.kind !== 'kafkajs')
      log?.('info', `KAFKA_CLIENT=${this.client.kind}: producing and consuming with it`, {});
    this.producer = this.client.eventProducer();
    this.admin = this.kafka.admin();
    this.relay = new OutboxRelay({
      dataSource,
      schema: options.schema,
      producer: this.producer,
      lingerMs: options.outboxLingerMs ?? 5,
      onError: (error) =>
        log?.('warn', 'outbox relay pass failed; will retry', { err: String(error) }),
    });
  }

  private readonly consumers: BatchConsumer[] = [];
  private consumersExpected = false;
  private consumersRegistered = false;

  /**
   * The app's consumers will be started by BatchTransport (service-host's createService): until
   * it has registered them all, {@link catchUp} says not caught up, so that readiness cannot
   * pass before the consumers exist.
   */
  expectConsumers(): void {
    this.consumersExpected = true;
  }

  /** Every consumer of this app is registered (BatchTransport, once it started them all). */
  markConsumersRegistered(): void {
    this.consumersRegistered = true;
  }

  /**
   * Whether every consumer group of this app has consumed its topics up to where they ended when
   * it started (see CatchUpTracker). Cheap and synchronous: for `/health/ready`.
   */
  catchUp(): { caughtUp: boolean; reason?: string } {
    if (this.consumersExpected && !this.consumersRegistered)
      return { caughtUp: false, reason: 'consumers not started yet' };
    let unknown = 0;
    let behind = 0;
    for (const consumer of this.consumers) {
      const state = consumer.catchUpState();
      if (state.behind === undefined) unknown += 1;
      else behind += state.behind;
    }
    if (unknown === 0 && behind === 0) return { caughtUp: true };
    const parts = [
      unknown > 0 ? `${unknown} consumer groups starting` : '',
      behind > 0 ? `${behind} partitions behind the end offsets they had at start` : '',
    ].filter(Boolean);
    return { caughtUp: false, reason: `catching up with Kafka: ${parts.join(', ')}` };
  }

  /** Group id of one of this app's consumers: `<group prefix>tokenledger-<service>[-<name>]`. */
  consumerGroupId(name?: string): string {
    return `${this.options.groupPrefix ?? this.options.topicPrefix}tokenledger-${this.options.service}${name ? `-${name}` : ''}`;
  }

  /** Full name of a topic, with this deployment's prefix. */
  topic(base: string): string {
    return topicName(base, this.options.topicPrefix);
  }

  /**
   * Runs a consumer-group member of this app (group `consumerGroupId(name)`) on the given topics
   * (base names; the deployment's prefix is added) once Kafka is connected, retrying its start
   * until it runs. Stopped at shutdown. The handler MUST be idempotent (see markProcessed).
   */
  startConsumer(
    options: { name?: string; topics: string[] } & DistributiveOmit<
      BatchConsumerOptions,
      'kafka' | 'groupId' | 'topics' | 'producer' | 'dlqTopic' | 'log'
    >,
  ): BatchConsumer {
    const log = this.options.log;
    const { name, topics, ...rest } = options;
    const consumer = new BatchConsumer({
      ...(this.verifier ? { verifier: this.verifier } : {}),
      ...rest,
      kafka: this.client,
      groupId: this.consumerGroupId(name),
      topics: topics.map((t) => this.topic(t)),
      producer: this.producer,
      dlqTopic: this.topic('ledger.dlq'),
      log: (message, extra) => log?.('warn', message, extra),
    });
    this.consumers.push(consumer);
    void this.whenConnected().then(() => consumer.run());
    return consumer;
  }

  /** Resolves once the producer is connected and the topics exist; never if shutdown came first. */
  whenConnected(): Promise<void> {
    return this.connectedOnce;
  }

  /**
   * A producer on its own thread and Kafka connection for this app's telemetry events (see
   * BackgroundEventProducer: at most once). The caller MUST close it at shutdown.
   */
  backgroundProducer(
    options: Pick<BackgroundProducerOptions, 'flushMs' | 'maxPending' | 'closeTimeoutMs'> = {},
  ): BackgroundEventProducer {
    return new BackgroundEventProducer({
      ...options,
      brokers: this.options.brokers,
      clientId: `${this.options.clientId}-background`,
      topicPrefix: this.options.topicPrefix,
      ...(this.options.signingKey ? { signingKey: this.options.signingKey } : {}),
      log: this.options.log,
    });
  }

  /** Connecting goes on in the background: the app serves (and reports not ready) meanwhile. */
  onApplicationBootstrap(): void {
    this.startup = this.connectUntilReady();
  }

  /**
   * The relay stops first, before any module's onApplicationShutdown: it needs the database, which
   * TypeORM closes in that phase (every pass then failed until the relay stopped). Rows still in
   * the outbox are published at the next start.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    await this.relay.stop();
  }

  /** After beforeApplicationShutdown (Nest runs it first), which already stopped the relay. */
  async onApplicationShutdown(): Promise<void> {
    await this.startup;
    for (const consumer of this.consumers) await consumer.stop();
    await this.producer.disconnect();
    if (this.adminConnected) await this.admin.disconnect();
  }

  private async connectUntilReady(): Promise<void> {
    while (!this.closing) {
      try {
        if (!this.adminConnected) {
          await this.admin.connect();
          this.adminConnected = true;
        }
        const created = await provisionTopics(this.admin, {
          prefix: this.options.topicPrefix,
          partitions: this.options.partitions,
        });
        if (created.length > 0)
          this.options.log?.('info', 'created Kafka topics', { topics: created });
        await this.producer.connect();
        this.relay.start();
        this.connected = true;
        this.markConnected();
        return;
      } catch (error) {
        this.options.log?.('warn', 'Kafka not reachable yet; retrying', { err: String(error) });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** Resolves when the cluster answers a metadata request within `timeoutMs`. */
  async ping(timeoutMs = 2000): Promise<void> {
    if (!this.connected) throw new Error('still connecting to Kafka');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.admin.describeCluster(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
