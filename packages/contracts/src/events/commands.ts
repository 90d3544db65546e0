import { z } from 'zod';
import {
  actorSchema,
  externalIdSchema,
  labelKeySchema,
  labelValueSchema,
  revocationReasonSchema,
  scopeSchema,
  timestampSchema,
  tokenIdSchema,
  uuidV7Schema,
} from './common';

// Topic tokens.commands.

/** Every given criterion must match (AND); at least one is required. */
export const revokeSelectorSchema = z
  .strictObject({
    ownerId: externalIdSchema.optional(),
    label: z.strictObject({ key: labelKeySchema, value: labelValueSchema }).optional(),
    scope: scopeSchema.optional(),
    issuedBefore: timestampSchema.optional(),
  })
  .refine(
    (selector) => Object.values(selector).some((criterion) => criterion !== undefined),
    'expected at least one of ownerId, label, scope, issuedBefore',
  );

/**
 * Ask the revocation service to revoke one token (tokenId) or every token matching a selector:
 * exactly one of the two. Subject: the tokenId, or for a selector the requester.
 */
export const tokenRevokeRequestedV1Schema = z
  .strictObject({
    tokenId: tokenIdSchema.optional(),
    selector: revokeSelectorSchema.optional(),
    reason: revocationReasonSchema,
    requester: actorSchema,
    /** The anomaly.detected event's anomalyId when an anomaly rule asked for this. */
    anomalyId: uuidV7Schema.optional(),
  })
  .superRefine((data, ctx) => {
    if ((data.tokenId === undefined) === (data.selector === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['tokenId'],
        message: 'expected exactly one of tokenId and selector',
      });
    }
    if (data.reason === 'anomaly' && data.anomalyId === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['anomalyId'],
        message: 'expected an anomalyId when reason is anomaly',
      });
    }
  });

export type RevokeSelector = z.infer<typeof revokeSelectorSchema>;
export type TokenRevokeRequestedV1 = z.infer<typeof tokenRevokeRequestedV1Schema>;
