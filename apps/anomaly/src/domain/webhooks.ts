import { createHmac } from 'node:crypto';
import type { EventEnvelope } from '@tokenledger/contracts';

/**
 * Webhooks (pure parts): Standard Webhooks signatures, subscription filters, the retry schedule
 * and the Slack-compatible body. See docs/design/webhooks.md.
 */

/** The event types a subscription can ask for (all of them when its filter names none). */
export const WEBHOOK_EVENT_TYPES = [
  'tokenledger.anomaly.detected.v1',
  'tokenledger.token.rotation-due.v1',
  'tokenledger.token.revoked.v1',
  'tokenledger.token.expired.v1',
  'tokenledger.token.leak-reported.v1',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export function isWebhookEventType(type: string): type is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(type);
}

const SECRET_PREFIX = 'whsec_';
/** A `whsec_` secret: base64 of 24 to 64 random bytes. */
export const SECRET_PATTERN = /^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/;

/** A new secret in the Standard Webhooks form: `whsec_` + base64 of 32 random bytes. */
export function generateSecret(random: (n: number) => Buffer): string {
  return SECRET_PREFIX + random(32).toString('base64');
}

/** The HMAC key of a `whsec_` secret (the base64 after the prefix). */
export function secretKey(secret: string): Buffer {
  return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
}

/**
 * The `webhook-signature` header value: `v1,` + base64 HMAC-SHA256 over
 * `${msgId}.${timestampSeconds}.${body}` (Standard Webhooks, symmetric signature).
 */
export function sign(
  secret: string,
  msgId: string,
  timestampSeconds: number,
  body: string,
): string {
  const mac = createHmac('sha256', secretKey(secret))
    .update(`${msgId}.${timestampSeconds}.${body}`)
    .digest('base64');
  return `v1,${mac}`;
}

export interface WebhookFilter {
  /** Empty: every type of WEBHOOK_EVENT_TYPES. */
  eventTypes: WebhookEventType[];
  /** anomaly.detected only: the rules to pass (empty: every rule). */
  rules: string[];
  /** anomaly.detected only: the severities to pass (empty: every severity). */
  severities: string[];
  /** `type:id` owners of the token the event is about (empty: every owner). */
  owners: string[];
}

/** What a filter looks at: the event, and the owner of its token when the inventory knows it. */
export interface WebhookSubject {
  type: WebhookEventType;
  rule?: string;
  severity?: string;
  owner?: string;
}

/**
 * MUST match every non-empty dimension. Rules and severities constrain anomaly.detected only;
 * an owner filter drops events about tokens whose owner is unknown.
 */
export function matches(filter: WebhookFilter, s: WebhookSubject): boolean {
  if (filter.eventTypes.length > 0 && !filter.eventTypes.includes(s.type)) return false;
  if (s.type === 'tokenledger.anomaly.detected.v1') {
    if (filter.rules.length > 0 && !filter.rules.includes(s.rule ?? '')) return false;
    if (filter.severities.length > 0 && !filter.severities.includes(s.severity ?? '')) return false;
  }
  if (filter.owners.length > 0 && (s.owner === undefined || !filter.owners.includes(s.owner)))
    return false;
  return true;
}

export interface RetrySchedule {
  /** Delay after the first failed attempt; doubled after each further failure. */
  baseMs: number;
  /** No delay is longer than this. */
  maxMs: number;
  /** Once the next attempt would be later than this after the first one: dead-lettered. */
  windowMs: number;
}

/** 5 s, 10 s, 20 s ... capped at 1 h, for 24 h: about 30 attempts. */
export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = {
  baseMs: 5_000,
  maxMs: 3_600_000,
  windowMs: 86_400_000,
};

/**
 * After `failures` failed attempts (>= 1), the time of the next attempt, or undefined when the
 * delivery is to be dead-lettered (the retry window from `firstAttemptAt` is over).
 */
export function nextAttemptAt(
  schedule: RetrySchedule,
  failures: number,
  firstAttemptAt: number,
  now: number,
): number | undefined {
  const delay = Math.min(schedule.maxMs, schedule.baseMs * 2 ** Math.min(failures - 1, 40));
  const next = now + delay;
  return next - firstAttemptAt > schedule.windowMs ? undefined : next;
}

/** The Standard Webhooks body: `{type, timestamp, data}` with the CloudEvents envelope as data. */
export function standardBody(event: EventEnvelope): string {
  return JSON.stringify({ type: event.type, timestamp: event.time, data: event });
}

/** A Slack incoming-webhook body (`text` in mrkdwn) that names the event without secrets. */
export function slackBody(event: EventEnvelope): string {
  const short = event.type.replace(/^tokenledger\./, '').replace(/\.v\d+$/, '');
  const d = event.data as Record<string, unknown>;
  const parts: string[] = [`*Tokenledger ${short}*`, `token \`${event.subject}\``];
  for (const key of ['rule', 'severity', 'action', 'reason', 'revokeAt', 'summary', 'outcome']) {
    const v = d[key];
    if (typeof v === 'string') parts.push(`${key}: ${v}`);
  }
  parts.push(`at ${event.time} (event ${event.id})`);
  return JSON.stringify({ text: parts.join('\n') });
}
