import { createUuidV7Generator, isUuidV7, uuidv7, uuidv7Timestamp } from './uuidv7';

function bytesOf(value: bigint, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    bytes[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return bytes;
}

/** Deterministic byte stream (xorshift32) for the injected random source. */
function seededRandom(seed: number): (n: number) => Uint8Array {
  let state = seed >>> 0 || 1;
  return (n) =>
    Uint8Array.from({ length: n }, () => {
      state ^= state << 13;
      state >>>= 0;
      state ^= state >>> 17;
      state ^= state << 5;
      state >>>= 0;
      return state & 0xff;
    });
}

describe('uuidv7', () => {
  it('reproduces the RFC 9562 Appendix A.6 example (017F22E2-79B0-7CC3-98C4-DC0C0C07398F)', () => {
    // RFC 9562 A.6: unix_ts_ms 0x017F22E279B0, rand_a 0xCC3, rand_b 0x18C4DC0C0C07398F.
    const random = (0xcc3n << 62n) | 0x18c4dc0c0c07398fn;
    expect(uuidv7(0x017f22e279b0, () => bytesOf(random, 10))).toBe(
      '017f22e2-79b0-7cc3-98c4-dc0c0c07398f',
    );
  });

  it('sets the version and variant bits whatever the random bytes are', () => {
    for (const fill of [0x00, 0xff, 0x5a]) {
      const id = uuidv7(1_714_564_800_000, (n) => new Uint8Array(n).fill(fill));
      expect(isUuidV7(id)).toBe(true);
      expect(id[14]).toBe('7');
      expect(Number.parseInt(id.charAt(19), 16) >> 2).toBe(0b10);
      expect(uuidv7Timestamp(id)).toBe(1_714_564_800_000);
    }
  });

  it('orders ids by the injected clock', () => {
    const random = seededRandom(7);
    const times = [0, 1, 2, 999, 1000, 1_714_564_800_000, 2 ** 48 - 1];
    const ids = times.map((t) => uuidv7(t, random));
    expect([...ids].sort()).toEqual(ids);
    expect(ids.map(uuidv7Timestamp)).toEqual(times);
  });

  it('is deterministic given its arguments', () => {
    expect(uuidv7(5, seededRandom(1))).toBe(uuidv7(5, seededRandom(1)));
    expect(uuidv7(5, seededRandom(1))).not.toBe(uuidv7(5, seededRandom(2)));
  });

  it('draws fresh CSPRNG bytes for every id, across refills of its byte pool', () => {
    // 10 bytes per id, 4 KiB per refill: 5,000 ids cross a dozen refills.
    const ids = Array.from({ length: 5000 }, () => uuidv7(1_700_000_000_000));
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids.map((id) => id.slice(-12))).size).toBe(ids.length);
  });

  it('rejects timestamps outside 48 bits and short random sources', () => {
    expect(() => uuidv7(-1)).toThrow(RangeError);
    expect(() => uuidv7(2 ** 48)).toThrow(RangeError);
    expect(() => uuidv7(1.5)).toThrow(RangeError);
    expect(() => uuidv7(0, () => new Uint8Array(3))).toThrow(RangeError);
  });

  it('isUuidV7 accepts only canonical lowercase version-7 RFC 9562 ids', () => {
    expect(isUuidV7('017f22e2-79b0-7cc3-98c4-dc0c0c07398f')).toBe(true);
    expect(isUuidV7('017F22E2-79B0-7CC3-98C4-DC0C0C07398F')).toBe(false); // not canonical
    expect(isUuidV7('9b2a4c1e-5d6f-4a3b-8c7d-0e1f2a3b4c5d')).toBe(false); // v4
    expect(isUuidV7('017f22e2-79b0-7cc3-c8c4-dc0c0c07398f')).toBe(false); // wrong variant
    expect(isUuidV7('017f22e279b07cc398c4dc0c0c07398f')).toBe(false);
    expect(isUuidV7(42)).toBe(false);
  });
});

describe('createUuidV7Generator', () => {
  it('keeps ids strictly increasing within one millisecond', () => {
    const next = createUuidV7Generator(seededRandom(3));
    const ids = Array.from({ length: 1000 }, () => next(1_714_564_800_000));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids.every((id) => isUuidV7(id) && uuidv7Timestamp(id) === 1_714_564_800_000)).toBe(true);
  });

  it('stays increasing when the clock steps back', () => {
    const next = createUuidV7Generator(seededRandom(4));
    const ids = [next(2000), next(1000), next(1500), next(2001)];
    expect([...ids].sort()).toEqual(ids);
    expect(uuidv7Timestamp(ids[3]!)).toBe(2001);
  });

  it('moves to the next millisecond when the random part would overflow', () => {
    const next = createUuidV7Generator((n) => new Uint8Array(n).fill(0xff));
    const first = next(10);
    const second = next(10);
    expect(uuidv7Timestamp(first)).toBe(10);
    expect(uuidv7Timestamp(second)).toBe(11);
    expect(second > first).toBe(true);
  });
});
