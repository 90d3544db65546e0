import { hash } from 'node:crypto';
import { HASH_SIZE } from './rfc6962';

/** chain[-1]: 32 zero bytes. */
export const CHAIN_SEED: Buffer = Buffer.alloc(HASH_SIZE);

const CHAIN_INPUT = Buffer.alloc(2 * HASH_SIZE);

/** chain[i] = SHA-256(chain[i-1] || leafHash[i]). */
export function chainNext(prev: Uint8Array, leafHash: Uint8Array): Buffer {
  if (prev.length === HASH_SIZE && leafHash.length === HASH_SIZE) {
    CHAIN_INPUT.set(prev, 0);
    CHAIN_INPUT.set(leafHash, HASH_SIZE);
    return hash('sha256', CHAIN_INPUT, 'buffer');
  }
  return hash('sha256', Buffer.concat([prev, leafHash], prev.length + leafHash.length), 'buffer');
}

/** chain[start..start+leafHashes.length-1], continuing from `prev` = chain[start-1]. */
export function chainHashes(
  leafHashes: readonly Uint8Array[],
  prev: Uint8Array = CHAIN_SEED,
): Buffer[] {
  const out: Buffer[] = [];
  let c: Uint8Array = prev;
  for (const h of leafHashes) {
    const next = chainNext(c, h);
    out.push(next);
    c = next;
  }
  return out;
}

export type ChainErrorCode = 'bad-hash-length' | 'length-mismatch' | 'chain-mismatch';

export interface ChainError {
  readonly code: ChainErrorCode;
  /** Absolute index (start + offset) of the first entry that does not verify. */
  readonly index: number;
  readonly message: string;
}

export type ChainVerification =
  { readonly ok: true; readonly head: Buffer } | { readonly ok: false; readonly error: ChainError };

/**
 * The chain check, one entry at a time, for callers that stream (the log verifier, the bundle
 * reader): `next` MUST be called for consecutive indexes from `start`; it returns the first
 * failure and never throws. `head` is the last chain value checked (or `prev`).
 */
export class ChainVerifier {
  private current: Buffer;
  private index: number;

  constructor(prev: Uint8Array = CHAIN_SEED, start = 0) {
    this.current = Buffer.from(prev);
    this.index = start;
  }

  get head(): Buffer {
    return this.current;
  }

  /** Index of the next entry expected. */
  get next(): number {
    return this.index;
  }

  /** chain[index] MUST equal SHA-256(chain[index - 1] || leafHash). */
  check(
    leafHash: Uint8Array,
    stored: Uint8Array,
  ): (ChainError & { readonly code: 'bad-hash-length' | 'chain-mismatch' }) | undefined {
    const index = this.index;
    if (this.current.length !== HASH_SIZE)
      return {
        code: 'bad-hash-length',
        index: index - 1,
        message: `chain[${index - 1}] is not ${HASH_SIZE} bytes`,
      };
    if (leafHash.length !== HASH_SIZE)
      return {
        code: 'bad-hash-length',
        index,
        message: `leaf hash ${index} is not ${HASH_SIZE} bytes`,
      };
    const c = chainNext(this.current, leafHash);
    if (!c.equals(stored)) {
      return {
        code: 'chain-mismatch',
        index,
        message: `chain[${index}] is ${Buffer.from(stored).toString('hex')}, expected ${c.toString('hex')}`,
      };
    }
    this.current = c;
    this.index = index + 1;
    return undefined;
  }
}

/**
 * Checks stored chain values against leaf hashes: chain[i] MUST equal SHA-256(chain[i-1] || leafHash[i]).
 * `prev` is chain[start-1] (CHAIN_SEED when start = 0). Reports the first bad index; never throws.
 * On success `head` is the last chain value (or `prev` for an empty sequence).
 */
export function verifyChain(
  leafHashes: readonly Uint8Array[],
  chain: readonly Uint8Array[],
  prev: Uint8Array = CHAIN_SEED,
  start = 0,
): ChainVerification {
  if (prev.length !== HASH_SIZE)
    return {
      ok: false,
      error: {
        code: 'bad-hash-length',
        index: start - 1,
        message: `chain[${start - 1}] is not ${HASH_SIZE} bytes`,
      },
    };
  const verifier = new ChainVerifier(prev, start);
  const n = Math.min(leafHashes.length, chain.length);
  for (let i = 0; i < n; i++) {
    const error = verifier.check(leafHashes[i] as Uint8Array, chain[i] as Uint8Array);
    if (error) return { ok: false, error };
  }
  if (leafHashes.length !== chain.length) {
    return {
      ok: false,
      error: {
        code: 'length-mismatch',
        index: start + n,
        message: `${leafHashes.length} leaf hashes but ${chain.length} chain values`,
      },
    };
  }
  return { ok: true, head: verifier.head };
}
