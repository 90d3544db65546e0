import { ensureInfrastructure, kafkaClientEnv, type Infrastructure } from '@tokenledger/infra';

declare global {
  var __TOKENLEDGER_INFRA__: Infrastructure | undefined;
}

/**
 * jest globalSetup: makes sure a Kafka broker and a PostgreSQL server are there for the run,
 * starting the project's own broker when none answers. Spec files then take a fresh database
 * and fresh topic names each (see `freshDatabase`, `freshTopicPrefix`).
 *
 * On the SASL broker (the default), the run's own clients are the admin principal (KAFKA_SASL_*
 * in the environment of every worker, and so of every process a test starts without giving it
 * another principal): integration tests provision their fresh topics themselves. The e2e
 * harness gives each app its own principal and ACLs (TL_TEST_KAFKA_CREDENTIALS).
 */
export default async function globalSetup(): Promise<void> {
  const infra = await ensureInfrastructure({
    database: 'tokenledger_test',
    log: (line) => process.stderr.write(`[infra] ${line}\n`),
  });
  process.env.TL_TEST_KAFKA_BROKERS = infra.kafkaBrokers;
  process.env.TL_TEST_ADMIN_DATABASE_URL = infra.adminDatabaseUrl;
  if (infra.kafkaCredentials) {
    Object.assign(process.env, kafkaClientEnv(infra.kafkaCredentials, 'admin'));
    process.env.TL_TEST_KAFKA_CREDENTIALS = JSON.stringify(infra.kafkaCredentials);
  }
  globalThis.__TOKENLEDGER_INFRA__ = infra;
}
