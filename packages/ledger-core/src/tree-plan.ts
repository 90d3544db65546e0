/**
 * Where the hashes of an RFC 6962 tree live in storage, and which of them a proof needs.
 * Storage keeps the hash of every perfect subtree: node (level, index) covers leaves
 * [index * 2^level, (index + 1) * 2^level); level 0 holds the leaf hashes. Each node is stored
 * with the leaf that completes it (see {@link completingLeaf}), so an append writes one row per
 * leaf. Any range hash is then a right fold over the perfect subtrees that make up the range (at
 * most 2 log2 n of them), so a proof needs O(log n) stored hashes, fetched in one read. Pure: no I/O.
 */
import { largestPowerOfTwoBelow } from './rfc6962';

export interface NodeRef {
  level: number;
  index: number;
}

export type Range = readonly [start: number, end: number];

export function nodeKey(n: NodeRef): string {
  return `${n.level}:${n.index}`;
}

/** Largest power of two strictly smaller than n (n >= 2): the RFC's split point. */
export const splitPoint = largestPowerOfTwoBelow;

/** The perfect subtrees, left to right, that make up [start, end) of a tree built from leaf 0. */
export function decompose(start: number, end: number): NodeRef[] {
  const out: NodeRef[] = [];
  let at = start;
  while (at < end) {
    // The largest aligned power-of-two block starting at `at` that fits before `end`.
    let level = 0;
    while (at % 2 ** (level + 1) === 0 && at + 2 ** (level + 1) <= end) level += 1;
    out.push({ level, index: at / 2 ** level });
    at += 2 ** level;
  }
  return out;
}

/** Nodes above level 0 that become complete when leaf `index` is appended. */
export function completedBy(index: number): NodeRef[] {
  const out: NodeRef[] = [];
  for (let level = 1; (index + 1) % 2 ** level === 0; level += 1) {
    out.push({ level, index: (index + 1) / 2 ** level - 1 });
  }
  return out;
}

/**
 * The leaf whose row stores node `n`: the last leaf the subtree covers, (index + 1) * 2^level - 1.
 * Level 0 is that leaf's own hash; level L > 0 is the L-th 32-byte hash of the row's `subtrees`
 * (the nodes {@link completedBy} that leaf, in level order).
 */
export function completingLeaf(n: NodeRef): number {
  return (n.index + 1) * 2 ** n.level - 1;
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]) as ranges whose hashes form the audit path, leaf to root. */
export function inclusionRanges(index: number, size: number): Range[] {
  const path: Range[] = [];
  const walk = (m: number, start: number, end: number): void => {
    const n = end - start;
    if (n <= 1) return;
    const k = splitPoint(n);
    if (m < k) {
      walk(m, start, start + k);
      path.push([start + k, end]);
    } else {
      walk(m - k, start + k, end);
      path.push([start, start + k]);
    }
  };
  walk(index, 0, size);
  return path;
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[n]) as ranges whose hashes form the consistency proof. */
export function consistencyRanges(m: number, n: number): Range[] {
  const proof: Range[] = [];
  const sub = (mm: number, start: number, end: number, complete: boolean): void => {
    const size = end - start;
    if (mm === size) {
      if (!complete) proof.push([start, end]);
      return;
    }
    const k = splitPoint(size);
    if (mm <= k) {
      sub(mm, start, start + k, complete);
      proof.push([start + k, end]);
    } else {
      sub(mm - k, start + k, end, false);
      proof.push([start, start + k]);
    }
  };
  if (m > 0 && m < n) sub(m, 0, n, true);
  return proof;
}

/** Every stored node that the given ranges need. */
export function nodesFor(ranges: readonly Range[]): NodeRef[] {
  const seen = new Map<string, NodeRef>();
  for (const [start, end] of ranges) for (const n of decompose(start, end)) seen.set(nodeKey(n), n);
  return [...seen.values()];
}

/** The hash of [start, end) from stored perfect-subtree hashes (right fold, RFC 6962 MTH). */
export function rangeHash(
  range: Range,
  node: (n: NodeRef) => Buffer,
  nodeHash: (left: Buffer, right: Buffer) => Buffer,
): Buffer {
  const parts = decompose(range[0], range[1]).map(node);
  let acc = parts[parts.length - 1];
  if (!acc) throw new Error(`empty range [${range[0]}, ${range[1]})`);
  for (let i = parts.length - 2; i >= 0; i -= 1) acc = nodeHash(parts[i] as Buffer, acc);
  return acc;
}
