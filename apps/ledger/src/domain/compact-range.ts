import { emptyRoot, nodeHash } from '@tokenledger/ledger-core';

/**
 * The right edge of a Merkle tree being built leaf by leaf: one hash per set bit of the size
 * (merkle's `compact.Range`). Memory O(log n); root() is the RFC 6962 root of the leaves so far.
 */
export class CompactRange {
  private readonly hashes: Buffer[] = [];
  private size = 0;

  append(leafHash: Buffer): void {
    let hash = leafHash;
    let size = this.size;
    while (size % 2 === 1) {
      const left = this.hashes.pop();
      if (!left) throw new Error('compact range corrupted');
      hash = nodeHash(left, hash);
      size = Math.floor(size / 2);
    }
    this.hashes.push(hash);
    this.size += 1;
  }

  get length(): number {
    return this.size;
  }

  root(): Buffer {
    let acc = this.hashes[this.hashes.length - 1];
    if (!acc) return emptyRoot();
    for (let i = this.hashes.length - 2; i >= 0; i -= 1) acc = nodeHash(this.hashes[i] as Buffer, acc);
    return acc;
  }
}
