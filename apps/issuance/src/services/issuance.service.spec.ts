import { FixedClock } from '@tokenledger/contracts';
import type { EventDraft, EventOutbox } from '@tokenledger/messaging-nest';
import type { Tx, UnitOfWork } from '@tokenledger/sql';
import type { IssuanceConfig } from '../config';
import { DEFAULT_POLICY, type Policy } from '../domain/policy';
import type { NewTokenRow, TokensRepository } from '../repositories/tokens.repository';
import { IssuanceService } from './issuance.service';

const TOKEN_ID = '019ad9a0-0000-7000-8000-00000000000a';

/** Records what issue() writes, in a stand-in transaction. */
function harness(policy: Policy = DEFAULT_POLICY) {
  const rows: NewTokenRow[] = [];
  const drafts: EventDraft[] = [];
  const tokens = {
    policy: () => Promise.resolve(policy),
    insertIssued: (row: NewTokenRow) => Promise.resolve(void rows.push(row)),
    savePolicy: () => Promise.resolve(2),
  } as unknown as TokensRepository;
  const outbox = {
    append: (_tx: Tx, d: EventDraft[]) => Promise.resolve(void drafts.push(...d)),
    prepare: (d: EventDraft[]) => {
      drafts.push(...d);
      return { events: [], rows: [] };
    },
    publishSoon: () => undefined,
  } as unknown as EventOutbox;
  const uow = { run: <T>(work: (tx: Tx) => Promise<T>) => work({} as Tx) } as unknown as UnitOfWork;
  const config = {
    TOKEN_PEPPER: Buffer.alloc(32, 7).toString('base64'),
    TOKEN_PREFIX: 'tlk_test',
  } as IssuanceConfig;
  const service = new IssuanceService(
    tokens,
    outbox,
    uow,
    new FixedClock('2026-12-01T12:00:00.000Z'),
    { next: () => TOKEN_ID },
    config,
  );
  return { service, rows, drafts };
}

describe('IssuanceService.issue', () => {
  it('takes the token id from its id source and the issue and expiry times from its clock', async () => {
    const { service, rows, drafts } = harness();
    const issued = await service.issue(
      {
        owner: { type: 'service', id: 'billing' },
        name: 'ci',
        scopes: ['tokens:read'],
        ttlSeconds: 3600,
      },
      { actor: 'system', scopes: ['admin'] },
    );
    expect(issued).toMatchObject({ tokenId: TOKEN_ID, expiresAt: '2026-12-01T13:00:00.000Z' });
    expect(rows).toEqual([
      expect.objectContaining({
        tokenId: TOKEN_ID,
        issuedAt: '2026-12-01T12:00:00.000Z',
        expiresAt: '2026-12-01T13:00:00.000Z',
        issuedBy: 'system',
      }),
    ]);
    expect(drafts).toEqual([
      expect.objectContaining({
        type: 'tokenledger.token.issued.v1',
        data: expect.objectContaining({ tokenId: TOKEN_ID, issuedAt: '2026-12-01T12:00:00.000Z' }),
      }),
    ]);
  });

  it('measures an explicit expiresAt from its clock, not the machine time', async () => {
    const { service } = harness();
    // An hour after the injected clock's now, whatever the machine's time.
    const issued = await service.issue(
      {
        owner: { type: 'service', id: 'billing' },
        name: 'ci',
        scopes: ['tokens:read'],
        expiresAt: '2026-12-01T13:00:00.000Z',
      },
      { actor: 'system', scopes: ['admin'] },
    );
    expect(issued.expiresAt).toBe('2026-12-01T13:00:00.000Z');
    await expect(
      service.issue(
        {
          owner: { type: 'service', id: 'billing' },
          name: 'ci',
          scopes: ['tokens:read'],
          expiresAt: '2026-12-01T11:59:00.000Z',
        },
        { actor: 'system', scopes: ['admin'] },
      ),
    ).rejects.toMatchObject({ code: 'invalid_expiry' });
  });

  const request = {
    owner: { type: 'service' as const, id: 'billing' },
    name: 'ci',
    scopes: ['tokens:read'],
    ttlSeconds: 3600,
  };
  const admin = { actor: 'system', scopes: ['admin'] };

  it('puts the requested limits in the token.issued event and the token row', async () => {
    const { service, rows, drafts } = harness();
    await service.issue(
      { ...request, rateLimit: { limit: 5, windowSeconds: 60 }, credits: { remaining: 3 } },
      admin,
    );
    const limits = { rateLimit: { limit: 5, windowSeconds: 60 }, credits: { remaining: 3 } };
    expect(rows).toEqual([expect.objectContaining(limits)]);
    expect(drafts).toEqual([
      expect.objectContaining({ data: expect.objectContaining(limits) as unknown }),
    ]);
  });

  it('takes the policy default when the request gives none; the root token is never limited', async () => {
    const policy = { ...DEFAULT_POLICY, defaultCredits: { remaining: 10 } };
    const { service, drafts } = harness(policy);
    await service.issue(request, admin);
    expect(drafts[0]?.data).toMatchObject({ credits: { remaining: 10 } });
    const root = harness(policy);
    await root.service.issue(request, admin, { isRoot: true });
    expect(root.drafts[0]?.data).not.toHaveProperty('credits');
  });

  it('refuses limits over the policy maximum: issuance-denied, no token', async () => {
    const { service, rows, drafts } = harness({ ...DEFAULT_POLICY, maxCredits: { remaining: 10 } });
    await expect(
      service.issue({ ...request, credits: { remaining: 11 } }, admin),
    ).rejects.toMatchObject({
      code: 'policy_violation',
      context: { rule: 'max-credits' },
    });
    expect(rows).toEqual([]);
    expect(drafts).toEqual([
      expect.objectContaining({
        type: 'tokenledger.token.issuance-denied.v1',
        data: expect.objectContaining({ rule: 'max-credits' }) as unknown,
      }),
    ]);
  });
});

describe('IssuanceService.setPolicy', () => {
  it('records an optional setting added or removed as changed', async () => {
    const added = harness();
    await added.service.setPolicy(
      { ...DEFAULT_POLICY, defaultCredits: { remaining: 2 } },
      { actor: 'system', scopes: ['admin'] },
    );
    expect(added.drafts[0]?.data).toMatchObject({ changedFields: ['defaultCredits'] });
    const removed = harness({ ...DEFAULT_POLICY, maxRateLimit: { limit: 1, windowSeconds: 1 } });
    await removed.service.setPolicy(DEFAULT_POLICY, { actor: 'system', scopes: ['admin'] });
    expect(removed.drafts[0]?.data).toMatchObject({ changedFields: ['maxRateLimit'] });
  });
});
