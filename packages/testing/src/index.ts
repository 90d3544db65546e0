export {
  adminDatabaseUrl,
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  kafkaTestCredentials,
  migratedDataSource,
  readTopic,
  testKafka,
  type ReadRecord,
  type TestDatabase,
} from './harness';
/** The database roles freshDatabase provisions (from @tokenledger/infra). */
export { APP_ROLES, OWNER_ROLE, kafkaClientEnv } from '@tokenledger/infra';
export { readTiledLog, TiledLogError, type TiledLog } from './tiles-reader';
