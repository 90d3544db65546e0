import { z } from 'zod';
import { eventIdSchema, nameSchema, timestampSchema, tokenIdSchema, uuidV7Schema } from './common';

// Topic anomalies.

export const ANOMALY_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

export const anomalyDetectedV1Schema = z.strictObject({
  anomalyId: uuidV7Schema,
  rule: nameSchema,
  severity: z.enum(ANOMALY_SEVERITIES),
  tokenId: tokenIdSchema,
  /** Ids of the events (usually token.used) that triggered the rule. */
  evidence: z.array(eventIdSchema).min(1).max(1000),
  /** `revoke`: a token.revoke-requested command with this anomalyId was emitted as well. */
  action: z.enum(['alert', 'revoke']),
  detectedAt: timestampSchema,
  summary: z.string().min(1).max(1024).optional(),
});

export type AnomalyDetectedV1 = z.infer<typeof anomalyDetectedV1Schema>;
