import { DEFAULT_POLICY, checkPolicy, policySchema, type Policy } from './policy';

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
