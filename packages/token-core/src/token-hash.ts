import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';

const MIN_PEPPER_BYTES = 32;

/** What the pepper fingerprint is the HMAC of: not a token (no `_`), so never a stored hash. */
const FINGERPRINT_INPUT = 'tokenledger pepper fingerprint v1';

/** HMAC-SHA256(pepper, UTF-8 token): the only form in which a token is stored. */
export function tokenHash(pepper: Uint8Array, token: string): Buffer {
  return createHmac('sha256', pepper).update(token, 'utf8').digest();
}

export class TokenHasherError extends RangeError {
  override readonly name = 'TokenHasherError';
  readonly retryable = false;
  readonly code = 'weak-pepper';
}

/**
 * Holds the pepper as a KeyObject in a private field. It MUST NOT appear in logs: toString,
 * toJSON and util.inspect are overridden to print a redacted placeholder.
 */
export class TokenHasher {
  readonly #key: KeyObject;

  constructor(pepper: Uint8Array) {
    if (!(pepper instanceof Uint8Array) || pepper.length < MIN_PEPPER_BYTES) {
      throw new TokenHasherError(`the token pepper must be at least ${MIN_PEPPER_BYTES} bytes`);
    }
    // createSecretKey copies the bytes, so later changes to the caller's buffer have no effect.
    this.#key = createSecretKey(pepper);
  }

  hash(token: string): Buffer {
    return createHmac('sha256', this.#key).update(token, 'utf8').digest();
  }

  /**
   * HMAC-SHA256(pepper, "tokenledger pepper fingerprint v1"): stored beside the hashes so that a
   * changed or lost pepper is noticed at start. It reveals nothing of the pepper (unlike a plain
   * hash of it, which could be checked against a guess without the HMAC's key role).
   */
  fingerprint(): Buffer {
    return this.hash(FINGERPRINT_INPUT);
  }

  /** Constant-time comparison of two hashes; different lengths are unequal (lengths are public). */
  equals(a: Buffer, b: Buffer): boolean {
    return a.length === b.length && timingSafeEqual(a, b);
  }

  toString(): string {
    return 'TokenHasher { pepper: [redacted] }';
  }

  toJSON(): { pepper: '[redacted]' } {
    return { pepper: '[redacted]' };
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
