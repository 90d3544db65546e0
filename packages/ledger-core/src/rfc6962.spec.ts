import { emptyRoot, leafHash, nodeHash, rangeRoot, rootHash } from './rfc6962';
import { randomLeafHashes, refMth } from './test-support/reference';
import { signedNoteVector } from './test-support/vectors';

const leaves = signedNoteVector.rfc6962LeavesHex.map((h) => Buffer.from(h, 'hex'));
const leafHashes = leaves.map(leafHash);

// MTH of the first n leaves of the certificate-transparency reference tree, n = 1..8.
// Provenance: certificate-transparency `python/ct/crypto/merkle_test.py` (TreeHasherTest
// test_vector_hashes) and the Go CT / transparency-dev merkle test data (`roots`). They are
// additionally checked against the naive reference below, and size 8 against rootOf8Hex of the
// independent vector file.
const PREFIX_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

describe('RFC 6962 hashing', () => {
  it('hashes the empty tree to SHA-256 of the empty string', () => {
    const expected = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    expect(emptyRoot().toString('hex')).toBe(expected);
    expect(rootHash([]).toString('hex')).toBe(expected);
  });

  it('prefixes leaves with 0x00 and nodes with 0x01', () => {
    // SHA-256(0x00) is the leaf hash of the empty leaf, which is also MTH of the 1-leaf tree.
    expect(leafHash(Buffer.alloc(0)).toString('hex')).toBe(PREFIX_ROOTS[0]);
    expect(nodeHash(leafHashes[0] as Buffer, leafHashes[1] as Buffer).toString('hex')).toBe(
      PREFIX_ROOTS[1],
    );
  });

  it.each(PREFIX_ROOTS.map((root, i) => [i + 1, root] as const))(
    'root of the first %i CT test leaves is %s',
    (n, root) => {
      expect(rootHash(leafHashes.slice(0, n)).toString('hex')).toBe(root);
      expect(refMth(leafHashes.slice(0, n)).toString('hex')).toBe(root);
    },
  );

  it('reproduces rootOf8Hex of the vector file', () => {
    expect(rootHash(leafHashes).toString('hex')).toBe(signedNoteVector.rootOf8Hex);
  });

  it('equals the naive recursive MTH for every size up to 130', () => {
    const hashes = randomLeafHashes(130);
    for (let n = 0; n <= hashes.length; n++) {
      expect(rootHash(hashes.slice(0, n)).equals(refMth(hashes.slice(0, n)))).toBe(true);
    }
  });

  it('computes the root of any range through a reader', () => {
    const hashes = randomLeafHashes(40);
    for (let b = 0; b < 40; b += 7) {
      for (let e = b + 1; e <= 40; e += 5) {
        expect(rangeRoot(b, e, (i) => hashes[i] as Buffer).equals(refMth(hashes.slice(b, e)))).toBe(
          true,
        );
      }
    }
  });
});
