import type { LimitsRepository } from '../repositories/limits.repository';
import type { StatusRepository, TokenStatus } from '../repositories/status.repository';
import type { CredentialRecord, IssuanceClient } from './issuance-client';
import { StatusSource } from './status-source';

const TOKEN_ID = '019ac1e2-3b4c-7d5e-8f60-123456789abc';

function record(status: CredentialRecord['status'] = 'active'): CredentialRecord {
  return {
    tokenId: TOKEN_ID,
    prefix: 'tlk_live_AbC',
    owner: { type: 'service', id: 'svc' },
    scopes: ['a:read'],
    labels: {},
    issuedAt: '2026-12-01T12:00:00.000Z',
    expiresAt: '2026-12-02T12:00:00.000Z',
    status,
  };
}

/** An in-memory projection with the repository's conflict rule (first writer wins). */
function projection() {
  const rows = new Map<string, TokenStatus>();
  const adopted: string[] = [];
  /** The order of writes: `limits:<id>` and `status:<id>`. */
  const writes: string[] = [];
  const limitRows = new Map<string, Pick<CredentialRecord, 'rateLimit' | 'credits'>>();
  const limits = {
    insertIssued: (r: CredentialRecord) => {
      if (!r.rateLimit && !r.credits) return Promise.resolve(false);
      writes.push(`limits:${r.tokenId}`);
      if (limitRows.has(r.tokenId)) return Promise.resolve(false);
      limitRows.set(r.tokenId, { rateLimit: r.rateLimit, credits: r.credits });
      return Promise.resolve(true);
    },
  } as unknown as LimitsRepository;
  const repository = {
    find: (id: string) => Promise.resolve(rows.get(id)),
    adopt: (r: CredentialRecord) => {
      adopted.push(r.tokenId);
      writes.push(`status:${r.tokenId}`);
      if (!rows.has(r.tokenId))
        rows.set(r.tokenId, {
          tokenId: r.tokenId,
          prefix: r.prefix,
          owner: r.owner,
          scopes: r.scopes,
          issuedAt: new Date(r.issuedAt),
          expiresAt: new Date(r.expiresAt),
          dpopJkt: null,
          status: 'active',
          revokedAt: null,
        });
      return Promise.resolve();
    },
  } as unknown as StatusRepository;
  return { repository, rows, adopted, limits, limitRows, writes };
}

function issuance(answer: CredentialRecord | undefined) {
  const asked: string[] = [];
  const client = {
    lookup: (id: string) => {
      asked.push(id);
      return Promise.resolve(answer);
    },
  } as unknown as IssuanceClient;
  return { client, asked };
}

describe('StatusSource', () => {
  it('answers from the projection without asking issuance when the token is projected', async () => {
    const p = projection();
    const i = issuance(record());
    await p.repository.adopt(record());
    const source = new StatusSource(p.repository, i.client, p.limits);
    await expect(source.find(TOKEN_ID)).resolves.toMatchObject({ status: 'active' });
    expect(i.asked).toHaveLength(0);
  });

  it('adopts an active token that the projection has not seen yet, from the record given', async () => {
    const p = projection();
    const i = issuance(undefined);
    const source = new StatusSource(p.repository, i.client, p.limits);
    await expect(source.find(TOKEN_ID, record())).resolves.toMatchObject({
      tokenId: TOKEN_ID,
      status: 'active',
    });
    expect(p.adopted).toEqual([TOKEN_ID]);
    expect(i.asked).toHaveLength(0);
  });

  it('asks issuance by tokenId when no record is given', async () => {
    const p = projection();
    const i = issuance(record());
    const source = new StatusSource(p.repository, i.client, p.limits);
    await expect(source.find(TOKEN_ID)).resolves.toMatchObject({ status: 'active' });
    expect(i.asked).toEqual([TOKEN_ID]);
    expect(p.rows.has(TOKEN_ID)).toBe(true);
  });

  it('answers a token issuance sees as revoked as revoked, without adopting it', async () => {
    const p = projection();
    const source = new StatusSource(p.repository, issuance(undefined).client, p.limits);
    await expect(source.find(TOKEN_ID, record('revoked'))).resolves.toMatchObject({
      status: 'revoked',
    });
    expect(p.adopted).toHaveLength(0);
  });

  it('keeps the state the consumer wrote when it got there first (a revocation included)', async () => {
    const p = projection();
    await p.repository.adopt(record());
    const row = p.rows.get(TOKEN_ID);
    if (row) row.status = 'revoked';
    const source = new StatusSource(p.repository, issuance(record()).client, p.limits);
    await expect(source.find(TOKEN_ID, record())).resolves.toMatchObject({ status: 'revoked' });
  });

  it('unknown to both: undefined', async () => {
    const p = projection();
    const source = new StatusSource(p.repository, issuance(undefined).client, p.limits);
    await expect(source.find(TOKEN_ID)).resolves.toBeUndefined();
  });

  it('ignores a record for another tokenId', async () => {
    const p = projection();
    const other = { ...record(), tokenId: '019ac1e2-3b4c-7d5e-8f60-000000000000' };
    const source = new StatusSource(p.repository, issuance(other).client, p.limits);
    await expect(source.find(TOKEN_ID)).resolves.toBeUndefined();
    expect(p.adopted).toHaveLength(0);
  });

  it('adopts the limits the token was issued with, before its status row', async () => {
    const p = projection();
    const limited = {
      ...record(),
      rateLimit: { limit: 5, windowSeconds: 60 },
      credits: { remaining: 3 },
    };
    const source = new StatusSource(p.repository, issuance(undefined).client, p.limits);
    await expect(source.find(TOKEN_ID, limited)).resolves.toMatchObject({ status: 'active' });
    expect(p.writes).toEqual([`limits:${TOKEN_ID}`, `status:${TOKEN_ID}`]);
    expect(p.limitRows.get(TOKEN_ID)).toEqual({
      rateLimit: { limit: 5, windowSeconds: 60 },
      credits: { remaining: 3 },
    });
    // Projected now: no second adoption, the limits are not written again.
    await source.find(TOKEN_ID, limited);
    expect(p.writes).toHaveLength(2);
  });

  it('writes no limits for a revoked record, nor for a record without limits', async () => {
    const p = projection();
    const source = new StatusSource(p.repository, issuance(undefined).client, p.limits);
    await source.find(TOKEN_ID, { ...record('revoked'), credits: { remaining: 3 } });
    expect(p.limitRows.size).toBe(0);
    await source.find(TOKEN_ID, record());
    expect(p.writes).toEqual([`status:${TOKEN_ID}`]);
  });
});
