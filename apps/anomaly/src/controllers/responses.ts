import { z } from 'zod';
import { RULE_NAMES } from '../domain/rules';

// Answers, for the OpenAPI document (checked against real answers in e2e/src/openapi.e2e-spec.ts).

const severity = z.enum(['low', 'medium', 'high', 'critical']);

export const anomalySchema = z.object({
  id: z.uuid(),
  rule: z.string(),
  severity,
  tokenId: z.uuid(),
  action: z.string(),
  evidence: z.array(z.string()).describe('ids of the events that triggered it'),
  detectedAt: z.iso.datetime({ offset: true }),
  summary: z.string(),
});

export const anomalyListSchema = z.object({
  anomalies: z.array(anomalySchema),
  cursor: z.string().nullable(),
});

export const ruleSchema = z.object({
  rule: z.enum(RULE_NAMES),
  enabled: z.boolean(),
  severity,
  action: z.enum(['alert', 'revoke']),
  params: z.record(z.string(), z.unknown()),
});

export const rulesSchema = z.object({ rules: z.array(ruleSchema) });

export const sprawlSchema = z.object({
  tokens: z.array(
    z.object({
      tokenId: z.uuid(),
      prefix: z.string(),
      owner: z.string(),
      name: z.string(),
      issuedAt: z.iso.datetime({ offset: true }),
      expiresAt: z.iso.datetime({ offset: true }),
      ageDays: z.number(),
      lastUsedAt: z.iso.datetime({ offset: true }).nullable(),
      neverUsed: z.boolean(),
      pastMaxAge: z.boolean(),
      unrotated: z.boolean(),
      stale: z.boolean(),
    }),
  ),
  /** Per owner, the tokens due and overdue under the rotation policy (owners with neither: none). */
  rotation: z.array(
    z.object({
      owner: z.string(),
      due: z.array(z.object({ tokenId: z.uuid(), prefix: z.string(), revokeAt: z.string() })),
      overdue: z.array(z.object({ tokenId: z.uuid(), prefix: z.string(), revokeAt: z.string() })),
    }),
  ),
});

export const rebuildSchema = z.object({
  replayId: z.string(),
  events: z.int().min(0),
  findings: z.int().min(0),
});

export const acceptedSchema = z.object({ accepted: z.int().min(0) });
