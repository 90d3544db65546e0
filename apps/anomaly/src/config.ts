import { serviceConfigSchema } from '@tokenledger/service-host';
import { z } from 'zod';

export const anomalyConfigSchema = serviceConfigSchema(4003, 'anomaly').extend({
  /** How often the token-sprawl sweep raises stale-token findings. */
  SPRAWL_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).max(86_400_000).default(3_600_000),
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
