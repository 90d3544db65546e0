import { planRoot } from './root-bootstrap';

describe('root bootstrap at start', () => {
  it('first start: the env token when set, else a generated one', () => {
    expect(
      planRoot({
        rootsEver: 0,
        activeAdmin: false,
        configured: { from: 'env', alreadyRegistered: false },
      }),
    ).toEqual({ kind: 'first-root', use: 'env' });
    expect(planRoot({ rootsEver: 0, activeAdmin: false, configured: undefined })).toEqual({
      kind: 'first-root',
      use: 'generated',
    });
  });

  it('given an active admin or root, nothing happens, whatever is configured', () => {
    expect(
      planRoot({
        rootsEver: 1,
        activeAdmin: true,
        configured: { from: 'env', alreadyRegistered: false },
      }),
    ).toEqual({ kind: 'nothing' });
  });

  it('given every admin revoked (the revoked root still counted as registered), break-glass with the configured token', () => {
    expect(
      planRoot({
        rootsEver: 1,
        activeAdmin: false,
        configured: { from: 'env', alreadyRegistered: false },
      }),
    ).toEqual({ kind: 'break-glass', use: 'env' });
    expect(
      planRoot({
        rootsEver: 2,
        activeAdmin: false,
        configured: { from: 'file', alreadyRegistered: false },
      }),
    ).toEqual({ kind: 'break-glass', use: 'file' });
  });

  it('given the configured token is the revoked root itself, a fresh one is generated (revoked stays revoked)', () => {
    expect(
      planRoot({
        rootsEver: 1,
        activeAdmin: false,
        configured: { from: 'env', alreadyRegistered: true },
      }),
    ).toEqual({ kind: 'break-glass', use: 'generated' });
  });

  it('given no admin and no configured root token, locked out (no token is made)', () => {
    expect(planRoot({ rootsEver: 1, activeAdmin: false, configured: undefined })).toEqual({
      kind: 'locked-out',
    });
  });
});
