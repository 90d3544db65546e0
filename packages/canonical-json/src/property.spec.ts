import { CanonicalJsonError, canonicalize } from './index';
import { Prng } from './test-support/prng';
import { referenceCanonicalize, referenceNumber } from './test-support/reference-jcs';

const SPECIAL_NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.1,
  1e21,
  1e-7,
  1e-6,
  1e20,
  5e-324,
  Number.MAX_VALUE,
  2 ** 53,
  -(2 ** 53) + 1,
];
const CODE_UNITS = [
  0x00, 0x08, 0x09, 0x0a, 0x0c, 0x0d, 0x1f, 0x20, 0x22, 0x2f, 0x5c, 0x7f, 0x80, 0xe9, 0x20ac,
  0xfb33, 0xfeff, 0xffff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0x30, 0x31, 0x39, 0x41, 0x61, 0x7a,
];

function randomString(rng: Prng): string {
  const length = rng.int(8);
  let text = '';
  for (let i = 0; i < length; i++) {
    switch (rng.int(4)) {
      case 0:
        text += String.fromCharCode(rng.pick(CODE_UNITS));
        break;
      case 1:
        text += '\ud83d\ude00'; // a valid surrogate pair
        break;
      case 2:
        text += String.fromCharCode(rng.int(0x10000));
        break;
      default:
        text += String.fromCharCode(0x61 + rng.int(26));
    }
  }
  return text;
}

function randomKey(rng: Prng): string {
  // Integer-like keys matter: JS enumerates them before other keys, JCS must not.
  return rng.int(3) === 0 ? String(rng.int(200)) : randomString(rng);
}

function randomNumber(rng: Prng): number {
  switch (rng.int(4)) {
    case 0:
      return rng.pick(SPECIAL_NUMBERS);
    case 1:
      return rng.int(2_000_000) - 1_000_000;
    case 2:
      return (rng.nextUint32() - 2 ** 31) / 2 ** rng.int(40);
    default:
      return rng.finiteDouble();
  }
}

function randomValue(rng: Prng, depth: number): unknown {
  const kind = rng.int(depth > 0 ? 7 : 5);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return rng.int(2) === 0;
    case 2:
      return randomNumber(rng);
    case 3:
    case 4:
      return randomString(rng);
    case 5:
      return Array.from({ length: rng.int(5) }, () => randomValue(rng, depth - 1));
    default: {
      const object: Record<string, unknown> = {};
      const size = rng.int(6);
      for (let i = 0; i < size; i++) {
        object[randomKey(rng)] = rng.int(10) === 0 ? undefined : randomValue(rng, depth - 1);
      }
      return object;
    }
  }
}

/** Same value, every object rebuilt with its keys inserted in a random order. */
function shuffleKeys(value: unknown, rng: Prng): unknown {
  if (Array.isArray(value)) return value.map((item) => shuffleKeys(item, rng));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, shuffleKeys(v, rng)]));
}

/** The canonical text, or `lone-surrogate` when the value MUST be rejected (RFC 8785 §3.2.2.2). */
function outcome(run: () => string): string {
  try {
    return run();
  } catch (error) {
    if (error instanceof CanonicalJsonError) return error.code;
    if (error instanceof Error && error.message === 'reference: lone surrogate')
      return 'lone-surrogate';
    throw error;
  }
}

describe('canonicalize against a naive reference implementation (seeded random inputs)', () => {
  it('the reference number serializer itself reproduces RFC 8785 Appendix B rows', () => {
    // Oracle sanity check: ties-to-even and decade-shift rows from Appendix B.
    expect(referenceNumber(Buffer.from('43143ff3c1cb0959', 'hex').readDoubleBE(0))).toBe(
      '1424953923781206.2',
    );
    expect(referenceNumber(Buffer.from('44b52d02c7e14af6', 'hex').readDoubleBE(0))).toBe('1e+23');
    expect(referenceNumber(Buffer.from('becbf647612f3696', 'hex').readDoubleBE(0))).toBe(
      '-0.0000033333333333333333',
    );
    expect(referenceNumber(5e-324)).toBe('5e-324');
    expect(referenceNumber(1e21)).toBe('1e+21');
  });

  it('agrees with the reference number serializer on 20000 random doubles', () => {
    const rng = new Prng(0x8785);
    for (let i = 0; i < 20_000; i++) {
      const value = randomNumber(rng);
      expect(canonicalize(value)).toBe(referenceNumber(value));
    }
  });

  it('agrees with the reference on 3000 random nested values, rejections included', () => {
    const rng = new Prng(20200601);
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      const value = randomValue(rng, 4);
      const expected = outcome(() => referenceCanonicalize(value));
      if (expected === 'lone-surrogate') rejected += 1;
      expect(outcome(() => canonicalize(value))).toBe(expected);
    }
    // The generator draws lone surrogates often enough for both outcomes to be exercised.
    expect(rejected).toBeGreaterThan(100);
    expect(rejected).toBeLessThan(2900);
  });

  it('is independent of key insertion order and idempotent through JSON.parse', () => {
    const rng = new Prng(42);
    for (let i = 0; i < 1000; i++) {
      const value = randomValue(rng, 4);
      const text = outcome(() => canonicalize(value));
      expect(outcome(() => canonicalize(shuffleKeys(value, rng)))).toBe(text);
      if (text !== 'lone-surrogate') expect(canonicalize(JSON.parse(text))).toBe(text);
    }
  });
});
