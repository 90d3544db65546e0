import { createHash } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type JWK, type KeyLike } from 'jose';
import {
  InMemoryReplayCache,
  accessTokenHash,
  jwkThumbprint,
  normalizeHtu,
  verifyDpopProof,
  type DpopContext,
} from './dpop';

// RFC 7638 §3.1 example RSA key and its SHA-256 thumbprint.
const RFC7638_KEY = {
  kty: 'RSA',
  n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
  e: 'AQAB',
  alg: 'RS256',
  kid: '2011-04-29',
};

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
const NOW_S = Math.floor(NOW / 1000);
const URL_ = 'https://api.example.com/v1/tokens';
const ACCESS_TOKEN = 'tlk_live_access-token-for-tests';

interface Signer {
  alg: string;
  privateKey: KeyLike;
  publicJwk: JWK;
  privateJwk: JWK;
}

async function signer(alg: 'ES256' | 'EdDSA'): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    crv: alg === 'EdDSA' ? 'Ed25519' : undefined,
  });
  return {
    alg,
    privateKey,
    publicJwk: await exportJWK(publicKey),
    privateJwk: await exportJWK(privateKey),
  };
}

let n = 0;
async function proof(
  s: Signer,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT({ jti: `jti-${++n}`, htm: 'POST', htu: URL_, iat: NOW_S, ...claims })
    .setProtectedHeader({ alg: s.alg, typ: 'dpop+jwt', jwk: s.publicJwk, ...header })
    .sign(s.privateKey);
}

function ctx(over: Partial<DpopContext> = {}): DpopContext {
  const cache = new InMemoryReplayCache();
  return {
    htm: 'POST',
    htu: URL_,
    now: NOW,
    isReplay: (jti, exp) => cache.isReplay(jti, exp, NOW),
    ...over,
  };
}

describe('jwkThumbprint', () => {
  it('matches the RFC 7638 §3.1 example', async () => {
    await expect(jwkThumbprint(RFC7638_KEY)).resolves.toBe(
      'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
    );
  });
});

describe('accessTokenHash', () => {
  it('is base64url(SHA-256(token)) without padding', () => {
    const expected = createHash('sha256')
      .update('abc')
      .digest('base64')
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
    expect(accessTokenHash('abc')).toBe(expected);
    // SHA-256("abc") from FIPS 180-2 appendix B.1, in base64url.
    expect(accessTokenHash('abc')).toBe('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
  });
});

describe('normalizeHtu', () => {
  it('lower-cases scheme and host, drops default ports, query and fragment', () => {
    expect(normalizeHtu('HTTPS://API.Example.COM:443/v1/Tokens?x=1#f')).toBe(
      'https://api.example.com/v1/Tokens',
    );
    expect(normalizeHtu('http://a.example:80/p')).toBe('http://a.example/p');
    expect(normalizeHtu('https://a.example:8443/p')).toBe('https://a.example:8443/p');
    expect(normalizeHtu('https://a.example')).toBe('https://a.example/');
  });

  it('throws for non-http URLs', () => {
    expect(() => normalizeHtu('not a url')).toThrow(TypeError);
    expect(() => normalizeHtu('ftp://a.example/')).toThrow(TypeError);
  });
});

describe.each(['ES256', 'EdDSA'] as const)('verifyDpopProof with %s', (alg) => {
  let s: Signer;
  let other: Signer;
  beforeAll(async () => {
    s = await signer(alg);
    other = await signer(alg);
  });

  it('accepts a valid proof and returns the key thumbprint', async () => {
    const jkt = await jwkThumbprint(s.publicJwk);
    const p = await proof(s, { ath: accessTokenHash(ACCESS_TOKEN), jti: 'unique-1' });
    await expect(
      verifyDpopProof(p, ctx({ accessToken: ACCESS_TOKEN, expectedJkt: jkt })),
    ).resolves.toEqual({
      ok: true,
      jkt,
      jti: 'unique-1',
      iat: NOW_S,
    });
  });

  it('ignores query and fragment and normalizes the URL', async () => {
    const p = await proof(s, { htu: 'https://API.example.com:443/v1/tokens' });
    await expect(verifyDpopProof(p, ctx({ htu: `${URL_}?page=2#x` }))).resolves.toMatchObject({
      ok: true,
    });
  });

  it.each<[string, Record<string, unknown>, Partial<DpopContext>, string]>([
    ['wrong htm', { htm: 'GET' }, {}, 'htm'],
    ['lower-case htm', { htm: 'post' }, {}, 'htm'],
    ['wrong htu path', { htu: 'https://api.example.com/v1/other' }, {}, 'htu'],
    ['wrong htu host', { htu: 'https://evil.example.com/v1/tokens' }, {}, 'htu'],
    ['htu as http', { htu: 'http://api.example.com/v1/tokens' }, {}, 'htu'],
    ['missing htu', { htu: undefined }, {}, 'htu'],
    ['stale iat', { iat: NOW_S - 300 - 30 - 1 }, {}, 'iat'],
    ['future iat', { iat: NOW_S + 31 }, {}, 'iat'],
    ['stale iat with a smaller max age', { iat: NOW_S - 61 }, { maxAgeSeconds: 30 }, 'iat'],
    ['iat as string', { iat: String(NOW_S) }, {}, 'iat'],
    ['missing jti', { jti: undefined }, {}, 'jti'],
    ['empty jti', { jti: '' }, {}, 'jti'],
    ['long jti', { jti: 'j'.repeat(257) }, {}, 'jti'],
    ['missing ath', {}, { accessToken: ACCESS_TOKEN }, 'ath'],
    ['wrong ath', { ath: accessTokenHash('another token') }, { accessToken: ACCESS_TOKEN }, 'ath'],
  ])('refuses %s', async (_name, claims, over, reason) => {
    const p = await proof(s, claims);
    await expect(verifyDpopProof(p, ctx(over))).resolves.toMatchObject({ ok: false, reason });
  });

  it('accepts iat at the edges of the window', async () => {
    await expect(
      verifyDpopProof(await proof(s, { iat: NOW_S - 330 }), ctx()),
    ).resolves.toMatchObject({ ok: true });
    await expect(
      verifyDpopProof(await proof(s, { iat: NOW_S + 30 }), ctx()),
    ).resolves.toMatchObject({ ok: true });
  });

  it('refuses a replayed jti, and remembers it for the whole window', async () => {
    const seen: Array<[string, number]> = [];
    const cache = new InMemoryReplayCache();
    const c = ctx({
      isReplay: (jti, exp) => {
        seen.push([jti, exp]);
        return cache.isReplay(jti, exp, NOW);
      },
    });
    const p = await proof(s, { jti: 'once' });
    await expect(verifyDpopProof(p, c)).resolves.toMatchObject({ ok: true });
    await expect(verifyDpopProof(p, c)).resolves.toMatchObject({ ok: false, reason: 'replay' });
    // A different proof with the same jti is a replay too.
    await expect(
      verifyDpopProof(await proof(s, { jti: 'once', iat: NOW_S - 1 }), c),
    ).resolves.toMatchObject({ ok: false, reason: 'replay' });
    expect(seen[0]).toEqual(['once', (NOW_S + 300 + 30) * 1000]);
  });

  it('takes an asynchronous replay store (shared by several instances); a store that fails refuses the proof', async () => {
    const stored = new Set<string>();
    const shared = async (jti: string): Promise<boolean> => {
      await new Promise((r) => setImmediate(r));
      if (stored.has(jti)) return true;
      stored.add(jti);
      return false;
    };
    const p = await proof(s, { jti: 'shared' });
    await expect(verifyDpopProof(p, ctx({ isReplay: shared }))).resolves.toMatchObject({
      ok: true,
    });
    await expect(verifyDpopProof(p, ctx({ isReplay: shared }))).resolves.toMatchObject({
      ok: false,
      reason: 'replay',
    });
    const down = (): Promise<boolean> => Promise.reject(new Error('database unavailable'));
    await expect(verifyDpopProof(await proof(s), ctx({ isReplay: down }))).resolves.toMatchObject({
      ok: false,
      reason: 'replay',
      message: expect.stringContaining('database unavailable'),
    });
  });

  it('does not record the jti of a refused proof', async () => {
    const isReplay = jest.fn(() => false);
    await verifyDpopProof(await proof(s, { htm: 'GET' }), ctx({ isReplay }));
    expect(isReplay).not.toHaveBeenCalled();
  });

  it('refuses a proof signed by another key than expectedJkt', async () => {
    const p = await proof(other);
    const expectedJkt = await jwkThumbprint(s.publicJwk);
    await expect(verifyDpopProof(p, ctx({ expectedJkt }))).resolves.toMatchObject({
      ok: false,
      reason: 'key-mismatch',
    });
  });

  it('refuses a jwk header that does not match the signing key', async () => {
    const p = await proof(other, {}, { jwk: s.publicJwk });
    await expect(verifyDpopProof(p, ctx())).resolves.toMatchObject({
      ok: false,
      reason: 'signature',
    });
  });

  it('refuses a tampered payload', async () => {
    const [h, , sig] = (await proof(s)).split('.');
    const body = Buffer.from(
      JSON.stringify({ jti: 'x', htm: 'POST', htu: URL_, iat: NOW_S }),
    ).toString('base64url');
    await expect(verifyDpopProof(`${h}.${body}.${sig}`, ctx())).resolves.toMatchObject({
      ok: false,
      reason: 'signature',
    });
  });

  it.each([['JWT'], ['at+jwt'], ['DPOP+JWT'], [undefined]])('refuses typ %s', async (typ) => {
    const p = await proof(s, {}, { typ });
    await expect(verifyDpopProof(p, ctx())).resolves.toMatchObject({ ok: false, reason: 'typ' });
  });

  it('refuses a jwk with the private part', async () => {
    const p = await proof(s, {}, { jwk: s.privateJwk });
    await expect(verifyDpopProof(p, ctx())).resolves.toMatchObject({ ok: false, reason: 'jwk' });
  });

  it('refuses a missing jwk', async () => {
    const p = await proof(s, {}, { jwk: undefined });
    await expect(verifyDpopProof(p, ctx())).resolves.toMatchObject({ ok: false, reason: 'jwk' });
  });

  it('refuses a jwk of another key type than alg', async () => {
    const foreign = await signer(alg === 'ES256' ? 'EdDSA' : 'ES256');
    const p = await proof(s, {}, { jwk: foreign.publicJwk });
    await expect(verifyDpopProof(p, ctx())).resolves.toMatchObject({ ok: false, reason: 'jwk' });
  });
});

describe('verifyDpopProof with RS256', () => {
  it('accepts a valid proof from a 2048-bit RSA key', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
    const s: Signer = {
      alg: 'RS256',
      privateKey,
      publicJwk: await exportJWK(publicKey),
      privateJwk: await exportJWK(privateKey),
    };
    const result = await verifyDpopProof(await proof(s), ctx());
    expect(result).toMatchObject({ ok: true, jkt: await jwkThumbprint(s.publicJwk) });
  });
});

describe('verifyDpopProof refusals independent of the key', () => {
  it('refuses HS256 even with a symmetric jwk', async () => {
    const secret = Buffer.alloc(32, 7);
    const p = await new SignJWT({ jti: 'h', htm: 'POST', htu: URL_, iat: NOW_S })
      .setProtectedHeader({
        alg: 'HS256',
        typ: 'dpop+jwt',
        jwk: { kty: 'oct', k: secret.toString('base64url') } as JWK,
      })
      .sign(secret);
    await expect(verifyDpopProof(p, ctx())).resolves.toMatchObject({ ok: false, reason: 'alg' });
  });

  it('refuses alg none', async () => {
    const s = await signer('ES256');
    const header = Buffer.from(
      JSON.stringify({ alg: 'none', typ: 'dpop+jwt', jwk: s.publicJwk }),
    ).toString('base64url');
    const body = Buffer.from(
      JSON.stringify({ jti: 'n', htm: 'POST', htu: URL_, iat: NOW_S }),
    ).toString('base64url');
    await expect(verifyDpopProof(`${header}.${body}.`, ctx())).resolves.toMatchObject({
      ok: false,
      reason: 'malformed',
    });
    await expect(verifyDpopProof(`${header}.${body}.AA`, ctx())).resolves.toMatchObject({
      ok: false,
      reason: 'alg',
    });
  });

  it.each([
    [''],
    ['garbage'],
    ['a.b'],
    ['a.b.c'],
    ['a.b.c.d.e'],
    ['!!!.@@@.###'],
    ['x'.repeat(10_000)],
  ])('refuses garbage %#', async (p) => {
    await expect(verifyDpopProof(p, ctx())).resolves.toMatchObject({
      ok: false,
      reason: 'malformed',
    });
  });

  it('never throws, even on non-string input or a throwing replay cache', async () => {
    await expect(verifyDpopProof(undefined as unknown as string, ctx())).resolves.toMatchObject({
      ok: false,
      reason: 'malformed',
    });
    const s = await signer('ES256');
    const isReplay = (): boolean => {
      throw new Error('cache down');
    };
    await expect(verifyDpopProof(await proof(s), ctx({ isReplay }))).resolves.toMatchObject({
      ok: false,
      reason: 'replay',
    });
    await expect(verifyDpopProof(await proof(s), ctx({ htu: 'not a url' }))).resolves.toMatchObject(
      { ok: false, reason: 'htu' },
    );
  });
});

describe('InMemoryReplayCache', () => {
  it('reports a jti seen before until it expires', () => {
    const cache = new InMemoryReplayCache();
    expect(cache.isReplay('a', 2000, 1000)).toBe(false);
    expect(cache.isReplay('a', 2000, 1500)).toBe(true);
    expect(cache.isReplay('a', 3000, 2000)).toBe(false);
    expect(cache.isReplay('a', 3000, 2999)).toBe(true);
  });

  it('evicts expired entries when full and fails closed when full of live ones', () => {
    const cache = new InMemoryReplayCache(2);
    expect(cache.isReplay('a', 1000, 0)).toBe(false);
    expect(cache.isReplay('b', 5000, 0)).toBe(false);
    expect(cache.isReplay('c', 5000, 500)).toBe(true);
    expect(cache.isReplay('c', 5000, 1000)).toBe(false);
    expect(cache.size).toBe(2);
    expect(cache.isReplay('b', 5000, 1000)).toBe(true);
  });

  it('can be passed unbound as ctx.isReplay', () => {
    const { isReplay } = new InMemoryReplayCache();
    expect(isReplay('x', Date.now() + 60_000)).toBe(false);
    expect(isReplay('x', Date.now() + 60_000)).toBe(true);
  });
});
