import { FixedClock } from '@tokenledger/contracts';
import type { EventDraft, EventOutbox } from '@tokenledger/messaging-nest';
import type { Tx, UnitOfWork } from '@tokenledger/sql';
import type { IssuanceConfig } from '../config';
import { DEFAULT_POLICY } from '../domain/policy';
import type { NewTokenRow, TokensRepository } from '../repositories/tokens.repository';
import { IssuanceService } from './issuance.service';

const TOKEN_ID = '019ad9a0-0000-7000-8000-00000000000a';

/** Records what issue() writes, in a stand-in transaction. */
function harness() {
  const rows: NewTokenRow[] = [];
  const drafts: EventDraft[] = [];
  const tokens = {
    policy: () => Promise.resolve(DEFAULT_POLICY),
    insertIssued: (row: NewTokenRow) => Promise.resolve(void rows.push(row)),
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
});
