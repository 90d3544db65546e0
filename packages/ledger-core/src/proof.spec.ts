import {
  consistencyProof,
  inclusionProof,
  ProofArgumentError,
  verifyConsistency,
  verifyInclusion,
  type ProofVerification,
} from './proof';
import { leafHash, rootHash } from './rfc6962';
import { flipByte, randomLeafHashes, refMth, refPath, refProof } from './test-support/reference';
import { signedNoteVector } from './test-support/vectors';

const MAX = 70;
const hashes = randomLeafHashes(MAX + 1);
const roots = Array.from({ length: MAX + 2 }, (_, n) => refMth(hashes.slice(0, n)));
const root = (n: number): Buffer => roots[n] as Buffer;
const leaf = (i: number): Buffer => hashes[i] as Buffer;
const hex = (bs: readonly Buffer[]): string[] => bs.map((b) => b.toString('hex'));
const code = (r: ProofVerification): string => (r.ok ? 'ok' : r.error.code);

describe('inclusion proofs', () => {
  it('prove every leaf of the CT test tree against rootOf8Hex', () => {
    const ct = signedNoteVector.rfc6962LeavesHex.map((h) => leafHash(Buffer.from(h, 'hex')));
    const root8 = Buffer.from(signedNoteVector.rootOf8Hex, 'hex');
    for (let i = 0; i < 8; i++) {
      expect(verifyInclusion(ct[i] as Buffer, i, 8, inclusionProof(i, 8, ct), root8)).toEqual({
        ok: true,
      });
    }
  });

  it(`match the naive PATH and verify, for all index < size <= ${MAX}`, () => {
    for (let n = 1; n <= MAX; n++) {
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(i, n, hashes);
        expect(hex(proof)).toEqual(hex(refPath(i, hashes.slice(0, n))));
        expect(code(verifyInclusion(leaf(i), i, n, proof, root(n)))).toBe('ok');
      }
    }
  });

  it('fail when the proof, leaf, index or size is tampered with', () => {
    for (let n = 1; n <= MAX; n++) {
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(i, n, hashes);
        for (let k = 0; k < proof.length; k++) {
          const bad = proof.map((p, j) => (j === k ? flipByte(p, i + n) : p));
          expect(code(verifyInclusion(leaf(i), i, n, bad, root(n)))).toBe('root-mismatch');
        }
        expect(code(verifyInclusion(flipByte(leaf(i)), i, n, proof, root(n)))).toBe(
          'root-mismatch',
        );
        expect(code(verifyInclusion(leaf(i), i, n, proof, flipByte(root(n), 31)))).toBe(
          'root-mismatch',
        );
        for (const j of [i - 1, i + 1]) {
          if (j >= 0 && j < n)
            expect(verifyInclusion(leaf(i), j, n, proof, root(n)).ok).toBe(false);
        }
        if (n - 1 > i)
          expect(verifyInclusion(leaf(i), i, n - 1, proof, root(n - 1)).ok).toBe(false);
        expect(verifyInclusion(leaf(i), i, n + 1, proof, root(n + 1)).ok).toBe(false);
      }
    }
  });

  it('reject proofs of the wrong length', () => {
    const proof = inclusionProof(5, 13, hashes);
    expect(code(verifyInclusion(leaf(5), 5, 13, [...proof, leaf(0)], root(13)))).toBe(
      'bad-proof-length',
    );
    expect(code(verifyInclusion(leaf(5), 5, 13, proof.slice(0, -1), root(13)))).toBe(
      'bad-proof-length',
    );
    expect(code(verifyInclusion(leaf(0), 0, 1, [leaf(1)], root(1)))).toBe('bad-proof-length');
  });

  it('return typed errors for bad input instead of throwing', () => {
    const proof = inclusionProof(2, 4, hashes);
    expect(code(verifyInclusion(leaf(0), 0, 0, [], root(0)))).toBe('index-out-of-range');
    expect(code(verifyInclusion(leaf(2), 4, 4, proof, root(4)))).toBe('index-out-of-range');
    expect(code(verifyInclusion(leaf(2), -1, 4, proof, root(4)))).toBe('invalid-argument');
    expect(code(verifyInclusion(leaf(2), 1.5, 4, proof, root(4)))).toBe('invalid-argument');
    expect(code(verifyInclusion(leaf(2), 2, 4, [Buffer.alloc(31), leaf(0)], root(4)))).toBe(
      'bad-hash-length',
    );
    expect(code(verifyInclusion(Buffer.alloc(0), 2, 4, proof, root(4)))).toBe('bad-hash-length');
    expect(code(verifyInclusion(leaf(2), 2, 4, proof, Buffer.alloc(33)))).toBe('bad-hash-length');
    expect(code(verifyInclusion(leaf(2), 2, 4, 'nope' as unknown as Buffer[], root(4)))).toBe(
      'invalid-argument',
    );
    const r = verifyInclusion(leaf(2), 2, 4, proof, root(5));
    expect(r.ok === false && r.error.message).toContain(root(5).toString('hex'));
  });

  it('read leaf hashes through a function as well as an array', () => {
    expect(hex(inclusionProof(9, 21, (i) => leaf(i)))).toEqual(hex(inclusionProof(9, 21, hashes)));
  });

  it('throw ProofArgumentError when asked for a proof that does not exist', () => {
    expect(() => inclusionProof(3, 3, hashes)).toThrow(ProofArgumentError);
    expect(() => inclusionProof(0, 0, hashes)).toThrow(ProofArgumentError);
    expect(() => inclusionProof(0, MAX + 2, hashes)).toThrow(ProofArgumentError);
  });
});

describe('consistency proofs', () => {
  it(`match the naive PROOF and verify, for all 0 <= m <= n <= ${MAX}`, () => {
    for (let n = 1; n <= MAX; n++) {
      for (let m = 0; m <= n; m++) {
        const proof = consistencyProof(m, n, hashes);
        expect(hex(proof)).toEqual(m === 0 ? [] : hex(refProof(m, hashes.slice(0, n))));
        expect(code(verifyConsistency(m, n, proof, root(m), root(n)))).toBe('ok');
      }
    }
  });

  it('fail when the proof, a root or a size is tampered with', () => {
    for (let n = 2; n <= MAX; n++) {
      for (let m = 1; m < n; m++) {
        const proof = consistencyProof(m, n, hashes);
        for (let k = 0; k < proof.length; k++) {
          const bad = proof.map((p, j) => (j === k ? flipByte(p, m + n) : p));
          expect(code(verifyConsistency(m, n, bad, root(m), root(n)))).toBe('root-mismatch');
        }
        expect(code(verifyConsistency(m, n, proof, flipByte(root(m)), root(n)))).not.toBe('ok');
        expect(code(verifyConsistency(m, n, proof, root(m), flipByte(root(n))))).toBe(
          'root-mismatch',
        );
        if (m > 1) expect(verifyConsistency(m - 1, n, proof, root(m - 1), root(n)).ok).toBe(false);
        if (m + 1 < n)
          expect(verifyConsistency(m + 1, n, proof, root(m + 1), root(n)).ok).toBe(false);
        if (n - 1 > m)
          expect(verifyConsistency(m, n - 1, proof, root(m), root(n - 1)).ok).toBe(false);
        expect(verifyConsistency(m, n + 1, proof, root(m), root(n + 1)).ok).toBe(false);
        // A tree that does not extend the old one: change the last old leaf.
        const forked = hashes.slice(0, n).map((h, j) => (j === m - 1 ? flipByte(h) : h));
        expect(verifyConsistency(m, n, proof, root(m), refMth(forked)).ok).toBe(false);
      }
    }
  });

  it('treat equal sizes and the empty old tree as needing an empty proof', () => {
    expect(code(verifyConsistency(5, 5, [], root(5), root(5)))).toBe('ok');
    expect(code(verifyConsistency(5, 5, [], root(5), root(4)))).toBe('root-mismatch');
    expect(code(verifyConsistency(5, 5, [leaf(0)], root(5), root(5)))).toBe('bad-proof-length');
    expect(code(verifyConsistency(0, 5, [], root(0), root(5)))).toBe('ok');
    expect(code(verifyConsistency(0, 5, [leaf(0)], root(0), root(5)))).toBe('bad-proof-length');
    expect(code(verifyConsistency(3, 5, [], root(3), root(5)))).toBe('bad-proof-length');
  });

  it('reject proofs of the wrong length', () => {
    const proof = consistencyProof(6, 17, hashes);
    expect(code(verifyConsistency(6, 17, [...proof, leaf(0)], root(6), root(17)))).toBe(
      'bad-proof-length',
    );
    expect(code(verifyConsistency(6, 17, proof.slice(0, -1), root(6), root(17)))).toBe(
      'bad-proof-length',
    );
  });

  it('return typed errors for bad input instead of throwing', () => {
    expect(code(verifyConsistency(6, 5, [], root(6), root(5)))).toBe('size-out-of-range');
    expect(code(verifyConsistency(-1, 5, [], root(0), root(5)))).toBe('invalid-argument');
    expect(code(verifyConsistency(2, Number.MAX_SAFE_INTEGER + 1, [], root(2), root(5)))).toBe(
      'invalid-argument',
    );
    expect(code(verifyConsistency(2, 5, [Buffer.alloc(3)], root(2), root(5)))).toBe(
      'bad-hash-length',
    );
    expect(code(verifyConsistency(2, 5, [leaf(0)], Buffer.alloc(0), root(5)))).toBe(
      'bad-hash-length',
    );
  });

  it('throw ProofArgumentError when asked for a proof that does not exist', () => {
    expect(() => consistencyProof(4, 3, hashes)).toThrow(ProofArgumentError);
    expect(() => consistencyProof(1, MAX + 2, hashes)).toThrow(ProofArgumentError);
  });

  it('connect the CT test tree prefixes to rootOf8Hex', () => {
    const ct = signedNoteVector.rfc6962LeavesHex.map((h) => leafHash(Buffer.from(h, 'hex')));
    const root8 = Buffer.from(signedNoteVector.rootOf8Hex, 'hex');
    for (let m = 1; m <= 8; m++) {
      const r = verifyConsistency(
        m,
        8,
        consistencyProof(m, 8, ct),
        rootHash(ct.slice(0, m)),
        root8,
      );
      expect(r).toEqual({ ok: true });
    }
  });
});
