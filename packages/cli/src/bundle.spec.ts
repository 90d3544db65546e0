import { randomBytes } from 'node:crypto';
import { CHAIN_SEED, chainNext, formatCheckpoint, inclusionProof, leafHash, rootHash, signNote, signerFromSeed, verifierKey } from '@tokenledger/ledger-core';
import { verifyBundle } from './bundle';

const signer = signerFromSeed('example.test/ledger', Buffer.alloc(32, 7));
const key = verifierKey(signer.name, signer.publicKey);
const origin = 'example.test/ledger/tokens.lifecycle-0';

/** A bundle built with ledger-core directly (no server): entries [from, to) of a tree of `size`. */
function bundle(size: number, from: number, to: number): string[] {
  const leaves = Array.from({ length: size }, (_, i) => Buffer.from(`{"v":1,"i":${i},"r":"${randomBytes(4).toString('hex')}"}`));
  const hashes = leaves.map(leafHash);
  const chains: Buffer[] = [];
  hashes.reduce((prev, h) => {
    const next = chainNext(prev, h);
    chains.push(next);
    return next;
  }, CHAIN_SEED);
  const note = signNote(formatCheckpoint({ origin, size, rootHash: rootHash(hashes) }), signer);
  const chainStart = from === 0 ? CHAIN_SEED : (chains[from - 1] as Buffer);
  return [
    JSON.stringify({ type: 'bundle', version: 1, logId: 'tokens.lifecycle-0', origin, from, to, treeSize: size, chainStart: chainStart.toString('base64') }),
    JSON.stringify({ type: 'keys', keys: [{ name: signer.name, verifierKey: key, active: true }] }),
    JSON.stringify({ type: 'checkpoint', size, note }),
    ...Array.from({ length: to - from }, (_, k) => {
      const i = from + k;
      return JSON.stringify({
        type: 'entry',
        index: i,
        leaf: (leaves[i] as Buffer).toString('base64'),
        chainHash: (chains[i] as Buffer).toString('base64'),
        proof: inclusionProof(i, size, hashes).map((h) => h.toString('base64')),
      });
    }),
  ];
}

describe('verifyBundle (offline)', () => {
  it('accepts a correct bundle, also a middle range', () => {
    expect(verifyBundle(bundle(13, 0, 13), { trustedKeys: [key] })).toMatchObject({ ok: true, summary: { entries: 13, treeSize: 13 } });
    expect(verifyBundle(bundle(13, 5, 9))).toMatchObject({ ok: true, summary: { from: 5, to: 9, entries: 4 } });
  });

  it('names the first entry whose leaf was changed', () => {
    const lines = bundle(10, 0, 10);
    const entry = JSON.parse(lines[3 + 6] as string) as { leaf: string };
    const bytes = Buffer.from(entry.leaf, 'base64');
    bytes.writeUInt8(bytes.readUInt8(2) ^ 1, 2);
    lines[3 + 6] = JSON.stringify({ ...entry, leaf: bytes.toString('base64') });
    expect(verifyBundle(lines)).toMatchObject({ ok: false, index: 6, problem: expect.stringContaining('not in the signed tree') });
  });

  it('catches a missing entry, a truncated bundle and a foreign key', () => {
    const lines = bundle(8, 0, 8);
    expect(verifyBundle([...lines.slice(0, 5), ...lines.slice(6)])).toMatchObject({ ok: false, index: 2 });
    expect(verifyBundle(lines.slice(0, -1))).toMatchObject({ ok: false, index: 7, problem: expect.stringContaining('ends at entry 7') });
    const other = signerFromSeed('example.test/ledger', Buffer.alloc(32, 9));
    expect(verifyBundle(lines, { trustedKeys: [verifierKey(other.name, other.publicKey)] })).toMatchObject({ ok: false, problem: expect.stringMatching(/^checkpoint/) });
  });

  it('catches a chain that does not follow', () => {
    const lines = bundle(6, 0, 6);
    const entry = JSON.parse(lines[3 + 4] as string) as Record<string, unknown>;
    lines[3 + 4] = JSON.stringify({ ...entry, chainHash: Buffer.alloc(32, 1).toString('base64') });
    expect(verifyBundle(lines)).toMatchObject({ ok: false, index: 4, problem: expect.stringContaining('chain') });
  });
});
