import type { CatchUpSource, PartitionOffset } from './catch-up';
import type {
  Assignment,
  GroupConsumer,
  GroupConsumerOptions,
  IncomingRecord,
  KafkaClient,
  OutgoingRecord,
  PartitionBatch,
  RecordProducer,
} from './client';
import { parseBrokers, type KafkaSasl, type KafkaTls } from './kafka-client';

type Plt = typeof import('@platformatic/kafka');
type PltConsumer = import('@platformatic/kafka').Consumer<Buffer, Buffer, Buffer, Buffer>;
type PltProducer = InstanceType<Plt['Producer']>;
type PltStream = import('@platformatic/kafka').MessagesStream<Buffer, Buffer, Buffer, Buffer>;
type PltMessage = import('@platformatic/kafka').Message<Buffer, Buffer, Buffer, Buffer>;

let loading: Promise<Plt> | undefined;

/**
 * `@platformatic/kafka` is an ES module: loaded on first use, so that an app on kafkajs never
 * loads it (and `require` of this package stays synchronous). Under jest this needs
 * `--experimental-vm-modules` (scripts/test.mjs sets it with KAFKA_CLIENT=platformatic).
 * It is an optional peer dependency: its own dependencies ask for Node 22.19, and an install of
 * the SDK on Node 20 must not pull it in. The workspace has it (root devDependencies).
 */
function platformatic(): Promise<Plt> {
  return (loading ??= import('@platformatic/kafka').catch((error: unknown) => {
    loading = undefined;
    throw new Error(
      'KAFKA_CLIENT=platformatic needs the optional peer dependency @platformatic/kafka: npm install @platformatic/kafka@1.35.0',
      { cause: error },
    );
  }));
}

export interface PlatformaticClientConfig {
  brokers: string;
  clientId: string;
  sasl: KafkaSasl | undefined;
  tls: KafkaTls | undefined;
}

/**
 * {@link KafkaClient} over `@platformatic/kafka` 1.x (the line that supports Node 20), selected
 * with KAFKA_CLIENT=platformatic. Producers partition with its `compatibilityPartitioner`
 * (Kafka's murmur2 `& 0x7fffffff`, as kafkajs and the Java client): its default partitioner
 * puts keys on other partitions, which would break per-token order on a shared topic.
 */
export function platformaticClient(config: PlatformaticClientConfig): KafkaClient {
  const base = {
    clientId: config.clientId,
    bootstrapBrokers: parseBrokers(config.brokers),
    connectTimeout: 3_000,
    requestTimeout: 30_000,
    retries: 12,
    retryDelay: 300,
    ...(config.sasl
      ? {
          sasl: {
            mechanism:
              config.sasl.mechanism === 'scram-sha-256'
                ? ('SCRAM-SHA-256' as const)
                : ('SCRAM-SHA-512' as const),
            username: config.sasl.username,
            password: config.sasl.password,
          },
        }
      : {}),
    ...(config.tls ? { tls: config.tls.ca ? { ca: config.tls.ca } : {} } : {}),
  };
  return {
    kind: 'platformatic',
    eventProducer: () => new PlatformaticEventProducer(base),
    groupConsumer: (options) => new PlatformaticGroupConsumer(base, options),
    catchUpSource: () => platformaticCatchUpSource(base),
  };
}

type BaseOptions = import('@platformatic/kafka').BaseOptions;

class PlatformaticEventProducer implements RecordProducer {
  private producer: PltProducer | undefined;
  private opening: Promise<PltProducer> | undefined;
  /** The last send queued: sends go out one after the other (see sendBatch). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly base: BaseOptions) {}

  private open(): Promise<PltProducer> {
    return (this.opening ??= platformatic().then((plt) => {
      this.producer = new plt.Producer({
        ...this.base,
        idempotent: true, // implies acks=all and one request in flight
        acks: plt.ProduceAcks.ALL,
        autocreateTopics: false,
        partitioner: plt.compatibilityPartitioner,
        // An idempotent producer must not give up on a sequence: retried until the broker is back.
        retries: Number.MAX_SAFE_INTEGER,
        retryDelay: (_client, _op, attempt) => Math.min(5_000, 200 * 2 ** Math.min(attempt, 5)),
      });
      return this.producer;
    }));
  }

  /**
   * Authenticates and fetches the cluster's metadata with a few retries, so that an unreachable
   * broker or bad credentials fail here, as with kafkajs. The producer itself retries every
   * failure without bound (a wrong password too), so it is not the one that checks.
   */
  async connect(): Promise<void> {
    const plt = await platformatic();
    const check = new plt.Admin({ ...this.base, retries: 2 });
    try {
      await check.metadata({ topics: [] });
    } finally {
      await check.close();
    }
    await this.open();
  }

  async disconnect(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    this.opening = undefined;
    await producer?.close();
  }

  async send(record: { topic: string; messages: OutgoingRecord[] }): Promise<unknown> {
    return this.sendBatch({ topicMessages: [record] });
  }

  async sendBatch(batch: {
    topicMessages: Array<{ topic: string; messages: OutgoingRecord[] }>;
  }): Promise<unknown> {
    const producer = await this.open();
    const messages = batch.topicMessages.flatMap(({ topic, messages }) =>
      messages.map((m) => ({
        topic,
        ...(m.key !== null && m.key !== undefined ? { key: toBuffer(m.key) } : {}),
        value: toBuffer(m.value ?? Buffer.alloc(0)),
        headers: new Map(
          Object.entries(m.headers ?? {}).map(([k, v]) => [Buffer.from(k), toBuffer(v)]),
        ),
      })),
    );
    if (messages.length === 0) return { offsets: [] };
    // One send at a time: concurrent sends of its idempotent producer to one partition (an app's
    // consumers dead-lettering at the same time) got OUT_OF_ORDER_SEQUENCE_NUMBER from the
    // broker, and the producer never recovered from it (batch-transport.int-spec).
    const sent = this.queue.then(() => producer.send({ messages }));
    this.queue = sent.catch(() => undefined);
    return sent;
  }
}

function toBuffer(value: Buffer | string): Buffer {
  return typeof value === 'string' ? Buffer.from(value) : value;
}

interface PartitionState {
  topic: string;
  partition: number;
  /** Records received and not yet handed to a batch, in offset order. */
  buffer: PltMessage[];
  /** The offset the next record of the partition must have; undefined: not assigned. */
  expected: bigint | undefined;
  busy: boolean;
  failures: number;
}

/** Records buffered over all partitions beyond which the stream is paused. */
const MAX_BUFFERED = 20_000;
/** Largest batch handed to `eachBatch`. */
const MAX_BATCH = 5_000;

/**
 * A group member over platformatic's MessagesStream, which hands records one at a time: records
 * are buffered per partition and handed to `eachBatch` as one batch per partition, at most
 * `partitionsConsumedConcurrently` partitions at a time. The stream reads from the committed
 * offsets (or the log start/end) after every join. A batch whose handler throws is handed again
 * (backoff 300 ms doubling to 5 s), as kafkajs does; nothing is committed for it.
 *
 * Order and gaps: every record's offset is checked against the next expected one of its partition.
 * A duplicate (a refetch) is dropped; a record past a gap (a fetch from before a seek) is dropped
 * and the stream is pointed back at the expected offset.
 */
class PlatformaticGroupConsumer implements GroupConsumer {
  private consumer: PltConsumer | undefined;
  private stream: PltStream | undefined;
  private running = false;
  /** Bumped on every join and revocation: batches of an older generation are stale. */
  private generation = 0;
  private assigned = new Set<string>();
  private readonly partitions = new Map<string, PartitionState>();
  private readonly inFlight = new Set<Promise<void>>();
  private buffered = 0;
  private paused = false;
  private dispatchScheduled = false;

  constructor(
    private readonly base: BaseOptions,
    private readonly options: GroupConsumerOptions,
  ) {}

  async run(): Promise<void> {
    const plt = await platformatic();
    const { groupId, topics, sessionTimeoutMs, heartbeatIntervalMs } = this.options;
    const consumer = new plt.Consumer<Buffer, Buffer, Buffer, Buffer>({
      ...this.base,
      groupId,
      sessionTimeout: sessionTimeoutMs,
      heartbeatInterval: heartbeatIntervalMs,
      autocommit: false,
      autocreateTopics: false,
    });
    this.consumer = consumer;
    this.running = true;
    consumer.on('consumer:group:join', (payload) => this.joined(payload.assignments ?? []));
    consumer.on('consumer:group:rebalance', () => this.revoked());
    consumer.on('consumer:group:leave', () => this.revoked());
    const stream = await consumer.consume({
      topics,
      autocommit: false,
      mode: plt.MessagesStreamModes.COMMITTED,
      fallbackMode: this.options.fromBeginning
        ? plt.MessagesStreamFallbackModes.EARLIEST
        : plt.MessagesStreamFallbackModes.LATEST,
      maxWaitTime: 500,
      sessionTimeout: sessionTimeoutMs,
      heartbeatInterval: heartbeatIntervalMs,
    });
    this.stream = stream;
    // After each join the stream has listed the committed offsets and is about to fetch: that is
    // where every assigned partition continues.
    stream.on('offsets', () => {
      for (const key of this.assigned) {
        const state = this.partitions.get(key);
        const offset = stream.offsetsToFetch.get(pltKey(state));
        if (state && offset !== undefined && state.expected === undefined) state.expected = offset;
      }
    });
    stream.on('data', (message) => this.received(message));
    stream.on('error', () => {
      // The stream gave up (an error it did not retry): nothing more comes from it.
      this.running = false;
      this.revoked();
    });
    // The first join happened inside consume(), before the 'offsets' listener existed.
    for (const key of this.assigned) {
      const state = this.partitions.get(key);
      const offset = stream.offsetsToFetch.get(pltKey(state));
      if (state && offset !== undefined && state.expected === undefined) state.expected = offset;
    }
  }

  async commit(topic: string, partition: number, nextOffset: string): Promise<void> {
    const consumer = this.consumer;
    if (!consumer) throw new Error('consumer not running');
    await consumer.commit({
      offsets: [{ topic, partition, offset: BigInt(nextOffset), leaderEpoch: -1 }],
    });
  }

  seek(topic: string, partition: number, offset: string): void {
    const state = this.partitions.get(stateKey(topic, partition));
    if (!state || !this.assigned.has(stateKey(topic, partition))) return;
    const at = BigInt(offset);
    this.buffered -= state.buffer.length;
    state.buffer = [];
    state.expected = at;
    this.stream?.offsetsToFetch.set(pltKey(state), at);
  }

  async disconnect(): Promise<void> {
    this.running = false;
    this.revoked();
    await Promise.allSettled([...this.inFlight]);
    const stream = this.stream;
    const consumer = this.consumer;
    this.stream = undefined;
    this.consumer = undefined;
    await stream?.close().catch(() => undefined);
    await consumer?.close();
  }

  private joined(assignments: ReadonlyArray<{ topic: string; partitions: number[] }>): void {
    this.generation += 1;
    this.dropBuffers();
    const assignment: Record<string, number[]> = {};
    this.assigned = new Set();
    for (const { topic, partitions } of assignments) {
      assignment[topic] = [...partitions];
      for (const partition of partitions) {
        const key = stateKey(topic, partition);
        this.assigned.add(key);
        const state = this.partitions.get(key) ?? {
          topic,
          partition,
          buffer: [],
          expected: undefined,
          busy: false,
          failures: 0,
        };
        state.expected = undefined;
        this.partitions.set(key, state);
      }
    }
    this.options.onJoin?.(assignment satisfies Assignment);
  }

  private revoked(): void {
    this.generation += 1;
    this.assigned = new Set();
    this.dropBuffers();
    this.options.onRevoke?.();
  }

  private dropBuffers(): void {
    for (const state of this.partitions.values()) {
      state.buffer = [];
      state.expected = undefined;
    }
    this.buffered = 0;
    this.resumeIfDrained();
  }

  private received(message: PltMessage): void {
    const key = stateKey(message.topic, message.partition);
    const state = this.partitions.get(key);
    if (!state || !this.assigned.has(key) || state.expected === undefined) return;
    if (message.offset < state.expected) return; // fetched again
    if (message.offset > state.expected) {
      // A fetch from before a seek: read again from where the partition must continue.
      this.stream?.offsetsToFetch.set(pltKey(state), state.expected);
      return;
    }
    state.expected = message.offset + 1n;
    state.buffer.push(message);
    this.buffered += 1;
    if (this.buffered > MAX_BUFFERED && !this.paused) {
      this.paused = true;
      this.stream?.pause();
    }
    this.scheduleDispatch();
  }

  /**
   * The stream emits a fetch response's records one by one in the same tick: dispatching on the
   * next turn of the event loop makes them one batch, as kafkajs hands a fetched record batch.
   */
  private scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    setImmediate(() => {
      this.dispatchScheduled = false;
      for (const s of this.partitions.values()) this.dispatch(s);
    });
  }

  private dispatch(state: PartitionState): void {
    if (!this.running || state.busy || state.buffer.length === 0) return;
    if (this.activeBatches() >= this.options.partitionsConsumedConcurrently) return;
    const records = state.buffer.splice(0, MAX_BATCH);
    this.buffered -= records.length;
    this.resumeIfDrained();
    state.busy = true;
    const generation = this.generation;
    let resolved: bigint | undefined;
    const batch: PartitionBatch = {
      topic: state.topic,
      partition: state.partition,
      highWatermark: undefined,
      messages: records.map(incomingOf),
      isRunning: () => this.running,
      isStale: () =>
        generation !== this.generation ||
        !this.assigned.has(stateKey(state.topic, state.partition)),
      resolveOffset: (offset) => {
        resolved = BigInt(offset);
      },
      heartbeat: () => Promise.resolve(), // the consumer heartbeats on its own timer
    };
    const done = this.options
      .eachBatch(batch)
      .then(
        () => {
          state.failures = 0;
          return false;
        },
        () => true,
      )
      .then(async (failed) => {
        if (failed && generation === this.generation && this.running) {
          // Handed again from the first record not resolved, before anything received since.
          const again = records.filter((r) => resolved === undefined || r.offset > resolved);
          state.buffer.unshift(...again);
          this.buffered += again.length;
          state.failures += 1;
          await new Promise((r) => setTimeout(r, Math.min(5_000, 300 * 2 ** (state.failures - 1))));
        }
      })
      .finally(() => {
        state.busy = false;
        this.inFlight.delete(done);
        this.scheduleDispatch();
      });
    this.inFlight.add(done);
  }

  private activeBatches(): number {
    let n = 0;
    for (const s of this.partitions.values()) if (s.busy) n += 1;
    return n;
  }

  private resumeIfDrained(): void {
    if (this.paused && this.buffered < MAX_BUFFERED / 4) {
      this.paused = false;
      this.stream?.resume();
    }
  }
}

function incomingOf(m: PltMessage): IncomingRecord {
  const headers: Record<string, Buffer> = {};
  for (const [k, v] of m.headers) headers[k.toString()] = v;
  return {
    offset: m.offset.toString(),
    timestamp: m.timestamp.toString(),
    key: m.key ?? null,
    value: m.value ?? null,
    headers,
  };
}

function stateKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** The stream's key of a partition in `offsetsToFetch`. */
function pltKey(state: { topic: string; partition: number } | undefined): string {
  return state ? `${state.topic}:${state.partition}` : '';
}

/** A group id for listing offsets only (such a consumer never joins its group). */
const OFFSETS_GROUP = 'tokenledger-offsets';

/** End offsets and committed offsets through platformatic consumers that never join a group. */
function platformaticCatchUpSource(base: BaseOptions): CatchUpSource & { close(): Promise<void> } {
  const clients = new Map<string, Promise<PltConsumer>>();
  const client = (groupId: string): Promise<PltConsumer> => {
    let c = clients.get(groupId);
    if (!c) {
      c = platformatic().then(
        (plt) =>
          new plt.Consumer<Buffer, Buffer, Buffer, Buffer>({
            ...base,
            groupId,
            autocreateTopics: false,
          }),
      );
      clients.set(groupId, c);
    }
    return c;
  };
  const ends = async (
    consumer: PltConsumer,
    topics: readonly string[],
  ): Promise<Array<PartitionOffset & { low: string }>> => {
    const plt = await platformatic();
    const high = await consumer.listOffsets({
      topics: [...topics],
      timestamp: plt.ListOffsetTimestamps.LATEST,
    });
    const low = await consumer.listOffsets({
      topics: [...topics],
      timestamp: plt.ListOffsetTimestamps.EARLIEST,
    });
    return [...high].flatMap(([topic, offsets]) =>
      offsets.map((offset, partition) => ({
        topic,
        partition,
        offset: offset.toString(),
        low: (low.get(topic)?.[partition] ?? 0n).toString(),
      })),
    );
  };
  return {
    async endOffsets(topics) {
      return ends(await client(OFFSETS_GROUP), topics);
    },
    async committed(groupId, topics) {
      const consumer = await client(groupId);
      const partitions = await ends(consumer, topics);
      const byTopic = new Map<string, number[]>();
      for (const p of partitions)
        byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
      const commits = await consumer.listCommittedOffsets({
        topics: [...byTopic].map(([topic, ps]) => ({ topic, partitions: ps })),
      });
      return [...commits].flatMap(([topic, offsets]) =>
        offsets.map((offset, partition) => ({ topic, partition, offset: offset.toString() })),
      );
    },
    async close() {
      const all = [...clients.values()];
      clients.clear();
      await Promise.allSettled(all.map(async (c) => (await c).close()));
    },
  };
}
