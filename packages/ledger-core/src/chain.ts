import { createHash } from 'node:crypto';
import { HASH_SIZE } from './rfc6962';

/** chain[-1]: 32 zero bytes. */
export const CHAIN_SEED: Buffer = Buffer.alloc(HASH_SIZE);

/** chain[i] = SHA-256(chain[i-1] || leafHash[i]). */
export function chainNext(prev: Uint8Array, leafHash: Uint8Array): Buffer {
  return createHash('sha256').update(prev).update(leafHash).digest();
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

export type ChainVerification =
  | { readonly ok: true; readonly head: Buffer }
  | {
      readonly ok: false;
      /** Absolute index (start + offset) of the first entry that does not verify. */
      readonly error: {
        readonly code: ChainErrorCode;
        readonly index: number;
        readonly message: string;
      };
    };

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
  const err = (code: ChainErrorCode, index: number, message: string): ChainVerification => ({
    ok: false,
    error: { code, index, message },
  });
  if (prev.length !== HASH_SIZE)
    return err('bad-hash-length', start - 1, `chain[${start - 1}] is not ${HASH_SIZE} bytes`);
  let c: Buffer = Buffer.from(prev);
  const n = Math.min(leafHashes.length, chain.length);
  for (let i = 0; i < n; i++) {
    const leaf = leafHashes[i] as Uint8Array;
    const stored = chain[i] as Uint8Array;
    if (leaf.length !== HASH_SIZE)
      return err('bad-hash-length', start + i, `leaf hash ${start + i} is not ${HASH_SIZE} bytes`);
    c = chainNext(c, leaf);
    if (!c.equals(stored)) {
      return err(
        'chain-mismatch',
        start + i,
        `chain[${start + i}] is ${Buffer.from(stored).toString('hex')}, expected ${c.toString('hex')}`,
      );
    }
  }
  if (leafHashes.length !== chain.length) {
    return err(
      'length-mismatch',
      start + n,
      `${leafHashes.length} leaf hashes but ${chain.length} chain values`,
    );
  }
  return { ok: true, head: c };
}
