import { FixedClock } from '@tokenledger/contracts';
import { rotationByOwner, rotationStatus, type RotationPolicy } from './rotation';

const DAY = 86_400_000;
const clock = new FixedClock('2026-11-27T00:00:00.000Z');
const token = (id: string, ageDays: number, extra: Record<string, unknown> = {}) => ({
  tokenId: id,
  prefix: 'tlk_live_AbC1',
  ownerType: 'service',
  ownerId: 'billing',
  name: 'n',
  issuedAt: new Date(clock.now() - ageDays * DAY),
  expiresAt: new Date(clock.now() + 400 * DAY),
  rotatedAt: null,
  lastUsedAt: null,
  ...extra,
});
const policy: RotationPolicy = { maxAgeDays: 90, rotationReminderDays: 14, owners: [] };

describe('rotation policy', () => {
  it('given a token, when the clock passes the reminder and then the maximum age, it is due then overdue', () => {
    const t = token('a', 70);
    expect(rotationStatus(t, clock.now(), policy).status).toBe('ok');
    clock.advance(6 * DAY); // 76 days: exactly maxAge - reminder
    expect(rotationStatus(t, clock.now(), policy).status).toBe('due');
    clock.advance(14 * DAY - 1);
    expect(rotationStatus(t, clock.now(), policy).status).toBe('due');
    clock.advance(1); // 90 days
    const r = rotationStatus(t, clock.now(), policy);
    expect(r.status).toBe('overdue');
    expect(r.revokeAt).toBe(t.issuedAt.getTime() + 90 * DAY);
  });

  it('leaves rotated tokens and owners outside the policy alone', () => {
    expect(
      rotationStatus(token('a', 100, { rotatedAt: new Date() }), clock.now(), policy).status,
    ).toBe('exempt');
    expect(
      rotationStatus(token('a', 100), clock.now(), { ...policy, owners: ['service:other'] }).status,
    ).toBe('exempt');
    expect(
      rotationStatus(token('a', 100), clock.now(), { ...policy, owners: ['service:billing'] })
        .status,
    ).toBe('overdue');
  });

  it('lists due and overdue tokens per owner', () => {
    const rows = rotationByOwner(
      [
        token('a', 80),
        token('b', 95),
        token('c', 10),
        token('d', 95, { ownerType: 'user', ownerId: 'alice' }),
      ],
      clock.now(),
      policy,
    );
    expect(
      rows.map((r) => [r.owner, r.due.map((t) => t.tokenId), r.overdue.map((t) => t.tokenId)]),
    ).toEqual([
      ['service:billing', ['a'], ['b']],
      ['user:alice', [], ['d']],
    ]);
  });
});
