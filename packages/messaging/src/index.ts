export {
  createEventProducer,
  createKafka,
  kafkaSaslFromEnv,
  kafkaTlsFromEnv,
  parseBrokers,
  type KafkaClientConfig,
  type KafkaSasl,
  type KafkaTls,
} from './kafka-client';
export {
  KAFKA_CLIENT_KINDS,
  isKafkaClient,
  kafkaClientKindFromEnv,
  type Assignment,
  type GroupConsumer,
  type GroupConsumerOptions,
  type IncomingRecord,
  type KafkaClient,
  type KafkaClientKind,
  type OutgoingRecord,
  type PartitionBatch,
  type RecordProducer,
} from './client';
export { createKafkaClient } from './create-client';
export { kafkajsClient } from './kafkajs-client';
export {
  ACL_TABLE,
  REPLAY_TOPIC_PREFIX,
  aclPlan,
  applyAcls,
  type AclPlanOptions,
  type ClientPrincipal,
} from './acls';
export { provisionTopics, topicPlan, type TopicProvisioning } from './topics';
export { provisionCluster, type ClusterProvisioning } from './provision';
export {
  OutboxRelay,
  dropOutboxTablesDdl,
  enqueueEncoded,
  enqueueEvents,
  outboxInsert,
  outboxTableGrants,
  outboxTraceContextDdl,
  outboxTablesDdl,
  type EncodedOutboxMessage,
  type OutboxMessage,
  type OutboxRelayOptions,
} from './outbox';
export { markProcessed, markProcessedMany } from './inbox';
export {
  BatchConsumer,
  isRetryableError,
  type BatchConsumerOptions,
  type ConsumedEvent,
  type ConsumedRecord,
  type RawBatchOutcome,
} from './batch-consumer';
export {
  CatchUpTracker,
  kafkaCatchUpSource,
  type CatchUpSource,
  type CatchUpState,
  type PartitionOffset,
} from './catch-up';
export {
  DLQ_HEADERS,
  DEAD_LETTER_CONTENT_TYPE,
  DeadLetterWriter,
  deadLetterOf,
  type DeadLetter,
} from './dead-letter';
export {
  CreateSchemaAndOutbox1795800000000,
  OutboxTraceContext1795800000900,
} from './outbox-migration';
export {
  endSpans,
  extractKafkaContext,
  injectKafkaHeaders,
  processInSpans,
  startSendSpan,
  traceHeadersOf,
  type ProcessedRecord,
  type TraceHeaders,
} from './tracing';
export { readTopicToEnd } from './read-to-end';
export {
  BackgroundEventProducer,
  type BackgroundProducerOptions,
  type ProducerLog,
} from './background-producer';
