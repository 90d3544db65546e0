import { createHmac, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { TokenHasher, TokenHasherError, tokenHash } from './token-hash';
import { generateToken } from './token-format';

describe('tokenHash', () => {
  it('is HMAC-SHA256 (RFC 4231 test case 2)', () => {
    // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
    expect(tokenHash(Buffer.from('Jefe'), 'what do ya want for nothing?').toString('hex')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('hashes the UTF-8 bytes of the token', () => {
    const pepper = randomBytes(32);
    expect(tokenHash(pepper, 'tlk_é')).toEqual(
      createHmac('sha256', pepper).update(Buffer.from('tlk_é', 'utf8')).digest(),
    );
  });
});

describe('TokenHasher', () => {
  const pepper = Buffer.from('0123456789abcdef0123456789abcdef-secret-pepper');

  it('hashes like tokenHash and compares in constant time', () => {
    const hasher = new TokenHasher(pepper);
    const token = generateToken();
    const h = hasher.hash(token);
    expect(h).toEqual(tokenHash(pepper, token));
    expect(h).toHaveLength(32);
    expect(hasher.equals(h, tokenHash(pepper, token))).toBe(true);
    expect(hasher.equals(h, hasher.hash(generateToken()))).toBe(false);
    expect(hasher.equals(h, h.subarray(0, 31))).toBe(false);
  });

  it('refuses a pepper shorter than 32 bytes', () => {
    expect(() => new TokenHasher(Buffer.from('Jefe'))).toThrow(TokenHasherError);
    expect(() => new TokenHasher(new Uint8Array(31))).toThrow(/at least 32 bytes/);
    expect(() => new TokenHasher(new Uint8Array(32))).not.toThrow();
  });

  it('is not affected by later changes to the caller buffer', () => {
    const mine = Buffer.from(pepper);
    const hasher = new TokenHasher(mine);
    mine.fill(0);
    expect(hasher.hash('x')).toEqual(tokenHash(pepper, 'x'));
  });

  it('never shows the pepper in JSON, inspect or string form', () => {
    const hasher = new TokenHasher(pepper);
    const forms = [
      JSON.stringify(hasher),
      JSON.stringify({ nested: { hasher } }),
      inspect(hasher, { showHidden: true, depth: 10 }),
      inspect({ nested: hasher }),
      String(hasher),
      `${hasher as unknown as string}`,
    ];
    for (const form of forms) {
      expect(form).toContain('redacted');
      for (const encoding of ['utf8', 'hex', 'base64', 'base64url'] as const) {
        expect(form).not.toContain(pepper.toString(encoding));
      }
      expect(form).not.toContain('secret-pepper');
    }
  });

  it('fingerprints the pepper as HMAC-SHA256(pepper, "tokenledger pepper fingerprint v1")', () => {
    // Vector from OpenSSL: printf 'tokenledger pepper fingerprint v1' |
    //   openssl dgst -sha256 -mac HMAC -macopt hexkey:0707...07 (32 bytes of 0x07)
    expect(new TokenHasher(Buffer.alloc(32, 7)).fingerprint().toString('hex')).toBe(
      '836b43e6da6068318f9002b837df1e6f35117572cd95d19099043681cd7bdbf8',
    );
    expect(new TokenHasher(Buffer.alloc(32, 8)).fingerprint()).not.toEqual(
      new TokenHasher(Buffer.alloc(32, 7)).fingerprint(),
    );
  });
});
