import { emptyRoot, nodeHash } from './rfc6962';

/**
 * The right edge of a Merkle tree being built leaf by leaf: one hash per set bit of the size
 * (merkle's `compact.Range`), i.e. the perfect subtrees `decompose(0, size)` left to right.
 * Memory O(log n); root() is the RFC 6962 root of the leaves so far.
 */
export class CompactRange {
  private readonly hashes: Buffer[];
  private size: number;

  /** Starts empty, or from a tree of `size` leaves given its perfect subtrees, left to right. */
  constructor(size = 0, subtrees: readonly Buffer[] = []) {
    let bits = 0;
    for (let n = size; n > 0; n = Math.floor(n / 2)) bits += n % 2;
    if (subtrees.length !== bits)
      throw new Error(
        `a tree of ${size} leaves has ${bits} perfect subtrees, got ${subtrees.length}`,
      );
    this.size = size;
    this.hashes = [...subtrees];
  }

  /**
   * Appends a leaf hash. Returns the hashes of the subtrees this leaf completes, levels 1, 2, ...
   * (node (level, index) with (index + 1) * 2^level = the new size), empty when the new size is odd.
   */
  append(leafHash: Buffer): Buffer[] {
    const completed: Buffer[] = [];
    let hash = leafHash;
    let size = this.size;
    while (size % 2 === 1) {
      const left = this.hashes.pop();
      if (!left) throw new Error('compact range corrupted');
      hash = nodeHash(left, hash);
      completed.push(hash);
      size = Math.floor(size / 2);
    }
    this.hashes.push(hash);
    this.size += 1;
    return completed;
  }

  /**
   * Appends a perfect subtree of 2^level leaves given its hash (the compact range of another range,
   * merged in left to right). The size MUST be a multiple of 2^level: the subtree then starts at an
   * aligned index, as the nodes of `decompose(size, end)` do.
   */
  appendSubtree(level: number, subtreeHash: Buffer): void {
    const width = 2 ** level;
    if (this.size % width !== 0)
      throw new Error(`a subtree of ${width} leaves cannot start at ${this.size}`);
    let hash = subtreeHash;
    let size = this.size / width;
    while (size % 2 === 1) {
      const left = this.hashes.pop();
      if (!left) throw new Error('compact range corrupted');
      hash = nodeHash(left, hash);
      size = Math.floor(size / 2);
    }
    this.hashes.push(hash);
    this.size += width;
  }

  get length(): number {
    return this.size;
  }

  root(): Buffer {
    let acc = this.hashes[this.hashes.length - 1];
    if (!acc) return emptyRoot();
    for (let i = this.hashes.length - 2; i >= 0; i -= 1)
      acc = nodeHash(this.hashes[i] as Buffer, acc);
    return acc;
  }
}
