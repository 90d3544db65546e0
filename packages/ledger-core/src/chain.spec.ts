import { createHash } from 'node:crypto';
import { CHAIN_SEED, chainHashes, chainNext, verifyChain } from './chain';
import { flipByte, randomLeafHashes } from './test-support/reference';

const hashes = randomLeafHashes(20, 'chain');

// Reference: the definition chain[i] = SHA-256(chain[i-1] || leafHash[i]), chain[-1] = 0^32.
function refChain(leaves: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = Buffer.alloc(32);
  for (const l of leaves) {
    prev = createHash('sha256')
      .update(Buffer.concat([prev, l]))
      .digest();
    out.push(prev);
  }
  return out;
}

describe('linear chain', () => {
  it('starts from 32 zero bytes', () => {
    expect(CHAIN_SEED.equals(Buffer.alloc(32))).toBe(true);
  });

  it('matches the definition', () => {
    const chain = chainHashes(hashes);
    expect(chain.map((c) => c.toString('hex'))).toEqual(
      refChain(hashes).map((c) => c.toString('hex')),
    );
    expect(chainNext(chain[4] as Buffer, hashes[5] as Buffer).equals(chain[5] as Buffer)).toBe(
      true,
    );
  });

  it('continues from a given previous value', () => {
    const chain = chainHashes(hashes);
    expect(chainHashes(hashes.slice(8), chain[7]).map((c) => c.toString('hex'))).toEqual(
      chain.slice(8).map((c) => c.toString('hex')),
    );
  });

  it('verifies an honest sequence and returns its head', () => {
    const chain = chainHashes(hashes);
    const r = verifyChain(hashes, chain);
    expect(r.ok && r.head.equals(chain[19] as Buffer)).toBe(true);
    const empty = verifyChain([], []);
    expect(empty.ok && empty.head.equals(CHAIN_SEED)).toBe(true);
  });

  it('names the first bad index when a chain value or a leaf hash is changed', () => {
    const chain = chainHashes(hashes);
    for (let k = 0; k < hashes.length; k++) {
      const badChain = chain.map((c, i) => (i === k ? flipByte(c) : c));
      expect(verifyChain(hashes, badChain)).toMatchObject({
        ok: false,
        error: { code: 'chain-mismatch', index: k },
      });
      const badLeaves = hashes.map((h, i) => (i === k ? flipByte(h) : h));
      expect(verifyChain(badLeaves, chain)).toMatchObject({
        ok: false,
        error: { code: 'chain-mismatch', index: k },
      });
    }
  });

  it('reports absolute indexes when verifying a segment', () => {
    const chain = chainHashes(hashes);
    expect(verifyChain(hashes.slice(10), chain.slice(10), chain[9], 10).ok).toBe(true);
    const bad = chain.slice(10).map((c, i) => (i === 3 ? flipByte(c) : c));
    expect(verifyChain(hashes.slice(10), bad, chain[9], 10)).toMatchObject({
      ok: false,
      error: { index: 13 },
    });
    expect(verifyChain(hashes.slice(10), chain.slice(10), chain[8], 10)).toMatchObject({
      ok: false,
      error: { index: 10 },
    });
  });

  it('reports length mismatches and bad hash lengths', () => {
    const chain = chainHashes(hashes);
    expect(verifyChain(hashes, chain.slice(0, 15))).toMatchObject({
      ok: false,
      error: { code: 'length-mismatch', index: 15 },
    });
    expect(verifyChain(hashes.slice(0, 15), chain)).toMatchObject({
      ok: false,
      error: { code: 'length-mismatch', index: 15 },
    });
    const shortLeaf = hashes.map((h, i) => (i === 2 ? h.subarray(0, 31) : h));
    expect(verifyChain(shortLeaf, chain)).toMatchObject({
      ok: false,
      error: { code: 'bad-hash-length', index: 2 },
    });
  });
});
