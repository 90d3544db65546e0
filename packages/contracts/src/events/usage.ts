import { z } from 'zod';
import {
  countrySchema,
  displayPrefixSchema,
  ipAddressSchema,
  jwkThumbprintSchema,
  nameSchema,
  scopeSchema,
  timestampSchema,
  tokenIdSchema,
} from './common';

// Topic tokens.usage.

export const USAGE_REJECTIONS = [
  'revoked',
  'expired',
  'unknown',
  'insufficient-scope',
  'dpop-invalid',
  'rate-limited',
  'credits-exhausted',
] as const;

/**
 * A token was presented to a service. `rejection` is present exactly when outcome is
 * `rejected`. A token that does not exist (`rejection: unknown`) has no tokenId; then the
 * subject is the prefix when known, else the service.
 */
export const tokenUsedV1Schema = z
  .strictObject({
    tokenId: tokenIdSchema.optional(),
    prefix: displayPrefixSchema.optional(),
    service: nameSchema,
    /** What was attempted, e.g. `GET /v1/invoices` or `invoices.read`. */
    operation: z.string().min(1).max(256),
    ip: ipAddressSchema,
    country: countrySchema.optional(),
    userAgent: z.string().max(512).optional(),
    scopesRequested: z.array(scopeSchema).max(100),
    outcome: z.enum(['accepted', 'rejected']),
    rejection: z.enum(USAGE_REJECTIONS).optional(),
    /** Thumbprint of the DPoP key that signed the proof, when one was sent. */
    dpopJkt: jwkThumbprintSchema.optional(),
    at: timestampSchema,
  })
  .superRefine((data, ctx) => {
    if (data.outcome === 'rejected' && data.rejection === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['rejection'],
        message: 'expected a rejection reason when outcome is rejected',
      });
    }
    if (data.outcome === 'accepted' && data.rejection !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['rejection'],
        message: 'unexpected rejection when outcome is accepted',
      });
    }
    if (data.tokenId === undefined && data.rejection !== 'unknown') {
      ctx.addIssue({
        code: 'custom',
        path: ['tokenId'],
        message: 'expected a tokenId unless the token is unknown',
      });
    }
  });

export type TokenUsedV1 = z.infer<typeof tokenUsedV1Schema>;
