import {
  creditsSchema,
  rateLimitSchema,
  type Credits,
  type RateLimit,
} from '@tokenledger/contracts';
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
    /** The rate limit of a token whose issue request gives none. */
    defaultRateLimit: rateLimitSchema.optional(),
    /**
     * No token is issued with a looser rate limit (see rateLimitWithin), nor without one: a
     * request that gives none and meets no default gets this one.
     */
    maxRateLimit: rateLimitSchema.optional(),
    /** The credits of a token whose issue request gives none. */
    defaultCredits: creditsSchema.optional(),
    /** No token is issued with more credits (see creditsWithin), nor without credits. */
    maxCredits: creditsSchema.optional(),
  })
  .refine((p) => p.defaultTtlSeconds <= p.maxTtlSeconds, {
    message: 'defaultTtlSeconds must not exceed maxTtlSeconds',
    path: ['defaultTtlSeconds'],
  })
  .refine(
    (p) =>
      !p.defaultRateLimit || !p.maxRateLimit || rateLimitWithin(p.defaultRateLimit, p.maxRateLimit),
    {
      message: 'defaultRateLimit must be within maxRateLimit',
      path: ['defaultRateLimit'],
    },
  )
  .refine(
    (p) => !p.defaultCredits || !p.maxCredits || creditsWithin(p.defaultCredits, p.maxCredits),
    {
      message: 'defaultCredits must be within maxCredits',
      path: ['defaultCredits'],
    },
  );

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

/**
 * Whether `limit` allows no more than `max`: at most `max.limit` uses in one window, and no more
 * uses per second on average (limit / windowSeconds).
 */
export function rateLimitWithin(limit: RateLimit, max: RateLimit): boolean {
  return (
    limit.limit <= max.limit && limit.limit * max.windowSeconds <= max.limit * limit.windowSeconds
  );
}

/**
 * Whether `credits` allow no more uses than `max`: no more at once, and a refill only when `max`
 * has one, refilling no more at once and no more per second on average.
 */
export function creditsWithin(credits: Credits, max: Credits): boolean {
  if (credits.remaining > max.remaining) return false;
  if (!credits.refill) return true;
  if (!max.refill) return false;
  return (
    credits.refill.amount <= max.refill.amount &&
    credits.refill.amount * max.refill.intervalSeconds <=
      max.refill.amount * credits.refill.intervalSeconds
  );
}

/** What an issue request says of limits: absent (use the policy's), a setting, or null (none). */
export interface RequestedLimits {
  rateLimit?: RateLimit | null;
  credits?: Credits | null;
}

export interface IssueLimits {
  rateLimit?: RateLimit;
  credits?: Credits;
}

export type LimitsDecision =
  | { ok: true; limits: IssueLimits }
  | { ok: false; rule: 'max-rate-limit' | 'max-credits'; message: string };

const describeRate = (r: RateLimit): string => `${r.limit} per ${r.windowSeconds} s`;
const describeCredits = (c: Credits): string =>
  c.refill
    ? `${c.remaining} credits refilled to ${c.refill.amount} every ${c.refill.intervalSeconds} s`
    : `${c.remaining} credits without refill`;

/**
 * The limits a new token gets: each one from the request, else the policy's default, else the
 * policy's maximum (so that a policy with a maximum never issues an unlimited token); `null` in
 * the request asks for none. Rules: `max-rate-limit`, `max-credits` (a request looser than the
 * maximum, or asking for none while there is one).
 */
export function limitsFor(policy: Policy, requested: RequestedLimits): LimitsDecision {
  const rateLimit =
    requested.rateLimit === undefined
      ? (policy.defaultRateLimit ?? policy.maxRateLimit)
      : (requested.rateLimit ?? undefined);
  const credits =
    requested.credits === undefined
      ? (policy.defaultCredits ?? policy.maxCredits)
      : (requested.credits ?? undefined);
  const maxRate = policy.maxRateLimit;
  if (maxRate && !(rateLimit && rateLimitWithin(rateLimit, maxRate)))
    return {
      ok: false,
      rule: 'max-rate-limit',
      message: rateLimit
        ? `rate limit of ${describeRate(rateLimit)} exceeds the policy maximum of ${describeRate(maxRate)}`
        : `a rate limit is required by the policy (at most ${describeRate(maxRate)})`,
    };
  const maxCredits = policy.maxCredits;
  if (maxCredits && !(credits && creditsWithin(credits, maxCredits)))
    return {
      ok: false,
      rule: 'max-credits',
      message: credits
        ? `${describeCredits(credits)} exceed the policy maximum of ${describeCredits(maxCredits)}`
        : `credits are required by the policy (at most ${describeCredits(maxCredits)})`,
    };
  return {
    ok: true,
    limits: { ...(rateLimit ? { rateLimit } : {}), ...(credits ? { credits } : {}) },
  };
}
