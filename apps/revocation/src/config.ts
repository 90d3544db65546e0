import { serviceConfigSchema } from '@tokenledger/service-host';
import { z } from 'zod';
import { GithubSignatureVerifier, type GithubPublicKey } from './domain/github-signature';

const githubKeySchema = z.object({
  key_identifier: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'expected a key identifier'),
  key: z.string().min(1).max(4096),
});

/**
 * GitHub's secret-scanning public keys: the JSON of `GET https://api.github.com/meta/public_keys/secret_scanning`
 * (`{"public_keys":[{"key_identifier","key",...}]}`) or just its array. Each key is checked here.
 */
const githubKeysSchema = z
  .string()
  .default('[]')
  .transform((text, ctx): GithubPublicKey[] => {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expected JSON' });
      return z.NEVER;
    }
    const list =
      json && typeof json === 'object' && 'public_keys' in json ? json.public_keys : json;
    const parsed = z.array(githubKeySchema).max(32).safeParse(list);
    if (!parsed.success) {
      ctx.addIssue({
        code: 'custom',
        message: `expected [{"key_identifier","key"}]: ${parsed.error.issues[0]?.message ?? ''}`,
      });
      return z.NEVER;
    }
    try {
      new GithubSignatureVerifier(parsed.data);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
    return parsed.data.map(({ key_identifier, key }) => ({ key_identifier, key }));
  });

export const revocationConfigSchema = serviceConfigSchema(4002, 'revocation').extend({
  /** The issuance app, which resolves a presented token to its tokenId (it alone holds the hashes). */
  ISSUANCE_URL: z.url().default('http://127.0.0.1:4001'),
  /** How long another instance may serve a cached status: revocations bite everywhere within this. */
  STATUS_CACHE_MS: z.coerce.number().int().min(0).max(1000).default(500),
  /** How long "issuance does not know this token" is trusted (docs/design/freshness.md). */
  NEGATIVE_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  /** How many such misses are kept (least recently recorded go first). */
  NEGATIVE_CACHE_ENTRIES: z.coerce.number().int().min(1).max(1_000_000).default(50_000),
  /** Credential lookups at issuance in flight at once, and how many may wait; more get 503. */
  ISSUANCE_LOOKUP_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(16),
  ISSUANCE_LOOKUP_QUEUE: z.coerce.number().int().min(0).max(100_000).default(2_000),
  /**
   * Credit leases (docs/design/controls.md): the most credits of one token an instance takes ahead
   * of its uses, at most 0.1 % of the balance. 0: every credit is spent by a statement when used.
   */
  CREDIT_LEASE_MAX: z.coerce.number().int().min(0).max(1000).default(1000),
  /** Serve POST /v1/bench/baseline (for `npm run bench:introspect` only). */
  BENCH_BASELINE_ROUTE: z.stringbool().default(false),
  /**
   * `best-effort` (default): an introspection's token.used event is sent in the background, after
   * the answer (a crash can lose it). `required`: the answer waits until Kafka acknowledged the
   * event (acks=all), and is a 503 when it cannot be within USAGE_AUDIT_TIMEOUT_MS.
   */
  USAGE_AUDIT: z.enum(['best-effort', 'required']).default('best-effort'),
  USAGE_AUDIT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(2_000),
  /** DPoP proofs older than this are refused (RFC 9449 iat window). */
  DPOP_MAX_AGE_SECONDS: z.coerce.number().int().min(1).max(3600).default(300),
  /**
   * Public keys whose signatures make a `POST /v1/leaks` a GitHub secret-scanning partner
   * delivery (no operator token). Empty: such deliveries get 401.
   */
  GITHUB_SECRET_SCANNING_KEYS: githubKeysSchema,
});

export type RevocationConfig = z.infer<typeof revocationConfigSchema>;
