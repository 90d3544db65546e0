import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';

/** Base62 digits in value order: `0-9`, then `A-Z`, then `a-z`. */
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export const DEFAULT_TOKEN_PREFIX = 'tlk_live';

const RANDOM_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
const BODY_LENGTH = RANDOM_LENGTH + CHECKSUM_LENGTH;
const DISPLAY_RANDOM_CHARS = 4;
const MAX_PREFIX_LENGTH = 64;
const PREFIX_RE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;
const TOKEN_SHAPE_RE = /^([a-z][a-z0-9]*(?:_[a-z0-9]+)*)_([0-9A-Za-z]{38})$/;

/**
 * Pattern published for secret scanners (GitHub secret scanning, gitleaks, trufflehog):
 * `tlk_`, at least one more lower-case prefix segment (`live`, `test`, ...), `_`, then 38 base62
 * characters (32 random + 6 checksum), on word boundaries. A hit can be confirmed offline with
 * {@link isWellFormed} (CRC32 checksum), which removes almost all false positives.
 */
export const TOKEN_PATTERN_SOURCE = '\\btlk_[a-z0-9]+(?:_[a-z0-9]+)*_[0-9A-Za-z]{38}\\b';

/**
 * {@link TOKEN_PATTERN_SOURCE} as a RegExp without the `g` flag, so `test` has no `lastIndex`
 * state; to find every token in a text use `new RegExp(TOKEN_PATTERN_SOURCE, 'g')`.
 */
export const TOKEN_REGEX: RegExp = new RegExp(TOKEN_PATTERN_SOURCE);

export class TokenFormatError extends RangeError {
  override readonly name = 'TokenFormatError';
  readonly retryable = false;
  constructor(
    readonly code: 'invalid-prefix' | 'malformed-token' | 'invalid-argument' | 'random-source',
    message: string,
  ) {
    super(message);
  }
}

export interface GenerateTokenOptions {
  /** Lower-case `[a-z][a-z0-9]*(_[a-z0-9]+)*`, at most 64 chars; defaults to {@link DEFAULT_TOKEN_PREFIX}. */
  prefix?: string;
  /** Source of random bytes; defaults to `crypto.randomBytes` (CSPRNG). Injected for tests only. */
  randomBytes?: (n: number) => Buffer;
}

export interface ParsedToken {
  prefix: string;
  random: string;
  checksum: string;
}

/** CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the one zlib and PNG use: zlib's own. */
export function crc32(bytes: Uint8Array): number {
  return zlibCrc32(bytes);
}

/** `n` (a non-negative safe integer) in base62, left-padded with '0' to `width`; throws if it does not fit. */
export function toBase62(n: number, width: number): string {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new TokenFormatError(
      'invalid-argument',
      `toBase62 needs a non-negative safe integer, got ${n}`,
    );
  }
  if (!Number.isSafeInteger(width) || width < 0) {
    throw new TokenFormatError(
      'invalid-argument',
      `toBase62 needs a non-negative integer width, got ${width}`,
    );
  }
  let out = '';
  let rest = n;
  do {
    out = BASE62[rest % 62]! + out;
    rest = Math.floor(rest / 62);
  } while (rest > 0);
  if (out.length > width) {
    throw new TokenFormatError(
      'invalid-argument',
      `${n} needs ${out.length} base62 digits, more than ${width}`,
    );
  }
  return out.padStart(width, '0');
}

function checksumOf(prefix: string, random: string): string {
  return toBase62(crc32(Buffer.from(`${prefix}_${random}`, 'ascii')), CHECKSUM_LENGTH);
}

function isValidPrefix(prefix: string): boolean {
  return prefix.length <= MAX_PREFIX_LENGTH && PREFIX_RE.test(prefix);
}

/**
 * 32 uniform base62 characters. Bytes >= 248 (= 4 * 62) are rejected so that `byte % 62` is
 * unbiased: every character has exactly 4 accepted byte values.
 */
function randomBase62(length: number, randomBytes: (n: number) => Buffer): string {
  let out = '';
  for (let round = 0; out.length < length; round++) {
    if (round >= 64)
      throw new TokenFormatError('random-source', 'random source keeps returning rejected bytes');
    const want = length - out.length;
    // Ask for a few more bytes than needed: 8 of 256 byte values are rejected (3.1 %).
    const bytes = randomBytes(want + 8);
    if (!(bytes instanceof Uint8Array) || bytes.length !== want + 8) {
      throw new TokenFormatError(
        'random-source',
        `random source returned the wrong number of bytes`,
      );
    }
    for (const b of bytes) {
      if (b >= 248) continue;
      out += BASE62[b % 62]!;
      if (out.length === length) break;
    }
  }
  return out;
}

/** A new token `<prefix>_<32 random base62><6 base62 CRC32 of "<prefix>_<random>">` (190.5 bits of entropy). */
export function generateToken(options: GenerateTokenOptions = {}): string {
  const prefix = options.prefix ?? DEFAULT_TOKEN_PREFIX;
  if (typeof prefix !== 'string' || !isValidPrefix(prefix)) {
    throw new TokenFormatError(
      'invalid-prefix',
      `token prefix must match [a-z][a-z0-9]*(_[a-z0-9]+)* and have at most ${MAX_PREFIX_LENGTH} chars, got ${JSON.stringify(prefix)}`,
    );
  }
  const random = randomBase62(RANDOM_LENGTH, options.randomBytes ?? cryptoRandomBytes);
  return `${prefix}_${random}${checksumOf(prefix, random)}`;
}

/** Splits a token by shape only (no checksum check). */
function splitToken(token: unknown): ParsedToken | undefined {
  if (typeof token !== 'string' || token.length > MAX_PREFIX_LENGTH + 1 + BODY_LENGTH)
    return undefined;
  const m = TOKEN_SHAPE_RE.exec(token);
  if (!m) return undefined;
  const prefix = m[1]!;
  const body = m[2]!;
  return { prefix, random: body.slice(0, RANDOM_LENGTH), checksum: body.slice(RANDOM_LENGTH) };
}

/**
 * The parts of a well-formed token, or `undefined` when the shape is wrong or the checksum does
 * not match (so a parsed token is always one that {@link isWellFormed} accepts).
 */
export function parseToken(token: string): ParsedToken | undefined {
  const parts = splitToken(token);
  if (!parts || checksumOf(parts.prefix, parts.random) !== parts.checksum) return undefined;
  return parts;
}

/** Shape and checksum, offline. A `true` says nothing about whether the token was ever issued. */
export function isWellFormed(token: string): boolean {
  return parseToken(token) !== undefined;
}

/**
 * `<prefix>_` + the first 4 random characters, e.g. `tlk_live_AbC1`: safe to show and to put in
 * events (24 of the 190 bits). Checks the shape, not the checksum; throws on anything else.
 */
export function displayPrefix(token: string): string {
  const parts = splitToken(token);
  if (!parts)
    throw new TokenFormatError(
      'malformed-token',
      'not a token of the form <prefix>_<38 base62 chars>',
    );
  return `${parts.prefix}_${parts.random.slice(0, DISPLAY_RANDOM_CHARS)}`;
}
