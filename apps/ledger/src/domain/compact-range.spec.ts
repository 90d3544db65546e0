import { randomBytes } from 'node:crypto';
import { emptyRoot, leafHash, rootHash } from '@tokenledger/ledger-core';
import { CompactRange } from './compact-range';

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
});
