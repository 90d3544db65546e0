import * as path from 'node:path';
import { ensureLocalBroker, type KafkaCredentials, type KafkaPrincipal } from './kafka-broker';
import { resolvePostgres } from './postgres';
import {
  APP_NAMES,
  provisionRoles,
  type ProvisionedRoles,
  type ProvisionRolesOptions,
} from './roles';

/** `.tokenledger/` at the repository root (git-ignored), or `TOKENLEDGER_HOME`. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.TOKENLEDGER_HOME ?? path.join(__dirname, '..', '..', '.tokenledger'));
}

/**
 * Whether the project's own broker runs SASL/SCRAM with ACLs: yes unless
 * `TOKENLEDGER_KAFKA_SASL=0` (an unauthenticated PLAINTEXT broker, for debugging only).
 */
export function localBrokerSasl(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.TOKENLEDGER_KAFKA_SASL;
  if (value === undefined || value === '' || value === '1') return true;
  if (value === '0') return false;
  throw new Error('TOKENLEDGER_KAFKA_SASL: must be 1 (SASL/SCRAM with ACLs, the default) or 0');
}

/**
 * The environment that gives a child process the Kafka principal `name` (KAFKA_SASL_*, read by
 * packages/messaging's createKafka); empty when the broker has no SASL. The password is passed in
 * the environment of the child only, never on a command line or in a log.
 */
export function kafkaClientEnv(
  credentials: Record<KafkaPrincipal, KafkaCredentials> | undefined,
  name: KafkaPrincipal,
): Record<string, string> {
  const own = credentials?.[name];
  if (!own) return {};
  return {
    KAFKA_SASL_MECHANISM: own.mechanism,
    KAFKA_SASL_USERNAME: own.username,
    KAFKA_SASL_PASSWORD: own.password,
  };
}

export interface Infrastructure {
  kafkaBrokers: string;
  /**
   * The local broker's principals (SASL/SCRAM is the default; undefined with
   * `TOKENLEDGER_KAFKA_SASL=0` or a KAFKA_BROKERS of yours). Give each process its own with
   * {@link kafkaClientEnv} (docs/design/kafka-security.md).
   */
  kafkaCredentials?: Record<KafkaPrincipal, KafkaCredentials>;
  /** URL of the apps' database. */
  databaseUrl: string;
  /** URL of a database on the same server from which other databases can be created. */
  adminDatabaseUrl: string;
  /**
   * With `roles`, on a server found or started here (not a DATABASE_URL given): the database
   * roles, provisioned, and the URL each app gets. Undefined otherwise.
   */
  roles?: ProvisionedRoles;
  /** What this call started and must stop, e.g. `['kafka']`. */
  started: string[];
  stop: () => Promise<void>;
}

/**
 * Kafka and PostgreSQL for a local run. `KAFKA_BROKERS` set: nothing local is started for Kafka.
 * Otherwise the project's own broker answers on 127.0.0.1:9092 (started when needed).
 * PostgreSQL as in {@link resolvePostgres}.
 */
export async function ensureInfrastructure(options: {
  database: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** Provision the owner and app roles on the apps' database (passwords as given). */
  roles?: Pick<ProvisionRolesOptions, 'passwords'>;
}): Promise<Infrastructure> {
  const env = options.env ?? process.env;
  const home = stateDir(env);
  const started: string[] = [];
  const stops: Array<() => Promise<void>> = [];

  let kafkaBrokers = env.KAFKA_BROKERS;
  let kafkaCredentials: Infrastructure['kafkaCredentials'];
  if (!kafkaBrokers) {
    const broker = await ensureLocalBroker({
      dataDir: path.join(home, 'kafka'),
      port: env.TOKENLEDGER_KAFKA_PORT ? Number(env.TOKENLEDGER_KAFKA_PORT) : undefined,
      log: options.log,
      sasl: localBrokerSasl(env),
    });
    kafkaBrokers = broker.brokers;
    kafkaCredentials = broker.credentials;
    if (broker.startedHere) {
      started.push('kafka');
      stops.push(broker.stop);
    }
  }
  const pg = await resolvePostgres({
    dataDir: path.join(home, 'postgres'),
    database: options.database,
    env,
    log: options.log,
  });
  if (pg.startedHere) {
    started.push('postgres');
    stops.push(pg.stop);
  }
  // A DATABASE_URL given is used as is: its owner manages the roles (docs/design/operations.md).
  let roles: ProvisionedRoles | undefined;
  if (options.roles && pg.source !== 'DATABASE_URL') {
    try {
      roles = await provisionRoles({
        adminUrl: pg.url,
        passwords: options.roles.passwords,
        adoptSchemas: APP_NAMES,
      });
    } catch (error) {
      for (const stop of stops.reverse()) await stop();
      throw error;
    }
  }
  return {
    kafkaBrokers,
    kafkaCredentials,
    databaseUrl: pg.url,
    adminDatabaseUrl: pg.adminUrl,
    roles,
    started,
    stop: async () => {
      for (const stop of stops.reverse()) await stop();
    },
  };
}
