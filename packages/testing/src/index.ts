export {
  adminDatabaseUrl,
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  readTopic,
  testKafka,
  type ReadRecord,
  type TestDatabase,
} from './harness';
