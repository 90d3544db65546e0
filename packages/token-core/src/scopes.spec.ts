import {
  InvalidScopeError,
  KNOWN_SCOPES,
  hasScope,
  isValidScope,
  hasScopeForSomeOwner,
  missingScopes,
  normalizeScopes,
  ownerReach,
  reaches,
} from './scopes';

describe('isValidScope', () => {
  it('accepts the known scopes and custom resource:action scopes', () => {
    for (const s of KNOWN_SCOPES) expect(isValidScope(s)).toBe(true);
    for (const s of ['billing:read', 'billing-v2:read-all', 'a:b:c', 'x1:y2'])
      expect(isValidScope(s)).toBe(true);
  });

  it('refuses anything else', () => {
    for (const s of [
      '',
      'billing',
      'Billing:read',
      'billing:',
      ':read',
      'billing:Read',
      '1billing:read',
      'billing read',
      'billing::read',
      'tokens:*',
      '*',
      'root',
      ` admin`,
      `b:${'x'.repeat(200)}`,
      42,
      null,
      undefined,
    ]) {
      expect(isValidScope(s)).toBe(false);
    }
  });
});

describe('hasScope', () => {
  it('needs an exact match, or admin', () => {
    expect(hasScope(['tokens:read'], 'tokens:read')).toBe(true);
    expect(hasScope(['tokens:read'], 'tokens:revoke')).toBe(false);
    expect(hasScope(['tokens'], 'tokens:read')).toBe(false);
    expect(hasScope([], 'tokens:read')).toBe(false);
    expect(hasScope(['admin'], 'ledger:export')).toBe(true);
    expect(hasScope(['admin'], 'billing:read')).toBe(true);
    expect(hasScope(['admin'], 'admin')).toBe(true);
    expect(hasScope(['ledger:read'], 'admin')).toBe(false);
  });

  it('never grants an invalid required scope', () => {
    expect(hasScope(['admin'], 'not a scope')).toBe(false);
    expect(hasScope(['not a scope'], 'not a scope')).toBe(false);
  });
});

describe('missingScopes', () => {
  it('lists what the caller asks to grant but does not hold, deduplicated and sorted', () => {
    expect(missingScopes(['tokens:issue', 'ledger:read'], ['ledger:read'])).toEqual([]);
    expect(
      missingScopes(['tokens:issue'], ['replay:run', 'ledger:read', 'replay:run', 'tokens:issue']),
    ).toEqual(['ledger:read', 'replay:run']);
    expect(missingScopes(['tokens:issue'], ['admin'])).toEqual(['admin']);
    expect(missingScopes([], [])).toEqual([]);
  });

  it('is empty for admin', () => {
    expect(missingScopes(['admin'], ['admin', 'ledger:export', 'billing:read'])).toEqual([]);
  });
});

describe('normalizeScopes', () => {
  it('deduplicates and sorts', () => {
    expect(normalizeScopes(['tokens:read', 'admin', 'tokens:read', 'billing:read'])).toEqual([
      'admin',
      'billing:read',
      'tokens:read',
    ]);
    expect(normalizeScopes([])).toEqual([]);
  });

  it('throws naming the offending scope', () => {
    expect(() => normalizeScopes(['tokens:read', 'Tokens:Write'])).toThrow(InvalidScopeError);
    expect(() => normalizeScopes(['tokens:read', 'Tokens:Write'])).toThrow(/"Tokens:Write"/);
    try {
      normalizeScopes(['bad scope']);
    } catch (e) {
      expect(e).toMatchObject({ code: 'invalid-scope', scope: 'bad scope', retryable: false });
    }
    expect.assertions(3);
  });
});

describe('owner-scoped scopes', () => {
  it('accepts <owner-scopable scope>@<owner id> only', () => {
    for (const s of [
      'tokens:issue@team-a',
      'tokens:read@billing',
      'tokens:revoke@a.b_c-1',
      'anomalies:read@x',
    ])
      expect(isValidScope(s)).toBe(true);
    for (const s of [
      'tokens:issue@',
      '@team-a',
      'tokens:issue@team a',
      'tokens:issue@team-a@b',
      'tokens:issue@team/a',
      'admin@team-a',
      'ledger:read@team-a',
      'billing:read@team-a',
      `tokens:read@${'a'.repeat(65)}`,
    ])
      expect(isValidScope(s)).toBe(false);
    expect(() => normalizeScopes(['tokens:issue@'])).toThrow(InvalidScopeError);
  });

  it('reach: admin or the plain scope reach every owner, owner scopes only the owners named', () => {
    expect(ownerReach(['admin'], 'tokens:read')).toEqual({ all: true });
    expect(ownerReach(['tokens:read', 'tokens:read@a'], 'tokens:read')).toEqual({ all: true });
    const reach = ownerReach(['tokens:read@b', 'tokens:read@a', 'tokens:revoke@c'], 'tokens:read');
    expect(reach).toEqual({ all: false, owners: ['a', 'b'] });
    expect(reaches(reach, 'a')).toBe(true);
    expect(reaches(reach, 'c')).toBe(false);
    expect(ownerReach(['tokens:revoke@c'], 'tokens:read')).toEqual({ all: false, owners: [] });
  });

  it('an owner scope does not hold the plain scope; hasScopeForSomeOwner accepts it for owner-scopable scopes only', () => {
    expect(hasScope(['tokens:read@a'], 'tokens:read')).toBe(false);
    expect(hasScopeForSomeOwner(['tokens:read@a'], 'tokens:read')).toBe(true);
    expect(hasScopeForSomeOwner(['tokens:read@a'], 'tokens:revoke')).toBe(false);
    expect(hasScopeForSomeOwner(['tokens:read@a'], 'ledger:read')).toBe(false);
    expect(hasScopeForSomeOwner(['ledger:read'], 'ledger:read')).toBe(true);
  });
});
