import { createHash, hash } from 'node:crypto';

/** Size in bytes of every hash in the tree (SHA-256). */
export const HASH_SIZE = 32;

/** SHA-256 in one call (`crypto.hash`): no Hash object per digest, which is most of its cost. */
export function sha256(bytes: Uint8Array): Buffer {
  return hash('sha256', bytes, 'buffer');
}

/** Leaves up to this size are hashed from one scratch buffer (prefix + leaf), larger ones streamed. */
const SCRATCH_SIZE = 64 * 1024;
const scratch = Buffer.allocUnsafe(SCRATCH_SIZE + 1);

/** RFC 6962 §2.1 / RFC 9162 §2.1.1: SHA-256(0x00 || leaf). */
export function leafHash(leaf: Uint8Array): Buffer {
  if (leaf.length > SCRATCH_SIZE)
    return createHash('sha256')
      .update(new Uint8Array([0x00]))
      .update(leaf)
      .digest();
  scratch[0] = 0x00;
  scratch.set(leaf, 1);
  return sha256(scratch.subarray(0, leaf.length + 1));
}

/** RFC 6962 §2.1 / RFC 9162 §2.1.1: SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length + right.length > SCRATCH_SIZE)
    return createHash('sha256')
      .update(new Uint8Array([0x01]))
      .update(left)
      .update(right)
      .digest();
  scratch[0] = 0x01;
  scratch.set(left, 1);
  scratch.set(right, 1 + left.length);
  return sha256(scratch.subarray(0, 1 + left.length + right.length));
}

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
