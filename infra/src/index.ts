export {
  KAFKA_INFRA_DIR,
  KAFKA_PRINCIPALS,
  brokerAnswers,
  brokerCredentials,
  ensureLocalBroker,
  passwordDir,
  pinnedKafkaVersion,
  resolveKafkaJars,
  stopLocalBroker,
  waitForBroker,
  type BrokerOptions,
  type KafkaCredentials,
  type KafkaPrincipal,
  type LocalBroker,
} from './kafka-broker';
export {
  canConnect,
  createDatabaseIfMissing,
  resolvePostgres,
  withDatabase,
  type ResolvedPostgres,
} from './postgres';
export {
  APP_NAMES,
  APP_ROLES,
  OWNER_ROLE,
  provisionRoles,
  roleNames,
  roleUrl,
  scramMatches,
  scramVerifier,
  type AppName,
  type ProvisionRolesOptions,
  type ProvisionedRoles,
} from './roles';
export { isProcessAlive, sleep, stopProcess, withLock } from './process';
export {
  ensureInfrastructure,
  kafkaClientEnv,
  localBrokerSasl,
  stateDir,
  type Infrastructure,
} from './stack';
