import { Kafka, Partitioners, logLevel, type LogEntry, type Producer } from 'kafkajs';

export interface KafkaClientConfig {
  /** Comma-separated `host:port` list, as in `KAFKA_BROKERS`. */
  brokers: string;
  clientId: string;
  /** Receives kafkajs' own warnings and errors. */
  log?: (level: 'warn' | 'error', message: string, extra: Record<string, unknown>) => void;
}

export function parseBrokers(brokers: string): string[] {
  const list = brokers
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  for (const b of list) {
    if (!/^[^\s:]+:\d{1,5}$/.test(b))
      throw new Error(`invalid Kafka broker address "${b}": expected host:port`);
  }
  if (list.length === 0) throw new Error('no Kafka broker address given');
  return list;
}

/**
 * The one place that constructs the Kafka client, so that the client library can be swapped.
 * Retries are generous: a broker restart must be ridden out, not surface as a crash.
 */
export function createKafka(config: KafkaClientConfig): Kafka {
  const log = config.log;
  return new Kafka({
    clientId: config.clientId,
    brokers: parseBrokers(config.brokers),
    connectionTimeout: 3000,
    requestTimeout: 30000,
    retry: { initialRetryTime: 200, maxRetryTime: 5000, retries: 12 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log: entry }: LogEntry) => {
        // Connection-level lines report each failed attempt of a request that kafkajs retries
        // (a topic created concurrently, a coordinator still loading); a request that finally
        // fails throws at its call site, which logs it. So they are not passed on.
        if (!log || namespace === 'Connection') return;
        const { message, ...extra } = entry;
        log(
          level === logLevel.ERROR || level === logLevel.NOTHING ? 'error' : 'warn',
          String(message),
          extra,
        );
      },
  });
}

/**
 * A producer for events: idempotent, one request in flight (keeps per-partition order across
 * retries), retrying until the broker is back (an idempotent producer must not give up on a
 * sequence), and every send with `acks=all`. Keys are partitioned with Kafka's own murmur2
 * scheme, so any client puts a tokenId on the same partition.
 */
export function createEventProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { initialRetryTime: 200, maxRetryTime: 5000, retries: Number.MAX_SAFE_INTEGER },
  });
}
