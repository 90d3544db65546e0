import { z } from 'zod';
import { nameSchema, timestampSchema, uuidV7Schema } from './common';

// Topic ops.audit: operator actions that are not about one token. Subject (and Kafka key) is the
// id of the thing acted on: replayId, policyId or keyId.

const topicSchema = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'expected a Kafka topic name');
/** Kafka offsets are int64: decimal strings, so they survive JSON. */
const offsetSchema = z
  .string()
  .regex(/^(?:0|[1-9][0-9]{0,18})$/, 'expected a decimal Kafka offset');

export const opsReplayStartedV1Schema = z.strictObject({
  replayId: uuidV7Schema,
  topic: topicSchema,
  /** Omitted: every partition. */
  partitions: z.array(z.int().min(0)).min(1).optional(),
  fromOffset: offsetSchema.optional(),
  toOffset: offsetSchema.optional(),
  /** What is being rebuilt, e.g. a projection name or a replay topic. */
  target: z.string().min(1).max(256),
  reason: z.string().min(1).max(512).optional(),
  startedAt: timestampSchema,
});

export const opsReplayFinishedV1Schema = z
  .strictObject({
    replayId: uuidV7Schema,
    outcome: z.enum(['completed', 'failed', 'cancelled']),
    recordsReplayed: z.int().min(0),
    finishedAt: timestampSchema,
    error: z.string().min(1).max(1024).optional(),
  })
  .superRefine((data, ctx) => {
    if (data.error !== undefined && data.outcome !== 'failed') {
      ctx.addIssue({
        code: 'custom',
        path: ['error'],
        message: 'unexpected error unless outcome is failed',
      });
    }
  });

export const opsPolicyChangedV1Schema = z.strictObject({
  policyId: nameSchema,
  version: z.int().min(1),
  /** Names of the policy settings that changed, e.g. `maxTtlSeconds`. */
  changedFields: z.array(z.string().min(1).max(128)).min(1).max(100),
  /** SHA-256 (hex) of the RFC 8785 canonical JSON of the new policy document. */
  policyDigest: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters')
    .optional(),
  changedAt: timestampSchema,
});

export const KEY_PURPOSES = ['checkpoint-signing', 'token-pepper'] as const;

/**
 * A key was rotated. MUST NOT carry private keys or pepper bytes: ids only, plus the public
 * verifier key (C2SP note verifier `name+hash+base64` form) for signing keys.
 */
export const opsKeyRotatedV1Schema = z.strictObject({
  keyId: nameSchema,
  purpose: z.enum(KEY_PURPOSES),
  previousKeyId: nameSchema.optional(),
  verifierKey: z
    .string()
    .regex(
      /^[^\s+]{1,256}\+[0-9a-f]{8}\+[A-Za-z0-9+/]+={0,2}$/,
      'expected a note verifier key name+hash+base64',
    )
    .optional(),
  rotatedAt: timestampSchema,
});

/** Why the ledger stopped signing a log (docs/design/ledger.md, "The signer guard"). */
export const SIGNING_HALT_REASONS = [
  'smaller-than-published',
  'inconsistent-with-published',
] as const;

/**
 * Critical: the ledger refused to sign a log whose stored tree does not extend the largest
 * checkpoint it ever published (learned outside its database: the checkpoints topic or a witness).
 * The stored log was truncated or rewritten. Sizes only: no hashes, no keys.
 */
export const opsSigningHaltedV1Schema = z.strictObject({
  logId: z.string().regex(/^[A-Za-z0-9._-]{1,260}$/, 'expected a log id <topic>-<partition>'),
  severity: z.literal('critical'),
  reason: z.enum(SIGNING_HALT_REASONS),
  /** Size of the largest published checkpoint of the log. */
  publishedSize: z.int().min(0),
  /** Size of the stored tree the ledger refused to sign. */
  headSize: z.int().min(0),
  /** Where that checkpoint was learned: `ledger.checkpoints`, `witness:<name>` or `this-process`. */
  source: z.string().min(1).max(300),
  haltedAt: timestampSchema,
});

/**
 * Break-glass: issuance found no active admin token at start and registered a new root token
 * (scope `admin`) from the configured root token. Ids only, never the token.
 */
export const opsBreakGlassV1Schema = z.strictObject({
  /** The new root token. */
  tokenId: uuidV7Schema,
  /** Where the new root's plaintext came from. */
  rootTokenFrom: z.enum(['env', 'file', 'generated']),
  /** Root tokens registered before, none of them active any more. */
  previousRootIds: z.array(uuidV7Schema).max(100),
  reason: z.literal('no-active-admin'),
  at: timestampSchema,
});

export type OpsBreakGlassV1 = z.infer<typeof opsBreakGlassV1Schema>;

/**
 * A webhook subscription was created or deleted. MUST NOT carry the signing secret or the full
 * URL (its path or query may hold credentials): the origin only.
 */
export const opsWebhookChangedV1Schema = z.strictObject({
  webhookId: uuidV7Schema,
  change: z.enum(['created', 'deleted']),
  urlOrigin: z.string().regex(/^https?:\/\/[^/?#\s]{1,300}$/, 'expected an http(s) origin'),
  eventTypes: z.array(z.string().min(1).max(128)).max(50),
  format: z.enum(['standard', 'slack']),
  changedAt: timestampSchema,
});

export type OpsReplayStartedV1 = z.infer<typeof opsReplayStartedV1Schema>;
export type OpsReplayFinishedV1 = z.infer<typeof opsReplayFinishedV1Schema>;
export type OpsPolicyChangedV1 = z.infer<typeof opsPolicyChangedV1Schema>;
export type OpsKeyRotatedV1 = z.infer<typeof opsKeyRotatedV1Schema>;
export type OpsSigningHaltedV1 = z.infer<typeof opsSigningHaltedV1Schema>;
export type OpsWebhookChangedV1 = z.infer<typeof opsWebhookChangedV1Schema>;
