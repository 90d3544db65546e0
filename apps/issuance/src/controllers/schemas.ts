import {
  ACTOR_PATTERN,
  creditsSchema,
  rateLimitSchema,
  labelKeySchema,
  labelValueSchema,
  scopeSchema,
} from '@tokenledger/contracts';
import { isValidScope } from '@tokenledger/token-core';
import { TOKEN_SORTS } from '../repositories/tokens.repository';
import { z } from 'zod';

const ownerSchema = z.strictObject({
  type: z.enum(['user', 'team', 'service']),
  id: z.string().regex(/^[\x21-\x7e]{1,128}$/, 'expected 1-128 printable ASCII characters'),
});

export const issueTokenSchema = z
  .strictObject({
    owner: ownerSchema,
    name: z.string().min(1).max(128),
    scopes: z
      .array(
        z
          .string()
          .refine(
            isValidScope,
            'not a valid scope: expected a known scope, <resource>:<action> in lowercase, or tokens:issue|tokens:read|tokens:revoke|anomalies:read followed by @<owner id> ([A-Za-z0-9._-], at most 64)',
          ),
      )
      .min(1)
      .max(100),
    ttlSeconds: z
      .int()
      .positive()
      .max(10 * 365 * 86400)
      .optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
    labels: z
      // The event's own label schemas: a label the API accepts can always be recorded.
      .record(labelKeySchema, labelValueSchema)
      .refine((l) => Object.keys(l).length <= 50, 'at most 50 labels')
      .optional(),
    dpopJkt: z
      .string()
      .regex(/^[A-Za-z0-9_-]{43}$/, 'expected a base64url SHA-256 JWK thumbprint (RFC 7638)')
      .optional(),
    // The schemas of PUT /v1/tokens/{id}/limits. Absent: the policy's default (or maximum);
    // null: none (refused when the policy has a maximum).
    rateLimit: rateLimitSchema
      .nullable()
      .optional()
      .describe(
        'Uses per fixed window, counted per revocation instance. Absent: the policy default; null: none',
      ),
    credits: creditsSchema
      .nullable()
      .optional()
      .describe(
        'Uses left (optionally refilled), exact across instances. Absent: the policy default; null: none',
      ),
  })
  .refine((b) => !(b.ttlSeconds !== undefined && b.expiresAt !== undefined), {
    message: 'give ttlSeconds or expiresAt, not both',
    path: ['expiresAt'],
  });

export const rotateSchema = z.strictObject({
  graceSeconds: z
    .int()
    .min(0)
    .max(30 * 86400)
    .default(0),
});

const instant = z.iso.datetime({ offset: true, message: 'expected an RFC 3339 timestamp' });
const SORTS = TOKEN_SORTS.flatMap((sort) => [sort, `-${sort}`]) as [string, ...string[]];

/** `GET /v1/tokens`: every given filter must match (AND). */
export const listQuerySchema = z.strictObject({
  ownerId: z.string().min(1).max(128).optional(),
  ownerType: z.enum(['user', 'team', 'service']).optional(),
  /** `key=value` */
  label: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}=.{0,256}$/, 'expected key=value')
    .optional(),
  status: z.enum(['active', 'revoked', 'expired']).optional(),
  scope: scopeSchema.optional(),
  /** Case-insensitive substring of the token's name. */
  name: z.string().min(1).max(128).optional(),
  /** The beginning of the display prefix, e.g. `tlk_live_AbC`. */
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9_]{1,32}$/, 'expected 1-32 characters of [A-Za-z0-9_]')
    .optional(),
  expiresBefore: instant.optional(),
  lastUsedBefore: instant.optional(),
  lastUsedAfter: instant.optional(),
  /** `operator:<tokenId>` or `system`, as in the events' actor. */
  createdBy: z.string().regex(ACTOR_PATTERN, 'expected operator:<tokenId> or system').optional(),
  neverUsed: z
    .enum(['true', 'false'], { message: 'expected true or false' })
    .transform((v) => v === 'true')
    .optional(),
  /** `false`: never replaced by a rotation (with issuedBefore: "unrotated for N days"). */
  rotated: z
    .enum(['true', 'false'], { message: 'expected true or false' })
    .transform((v) => v === 'true')
    .optional(),
  issuedBefore: instant.optional(),
  /** A field, `-` before it for descending; ties are broken by tokenId. Default issuedAt. */
  sort: z.enum(SORTS, { message: `expected one of ${SORTS.join(', ')}` }).default('issuedAt'),
  cursor: z.string().max(512).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const tokenIdParam = z.uuid({ message: 'tokenId must be a UUID' });

export const resolveSchema = z.strictObject({ token: z.string().min(1).max(256) });

// Answers, for the OpenAPI document (checked against real answers in e2e/src/openapi.e2e-spec.ts).

export const issuedTokenSchema = z.object({
  token: z.string().describe('The plaintext: shown in this answer only'),
  tokenId: z.uuid(),
  prefix: z.string(),
  scopes: z.array(z.string()),
  expiresAt: z.iso.datetime({ offset: true }),
});

export const rotatedTokenSchema = issuedTokenSchema.extend({
  rotatedFrom: z.uuid(),
  graceEndsAt: z.iso.datetime({ offset: true }),
});

/** A token's metadata: never the secret, never its hash. */
export const tokenViewSchema = z.object({
  tokenId: z.uuid(),
  prefix: z.string(),
  owner: z.object({ type: z.string(), id: z.string() }),
  name: z.string(),
  scopes: z.array(z.string()),
  labels: z.record(z.string(), z.string()),
  issuedAt: z.iso.datetime({ offset: true }),
  expiresAt: z.iso.datetime({ offset: true }),
  dpopJkt: z.string().optional(),
  rotatedFrom: z.uuid().optional(),
  status: z.enum(['active', 'revoked', 'expired']),
  revokedAt: z.iso.datetime({ offset: true }).optional(),
  revokedReason: z.string().optional(),
  rotatedTo: z.uuid().optional(),
  graceEndsAt: z.iso.datetime({ offset: true }).optional(),
  createdBy: z.string(),
  lastUsedAt: z.iso.datetime({ offset: true }).optional(),
});

export const tokenListSchema = z.object({
  tokens: z.array(tokenViewSchema),
  cursor: z
    .string()
    .nullable()
    .describe('Opaque, bound to its sort: pass as `cursor` for the next page; null on the last'),
});
