import { randomBytes } from 'node:crypto';
import { consistencyProof, inclusionProof, leafHash, nodeHash, rootHash, verifyConsistency, verifyInclusion } from '@tokenledger/ledger-core';
import { completedBy, consistencyRanges, inclusionRanges, nodeKey, nodesFor, rangeHash, type NodeRef } from './tree-plan';

/** Builds storage the way the ledger does (level 0 = leaf hashes, completed nodes on append). */
function store(leaves: Buffer[]): Map<string, Buffer> {
  const nodes = new Map<string, Buffer>();
  leaves.forEach((leaf, i) => {
    nodes.set(nodeKey({ level: 0, index: i }), leaf);
    for (const n of completedBy(i)) {
      const left = nodes.get(nodeKey({ level: n.level - 1, index: n.index * 2 }));
      const right = nodes.get(nodeKey({ level: n.level - 1, index: n.index * 2 + 1 }));
      if (!left || !right) throw new Error('child missing');
      nodes.set(nodeKey(n), nodeHash(left, right));
    }
  });
  return nodes;
}

describe('tree plan against ledger-core (reference proofs on random trees)', () => {
  const leaves = Array.from({ length: 40 }, () => leafHash(randomBytes(8)));
  const nodes = store(leaves);
  const get = (n: NodeRef): Buffer => {
    const h = nodes.get(nodeKey(n));
    if (!h) throw new Error(`node ${nodeKey(n)} not stored`);
    return h;
  };

  it('range hashes equal the reference root for every prefix', () => {
    for (let size = 1; size <= leaves.length; size += 1) {
      expect(rangeHash([0, size], get, nodeHash).equals(rootHash(leaves.slice(0, size)))).toBe(true);
    }
  });

  it('inclusion proofs from stored nodes equal the reference and verify, for every index and size', () => {
    for (let size = 1; size <= leaves.length; size += 1) {
      const root = rootHash(leaves.slice(0, size));
      for (let index = 0; index < size; index += 1) {
        const ranges = inclusionRanges(index, size);
        for (const n of nodesFor(ranges)) get(n); // every needed node is stored
        const proof = ranges.map((r) => rangeHash(r, get, nodeHash));
        expect(Buffer.concat(proof).equals(Buffer.concat(inclusionProof(index, size, leaves.slice(0, size))))).toBe(true);
        expect(verifyInclusion(leaves[index] as Buffer, index, size, proof, root).ok).toBe(true);
      }
    }
  });

  it('consistency proofs from stored nodes equal the reference and verify', () => {
    for (let n = 1; n <= leaves.length; n += 1) {
      for (let m = 1; m <= n; m += 1) {
        const proof = consistencyRanges(m, n).map((r) => rangeHash(r, get, nodeHash));
        expect(Buffer.concat(proof).equals(Buffer.concat(consistencyProof(m, n, leaves.slice(0, n))))).toBe(true);
        expect(verifyConsistency(m, n, proof, rootHash(leaves.slice(0, m)), rootHash(leaves.slice(0, n))).ok).toBe(true);
      }
    }
  });
});
