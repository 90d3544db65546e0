import { createHash, hash } from 'node:crypto';

/** Size in bytes of every hash in the tree (SHA-256). */
export const HASH_SIZE = 32;

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** RFC 6962 §2.1 / RFC 9162 §2.1.1: SHA-256(0x00 || leaf). */
export function leafHash(leaf: Uint8Array): Buffer {
  // One-shot crypto.hash over one buffer: per call it costs about half of createHash().update()s.
  return hash('sha256', Buffer.concat([LEAF_PREFIX, leaf], 1 + leaf.length), 'buffer');
}

/** RFC 6962 §2.1 / RFC 9162 §2.1.1: SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length === HASH_SIZE && right.length === HASH_SIZE) {
    // The hot case: one reused input buffer, no allocation (the hash is computed before returning,
    // so nothing else can use the buffer in between).
    NODE_INPUT.set(left, 1);
    NODE_INPUT.set(right, 1 + HASH_SIZE);
    return hash('sha256', NODE_INPUT, 'buffer');
  }
  return hash(
    'sha256',
    Buffer.concat([NODE_PREFIX, left, right], 1 + left.length + right.length),
    'buffer',
  );
}
const NODE_INPUT = Buffer.alloc(1 + 2 * HASH_SIZE, 0x01);

/** MTH({}) = SHA-256 of the empty string. */
export function emptyRoot(): Buffer {
  return createHash('sha256').digest();
}

/**
 * MTH(D[n]) from the leaf hashes, for any n. Iterative: keeps the perfect subtrees of the
 * prefix read so far (at most log2 n hashes) and folds them right to left at the end, which
 * equals the RFC's recursive split at the largest power of two smaller than n.
 */
export function rootHash(leafHashes: readonly Uint8Array[]): Buffer {
  return rangeRoot(0, leafHashes.length, (i) => leafHashes[i] as Uint8Array);
}

/** MTH(D[begin:end]) with leaf hashes read through `get`. */
export function rangeRoot(begin: number, end: number, get: (index: number) => Uint8Array): Buffer {
  if (end <= begin) return emptyRoot();
  const stack: { hash: Buffer; width: number }[] = [];
  for (let i = begin; i < end; i++) {
    let entry: { hash: Buffer; width: number } = { hash: Buffer.from(get(i)), width: 1 };
    for (
      let top = stack.at(-1);
      top !== undefined && top.width === entry.width;
      top = stack.at(-1)
    ) {
      stack.pop();
      entry = { hash: nodeHash(top.hash, entry.hash), width: top.width * 2 };
    }
    stack.push(entry);
  }
  let root = (stack.pop() as { hash: Buffer }).hash;
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    root = nodeHash(top.hash, root);
  }
  return root;
}

/** The largest power of two strictly smaller than n (n >= 2). */
export function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
