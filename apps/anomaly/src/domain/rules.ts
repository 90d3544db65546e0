import { z } from 'zod';

export const RULE_NAMES = [
  'revoked-token-use',
  'expired-token-use',
  'new-network',
  'rate-spike',
  'scope-probing',
  'dormant-reactivation',
  'impossible-travel',
  'dpop-mismatch',
  'leaked',
  'stale-token',
  'rotation-policy',
] as const;

export type RuleName = (typeof RULE_NAMES)[number];
export type Severity = 'low' | 'medium' | 'high' | 'critical';

const positive = z.number().positive().max(1e9);

/** Each rule's thresholds, with defaults. */
export const ruleParamSchemas = {
  'revoked-token-use': z.strictObject({}),
  'expired-token-use': z.strictObject({}),
  'new-network': z.strictObject({ warmupUses: z.int().min(0).max(100_000).default(5) }),
  'rate-spike': z.strictObject({
    bucketSeconds: z.int().min(1).max(86_400).default(60),
    /** EWMA smoothing of the per-bucket count and its variance. */
    alpha: z.number().gt(0).lte(1).default(0.3),
    deviations: positive.default(3),
    /** A bucket below this count never fires, whatever the baseline. */
    floor: z.int().min(1).default(30),
    /** Buckets of history needed before the rule can fire. */
    minBuckets: z.int().min(1).max(10_000).default(3),
    /** How many buckets before the current one the baseline looks at. */
    historyBuckets: z.int().min(1).max(1440).default(60),
  }),
  'scope-probing': z.strictObject({
    threshold: z.int().min(1).max(10_000).default(5),
    windowSeconds: z.int().min(1).max(86_400).default(300),
  }),
  'dormant-reactivation': z.strictObject({ days: positive.default(30) }),
  'impossible-travel': z.strictObject({ minutes: positive.default(60) }),
  'dpop-mismatch': z.strictObject({}),
  leaked: z.strictObject({}),
  /** Token sprawl (scheduled sweep, wall clock): unused, too old, never rotated. */
  'stale-token': z.strictObject({
    staleAfterDays: positive.default(30),
    maxAgeDays: positive.default(90),
    rotateAfterDays: positive.default(90),
  }),
  /**
   * Rotation policy (scheduled sweep, wall clock): `token.rotation-due` once a token is within
   * rotationReminderDays of maxAgeDays; at maxAgeDays, with action `revoke`, a revoke request
   * with reason `policy`. Rotated tokens are left alone (their grace period ends them). Days
   * may be fractional. `owners` (`type:id`) limits the policy to those owners' tokens.
   */
  'rotation-policy': z
    .strictObject({
      maxAgeDays: positive.default(90),
      rotationReminderDays: z.number().min(0).max(1e9).default(14),
      owners: z.array(z.string().min(3).max(300)).max(1000).default([]),
    })
    .refine((p) => p.rotationReminderDays < p.maxAgeDays, {
      message: 'rotationReminderDays must be less than maxAgeDays',
      path: ['rotationReminderDays'],
    }),
} satisfies Record<RuleName, z.ZodType>;

export type RuleParams = { [R in RuleName]: z.infer<(typeof ruleParamSchemas)[R]> };

export interface RuleConfig<R extends RuleName = RuleName> {
  rule: R;
  enabled: boolean;
  severity: Severity;
  action: 'alert' | 'revoke';
  params: RuleParams[R];
}

export type RuleSet = { [R in RuleName]: RuleConfig<R> };

const defaults: Record<
  RuleName,
  { severity: Severity; action: 'alert' | 'revoke'; enabled?: boolean }
> = {
  'revoked-token-use': { severity: 'critical', action: 'alert' },
  'expired-token-use': { severity: 'high', action: 'alert' },
  'new-network': { severity: 'medium', action: 'alert' },
  'rate-spike': { severity: 'high', action: 'alert' },
  'scope-probing': { severity: 'high', action: 'alert' },
  'dormant-reactivation': { severity: 'medium', action: 'alert' },
  'impossible-travel': { severity: 'high', action: 'alert' },
  'dpop-mismatch': { severity: 'critical', action: 'revoke' },
  leaked: { severity: 'critical', action: 'revoke' },
  'stale-token': { severity: 'low', action: 'alert' },
  // Opt-in: revoking tokens by age is a decision for the operator.
  'rotation-policy': { severity: 'medium', action: 'revoke', enabled: false },
};

export function defaultRules(): RuleSet {
  const entries = RULE_NAMES.map((rule) => [
    rule,
    { rule, enabled: true, ...defaults[rule], params: ruleParamSchemas[rule].parse({}) },
  ]);
  return Object.fromEntries(entries) as RuleSet;
}

/** `PUT /v1/anomaly-rules/{rule}` body. */
export const ruleUpdateSchema = z.strictObject({
  enabled: z.boolean().optional(),
  severity: z.enum(['low', 'medium', 'high', 'critical']).optional(),
  action: z.enum(['alert', 'revoke']).optional(),
  params: z.record(z.string(), z.unknown()).optional(),
});

/** Applies an update to a rule; params are validated against the rule's own schema. */
export function updateRule<R extends RuleName>(
  current: RuleConfig<R>,
  update: z.infer<typeof ruleUpdateSchema>,
): RuleConfig<R> {
  const params = update.params
    ? (ruleParamSchemas[current.rule].parse({
        ...current.params,
        ...update.params,
      }) as RuleParams[R])
    : current.params;
  return {
    ...current,
    ...(update.enabled !== undefined ? { enabled: update.enabled } : {}),
    ...(update.severity ? { severity: update.severity } : {}),
    ...(update.action ? { action: update.action } : {}),
    params,
  };
}
