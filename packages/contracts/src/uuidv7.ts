import { randomFillSync } from 'node:crypto';

/** Returns n random bytes. Injected so ids are deterministic in tests. */
export type RandomBytes = (n: number) => Uint8Array;

/** Canonical (lowercase) UUIDv7 text: version 7, RFC 9562 variant (10xx). */
export const UUIDV7_PATTERN =
  /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const MAX_UNIX_MS = 2 ** 48 - 1;
const RAND_BITS = 74n; // rand_a (12) + rand_b (62)
const RAND_LIMIT = 1n << RAND_BITS;

// CSPRNG bytes drawn 4 KiB at a time (as node:crypto's randomUUID does): one call into OpenSSL
// per ~400 ids instead of one per id, which showed in introspection's profile (a token.used
// event per request). Every byte is handed out once.
let pool = new Uint8Array(0);
let poolOffset = 0;
const cryptoRandom: RandomBytes = (n) => {
  if (poolOffset + n > pool.length) {
    pool = randomFillSync(new Uint8Array(Math.max(4096, n)));
    poolOffset = 0;
  }
  poolOffset += n;
  return pool.slice(poolOffset - n, poolOffset);
};

function checkedTimestamp(now: number): number {
  if (!Number.isInteger(now) || now < 0 || now > MAX_UNIX_MS) {
    throw new RangeError(`uuidv7: timestamp ${now} is not an integer number of ms in [0, 2^48)`);
  }
  return now;
}

function randomBits(random: RandomBytes, bytes: number, bits: bigint): bigint {
  const source = random(bytes);
  if (source.length < bytes)
    throw new RangeError(`uuidv7: random source returned ${source.length} < ${bytes} bytes`);
  let value = 0n;
  for (let i = 0; i < bytes; i++) value = (value << 8n) | BigInt(source[i] ?? 0);
  return value & ((1n << bits) - 1n);
}

/** RFC 9562 §5.7 layout: unix_ts_ms (48) | ver=7 (4) | rand_a (12) | var=10 (2) | rand_b (62). */
function format(unixMs: number, rand: bigint): string {
  const randA = rand >> 62n;
  const randB = rand & ((1n << 62n) - 1n);
  const value = (BigInt(unixMs) << 80n) | (0x7n << 76n) | (randA << 64n) | (0b10n << 62n) | randB;
  const hex = value.toString(16).padStart(32, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A UUIDv7 for `now` (Unix ms) with 74 random bits. Pure given its arguments; ids made within
 * the same millisecond are not ordered among themselves (use {@link createUuidV7Generator}).
 */
export function uuidv7(now: number = Date.now(), random: RandomBytes = cryptoRandom): string {
  return format(checkedTimestamp(now), randomBits(random, 10, RAND_BITS));
}

/**
 * A stateful UUIDv7 source whose ids strictly increase (RFC 9562 §6.2, method 2 "monotonic
 * random"): within one millisecond, or when the clock steps back, the previous random part is
 * incremented by a random 32-bit step instead of drawing a fresh one.
 */
export function createUuidV7Generator(
  random: RandomBytes = cryptoRandom,
): (now?: number) => string {
  let lastMs = -1;
  let lastRand = 0n;
  return (now = Date.now()) => {
    const ms = checkedTimestamp(now);
    if (ms > lastMs) {
      lastMs = ms;
      lastRand = randomBits(random, 10, RAND_BITS);
    } else {
      lastRand += randomBits(random, 4, 32n) + 1n;
      if (lastRand >= RAND_LIMIT) {
        lastMs = checkedTimestamp(lastMs + 1);
        lastRand = randomBits(random, 10, RAND_BITS - 1n); // leave headroom for the next increments
      }
    }
    return format(lastMs, lastRand);
  };
}

export function isUuidV7(value: unknown): value is string {
  return typeof value === 'string' && UUIDV7_PATTERN.test(value);
}

/** The Unix millisecond timestamp embedded in a UUIDv7. */
export function uuidv7Timestamp(id: string): number {
  if (!isUuidV7(id)) throw new RangeError(`${JSON.stringify(id)} is not a UUIDv7`);
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
