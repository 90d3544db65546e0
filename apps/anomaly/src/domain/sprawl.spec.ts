import { DEFAULT_SPRAWL_POLICY, classify, toCsv } from './sprawl';

const now = Date.parse('2026-11-27T00:00:00.000Z');
const days = (n: number): Date => new Date(now - n * 86_400_000);
const base = {
  tokenId: 't',
  prefix: 'tlk_live_AbC1',
  ownerType: 'service',
  ownerId: 'billing',
  name: 'a,b "c"',
  expiresAt: days(-10),
  rotatedAt: null,
  lastUsedAt: null,
};

describe('sprawl classification', () => {
  it('flags never used, stale, past max age and unrotated; a fresh, used token is clean', () => {
    expect(classify({ ...base, issuedAt: days(100) }, now, DEFAULT_SPRAWL_POLICY)).toMatchObject({
      neverUsed: true,
      stale: true,
      pastMaxAge: true,
      unrotated: true,
    });
    expect(
      classify({ ...base, issuedAt: days(10), lastUsedAt: days(1) }, now, DEFAULT_SPRAWL_POLICY),
    ).toMatchObject({ neverUsed: false, stale: false, pastMaxAge: false, unrotated: false });
    expect(
      classify(
        { ...base, issuedAt: days(100), lastUsedAt: days(1), rotatedAt: days(5) },
        now,
        DEFAULT_SPRAWL_POLICY,
      ),
    ).toMatchObject({ stale: false, pastMaxAge: true, unrotated: false });
  });

  it('writes RFC 4180 CSV with quoting', () => {
    const csv = toCsv([classify({ ...base, issuedAt: days(1) }, now, DEFAULT_SPRAWL_POLICY)]);
    expect(csv.split('\r\n')[0]).toBe(
      'tokenId,prefix,owner,name,issuedAt,expiresAt,ageDays,lastUsedAt,neverUsed,pastMaxAge,unrotated,stale',
    );
    expect(csv).toContain('"a,b ""c"""');
  });
});
