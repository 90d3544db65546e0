export {
  KAFKA_INFRA_DIR,
  brokerAnswers,
  ensureLocalBroker,
  pinnedKafkaVersion,
  resolveKafkaJars,
  stopLocalBroker,
  waitForBroker,
  type BrokerOptions,
  type LocalBroker,
} from './kafka-broker';
export {
  canConnect,
  createDatabaseIfMissing,
  resolvePostgres,
  withDatabase,
  type ResolvedPostgres,
} from './postgres';
export { isProcessAlive, sleep, stopProcess, withLock } from './process';
export { ensureInfrastructure, stateDir, type Infrastructure } from './stack';
