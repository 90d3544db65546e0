import {
  Inject,
  Injectable,
  Module,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Admin, Kafka, Producer } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { createEventProducer, createKafka } from '../kafka-client';
import { OutboxRelay } from '../outbox';
import { provisionTopics } from '../topics';

export interface MessagingOptions {
  brokers: string;
  clientId: string;
  /** Schema that holds this app's outbox. */
  schema: string;
  topicPrefix: string;
  partitions: number;
  log?: (level: 'info' | 'warn' | 'error', message: string, extra?: Record<string, unknown>) => void;
}

export const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');
/** Token under which the app provides its TypeORM DataSource to the messaging module. */
export const MESSAGING_DATA_SOURCE = Symbol('MESSAGING_DATA_SOURCE');

/**
 * Owns the app's Kafka client: one connected producer (acks=all), an admin for health checks,
 * topic provisioning at start and the outbox relay. Why this is plain Nest providers and not
 * `@nestjs/microservices`' Kafka transport: see docs/design/messaging.md.
 */
@Injectable()
export class KafkaConnection implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly kafka: Kafka;
  readonly producer: Producer;
  readonly relay: OutboxRelay;
  private readonly admin: Admin;
  private adminConnected = false;
  private connected = false;
  private closing = false;
  private startup: Promise<void> | undefined;

  constructor(
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
    @Inject(MESSAGING_DATA_SOURCE) dataSource: DataSource,
  ) {
    const log = options.log;
    this.kafka = createKafka({
      brokers: options.brokers,
      clientId: options.clientId,
      log: log ? (level, message, extra) => log(level, `kafka: ${message}`, extra) : undefined,
    });
    this.producer = createEventProducer(this.kafka);
    this.admin = this.kafka.admin();
    this.relay = new OutboxRelay({
      dataSource,
      schema: options.schema,
      producer: this.producer,
      onError: (error) => log?.('warn', 'outbox relay pass failed; will retry', { err: String(error) }),
    });
  }

  /** Connecting goes on in the background: the app serves (and reports not ready) meanwhile. */
  onApplicationBootstrap(): void {
    this.startup = this.connectUntilReady();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    await this.startup;
    await this.relay.stop();
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
        if (created.length > 0) this.options.log?.('info', 'created Kafka topics', { topics: created });
        await this.producer.connect();
        this.relay.start();
        this.connected = true;
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

interface LevelLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

@Module({})
export class MessagingModule {
  /**
   * @param dataSourceToken provider token of the app's TypeORM DataSource (with `@nestjs/typeorm`,
   *   the `DataSource` class itself).
   * @param loggerToken provider token of a pino-style logger (`info/warn/error(obj, msg)`).
   */
  static forRootAsync(options: Omit<MessagingOptions, 'log'>, dataSourceToken: unknown, loggerToken: unknown): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      providers: [
        {
          provide: MESSAGING_OPTIONS,
          inject: [loggerToken as symbol],
          useFactory: (logger: LevelLogger): MessagingOptions => ({
            ...options,
            log: (level, message, extra) => logger[level](extra ?? {}, message),
          }),
        },
        { provide: MESSAGING_DATA_SOURCE, useExisting: dataSourceToken as symbol },
        KafkaConnection,
      ],
      exports: [KafkaConnection],
    };
  }
}
