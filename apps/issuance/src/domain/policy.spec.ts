import {
  DEFAULT_POLICY,
  checkPolicy,
  creditsWithin,
  limitsFor,
  policySchema,
  rateLimitWithin,
  type Policy,
} from './policy';

const owner = { type: 'service' as const, id: 'billing' };

describe('issuance policy', () => {
  it('allows an admin any scope within the maximum TTL', () => {
    expect(
      checkPolicy(DEFAULT_POLICY, { owner, scopes: ['ledger:export'], ttlSeconds: 3600 }, [
        'admin',
      ]),
    ).toEqual({ ok: true });
  });

  it('names max-ttl when the TTL is above the maximum', () => {
    const decision = checkPolicy(
      DEFAULT_POLICY,
      { owner, scopes: ['ledger:read'], ttlSeconds: 91 * 86400 },
      ['admin'],
    );
    expect(decision).toMatchObject({ ok: false, rule: 'max-ttl' });
  });

  it('names scope-escalation when a non-admin grants a scope it lacks', () => {
    const decision = checkPolicy(
      DEFAULT_POLICY,
      { owner, scopes: ['ledger:read', 'ledger:export'], ttlSeconds: 60 },
      ['tokens:issue', 'ledger:read'],
    );
    expect(decision).toEqual({
      ok: false,
      rule: 'scope-escalation',
      message: expect.stringContaining('ledger:export'),
    });
  });

  it('applies owner scope rules and DPoP requirements', () => {
    const policy: Policy = {
      ...DEFAULT_POLICY,
      ownerScopes: [{ owner: { type: 'service' }, scopes: ['billing:read'] }],
      dpopRequiredScopes: ['billing:read'],
    };
    expect(
      checkPolicy(policy, { owner, scopes: ['billing:write'], ttlSeconds: 60 }, ['admin']),
    ).toMatchObject({ rule: 'owner-scopes' });
    expect(
      checkPolicy(policy, { owner, scopes: ['billing:read'], ttlSeconds: 60 }, ['admin']),
    ).toMatchObject({ rule: 'dpop-required' });
    const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
    expect(
      checkPolicy(policy, { owner, scopes: ['billing:read'], ttlSeconds: 60, dpopJkt: jkt }, [
        'admin',
      ]),
    ).toEqual({ ok: true });
  });

  it('rejects a policy whose default TTL exceeds its maximum', () => {
    expect(
      policySchema.safeParse({ ...DEFAULT_POLICY, defaultTtlSeconds: 100, maxTtlSeconds: 10 })
        .success,
    ).toBe(false);
  });
});

describe('limits at issue time', () => {
  const rate = (limit: number, windowSeconds: number) => ({ limit, windowSeconds });
  const withPolicy = (extra: Partial<Policy>): Policy => ({ ...DEFAULT_POLICY, ...extra });

  it('takes the request, else the default, else the maximum; null asks for none', () => {
    expect(limitsFor(DEFAULT_POLICY, {})).toEqual({ ok: true, limits: {} });
    expect(
      limitsFor(DEFAULT_POLICY, { rateLimit: rate(5, 60), credits: { remaining: 3 } }),
    ).toEqual({ ok: true, limits: { rateLimit: rate(5, 60), credits: { remaining: 3 } } });
    const policy = withPolicy({
      defaultRateLimit: rate(10, 60),
      defaultCredits: { remaining: 100 },
      maxCredits: { remaining: 1000 },
    });
    expect(limitsFor(policy, {})).toEqual({
      ok: true,
      limits: { rateLimit: rate(10, 60), credits: { remaining: 100 } },
    });
    expect(limitsFor(policy, { rateLimit: rate(2, 1), credits: { remaining: 7 } })).toEqual({
      ok: true,
      limits: { rateLimit: rate(2, 1), credits: { remaining: 7 } },
    });
    // No maximum for the rate limit: null removes the default.
    expect(limitsFor(policy, { rateLimit: null })).toEqual({
      ok: true,
      limits: { credits: { remaining: 100 } },
    });
    // A maximum without a default: a request without limits gets the maximum, never none.
    expect(limitsFor(withPolicy({ maxRateLimit: rate(50, 60) }), {})).toEqual({
      ok: true,
      limits: { rateLimit: rate(50, 60) },
    });
  });

  it('names max-rate-limit for a looser rate limit, or none, under a maximum', () => {
    const policy = withPolicy({ maxRateLimit: rate(100, 60) });
    expect(limitsFor(policy, { rateLimit: rate(100, 60) })).toMatchObject({ ok: true });
    expect(limitsFor(policy, { rateLimit: rate(10, 60) })).toMatchObject({ ok: true });
    expect(limitsFor(policy, { rateLimit: rate(101, 60) })).toEqual({
      ok: false,
      rule: 'max-rate-limit',
      message: 'rate limit of 101 per 60 s exceeds the policy maximum of 100 per 60 s',
    });
    // Same window count but a shorter window: more uses per second.
    expect(limitsFor(policy, { rateLimit: rate(100, 30) })).toMatchObject({
      ok: false,
      rule: 'max-rate-limit',
    });
    // The same average rate over a longer window allows a bigger burst.
    expect(limitsFor(policy, { rateLimit: rate(200, 120) })).toMatchObject({
      ok: false,
      rule: 'max-rate-limit',
    });
    expect(limitsFor(policy, { rateLimit: null })).toEqual({
      ok: false,
      rule: 'max-rate-limit',
      message: 'a rate limit is required by the policy (at most 100 per 60 s)',
    });
  });

  it('names max-credits for more credits, a refill the maximum lacks, or a faster refill', () => {
    const policy = withPolicy({
      maxCredits: { remaining: 1000, refill: { amount: 1000, intervalSeconds: 86400 } },
    });
    expect(limitsFor(policy, { credits: { remaining: 1000 } })).toMatchObject({ ok: true });
    expect(
      limitsFor(policy, {
        credits: { remaining: 10, refill: { amount: 10, intervalSeconds: 3600 } },
      }),
    ).toMatchObject({ ok: true });
    expect(limitsFor(policy, { credits: { remaining: 1001 } })).toEqual({
      ok: false,
      rule: 'max-credits',
      message:
        '1001 credits without refill exceed the policy maximum of 1000 credits refilled to 1000 every 86400 s',
    });
    expect(
      limitsFor(policy, {
        credits: { remaining: 10, refill: { amount: 1000, intervalSeconds: 3600 } },
      }),
    ).toMatchObject({ ok: false, rule: 'max-credits' });
    expect(limitsFor(policy, { credits: null })).toMatchObject({
      ok: false,
      rule: 'max-credits',
      message: expect.stringContaining('credits are required by the policy') as string,
    });
    const noRefill = withPolicy({ maxCredits: { remaining: 50 } });
    expect(
      limitsFor(noRefill, {
        credits: { remaining: 5, refill: { amount: 5, intervalSeconds: 60 } },
      }),
    ).toMatchObject({ ok: false, rule: 'max-credits' });
  });

  it('checks both limits: the rate limit first', () => {
    const policy = withPolicy({ maxRateLimit: rate(1, 1), maxCredits: { remaining: 1 } });
    expect(limitsFor(policy, { rateLimit: rate(2, 1), credits: { remaining: 2 } })).toMatchObject({
      ok: false,
      rule: 'max-rate-limit',
    });
    expect(limitsFor(policy, { credits: { remaining: 2 } })).toMatchObject({
      ok: false,
      rule: 'max-credits',
    });
  });

  it('a stored policy without limits still parses; a default looser than its maximum is refused', () => {
    expect(policySchema.safeParse(DEFAULT_POLICY).success).toBe(true);
    const loose = policySchema.safeParse({
      ...DEFAULT_POLICY,
      defaultRateLimit: rate(10, 1),
      maxRateLimit: rate(10, 60),
    });
    expect(loose.success ? [] : loose.error.issues.map((i) => i.message)).toEqual([
      'defaultRateLimit must be within maxRateLimit',
    ]);
    const credits = policySchema.safeParse({
      ...DEFAULT_POLICY,
      defaultCredits: { remaining: 11 },
      maxCredits: { remaining: 10 },
    });
    expect(credits.success ? [] : credits.error.issues.map((i) => i.message)).toEqual([
      'defaultCredits must be within maxCredits',
    ]);
    const bad = policySchema.safeParse({ ...DEFAULT_POLICY, maxCredits: { remaining: -1 } });
    expect(bad.success).toBe(false);
  });

  it('creditsWithin: no more at once, and no refill faster than the maximum', () => {
    const max = { remaining: 5, refill: { amount: 10, intervalSeconds: 3600 } };
    expect(creditsWithin({ remaining: 5 }, max)).toBe(true);
    expect(creditsWithin({ remaining: 6 }, max)).toBe(false);
    expect(creditsWithin({ remaining: 1, refill: { amount: 5, intervalSeconds: 1800 } }, max)).toBe(
      true,
    );
    expect(creditsWithin({ remaining: 1, refill: { amount: 6, intervalSeconds: 1800 } }, max)).toBe(
      false,
    );
    expect(rateLimitWithin(rate(1, 1), rate(1, 1))).toBe(true);
  });
});
