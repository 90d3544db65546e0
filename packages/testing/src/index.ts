export {
  adminDatabaseUrl,
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  migratedDataSource,
  readTopic,
  testKafka,
  type ReadRecord,
  type TestDatabase,
} from './harness';
