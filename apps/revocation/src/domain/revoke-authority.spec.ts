import { DomainError } from '@tokenledger/errors';
import { assertMayRevoke, revokeReach, scopesLackedFor } from './revoke-authority';

function refusal(fn: () => void): DomainError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('who may revoke what', () => {
  const revoker = { scopes: ['tokens:revoke'] };

  it('given tokens:revoke only, when the target is an admin (or root) token, then 403 naming admin', () => {
    const error = refusal(() => assertMayRevoke(revoker, [{ scopes: ['admin'] }]));
    expect(error.code).toBe('insufficient_scope');
    expect(error.context).toEqual({ lacked: ['admin'], refused: 1 });
    expect(error.message).toContain('admin');
  });

  it('given tokens:revoke only, when the target holds another scope, then refused too', () => {
    expect(scopesLackedFor(revoker, ['billing:read', 'tokens:revoke'])).toEqual(['billing:read']);
    expect(() => assertMayRevoke(revoker, [{ scopes: ['billing:read'] }])).toThrow(DomainError);
  });

  it('given the target holds only scopes the caller has, then allowed', () => {
    expect(() =>
      assertMayRevoke({ scopes: ['tokens:revoke', 'billing:read'] }, [
        { scopes: ['billing:read'] },
      ]),
    ).not.toThrow();
    expect(() => assertMayRevoke(revoker, [{ scopes: [] }])).not.toThrow();
  });

  it('given admin, then every token may be revoked, admin and root included', () => {
    expect(() =>
      assertMayRevoke({ scopes: ['admin'] }, [{ scopes: ['admin'] }, { scopes: ['x:y'] }]),
    ).not.toThrow();
  });

  it('given a system command, then no scope check', () => {
    expect(() => assertMayRevoke('system', [{ scopes: ['admin'] }])).not.toThrow();
  });

  it('a bulk selector with some forbidden matches is refused as a whole, counting them', () => {
    const error = refusal(() =>
      assertMayRevoke(
        { scopes: ['tokens:revoke', 'billing:read'] },
        [{ scopes: ['billing:read'] }, { scopes: ['admin'] }, { scopes: ['ledger:read', 'admin'] }],
        'selector',
      ),
    );
    expect(error.context).toEqual({ lacked: ['admin', 'ledger:read'], refused: 2 });
    expect(error.message).toMatch(/^2 of the 3 matching tokens/);
    expect(
      refusal(() => assertMayRevoke(revoker, [{ scopes: ['admin'] }], 'selector')).message,
    ).toMatch(/^1 of the 1 matching tokens/);
  });

  it('reach: tokens:revoke@team-a reaches team-a only; tokens:revoke, admin and system reach all', () => {
    expect(revokeReach({ scopes: ['tokens:revoke@team-a', 'tokens:read@team-b'] })).toEqual({
      all: false,
      owners: ['team-a'],
    });
    expect(revokeReach({ scopes: ['tokens:revoke'] })).toEqual({ all: true });
    expect(revokeReach({ scopes: ['admin'] })).toEqual({ all: true });
    expect(revokeReach('system')).toEqual({ all: true });
  });
});
