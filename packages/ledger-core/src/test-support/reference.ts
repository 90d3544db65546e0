// Naive RFC 9162 §2.1 definitions, transcribed as literally as possible (slices and recursion),
// used only as the reference the fast implementation is checked against.
import { createHash } from 'node:crypto';

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

export const refLeafHash = (leaf: Uint8Array): Buffer => sha256(Buffer.from([0x00]), leaf);
const refNode = (l: Uint8Array, r: Uint8Array): Buffer => sha256(Buffer.from([0x01]), l, r);

/** k < n <= 2k, k a power of two. */
function split(n: number): number {
  let k = 1;
  while (k < n) k <<= 1;
  return k >> 1;
}

/** MTH(D[n]) over leaf *hashes* (so MTH({d}) = the leaf hash itself). */
export function refMth(d: readonly Buffer[]): Buffer {
  if (d.length === 0) return sha256();
  if (d.length === 1) return d[0] as Buffer;
  const k = split(d.length);
  return refNode(refMth(d.slice(0, k)), refMth(d.slice(k)));
}

/** PATH(m, D[n]) (RFC 9162 §2.1.3.1). */
export function refPath(m: number, d: readonly Buffer[]): Buffer[] {
  if (d.length <= 1) return [];
  const k = split(d.length);
  return m < k
    ? [...refPath(m, d.slice(0, k)), refMth(d.slice(k))]
    : [...refPath(m - k, d.slice(k)), refMth(d.slice(0, k))];
}

function subproof(m: number, d: readonly Buffer[], b: boolean): Buffer[] {
  if (m === d.length) return b ? [] : [refMth(d)];
  const k = split(d.length);
  return m <= k
    ? [...subproof(m, d.slice(0, k), b), refMth(d.slice(k))]
    : [...subproof(m - k, d.slice(k), false), refMth(d.slice(0, k))];
}

/** PROOF(m, D[n]) (RFC 9162 §2.1.4.1), 0 < m <= n. */
export function refProof(m: number, d: readonly Buffer[]): Buffer[] {
  return subproof(m, d, true);
}

/** Deterministic pseudo-random leaf hashes (no Math.random, so failures reproduce). */
export function randomLeafHashes(count: number, seed = 'ledger-core'): Buffer[] {
  return Array.from({ length: count }, (_, i) => refLeafHash(sha256(Buffer.from(`${seed}:${i}`))));
}

export function flipByte(b: Uint8Array, at = 0): Buffer {
  const c = Buffer.from(b);
  c[at % c.length] = (c[at % c.length] ?? 0) ^ 0x01;
  return c;
}
