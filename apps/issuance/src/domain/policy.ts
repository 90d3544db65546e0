import { hasScope, missingScopes } from '@tokenledger/token-core';
import { z } from 'zod';

const ownerSelector = z.strictObject({
  type: z.enum(['user', 'team', 'service']).optional(),
  id: z.string().min(1).max(128).optional(),
});

/** Issuance policy, as stored and as `PUT /v1/policies` accepts it. */
export const policySchema = z
  .strictObject({
    defaultTtlSeconds: z
      .int()
      .positive()
      .max(10 * 365 * 86400),
    maxTtlSeconds: z
      .int()
      .positive()
      .max(10 * 365 * 86400),
    /** When rules match an owner, the union of their scopes is all that owner may be granted. */
    ownerScopes: z
      .array(
        z.strictObject({
          owner: ownerSelector,
          scopes: z.array(z.string().min(1).max(128)).min(1),
        }),
      )
      .max(1000),
    /** Tokens holding any of these scopes must be DPoP-bound. */
    dpopRequiredScopes: z.array(z.string().min(1).max(128)).max(100),
  })
  .refine((p) => p.defaultTtlSeconds <= p.maxTtlSeconds, {
    message: 'defaultTtlSeconds must not exceed maxTtlSeconds',
    path: ['defaultTtlSeconds'],
  });

export type Policy = z.infer<typeof policySchema>;

export const DEFAULT_POLICY: Policy = {
  defaultTtlSeconds: 30 * 86400,
  maxTtlSeconds: 90 * 86400,
  ownerScopes: [],
  dpopRequiredScopes: [],
};

export interface IssueRequest {
  owner: { type: 'user' | 'team' | 'service'; id: string };
  scopes: string[];
  ttlSeconds: number;
  dpopJkt?: string;
}

export type PolicyDecision = { ok: true } | { ok: false; rule: string; message: string };

/**
 * Checks a request against the policy and the caller's own scopes. Rules, in order:
 * `max-ttl`, `scope-escalation` (a non-admin caller may only grant scopes it holds),
 * `owner-scopes`, `dpop-required`.
 */
export function checkPolicy(
  policy: Policy,
  request: IssueRequest,
  callerScopes: readonly string[],
): PolicyDecision {
  if (request.ttlSeconds > policy.maxTtlSeconds) {
    return {
      ok: false,
      rule: 'max-ttl',
      message: `ttl of ${request.ttlSeconds} s exceeds the policy maximum of ${policy.maxTtlSeconds} s`,
    };
  }
  const escalated = missingScopes(callerScopes, request.scopes);
  if (escalated.length > 0) {
    return {
      ok: false,
      rule: 'scope-escalation',
      message: `the caller cannot grant scopes it does not hold: ${escalated.join(', ')}`,
    };
  }
  const rules = policy.ownerScopes.filter(
    (r) =>
      (r.owner.type === undefined || r.owner.type === request.owner.type) &&
      (r.owner.id === undefined || r.owner.id === request.owner.id),
  );
  if (rules.length > 0) {
    const allowed = rules.flatMap((r) => r.scopes);
    const outside = request.scopes.filter((s) => !hasScope(allowed, s));
    if (outside.length > 0) {
      return {
        ok: false,
        rule: 'owner-scopes',
        message: `scopes not allowed for ${request.owner.type} ${request.owner.id}: ${outside.join(', ')}`,
      };
    }
  }
  const needsDpop = request.scopes.filter((s) => policy.dpopRequiredScopes.includes(s));
  if (needsDpop.length > 0 && !request.dpopJkt) {
    return {
      ok: false,
      rule: 'dpop-required',
      message: `scopes ${needsDpop.join(', ')} require a DPoP-bound token (dpopJkt)`,
    };
  }
  return { ok: true };
}
