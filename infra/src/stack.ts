import * as path from 'node:path';
import { ensureLocalBroker } from './kafka-broker';
import { resolvePostgres } from './postgres';

/** `.tokenledger/` at the repository root (git-ignored), or `TOKENLEDGER_HOME`. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.TOKENLEDGER_HOME ?? path.join(__dirname, '..', '..', '.tokenledger'));
}

export interface Infrastructure {
  kafkaBrokers: string;
  /** URL of the apps' database. */
  databaseUrl: string;
  /** URL of a database on the same server from which other databases can be created. */
  adminDatabaseUrl: string;
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
}): Promise<Infrastructure> {
  const env = options.env ?? process.env;
  const home = stateDir(env);
  const started: string[] = [];
  const stops: Array<() => Promise<void>> = [];

  let kafkaBrokers = env.KAFKA_BROKERS;
  if (!kafkaBrokers) {
    const broker = await ensureLocalBroker({
      dataDir: path.join(home, 'kafka'),
      port: env.TOKENLEDGER_KAFKA_PORT ? Number(env.TOKENLEDGER_KAFKA_PORT) : undefined,
      log: options.log,
    });
    kafkaBrokers = broker.brokers;
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
  return {
    kafkaBrokers,
    databaseUrl: pg.url,
    adminDatabaseUrl: pg.adminUrl,
    started,
    stop: async () => {
      for (const stop of stops.reverse()) await stop();
    },
  };
}
