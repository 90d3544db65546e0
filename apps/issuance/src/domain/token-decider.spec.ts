import type { TokenIssuedV1 } from '@tokenledger/contracts';
import {
  decide,
  evolve,
  type LifecycleEvent,
  type TokenCommand,
  type TokenState,
} from './token-decider';

const tokenId = '01900000-0000-7000-8000-000000000001';
const issued: TokenIssuedV1 = {
  tokenId,
  prefix: 'tlk_live_AbC1',
  owner: { type: 'service', id: 'billing' },
  name: 'billing-api',
  scopes: ['billing:read'],
  labels: {},
  issuedAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-01-31T00:00:00.000Z',
};

/** given events, when command, then events (emmett-style decider test). */
function given(events: LifecycleEvent[]): { when: (command: TokenCommand) => LifecycleEvent[] } {
  const state = events.reduce<TokenState | undefined>(evolve, undefined);
  return { when: (command) => decide(command, state) };
}

const issuedEvent: LifecycleEvent = { type: 'tokenledger.token.issued.v1', data: issued };

describe('token decider', () => {
  it('issues a new token', () => {
    expect(given([]).when({ type: 'issue', token: issued })).toEqual([issuedEvent]);
  });

  it('refuses to issue the same token twice', () => {
    expect(() => given([issuedEvent]).when({ type: 'issue', token: issued })).toThrow(
      /already exists/,
    );
  });

  it('revokes an active token, and revoking again does nothing', () => {
    const now = new Date('2026-01-02T00:00:00.000Z');
    const revoked = given([issuedEvent]).when({ type: 'revoke', reason: 'requested', now });
    expect(revoked).toEqual([
      {
        type: 'tokenledger.token.revoked.v1',
        data: { tokenId, reason: 'requested', revokedAt: now.toISOString() },
      },
    ]);
    expect(
      given([issuedEvent, ...revoked]).when({ type: 'revoke', reason: 'requested', now }),
    ).toEqual([]);
  });

  it('rotates with a grace period capped at the old token expiry', () => {
    const now = new Date('2026-01-30T23:00:00.000Z');
    const [event] = given([issuedEvent]).when({
      type: 'rotate',
      newTokenId: '01900000-0000-7000-8000-000000000002',
      graceSeconds: 7200,
      now,
    });
    expect(event).toEqual({
      type: 'tokenledger.token.rotated.v1',
      data: {
        tokenId,
        newTokenId: '01900000-0000-7000-8000-000000000002',
        graceSeconds: 7200,
        graceEndsAt: issued.expiresAt,
      },
    });
  });

  it('refuses to rotate a revoked or already rotated token', () => {
    const now = new Date('2026-01-02T00:00:00.000Z');
    const revoked: LifecycleEvent = {
      type: 'tokenledger.token.revoked.v1',
      data: { tokenId, reason: 'requested', revokedAt: now.toISOString() },
    };
    expect(() =>
      given([issuedEvent, revoked]).when({ type: 'rotate', newTokenId: 'x', graceSeconds: 0, now }),
    ).toThrow(/revoked/);
    const rotated: LifecycleEvent = {
      type: 'tokenledger.token.rotated.v1',
      data: {
        tokenId,
        newTokenId: '01900000-0000-7000-8000-000000000002',
        graceSeconds: 60,
        graceEndsAt: now.toISOString(),
      },
    };
    expect(() =>
      given([issuedEvent, rotated]).when({ type: 'rotate', newTokenId: 'y', graceSeconds: 0, now }),
    ).toThrow(/already rotated/);
  });

  it('expires only once the expiry has passed', () => {
    expect(
      given([issuedEvent]).when({ type: 'expire', now: new Date('2026-01-30T00:00:00.000Z') }),
    ).toEqual([]);
    expect(
      given([issuedEvent]).when({ type: 'expire', now: new Date('2026-01-31T00:00:00.000Z') }),
    ).toEqual([
      { type: 'tokenledger.token.expired.v1', data: { tokenId, expiredAt: issued.expiresAt } },
    ]);
  });

  it('names an unknown token', () => {
    expect(() => given([]).when({ type: 'revoke', reason: 'requested', now: new Date() })).toThrow(
      /no such token/,
    );
  });
});
