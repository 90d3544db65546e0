import type { z } from 'zod';
import { TOPICS, type TopicName } from '../topics';
import { anomalyDetectedV1Schema } from './anomalies';
import { tokenRevokeRequestedV1Schema } from './commands';
import {
  tokenExpiredV1Schema,
  tokenIssuanceDeniedV1Schema,
  tokenIssuedV1Schema,
  tokenLeakReportedV1Schema,
  tokenRevokedV1Schema,
  tokenLimitsChangedV1Schema,
  tokenRotatedV1Schema,
  tokenRotationDueV1Schema,
} from './lifecycle';
import {
  opsBreakGlassV1Schema,
  opsKeyRotatedV1Schema,
  opsPolicyChangedV1Schema,
  opsReplayFinishedV1Schema,
  opsReplayStartedV1Schema,
  opsSigningHaltedV1Schema,
  opsWebhookChangedV1Schema,
} from './ops-audit';
import { tokenUsedV1Schema } from './usage';

/**
 * Every event type. A change that breaks a schema is a new `.vN` type, never an edit of an
 * existing one: ledger leaves hold old events forever and must keep decoding.
 */
export const EVENT_TYPES = {
  tokenIssued: 'tokenledger.token.issued.v1',
  tokenRotated: 'tokenledger.token.rotated.v1',
  tokenRevoked: 'tokenledger.token.revoked.v1',
  tokenExpired: 'tokenledger.token.expired.v1',
  tokenIssuanceDenied: 'tokenledger.token.issuance-denied.v1',
  tokenLeakReported: 'tokenledger.token.leak-reported.v1',
  tokenRotationDue: 'tokenledger.token.rotation-due.v1',
  tokenLimitsChanged: 'tokenledger.token.limits-changed.v1',
  tokenUsed: 'tokenledger.token.used.v1',
  tokenRevokeRequested: 'tokenledger.token.revoke-requested.v1',
  anomalyDetected: 'tokenledger.anomaly.detected.v1',
  opsReplayStarted: 'tokenledger.ops.replay-started.v1',
  opsReplayFinished: 'tokenledger.ops.replay-finished.v1',
  opsPolicyChanged: 'tokenledger.ops.policy-changed.v1',
  opsKeyRotated: 'tokenledger.ops.key-rotated.v1',
  opsSigningHalted: 'tokenledger.ops.signing-halted.v1',
  opsBreakGlass: 'tokenledger.ops.break-glass.v1',
  opsWebhookChanged: 'tokenledger.ops.webhook-changed.v1',
} as const;

/** The data schema of each event type (strict: unknown fields are rejected). */
export const EVENT_DATA_SCHEMAS = {
  [EVENT_TYPES.tokenIssued]: tokenIssuedV1Schema,
  [EVENT_TYPES.tokenRotated]: tokenRotatedV1Schema,
  [EVENT_TYPES.tokenRevoked]: tokenRevokedV1Schema,
  [EVENT_TYPES.tokenExpired]: tokenExpiredV1Schema,
  [EVENT_TYPES.tokenIssuanceDenied]: tokenIssuanceDeniedV1Schema,
  [EVENT_TYPES.tokenLeakReported]: tokenLeakReportedV1Schema,
  [EVENT_TYPES.tokenRotationDue]: tokenRotationDueV1Schema,
  [EVENT_TYPES.tokenLimitsChanged]: tokenLimitsChangedV1Schema,
  [EVENT_TYPES.tokenUsed]: tokenUsedV1Schema,
  [EVENT_TYPES.tokenRevokeRequested]: tokenRevokeRequestedV1Schema,
  [EVENT_TYPES.anomalyDetected]: anomalyDetectedV1Schema,
  [EVENT_TYPES.opsReplayStarted]: opsReplayStartedV1Schema,
  [EVENT_TYPES.opsReplayFinished]: opsReplayFinishedV1Schema,
  [EVENT_TYPES.opsPolicyChanged]: opsPolicyChangedV1Schema,
  [EVENT_TYPES.opsKeyRotated]: opsKeyRotatedV1Schema,
  [EVENT_TYPES.opsSigningHalted]: opsSigningHaltedV1Schema,
  [EVENT_TYPES.opsBreakGlass]: opsBreakGlassV1Schema,
  [EVENT_TYPES.opsWebhookChanged]: opsWebhookChangedV1Schema,
} as const;

export type EventType = keyof typeof EVENT_DATA_SCHEMAS;
export type EventData<T extends EventType> = z.infer<(typeof EVENT_DATA_SCHEMAS)[T]>;

/** The topic each event type is produced to. */
export const EVENT_TOPIC = {
  [EVENT_TYPES.tokenIssued]: TOPICS.lifecycle,
  [EVENT_TYPES.tokenRotated]: TOPICS.lifecycle,
  [EVENT_TYPES.tokenRevoked]: TOPICS.lifecycle,
  [EVENT_TYPES.tokenExpired]: TOPICS.lifecycle,
  [EVENT_TYPES.tokenIssuanceDenied]: TOPICS.lifecycle,
  [EVENT_TYPES.tokenLeakReported]: TOPICS.lifecycle,
  // A policy notice of the anomaly app, which may not write tokens.lifecycle (ACL_TABLE).
  [EVENT_TYPES.tokenRotationDue]: TOPICS.anomalies,
  [EVENT_TYPES.tokenLimitsChanged]: TOPICS.lifecycle,
  [EVENT_TYPES.tokenUsed]: TOPICS.usage,
  [EVENT_TYPES.tokenRevokeRequested]: TOPICS.commands,
  [EVENT_TYPES.anomalyDetected]: TOPICS.anomalies,
  [EVENT_TYPES.opsReplayStarted]: TOPICS.opsAudit,
  [EVENT_TYPES.opsReplayFinished]: TOPICS.opsAudit,
  [EVENT_TYPES.opsPolicyChanged]: TOPICS.opsAudit,
  [EVENT_TYPES.opsKeyRotated]: TOPICS.opsAudit,
  [EVENT_TYPES.opsSigningHalted]: TOPICS.opsAudit,
  [EVENT_TYPES.opsBreakGlass]: TOPICS.opsAudit,
  [EVENT_TYPES.opsWebhookChanged]: TOPICS.opsAudit,
} as const satisfies Record<EventType, TopicName>;

export const ALL_EVENT_TYPES = Object.keys(EVENT_DATA_SCHEMAS) as EventType[];

export function isEventType(type: unknown): type is EventType {
  return typeof type === 'string' && Object.hasOwn(EVENT_DATA_SCHEMAS, type);
}
