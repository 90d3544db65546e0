import { serviceConfigSchema } from '@tokenledger/service-host';
import { z } from 'zod';

export const issuanceConfigSchema = serviceConfigSchema(4001, 'issuance').extend({
  /** Key of the HMAC-SHA256 under which tokens are stored: base64 of at least 32 random bytes. */
  TOKEN_PEPPER: z
    .string()
    .refine(
      (v) => Buffer.from(v, 'base64').length >= 32,
      'must be base64 of at least 32 bytes (npm start generates one)',
    ),
  TOKEN_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/, 'must look like tlk_live')
    .default('tlk_live'),
  /** Root operator token to register at first start; generated (and printed once) when unset. */
  TOKENLEDGER_ROOT_TOKEN: z.string().optional(),
  /** Where a generated root token is written (mode 0600). */
  ROOT_TOKEN_FILE: z.string().default('.tokenledger/root-token'),
  /**
   * `on`: a generated root token is also printed once on stdout (npm start's terminal). `off`:
   * only written to ROOT_TOKEN_FILE, stdout just names the file (the Docker image: container
   * output ends up in log collectors).
   */
  ROOT_TOKEN_STDOUT: z.enum(['on', 'off']).default('on'),
  /**
   * How long an instance reuses the issuance policy it read (ms). A policy saved through another
   * instance applies here at most this much later; through this one, at once. 0: read every time.
   */
  POLICY_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  /**
   * Issuances in progress at once in this instance, at most; past it POST /v1/tokens answers 503
   * with Retry-After (backpressure instead of an unbounded queue).
   */
  ISSUANCE_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(10_000).default(32),
  /** How often rotation grace ends and expiries are turned into events. */
  SWEEP_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
});

export type IssuanceConfig = z.infer<typeof issuanceConfigSchema>;
