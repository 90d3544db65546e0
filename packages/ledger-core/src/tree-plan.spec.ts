import { randomBytes } from 'node:crypto';
import { consistencyProof, inclusionProof, verifyConsistency, verifyInclusion } from './proof';
import { leafHash, nodeHash, rootHash } from './rfc6962';
import { CompactRange } from './compact-range';
import {
  completingLeaf,
  consistencyRanges,
  inclusionRanges,
  nodeKey,
  nodesFor,
  rangeHash,
  type NodeRef,
} from './tree-plan';

/** Builds storage the way the ledger does: one row per leaf, its hash and the subtrees it completes. */
function store(leaves: Buffer[]): Array<{ leafHash: Buffer; subtrees: Buffer }> {
  const range = new CompactRange();
  return leaves.map((leaf) => ({ leafHash: leaf, subtrees: Buffer.concat(range.append(leaf)) }));
}

describe('tree plan against ledger-core (reference proofs on random trees)', () => {
  const leaves = Array.from({ length: 40 }, () => leafHash(randomBytes(8)));
  const rows = store(leaves);
  const get = (n: NodeRef): Buffer => {
    const row = rows[completingLeaf(n)];
    const h =
      n.level === 0 ? row?.leafHash : row?.subtrees.subarray((n.level - 1) * 32, n.level * 32);
    if (!h || h.length !== 32) throw new Error(`node ${nodeKey(n)} not stored`);
    return h;
  };

  it('range hashes equal the reference root for every prefix', () => {
    for (let size = 1; size <= leaves.length; size += 1) {
      expect(rangeHash([0, size], get, nodeHash).equals(rootHash(leaves.slice(0, size)))).toBe(
        true,
      );
    }
  });

  it('inclusion proofs from stored nodes equal the reference and verify, for every index and size', () => {
    for (let size = 1; size <= leaves.length; size += 1) {
      const root = rootHash(leaves.slice(0, size));
      for (let index = 0; index < size; index += 1) {
        const ranges = inclusionRanges(index, size);
        for (const n of nodesFor(ranges)) get(n); // every needed node is stored
        const proof = ranges.map((r) => rangeHash(r, get, nodeHash));
        expect(
          Buffer.concat(proof).equals(
            Buffer.concat(inclusionProof(index, size, leaves.slice(0, size))),
          ),
        ).toBe(true);
        expect(verifyInclusion(leaves[index] as Buffer, index, size, proof, root).ok).toBe(true);
      }
    }
  });

  it('consistency proofs from stored nodes equal the reference and verify', () => {
    for (let n = 1; n <= leaves.length; n += 1) {
      for (let m = 1; m <= n; m += 1) {
        const proof = consistencyRanges(m, n).map((r) => rangeHash(r, get, nodeHash));
        expect(
          Buffer.concat(proof).equals(Buffer.concat(consistencyProof(m, n, leaves.slice(0, n)))),
        ).toBe(true);
        expect(
          verifyConsistency(m, n, proof, rootHash(leaves.slice(0, m)), rootHash(leaves.slice(0, n)))
            .ok,
        ).toBe(true);
      }
    }
  });
});
