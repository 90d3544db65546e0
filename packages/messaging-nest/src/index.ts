export {
  KafkaConnection,
  MESSAGING_DATA_SOURCE,
  MESSAGING_OPTIONS,
  type MessagingOptions,
} from './kafka-connection';
export { MessagingModule } from './messaging.module';
export { EventOutbox, type EventDraft, type EventMeta } from './event-outbox';
export {
  BATCH_TRANSPORT,
  BatchContext,
  BatchTransport,
  type BatchPatternExtras,
  type BatchTransportOptions,
  type ConsumerGroupSettings,
} from './batch-transport';
export { BatchHandlerErrorFilter, connectBatchTransport } from './handler-error-filter';
