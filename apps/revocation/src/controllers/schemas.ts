import { LEAK_OUTCOMES, REVOCATION_REASONS, commentSchema } from '@tokenledger/contracts';
import { z } from 'zod';

export const tokenIdParam = z.uuid({ message: 'tokenId must be a UUID' });

/** Reasons an operator may give; `rotated` and `anomaly` are set by the system only. */
const operatorReasons = REVOCATION_REASONS.filter((r) => r !== 'rotated' && r !== 'anomaly') as [
  string,
  ...string[],
];

export const revokeOneSchema = z.strictObject({
  reason: z.enum(operatorReasons).default('requested'),
  /** Why, for auditors: recorded in the token.revoked event (one line, at most 500 characters). */
  comment: commentSchema.optional(),
});

/** RFC 7009 §2.1 form. */
export const rfc7009Schema = z.strictObject({
  token: z.string().min(1).max(512),
  token_type_hint: z.string().max(64).optional(),
});

export const bulkSchema = z.strictObject({
  selector: z
    .strictObject({
      ownerId: z.string().min(1).max(128).optional(),
      label: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}=.{0,256}$/, 'expected key=value')
        .optional(),
      scope: z.string().min(1).max(128).optional(),
      issuedBefore: z.iso.datetime({ offset: true }).optional(),
    })
    .refine(
      (s) => Object.keys(s).length > 0,
      'give at least one of ownerId, label, scope, issuedBefore',
    ),
  reason: z.enum(operatorReasons).default('bulk'),
  /** Recorded in every token.revoked event of this request. */
  comment: commentSchema.optional(),
  dryRun: z.boolean().default(false),
});

/** GitHub secret-scanning partner program: an array of found secrets. */
export const leaksSchema = z
  .array(
    z.strictObject({
      token: z.string().min(1).max(512),
      type: z.string().min(1).max(128),
      url: z.string().max(2048),
      source: z.string().min(1).max(128),
    }),
  )
  .min(1)
  .max(1000);

/**
 * A GitHub secret-scanning partner delivery: a JSON array of `{token, type, url, source}`
 * (docs.github.com, "Secret scanning partner program"). Fields GitHub may add are ignored.
 */
export const githubLeaksSchema = z
  .array(
    z.object({
      token: z.string().min(1).max(512),
      type: z.string().min(1).max(128),
      url: z.string().max(2048).default(''),
      source: z.string().min(1).max(64).optional(),
    }),
  )
  .min(1)
  .max(1000);

/** RFC 7662 §2.1 form, plus what the resource server saw (for DPoP and the usage event). */
export const introspectSchema = z.strictObject({
  token: z.string().min(1).max(512),
  token_type_hint: z.string().max(64).optional(),
  htm: z
    .string()
    .regex(/^[A-Z]{1,16}$/, 'expected an HTTP method')
    .optional(),
  htu: z.url().max(2048).optional(),
  service: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,63}$/, 'expected 1-63 characters of [A-Za-z0-9._-]')
    .optional(),
  operation: z.string().min(1).max(256).optional(),
  ip: z.union([z.ipv4(), z.ipv6()]).optional(),
  scope: z.string().max(2048).optional(),
});

/** Internal operator auth; scheme, proof, htm and htu as the calling app's guard saw them. */
export const authenticateSchema = z.strictObject({
  token: z.string().min(1).max(512),
  scheme: z.enum(['Bearer', 'DPoP']).optional(),
  proof: z.string().min(1).max(8192).optional(),
  htm: z.string().min(1).max(16).optional(),
  htu: z.string().min(1).max(2048).optional(),
});

// Answers, for the OpenAPI document (checked against real answers in e2e/src/openapi.e2e-spec.ts).

export const revokedSchema = z.object({
  tokenId: z.uuid(),
  revoked: z.boolean(),
  alreadyInactive: z.boolean(),
});

export const emptySchema = z.object({}).describe('RFC 7009 §2.2: the same whether or not known');

export const bulkResultSchema = z.object({
  matched: z.int().min(0),
  revoked: z.int().min(0),
  tokenIds: z.array(z.uuid()),
});

export const leakResultsSchema = z.object({
  results: z.array(
    z.object({
      prefix: z.string().optional(),
      tokenId: z.uuid().optional(),
      outcome: z.enum([...LEAK_OUTCOMES, 'malformed']),
    }),
  ),
});

/** RFC 7662 §2.2: every member for an active token, exactly `{ "active": false }` otherwise. */
export const introspectionAnswerSchema = z.union([
  z.object({
    active: z.literal(false),
    /** An extension member (RFC 7662 §2.2): why a known token is refused by its limits. */
    tokenledger_reason: z.enum(['rate_limited', 'credits_exhausted']).optional(),
  }),
  z.object({
    active: z.literal(true),
    scope: z.string(),
    client_id: z.string(),
    sub: z.string(),
    exp: z.int(),
    iat: z.int(),
    token_type: z.enum(['Bearer', 'DPoP']),
    cnf: z.object({ jkt: z.string() }).optional(),
  }),
]);

export const rebuildResultSchema = z.object({
  replayId: z.string(),
  events: z.int().min(0),
  tokens: z.int().min(0),
});
