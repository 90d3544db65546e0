import { ensureInfrastructure, type Infrastructure } from '@tokenledger/infra';

declare global {
  var __TOKENLEDGER_INFRA__: Infrastructure | undefined;
}

/**
 * jest globalSetup: makes sure a Kafka broker and a PostgreSQL server are there for the run,
 * starting the project's own broker when none answers. Spec files then take a fresh database
 * and fresh topic names each (see `freshDatabase`, `freshTopicPrefix`).
 */
export default async function globalSetup(): Promise<void> {
  const infra = await ensureInfrastructure({
    database: 'tokenledger_test',
    log: (line) => process.stderr.write(`[infra] ${line}\n`),
  });
  process.env.TL_TEST_KAFKA_BROKERS = infra.kafkaBrokers;
  process.env.TL_TEST_ADMIN_DATABASE_URL = infra.adminDatabaseUrl;
  globalThis.__TOKENLEDGER_INFRA__ = infra;
}
