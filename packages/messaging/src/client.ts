import type { CatchUpSource } from './catch-up';

/**
 * The Kafka client library behind {@link KafkaClient}: kafkajs (the default) or
 * `@platformatic/kafka` (issue 18, point 8; docs/design/messaging.md, "Kafka client adapter").
 */
export type KafkaClientKind = 'kafkajs' | 'platformatic';

export const KAFKA_CLIENT_KINDS: readonly KafkaClientKind[] = ['kafkajs', 'platformatic'];

/**
 * The client library from `KAFKA_CLIENT` (`kafkajs` or `platformatic`; unset or empty: kafkajs).
 * An app reads it once, when it builds its {@link KafkaClient}. Errors name the variable.
 */
export function kafkaClientKindFromEnv(env: NodeJS.ProcessEnv = process.env): KafkaClientKind {
  const value = env.KAFKA_CLIENT?.trim().toLowerCase();
  if (value === undefined || value === '') return 'kafkajs';
  const kind = KAFKA_CLIENT_KINDS.find((k) => k === value);
  if (!kind) throw new Error(`KAFKA_CLIENT must be one of ${KAFKA_CLIENT_KINDS.join(', ')}`);
  return kind;
}

/** A record to produce. */
export interface OutgoingRecord {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, string | Buffer>;
}

/**
 * What the outbox relay, the dead-letter writer and the apps need of a producer. An event
 * producer ({@link KafkaClient.eventProducer}) is idempotent with one request in flight, retries
 * until the broker is back, sends every record with acks=all, and partitions keys with Kafka's own
 * murmur2 scheme (`& 0x7fffffff`), so that any client puts a key on the same partition.
 * A kafkajs `Producer` is one.
 */
export interface RecordProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(record: { topic: string; acks?: -1; messages: OutgoingRecord[] }): Promise<unknown>;
  /** The records of every topic in one request where the client can; per-partition order kept. */
  sendBatch(batch: {
    acks?: -1;
    topicMessages: Array<{ topic: string; messages: OutgoingRecord[] }>;
  }): Promise<unknown>;
}

/** A record as a consumer received it. */
export interface IncomingRecord {
  offset: string;
  /** ms since epoch as a string. */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

/** One partition's records, in offset order, as {@link GroupConsumerOptions.eachBatch} gets them. */
export interface PartitionBatch {
  topic: string;
  partition: number;
  /** The partition's high watermark at the fetch, when the client reports it. */
  highWatermark: string | undefined;
  messages: IncomingRecord[];
  /** False once the consumer is stopping. */
  isRunning(): boolean;
  /** True once a rebalance may have moved the partition to another member. */
  isStale(): boolean;
  /** The batch is handled up to `offset`: the consumer does not deliver those records again. */
  resolveOffset(offset: string): void;
  heartbeat(): Promise<void>;
}

/** A partition -> offsets map of the whole assignment: full topic name -> partitions. */
export type Assignment = Readonly<Record<string, readonly number[]>>;

export interface GroupConsumerOptions {
  groupId: string;
  topics: string[];
  /** Where a partition without a committed offset starts: the log start (true) or its end. */
  fromBeginning: boolean;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** Partitions whose batches are handled at the same time. */
  partitionsConsumedConcurrently: number;
  /** This member's assignment on every join. */
  onJoin?: (assignment: Assignment) => void;
  /** A rebalance began, the member stopped or crashed: it may own nothing now. */
  onRevoke?: () => void;
  /**
   * Handles one partition's batch. A throw MUST make the consumer deliver the batch's records
   * (from the last resolved offset) again, after a pause; nothing is committed for it.
   */
  eachBatch: (batch: PartitionBatch) => Promise<void>;
}

/** A consumer-group member with manual commits (no auto-commit), as BatchConsumer needs. */
export interface GroupConsumer {
  /** Connects, subscribes and starts handing batches; throws if it cannot start. */
  run(): Promise<void>;
  /** Commits `nextOffset` (the offset of the next record to read) for the group. */
  commit(topic: string, partition: number, nextOffset: string): Promise<void>;
  /** The next batch of the partition starts at `offset` (valid after a join, for its partitions). */
  seek(topic: string, partition: number, offset: string): void;
  /** Stops after the batches in progress; leaves the group. */
  disconnect(): Promise<void>;
}

/**
 * The Kafka client as `packages/messaging` uses it for producing and consuming, whatever the
 * library (see {@link createKafkaClient}). Topic administration (provisioning, ACLs) still goes
 * through kafkajs' admin (`createKafka(...).admin()`).
 */
export interface KafkaClient {
  readonly kind: KafkaClientKind;
  /** A new, unconnected event producer (see {@link RecordProducer}). */
  eventProducer(): RecordProducer;
  groupConsumer(options: GroupConsumerOptions): GroupConsumer;
  /** End offsets and a group's committed offsets, for CatchUpTracker. */
  catchUpSource(): CatchUpSource & { close(): Promise<void> };
}

export function isKafkaClient(value: object): value is KafkaClient {
  return 'groupConsumer' in value && 'eventProducer' in value && 'kind' in value;
}
