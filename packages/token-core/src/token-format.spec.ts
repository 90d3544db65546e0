import { randomBytes } from 'node:crypto';
import {
  DEFAULT_TOKEN_PREFIX,
  TOKEN_PATTERN_SOURCE,
  TOKEN_REGEX,
  TokenFormatError,
  crc32,
  displayPrefix,
  generateToken,
  isWellFormed,
  parseToken,
  toBase62,
} from './token-format';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

// Naive reference: bit-by-bit CRC-32 straight from the definition (reflected poly 0xEDB88320).
function refCrc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A deterministic byte source that returns 0, 1, ..., 255, 0, 1, ... */
function cyclingBytes(): (n: number) => Buffer {
  let next = 0;
  return (n) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = next++ & 0xff;
    return b;
  };
}

describe('crc32', () => {
  it('matches the CRC-32/ISO-HDLC check value and the empty input', () => {
    // "Check" value of CRC-32/ISO-HDLC (zlib) in the Rocksoft/Williams catalogue.
    expect(crc32(Buffer.from('123456789', 'ascii'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    // zlib.crc32("The quick brown fox jumps over the lazy dog")
    expect(crc32(Buffer.from('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
  });

  it('agrees with the bitwise reference on random inputs', () => {
    for (let i = 0; i < 200; i++) {
      const bytes = randomBytes(i % 67);
      expect(crc32(bytes)).toBe(refCrc32(bytes));
    }
  });
});

describe('toBase62', () => {
  it('writes digits in 0-9A-Za-z order and left-pads with 0', () => {
    expect(toBase62(0, 6)).toBe('000000');
    expect(toBase62(9, 2)).toBe('09');
    expect(toBase62(10, 1)).toBe('A');
    expect(toBase62(36, 1)).toBe('a');
    expect(toBase62(61, 1)).toBe('z');
    expect(toBase62(62, 3)).toBe('010');
    expect(toBase62(0xffffffff, 6)).toBe('4gfFC3');
  });

  it('round-trips against a reference decoder', () => {
    for (const n of [1, 61, 62, 3843, 3844, 123456789, 0xcbf43926, 0xffffffff]) {
      const s = toBase62(n, 6);
      expect(s).toHaveLength(6);
      expect([...s].reduce((acc, c) => acc * 62 + ALPHABET.indexOf(c), 0)).toBe(n);
    }
  });

  it('refuses values that do not fit and non-integers', () => {
    expect(() => toBase62(62, 1)).toThrow(TokenFormatError);
    expect(() => toBase62(-1, 6)).toThrow(TokenFormatError);
    expect(() => toBase62(1.5, 6)).toThrow(TokenFormatError);
  });
});

describe('generateToken', () => {
  it('produces <prefix>_<32 random><6 checksum> that scanners and isWellFormed accept', () => {
    for (let i = 0; i < 100; i++) {
      const token = generateToken();
      expect(token.startsWith(`${DEFAULT_TOKEN_PREFIX}_`)).toBe(true);
      const body = token.slice(DEFAULT_TOKEN_PREFIX.length + 1);
      expect(body).toMatch(/^[0-9A-Za-z]{38}$/);
      expect(TOKEN_REGEX.test(token)).toBe(true);
      expect(isWellFormed(token)).toBe(true);
      const parsed = parseToken(token);
      expect(parsed).toEqual({
        prefix: DEFAULT_TOKEN_PREFIX,
        random: body.slice(0, 32),
        checksum: body.slice(32),
      });
      expect(parsed?.checksum).toBe(toBase62(crc32(Buffer.from(`tlk_live_${parsed?.random}`)), 6));
    }
  });

  it('accepts prefix variants and refuses invalid prefixes', () => {
    for (const prefix of ['tlk_test', 'tlk_live', 'tlk', 'tlk_a1_b2', 'svc9']) {
      const token = generateToken({ prefix });
      expect(parseToken(token)?.prefix).toBe(prefix);
      expect(isWellFormed(token)).toBe(true);
    }
    expect(TOKEN_REGEX.test(generateToken({ prefix: 'tlk_test' }))).toBe(true);
    for (const prefix of [
      '',
      'TLK',
      '1tlk',
      'tlk_',
      '_tlk',
      'tlk__live',
      'tlk-live',
      'tlk live',
      'a'.repeat(65),
    ]) {
      expect(() => generateToken({ prefix })).toThrow(TokenFormatError);
    }
  });

  it('is deterministic for an injected random source and rejects bytes >= 248', () => {
    const fixed = (n: number): Buffer => Buffer.alloc(n, 1);
    const token = generateToken({ randomBytes: fixed });
    expect(token.slice(9, 41)).toBe('1'.repeat(32));
    expect(generateToken({ randomBytes: fixed })).toBe(token);

    // 248..255 are rejected, 247 % 62 = 61 -> 'z', 62 -> '0', 63 -> '1'.
    const bytes = [255, 248, 250, 247, 62, 63];
    let i = 0;
    const source = (n: number): Buffer =>
      Buffer.from(Array.from({ length: n }, () => bytes[i++ % bytes.length]!));
    expect(generateToken({ randomBytes: source }).slice(9, 41)).toBe('z01'.repeat(11).slice(0, 32));
  });

  it('gives every base62 character the same weight (unbiased rejection sampling)', () => {
    // Feed each byte value on its own: the 248 accepted values must map exactly 4 to each of the
    // 62 characters and 248..255 must never be used (plain `byte % 62` would favour 0-7).
    const counts = new Map<string, number>();
    const rejected: number[] = [];
    for (let b = 0; b < 256; b++) {
      let random: string;
      try {
        random = parseToken(generateToken({ randomBytes: (n) => Buffer.alloc(n, b) }))!.random;
      } catch (e) {
        expect(e).toBeInstanceOf(TokenFormatError);
        rejected.push(b);
        continue;
      }
      expect(random).toBe(random[0]!.repeat(32));
      counts.set(random[0]!, (counts.get(random[0]!) ?? 0) + 1);
    }
    expect(rejected).toEqual([248, 249, 250, 251, 252, 253, 254, 255]);
    expect(counts.size).toBe(62);
    for (const c of ALPHABET) expect(counts.get(c)).toBe(4);
  });

  it('consumes a mixed stream in order, skipping rejected bytes', () => {
    // Over 31 tokens fed the accepted values 0..247 cyclically (992 = 4 * 248 characters), every
    // character appears exactly 16 times.
    const source = cyclingBytes();
    const counts = new Map<string, number>();
    for (let t = 0; t < 31; t++) {
      for (const c of parseToken(generateToken({ randomBytes: source }))!.random)
        counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    expect(counts.size).toBe(62);
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(992);
    // The generator discards unused surplus bytes, so counts are near 16 but need not be exact.
    for (const c of ALPHABET) expect(Math.abs(counts.get(c)! - 16)).toBeLessThanOrEqual(8);
  });

  it('covers the whole alphabet with the real CSPRNG', () => {
    // 200 tokens = 6400 characters; the chance that a character is missing is ~62 * e^-104.
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) for (const c of parseToken(generateToken())!.random) seen.add(c);
    expect(seen.size).toBe(62);
  });

  it('refuses a random source that returns the wrong length or only rejected bytes', () => {
    expect(() => generateToken({ randomBytes: () => Buffer.alloc(0) })).toThrow(TokenFormatError);
    expect(() => generateToken({ randomBytes: (n) => Buffer.alloc(n, 255) })).toThrow(
      TokenFormatError,
    );
  });
});

describe('isWellFormed and parseToken', () => {
  it('detects every one-character change (CRC32 catches all single-symbol errors)', () => {
    const token = generateToken({ prefix: 'tlk_test' });
    for (let i = 0; i < token.length; i++) {
      for (const c of ['a', 'Z', '0', '9', '_']) {
        if (token[i] === c) continue;
        const changed = token.slice(0, i) + c + token.slice(i + 1);
        expect(isWellFormed(changed)).toBe(false);
        expect(parseToken(changed)).toBeUndefined();
      }
    }
  });

  it('refuses wrong shapes', () => {
    const token = generateToken();
    for (const bad of [
      '',
      token.slice(0, -1),
      `${token}0`,
      ` ${token}`,
      `${token}\n`,
      token.replace('tlk_live_', 'tlk_live__'),
      token.toUpperCase(),
      token.slice(9),
      'tlk_live_' + '0'.repeat(38),
      `${'a'.repeat(10_000)}_${token.slice(9)}`,
    ]) {
      expect(isWellFormed(bad)).toBe(false);
    }
    expect(isWellFormed(undefined as unknown as string)).toBe(false);
  });
});

describe('displayPrefix', () => {
  it('is the prefix plus the first 4 random characters', () => {
    const token = generateToken({
      randomBytes: (n) => Buffer.from(Array.from({ length: n }, (_, i) => [10, 12, 37, 1][i % 4]!)),
    });
    expect(displayPrefix(token)).toBe('tlk_live_ACb1');
    expect(displayPrefix(generateToken({ prefix: 'tlk_test' }))).toMatch(
      /^tlk_test_[0-9A-Za-z]{4}$/,
    );
  });

  it('throws on strings that are not tokens', () => {
    expect(() => displayPrefix('not a token')).toThrow(TokenFormatError);
  });
});

describe('TOKEN_REGEX', () => {
  it('finds tokens in text on word boundaries', () => {
    const token = generateToken({ prefix: 'tlk_test' });
    const text = `export TL_TOKEN="${token}"\nother=tlk_live_short x${token}`;
    const found = text.match(new RegExp(TOKEN_PATTERN_SOURCE, 'g'));
    expect(found).toEqual([token]);
    expect(TOKEN_REGEX.source).toBe(TOKEN_PATTERN_SOURCE);
    expect(TOKEN_REGEX.flags).toBe('');
    expect(TOKEN_REGEX.test(`${token}A`)).toBe(false);
    expect(TOKEN_REGEX.test(generateToken({ prefix: 'other' }))).toBe(false);
  });
});
