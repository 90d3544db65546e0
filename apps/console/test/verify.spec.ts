import {
  cosignerFromSeed,
  formatCheckpoint,
  inclusionProof,
  leafHash as nodeLeafHash,
  rootHash,
  signNote,
  signerFromSeed,
  verifierKey,
} from '@tokenledger/ledger-core';
import {
  parsePinnedKey,
  rootFromInclusionProof,
  verifyCheckpoint,
  verifyEntry,
  fromBase64,
} from '../src/web/verify';

/**
 * The browser's verifier (WebCrypto only) against notes, cosignatures and proofs made by
 * ledger-core (node:crypto), the implementation the ledger and the witness use.
 */
const ORIGIN = 'tokenledger.local/ledger';
const LOG = 'tokens.usage-0';
const signer = signerFromSeed(ORIGIN, Buffer.alloc(32, 7));
const witness = cosignerFromSeed('witness.test/w1', Buffer.alloc(32, 9));
const other = cosignerFromSeed('witness.test/w2', Buffer.alloc(32, 11));
const leaves = Array.from({ length: 11 }, (_, i) => Buffer.from(JSON.stringify({ i })));
const hashes = leaves.map((l) => nodeLeafHash(l));
const body = formatCheckpoint({
  origin: `${ORIGIN}/${LOG}`,
  size: leaves.length,
  rootHash: rootHash(hashes),
});
const note = signNote(body, signer) + witness.cosign(body, 1_700_000_000);

async function pinned(witnesses = [witness.verifierKey]) {
  return {
    logKeys: [await parsePinnedKey(verifierKey(ORIGIN, signer.publicKey), 0x01)],
    witnessKeys: await Promise.all(witnesses.map((k) => parsePinnedKey(k, 0x04))),
  };
}

describe('verify (browser, WebCrypto)', () => {
  it('recomputes every inclusion proof of an 11-leaf tree to the root', async () => {
    for (let i = 0; i < leaves.length; i++) {
      const proof = inclusionProof(i, leaves.length, (j) => hashes[j]!);
      const root = await rootFromInclusionProof(i, leaves.length, hashes[i]!, proof);
      expect(root.ok && Buffer.from(root.root).equals(rootHash(hashes))).toBe(true);
    }
  });

  it('accepts a signed, cosigned checkpoint and verifies entries against it', async () => {
    const keys = await pinned();
    const cp = await verifyCheckpoint(note, LOG, keys.logKeys, keys.witnessKeys, 1);
    expect(cp).toMatchObject({
      ok: true,
      signer: ORIGIN,
      cosigners: [{ name: 'witness.test/w1', time: 1_700_000_000 }],
    });
    const proof = inclusionProof(4, leaves.length, (j) => hashes[j]!).map((h) =>
      h.toString('base64'),
    );
    await expect(
      verifyEntry({ index: 4, leaf: leaves[4]!.toString('base64') }, cp, proof),
    ).resolves.toMatchObject({ state: 'verified' });
    await expect(
      verifyEntry({ index: 11, leaf: leaves[4]!.toString('base64') }, cp, proof),
    ).resolves.toMatchObject({ state: 'pending' });
  });

  it('names the failed check: a changed leaf, a bad signature, a missing cosigner', async () => {
    const keys = await pinned();
    const cp = await verifyCheckpoint(note, LOG, keys.logKeys, keys.witnessKeys, 1);
    const proof = inclusionProof(4, leaves.length, (j) => hashes[j]!).map((h) =>
      h.toString('base64'),
    );
    await expect(
      verifyEntry({ index: 4, leaf: Buffer.from('{"i":5}').toString('base64') }, cp, proof),
    ).resolves.toMatchObject({ state: 'failed', check: 'inclusion' });
    const forged = note.replace(`\n${leaves.length}\n`, `\n${leaves.length + 1}\n`);
    await expect(
      verifyCheckpoint(forged, LOG, keys.logKeys, keys.witnessKeys, 1),
    ).resolves.toMatchObject({
      ok: false,
      check: 'checkpoint-signature',
    });
    const strict = await pinned([witness.verifierKey, other.verifierKey]);
    await expect(
      verifyCheckpoint(note, LOG, strict.logKeys, strict.witnessKeys, 2),
    ).resolves.toMatchObject({
      ok: false,
      check: 'witness-cosignatures',
      reason: '1 of 2 required pinned witnesses cosigned',
    });
    await expect(
      verifyCheckpoint(note, 'tokens.usage-1', keys.logKeys, keys.witnessKeys, 1),
    ).resolves.toMatchObject({
      ok: false,
      check: 'checkpoint-signature',
    });
  });

  it('refuses a pinned key whose hash does not match it', async () => {
    const [name, , b64] = [
      ORIGIN,
      '',
      verifierKey(ORIGIN, signer.publicKey).split('+').slice(2).join('+'),
    ];
    expect(fromBase64(b64)).toHaveLength(33);
    await expect(parsePinnedKey(`${name}+00000000+${b64}`, 0x01)).rejects.toThrow('does not match');
  });
});
