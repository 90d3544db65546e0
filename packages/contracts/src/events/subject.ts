import { EVENT_TYPES, type EventData, type EventType } from './registry';

/**
 * The subject an event of this type gets when the producer does not set one. It is also the
 * Kafka key, so it decides which events stay ordered relative to each other:
 * - data with a tokenId: the tokenId (all of one token's events in one partition);
 * - token.issuance-denied: the owner id; token.revoke-requested by selector: the requester;
 * - token.used / token.leak-reported for an unknown token: its prefix, else the service/source;
 * - ops.*: the replayId, policyId, keyId, logId or webhookId acted on.
 */
export function defaultSubject<T extends EventType>(type: T, data: EventData<T>): string {
  // Narrow through a discriminated pair so each branch sees its own data type.
  const event = { type, data } as { [K in EventType]: { type: K; data: EventData<K> } }[EventType];
  switch (event.type) {
    case EVENT_TYPES.tokenIssued:
    case EVENT_TYPES.tokenRotated:
    case EVENT_TYPES.tokenRevoked:
    case EVENT_TYPES.tokenExpired:
    case EVENT_TYPES.anomalyDetected:
    case EVENT_TYPES.opsBreakGlass:
    case EVENT_TYPES.tokenRotationDue:
    case EVENT_TYPES.tokenLimitsChanged:
      return event.data.tokenId;
    case EVENT_TYPES.tokenIssuanceDenied:
      return event.data.requested.owner.id;
    case EVENT_TYPES.tokenLeakReported:
      return event.data.tokenId ?? event.data.prefix ?? event.data.source;
    case EVENT_TYPES.tokenUsed:
      return event.data.tokenId ?? event.data.prefix ?? event.data.service;
    case EVENT_TYPES.tokenRevokeRequested:
      return event.data.tokenId ?? event.data.requester;
    case EVENT_TYPES.opsReplayStarted:
    case EVENT_TYPES.opsReplayFinished:
      return event.data.replayId;
    case EVENT_TYPES.opsPolicyChanged:
      return event.data.policyId;
    case EVENT_TYPES.opsKeyRotated:
      return event.data.keyId;
    case EVENT_TYPES.opsSigningHalted:
      return event.data.logId;
    case EVENT_TYPES.opsWebhookChanged:
      return event.data.webhookId;
  }
}

/** The tokenId an event's data names, if any; when present the subject MUST equal it. */
export function tokenIdOf(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const tokenId = (data as { tokenId?: unknown }).tokenId;
  return typeof tokenId === 'string' ? tokenId : undefined;
}
