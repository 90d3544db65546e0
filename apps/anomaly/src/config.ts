import { serviceConfigSchema } from '@tokenledger/service-host';
import { z } from 'zod';

export const anomalyConfigSchema = serviceConfigSchema(4003, 'anomaly').extend({
  /** How often the token-sprawl sweep raises stale-token findings. */
  SPRAWL_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).max(86_400_000).default(3_600_000),
  /** How often the webhook worker looks for due deliveries. */
  WEBHOOK_POLL_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  /** Delay after the first failed delivery attempt, doubled after each failure. */
  WEBHOOK_BACKOFF_BASE_MS: z.coerce.number().int().min(10).max(3_600_000).default(5000),
  /** Longest delay between two attempts. */
  WEBHOOK_BACKOFF_MAX_MS: z.coerce.number().int().min(10).max(86_400_000).default(3_600_000),
  /** How long after the first attempt a failing delivery is retried before it is dead-lettered. */
  WEBHOOK_RETRY_WINDOW_MS: z.coerce.number().int().min(0).max(604_800_000).default(86_400_000),
  /** Per-attempt timeout of the POST. */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  /**
   * Rule changes applied at start, before any event is processed, as JSON
   * `{"<rule>": {enabled?, severity?, action?, params?}}`: replays with a known configuration.
   */
  ANOMALY_RULES: z
    .string()
    .optional()
    .refine((v) => {
      if (v === undefined) return true;
      try {
        const parsed: unknown = JSON.parse(v);
        return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
      } catch {
        return false;
      }
    }, 'must be a JSON object of rule updates'),
});

export type AnomalyConfig = z.infer<typeof anomalyConfigSchema>;
