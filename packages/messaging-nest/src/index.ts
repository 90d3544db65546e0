export {
  KafkaConnection,
  MESSAGING_DATA_SOURCE,
  MESSAGING_OPTIONS,
  type MessagingOptions,
} from './kafka-connection';
export { MessagingModule } from './messaging.module';
export { EventOutbox, type EventDraft, type EventMeta } from './event-outbox';
