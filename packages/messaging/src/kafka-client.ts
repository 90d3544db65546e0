import * as fs from 'node:fs';
import { Kafka, Partitioners, logLevel, type LogEntry, type Producer } from 'kafkajs';

/** SASL/SCRAM credentials of one Kafka principal (docs/design/kafka-security.md). */
export type KafkaSasl =
  | { mechanism: 'scram-sha-512'; username: string; password: string }
  | { mechanism: 'scram-sha-256'; username: string; password: string };

export interface KafkaClientConfig {
  /** Comma-separated `host:port` list, as in `KAFKA_BROKERS`. */
  brokers: string;
  clientId: string;
  /**
   * The principal to authenticate as. Undefined: taken from the environment
   * ({@link kafkaSaslFromEnv}); null: no authentication (PLAINTEXT).
   */
  sasl?: KafkaSasl | null;
  /**
   * TLS to the brokers. Undefined: taken from the environment ({@link kafkaTlsFromEnv}); false:
   * none.
   */
  tls?: KafkaTls | false;
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

const MECHANISMS = ['scram-sha-512', 'scram-sha-256'] as const;

/**
 * The principal from `KAFKA_SASL_MECHANISM` (`scram-sha-512` or `scram-sha-256`),
 * `KAFKA_SASL_USERNAME` and `KAFKA_SASL_PASSWORD` or `KAFKA_SASL_PASSWORD_FILE` (a file whose
 * content, trimmed, is the password). Undefined when `KAFKA_SASL_USERNAME` is unset: PLAINTEXT.
 * Errors name the variable, never its value.
 */
export function kafkaSaslFromEnv(env: NodeJS.ProcessEnv = process.env): KafkaSasl | undefined {
  const username = env.KAFKA_SASL_USERNAME;
  if (!username) return undefined;
  const mechanism = (env.KAFKA_SASL_MECHANISM ?? 'scram-sha-512').toLowerCase();
  if (!(MECHANISMS as readonly string[]).includes(mechanism)) {
    throw new Error(`KAFKA_SASL_MECHANISM must be one of ${MECHANISMS.join(', ')}`);
  }
  let password = env.KAFKA_SASL_PASSWORD;
  if (!password && env.KAFKA_SASL_PASSWORD_FILE) {
    try {
      password = fs.readFileSync(env.KAFKA_SASL_PASSWORD_FILE, 'utf8').trim();
    } catch {
      throw new Error('KAFKA_SASL_PASSWORD_FILE cannot be read');
    }
  }
  if (!password) {
    throw new Error(
      'KAFKA_SASL_USERNAME is set but neither KAFKA_SASL_PASSWORD nor KAFKA_SASL_PASSWORD_FILE gives a password',
    );
  }
  return mechanism === 'scram-sha-256'
    ? { mechanism, username, password }
    : { mechanism: 'scram-sha-512', username, password };
}

/** TLS to the brokers: the system's CAs, or the PEM bundle given. */
export interface KafkaTls {
  ca?: string[];
}

/**
 * TLS from `KAFKA_TLS` (`true` or `false`, default false) and `KAFKA_TLS_CA_FILE` (a PEM file of
 * the CAs to trust instead of the system's; setting it turns TLS on). With SASL this is
 * SASL_SSL. Errors name the variable, never its value.
 */
export function kafkaTlsFromEnv(env: NodeJS.ProcessEnv = process.env): KafkaTls | undefined {
  const flag = env.KAFKA_TLS?.trim().toLowerCase();
  if (flag !== undefined && flag !== '' && flag !== 'true' && flag !== 'false')
    throw new Error('KAFKA_TLS must be true or false');
  const caFile = env.KAFKA_TLS_CA_FILE;
  if (flag === 'false' && caFile)
    throw new Error('KAFKA_TLS_CA_FILE is set but KAFKA_TLS is false');
  if (caFile) {
    try {
      return { ca: [fs.readFileSync(caFile, 'utf8')] };
    } catch {
      throw new Error('KAFKA_TLS_CA_FILE cannot be read');
    }
  }
  return flag === 'true' ? {} : undefined;
}

/**
 * The one place that constructs the Kafka client, so that the client library can be swapped.
 * Retries are generous: a broker restart must be ridden out, not surface as a crash.
 */
export function createKafka(config: KafkaClientConfig): Kafka {
  const log = config.log;
  const sasl = config.sasl === undefined ? kafkaSaslFromEnv() : config.sasl;
  const tls = config.tls === undefined ? kafkaTlsFromEnv() : config.tls || undefined;
  return new Kafka({
    clientId: config.clientId,
    brokers: parseBrokers(config.brokers),
    ...(sasl ? { sasl } : {}),
    ssl: tls ? (tls.ca ? { ca: tls.ca } : true) : false,
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
