import { z } from 'zod';
import {
  commentSchema,
  displayPrefixSchema,
  externalIdSchema,
  jwkThumbprintSchema,
  labelsSchema,
  nameSchema,
  ownerSchema,
  revocationReasonSchema,
  scopeSchema,
  shortTextSchema,
  timestampSchema,
  tokenIdSchema,
} from './common';

export const rateLimitSchema = z.strictObject({
  limit: z.int().min(1).max(1_000_000_000),
  windowSeconds: z.int().min(1).max(86_400),
});

export const creditsSchema = z.strictObject({
  /** Uses left; each accepted introspection spends one. */
  remaining: z.int().min(0).max(1_000_000_000),
  /** When set, `remaining` is reset to `refill.amount` every `refill.intervalSeconds`. */
  refill: z
    .strictObject({
      amount: z.int().min(1).max(1_000_000_000),
      intervalSeconds: z.int().min(60).max(31_536_000),
    })
    .optional(),
});

// Topic tokens.lifecycle. Subject (and Kafka key) = data.tokenId wherever the data has one.

export const tokenIssuedV1Schema = z
  .strictObject({
    tokenId: tokenIdSchema,
    prefix: displayPrefixSchema,
    owner: ownerSchema,
    name: z.string().min(1).max(128),
    scopes: z.array(scopeSchema).min(1).max(100),
    labels: labelsSchema,
    expiresAt: timestampSchema,
    issuedAt: timestampSchema,
    /** RFC 9449 DPoP binding (`cnf.jkt`). */
    dpopJkt: jwkThumbprintSchema.optional(),
    policyId: nameSchema.optional(),
    /** Set when this token replaces another one (see token.rotated). */
    rotatedFrom: tokenIdSchema.optional(),
    /**
     * Usage limits from the issue request or the issuance policy (added after v1 first shipped:
     * absent means none). Later changes are token.limits-changed events.
     */
    rateLimit: rateLimitSchema.optional(),
    credits: creditsSchema.optional(),
  })
  .superRefine((data, ctx) => {
    if (Date.parse(data.expiresAt) <= Date.parse(data.issuedAt)) {
      ctx.addIssue({
        code: 'custom',
        path: ['expiresAt'],
        message: 'expected expiresAt after issuedAt',
      });
    }
    if (data.rotatedFrom === data.tokenId) {
      ctx.addIssue({
        code: 'custom',
        path: ['rotatedFrom'],
        message: 'a token cannot replace itself',
      });
    }
  });

export const tokenRotatedV1Schema = z
  .strictObject({
    /** The old token; it stays valid until graceEndsAt. */
    tokenId: tokenIdSchema,
    newTokenId: tokenIdSchema,
    graceSeconds: z.int().min(0).max(31_536_000),
    graceEndsAt: timestampSchema,
  })
  .superRefine((data, ctx) => {
    if (data.newTokenId === data.tokenId) {
      ctx.addIssue({
        code: 'custom',
        path: ['newTokenId'],
        message: 'expected a token other than tokenId',
      });
    }
  });

export const tokenRevokedV1Schema = z.strictObject({
  tokenId: tokenIdSchema,
  reason: revocationReasonSchema,
  revokedAt: timestampSchema,
  /** The request (HTTP request id or token.revoke-requested event id) that led here. */
  requestId: externalIdSchema.optional(),
  /** Why, in the words of the operator who revoked it (optional; added after v1 first shipped). */
  comment: commentSchema.optional(),
});

export const tokenExpiredV1Schema = z.strictObject({
  tokenId: tokenIdSchema,
  expiredAt: timestampSchema,
});

/** No token exists, so no tokenId: subject is the owner id (`requested.owner.id`). */
export const tokenIssuanceDeniedV1Schema = z.strictObject({
  /** The policy rule that refused the request. */
  rule: nameSchema,
  requested: z.strictObject({
    owner: ownerSchema,
    scopes: z.array(scopeSchema).max(100),
    ttlSeconds: z.int().positive().optional(),
  }),
  message: shortTextSchema,
});

export const LEAK_OUTCOMES = ['revoked', 'already-inactive', 'unknown'] as const;

/**
 * A leaked token was reported (secret scanner, human). The report carries the prefix and the
 * tokenId once resolved, never the leaked secret itself. Without a tokenId the subject is the
 * prefix when known, else the reporting source.
 */
export const tokenLeakReportedV1Schema = z
  .strictObject({
    tokenId: tokenIdSchema.optional(),
    prefix: displayPrefixSchema.optional(),
    /** Who reported it, e.g. `github-secret-scanning`. */
    source: nameSchema,
    /** Where it was found. */
    url: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
    /** The reporter's classification, e.g. `tokenledger_live_token`. */
    type: nameSchema.optional(),
    outcome: z.enum(LEAK_OUTCOMES),
  })
  .superRefine((data, ctx) => {
    if (data.outcome !== 'unknown' && data.tokenId === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['tokenId'],
        message: `expected a tokenId when outcome is ${data.outcome}`,
      });
    }
  });

/**
 * A token nears the maximum age of the rotation policy (the anomaly app's `rotation-policy`
 * rule): rotate it before `revokeAt` or it is revoked with reason `policy`. Raised once per token.
 */
export const tokenRotationDueV1Schema = z.strictObject({
  tokenId: tokenIdSchema,
  issuedAt: timestampSchema,
  /** When the token reaches maxAgeDays and is revoked unless rotated. */
  revokeAt: timestampSchema,
  maxAgeDays: z.number().positive().max(36_500),
  rotationReminderDays: z.number().min(0).max(36_500),
  dueAt: timestampSchema,
});

/**
 * The usage limits of a token were set or reset by an operator (limits given at issue time are
 * in token.issued). `null` removes a limit. Counters are not events: only the settings and
 * resets are.
 */
export const tokenLimitsChangedV1Schema = z.strictObject({
  tokenId: tokenIdSchema,
  rateLimit: rateLimitSchema.nullable(),
  credits: creditsSchema.nullable(),
  changedAt: timestampSchema,
});

export type TokenIssuedV1 = z.infer<typeof tokenIssuedV1Schema>;
export type TokenRotatedV1 = z.infer<typeof tokenRotatedV1Schema>;
export type TokenRevokedV1 = z.infer<typeof tokenRevokedV1Schema>;
export type TokenExpiredV1 = z.infer<typeof tokenExpiredV1Schema>;
export type TokenIssuanceDeniedV1 = z.infer<typeof tokenIssuanceDeniedV1Schema>;
export type TokenLeakReportedV1 = z.infer<typeof tokenLeakReportedV1Schema>;
export type TokenRotationDueV1 = z.infer<typeof tokenRotationDueV1Schema>;
export type TokenLimitsChangedV1 = z.infer<typeof tokenLimitsChangedV1Schema>;
export type RateLimit = z.infer<typeof rateLimitSchema>;
export type Credits = z.infer<typeof creditsSchema>;
