import { FixedClock } from '@tokenledger/contracts';
import { generateToken } from '@tokenledger/token-core';
import type { RevocationConfig } from '../config';
import { CredentialResolver } from './credential-resolver';
import type { CredentialRecord, IssuanceClient } from './issuance-client';

const TOKEN_ID = '019ac1e2-3b4c-7d5e-8f60-123456789abc';

function record(tokenId = TOKEN_ID): CredentialRecord {
  return {
    tokenId,
    prefix: 'tlk_live_AbC',
    owner: { type: 'service', id: 'svc' },
    scopes: ['a:read'],
    labels: {},
    issuedAt: '2026-12-01T12:00:00.000Z',
    expiresAt: '2026-12-02T12:00:00.000Z',
    status: 'active',
  };
}

/** A stand-in issuance that holds the given tokens and counts (or holds back) its answers. */
function fakeIssuance(held = new Map<string, string>()) {
  const asked: string[] = [];
  let gate: Promise<void> = Promise.resolve();
  const client = {
    resolve: async (token: string) => {
      asked.push(token);
      await gate;
      const tokenId = held.get(token);
      return tokenId ? { tokenId, record: record(tokenId) } : undefined;
    },
  } as unknown as IssuanceClient;
  return {
    client,
    asked,
    held,
    hold: () => {
      let open!: () => void;
      gate = new Promise((r) => (open = r));
      return open;
    },
  };
}

const config = { NEGATIVE_CACHE_MS: 1000, NEGATIVE_CACHE_ENTRIES: 100 } as RevocationConfig;

describe('CredentialResolver', () => {
  it('does not ask issuance about a malformed token', async () => {
    const issuance = fakeIssuance();
    const resolver = new CredentialResolver(issuance.client, config, new FixedClock(0));
    await expect(resolver.resolve('tlk_live_nope')).resolves.toBeUndefined();
    expect(issuance.asked).toHaveLength(0);
  });

  it('asks once per known token and hands the record only with the answer that fetched it', async () => {
    const token = generateToken();
    const issuance = fakeIssuance(new Map([[token, TOKEN_ID]]));
    const resolver = new CredentialResolver(issuance.client, config, new FixedClock(0));
    await expect(resolver.resolve(token)).resolves.toEqual({
      tokenId: TOKEN_ID,
      record: record(),
    });
    await expect(resolver.resolve(token)).resolves.toEqual({ tokenId: TOKEN_ID });
    expect(issuance.asked).toHaveLength(1);
  });

  it('serves a repeated unknown token from the negative cache until its TTL passes', async () => {
    const clock = new FixedClock(0);
    const issuance = fakeIssuance();
    const resolver = new CredentialResolver(issuance.client, config, clock);
    const random = generateToken();
    for (let i = 0; i < 5; i++) await expect(resolver.resolve(random)).resolves.toBeUndefined();
    expect(issuance.asked).toHaveLength(1);
    clock.advance(1000);
    await resolver.resolve(random);
    expect(issuance.asked).toHaveLength(2);
  });

  it('keeps at most NEGATIVE_CACHE_ENTRIES misses, however many random tokens come', async () => {
    const issuance = fakeIssuance();
    const resolver = new CredentialResolver(issuance.client, config, new FixedClock(0));
    for (let i = 0; i < 250; i++) await resolver.resolve(generateToken());
    expect(resolver.negativeEntries).toBe(100);
  });

  it('a cached miss does not hide a token issued after it (another token, another key)', async () => {
    const issuance = fakeIssuance();
    const resolver = new CredentialResolver(issuance.client, config, new FixedClock(0));
    await expect(resolver.resolve(generateToken())).resolves.toBeUndefined();
    const fresh = generateToken();
    issuance.held.set(fresh, TOKEN_ID); // issued after the miss was cached
    await expect(resolver.resolve(fresh)).resolves.toMatchObject({ tokenId: TOKEN_ID });
  });

  it('a token that issuance answered for is never taken as unknown again', async () => {
    const clock = new FixedClock(0);
    const token = generateToken();
    const issuance = fakeIssuance(new Map([[token, TOKEN_ID]]));
    const resolver = new CredentialResolver(issuance.client, config, clock);
    await resolver.resolve(token);
    issuance.held.clear();
    clock.advance(10_000);
    await expect(resolver.resolve(token)).resolves.toEqual({ tokenId: TOKEN_ID });
  });

  it('concurrent lookups of one token share one request to issuance', async () => {
    const token = generateToken();
    const issuance = fakeIssuance(new Map([[token, TOKEN_ID]]));
    const open = issuance.hold();
    const resolver = new CredentialResolver(issuance.client, config, new FixedClock(0));
    const answers = Promise.all(Array.from({ length: 20 }, () => resolver.resolve(token)));
    open();
    expect((await answers).every((a) => a?.tokenId === TOKEN_ID)).toBe(true);
    expect(issuance.asked).toHaveLength(1);
  });

  it('a failed lookup caches nothing: the next call asks again', async () => {
    const token = generateToken();
    let fail = true;
    const asked: string[] = [];
    const client = {
      resolve: (t: string) => {
        asked.push(t);
        return fail
          ? Promise.reject(new Error('issuance down'))
          : Promise.resolve({ tokenId: TOKEN_ID, record: record() });
      },
    } as unknown as IssuanceClient;
    const resolver = new CredentialResolver(client, config, new FixedClock(0));
    await expect(resolver.resolve(token)).rejects.toThrow('issuance down');
    fail = false;
    await expect(resolver.resolve(token)).resolves.toMatchObject({ tokenId: TOKEN_ID });
    expect(asked).toHaveLength(2);
  });
});
