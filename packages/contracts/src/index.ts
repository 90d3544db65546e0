export {
  TOPICS,
  AUDITED_TOPICS,
  isAuditedTopic,
  topicName,
  type TopicKey,
  type TopicName,
  type AuditedTopic,
} from './topics';
export {
  uuidv7,
  createUuidV7Generator,
  isUuidV7,
  uuidv7Timestamp,
  UUIDV7_PATTERN,
  type RandomBytes,
} from './uuidv7';
export { FixedClock, systemClock, uuidv7Ids, type Clock, type IdSource } from './clock';
export { ReplayAudit } from './replay-audit';
export { SYSTEM_ACTOR, operatorActor, serviceActor, parseActor, type ParsedActor } from './actor';
export {
  envelopeHeaderSchema,
  SPECVERSION,
  DATACONTENTTYPE,
  CLOUDEVENTS_CONTENT_TYPE,
  cloudEventHeaders,
  type EventEnvelope,
  type EventEnvelopeOf,
  type EventEnvelopeHeader,
} from './envelope';
export {
  EventError,
  EventDecodeError,
  EventValidationError,
  formatPath,
  type EventErrorCode,
  type EventIssue,
} from './errors';
export {
  EVENT_TYPES,
  EVENT_DATA_SCHEMAS,
  EVENT_TOPIC,
  ALL_EVENT_TYPES,
  isEventType,
  type EventType,
  type EventData,
} from './events/registry';
export { defaultSubject } from './events/subject';
export * from './events/lifecycle';
export * from './events/usage';
export * from './events/commands';
export * from './events/anomalies';
export * from './events/ops-audit';
export {
  REVOCATION_REASONS,
  revocationReasonSchema,
  isRfc3339Utc,
  labelKeySchema,
  labelValueSchema,
  commentSchema,
  COMMENT_MAX_LENGTH,
  scopeSchema,
  ACTOR_PATTERN,
  type RevocationReason,
} from './events/common';
export { buildEvent, type BuildEventInput, type BuildEventOptions } from './build';
export {
  encodeEvent,
  buildEncodedEvent,
  decodeEvent,
  partitionKey,
  DEFAULT_MAX_EVENT_BYTES,
  type CodecOptions,
} from './codec';
export { validateEvent, type DecodeResult } from './validate';
export type { IntrospectionAnswer, TokenledgerReason } from './introspection';
export {
  APP_SIGNER_TYPES,
  SDK_SIGNER_TYPES,
  appSignerEntries,
  type SigningApp,
  EventVerifier,
  EventSigningConfigError,
  KEY_ID_ATTRIBUTE,
  KEY_ID_PATTERN,
  SIGNATURE_ATTRIBUTE,
  parseEventSigners,
  parseSigningKey,
  shortEventType,
  signEnvelope,
  signerEntry,
  signingInput,
  signingKeyFromSeed,
  type EventSignerEntry,
  type EventSigningKey,
  type SignatureCheck,
  type SignatureRejection,
} from './signing';
