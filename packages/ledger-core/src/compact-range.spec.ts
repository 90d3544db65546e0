import { randomBytes } from 'node:crypto';
import { emptyRoot, leafHash, nodeHash, rootHash } from './rfc6962';
import { CompactRange } from './compact-range';
import { completedBy, decompose, rangeHash } from './tree-plan';

describe('CompactRange', () => {
  it('has the RFC 6962 root of every prefix (checked against ledger-core)', () => {
    const range = new CompactRange();
    expect(range.root().equals(emptyRoot())).toBe(true);
    const leaves: Buffer[] = [];
    for (let i = 0; i < 300; i += 1) {
      const h = leafHash(randomBytes(6));
      leaves.push(h);
      range.append(h);
      expect([i, range.root().equals(rootHash(leaves))]).toEqual([i, true]);
    }
  });

  it('returns the subtrees each leaf completes, as completedBy names them, with their RFC 6962 hashes', () => {
    const range = new CompactRange();
    const leaves = Array.from({ length: 70 }, () => leafHash(randomBytes(6)));
    leaves.forEach((h, i) => {
      const completed = range.append(h);
      const expected = completedBy(i).map((n) =>
        rootHash(leaves.slice(n.index * 2 ** n.level, (n.index + 1) * 2 ** n.level)),
      );
      expect([i, completed.map((c) => c.toString('hex'))]).toEqual([
        i,
        expected.map((c) => c.toString('hex')),
      ]);
    });
  });

  it('resumes from the perfect subtrees of a stored tree and reaches the same roots', () => {
    const leaves = Array.from({ length: 45 }, () => leafHash(randomBytes(6)));
    const subtree = (n: { level: number; index: number }): Buffer =>
      rootHash(leaves.slice(n.index * 2 ** n.level, (n.index + 1) * 2 ** n.level));
    const resumed = new CompactRange(29, decompose(0, 29).map(subtree));
    expect(resumed.root().equals(rangeHash([0, 29], subtree, nodeHash))).toBe(true);
    for (const h of leaves.slice(29)) resumed.append(h);
    expect(resumed.root().equals(rootHash(leaves))).toBe(true);
    expect(() => new CompactRange(29, decompose(0, 32).map(subtree))).toThrow(
      'a tree of 29 leaves has 4 perfect subtrees, got 1',
    );
  });

  it('merges the perfect subtrees of a suffix into the root of the whole tree (appendSubtree)', () => {
    const leaves = Array.from({ length: 77 }, () => leafHash(randomBytes(6)));
    const subtree = (n: { level: number; index: number }): Buffer =>
      rootHash(leaves.slice(n.index * 2 ** n.level, (n.index + 1) * 2 ** n.level));
    for (const [from, to] of [
      [0, 77],
      [13, 40],
      [32, 33],
      [5, 5],
      [64, 77],
      [0, 1],
    ] as const) {
      const range = new CompactRange(from, decompose(0, from).map(subtree));
      for (const h of leaves.slice(from, to)) range.append(h);
      for (const n of decompose(to, 77)) range.appendSubtree(n.level, subtree(n));
      expect([from, to, range.length, range.root().equals(rootHash(leaves))]).toEqual([
        from,
        to,
        77,
        true,
      ]);
    }
    expect(() =>
      new CompactRange(3, decompose(0, 3).map(subtree)).appendSubtree(1, leaves[0] as Buffer),
    ).toThrow('a subtree of 2 leaves cannot start at 3');
  });
});
