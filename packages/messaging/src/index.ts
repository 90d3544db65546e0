export { createEventProducer, createKafka, parseBrokers, type KafkaClientConfig } from './kafka-client';
export { provisionTopics, topicPlan, type TopicProvisioning } from './topics';
export {
  OutboxRelay,
  dropOutboxTablesDdl,
  enqueueEvents,
  outboxTablesDdl,
  type OutboxMessage,
  type OutboxRelayOptions,
} from './outbox';
export { markProcessed } from './inbox';
export {
  BatchConsumer,
  DLQ_HEADERS,
  type BatchConsumerOptions,
  type ConsumedEvent,
  type PoisonRecord,
} from './batch-consumer';
export {
  KafkaConnection,
  MESSAGING_DATA_SOURCE,
  MESSAGING_OPTIONS,

  type MessagingOptions,
} from './nest/kafka-connection';
export { MessagingModule } from './nest/messaging.module';
export { CreateSchemaAndOutbox1795800000000 } from './outbox-migration';
export { EventOutbox, type EventDraft, type EventMeta } from './nest/event-outbox';
export { readTopicToEnd } from './read-to-end';
export { BackgroundEventProducer, type BackgroundProducerOptions, type ProducerLog } from './background-producer';
